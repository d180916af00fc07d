import Foundation
import StethoscopeCore

/// A night of the `runs` table, as the report's window shows it.
public struct RunRow: Sendable {
    public var asOf: String
    public var status: String
    public var practicesHash: String
    public var devices: Int
    public var carriedForward: Int
    public var mergeConflicts: Int
    public var detailPruned: Bool
}

/// One practice definition in force on a night (`practice_definitions`).
public struct PracticeDefinitionRow: Sendable {
    public var key: String
    public var title: String
    public var description: String
    public var rating: String
    public var link: String?
    /// The rule's fingerprint (its parameters as text), for explaining what changed between nights.
    public var fingerprint: String
}

/// A group's figures on one night (`rollup_groups`).
public struct RollupGroupRow: Sendable {
    public var asOf: String
    public var kind: String
    public var id: String
    public var devices: Int
    public var stale: Int
    public var people: Int
    public var green: Int
    public var critical: Int
    public var newlyFailing: Int
}

/// One practice's counts for a group on one night (`rollup_practices`); `practice` is the index into the list the
/// caller asked with.
public struct RollupPracticeRow: Sendable {
    public var kind: String
    public var id: String
    public var practice: Int
    public var counts: StatusCounts
    public var newlyFailing: Int32
}

/// Data quality of one platform on one night (`rollup_quality`).
public struct QualityRow: Sendable {
    public var asOf: String
    public var platform: String
    public var devices: Int
    public var stale: Int
    public var noOwner: Int
    public var formerOwner: Int
    public var fewerSources: Int
    public var expectedSources: String
}

/// A source's pull on one night (`run_sources`).
public struct SourceRunRow: Sendable {
    public var asOf: String
    public var source: String
    public var kind: String
    public var status: String
    public var records: Int
    public var errors: String
    public var failure: String?
}

/// A device of the last night with its owner and what fails on it (`devices`, `practice_results`).
public struct OwnedDeviceRow: Sendable {
    public var owner: String?
    public var name: String
    public var key: String
    public var platform: String
    public var sources: String
    public var stale: Bool
    /// `practice:status` words for warn, nudge and unknown results.
    public var failing: String
}

/// The report's reads of runs, practice definitions and roll-ups: a few rows per night and group, never per device
/// (except `ownedDevices`, for `--include-people`).
extension SnapshotStore {
    /// The newest `limit` nights on or before `asOf`, oldest first.
    public func runs(upTo asOf: String, limit: Int) throws -> [RunRow] {
        var out: [RunRow] = []
        try database.forEachRow(
            """
            SELECT as_of, status, practices_hash, devices, carried_forward, merge_conflicts, detail_pruned FROM runs
            WHERE as_of <= ?1 ORDER BY as_of DESC LIMIT ?2
            """, asOf, limit
        ) { q in
            out.append(
                RunRow(
                    asOf: q.string(0) ?? "", status: q.string(1) ?? "", practicesHash: q.string(2) ?? "", devices: q.int(3),
                    carriedForward: q.int(4), mergeConflicts: q.int(5), detailPruned: q.int(6) != 0))
        }
        return out.reversed()
    }

    /// The newest night before `asOf`, if any.
    public func run(before asOf: String) throws -> RunRow? {
        try database.firstRow("SELECT as_of, practices_hash, devices FROM runs WHERE as_of < ?1 ORDER BY as_of DESC LIMIT 1", asOf) { q in
            RunRow(
                asOf: q.string(0) ?? "", status: "", practicesHash: q.string(1) ?? "", devices: q.int(2), carriedForward: 0, mergeConflicts: 0,
                detailPruned: false)
        }
    }

    /// The oldest night stored ("" when there is none).
    public func firstNight() throws -> String {
        try database.firstRow("SELECT MIN(as_of) FROM runs") { $0.string(0) ?? "" } ?? ""
    }

    /// The night whose org chart the `current` roll-ups were computed with, if they exist.
    public func currentChartNight() throws -> String? {
        try database.firstRow("SELECT chart_as_of FROM rollup_state WHERE chart = 'current'") { $0.string(0) } ?? nil
    }

    /// Whether a night has roll-ups for `chart` (`current` or `night`).
    public func hasRollups(chart: String, asOf: String) throws -> Bool {
        try database.firstRow("SELECT 1 FROM rollup_groups WHERE chart = ?1 AND as_of = ?2 LIMIT 1", chart, asOf) { _ in true } ?? false
    }

