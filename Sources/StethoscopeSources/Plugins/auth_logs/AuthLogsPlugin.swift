import Foundation
import StethoscopeCore

/// Owners of BYOD and other devices from authentication logs (README, "BYOD"): FreeRADIUS accounting detail files
/// (wireless 802.1X) or generic JSON-lines/CSV events (VPN, proxies, SSO). Over a window, an identifier belongs to
/// the person with the most distinct authentication days (ties: most recent); two or more people each above
/// `shared_share` of its days make it shared, given to none. Each assignment carries that evidence.
public enum AuthLogsPlugin: SourcePlugin {
    public static let type = "auth_logs"
    public static func attribution(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any AttributionSource {
        try AuthLogs(config)
    }
}

struct AuthLogs: AttributionSource {
    let name: String
    let format: String
    let paths: [URL]
    let windowDays: Int
    let sharedShare: Double
    let userFormat: String
    let emailTemplate: String?
    let fields: AuthEventFields?
    let allowEmpty: Bool

    init(_ config: PluginConfig) throws {
        let s = config.section
        name = config.name
        allowEmpty = config.allowEmpty
        format = try s.choice("format", ["freeradius_detail", "json_lines", "csv"], default: "freeradius_detail")
        guard let list = try s.stringList("paths"), !list.isEmpty else { throw s.error("paths", "is required (log files, folders or globs)") }
        paths = list.map { s.resolve($0) }
        windowDays = try s.int("window_days", default: 30, min: 1, max: 366)
        sharedShare = try s.double("shared_share", default: 0.3, min: 0, max: 1)
        userFormat = try s.choice("user_format", ["email", "username"], default: "email")
        emailTemplate = try s.optionalString("email_template")
        if let t = emailTemplate, !t.contains("{user}") || !t.contains("@") {
            throw s.error("email_template", "expected an address with {user} in it, e.g. \"{user}@example.com\"")
        }
        fields = try AuthEventFields.read(try s.section("fields"), format: format)
        if format == "freeradius_detail", fields != nil {
            throw s.error("fields", "is for format json_lines or csv (a detail file's attributes are fixed)")
        }
        if format != "freeradius_detail", fields == nil {
            throw s.error("fields", "is required for format \(format) (time, user and at least one identifier field)")
        }
        try s.finish()
    }

    /// The log files: each path a file, a folder (every file below it: FreeRADIUS writes one folder per access
    /// point) or a glob of either, rotated and compressed ones included. A plain path that does not exist fails
    /// the entry (a typo or a missing mount); a glob or folder with no file does unless `allow_empty`.
    func files() throws -> [URL] {
        try LogPaths.files(paths, source: name, allowEmpty: allowEmpty, noneFound: "holds no file") { folder in
            let fm = FileManager.default
            return (fm.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? []).sorted().compactMap { r in
                let file = folder.appendingPathComponent(r)
                var d: ObjCBool = false
                return fm.fileExists(atPath: file.path, isDirectory: &d) && !d.boolValue ? file : nil
            }
        }
    }

    /// Lists the log files and reads the newest, as a pull would.
    func check(_ context: PullContext) async throws -> String {
        let list = try files()
        guard let newest = list.max(by: { modified($0) < modified($1) }) else { return "ok: no log files yet (allow_empty)" }
        let tally = AuthTally(windowEnd: context.now, windowDays: windowDays)
        let (records, _) = try read(newest, tally: tally, context: context)
        return "ok: \(list.count) files, newest \(newest.lastPathComponent) with \(records) records"
    }

