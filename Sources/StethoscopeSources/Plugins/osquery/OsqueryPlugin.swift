import Foundation
import StethoscopeCore
import StethoscopeHTTP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Hosts from osquery's own result logs (the filesystem logger), no server needed.
public enum OsqueryPlugin: SourcePlugin {
    public static let type = "osquery"
    public static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource {
        try OsquerySource(config)
    }
}

/// How one scheduled query informs a practice: rows present (a policy-style `SELECT 1 ... WHERE good`), or
/// some row's `column` holding one of the `ok` values. `emptyIsUnknown`: no rows means "not collected" or
/// "nobody logged in" (osquery's `screenlock` table answers only in a user's context), so it says nothing.
struct QueryRule: Sendable {
    var practice: String
    var column: String?
    var ok: Set<String>
    var emptyIsUnknown = false

    /// `nil` when the rows say nothing about the practice (no rows, and that means unknown).
    func judge(_ rows: Set<OsqueryRow>) -> (satisfied: Bool, value: String)? {
        if rows.isEmpty && emptyIsUnknown { return nil }
        guard let column else { return (!rows.isEmpty, rows.isEmpty ? "no rows" : "\(rows.count) row\(rows.count == 1 ? "" : "s")") }
        let seen = rows.compactMap { $0[column] }.sorted()
        return (seen.contains { ok.contains($0) }, seen.isEmpty ? "no rows" : "\(column)=\(seen.joined(separator: ","))")
    }

    /// One rule's mapping: `{practice, column, ok, empty}`.
    static func read(_ d: ConfigSection) throws -> QueryRule {
        let practice = try d.string("practice")
        let column = try d.optionalString("column")
        let ok = Set(try d.stringList("ok") ?? ["1"])
        // README, "Vendor notes": `screenlock` has rows only in a logged-in user's context; no row is unknown there.
        let empty = try d.choice("empty", ["fail", "unknown"], default: column != nil && practice == "screen_lock" ? "unknown" : "fail")
        try d.finish()
        return QueryRule(practice: practice, column: column, ok: ok, emptyIsUnknown: empty == "unknown")
    }
}

struct OsquerySource: DeviceSource {
    let name: String
    let paths: [URL]
    /// Per query, the practices it informs (one Windows Security Center query: firewall and automatic updates).
    let rules: [String: [QueryRule]]
    let osVersionQuery: String?
    /// A snapshot of `system_info`: hardware serial, UUID, hostname and model when decorations lack them.
    let systemInfoQuery: String?
    /// A path that yields no log file is fine (a folder osquery has not written to yet).
    let allowEmpty: Bool

    init(_ config: PluginConfig) throws {
        let s = config.section
        name = config.name
        guard let list = try s.stringList("paths"), !list.isEmpty else { throw s.error("paths", "is required (log files, folders or globs)") }
        paths = list.map { s.resolve($0) }
        guard let q = try s.section("queries") else { throw s.error("queries", "is required (query name -> practice)") }
        var rules: [String: [QueryRule]] = [:]
        for key in q.keys {
            if q.isList(key) {
                let list = try q.sections(key).map(QueryRule.read)
                guard !list.isEmpty else { throw q.error(key, "expected at least one rule {practice, column, ok}") }
                rules[key] = list
            } else if let detail = try? q.section(key) {
                rules[key] = [try QueryRule.read(detail)]
            } else {
                rules[key] = [QueryRule(practice: try q.string(key), column: nil, ok: [])]
            }
        }
        try q.finish()
        self.rules = rules
        osVersionQuery = try s.optionalString("os_version_query")
        systemInfoQuery = try s.optionalString("system_info_query")
        allowEmpty = config.allowEmpty
        try s.finish()
    }

