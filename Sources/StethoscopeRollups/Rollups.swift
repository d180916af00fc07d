import Foundation
import StethoscopeCore
import StethoscopeStore

/// Which org chart a roll-up counts under: each night's own, or today's (history re-attributed).
public enum OrgChartChoice: String, Sendable, CaseIterable {
    case night, current
}

/// The kinds of group a roll-up counts (Schemas/sqlite/0003_rollups.sql).
public enum GroupKind: String, Sendable, CaseIterable {
    case company, organization, manager, direct
}

/// A roll-up that cannot be computed (no such night, or its detail was pruned).
public struct RollupError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Roll-ups: per night, group, practice and status → devices and people, plus green/critical counts, newly
/// failing devices, time to fix and data-quality counts. One pass over the night's devices, one transaction.
public enum Rollups {
    /// What one night's roll-up did.
    public struct Summary: Sendable {
        public var asOf: String
        public var devices: Int
        public var groups: Int
        public var seconds: Double
    }

    /// Rolls the night up, then prunes detail by retention (tests and tools; `stethoscope run` rolls up inside the
    /// night's own transaction and prunes after it commits).
    public static func afterNight(store: SnapshotStore, asOf: String, retentionNights: Int) throws {
        try compute(store, asOf: asOf)
        try prune(store, asOf: asOf, retentionNights: retentionNights)
    }

    /// Rolls up one night (replacing its roll-ups for `chart`). Needs the night's detail. `progress` gets the
    /// devices counted so far, every few thousand and at the end (a terminal's live line).
    @discardableResult
    public static func compute(
        _ store: SnapshotStore, asOf: String, chart: OrgChartChoice = .night,
        progress: (Int) -> Void = { _ in }
    ) throws -> Summary {
        let start = ContinuousClock.now
        let db = store.database
        let run = try db.prepare("SELECT detail_pruned FROM runs WHERE as_of = ?1")
        run.bind(1, asOf)
        guard try run.step() else { throw RollupError(description: "no night \(asOf) in the database") }
        guard run.int(0) == 0 else { throw RollupError(description: "night \(asOf) was pruned by retention: its roll-ups are kept as they are") }
        let chartNight: String = chart == .night ? asOf : (try latestNight(db) ?? asOf)
        var pass = try RollupPass(db: db, asOf: asOf, org: OrgChart(store.people(asOf: chartNight)), quality: chart == .night)
        try pass.run(progress: progress)
        progress(pass.deviceCount)
        try db.transaction { try pass.write(chart: chart, chartNight: chartNight) }
        return Summary(asOf: asOf, devices: pass.deviceCount, groups: pass.groups.count, seconds: (ContinuousClock.now - start).seconds)
    }

    /// Recomputes every night that still has detail, oldest first (so failing streaks chain night to night).
    /// Pruned nights keep the roll-ups they have. `progress` gets the nights done and the nights to do.
    @discardableResult
    public static func rebuild(
        _ store: SnapshotStore, chart: OrgChartChoice = .night,
        progress: (_ nights: Int, _ total: Int) -> Void = { _, _ in }
    ) throws -> [Summary] {
        let query = try store.database.prepare("SELECT as_of FROM runs WHERE detail_pruned = 0 ORDER BY as_of")
        var nights: [String] = []
        while try query.step() { nights.append(query.string(0) ?? "") }
        var done: [Summary] = []
        progress(0, nights.count)
        for night in nights {
            done.append(try compute(store, asOf: night, chart: chart))
            progress(done.count, nights.count)
        }
        return done
    }

    /// The night retention counts back from: the newest *complete* night on or before `today` (docs/DESIGN.md, "Safety
    /// rules"), so a night dated in the future (a typo, a clock that jumped) or a partial night never moves the cut.
    public static func retentionReference(_ store: SnapshotStore, today: String) throws -> String? {
        let q = try store.database.prepare("SELECT MAX(as_of) FROM runs WHERE status = 'complete' AND as_of <= ?1")
        q.bind(1, today)
        return try q.step() ? q.string(0) : nil
    }

