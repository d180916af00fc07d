import Foundation
import StethoscopeCore

/// What a night-summary message (the `webhooks:` sink) reads: the run, its failed sources and the company's
/// roll-ups of that night.
extension SnapshotStore {
    /// A stored night's status, devices and carried-forward devices; `nil` when the night is not stored.
    public func runTotals(asOf: String) throws -> (status: String, devices: Int, carriedForward: Int)? {
        try database.firstRow("SELECT status, devices, carried_forward FROM runs WHERE as_of = ?1", asOf) {
            ($0.string(0) ?? "", $0.int(1), $0.int(2))
        }
    }

    /// The sources that failed on a night, by name.
    public func failedSources(asOf: String) throws -> [String] {
        var out: [String] = []
        try database.forEachRow("SELECT source FROM run_sources WHERE as_of = ?1 AND status = 'failed' ORDER BY source", asOf) {
            out.append($0.string(0) ?? "")
        }
        return out
    }

    /// The company's counted (not stale), green and critical devices on a night's own chart; `nil` without a roll-up.
    public func companyTotals(asOf: String) throws -> (counted: Int, green: Int, critical: Int)? {
        try database.firstRow(
            """
            SELECT devices - stale, green, critical FROM rollup_groups
            WHERE chart = 'night' AND as_of = ?1 AND group_kind = 'company' AND group_id = ''
            """, asOf
        ) { ($0.int(0), $0.int(1), $0.int(2)) }
    }

    /// The newest night before `asOf` with company roll-ups.
    public func previousRolledUpNight(before asOf: String) throws -> String? {
        try database.firstRow(
            "SELECT max(as_of) FROM rollup_groups WHERE chart = 'night' AND group_kind = 'company' AND as_of < ?1", asOf
        ) { $0.string(0) } ?? nil
    }

    /// Per practice, the company's failing (warn + nudge) and newly failing devices on a night. Each night's company
    /// row is read on its own (over the compact roll-ups, a view joined to itself would be read whole).
    public func companyFailing(asOf: String) throws -> [(practice: String, failing: Int, newlyFailing: Int)] {
        var out: [(practice: String, failing: Int, newlyFailing: Int)] = []
        try database.forEachRow(
            """
            SELECT practice, warn + nudge, newly_failing FROM rollup_practices
            WHERE chart = 'night' AND as_of = ?1 AND group_kind = 'company' AND group_id = ''
            """, asOf
        ) { out.append(($0.string(0) ?? "", $0.int(1), $0.int(2))) }
        return out
    }
}
