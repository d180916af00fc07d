import Foundation
import StethoscopeCore
import StethoscopeRollups
import StethoscopeStore

/// The report's inputs, read from roll-ups (never from per-device rows, except the optional people lists).
struct ReportData {
    struct Night {
        var asOf: String
        var status: String
        var hash: String
        var devices: Int
        var carriedForward: Int
        var conflicts: Int
        var pruned: Bool
        /// What changed in the practice rules in force since the night before ("Up-to-date OS: Mac required 15.2
        /// (was 14.0)"); empty when nothing did (or the nights' hashes are of an older, incomparable form).
        var ruleChanges: [String] = []
        /// Set when the device count moved by more than the threshold since the night before: the move and the
        /// sources whose records explain it.
        var deviceMove: String?
    }

    struct Practice {
        var key: String, title: String, description: String, rating: String, link: String?
    }

    /// One group's series over the report's nights.
    final class Group {
        let kind: GroupKind
        let id: String
        /// Per night: devices, stale, people, green, critical, newly failing; devices = -1 when absent.
        var totals: [Int32]
        /// Per practice × night × (ok, nudge, warn, unknown, na, newly failing); allocated on first row.
        var cells: [Int32] = []
        /// Per practice: fixes in the window by nights from first failing to ok (nights → fixes).
        var fixes: [[Int: Int]]

        init(kind: GroupKind, id: String, nights: Int, practices: Int) {
            self.kind = kind
            self.id = id
            totals = [Int32](repeating: 0, count: nights * 6)
            for n in 0..<nights { totals[n * 6] = -1 }
            fixes = [[Int: Int]](repeating: [:], count: practices)
        }
    }

    var nights: [Night] = []
    var practices: [Practice] = []
    var groups: [String: Group] = [:]
    var people: [String: Person] = [:]
    var org: OrgChart
    var chart: OrgChartChoice
    /// Per night and platform: devices, stale, no owner, former owner, fewer sources; expected sources.
    var quality: [(asOf: String, platform: String, values: [Int], expected: String)] = []
    var sourceUnknown: [(source: String, practice: String, devices: Int, unknown: Int)] = []
    var sourceRuns: [(asOf: String, source: String, kind: String, status: String, records: Int, errors: String, failure: String?)] = []
    var conflicts: [(shared: String, conflicting: String, records: String)] = []
    /// With --include-people only: the last night's devices per owner.
    var ownedDevices: [String: [OwnedDevice]] = [:]
    var unowned: [OwnedDevice] = []
    /// The last night's devices seen only in authentication logs (`unmanaged_devices`).
    var unmanaged: [UnmanagedDeviceRow] = []

    struct OwnedDevice {
        var name: String, key: String, platform: String, sources: String, failing: String, stale: Bool, owner: String?
    }

    var last: Int { nights.count - 1 }
    var marks: Charts.Marks {
        Charts.Marks(
            nights: nights.map(\.asOf), partial: nights.map { $0.status == "partial" },
            changed: nights.map { !$0.ruleChanges.isEmpty }, moved: nights.map { $0.deviceMove != nil },
            notes: nights.map { night in
                var notes: [String] = []
                if night.status == "partial" {
                    notes.append("partial night" + (night.carriedForward > 0 ? " (\(night.carriedForward) devices carried forward)" : ""))
                }
                if !night.ruleChanges.isEmpty { notes.append("practice definitions changed: " + night.ruleChanges.joined(separator: "; ")) }
                if let move = night.deviceMove { notes.append(move) }
                return notes
            })
    }

    static func key(_ kind: GroupKind, _ id: String) -> String { kind.rawValue + "\u{1}" + id }
    func group(_ kind: GroupKind, _ id: String) -> Group? { groups[Self.key(kind, id)] }