    /// Removes per-device detail (devices, practice results, failing streaks) of nights at or before
    /// `reference − retentionNights`, rolling such a night up first if it never was. The reference is the earlier of
    /// `asOf` and `retentionReference(today:)` (today: the current UTC date unless given); with no complete night
    /// nothing is pruned. Returns the pruned nights.
    @discardableResult
    public static func prune(_ store: SnapshotStore, asOf: String, retentionNights: Int, today: String? = nil) throws -> [String] {
        let today = today ?? AsOfDate.of(Date(), in: TimeZone(identifier: "UTC")!)
        guard retentionNights > 0, let newest = try retentionReference(store, today: today),
            let cutoff = AsOfDate.adding(-retentionNights, to: min(asOf, newest))
        else { return [] }
        let db = store.database
        let query = try db.prepare("SELECT as_of FROM runs WHERE detail_pruned = 0 AND as_of <= ?1 ORDER BY as_of")
        query.bind(1, cutoff)
        var nights: [String] = []
        while try query.step() { nights.append(query.string(0) ?? "") }
        for night in nights {
            let has = try db.prepare("SELECT 1 FROM rollup_groups WHERE chart = 'night' AND as_of = ?1 LIMIT 1")
            has.bind(1, night)
            if try !has.step() { try compute(store, asOf: night) }
            try db.transaction {
                // The compact store behind devices and practice_results.
                for table in ["failing_items", "device_nights", "owner_evidence", "unmanaged_devices"] + SnapshotStore.dailyTables {
                    let delete = try db.prepare("DELETE FROM \(table) WHERE as_of = ?1")
                    delete.bind(1, night)
                    try delete.run()
                }
                let mark = try db.prepare("UPDATE runs SET detail_pruned = 1 WHERE as_of = ?1")
                mark.bind(1, night)
                try mark.run()
            }
        }
        return nights
    }

    /// `fix_nights` text: nights from first failing to ok, ascending, one token per distinct value — "3" for one
    /// fix of 3 nights, "3*40" for forty — so its size (and the report's reading of it) is bounded by the distinct
    /// durations, not by the devices fixed. Older rows hold one plain token per fix; both read the same.
    static func fixNightsText(_ list: [Int]) -> String {
        var counts: [Int: Int] = [:]
        for v in list { counts[v, default: 0] += 1 }
        return counts.keys.sorted().map { counts[$0]! == 1 ? String($0) : "\($0)*\(counts[$0]!)" }.joined(separator: " ")
    }

    /// Reads `fix_nights` text into a histogram (nights → fixes), adding to `into`.
    public static func readFixNights(_ text: String, into counts: inout [Int: Int]) {
        for token in text.split(separator: " ") {
            if let star = token.firstIndex(of: "*") {
                if let v = Int(token[..<star]), let c = Int(token[token.index(after: star)...]) { counts[v, default: 0] += c }
            } else if let v = Int(token) {
                counts[v, default: 0] += 1
            }
        }
    }

    public static func latestNight(_ db: Database) throws -> String? {
        let q = try db.prepare("SELECT MAX(as_of) FROM runs")
        return try q.step() ? q.string(0) : nil
    }
}

/// One night's counting pass. Devices arrive ordered by owner, so each person is summed once and then added
/// to each of their groups (company, organization, every manager up the chain, the direct manager).
struct RollupPass {
    let db: Database
    let asOf: String
    let day: Int
    let org: OrgChart
    let quality: Bool

    var groups: [(kind: GroupKind, id: String)] = []
    /// Group numbers by kind, then id (one dictionary per kind: no key text built per lookup).
    var groupIndex: [GroupKind: [String: Int]] = [:]
    /// The organization groups of each organization name (its path), computed once per name.
    var organizationGroups: [String: [Int]] = [:]
    var practices: [String] = []
    var practiceIndex: [String: Int] = [:]
    /// ",key1,key2,...,": SQLite's instr() of ",key," in it, mapped back by `practiceAtOffset`.
    var practiceList = ""
    var practiceAtOffset: [Int: Int] = [:]
    var managers: Set<String> = []
    var memberships: [String: [Int]] = [:]