    /// The log files in reading order. Each configured path is a file, a folder (read recursively: one folder per
    /// host is common) or a glob of either. A folder contributes every `*.results.log*` and `*.snapshots.log*`
    /// below it; each log comes with its rotations, oldest first (`x.log.3`, `x.log.2`, `x.log.1`, `x.log`). A
    /// path that yields no log file fails the source unless `allow_empty`; a plain path that does not exist always
    /// does (a typo or a missing mount, not an empty night).
    func files() throws -> [URL] {
        try LogPaths.files(
            paths, source: name, allowEmpty: allowEmpty, noneFound: "holds no osquery result logs (*.results.log, *.snapshots.log)",
            inFolder: { logs(under: $0).flatMap(withRotations) }, forFile: withRotations)
    }

    /// The result and snapshot logs anywhere below `folder` (their unrotated names, whether or not that file exists).
    func logs(under folder: URL) -> [URL] {
        var bases = Set<String>()
        for relative in FileManager.default.enumerator(atPath: folder.path)?.compactMap({ $0 as? String }) ?? [] {
            guard let r = relative.range(of: ".results.log") ?? relative.range(of: ".snapshots.log") else { continue }
            let base = String(relative[..<r.upperBound])
            // Only the file name may carry the marker: `x.results.log.1` yes, `x.results.log.d/y` no.
            guard !relative[r.upperBound...].contains("/") else { continue }
            bases.insert(base)
        }
        return bases.sorted().map { folder.appendingPathComponent($0) }
    }