    static func load(_ store: SnapshotStore, options: ReportOptions) throws -> ReportData {
        let db = store.database
        guard let newest = try Rollups.latestNight(db) else {
            throw ReportError(description: "the database has no nights yet: run `stethoscope run` (or `stethoscope demo`) first")
        }
        let asOf = options.asOf ?? newest
        let q = try db.prepare(
            """
            SELECT as_of, status, practices_hash, devices, carried_forward, merge_conflicts, detail_pruned FROM runs
            WHERE as_of <= ?1 ORDER BY as_of DESC LIMIT ?2
            """)
        q.bind(1, asOf)
        q.bind(2, max(options.nights, 1))
        var nights: [Night] = []
        while try q.step() {
            nights.append(
                Night(
                    asOf: q.string(0) ?? "", status: q.string(1) ?? "", hash: q.string(2) ?? "", devices: q.int(3),
                    carriedForward: q.int(4), conflicts: q.int(5), pruned: q.int(6) != 0))
        }
        nights.reverse()
        guard let lastNight = nights.last, lastNight.asOf == asOf else {
            throw ReportError(description: "no night \(asOf) in the database (nights run from \(try firstNight(db)) to \(newest))")
        }
        try ensureRollups(store, nights: nights, chart: options.chart)
        try explainNights(db, &nights, threshold: options.deviceChangeThreshold)
        let chartNight = options.chart == .night ? asOf : newest
        let people = try store.people(asOf: chartNight)
        var data = ReportData(org: OrgChart(people), chart: options.chart)
        data.nights = nights
        for p in people { data.people[p.email] = p }
        try data.loadPractices(db, asOf: asOf)
        try data.loadGroups(db)
        try data.loadQuality(db)
        try data.loadUnmanaged(store)
        if options.includePeople { try data.loadPeopleDevices(db) }
        return data
    }

    static func firstNight(_ db: Database) throws -> String {
        let q = try db.prepare("SELECT MIN(as_of) FROM runs")
        return try q.step() ? (q.string(0) ?? "") : ""
    }

    /// Rolls up nights in the window that have detail but no roll-ups (a database from before roll-ups, or a
    /// run that stopped before them); for the current chart, rebuilds when today's chart is newer than its own.
    static func ensureRollups(_ store: SnapshotStore, nights: [Night], chart: OrgChartChoice) throws {
        let db = store.database
        if chart == .current {
            let state = try db.prepare("SELECT chart_as_of FROM rollup_state WHERE chart = 'current'")
            let current = try state.step() ? state.string(0) : nil
            if current != (try Rollups.latestNight(db)) { try Rollups.rebuild(store, chart: .current) }
        }
        let has = try db.prepare("SELECT 1 FROM rollup_groups WHERE chart = ?1 AND as_of = ?2 LIMIT 1")
        has.bind(1, chart.rawValue)
        for night in nights where !night.pruned {
            has.bind(2, night.asOf)
            let present = try has.step()
            has.reset()
            if !present { try Rollups.compute(store, asOf: night.asOf, chart: chart) }
        }
    }