    // Per group × practice.
    var devices: [StatusCounts] = []
    var people: [StatusCounts] = []
    // Per group × practice.
    var newly: [Int32] = []
    var fixes: [Int: [Int]] = [:]
    var totals: [GroupTotals] = []

    // Failing streaks: previous night's failing (device × practice → since day), tonight's.
    var previous: [Int64: Int32] = [:]
    var hasPrevious = false
    var failingTonight: [(device: Int64, practice: Int, since: Int32)] = []

    // Data quality.
    var sourceIndex: [String: Int] = [:]
    var sourceNames: [String] = []
    /// Source lists are few ("jamf,mdm"), so each is split once.
    var sourceMasks: [String: UInt64] = [:]
    var platformIndex: [String: Int] = [:]
    var platformNames: [String] = []
    var devicePlatform: [Int] = []
    var deviceSources: [UInt64] = []
    var platformTotals: [[Int]] = []  // devices, stale, no owner, former owner
    /// Per source (at most 64, as in the masks) × practice: devices seen and of those 'unknown'.
    var sourceDevices: [Int32] = []
    var sourceUnknown: [Int32] = []
    var deviceCount = 0

    init(db: Database, asOf: String, org: OrgChart, quality: Bool) throws {
        self.db = db
        self.asOf = asOf
        self.day = AsOfDate.parse(asOf) ?? 0
        self.org = org
        self.quality = quality
        try loadPractices()
        addGroup(.company, "")
        addGroup(.organization, "")
        for email in org.order {
            guard let p = org[email] else { continue }
            for path in Self.organizationPath(p.organization ?? "") { addGroup(.organization, path) }
            if let m = p.managerEmail, org[m] != nil { managers.insert(m) }
        }
        for m in org.order where managers.contains(m) {
            addGroup(.manager, m)
            addGroup(.direct, m)
        }
        let cells = groups.count * practices.count
        devices = [StatusCounts](repeating: StatusCounts(), count: cells)
        people = devices
        newly = [Int32](repeating: 0, count: cells)
        totals = [GroupTotals](repeating: GroupTotals(), count: groups.count)
        sourceDevices = [Int32](repeating: 0, count: 64 * practices.count)
        sourceUnknown = sourceDevices
    }

