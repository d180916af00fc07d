import Foundation
import StethoscopeCore
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
        /// Per practice: nights from first failing to ok, for every fix in the window.
        var fixes: [[Int]]

        init(kind: GroupKind, id: String, nights: Int, practices: Int) {
            self.kind = kind; self.id = id
            totals = [Int32](repeating: 0, count: nights * 6)
            for n in 0..<nights { totals[n * 6] = -1 }
            fixes = [[Int]](repeating: [], count: practices)
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

    struct OwnedDevice {
        var name: String, key: String, platform: String, sources: String, failing: String, stale: Bool, owner: String?
    }

    var last: Int { nights.count - 1 }
    var marks: Charts.Marks {
        var changed = [Bool](repeating: false, count: nights.count)
        for i in nights.indices.dropFirst() where nights[i].hash != nights[i - 1].hash { changed[i] = true }
        return Charts.Marks(nights: nights.map(\.asOf), partial: nights.map { $0.status == "partial" }, changed: changed)
    }

    static func key(_ kind: GroupKind, _ id: String) -> String { kind.rawValue + "\u{1}" + id }
    func group(_ kind: GroupKind, _ id: String) -> Group? { groups[Self.key(kind, id)] }

    static func load(_ store: SnapshotStore, options: ReportOptions) throws -> ReportData {
        let db = store.database
        guard let newest = try Rollups.latestNight(db) else {
            throw ReportError(description: "the database has no nights yet: run `stethoscope run` (or `stethoscope demo`) first")
        }
        let asOf = options.asOf ?? newest
        let q = try db.prepare("""
            SELECT as_of, status, practices_hash, devices, carried_forward, merge_conflicts, detail_pruned FROM runs
            WHERE as_of <= ?1 ORDER BY as_of DESC LIMIT ?2
            """)
        q.bind(1, asOf)
        q.bind(2, max(options.nights, 1))
        var nights: [Night] = []
        while try q.step() {
            nights.append(Night(asOf: q.string(0) ?? "", status: q.string(1) ?? "", hash: q.string(2) ?? "", devices: q.int(3),
                                carriedForward: q.int(4), conflicts: q.int(5), pruned: q.int(6) != 0))
        }
        nights.reverse()
        guard let lastNight = nights.last, lastNight.asOf == asOf else {
            throw ReportError(description: "no night \(asOf) in the database (nights run from \(try firstNight(db)) to \(newest))")
        }
        try ensureRollups(store, nights: nights, chart: options.chart)
        let chartNight = options.chart == .night ? asOf : newest
        let people = try store.people(asOf: chartNight)
        var data = ReportData(org: OrgChart(people), chart: options.chart)
        data.nights = nights
        for p in people { data.people[p.email] = p }
        try data.loadPractices(db, asOf: asOf)
        try data.loadGroups(db)
        try data.loadQuality(db)
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

    mutating func loadPractices(_ db: Database, asOf: String) throws {
        let q = try db.prepare("""
            SELECT practice, title, description, rating, link FROM practice_definitions WHERE as_of = ?1 ORDER BY position
            """)
        q.bind(1, asOf)
        while try q.step() {
            practices.append(Practice(key: q.string(0) ?? "", title: q.string(1) ?? "", description: q.string(2) ?? "",
                                      rating: q.string(3) ?? "", link: q.string(4)))
        }
    }

    mutating func loadGroups(_ db: Database) throws {
        let N = nights.count, P = practices.count
        var nightIndex: [String: Int] = [:]
        for (i, n) in nights.enumerated() { nightIndex[n.asOf] = i }
        let first = nights[0].asOf, lastAsOf = nights[last].asOf
        let g = try db.prepare("""
            SELECT as_of, group_kind, group_id, devices, stale, people, green, critical, newly_failing FROM rollup_groups
            WHERE chart = ?1 AND as_of BETWEEN ?2 AND ?3
            """)
        g.bind(1, chart.rawValue); g.bind(2, first); g.bind(3, lastAsOf)
        while try g.step() {
            guard let n = nightIndex[g.string(0) ?? ""], let kind = GroupKind(rawValue: g.string(1) ?? "") else { continue }
            let id = g.string(2) ?? ""
            let key = Self.key(kind, id)
            let group: Group
            if let known = groups[key] { group = known } else {
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
        for (i, p) in practices.enumerated() { practiceAt[list.utf8.count] = i; list += p.key + "," }
        let sampled = Set(Charts.sampleIndices(N)).union([max(0, last - 7), max(0, last - 28)])
        let r = try db.prepare("""
            SELECT group_kind, group_id, instr(?5, ',' || practice || ','), ok, nudge, warn, unknown, na,
                   newly_failing, fix_nights
            FROM rollup_practices WHERE chart = ?1 AND as_of = ?2
              AND group_kind IN ('company', 'organization', ?3, ?4)
            """)
        r.bind(1, chart.rawValue); r.bind(5, list)
        for (n, night) in nights.enumerated() {
            r.bind(2, night.asOf)
            r.bind(3, sampled.contains(n) ? "manager" : "company")
            r.bind(4, n == last || n == max(0, last - 7) ? "direct" : "company")
            defer { r.reset() }
            var lastKind = "", lastID = "", lastGroup: Group?
            while try r.step() {
                guard let p = practiceAt[r.int(2)] else { continue }
                let kindText = r.string(0) ?? "", id = r.string(1) ?? ""
                if lastGroup == nil || id != lastID || kindText != lastKind {
                    lastGroup = groups[kindText + "\u{1}" + id]; lastID = id; lastKind = kindText
                }
                guard let group = lastGroup else { continue }
                if group.cells.isEmpty { group.cells = [Int32](repeating: 0, count: P * N * 6) }
                let base = (p * N + n) * 6
                for f in 0..<6 { group.cells[base + f] = Int32(r.int(3 + f)) }
                // Fix times are summed over the window: complete for company and organizations, over the sampled
                // nights for managers (their pages say so).
                if let fixes = r.string(9), !fixes.isEmpty {
                    for v in fixes.split(separator: " ") { if let i = Int(v) { group.fixes[p].append(i) } }
                }
            }
        }
    }

    mutating func loadQuality(_ db: Database) throws {
        let first = nights[0].asOf, lastAsOf = nights[last].asOf
        let q = try db.prepare("""
            SELECT as_of, platform, devices, stale, no_owner, former_owner, fewer_sources, expected_sources
            FROM rollup_quality WHERE as_of BETWEEN ?1 AND ?2 ORDER BY as_of, platform
            """)
        q.bind(1, first); q.bind(2, lastAsOf)
        while try q.step() {
            quality.append((q.string(0) ?? "", q.string(1) ?? "", (2...6).map { q.int($0) }, q.string(7) ?? ""))
        }
        let s = try db.prepare("SELECT source, practice, devices, unknown FROM rollup_sources WHERE as_of = ?1 ORDER BY source, practice")
        s.bind(1, lastAsOf)
        while try s.step() { sourceUnknown.append((s.string(0) ?? "", s.string(1) ?? "", s.int(2), s.int(3))) }
        let r = try db.prepare("""
            SELECT as_of, source, kind, status, records, errors, failure FROM run_sources
            WHERE as_of BETWEEN ?1 AND ?2 AND (status = 'failed' OR errors <> '{}' OR as_of = ?2) ORDER BY as_of, source
            """)
        r.bind(1, first); r.bind(2, lastAsOf)
        while try r.step() {
            sourceRuns.append((r.string(0) ?? "", r.string(1) ?? "", r.string(2) ?? "", r.string(3) ?? "", r.int(4),
                               r.string(5) ?? "", r.string(6)))
        }
        let m = try db.prepare("SELECT shared, conflicting, records FROM merge_audit WHERE as_of = ?1 ORDER BY seq")
        m.bind(1, lastAsOf)
        while try m.step() { conflicts.append((m.string(0) ?? "", m.string(1) ?? "", m.string(2) ?? "")) }
    }

    /// Only with --include-people: each owner's devices on the last night and what fails on them.
    mutating func loadPeopleDevices(_ db: Database) throws {
        let q = try db.prepare("""
            SELECT d.owner, COALESCE(d.device_name, ''), k.device_key, COALESCE(d.platform, ''), d.sources, d.stale,
                   (SELECT group_concat(r.practice || ':' || r.status, ' ') FROM practice_results r
                    WHERE r.as_of = d.as_of AND r.device_id = d.device_id AND r.status IN ('warn', 'nudge', 'unknown'))
            FROM devices d JOIN device_keys k ON k.device_id = d.device_id WHERE d.as_of = ?1 ORDER BY d.owner, k.device_key
            """)
        q.bind(1, nights[last].asOf)
        while try q.step() {
            let d = OwnedDevice(name: q.string(1) ?? "", key: q.string(2) ?? "", platform: q.string(3) ?? "",
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
