import Foundation

/// One line of osquery's filesystem logger: an event (`columns` + `action`), a snapshot (`snapshot: [rows]`),
/// or a batch (`diffResults`). Column values are strings unless `--log_numerics_as_numbers`; both are read as text.
struct OsqueryEvent: Decodable {
    var name: String
    var hostIdentifier: String
    var unixTime: Int
    var counter: Int?
    var action: String?
    var columns: OsqueryRow?
    var snapshot: [OsqueryRow]?
    var diffResults: Diff?
    var decorations: OsqueryRow?

    struct Diff: Decodable {
        var added: [OsqueryRow]?
        var removed: [OsqueryRow]?
    }

    enum CodingKeys: String, CodingKey {
        case name, hostIdentifier, unixTime, counter, action, columns, snapshot, diffResults, decorations
        /// Old docs call the host identifier `hostname`.
        case hostname
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        hostIdentifier = try c.decodeIfPresent(String.self, forKey: .hostIdentifier) ?? c.decode(String.self, forKey: .hostname)
        guard let time = Self.integer(c, .unixTime) else {
            throw DecodingError.dataCorruptedError(forKey: .unixTime, in: c, debugDescription: "unixTime is not a number")
        }
        unixTime = time
        counter = Self.integer(c, .counter)
        action = try c.decodeIfPresent(String.self, forKey: .action)
        columns = try c.decodeIfPresent(OsqueryRow.self, forKey: .columns)
        snapshot = try c.decodeIfPresent([OsqueryRow].self, forKey: .snapshot)
        diffResults = try c.decodeIfPresent(Diff.self, forKey: .diffResults)
        decorations = try c.decodeIfPresent(OsqueryRow.self, forKey: .decorations)
    }

    /// An integer sent as a number (current osquery) or as a string (older versions).
    static func integer(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) -> Int? {
        if let v = try? c.decode(Int.self, forKey: key) { return v }
        if let s = try? c.decode(String.self, forKey: key) { return Int(s) }
        return nil
    }
}

/// One result row, every value as text (`1` and `"1"` alike; null as absent).
struct OsqueryRow: Decodable, Hashable {
    var values: [String: String]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }

    init(_ values: [String: String]) { self.values = values }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        var values: [String: String] = [:]
        for key in c.allKeys {
            if let s = try? c.decode(String.self, forKey: key) {
                values[key.stringValue] = s
            } else if let i = try? c.decode(Int.self, forKey: key) {
                values[key.stringValue] = String(i)
            } else if let d = try? c.decode(Double.self, forKey: key) {
                values[key.stringValue] = String(d)
            } else if let b = try? c.decode(Bool.self, forKey: key) {
                values[key.stringValue] = b ? "1" : "0"
            }
        }
        self.values = values
    }

    subscript(_ key: String) -> String? { values[key] }
}

/// What makes consecutive row-per-line lines (differential `columns` + `action`, or a row-per-line snapshot)
/// one event: osquery writes one run of a query for one host with one `unixTime` and `counter`.
struct OsqueryEventKey: Hashable {
    var host: String
    var name: String
    var time: Int
    var counter: Int?
}

extension OsqueryEvent {
    /// `nil` for lines that are a whole event by themselves (`snapshot: [rows]`, `diffResults`).
    var rowKey: OsqueryEventKey? {
        columns == nil ? nil : OsqueryEventKey(host: hostIdentifier, name: name, time: unixTime, counter: counter)
    }
}

/// What can still be read of a line that does not parse (typically a truncated last line): its top-level
/// `name`, `hostIdentifier`, `unixTime` and `counter`, each only when its value is complete.
struct OsqueryLinePrefix {
    var name: String?
    var host: String?
    var time: Int?
    var counter: Int?

    init(_ data: Data) {
        let v = Self.scalars(data)
        name = v["name"]
        host = v["hostIdentifier"] ?? v["hostname"]
        time = v["unixTime"].flatMap { Int($0) }
        counter = v["counter"].flatMap { Int($0) }
    }

    /// Enough to tell which event the line belonged to.
    var identifiesEvent: Bool { name != nil && host != nil }

    func matches(_ key: OsqueryEventKey) -> Bool {
        name == key.name && host == key.host && (time.map { $0 == key.time } ?? true)
            && (counter.flatMap { c in key.counter.map { $0 == c } } ?? true)
    }

    /// Top-level members whose value is a complete string (without escapes) or number, from JSON that may stop
    /// anywhere. Nested objects are skipped by depth; a number counts only when a delimiter follows it.
    static func scalars(_ data: Data) -> [String: String] {
        let b = [UInt8](data)
        var out: [String: String] = [:]
        var i = 0
        var depth = 0
        /// The end of the string starting at `start` (the index of its closing quote), and whether it has escapes.
        func stringEnd(_ start: Int) -> (Int, Bool)? {
            var j = start
            var escaped = false
            while j < b.count, b[j] != 34 {
                if b[j] == 92 {
                    escaped = true
                    j += 1
                }
                j += 1
            }
            return j < b.count ? (j, escaped) : nil
        }
        func skipSpace(_ k: inout Int) { while k < b.count, b[k] == 32 || b[k] == 9 || b[k] == 13 || b[k] == 10 { k += 1 } }
        while i < b.count {
            switch b[i] {
            case 123, 91:
                depth += 1
                i += 1
            case 125, 93:
                depth -= 1
                i += 1
            case 34:
                guard let (end, escaped) = stringEnd(i + 1) else { return out }
                var k = end + 1
                skipSpace(&k)
                guard depth == 1, k < b.count, b[k] == 58, !escaped else {
                    i = end + 1
                    continue
                }
                let key = String(decoding: b[(i + 1)..<end], as: UTF8.self)
                k += 1
                skipSpace(&k)
                guard k < b.count else { return out }
                if b[k] == 34 {
                    guard let (vEnd, vEscaped) = stringEnd(k + 1) else { return out }
                    if !vEscaped { out[key] = String(decoding: b[(k + 1)..<vEnd], as: UTF8.self) }
                    i = vEnd + 1
                } else if b[k] == 45 || (b[k] >= 48 && b[k] <= 57) {
                    var e = k + 1
                    while e < b.count, b[e] >= 48 && b[e] <= 57 { e += 1 }
                    guard e < b.count else { return out }  // cut off inside the number
                    out[key] = String(decoding: b[k..<e], as: UTF8.self)
                    i = e
                } else {
                    i = k
                }
            default: i += 1
            }
        }
        return out
    }
}
