import Foundation
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeReport
@testable import StethoscopeRollups

/// Roll-ups against the same figures computed by SQL straight from the snapshot tables.
@Suite struct RollupTests {
    static let chainManagers = ["ceo@x.test", "vp1@x.test", "vp2@x.test", "m1@x.test"]

    /// (night, group, practice, status) → "devices/people", from the roll-up view.
    func rolled(_ db: Database, kind: String, ids: [String]? = nil) throws -> [String: String] {
        var out: [String: String] = [:]
        for r in try db.rows("SELECT as_of, group_id, practice, status, devices, people FROM rollups WHERE group_kind = ?1", [kind]) {
            if let ids, !ids.contains(r[1] ?? "") { continue }
            out["\(r[0]!)|\(r[1]!)|\(r[2]!)|\(r[3]!)"] = "\(r[4]!)/\(r[5]!)"
        }
        return out
    }

    func computed(_ db: Database, _ sql: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for r in try db.rows(sql) { out["\(r[0]!)|\(r[1] ?? "")|\(r[2]!)|\(r[3]!)"] = "\(r[4]!)/\(r[5]!)" }
        return out
    }

    @Test func statusCountsMatchSQLForEveryKindOfGroup() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let db = store.database
        let company = try computed(
            db,
            """
            SELECT r.as_of, '', r.practice, r.status, COUNT(*), COUNT(DISTINCT d.owner) FROM practice_results r
            JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id WHERE d.stale = 0 GROUP BY 1, 3, 4
            """)
        #expect(company.count > 40)
        #expect(try rolled(db, kind: "company") == company)

        let orgs = try computed(
            db,
            """
            SELECT r.as_of, COALESCE(p.organization, ''), r.practice, r.status, COUNT(*), COUNT(DISTINCT d.owner)
            FROM practice_results r JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
            LEFT JOIN people p ON p.as_of = d.as_of AND p.email = d.owner WHERE d.stale = 0 GROUP BY 1, 2, 3, 4
            """)
        #expect(Set(orgs.keys.map { $0.split(separator: "|")[1] }).count >= 4)
        #expect(try rolled(db, kind: "organization") == orgs)

        // Whole chains, transitively (the manager included), by a recursive query over each night's people.
        let list = Self.chainManagers.map { "'\($0)'" }.joined(separator: ",")
        let chains = try computed(
            db,
            """
            WITH RECURSIVE below(as_of, manager, email) AS (
                SELECT as_of, email, email FROM people
                UNION SELECT b.as_of, b.manager, p.email FROM below b JOIN people p ON p.as_of = b.as_of AND p.manager_email = b.email)
            SELECT d.as_of, b.manager, r.practice, r.status, COUNT(*), COUNT(DISTINCT d.owner)
            FROM below b JOIN devices d ON d.as_of = b.as_of AND d.owner = b.email
            JOIN practice_results r ON r.as_of = d.as_of AND r.device_id = d.device_id
            WHERE d.stale = 0 AND b.manager IN (\(list)) GROUP BY 1, 2, 3, 4
            """)
        #expect(try rolled(db, kind: "manager", ids: Self.chainManagers) == chains)
        // ic2 moved from m1 to vp2 on the third night: m1's chain lost ic2's devices that night.
        #expect(chains.keys.contains { $0.hasPrefix("2026-11-01|m1@x.test") })