    /// `base`'s numbered rotations oldest first, then `base` itself when it exists (compressed ones are not read).
    func withRotations(_ base: URL) -> [URL] {
        let fm = FileManager.default
        let folder = base.deletingLastPathComponent()
        let prefix = base.lastPathComponent + "."
        let rotated = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).compactMap { n -> (Int, URL)? in
            guard n.hasPrefix(prefix), let k = Int(n.dropFirst(prefix.count)) else { return nil }
            return (k, folder.appendingPathComponent(n))
        }.sorted { $0.0 > $1.0 }.map(\.1)
        return rotated + (fm.fileExists(atPath: base.path) ? [base] : [])
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
        var order = 0
        for file in try files() {
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw SourceError(name, "cannot read \(file.path)")
            }
            for event in readLines(data, file: file, context) {
                events.append((event.unixTime, order, event))
                order += 1
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

    /// One file's events. A line that does not parse is rejected (counted, and logged as a warning naming the
    /// file's full path and the line); so is every line of the event it belonged to. osquery writes one run of a
    /// differential query as consecutive lines (its `removed` rows, then its `added` ones) sharing host, query,
    /// `unixTime` and `counter`; applying half of such a run (a removed row whose added row was cut off by a
    /// truncated last line) would make a changed row vanish. The lost line's event is found from what can still be
    /// read of it (host, query, time, counter); a last line too short to tell takes the run before it along.
    func readLines(_ data: Data, file: URL, _ context: PullContext) -> [OsqueryEvent] {
        struct Line {
            var number: Int
            var event: OsqueryEvent?
            var partial: OsqueryLinePrefix?
        }
        let decoder = JSONDecoder()
        var lines: [Line] = []
        var lineNumber = 0
        func reject(_ number: Int, _ why: String) {
            let reason = "\(file.path):\(number): \(why)"
            context.figures.reject(reason)
            context.logger.warning("\(name): rejected \(reason)")
        }
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            guard line.contains(where: { $0 != 32 && $0 != 13 }) else { continue }
            do {
                lines.append(Line(number: lineNumber, event: try decoder.decode(OsqueryEvent.self, from: Data(line))))
            } catch {
                reject(lineNumber, SourceHTTP.describe(error))
                lines.append(Line(number: lineNumber, event: nil, partial: OsqueryLinePrefix(Data(line))))
            }
        }
        // Runs of row-per-line events (differential `columns` lines, row-per-line snapshots) of one event.
        var dropped = Set<Int>()  // indexes into `lines`
        func run(endingAt last: Int) -> [Int] {
            guard last >= 0, let key = lines[last].event?.rowKey else { return [] }
            var i = last
            while i > 0, lines[i - 1].event?.rowKey == key { i -= 1 }
            return Array(i...last)
        }
        func run(startingAt first: Int) -> [Int] {
            guard first < lines.count, let key = lines[first].event?.rowKey else { return [] }
            var i = first
            while i + 1 < lines.count, lines[i + 1].event?.rowKey == key { i += 1 }
            return Array(first...i)
        }
        for (i, line) in lines.enumerated() where line.event == nil {
            let before = run(endingAt: i - 1)
            let after = run(startingAt: i + 1)
            if let partial = line.partial, partial.identifiesEvent {
                if let b = before.first, let key = lines[b].event?.rowKey, partial.matches(key) { dropped.formUnion(before) }
                if let a = after.first, let key = lines[a].event?.rowKey, partial.matches(key) { dropped.formUnion(after) }
            } else if i == lines.count - 1 {
                dropped.formUnion(before)  // a truncated tail too short to name its event: assume it continued the last one
            }
        }
        for i in dropped.sorted() {
            reject(lines[i].number, "part of an event with a rejected line")
        }
        return lines.indices.compactMap { dropped.contains($0) ? nil : lines[$0].event }
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
        // system_info's row fills what decorations lack (one row; the smallest if a host ever sent several).
        let sys = systemInfoQuery.flatMap { h.rows[$0]?.min { $0.values.description < $1.values.description } }
        var r = SourceRecord(source: name, localID: id)
        r.deviceName =
            d["hostname"].nonEmpty ?? d["computer_name"].nonEmpty ?? sys?["hostname"].nonEmpty
            ?? sys?["computer_name"].nonEmpty ?? (Self.looksLikeUUID(id) ? nil : id)
        r.model = sys?["hardware_model"].nonEmpty
        r.lastSync = Date(timeIntervalSince1970: Double(h.newest))
        // A UUID-shaped host identifier may be osquery's `instance` id, so the hardware UUID comes first.
        if let uuid = d["host_uuid"].nonEmpty ?? d["uuid"].nonEmpty ?? sys?["uuid"].nonEmpty ?? (Self.looksLikeUUID(id) ? id : nil) {
            r.identifiers.append(RawIdentifier(.udid, uuid))
        }
        if let serial = d["serial"].nonEmpty ?? d["hardware_serial"].nonEmpty ?? sys?["hardware_serial"].nonEmpty {
            r.identifiers.append(RawIdentifier(.serial, serial))
        }
        if let user = d["username"], !user.isEmpty { r.ownerHints.append(OwnerHint(.username, user)) }
        if let q = osVersionQuery, let os = h.rows[q]?.first {
            r.osName = os["name"]
            r.osVersion = os["version"]
            r.platform = FleetMapping.platform(os["platform"])
        }
        for (query, list) in rules.sorted(by: { $0.key < $1.key }) {
            guard let rows = h.rows[query], let at = h.at[query] else { continue }
            for rule in list {
                guard let verdict = rule.judge(rows) else { continue }  // "not collected": no observation to mask another source's
                r.observations.append(
                    Observation(
                        rule.practice, satisfied: verdict.satisfied, value: verdict.value,
                        details: "osquery \(query)", observedAt: Date(timeIntervalSince1970: Double(at))))
            }
        }
        return r
    }

    /// Every configured path yields log files (unless `allow_empty`) and they can be read.
    func check(_ context: PullContext) async throws -> String {
        let files = try files()
        var bytes = 0
        for f in files {
            guard FileManager.default.isReadableFile(atPath: f.path) else { throw SourceError(name, "cannot read \(f.path)") }
            bytes += ((try? FileManager.default.attributesOfItem(atPath: f.path)[.size]) as? Int) ?? 0
        }
        if files.isEmpty { return "ok: no log files yet (allow_empty)" }
        return "ok: \(files.count) log file\(files.count == 1 ? "" : "s"), \(bytes) bytes"
    }
}