    /// Fills each night's rule changes and device-count move, comparing with the night before (for the window's
    /// first night, the newest night before the window). Reads a few rows per night: runs, practice definitions of
    /// nights whose hash moved, and run_sources of nights whose device count moved.
    static func explainNights(_ db: Database, _ nights: inout [Night], threshold: Double) throws {
        guard let first = nights.first else { return }
        let before = try db.prepare("SELECT as_of, practices_hash, devices FROM runs WHERE as_of < ?1 ORDER BY as_of DESC LIMIT 1")
        before.bind(1, first.asOf)
        var prior: (asOf: String, hash: String, devices: Int)?
        if try before.step() { prior = (before.string(0) ?? "", before.string(1) ?? "", before.int(2)) }
        let defs = try db.prepare("SELECT practice, title, fingerprint FROM practice_definitions WHERE as_of = ?1 ORDER BY position")
        func definitions(_ asOf: String) throws -> [RuleText] {
            defs.bind(1, asOf)
            defer { defs.reset() }
            var out: [RuleText] = []
            while try defs.step() { out.append(RuleText(key: defs.string(0) ?? "", title: defs.string(1) ?? "", fingerprint: defs.string(2) ?? "")) }
            return out
        }
        let sources = try db.prepare("SELECT source, status, records FROM run_sources WHERE as_of = ?1 ORDER BY source")
        func records(_ asOf: String) throws -> [String: (status: String, records: Int)] {
            sources.bind(1, asOf)
            defer { sources.reset() }
            var out: [String: (status: String, records: Int)] = [:]
            while try sources.step() { out[sources.string(0) ?? ""] = (sources.string(1) ?? "", sources.int(2)) }
            return out
        }
        let version = PracticeSet.hashVersion
        for i in nights.indices {
            let prev: (asOf: String, hash: String, devices: Int)? = i > 0 ? (nights[i - 1].asOf, nights[i - 1].hash, nights[i - 1].devices) : prior
            guard let prev else { continue }
            let night = nights[i]
            if night.hash != prev.hash, night.hash.hasPrefix(version), prev.hash.hasPrefix(version) {
                nights[i].ruleChanges = ruleChanges(before: try definitions(prev.asOf), after: try definitions(night.asOf))
            }
            if prev.devices > 0, abs(Double(night.devices - prev.devices)) > threshold * Double(prev.devices) {
                let then = try records(prev.asOf)
                let now = try records(night.asOf)
                var moved: [(change: Int, text: String)] = []
                for name in Set(then.keys).union(now.keys) {
                    let a = then[name]
                    let b = now[name]
                    let change = (b?.records ?? 0) - (a?.records ?? 0)
                    guard change != 0 || a?.status != b?.status else { continue }
                    var text = "\(name) \(a.map { String($0.records) } ?? "absent") → \(b.map { String($0.records) } ?? "absent") records"
                    if let b, b.status != "ok" { text += " (\(b.status))" }
                    moved.append((abs(change), text))
                }
                moved.sort { $0.change != $1.change ? $0.change > $1.change : $0.text < $1.text }
                let share = Double(night.devices - prev.devices) / Double(prev.devices)
                var text = "devices \(prev.devices) → \(night.devices) (\(share >= 0 ? "+" : "")\(fixed(share * 100, 1))%)"
                text +=
                    moved.isEmpty
                    ? ": no source's record count moved (ownership, merging or staleness did)"
                    : ": " + moved.prefix(4).map(\.text).joined(separator: ", ")
                nights[i].deviceMove = text
            }
        }
    }

    /// One practice's rule in force on a night, as stored (`PracticeDefinition.fingerprint(asOf:)`).
    struct RuleText {
        var key: String, title: String, fingerprint: String
    }

    /// What changed between two nights' rules, one line per practice: "Up-to-date OS: Mac required 15.2 (was 14.0)".
    static func ruleChanges(before: [RuleText], after: [RuleText]) -> [String] {
        func fields(_ text: String) -> [(label: String, value: String)] {
            text.split(separator: "\n").map { line in
                guard let colon = line.range(of: ": ") else { return (String(line), "") }
                return (String(line[..<colon.lowerBound]), String(line[colon.upperBound...]))
            }
        }
        var old: [String: RuleText] = [:]
        for r in before { old[r.key] = r }
        var out: [String] = []
        for rule in after {
            guard let was = old.removeValue(forKey: rule.key) else {
                out.append("\(rule.title): added")
                continue
            }
            guard was.fingerprint != rule.fingerprint else { continue }
            let a = fields(was.fingerprint)
            let b = fields(rule.fingerprint)
            var oldValue: [String: String] = [:]
            for f in a { oldValue[f.label] = f.value }
            var parts: [String] = []
            for f in b {
                if let v = oldValue.removeValue(forKey: f.label) {
                    if v != f.value { parts.append("\(f.label) \(f.value) (was \(v))") }
                } else {
                    parts.append("\(f.label) \(f.value) (new)")
                }
            }
            for f in a where oldValue[f.label] != nil { parts.append("\(f.label) \(f.value) no longer set") }
            out.append("\(rule.title): " + (parts.isEmpty ? "definition changed" : parts.joined(separator: ", ")))
        }
        for r in before where old[r.key] != nil { out.append("\(r.title): removed") }
        return out
    }

