import Foundation
import StethoscopeCore

/// Generic authentication events (VPN, proxies, SSO exports): JSON lines or CSV, one event per line or row, with
/// configurable field names for the time, the user and one or more identifiers. Times are ISO 8601 or seconds
/// (milliseconds when larger than 10^11) since 1970.
struct AuthEventFields: Sendable {
    var time: String
    var user: String
    var identifiers: [(IdentifierKind, String)]

    static func read(_ s: ConfigSection?, format: String) throws -> AuthEventFields? {
        guard let s else { return nil }
        let time = try s.string("time", default: "time")
        let user = try s.string("user", default: "user")
        var ids: [(IdentifierKind, String)] = []
        for (key, kind) in [
            ("mac", IdentifierKind.mac), ("serial", .serial), ("udid", .udid), ("imei", .imei), ("device_id", .deviceID),
            ("hostname", .hostname)
        ] {
            if s.isList(key) {
                for f in try s.stringList(key) ?? [] { ids.append((kind, f)) }
            } else if let f = try s.optionalString(key) {
                ids.append((kind, f))
            }
        }
        guard !ids.isEmpty else { throw s.error("mac", "name at least one identifier field (mac, serial, udid, imei, device_id, hostname)") }
        try s.finish()
        return AuthEventFields(time: time, user: user, identifiers: ids)
    }

    static func time(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let x = Double(t), x.isFinite, x > 0 { return Int64(x > 1e11 ? x / 1000 : x) }
        return ISODate.parse(t).map { Int64($0.timeIntervalSince1970.rounded(.down)) }
    }
}

/// One JSON value, as far as an event's fields need it.
private enum Scalar: Decodable {
    case text(String)
    case number(Double)
    case other
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .text(s) } else if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .other }
    }
    var text: String? {
        switch self {
        case .text(let s): s
        case .number(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .other: nil
        }
    }
}

struct AuthEventReader {
    let fields: AuthEventFields
    let tally: AuthTally
    var records = 0
    var problems: [String: Int] = [:]
    var firstProblem: String?

    private mutating func problem(_ kind: String, _ at: String) {
        problems[kind, default: 0] += 1
        if firstProblem == nil { firstProblem = "\(at): \(kind.replacingOccurrences(of: "_", with: " "))" }
    }

    private mutating func event(_ value: (String) -> String?, at: String) {
        guard let u = value(fields.user)?.trimmingCharacters(in: .whitespaces), !u.isEmpty else {
            problem("no_user", at)
            return
        }
        guard let t = value(fields.time).flatMap(AuthEventFields.time) else {
            problem("no_time", at)
            return
        }
        var any = false
        let bytes = Array(u.utf8)
        let h = bytes.withUnsafeBufferPointer(AuthTally.hash)
        let tally = self.tally
        func name() -> Int32 { bytes.withUnsafeBufferPointer { tally.user($0) } }
        for (kind, field) in fields.identifiers {
            guard let v = value(field)?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { continue }
            any = true
            if kind == .mac {
                guard let bits = Array(v.utf8).withUnsafeBufferPointer(DetailParser.macBits) else {
                    problem("malformed_mac", at)
                    continue
                }
                tally.add(id: bits, hash: h, time: t, name: name)
            } else {
                // One host written two ways (`BUILD-01.corp…`, `build-01`) is one identifier with one count of days.
                let value = kind == .hostname ? IdentifierNormalizer.hostname(v) : v
                tally.add(id: tally.other(RawIdentifier(kind, value)), hash: h, time: t, name: name)
            }
        }
        if any { records += 1 } else { problem("no_identifier", at) }
    }

    mutating func jsonLines(_ url: URL, source: String) throws -> (bytes: Int, truncated: Bool) {
        let decoder = JSONDecoder()
        var line = 0
        return try LogReader.read(url, source: source, lastLineWhole: true) { b in
            var start = 0
            for i in 0..<b.count where b[i] == 10 {
                line += 1
                var e = i
                if e > start && b[e - 1] == 13 { e -= 1 }
                let slice = UnsafeBufferPointer(rebasing: b[start..<e])
                start = i + 1
                guard slice.contains(where: { $0 != 32 && $0 != 9 }) else { continue }
                guard let object = try? decoder.decode([String: Scalar].self, from: Data(slice)) else {
                    problem("not_a_json_object", "line \(line)")
                    continue
                }
                event({ object[$0]?.text }, at: "line \(line)")
            }
        }
    }

    mutating func csv(_ url: URL, source: String) throws -> (bytes: Int, truncated: Bool) {
        var data: [UInt8] = []
        let result = try LogReader.read(url, source: source, lastLineWhole: true) { data.append(contentsOf: $0) }
        let table: CSVTable
        do {
            var text = String(decoding: data, as: UTF8.self)
            if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
            table = try CSVTable.parse(text)
        } catch { throw SourceError(source, "\(url.path): \(error)") }
        for needed in [fields.user, fields.time] where table.column(needed) == nil {
            throw SourceError(source, "\(url.path) has no column '\(needed)'")
        }
        var columns: [String: Int] = [:]
        for f in [fields.user, fields.time] + fields.identifiers.map(\.1) { if let c = table.column(f) { columns[f] = c } }
        for (i, row) in table.rows.enumerated() {
            event({ columns[$0].flatMap { row.value($0) } }, at: "row \(i + 2)")
        }
        return result
    }
}