    /// The organization groups a person's organization counts in: an org path ("/Engineering/Platform", as
    /// Google's orgUnitPath gives it: it starts with "/") counts in itself and every ancestor ("/Engineering"), so a
    /// parent organization counts its sub-organizations; any other name ("Engineering", "R&D / Ops") is flat.
    static func organizationPath(_ organization: String) -> [String] {
        guard organization.hasPrefix("/"), organization.count > 1 else { return [organization] }
        var out: [String] = []
        var prefix = ""
        for part in organization.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + part
            out.append(prefix)
        }
        return out.isEmpty ? [organization] : out
    }

    private mutating func addGroup(_ kind: GroupKind, _ id: String) {
        guard groupIndex[kind, default: [:]][id] == nil else { return }
        groupIndex[kind, default: [:]][id] = groups.count
        groups.append((kind, id))
    }

    private func group(_ kind: GroupKind, _ id: String) -> Int? { groupIndex[kind]?[id] }

    private mutating func loadPractices() throws {
        // The compact tables, not the practice_results view: each result set used tonight once.
        let q = try db.prepare(
            """
            SELECT practice FROM practice_definitions WHERE as_of = ?1
            UNION ALL SELECT DISTINCT i.practice FROM (SELECT DISTINCT results_id FROM device_nights WHERE as_of = ?1) n
            JOIN result_items i ON i.set_id = n.results_id
            """)
        q.bind(1, asOf)
        while try q.step() {
            let key = q.string(0) ?? ""
            if practiceIndex[key] == nil {
                practiceIndex[key] = practices.count
                practices.append(key)
            }
        }
        practiceList = "," + practices.joined(separator: ",") + ","
        var offset = 1
        for (i, key) in practices.enumerated() {
            practiceAtOffset[offset] = i
            offset += key.utf8.count + 1
        }
    }

    /// The groups a device owned by `owner` counts in (cached per owner).
    private mutating func groupsOf(_ owner: String?) -> [Int] {
        guard let owner else { return [0, 1] }
        if let known = memberships[owner] { return known }
        var out = [0]
        let person = org[owner]
        let organization = person?.organization ?? ""
        let groups: [Int]
        if let known = organizationGroups[organization] {
            groups = known
        } else {
            groups = Self.organizationPath(organization).compactMap { group(.organization, $0) }
            organizationGroups[organization] = groups
        }
        out += groups.isEmpty ? [1] : groups
        if person != nil {
            if managers.contains(owner), let g = group(.manager, owner) { out.append(g) }
            let chain = org.chain(of: owner).filter { org[$0] != nil }
            for m in chain { if let g = group(.manager, m) { out.append(g) } }
            if let first = chain.first, let g = group(.direct, first) { out.append(g) }
        }
        memberships[owner] = out
        return out
    }

    mutating func run(progress: (Int) -> Void) throws {
        try loadPrevious()
        // Results come as shared sets (migration 0010): each set used tonight is read once, its practices and
        // statuses as numbers computed inside SQLite (the practice as its offset in ",key1,key2,...," and the status as
        // its column index), then the devices are read one row each. The compact tables, not the devices and
        // practice_results views: this costs devices plus sets × practices, not devices × practices.
        let P = practices.count
        let items = try db.prepare(
            """
            SELECT i.set_id, instr(?2, ',' || i.practice || ','),
                   CASE i.status WHEN 'ok' THEN 0 WHEN 'nudge' THEN 1 WHEN 'warn' THEN 2 WHEN 'unknown' THEN 3 ELSE 4 END
            FROM (SELECT DISTINCT results_id FROM device_nights WHERE as_of = ?1) n
            JOIN result_items i ON i.set_id = n.results_id
            """)
        items.bind(1, asOf)
        items.bind(2, practiceList)
        var sets: [Int64: [(practice: Int, status: Int)]] = [:]
        while try items.step() {
            guard let p = practiceAtOffset[items.int(1)] else { continue }
            sets[items.int64(0), default: []].append((p, items.int(2)))
        }
        let q = try db.prepare(
            """
            SELECT n.device_id, s.owner, n.stale, n.green, n.critical, s.platform, s.sources, n.results_id
            FROM device_nights n JOIN device_states s ON s.state_id = n.state_id
            WHERE n.as_of = ?1 ORDER BY s.owner, n.device_id
            """)
        q.bind(1, asOf)
        var person = PersonSums(practices: P)
        var owner: String?
        var started = false
        while try q.step() {
            let id = q.int64(0)
            let o = q.string(1)
            if !started || o != owner {
                if started { flush(&person, owner: owner) }
                owner = o
                started = true
            }
            let stale = q.int(2) != 0
            person.devices += 1
            deviceCount += 1
            if deviceCount & 4095 == 0 { progress(deviceCount) }
            if stale {
                person.stale += 1
            } else {
                if q.int(3) != 0 { person.green += 1 }
                if q.int(4) != 0 { person.critical += 1 }
            }
            if quality { noteQuality(platform: q.string(5), sources: q.string(6), owner: o, stale: stale) }
            var deviceNewly = false
            for (p, code) in sets[q.int64(7)] ?? [] {
                let key: Int64 = id &* Int64(P) &+ Int64(p)
                let status = StatusCounts.byCode[code]
                if status == .warn || status == .nudge {
                    let since: Int32
                    if let was = previous[key] {
                        since = was
                    } else {
                        since = Int32(day)
                        if hasPrevious && !stale {
                            person.newly[p] += 1
                            deviceNewly = true
                        }
                    }
                    failingTonight.append((id, p, since))
                } else if status == .ok, let was = previous[key], !stale {
                    person.fixes.append((p, day - Int(was)))
                }
                if stale { continue }
                person.add(practice: p, status)
                if quality { noteSourceResult(practice: p, unknown: status == .unknown, na: status == .na) }
            }
            if deviceNewly { person.newlyDevices += 1 }
        }
        if started { flush(&person, owner: owner) }
    }

    /// The previous night with detail: its failing results and since when they were failing.
    private mutating func loadPrevious() throws {
        let q = try db.prepare("SELECT as_of FROM runs WHERE as_of < ?1 AND detail_pruned = 0 ORDER BY as_of DESC LIMIT 1")
        q.bind(1, asOf)
        guard try q.step(), let prev = q.string(0) else { return }
        hasPrevious = true
        let prevDay = Int32(AsOfDate.parse(prev) ?? day)
        // Since when (days before that night) its failing results were failing: failing_items, practices by number.
        let P = Int64(practices.count)
        var days: [Int64: Int32] = [:]
        let f = try db.prepare(
            """
            SELECT f.device_id, instr(?2, ',' || n.practice || ','), f.days FROM failing_items f
            JOIN practice_numbers n ON n.practice_no = f.practice_no WHERE f.as_of = ?1
            """)
        f.bind(1, prev)
        f.bind(2, practiceList)
        while try f.step() {
            guard let p = practiceAtOffset[f.int(1)] else { continue }
            days[f.int64(0) &* P &+ Int64(p)] = Int32(f.int(2))
        }
        // Its failing results: each result set once, then the devices (as in `run`).
        let items = try db.prepare(
            """
            SELECT i.set_id, instr(?2, ',' || i.practice || ',')
            FROM (SELECT DISTINCT results_id FROM device_nights WHERE as_of = ?1) n
            JOIN result_items i ON i.set_id = n.results_id WHERE i.status IN ('warn', 'nudge')
            """)
        items.bind(1, prev)
        items.bind(2, practiceList)
        var failing: [Int64: [Int]] = [:]
        while try items.step() {
            guard let p = practiceAtOffset[items.int(1)] else { continue }
            failing[items.int64(0), default: []].append(p)
        }
        guard !failing.isEmpty else { return }
        let d = try db.prepare("SELECT device_id, results_id FROM device_nights WHERE as_of = ?1")
        d.bind(1, prev)
        while try d.step() {
            guard let list = failing[d.int64(1)] else { continue }
            let id = d.int64(0)
            for p in list {
                let key = id &* P &+ Int64(p)
                previous[key] = days[key].map { prevDay - $0 } ?? prevDay
            }
        }
    }

    private mutating func flush(_ person: inout PersonSums, owner: String?) {
        let P = practices.count
        person.presence.removeAll(keepingCapacity: true)
        for p in person.touched { person.presence.append(person.counts[p].presence) }
        for g in groupsOf(owner) {
            totals[g].devices += Int32(person.devices)
            totals[g].stale += Int32(person.stale)
            if owner != nil { totals[g].people += 1 }
            totals[g].green += Int32(person.green)
            totals[g].critical += Int32(person.critical)
            totals[g].newlyFailing += Int32(person.newlyDevices)
            let base = g * P
            for (p, presence) in zip(person.touched, person.presence) {
                devices[base + p] += person.counts[p]
                if owner != nil { people[base + p] += presence }
            }
            for p in 0..<P where person.newly[p] > 0 { newly[g * P + p] += person.newly[p] }
            for (p, nights) in person.fixes { fixes[g * P + p, default: []].append(nights) }
        }
        person.reset()
    }

    private mutating func noteQuality(platform: String?, sources: String?, owner: String?, stale: Bool) {
        let name = platform ?? ""
        let pi: Int
        if let known = platformIndex[name] {
            pi = known
        } else {
            pi = platformNames.count
            platformIndex[name] = pi
            platformNames.append(name)
            platformTotals.append([0, 0, 0, 0])
        }
        let list = sources ?? ""
        if let known = sourceMasks[list] {
            notePlatform(pi, mask: known, owner: owner, stale: stale)
            return
        }
        var mask: UInt64 = 0
        for s in list.split(separator: ",") {
            let n = String(s)
            let si: Int
            if let known = sourceIndex[n] {
                si = known
            } else {
                si = sourceNames.count
                sourceIndex[n] = si
                sourceNames.append(n)
            }
            if si < 64 { mask |= UInt64(1) << UInt64(si) }
        }
        sourceMasks[list] = mask
        notePlatform(pi, mask: mask, owner: owner, stale: stale)
    }

    private mutating func notePlatform(_ pi: Int, mask: UInt64, owner: String?, stale: Bool) {
        devicePlatform.append(pi)
        deviceSources.append(mask)
        platformTotals[pi][0] += 1
        if stale { platformTotals[pi][1] += 1 }
        if let owner {
            if org[owner]?.active != true { platformTotals[pi][3] += 1 }
        } else {
            platformTotals[pi][2] += 1
        }
    }

    private mutating func noteSourceResult(practice p: Int, unknown: Bool, na: Bool) {
        guard !na, var mask = deviceSources.last else { return }
        let P = practices.count
        while mask != 0 {
            let si = mask.trailingZeroBitCount
            mask &= mask - 1
            sourceDevices[si * P + p] += 1
            if unknown { sourceUnknown[si * P + p] += 1 }
        }
    }

    /// Writes the night's roll-ups (the caller holds the transaction). A group's practice counts go to
    /// `rollup_counts` as one JSON array (migration 0012), shared with the group's previous night — or with the rows
    /// this night replaces — when the text is the same, so nights that change nothing cost a number per group.
    func write(chart: OrgChartChoice, chartNight: String) throws {
        let numbers = try practiceNumbers()
        // What the counts may be shared with: the group's row on the chart's previous night and the row replaced.
        var reusable: [String: [(id: Int64, counts: String)]] = [:]
        var replaced: Set<Int64> = []
        let old = try db.prepare(
            """
            SELECT g.group_kind, g.group_id, g.counts_id, c.counts, g.as_of = ?2 FROM rollup_groups g
            JOIN rollup_counts c ON c.counts_id = g.counts_id
            WHERE g.chart = ?1 AND g.as_of IN (?2, (SELECT MAX(as_of) FROM rollup_groups WHERE chart = ?1 AND as_of < ?2))
            """)
        old.bind(1, chart.rawValue)
        old.bind(2, asOf)
        while try old.step() {
            let id = old.int64(2)
            reusable[(old.string(0) ?? "") + "\u{1}" + (old.string(1) ?? ""), default: []].append((id, old.string(3) ?? ""))
            if old.int(4) != 0 { replaced.insert(id) }
        }
        let d = try db.prepare("DELETE FROM rollup_groups WHERE chart = ?1 AND as_of = ?2")
        d.bind(1, chart.rawValue)
        d.bind(2, asOf)
        try d.run()
        let P = practices.count
        let g = try db.prepare(
            """
            INSERT INTO rollup_groups (chart, as_of, group_kind, group_id, devices, stale, people, green, critical,
                newly_failing, counts_id, changes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
            """)
        let c = try db.prepare("INSERT INTO rollup_counts (counts) VALUES (?1)")
        g.bind(1, chart.rawValue)
        g.bind(2, asOf)
        let width = (numbers.max() ?? -1) + 1
        var used: Set<Int64> = []
        for (gi, group) in groups.enumerated() {
            let t = totals[gi]
            g.bind(3, group.kind.rawValue)
            g.bind(4, group.id)
            g.bind(5, Int(t.devices))
            g.bind(6, Int(t.stale))
            g.bind(7, Int(t.people))
            g.bind(8, Int(t.green))
            g.bind(9, Int(t.critical))
            g.bind(10, Int(t.newlyFailing))
            var counts = [String?](repeating: nil, count: width)
            var changes = [String?](repeating: nil, count: width)
            if t.devices > 0 {
                for p in 0..<P {
                    let cell = gi * P + p
                    let list = fixes[cell] ?? []
                    let any = !list.isEmpty || newly[cell] > 0 || !devices[cell].isZero
                    guard any else { continue }
                    counts[numbers[p]] = Self.countsElement(devices: devices[cell], people: people[cell])
                    if newly[cell] > 0 || !list.isEmpty {
                        changes[numbers[p]] =
                            list.isEmpty
                            ? "[\(newly[cell])]"
                            : "[\(newly[cell]),\(list.count),\"\(Rollups.fixNightsText(list))\"]"
                    }
                }
            }
            if counts.contains(where: { $0 != nil }) {
                let text = "[" + counts.map { $0 ?? "null" }.joined(separator: ",") + "]"
                let key = group.kind.rawValue + "\u{1}" + group.id
                let id: Int64
                if let same = reusable[key]?.first(where: { $0.counts == text }) {
                    id = same.id
                } else {
                    c.bind(1, text)
                    try c.run()
                    id = db.lastInsertRowID
                }
                used.insert(id)
                g.bind(11, id)
            } else {
                g.bindNull(11)
            }
            if changes.contains(where: { $0 != nil }) {
                g.bind(12, "[" + changes.map { $0 ?? "null" }.joined(separator: ",") + "]")
            } else {
                g.bindNull(12)
            }
            try g.run()
        }
        // Counts the replaced rows alone used are dropped (a re-run night that changed).
        let orphans = replaced.subtracting(used)
        if !orphans.isEmpty {
            try db.exec(
                """
                DELETE FROM rollup_counts WHERE counts_id IN (\(orphans.map(String.init).joined(separator: ",")))
                AND counts_id NOT IN (SELECT counts_id FROM rollup_groups WHERE counts_id IS NOT NULL)
                """)
        }
        let state = try db.prepare(
            """
            INSERT INTO rollup_state (chart, chart_as_of, computed_at) VALUES (?1, ?2, ?3)
            ON CONFLICT (chart) DO UPDATE SET chart_as_of = excluded.chart_as_of, computed_at = excluded.computed_at
            """)
        state.bind(1, chart.rawValue)
        state.bind(2, chartNight)
        state.bind(3, time: Date())
        try state.run()
        guard quality else { return }
        try writeQuality(numbers: numbers)
    }

    /// A practice's element of a `rollup_counts` array: [ok, ok_people, na, na_people, nudge, nudge_people, warn,
    /// warn_people, unknown, unknown_people] without its trailing zeros (at least the first number).
    static func countsElement(devices: StatusCounts, people: StatusCounts) -> String {
        let order: [Status] = [.ok, .na, .nudge, .warn, .unknown]
        var values: [Int32] = []
        values.reserveCapacity(10)
        for status in order {
            values.append(devices[status])
            values.append(people[status])
        }
        var end = values.count
        while end > 1 && values[end - 1] == 0 { end -= 1 }
        return "[" + values[..<end].map(String.init).joined(separator: ",") + "]"
    }

    /// Each of the night's practices' number in `practice_numbers` (numbering the new ones).
    private func practiceNumbers() throws -> [Int] {
        let add = try db.prepare(
            """
            INSERT INTO practice_numbers (practice_no, practice)
            SELECT (SELECT COALESCE(MAX(practice_no) + 1, 0) FROM practice_numbers), ?1
            WHERE NOT EXISTS (SELECT 1 FROM practice_numbers WHERE practice = ?1)
            """)
        let find = try db.prepare("SELECT practice_no FROM practice_numbers WHERE practice = ?1")
        var out: [Int] = []
        for key in practices {
            add.bind(1, key)
            try add.run()
            find.bind(1, key)
            guard try find.step() else { throw RollupError(description: "practice \(key) has no number") }
            out.append(find.int(0))
            find.reset()
        }
        return out
    }

    private func writeQuality(numbers: [Int]) throws {
        for table in ["rollup_quality", "rollup_sources", "failing_items"] {
            let d = try db.prepare("DELETE FROM \(table) WHERE as_of = ?1")
            d.bind(1, asOf)
            try d.run()
        }
        // Expected sources per platform: those that saw at least half of its devices tonight.
        var coverage = [[Int]](repeating: [Int](repeating: 0, count: sourceNames.count), count: platformNames.count)
        for (i, mask) in deviceSources.enumerated() {
            var m = mask
            while m != 0 {
                coverage[devicePlatform[i]][m.trailingZeroBitCount] += 1
                m &= m - 1
            }
        }
        var expected = [UInt64](repeating: 0, count: platformNames.count)
        for pi in platformNames.indices {
            for si in sourceNames.indices where si < 64 && coverage[pi][si] * 2 >= platformTotals[pi][0] {
                expected[pi] |= UInt64(1) << UInt64(si)
            }
        }
        var fewer = [Int](repeating: 0, count: platformNames.count)
        for (i, mask) in deviceSources.enumerated() where mask & expected[devicePlatform[i]] != expected[devicePlatform[i]] {
            fewer[devicePlatform[i]] += 1
        }
        let q = try db.prepare(
            """
            INSERT INTO rollup_quality (as_of, platform, devices, stale, no_owner, former_owner, fewer_sources,
                expected_sources) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """)
        q.bind(1, asOf)
        for (pi, name) in platformNames.enumerated() {
            q.bind(2, name)
            for f in 0..<4 { q.bind(3 + f, platformTotals[pi][f]) }
            q.bind(7, fewer[pi])
            q.bind(
                8,
                sourceNames.indices.filter { expected[pi] & (UInt64(1) << UInt64($0)) != 0 }
                    .map { sourceNames[$0] }.sorted().joined(separator: ","))
            try q.run()
        }
        let s = try db.prepare("INSERT INTO rollup_sources (as_of, source, practice, devices, unknown) VALUES (?1, ?2, ?3, ?4, ?5)")
        s.bind(1, asOf)
        let P = practices.count
        for si in sourceNames.indices where si < 64 {
            for p in 0..<P where sourceDevices[si * P + p] > 0 {
                s.bind(2, sourceNames[si])
                s.bind(3, practices[p])
                s.bind(4, Int(sourceDevices[si * P + p]))
                s.bind(5, Int(sourceUnknown[si * P + p]))
                try s.run()
            }
        }
        let f = try db.prepare("INSERT INTO failing_items (as_of, device_id, practice_no, days) VALUES (?1, ?2, ?3, ?4)")
        f.bind(1, asOf)
        for row in failingTonight {
            f.bind(2, row.device)
            f.bind(3, numbers[row.practice])
            f.bind(4, day - Int(row.since))
            try f.run()
        }
    }
}

/// One owner's devices summed before they are added to each of the owner's groups.
struct PersonSums {
    var counts: [StatusCounts]
    /// The practices with a count, each once, and their statuses present (1 or 0 each) in the same order.
    var touched: [Int] = []
    var presence: [StatusCounts] = []
    var newly: [Int32]
    var fixes: [(Int, Int)] = []
    var devices = 0, stale = 0, green = 0, critical = 0, newlyDevices = 0

    init(practices: Int) {
        counts = [StatusCounts](repeating: StatusCounts(), count: practices)
        newly = [Int32](repeating: 0, count: practices)
    }

    mutating func add(practice p: Int, _ status: Status) {
        if counts[p].isZero { touched.append(p) }
        counts[p][status] += 1
    }

    mutating func reset() {
        for p in touched { counts[p] = StatusCounts() }
        touched.removeAll(keepingCapacity: true)
        for i in newly.indices where newly[i] != 0 { newly[i] = 0 }
        fixes.removeAll(keepingCapacity: true)
        devices = 0
        stale = 0
        green = 0
        critical = 0
        newlyDevices = 0
    }
}