        let direct = try computed(
            db,
            """
            SELECT r.as_of, p.manager_email, r.practice, r.status, COUNT(*), COUNT(DISTINCT d.owner)
            FROM practice_results r JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
            JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
            WHERE d.stale = 0 AND p.manager_email IN (\(list)) GROUP BY 1, 2, 3, 4
            """)
        #expect(try rolled(db, kind: "direct", ids: Self.chainManagers) == direct)
    }

    @Test func greenCriticalAndStaleMatchSQL() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let db = store.database
        let sql = try db.rows(
            """
            SELECT d.as_of, COALESCE(p.organization, ''), COUNT(*), SUM(d.stale), COUNT(DISTINCT d.owner),
                   SUM(d.green * (1 - d.stale)), SUM(d.critical * (1 - d.stale))
            FROM devices d LEFT JOIN people p ON p.as_of = d.as_of AND p.email = d.owner GROUP BY 1, 2 ORDER BY 1, 2
            """)
        let rolled = try db.rows(
            """
            SELECT as_of, group_id, devices, stale, people, green, critical FROM rollup_groups
            WHERE chart = 'night' AND group_kind = 'organization' AND devices > 0 ORDER BY 1, 2
            """)
        #expect(sql == rolled)
        #expect(sql.contains { $0[3] != "0" })  // stale devices are there, and counted apart
        // The organization without devices still has a (zero) row every night.
        let empty = try db.rows("SELECT devices FROM rollup_groups WHERE group_kind = 'organization' AND group_id = 'Empty Org'")
        #expect(empty.count == Fixture.nights.count && empty.allSatisfy { $0[0] == "0" })
    }

    @Test func managerCycleIsCutAndCountsEachDeviceOnce() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir, nights: 1)
        let db = store.database
        // Loop's devices: counted once in the company, and in each cycle member's chain at most once.
        let loop = try db.rows(
            """
            SELECT COUNT(*) FROM devices d JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
            WHERE p.organization = 'Loop' AND d.stale = 0
            """)[0][0]
        #expect(loop != "0")
        let chains = try db.rows(
            """
            SELECT group_id, devices - stale FROM rollup_groups WHERE group_kind = 'manager' AND group_id LIKE 'cyc%' ORDER BY 1
            """)
        #expect(!chains.isEmpty)
        for row in chains { #expect(Int(row[1]!)! <= Int(loop!)!) }
        // The top of the cut cycle holds the whole loop.
        #expect(chains.contains { $0[1] == loop })
    }

    @Test func newlyFailingAndTimeToFixFollowStreaks() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        let people = [Person(email: "a@x.test", name: "A", organization: "Org")]
        // encryption: ok, warn, warn, warn, ok → newly failing on night 2, fixed on night 5 after 3 nights.
        let timeline: [Status] = [.ok, .warn, .warn, .warn, .ok]
        for (n, status) in timeline.enumerated() {
            let asOf = "2026-11-0\(n + 1)"
            let device = DeviceSnapshot(
                key: "serial:A", platform: .mac, osName: nil, osVersion: nil, model: nil, deviceName: "a", identifiers: [],
                sources: ["jamf"], records: ["jamf/1"], lastSync: Fixture.t0, owner: "a@x.test", ownerMethod: .sourceHint,
                ownerVia: "jamf", stale: false, isVirtual: false, results: [PracticeResult(practice: "encryption", status: status)])
            try store.writeNight(
                NightRecord(asOf: asOf, startedAt: Fixture.t0, finishedAt: Fixture.t0, status: .complete, people: people),
                devices: [device])
            try Rollups.compute(store, asOf: asOf)
        }
        let rows = try store.database.rows(
            """
            SELECT as_of, newly_failing, fixed, fix_nights FROM rollup_practices
            WHERE chart = 'night' AND group_kind = 'organization' AND group_id = 'Org' AND practice = 'encryption' ORDER BY as_of
            """)
        #expect(rows.map { $0[1] } == ["0", "1", "0", "0", "0"])
        #expect(rows.map { $0[2] } == ["0", "0", "0", "0", "1"])
        #expect(rows[4][3] == "3")
        #expect(try store.database.rows("SELECT since FROM failing_since WHERE as_of = '2026-11-04'") == [["2026-11-02"]])
    }

    /// Compact roll-ups (migration 0012): a group whose counts did not change since the previous night shares that
    /// night's `rollup_counts` row; re-running nights writes nothing new, and a night re-run with other results gets
    /// its own counts while the ones no row uses any more are deleted.
    @Test func unchangedGroupsShareTheirCountsAndReRunsLeaveNoneUnused() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let db = store.database
        let all = "SELECT as_of, group_kind, group_id, practice, status, devices, people FROM rollups ORDER BY 1, 2, 3, 4, 5"
        let unused = "SELECT count(*) FROM rollup_counts WHERE counts_id NOT IN (SELECT counts_id FROM rollup_groups WHERE counts_id IS NOT NULL)"
        let before = try db.rows(all)
        let sets = try db.rows("SELECT count(*) FROM rollup_counts")
        let rows = try db.rows("SELECT count(*) FROM rollup_groups WHERE counts_id IS NOT NULL")
        #expect(Int(sets[0][0] ?? "") ?? 0 < Int(rows[0][0] ?? "") ?? 0)
        for night in Fixture.nights { try Rollups.compute(store, asOf: night) }
        #expect(try db.rows(all) == before)
        #expect(try db.rows("SELECT count(*) FROM rollup_counts") == sets)
        // Every device of the middle night fails encryption now: its groups' counts change.
        try db.exec("UPDATE practice_results SET status = 'warn' WHERE as_of = '2026-11-03' AND practice = 'encryption' AND status = 'ok'")
        try Rollups.compute(store, asOf: "2026-11-03")
        #expect(try db.rows(unused) == [["0"]])
        let after = try db.rows(all)
        #expect(after.filter { $0[0] != "2026-11-03" } == before.filter { $0[0] != "2026-11-03" })
        #expect(after.contains { $0[0] == "2026-11-03" && $0[3] == "encryption" && $0[4] == "warn" && $0[1] == "company" })
        #expect(!after.contains { $0[0] == "2026-11-03" && $0[3] == "encryption" && $0[4] == "ok" })
    }

    @Test func retentionPrunesDetailButKeepsRollups() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir, rollups: false)
        let db = store.database
        let before = try db.rows("SELECT as_of, group_kind, group_id, practice, status, devices, people FROM rollups ORDER BY 1, 2, 3, 4, 5")
        #expect(before.isEmpty)
        try Rollups.afterNight(store: store, asOf: "2026-11-05", retentionNights: 2)
        // Nights up to 2026-11-03 lose their devices, rolled up first; the newest two keep them.
        #expect(try db.rows("SELECT as_of, detail_pruned FROM runs ORDER BY 1").map { $0[1] } == ["1", "1", "1", "0", "0"])
        #expect(try db.rows("SELECT DISTINCT as_of FROM devices ORDER BY 1").map { $0[0] } == ["2026-11-04", "2026-11-05"])
        #expect(try db.rows("SELECT COUNT(*) FROM practice_results WHERE as_of <= '2026-11-03'") == [["0"]])
        #expect(try db.rows("SELECT DISTINCT as_of FROM rollup_groups ORDER BY 1").map { $0[0] } == Fixture.nights.filter { $0 != "2026-11-04" })
        #expect(throws: RollupError.self) { try Rollups.compute(store, asOf: "2026-11-01") }
        // A rebuild recomputes the nights that have detail and keeps the pruned nights' roll-ups.
        try Rollups.rebuild(store)
        #expect(try db.rows("SELECT DISTINCT as_of FROM rollup_groups ORDER BY 1").map { $0[0] } == Fixture.nights)
    }

    /// Retention counts back from the newest complete night that is not in the future (DESIGN.md, "Safety rules").
    @Test func retentionIgnoresPartialAndFutureNightsAsItsReference() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir, rollups: false)
        // Fixture nights 2026-11-01 … 05; one far in the future, and a partial night after the complete ones.
        try store.writeNight(NightRecord(asOf: "2026-11-06", startedAt: Fixture.t0, finishedAt: Fixture.t0, status: .partial), devices: [])
        try store.writeNight(NightRecord(asOf: "2062-12-03", startedAt: Fixture.t0, finishedAt: Fixture.t0, status: .complete), devices: [])
        let complete = try store.database.rows("SELECT MAX(as_of) FROM runs WHERE status = 'complete' AND as_of < '2062-01-01'")[0][0]!
        #expect(try Rollups.retentionReference(store, today: "2026-12-03") == complete)
        // Keeping two nights, counted from that night whatever the run's own date: the future night prunes nothing more.
        let pruned = try Rollups.prune(store, asOf: "2062-12-03", retentionNights: 2, today: "2026-12-03")
        #expect(pruned == Fixture.nights.filter { $0 <= AsOfDate.adding(-2, to: complete)! })
        #expect(
            try store.database.rows("SELECT as_of FROM runs WHERE detail_pruned = 0 ORDER BY 1").map { $0[0]! }
                == Fixture.nights.filter { $0 > AsOfDate.adding(-2, to: complete)! } + ["2026-11-06", "2062-12-03"])
    }

    @Test func currentChartReattributesHistory() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let db = store.database
        try Rollups.rebuild(store, chart: .current)
        // ic2 is under vp2 today: under the current chart, the first night's ic2 devices count for vp2's directs.
        let sql = """
            SELECT COALESCE(SUM(ok + nudge + warn + unknown + na), 0) FROM rollup_practices
            WHERE chart = ?1 AND as_of = '2026-11-01' AND group_kind = 'direct' AND group_id = 'vp2@x.test'
            """
        let night = Int(try db.rows(sql, ["night"])[0][0]!)!
        let current = Int(try db.rows(sql, ["current"])[0][0]!)!
        let ic2 = Int(
            try db.rows(
                """
                SELECT COUNT(*) FROM practice_results r JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
                WHERE d.as_of = '2026-11-01' AND d.owner = 'ic2@x.test' AND d.stale = 0
                """)[0][0]!)!
        #expect(ic2 > 0)
        #expect(current == night + ic2)
        #expect(try db.rows("SELECT chart_as_of FROM rollup_state WHERE chart = 'current'") == [["2026-11-05"]])
    }

    @Test func dataQualityCountsMatchSQL() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let db = store.database
        let sql = try db.rows(
            """
            SELECT d.as_of, d.platform, COUNT(*), SUM(d.stale), SUM(d.owner IS NULL),
                   SUM(d.owner IS NOT NULL AND COALESCE(p.active, 0) = 0)
            FROM devices d LEFT JOIN people p ON p.as_of = d.as_of AND p.email = d.owner GROUP BY 1, 2 ORDER BY 1, 2
            """)
        #expect(try db.rows("SELECT as_of, platform, devices, stale, no_owner, former_owner FROM rollup_quality ORDER BY 1, 2") == sql)
        // Unknown per source: devices the source saw, applicable (not na), not stale.
        let unknown = try db.rows(
            """
            SELECT j.value, r.practice, COUNT(*), SUM(r.status = 'unknown') FROM devices d
            JOIN json_each('["' || replace(d.sources, ',', '","') || '"]') j
            JOIN practice_results r ON r.as_of = d.as_of AND r.device_id = d.device_id
            WHERE d.as_of = '2026-11-05' AND d.stale = 0 AND r.status <> 'na' GROUP BY 1, 2 ORDER BY 1, 2
            """)
        #expect(!unknown.isEmpty)
        #expect(try db.rows("SELECT source, practice, devices, unknown FROM rollup_sources WHERE as_of = '2026-11-05' ORDER BY 1, 2") == unknown)
    }
}
