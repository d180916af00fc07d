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
            if let s = try? c.decode(String.self, forKey: key) { values[key.stringValue] = s }
            else if let i = try? c.decode(Int.self, forKey: key) { values[key.stringValue] = String(i) }
            else if let d = try? c.decode(Double.self, forKey: key) { values[key.stringValue] = String(d) }
            else if let b = try? c.decode(Bool.self, forKey: key) { values[key.stringValue] = b ? "1" : "0" }
        }
        self.values = values
    }

    subscript(_ key: String) -> String? { values[key] }
}