    mutating func loadPractices(_ db: Database, asOf: String) throws {
        let q = try db.prepare(
            """
            SELECT practice, title, description, rating, link FROM practice_definitions WHERE as_of = ?1 ORDER BY position
            """)
        q.bind(1, asOf)
        while try q.step() {
            practices.append(
                Practice(
                    key: q.string(0) ?? "", title: q.string(1) ?? "", description: q.string(2) ?? "",
                    rating: q.string(3) ?? "", link: q.string(4)))
        }
    }

    mutating func loadGroups(_ db: Database) throws {
        let N = nights.count
        let P = practices.count
        var nightIndex: [String: Int] = [:]
        for (i, n) in nights.enumerated() { nightIndex[n.asOf] = i }
        let first = nights[0].asOf
        let lastAsOf = nights[last].asOf
        let g = try db.prepare(
            """
            SELECT as_of, group_kind, group_id, devices, stale, people, green, critical, newly_failing FROM rollup_groups
            WHERE chart = ?1 AND as_of BETWEEN ?2 AND ?3
            """)
        g.bind(1, chart.rawValue)
        g.bind(2, first)
        g.bind(3, lastAsOf)
        while try g.step() {
            guard let n = nightIndex[g.string(0) ?? ""], let kind = GroupKind(rawValue: g.string(1) ?? "") else { continue }
            let id = g.string(2) ?? ""
            let key = Self.key(kind, id)
            let group: Group
            if let known = groups[key] {
                group = known
            } else {
                group = Group(kind: kind, id: id, nights: N, practices: P)
                groups[key] = group
            }
            for f in 0..<6 { group.totals[n * 6 + f] = Int32(g.int(3 + f)) }
        }
        // Practice rows, night by night (each a key range): every night for the company and organizations; for
        // managers the nights their sparklines sample plus a week and four weeks back; for direct reports only
        // the last night and a week before. So the cost grows with groups × sampled nights, never with devices.
        var list = ","
        var practiceAt: [Int: Int] = [:]
        for (i, p) in practices.enumerated() {
            practiceAt[list.utf8.count] = i
            list += p.key + ","
        }
        let sampled = Set(Charts.sampleIndices(N)).union([max(0, last - 7), max(0, last - 28)])
        let r = try db.prepare(
            """
            SELECT group_kind, group_id, instr(?5, ',' || practice || ','), ok, nudge, warn, unknown, na,
                   newly_failing
            FROM rollup_practices WHERE chart = ?1 AND as_of = ?2
              AND group_kind IN ('company', 'organization', ?3, ?4)
            """)
        r.bind(1, chart.rawValue)
        r.bind(5, list)
        for (n, night) in nights.enumerated() {
            r.bind(2, night.asOf)
            r.bind(3, sampled.contains(n) ? "manager" : "company")
            r.bind(4, n == last || n == max(0, last - 7) ? "direct" : "company")
            defer { r.reset() }
            var lastKind = ""
            var lastID = ""
            var lastGroup: Group?
            while try r.step() {
                guard let p = practiceAt[r.int(2)] else { continue }
                let kindText = r.string(0) ?? ""
                let id = r.string(1) ?? ""
                if lastGroup == nil || id != lastID || kindText != lastKind {
                    lastGroup = groups[kindText + "\u{1}" + id]
                    lastID = id
                    lastKind = kindText
                }
                guard let group = lastGroup else { continue }
                if group.cells.isEmpty { group.cells = [Int32](repeating: 0, count: P * N * 6) }
                let base = (p * N + n) * 6
                for f in 0..<6 { group.cells[base + f] = Int32(r.int(3 + f)) }
            }
        }
        // Fixes and time to fix over every night of the window, for every group (so a manager page and the overview
        // agree): only the group-nights with events (`rollup_groups.changes`, migration 0012), and in them the
        // practices with fixes.
        let f = try db.prepare(
            """
            SELECT g.group_kind, g.group_id, instr(?4, ',' || n.practice || ','), json_extract(e.value, '$[2]')
            FROM rollup_groups g JOIN json_each(g.changes) e JOIN practice_numbers n ON n.practice_no = e.key
            WHERE g.chart = ?1 AND g.as_of BETWEEN ?2 AND ?3 AND g.changes IS NOT NULL AND e.type = 'array'
              AND json_extract(e.value, '$[1]') > 0
            """)
        f.bind(1, chart.rawValue)
        f.bind(2, first)
        f.bind(3, lastAsOf)
        f.bind(4, list)
        while try f.step() {
            guard let p = practiceAt[f.int(2)], let group = groups[(f.string(0) ?? "") + "\u{1}" + (f.string(1) ?? "")],
                let fixes = f.string(3)
            else { continue }
            Rollups.readFixNights(fixes, into: &group.fixes[p])
        }
    }

