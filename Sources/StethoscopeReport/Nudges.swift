import Foundation
import StethoscopeCore
import StethoscopeStore

/// Effectiveness of nudges (the report's Nudges page), from the `notifications` ledger and the per-device detail:
/// for each selection (the digest, each campaign), the items (device and practice) of people's first message
/// of a failing streak, against the items the hold-out group would have been sent on the same kind of night.
/// An item is fixed on the first later night its practice is `ok` on that device. The same comparison is broken
/// down by practice and by the person's organization (on the night of the first message).
struct NudgeStats: Sendable {
    static let windows = [1, 3, 7, 14]
    /// A breakdown row compares its groups only when each has at least this many items observed for the window:
    /// smaller groups say "too few" instead of an interval too wide to mean anything.
    static let minimumGroup = 20

    struct Group: Sendable {
        var items = 0
        /// Per window: (fixed within it, items observed for at least that many nights).
        var within: [Int: (fixed: Int, eligible: Int)] = [:]
        var fixNights: [Int] = []

        func rate(_ k: Int) -> Double? {
            guard let w = within[k], w.eligible > 0 else { return nil }
            return Double(w.fixed) / Double(w.eligible)
        }

        var median: Double? {
            guard !fixNights.isEmpty else { return nil }
            let s = fixNights.sorted()
            return s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    /// (selection, practice or "" for all) → nudged and held-out groups.
    var groups: [String: [String: (nudged: Group, heldOut: Group)]] = [:]
    /// (selection, organization of the person on the first message's night; "" when unknown) → the groups.
    var organizations: [String: [String: (nudged: Group, heldOut: Group)]] = [:]
    var messages: [String: Int] = [:]
    var latest: String?

    /// The difference nudged − held out of the fixed-within-k rates, with a normal-approximation 95% interval.
    static func difference(_ a: Group, _ b: Group, _ k: Int) -> (diff: Double, low: Double, high: Double)? {
        guard let p1 = a.rate(k), let p2 = b.rate(k), let n1 = a.within[k]?.eligible, let n2 = b.within[k]?.eligible else { return nil }
        let se = (p1 * (1 - p1) / Double(n1) + p2 * (1 - p2) / Double(n2)).squareRoot()
        let d = p1 - p2
        return (d, d - 1.96 * se, d + 1.96 * se)
    }

    static func load(_ store: SnapshotStore) throws -> NudgeStats {
        var stats = NudgeStats()
        let ledger = try store.nudgeLedger()
        guard !ledger.isEmpty else { return stats }
        stats.latest = try store.newestNightWithDetail()
        guard let last = stats.latest.flatMap(dayNumber) else { return stats }

        // The first message (or hold-out record) of each item per selection and group.
        struct Key: Hashable { var selection: String, heldOut: Bool, device: Int, practice: String }
        var first: [Key: Int] = [:]
        /// The person of the first message per key (their organization is looked up on that night).
        var firstPerson: [Key: String] = [:]
        for row in ledger {
            guard let t0 = dayNumber(row.asOf) else { continue }
            let person = row.person.lowercased()
            if !row.heldOut { for s in row.selections { stats.messages[s, default: 0] += 1 } }
            for item in row.items {
                let parts = item.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let device = Int(parts[0]) else { continue }
                for s in row.selections {
                    let key = Key(selection: s, heldOut: row.heldOut, device: device, practice: String(parts[1]))
                    if first[key] == nil {
                        first[key] = t0
                        firstPerson[key] = person
                    }
                }
            }
        }
        guard !first.isEmpty else { return stats }
        // The first `ok` after the first message, per item.
        let fixes = try store.firstFixes(
            of: Set(
                first.map {
                    NudgedItem(device: $0.key.device, practice: $0.key.practice, firstNight: dayString($0.value))
                }))
        // Organizations: the people of the nights that have first messages, read once per night.
        var organizationOf: [Int: [String: String]] = [:]
        for day in Set(first.values) { organizationOf[day] = try store.organizations(asOf: dayString(day)) }
        for (key, t0) in first {
            let fix = fixes[NudgedItem(device: key.device, practice: key.practice, firstNight: dayString(t0))].flatMap(dayNumber)
            func add(_ g: inout Group) {
                g.items += 1
                if let fix { g.fixNights.append(fix - t0) }
                for k in windows where t0 + k <= last {
                    var w = g.within[k] ?? (0, 0)
                    w.eligible += 1
                    if let fix, fix - t0 <= k { w.fixed += 1 }
                    g.within[k] = w
                }
            }
            func add(_ table: inout [String: [String: (nudged: Group, heldOut: Group)]], _ row: String) {
                var pair = table[key.selection, default: [:]][row] ?? (Group(), Group())
                if key.heldOut { add(&pair.heldOut) } else { add(&pair.nudged) }
                table[key.selection, default: [:]][row] = pair
            }
            add(&stats.groups, "")
            add(&stats.groups, key.practice)
            add(&stats.organizations, organizationOf[t0]?[firstPerson[key] ?? ""] ?? "")
        }
        return stats
    }

    /// Whether both groups have at least `minimumGroup` items observed for `k` nights.
    static func enough(_ pair: (nudged: Group, heldOut: Group), _ k: Int) -> Bool {
        (pair.nudged.within[k]?.eligible ?? 0) >= minimumGroup && (pair.heldOut.within[k]?.eligible ?? 0) >= minimumGroup
    }

    static func dayNumber(_ s: String) -> Int? {
        let p = s.split(separator: "-").compactMap { Int($0) }
        guard p.count == 3 else { return nil }
        return AsOfDate.daysFromCivil(p[0], p[1], p[2])
    }

    static func dayString(_ z0: Int) -> String { AsOfDate.format(z0) }
}

extension Site {
    mutating func nudgesPage(_ stats: NudgeStats) throws {
        var body =
            "<p>Whether messages work: for each selection (the person digest and each campaign), the devices' failing "
            + "practices named in people's first message of a failing streak, against the same selection's hold-out group "
            + "(never messaged; recorded on the nights they would have been). Fixed within k nights: the practice was ok on a "
            + "later night at most k nights after the first message, among items observed for at least k nights. "
            + "Difference: nudged − held out, with a 95% interval (normal approximation), shown only when each group has at "
            + "least \(NudgeStats.minimumGroup) items observed that long (otherwise “too few”). The breakdowns by practice and "
            + "by organization (the person's on the night of the first message) compare the two groups on each row.</p>"
        var tables: [Table] = []
        if stats.groups.isEmpty {
            body += "<p class=\"note\">No messages recorded yet (`stethoscope notify` writes the ledger; dry runs record nothing).</p>"
        }
        var summary: [[Cell]] = []
        var effect: [[Cell]] = []
        for selection in stats.groups.keys.sorted() {
            guard let pair = stats.groups[selection]?[""] else { continue }
            for (label, g) in [("nudged", pair.nudged), ("held out", pair.heldOut)] {
                summary.append(
                    [.text(selection), .text(label), .int(g.items)] + NudgeStats.windows.map { .percent(g.rate($0)) }
                        + [.decimal(g.median)])
            }
            for k in NudgeStats.windows {
                let d = NudgeStats.enough(pair, k) ? NudgeStats.difference(pair.nudged, pair.heldOut, k) : nil
                effect.append([
                    .text(selection), .int(k), .int(pair.nudged.within[k]?.eligible), .int(pair.heldOut.within[k]?.eligible),
                    .percent(pair.nudged.rate(k)), .percent(pair.heldOut.rate(k)),
                    .change(d?.diff), .change(d?.low), .change(d?.high),
                    .text(NudgeStats.enough(pair, k) ? "" : "too few")
                ])
            }
        }
        /// One breakdown row: both groups' sizes, the 7- and 14-night rates, differences and the 7-night interval;
        /// the differences are left out (and the row says so) when a group is below the minimum size.
        func comparison(_ pair: (nudged: NudgeStats.Group, heldOut: NudgeStats.Group)) -> [Cell] {
            var cells: [Cell] = [.int(pair.nudged.items), .int(pair.heldOut.items)]
            for k in [7, 14] {
                let d = NudgeStats.enough(pair, k) ? NudgeStats.difference(pair.nudged, pair.heldOut, k) : nil
                cells += [.percent(pair.nudged.rate(k)), .percent(pair.heldOut.rate(k)), .change(d?.diff)]
                if k == 7 { cells += [.change(d?.low), .change(d?.high)] }
            }
            let note = NudgeStats.enough(pair, 7) ? (NudgeStats.enough(pair, 14) ? "" : "too few for 14 nights") : "too few"
            return cells + [.text(note)]
        }
        func breakdown(_ table: [String: [String: (nudged: NudgeStats.Group, heldOut: NudgeStats.Group)]], skipAll: Bool) -> [[Cell]] {
            var rows: [[Cell]] = []
            for selection in table.keys.sorted() {
                let values = table[selection] ?? [:]
                for value in values.keys.sorted() where !(skipAll && value.isEmpty) {
                    guard let pair = values[value] else { continue }
                    rows.append([.text(selection), .text(value.isEmpty && !skipAll ? "(none)" : value)] + comparison(pair))
                }
            }
            return rows
        }
        let windowColumns = NudgeStats.windows.map { "fixed ≤ \($0) night\($0 == 1 ? "" : "s")" }
        let comparisonColumns = [
            "nudged items", "held-out items", "nudged ≤ 7 nights", "held out ≤ 7 nights", "difference ≤ 7",
            "95% low", "95% high", "nudged ≤ 14 nights", "held out ≤ 14 nights", "difference ≤ 14", "note"
        ]
        tables.append(
            Table(
                name: "nudges", caption: "Fixes after the first message, nudged and held out",
                columns: ["selection", "group", "items"] + windowColumns + ["median nights to fix"], rows: summary))
        tables.append(
            Table(
                name: "effect", caption: "Difference in fix rate (nudged − held out) with 95% interval",
                columns: [
                    "selection", "within nights", "nudged items", "held-out items", "nudged", "held out",
                    "difference", "95% low", "95% high", "note"
                ], rows: effect))
        tables.append(
            Table(
                name: "practices", caption: "By practice: nudged against held out",
                columns: ["selection", "practice"] + comparisonColumns,
                rows: breakdown(stats.groups, skipAll: true), shownLimit: 200))
        tables.append(
            Table(
                name: "organizations", caption: "By organization: nudged against held out",
                columns: ["selection", "organization"] + comparisonColumns,
                rows: breakdown(stats.organizations, skipAll: false), shownLimit: 200))
        let sent = stats.messages.sorted { $0.key < $1.key }.map { "\(h($0.key)): \($0.value)" }.joined(separator: ", ")
        if !sent.isEmpty { body += "<p>Messages sent per selection: \(sent).</p>" }
        body += tables.map { $0.html(page: "nudges") }.joined()
        try page("nudges.html", title: "Nudges", current: "nudges.html", body: body, tables: tables)
    }
}