    /// The practice definitions in force on a night, in their configured order.
    public func practiceDefinitions(asOf: String) throws -> [PracticeDefinitionRow] {
        var out: [PracticeDefinitionRow] = []
        try database.forEachRow(
            "SELECT practice, title, description, rating, link, fingerprint FROM practice_definitions WHERE as_of = ?1 ORDER BY position", asOf
        ) { q in
            out.append(
                PracticeDefinitionRow(
                    key: q.string(0) ?? "", title: q.string(1) ?? "", description: q.string(2) ?? "", rating: q.string(3) ?? "",
                    link: q.string(4), fingerprint: q.string(5) ?? ""))
        }
        return out
    }

    /// Each source's status and record count on a night.
    public func sourceStatuses(asOf: String) throws -> [String: (status: String, records: Int)] {
        var out: [String: (status: String, records: Int)] = [:]
        try database.forEachRow("SELECT source, status, records FROM run_sources WHERE as_of = ?1 ORDER BY source", asOf) { q in
            out[q.string(0) ?? ""] = (q.string(1) ?? "", q.int(2))
        }
        return out
    }

    /// Every group's figures on the nights from `first` to `last`.
    public func forEachRollupGroup(chart: String, from first: String, to last: String, _ body: (RollupGroupRow) throws -> Void) throws {
        try database.forEachRow(
            """
            SELECT as_of, group_kind, group_id, devices, stale, people, green, critical, newly_failing FROM rollup_groups
            WHERE chart = ?1 AND as_of BETWEEN ?2 AND ?3
            """, chart, first, last
        ) { q in
            try body(
                RollupGroupRow(
                    asOf: q.string(0) ?? "", kind: q.string(1) ?? "", id: q.string(2) ?? "", devices: q.int(3), stale: q.int(4),
                    people: q.int(5), green: q.int(6), critical: q.int(7), newlyFailing: q.int(8)))
        }
    }

    /// The practice rows of one night for the company, organizations and the two optional kinds (`manager`,
    /// `direct`; pass `company` to leave one out), for the practices in `practices` (their index in the row).
    /// Rows come ordered by group, so a caller may look each group up once.
    public func forEachRollupPractice(
        chart: String, asOf: String, alsoKinds: (String, String), practices: PracticeList, _ body: (RollupPracticeRow) throws -> Void
    ) throws {
        try database.forEachRow(
            """
            SELECT group_kind, group_id, instr(?5, ',' || practice || ','), ok, nudge, warn, unknown, na, newly_failing
            FROM rollup_practices WHERE chart = ?1 AND as_of = ?2
              AND group_kind IN ('company', 'organization', ?3, ?4)
            """, chart, asOf, alsoKinds.0, alsoKinds.1, practices.text
        ) { q in
            guard let p = practices.index(atOffset: q.int(2)) else { return }
            var counts = StatusCounts()
            for (i, status) in Status.allCases.enumerated() { counts[status] = Int32(q.int(3 + i)) }
            try body(
                RollupPracticeRow(
                    kind: q.string(0) ?? "", id: q.string(1) ?? "", practice: p, counts: counts, newlyFailing: Int32(q.int(8))))
        }
    }

    /// The group-nights from `first` to `last` with fixes (`rollup_groups.changes`): per group and practice, the
    /// fix nights as `Rollups.readFixNights` reads them.
    public func forEachFixes(
        chart: String, from first: String, to last: String, practices: PracticeList,
        _ body: (_ kind: String, _ id: String, _ practice: Int, _ fixes: String) throws -> Void
    ) throws {
        try database.forEachRow(
            """
            SELECT g.group_kind, g.group_id, instr(?4, ',' || n.practice || ','), json_extract(e.value, '$[2]')
            FROM rollup_groups g JOIN json_each(g.changes) e JOIN practice_numbers n ON n.practice_no = e.key
            WHERE g.chart = ?1 AND g.as_of BETWEEN ?2 AND ?3 AND g.changes IS NOT NULL AND e.type = 'array'
              AND json_extract(e.value, '$[1]') > 0
            """, chart, first, last, practices.text
        ) { q in
            guard let p = practices.index(atOffset: q.int(2)), let fixes = q.string(3) else { return }
            try body(q.string(0) ?? "", q.string(1) ?? "", p, fixes)
        }
    }