    mutating func loadQuality(_ db: Database) throws {
        let first = nights[0].asOf
        let lastAsOf = nights[last].asOf
        let q = try db.prepare(
            """
            SELECT as_of, platform, devices, stale, no_owner, former_owner, fewer_sources, expected_sources
            FROM rollup_quality WHERE as_of BETWEEN ?1 AND ?2 ORDER BY as_of, platform
            """)
        q.bind(1, first)
        q.bind(2, lastAsOf)
        while try q.step() {
            quality.append((q.string(0) ?? "", q.string(1) ?? "", (2...6).map { q.int($0) }, q.string(7) ?? ""))
        }
        let s = try db.prepare("SELECT source, practice, devices, unknown FROM rollup_sources WHERE as_of = ?1 ORDER BY source, practice")
        s.bind(1, lastAsOf)
        while try s.step() { sourceUnknown.append((s.string(0) ?? "", s.string(1) ?? "", s.int(2), s.int(3))) }
        let r = try db.prepare(
            """
            SELECT as_of, source, kind, status, records, errors, failure FROM run_sources
            WHERE as_of BETWEEN ?1 AND ?2 AND (status = 'failed' OR errors <> '{}' OR as_of = ?2) ORDER BY as_of, source
            """)
        r.bind(1, first)
        r.bind(2, lastAsOf)
        while try r.step() {
            sourceRuns.append(
                (
                    r.string(0) ?? "", r.string(1) ?? "", r.string(2) ?? "", r.string(3) ?? "", r.int(4),
                    r.string(5) ?? "", r.string(6)
                ))
        }
        let m = try db.prepare("SELECT shared, conflicting, records FROM merge_audit WHERE as_of = ?1 ORDER BY seq")
        m.bind(1, lastAsOf)
        while try m.step() { conflicts.append((m.string(0) ?? "", m.string(1) ?? "", m.string(2) ?? "")) }
    }

    /// Only with --include-people: each owner's devices on the last night and what fails on them.
    mutating func loadPeopleDevices(_ db: Database) throws {
        let q = try db.prepare(
            """
            SELECT d.owner, COALESCE(d.device_name, ''), k.device_key, COALESCE(d.platform, ''), d.sources, d.stale,
                   (SELECT group_concat(r.practice || ':' || r.status, ' ') FROM practice_results r
                    WHERE r.as_of = d.as_of AND r.device_id = d.device_id AND r.status IN ('warn', 'nudge', 'unknown'))
            FROM devices d JOIN device_keys k ON k.device_id = d.device_id WHERE d.as_of = ?1 ORDER BY d.owner, k.device_key
            """)
        q.bind(1, nights[last].asOf)
        while try q.step() {
            let d = OwnedDevice(
                name: q.string(1) ?? "", key: q.string(2) ?? "", platform: q.string(3) ?? "",
                sources: q.string(4) ?? "", failing: q.string(6) ?? "", stale: q.int(5) != 0, owner: q.string(0))
            if let owner = d.owner { ownedDevices[owner, default: []].append(d) } else { unowned.append(d) }
        }
    }

