import Foundation
import Testing

@testable import StethoscopeStore

/// Issue 16: every documented view answers within Datasette's 1 s on the 60-night demo. Timing has no place in a
/// unit test, so this checks how SQLite plans them: the daily views read one night of their own small tables (never
/// the per-device store), and `WHERE as_of = (SELECT as_of FROM latest_night)` is planned like a literal date.
@Suite struct QueryPlanTests {
    /// The `detail` column of EXPLAIN QUERY PLAN.
    static func plan(_ db: Database, _ sql: String) throws -> [String] {
        try db.rows("EXPLAIN QUERY PLAN " + sql).map { $0[3] ?? "" }
    }

    @Test func dailyViewsSearchOneNightOfTheirRollUps() throws {
        let dir = try TempDir()
        let db = try ViewTests().makeStore(dir).database
        let views = [
            "daily_practice_status": "daily_status", "daily_compliance_by_organization": "daily_organization",
            "daily_compliance_by_manager": "daily_manager", "daily_ownership": "daily_owners"
        ]
        for (view, table) in views {
            var plans: [[String]] = []
            for night in ["'2026-12-01'", "(SELECT as_of FROM latest_night)"] {
                let plan = try Self.plan(db, "SELECT * FROM \(view) WHERE as_of = \(night)")
                plans.append(plan.filter { !$0.contains("latest_night") && !$0.contains("runs") && !$0.hasPrefix("SCALAR") })
                #expect(
                    plan.contains { $0.hasPrefix("SEARCH \(table) ") && $0.contains("(as_of=?)") },
                    "\(view) with \(night) does not search one night of \(table): \(plan)")
                #expect(
                    !plan.contains { line in line.hasPrefix("SCAN") && !line.contains("latest_night") },
                    "\(view) with \(night) scans: \(plan)")
                #expect(
                    !plan.contains { line in ["device_nights", "device_states", "result_items"].contains { line.contains($0) } },
                    "\(view) reads the per-device store: \(plan)")
            }
            #expect(plans[0] == plans[1], "\(view): latest_night planned unlike a literal date: \(plans)")
        }
    }

    /// Views over the per-device store find the night by its key, and never materialize a whole view.
    @Test func perDeviceViewsSearchTheNightByKey() throws {
        let dir = try TempDir()
        let db = try ViewTests().makeStore(dir).database
        for sql in [
            "SELECT * FROM latest_devices", "SELECT * FROM latest_device_posture",
            "SELECT * FROM devices WHERE as_of = (SELECT as_of FROM latest_night)",
            "SELECT * FROM practice_results WHERE as_of = (SELECT as_of FROM latest_night) AND practice = 'encryption'"
        ] {
            let plan = try Self.plan(db, sql)
            #expect(plan.contains { $0.contains("USING PRIMARY KEY (as_of=?") }, "\(sql): \(plan)")
            #expect(!plan.contains { $0.hasPrefix("MATERIALIZE") && !$0.contains("latest_night") }, "\(sql): \(plan)")
            // The views' aliases: dn device_nights, ds device_states, ri and r result_items.
            #expect(
                !plan.contains { ["SCAN dn", "SCAN ds", "SCAN ri", "SCAN r", "SCAN device_nights", "SCAN result_items"].contains($0) },
                "\(sql): \(plan)")
        }
    }
}
