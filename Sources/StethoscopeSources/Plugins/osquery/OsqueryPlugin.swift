import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// Hosts from osquery's own result logs (the filesystem logger), no server needed.
public enum OsqueryPlugin: SourcePlugin {
    public static let type = "osquery"
    public static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource {
        try OsquerySource(config)
    }
}

/// How one scheduled query informs a practice: rows present (a policy-style `SELECT 1 ... WHERE good`), or
/// some row's `column` holding one of the `ok` values.
struct QueryRule: Sendable {
    var practice: String
    var column: String?
    var ok: Set<String>

    func judge(_ rows: Set<OsqueryRow>) -> (satisfied: Bool, value: String) {
        guard let column else { return (!rows.isEmpty, rows.isEmpty ? "no rows" : "\(rows.count) row\(rows.count == 1 ? "" : "s")") }
        let seen = rows.compactMap { $0[column] }.sorted()
        return (seen.contains { ok.contains($0) }, seen.isEmpty ? "no rows" : "\(column)=\(seen.joined(separator: ","))")
    }
}

struct OsquerySource: DeviceSource {
    let name: String
    let paths: [URL]
    let rules: [String: QueryRule]
    let osVersionQuery: String?

    init(_ config: PluginConfig) throws {
        let s = config.section
        name = config.name
        guard let list = try s.stringList("paths"), !list.isEmpty else { throw s.error("paths", "is required (log files or folders)") }
        paths = list.map { s.resolve($0) }
        guard let q = try s.section("queries") else { throw s.error("queries", "is required (query name -> practice)") }
        var rules: [String: QueryRule] = [:]
        for key in q.keys {
            if let detail = try? q.section(key) {
                rules[key] = QueryRule(practice: try detail.string("practice"), column: try detail.optionalString("column"),
                                       ok: Set(try detail.stringList("ok") ?? ["1"]))
                try detail.finish()
            } else {
                rules[key] = QueryRule(practice: try q.string(key), column: nil, ok: [])
            }
        }
        try q.finish()
        self.rules = rules
        osVersionQuery = try s.optionalString("os_version_query")
        try s.finish()
    }