    /// Data quality per night and platform, from `first` to `last`.
    public func quality(from first: String, to last: String) throws -> [QualityRow] {
        var out: [QualityRow] = []
        try database.forEachRow(
            """
            SELECT as_of, platform, devices, stale, no_owner, former_owner, fewer_sources, expected_sources
            FROM rollup_quality WHERE as_of BETWEEN ?1 AND ?2 ORDER BY as_of, platform
            """, first, last
        ) { q in
            out.append(
                QualityRow(
                    asOf: q.string(0) ?? "", platform: q.string(1) ?? "", devices: q.int(2), stale: q.int(3), noOwner: q.int(4),
                    formerOwner: q.int(5), fewerSources: q.int(6), expectedSources: q.string(7) ?? ""))
        }
        return out
    }

    /// Per source and practice on a night: devices the source informs and how many of its answers were unknown.
    public func sourceUnknowns(asOf: String) throws -> [(source: String, practice: String, devices: Int, unknown: Int)] {
        var out: [(source: String, practice: String, devices: Int, unknown: Int)] = []
        try database.forEachRow("SELECT source, practice, devices, unknown FROM rollup_sources WHERE as_of = ?1 ORDER BY source, practice", asOf) {
            q in
            out.append((q.string(0) ?? "", q.string(1) ?? "", q.int(2), q.int(3)))
        }
        return out
    }

    /// Source pulls from `first` to `last` that failed or met errors, and every pull of the last night.
    public func sourceRuns(from first: String, to last: String) throws -> [SourceRunRow] {
        var out: [SourceRunRow] = []
        try database.forEachRow(
            """
            SELECT as_of, source, kind, status, records, errors, failure FROM run_sources
            WHERE as_of BETWEEN ?1 AND ?2 AND (status = 'failed' OR errors <> '{}' OR as_of = ?2) ORDER BY as_of, source
            """, first, last
        ) { q in
            out.append(
                SourceRunRow(
                    asOf: q.string(0) ?? "", source: q.string(1) ?? "", kind: q.string(2) ?? "", status: q.string(3) ?? "", records: q.int(4),
                    errors: q.string(5) ?? "", failure: q.string(6)))
        }
        return out
    }

    /// The merge conflicts recorded on a night, in the order the merge met them.
    public func mergeConflicts(asOf: String) throws -> [(shared: String, conflicting: String, records: String)] {
        var out: [(shared: String, conflicting: String, records: String)] = []
        try database.forEachRow("SELECT shared, conflicting, records FROM merge_audit WHERE as_of = ?1 ORDER BY seq", asOf) { q in
            out.append((q.string(0) ?? "", q.string(1) ?? "", q.string(2) ?? ""))
        }
        return out
    }

    /// Every device of a night with its owner and failing results, by owner and device key.
    public func ownedDevices(asOf: String) throws -> [OwnedDeviceRow] {
        var out: [OwnedDeviceRow] = []
        try database.forEachRow(
            """
            SELECT d.owner, COALESCE(d.device_name, ''), k.device_key, COALESCE(d.platform, ''), d.sources, d.stale,
                   (SELECT group_concat(r.practice || ':' || r.status, ' ') FROM practice_results r
                    WHERE r.as_of = d.as_of AND r.device_id = d.device_id AND r.status IN ('warn', 'nudge', 'unknown'))
            FROM devices d JOIN device_keys k ON k.device_id = d.device_id WHERE d.as_of = ?1 ORDER BY d.owner, k.device_key
            """, asOf
        ) { q in
            out.append(
                OwnedDeviceRow(
                    owner: q.string(0), name: q.string(1) ?? "", key: q.string(2) ?? "", platform: q.string(3) ?? "", sources: q.string(4) ?? "",
                    stale: q.int(5) != 0, failing: q.string(6) ?? ""))
        }
        return out
    }
}

/// Practice keys as one `,a,b,c,` text that SQL's `instr` finds a practice in; the offset it returns names the
/// practice's index, so rows carry an integer instead of a key to look up.
public struct PracticeList: Sendable {
    public let text: String
    private let indexByOffset: [Int: Int]

    public init(_ keys: [String]) {
        var text = ","
        var index: [Int: Int] = [:]
        for (i, key) in keys.enumerated() {
            index[text.utf8.count] = i
            text += key + ","
        }
        self.text = text
        indexByOffset = index
    }

    public func index(atOffset offset: Int) -> Int? { indexByOffset[offset] }
}