    // MARK: figures

    func counted(_ g: Group, _ n: Int) -> Int? {
        let d = g.totals[n * 6]
        return d < 0 ? nil : Int(d - g.totals[n * 6 + 1])
    }

    func greenRate(_ g: Group, _ n: Int) -> Double? {
        guard let c = counted(g, n), c > 0 else { return nil }
        return Double(g.totals[n * 6 + 3]) / Double(c)
    }

    func critical(_ g: Group, _ n: Int) -> Int? { g.totals[n * 6] < 0 ? nil : Int(g.totals[n * 6 + 4]) }

    /// ok, nudge, warn, unknown, na, newly failing.
    func statuses(_ g: Group, _ p: Int, _ n: Int) -> [Int] {
        guard !g.cells.isEmpty else { return [0, 0, 0, 0, 0, 0] }
        let base = (p * nights.count + n) * 6
        return (0..<6).map { Int(g.cells[base + $0]) }
    }

    func applicable(_ g: Group, _ p: Int, _ n: Int) -> Int {
        let s = statuses(g, p, n)
        return s[0] + s[1] + s[2] + s[3]
    }

    func compliance(_ g: Group, _ p: Int, _ n: Int) -> Double? {
        let s = statuses(g, p, n)
        let a = s[0] + s[1] + s[2] + s[3]
        return a == 0 ? nil : Double(s[0]) / Double(a)
    }

    func unknownShare(_ g: Group, _ p: Int, _ n: Int) -> Double? {
        let s = statuses(g, p, n)
        let a = s[0] + s[1] + s[2] + s[3]
        return a == 0 ? nil : Double(s[3]) / Double(a)
    }

    func delta(_ f: (Int) -> Double?, back: Int) -> Double? {
        guard last - back >= 0, let now = f(last), let then = f(last - back) else { return nil }
        return now - then
    }

    func series(_ f: (Int) -> Double?) -> [Double?] { nights.indices.map(f) }

    /// Fixes in a histogram.
    static func total(_ h: [Int: Int]) -> Int { h.values.reduce(0, +) }

    /// Median and 90th percentile (nearest rank) of fix times given as a histogram (nights → fixes).
    static func quantiles(_ h: [Int: Int]) -> (median: Double?, p90: Double?) {
        let count = total(h)
        guard count > 0 else { return (nil, nil) }
        let keys = h.keys.sorted()
        /// The value at 0-based rank `r`.
        func at(_ r: Int) -> Int {
            var seen = 0
            for k in keys {
                seen += h[k]!
                if r < seen { return k }
            }
            return keys.last!
        }
        let median: Double = count % 2 == 1 ? Double(at(count / 2)) : Double(at(count / 2 - 1) + at(count / 2)) / 2
        return (median, Double(at(max(0, Int((0.9 * Double(count)).rounded(.up)) - 1))))
    }

    /// Median and 90th percentile (nearest rank) of fix times.
    static func quantiles(_ values: [Int]) -> (median: Double?, p90: Double?) {
        guard !values.isEmpty else { return (nil, nil) }
        let s = values.sorted()
        func rank(_ q: Double) -> Double { Double(s[max(0, Int((q * Double(s.count)).rounded(.up)) - 1)]) }
        let median: Double = s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
        return (median, rank(0.9))
    }

    func name(of email: String) -> String { people[email]?.name ?? email }
}

/// A report that cannot be written (empty database, unknown night): the message says what to do.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(description: String) { self.description = description }
}