    /// The log files in reading order: for each configured file its rotations oldest first (`x.log.3`,
    /// `x.log.2`, `x.log.1`, `x.log`); folders contribute every `*.results.log*` and `*.snapshots.log*`.
    func files() throws -> [URL] {
        let fm = FileManager.default
        var out: [URL] = []
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path.path, isDirectory: &isDir) else {
                throw SourceError(name, "log path \(path.path) does not exist")
            }
            let bases: [URL]
            if isDir.boolValue {
                let names = try fm.contentsOfDirectory(atPath: path.path)
                bases = Set(names.compactMap { n -> String? in
                    guard let r = n.range(of: ".results.log") ?? n.range(of: ".snapshots.log") else { return nil }
                    return String(n[..<r.upperBound])
                }).sorted().map { path.appendingPathComponent($0) }
            } else {
                bases = [path]
            }
            for base in bases {
                let folder = base.deletingLastPathComponent()
                let prefix = base.lastPathComponent + "."
                let rotated = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).compactMap { n -> (Int, URL)? in
                    guard n.hasPrefix(prefix), let k = Int(n.dropFirst(prefix.count)) else { return nil }
                    return (k, folder.appendingPathComponent(n))
                }.sorted { $0.0 > $1.0 }.map(\.1)
                out += rotated
                if fm.fileExists(atPath: base.path) { out.append(base) }
            }
        }
        return out
    }

    /// One host's state: per query, the rows now true and when they were last reported.
    struct HostState {
        var rows: [String: Set<OsqueryRow>] = [:]
        var at: [String: Int] = [:]
        var newest = 0
        var decorations: [String: String] = [:]
    }

    func pull(_ context: PullContext) async throws -> [SourceRecord] {
        var events: [(time: Int, order: Int, event: OsqueryEvent)] = []
        let decoder = JSONDecoder()
        var order = 0
        for file in try files() {
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw SourceError(name, "cannot read \(file.path)")
            }
            var lineNumber = 0
            for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                guard line.contains(where: { $0 != 32 && $0 != 13 }) else { continue }
                do {
                    let event = try decoder.decode(OsqueryEvent.self, from: Data(line))
                    events.append((event.unixTime, order, event))
                    order += 1
                } catch {
                    context.figures.reject("\(file.lastPathComponent):\(lineNumber): \(SourceHTTP.describe(error))")
                }
            }
            context.figures.page(records: 0, bytes: data.count)
        }
        // Newest wins: replay in time order (file order breaks ties), so rotated files may come in any state.
        events.sort { $0.time != $1.time ? $0.time < $1.time : $0.order < $1.order }
        var hosts: [String: HostState] = [:]
        for (_, _, e) in events {
            var h = hosts[e.hostIdentifier] ?? HostState()
            apply(e, to: &h)
            hosts[e.hostIdentifier] = h
        }
        let records = hosts.keys.sorted().map { record($0, hosts[$0]!) }
        context.figures.setRecords(records.count)
        return records
    }

    func apply(_ e: OsqueryEvent, to h: inout HostState) {
        h.newest = max(h.newest, e.unixTime)
        for (k, v) in e.decorations?.values ?? [:] { h.decorations[k] = v }
        var rows = h.rows[e.name] ?? []
        if let snapshot = e.snapshot {
            rows = Set(snapshot)
        } else if let diff = e.diffResults {
            if e.counter == 0 { rows = [] }
            for r in diff.removed ?? [] { rows.remove(r) }
            for r in diff.added ?? [] { rows.insert(r) }
        } else if let row = e.columns {
            switch e.action {
            case "removed": rows.remove(row)
            case "snapshot":
                // One row per line (Fleet-style exports): a new timestamp starts a new snapshot.
                if h.at[e.name] != e.unixTime { rows = [] }
                rows.insert(row)
            default:
                if e.counter == 0 && h.at[e.name] != e.unixTime { rows = [] }  // a fresh baseline after restart
                rows.insert(row)
            }
        }
        h.rows[e.name] = rows
        h.at[e.name] = e.unixTime
    }

    static func looksLikeUUID(_ s: String) -> Bool {
        s.count == 36 && s.filter { $0 == "-" }.count == 4 && s.allSatisfy { $0.isHexDigit || $0 == "-" }
    }

    func record(_ id: String, _ h: HostState) -> SourceRecord {
        let d = h.decorations
        var r = SourceRecord(source: name, localID: id)
        r.deviceName = d["hostname"] ?? d["computer_name"] ?? (Self.looksLikeUUID(id) ? nil : id)
        r.lastSync = Date(timeIntervalSince1970: Double(h.newest))
        if let uuid = d["host_uuid"] ?? d["uuid"] ?? (Self.looksLikeUUID(id) ? id : nil) { r.identifiers.append(RawIdentifier(.udid, uuid)) }
        if let serial = d["serial"] ?? d["hardware_serial"], !serial.isEmpty { r.identifiers.append(RawIdentifier(.serial, serial)) }
        if let user = d["username"], !user.isEmpty { r.ownerHints.append(OwnerHint(.username, user)) }
        if let q = osVersionQuery, let os = h.rows[q]?.first {
            r.osName = os["name"]
            r.osVersion = os["version"]
            r.platform = FleetMapping.platform(os["platform"])
        }
        for (query, rule) in rules.sorted(by: { $0.key < $1.key }) {
            guard let rows = h.rows[query], let at = h.at[query] else { continue }
            let verdict = rule.judge(rows)
            r.observations.append(Observation(rule.practice, satisfied: verdict.satisfied, value: verdict.value,
                                              details: "osquery \(query)", observedAt: Date(timeIntervalSince1970: Double(at))))
        }
        return r
    }

    /// Every configured path exists and can be read.
    func check(_ context: PullContext) async throws -> String {
        let files = try files()
        var bytes = 0
        for f in files {
            guard FileManager.default.isReadableFile(atPath: f.path) else { throw SourceError(name, "cannot read \(f.path)") }
            bytes += ((try? FileManager.default.attributesOfItem(atPath: f.path)[.size]) as? Int) ?? 0
        }
        return "ok: \(files.count) log file\(files.count == 1 ? "" : "s"), \(bytes) bytes"
    }
}
