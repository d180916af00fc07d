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

    /// One practice's figures for a group on one night.
    struct PracticeNight {
        var counts = StatusCounts()
        var newlyFailing: Int32 = 0
    }

    /// One group's series over the report's nights.
    final class Group {
        let kind: GroupKind
        let id: String
        /// Per night; `nil` where the group has no roll-up that night.
        var totals: [GroupTotals?]
        /// Per practice × night; allocated on first row.
        var cells: [PracticeNight] = []
        /// Per practice: fixes in the window by nights from first failing to ok (nights → fixes).
        var fixes: [[Int: Int]]

        init(kind: GroupKind, id: String, nights: Int, practices: Int) {
            self.kind = kind
            self.id = id
            totals = [GroupTotals?](repeating: nil, count: nights)
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
    var quality: [QualityRow] = []
    var sourceUnknown: [(source: String, practice: String, devices: Int, unknown: Int)] = []
    var sourceRuns: [SourceRunRow] = []
    var conflicts: [(shared: String, conflicting: String, records: String)] = []
    /// With --include-people only: the last night's devices per owner.
    var ownedDevices: [String: [OwnedDeviceRow]] = [:]
    var unowned: [OwnedDeviceRow] = []
    /// The last night's devices seen only in authentication logs (`unmanaged_devices`).
    var unmanaged: [UnmanagedDeviceRow] = []

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
        var nights = try store.runs(upTo: asOf, limit: max(options.nights, 1)).map { r in
            Night(
                asOf: r.asOf, status: r.status, hash: r.practicesHash, devices: r.devices, carriedForward: r.carriedForward,
                conflicts: r.mergeConflicts, pruned: r.detailPruned)
        }
        guard let lastNight = nights.last, lastNight.asOf == asOf else {
            throw ReportError(description: "no night \(asOf) in the database (nights run from \(try store.firstNight()) to \(newest))")
        }
        try ensureRollups(store, nights: nights, chart: options.chart)
        try explainNights(store, &nights, threshold: options.deviceChangeThreshold)
        let chartNight = options.chart == .night ? asOf : newest
        let people = try store.people(asOf: chartNight)
        var data = ReportData(org: OrgChart(people), chart: options.chart)
        data.nights = nights
        for p in people { data.people[p.email] = p }
        data.practices = try store.practiceDefinitions(asOf: asOf).map {
            Practice(key: $0.key, title: $0.title, description: $0.description, rating: $0.rating, link: $0.link)
        }
        try data.loadGroups(store)
        try data.loadQuality(store)
        try data.loadUnmanaged(store)
        if options.includePeople { try data.loadPeopleDevices(store) }
        return data
    }

    /// Rolls up nights in the window that have detail but no roll-ups (a database from before roll-ups, or a
    /// run that stopped before them); for the current chart, rebuilds when today's chart is newer than its own.
    static func ensureRollups(_ store: SnapshotStore, nights: [Night], chart: OrgChartChoice) throws {
        if chart == .current, try store.currentChartNight() != (try Rollups.latestNight(store.database)) {
            try Rollups.rebuild(store, chart: .current)
        }
        for night in nights where !night.pruned {
            if !(try store.hasRollups(chart: chart.rawValue, asOf: night.asOf)) { try Rollups.compute(store, asOf: night.asOf, chart: chart) }
        }
    }

    /// Fills each night's rule changes and device-count move, comparing with the night before (for the window's
    /// first night, the newest night before the window). Reads a few rows per night: runs, practice definitions of
    /// nights whose hash moved, and run_sources of nights whose device count moved.
    static func explainNights(_ store: SnapshotStore, _ nights: inout [Night], threshold: Double) throws {
        guard let first = nights.first else { return }
        let prior = try store.run(before: first.asOf).map { (asOf: $0.asOf, hash: $0.practicesHash, devices: $0.devices) }
        func definitions(_ asOf: String) throws -> [RuleText] {
            try store.practiceDefinitions(asOf: asOf).map { RuleText(key: $0.key, title: $0.title, fingerprint: $0.fingerprint) }
        }
        func records(_ asOf: String) throws -> [String: (status: String, records: Int)] { try store.sourceStatuses(asOf: asOf) }
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

    mutating func loadGroups(_ store: SnapshotStore) throws {
        let N = nights.count
        let P = practices.count
        var nightIndex: [String: Int] = [:]
        for (i, n) in nights.enumerated() { nightIndex[n.asOf] = i }
        let first = nights[0].asOf
        let lastAsOf = nights[last].asOf
        try store.forEachRollupGroup(chart: chart.rawValue, from: first, to: lastAsOf) { row in
            guard let n = nightIndex[row.asOf], let kind = GroupKind(rawValue: row.kind) else { return }
            let key = Self.key(kind, row.id)
            let group: Group
            if let known = groups[key] {
                group = known
            } else {
                group = Group(kind: kind, id: row.id, nights: N, practices: P)
                groups[key] = group
            }
            var t = GroupTotals()
            t.devices = Int32(row.devices)
            t.stale = Int32(row.stale)
            t.people = Int32(row.people)
            t.green = Int32(row.green)
            t.critical = Int32(row.critical)
            t.newlyFailing = Int32(row.newlyFailing)
            group.totals[n] = t
        }
        // Practice rows, night by night (each a key range): every night for the company and organizations; for
        // managers the nights their sparklines sample plus a week and four weeks back; for direct reports only
        // the last night and a week before. So the cost grows with groups × sampled nights, never with devices.
        let list = PracticeList(practices.map(\.key))
        let sampled = Set(Charts.sampleIndices(N)).union([max(0, last - 7), max(0, last - 28)])
        for (n, night) in nights.enumerated() {
            let also = (sampled.contains(n) ? "manager" : "company", n == last || n == max(0, last - 7) ? "direct" : "company")
            var lastKind = ""
            var lastID = ""
            var lastGroup: Group?
            try store.forEachRollupPractice(chart: chart.rawValue, asOf: night.asOf, alsoKinds: also, practices: list) { row in
                if lastGroup == nil || row.id != lastID || row.kind != lastKind {
                    lastGroup = groups[row.kind + "\u{1}" + row.id]
                    lastID = row.id
                    lastKind = row.kind
                }
                guard let group = lastGroup else { return }
                if group.cells.isEmpty { group.cells = [PracticeNight](repeating: PracticeNight(), count: P * N) }
                group.cells[row.practice * N + n] = PracticeNight(counts: row.counts, newlyFailing: row.newlyFailing)
            }
        }
        // Fixes and time to fix over every night of the window, for every group (so a manager page and the overview
        // agree): only the group-nights with events (`rollup_groups.changes`, migration 0012), and in them the
        // practices with fixes.
        try store.forEachFixes(chart: chart.rawValue, from: first, to: lastAsOf, practices: list) { kind, id, p, fixes in
            guard let group = groups[kind + "\u{1}" + id] else { return }
            Rollups.readFixNights(fixes, into: &group.fixes[p])
        }
    }

    mutating func loadQuality(_ store: SnapshotStore) throws {
        let first = nights[0].asOf
        let lastAsOf = nights[last].asOf
        quality = try store.quality(from: first, to: lastAsOf)
        sourceUnknown = try store.sourceUnknowns(asOf: lastAsOf)
        sourceRuns = try store.sourceRuns(from: first, to: lastAsOf)
        conflicts = try store.mergeConflicts(asOf: lastAsOf)
    }

    /// Only with --include-people: each owner's devices on the last night and what fails on them.
    mutating func loadPeopleDevices(_ store: SnapshotStore) throws {
        for d in try store.ownedDevices(asOf: nights[last].asOf) {
            if let owner = d.owner { ownedDevices[owner, default: []].append(d) } else { unowned.append(d) }
        }
    }

    // MARK: figures

    /// Devices in the green rate (all but stale); `nil` where the group has no roll-up that night.
    func counted(_ g: Group, _ n: Int) -> Int? { g.totals[n]?.counted }

    func greenRate(_ g: Group, _ n: Int) -> Double? {
        guard let c = counted(g, n), c > 0, let t = g.totals[n] else { return nil }
        return Double(t.green) / Double(c)
    }

    func critical(_ g: Group, _ n: Int) -> Int? { g.totals[n].map { Int($0.critical) } }

    func statuses(_ g: Group, _ p: Int, _ n: Int) -> PracticeNight {
        g.cells.isEmpty ? PracticeNight() : g.cells[p * nights.count + n]
    }

    func applicable(_ g: Group, _ p: Int, _ n: Int) -> Int { statuses(g, p, n).counts.applicable }

    func compliance(_ g: Group, _ p: Int, _ n: Int) -> Double? { share(of: .ok, g, p, n) }

    func unknownShare(_ g: Group, _ p: Int, _ n: Int) -> Double? { share(of: .unknown, g, p, n) }

    /// Devices with `status` among those the practice applies to.
    private func share(of status: Status, _ g: Group, _ p: Int, _ n: Int) -> Double? {
        let c = statuses(g, p, n).counts
        let a = c.applicable
        return a == 0 ? nil : Double(c[status]) / Double(a)
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

extension QualityRow {
    /// Devices, stale, no owner, former owner, fewer sources: the columns the quality page shows and sums.
    var counts: [Int] { [devices, stale, noOwner, formerOwner, fewerSources] }
}