    private func modified(_ url: URL) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date) ?? .distantPast
    }

    /// Reads one file into the tally; returns the records used and the problems met.
    private func read(_ url: URL, tally: AuthTally, context: PullContext) throws -> (Int, [String: Int]) {
        var records = 0
        var problems: [String: Int] = [:]
        var first: String?
        let bytes: Int
        let truncated: Bool
        switch format {
        case "freeradius_detail":
            var parser = DetailParser(tally: tally)
            (bytes, truncated) = try LogReader.read(url, source: name) { parser.feed($0) }
            parser.finish()
            records = parser.records
            problems = parser.problems
            first = parser.firstProblem
        default:
            var reader = AuthEventReader(fields: fields!, tally: tally)
            (bytes, truncated) = try format == "csv" ? reader.csv(url, source: name) : reader.jsonLines(url, source: name)
            records = reader.records
            problems = reader.problems
            first = reader.firstProblem
        }
        if truncated { problems["truncated_record", default: 0] += 1 }
        context.figures.page(records: records, bytes: bytes)
        for (kind, n) in problems { for _ in 0..<n { context.figures.error(kind) } }
        if let first {
            context.figures.reject("\(url.lastPathComponent) \(first)")
        }
        if truncated || !problems.isEmpty {
            context.logger.warning(
                "records left out of an authentication log",
                metadata: [
                    "file": "\(url.path)", "problems": "\(problems.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
                    "truncated": "\(truncated)"
                ])
        }
        return (records, problems)
    }

    /// A user name as the logs give it → the person's email, or a bare username the run resolves against the
    /// directory; `nil` for names that are no person (machine authentication `host/…`, anonymous outer identities).
    func person(_ raw: String) -> String? {
        var u = raw.trimmingCharacters(in: .whitespaces)
        let lower = u.lowercased()
        if u.isEmpty || lower.hasPrefix("host/") || lower.hasPrefix("anonymous") { return nil }
        var domain = false
        if let slash = u.lastIndex(of: "\\") {
            u = String(u[u.index(after: slash)...])
            domain = true
        }
        if let at = u.firstIndex(of: "@") {
            if userFormat == "email" && !domain { return u.lowercased() }
            u = String(u[..<at])
        }
        guard !u.isEmpty else { return nil }
        if let t = emailTemplate { return t.replacingOccurrences(of: "{user}", with: u).lowercased() }
        return u.lowercased()
    }

    func assignments(_ context: PullContext) async throws -> [OwnerAssignment] {
        let probe = AuthTally(windowEnd: context.now, windowDays: windowDays)
        var list: [(URL, Int)] = []
        var skipped = 0
        for file in try files() {
            // A file last written before the window holds no event inside it.
            if modified(file).timeIntervalSince1970 < Double(probe.windowStart) {
                skipped += 1
                continue
            }
            let size = ((try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? Int) ?? 0
            list.append((file, size))
        }
        // Files are read in parallel, largest first to the least loaded reader; each reader has its own tally.
        let workers = max(1, min(list.count, ProcessInfo.processInfo.activeProcessorCount, 4))
        var shares = [[URL]](repeating: [], count: workers)
        var load = [Int](repeating: 0, count: workers)
        for (file, size) in list.sorted(by: { $0.1 > $1.1 }) {
            let w = load.indices.min { load[$0] < load[$1] }!
            shares[w].append(file)
            load[w] += size
        }
        let tallies = try await withThrowingTaskGroup(of: AuthTally.Filled.self) { group in
            for share in shares {
                group.addTask {
                    let tally = AuthTally(windowEnd: context.now, windowDays: windowDays)
                    for file in share { _ = try self.read(file, tally: tally, context: context) }
                    return tally.filled()
                }
            }
            var out: [AuthTally.Filled] = []
            for try await t in group { out.append(t) }
            return out
        }
        let read = list.count
        let counted = tallies.reduce(0) { $0 + $1.counted }
        let outside = tallies.reduce(0) { $0 + $1.outside }
        var notPeople = 0
        let pairs = AuthTally.assignments(tallies, via: name, sharedShare: sharedShare) { user in
            let p = self.person(user)
            if p == nil { notPeople += 1 }
            return p
        }
        if notPeople > 0 { for _ in 0..<notPeople { context.figures.error("not_a_person") } }
        // Randomized and locally administered MACs name no device: rejected here, so they are counted per entry.
        let normalizer = IdentifierNormalizer()
        var out: [OwnerAssignment] = []
        out.reserveCapacity(pairs.count)
        for (raw, a) in pairs {
            if case .failure(let why) = normalizer.normalize(raw) {
                context.figures.error(why.rawValue)
                context.figures.reject("\(raw.kind.rawValue) \(raw.value): \(why.rawValue.replacingOccurrences(of: "_", with: " "))")
                continue
            }
            out.append(a)
        }
        context.logger.info(
            "authentication logs read",
            metadata: [
                "files": "\(read)", "files_before_window": "\(skipped)", "events": "\(counted)",
                "outside_window": "\(outside)", "identifiers": "\(out.count)", "window_days": "\(windowDays)"
            ])
        if out.isEmpty && !allowEmpty {
            throw SourceError(
                name,
                "no authentication in the \(windowDays)-day window (\(read) files read, \(outside) events outside it, "
                    + "\(skipped) files older) (set allow_empty: true if that is expected)")
        }
        return out
    }
}
