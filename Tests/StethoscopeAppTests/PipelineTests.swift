import Foundation
import Logging
import StethoscopeCore
import StethoscopeSources
import StethoscopeStore
import Testing

@testable import StethoscopeApp

@Suite struct PipelineTests {
    func write(_ yaml: String, in dir: URL) throws -> URL {
        let file = dir.appendingPathComponent("config.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func demoSources(_ extra: String = "") -> String {
        let common = "seed: 7, people: 150, start: \"2026-11-01\", nights: 10"
        return """
            timezone: UTC
            directory: {type: demo, \(common)}
            sources:
              - {name: jamf, type: demo, feed: jamf, \(common)}
              - {name: mdm, type: demo, feed: mdm, \(common)}
              - {name: google, type: demo, feed: google, \(common)\(extra)}
              - {name: fleet, type: demo, feed: fleet, \(common)}
            attribution:
              - {name: assets, type: demo, feed: assets, \(common)}
            """
    }

    @Test func demoNightsLandInSQLiteWithStableKeys() async throws {
        let dir = try temporaryDirectory()
        let code = await DemoRunner.run(.init(people: 200, nights: 6, seed: 3, out: dir, start: "2026-11-01"))
        #expect(code == .complete)
        let store = try SnapshotStore(path: dir.appendingPathComponent("stethoscope.db"))
        let db = store.database
        #expect(try db.count("SELECT count(*) FROM runs") == 6)
        // The generated config takes google down on night 6*2/3 = 4: that night is partial, with carried-forward devices.
        let partial = try db.rows("SELECT as_of, carried_forward FROM runs WHERE status = 'partial'")
        #expect(partial.count == 1)
        #expect(partial.first?[0] == "2026-11-05")
        #expect(Int(partial.first?[1] ?? "0")! > 0)
        #expect(try db.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-05' AND carried_forward = 1 AND carried_from = '2026-11-04'") > 0)
        #expect(try db.count("SELECT count(*) FROM run_sources WHERE as_of = '2026-11-05' AND source = 'google' AND status = 'failed'") == 1)
        // Every device has one row per enabled practice.
        let practices = PracticeSet.defaults.enabled.count
        #expect(
            try db.count("SELECT count(*) FROM practice_results WHERE as_of = '2026-11-06'")
                == practices * db.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-06'"))
        // Keys are stable: nearly every device of night 1 is the same device_id on night 2.
        let n1 = try db.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-01'")
        let same = try db.count(
            "SELECT count(*) FROM devices a JOIN devices b ON a.device_id = b.device_id AND b.as_of = '2026-11-02' WHERE a.as_of = '2026-11-01'")
        #expect(Double(same) >= 0.97 * Double(n1))
        // Owners resolve to people of that night, and the method is recorded.
        #expect(
            try db.count(
                "SELECT count(*) FROM devices d LEFT JOIN people p ON p.as_of = d.as_of AND p.email = d.owner WHERE d.owner IS NOT NULL AND p.email IS NULL")
                == 0)
        // source_hint, attribution (the asset register), auth_logs (the demo's wireless accounting) and none.
        #expect(try db.count("SELECT count(DISTINCT owner_method) FROM devices") == 4)
        #expect(try db.count("SELECT count(*) FROM devices WHERE owner_method = 'auth_logs' AND owner_via = 'wifi'") > 0)
    }

    /// Issue 18: the night's devices, evaluated on another thread ahead of the writer, come in group order, each as
    /// the evaluator gives it; a writer that stops early (an error) lets the evaluating thread end.
    @Test func devicesEvaluatedAheadComeInGroupOrder() {
        let world = DemoWorld(DemoParameters(seed: 3, people: 200, start: "2026-10-01", nights: 10))
        let records = DemoFeed.allCases.flatMap { world.records($0, night: 2, source: $0.rawValue) }
        let merged = DeviceMerger().merge(records)
        let evaluator = NightEvaluator(
            practices: .defaults, asOf: "2026-10-03", now: AsOfDate.endOfDay("2026-10-03", in: .gmt)!,
            staleAfterDays: 14, orgChart: OrgChart(world.people(night: 2)))
        let expected = merged.groups.map { evaluator.evaluate($0, records) }
        #expect(expected.count > 100)
        for (chunk, ahead) in [(1, 1), (7, 2), (4096, 3)] {
            let got = Array(EvaluateAhead(groups: merged.groups, records: records, evaluator: evaluator, chunk: chunk, ahead: ahead))
            #expect(got.map(\.key) == expected.map(\.key))
            #expect(got.map { $0.results.map(\.status) } == expected.map { $0.results.map(\.status) })
            #expect(got.map(\.owner) == expected.map(\.owner))
        }
        for _ in 0..<20 {
            let iterator = EvaluateAhead(groups: merged.groups, records: records, evaluator: evaluator, chunk: 3, ahead: 1).makeIterator()
            #expect(iterator.next()?.key == expected[0].key)
        }
        #expect(Array(EvaluateAhead(groups: [], records: records, evaluator: evaluator)).isEmpty)
    }

    /// Issue 18: the daily tables are now counted by the writer as it writes (carried-forward devices by SQL): on a
    /// complete night and a partial one that carries devices forward, every daily view holds what the per-device
    /// views say, counted the way the daily tables used to be (owner joined to that night's people).
    @Test func dailyViewsAgreeWithTheDevicesOnCompleteAndCarriedNights() async throws {
        let dir = try temporaryDirectory()
        let file = try write(demoSources(", down_nights: [1]"), in: dir)
        let db = dir.appendingPathComponent("s.db")
        #expect(await Commands.run(configFile: file, asOf: "2026-11-01", database: db, metricsFile: nil) == .complete)
        #expect(await Commands.run(configFile: file, asOf: "2026-11-02", database: db, metricsFile: nil) == .partial)
        let d = try SnapshotStore(path: db).database
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-02' AND carried_forward = 1") > 0)
        let joined = """
            FROM devices v JOIN practice_results r ON r.as_of = v.as_of AND r.device_id = v.device_id
            LEFT JOIN people p ON p.as_of = v.as_of AND p.email = v.owner
            """
        let pairs: [(String, String)] = [
            (
                "SELECT as_of, practice, status, devices FROM daily_practice_status ORDER BY 1, 2, 3",
                "SELECT r.as_of, r.practice, r.status, COUNT(*) \(joined) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            ),
            (
                "SELECT as_of, organization, practice, applicable, ok FROM daily_compliance_by_organization ORDER BY 1, 2, 3",
                "SELECT v.as_of, NULLIF(COALESCE(p.organization, ''), ''), r.practice, COUNT(*), SUM(r.status = 'ok') \(joined) "
                    + "WHERE v.stale = 0 AND r.status <> 'na' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            ),
            (
                "SELECT as_of, manager, practice, applicable, ok FROM daily_compliance_by_manager ORDER BY 1, 2, 3",
                "SELECT v.as_of, p.manager_email, r.practice, COUNT(*), SUM(r.status = 'ok') \(joined) "
                    + "WHERE v.stale = 0 AND r.status <> 'na' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            ),
            (
                "SELECT as_of, owner_method, owner_via, devices, no_owner, former_employee_owner FROM daily_ownership ORDER BY 1, 2, 3",
                "SELECT v.as_of, v.owner_method, v.owner_via, COUNT(*), SUM(v.owner IS NULL), SUM(COALESCE(p.active = 0, 0)) "
                    + "FROM devices v LEFT JOIN people p ON p.as_of = v.as_of AND p.email = v.owner GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            )
        ]
        for (view, expected) in pairs {
            let got = try d.rows(view)
            #expect(!got.isEmpty)
            #expect(got == (try d.rows(expected)), "\(view)")
        }
    }

    @Test func mergeMeetsPrecisionAndRecallOnTheDemoCompany() {
        let world = DemoWorld(DemoParameters(seed: 11, people: 3000, start: "2026-10-01", nights: 60))
        for night in [0, 30, 59] {
            let records = DemoFeed.allCases.flatMap { world.records($0, night: night, source: $0.rawValue) }
            let merged = DeviceMerger().merge(records)
            let q = MergeQuality.pairwise(groups: merged.groups, records: records, truth: world.groundTruth(night: night))
            #expect(q.precision >= 0.995, "night \(night) precision \(q.precision)")
            #expect(q.recall >= 0.99, "night \(night) recall \(q.recall)")
            #expect(!merged.conflicts.isEmpty)  // the dock MACs are caught
        }
    }

    @Test func aFailingSourceMakesThePartialNightCarryItsDevicesForward() async throws {
        let dir = try temporaryDirectory()
        let file = try write(demoSources(", down_nights: [1]"), in: dir)
        let db = dir.appendingPathComponent("s.db")
        #expect(await Commands.run(configFile: file, asOf: "2026-11-01", database: db, metricsFile: nil) == .complete)
        let metrics = dir.appendingPathComponent("m.prom")
        #expect(await Commands.run(configFile: file, asOf: "2026-11-02", database: db, metricsFile: metrics) == .partial)
        let store = try SnapshotStore(path: db)
        let d = store.database
        let googleOnly = try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-01' AND sources = 'google'")
        #expect(googleOnly > 0)
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-02' AND carried_forward = 1") == googleOnly)
        // Devices of working sources are all there, none carried.
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-02' AND carried_forward = 0 AND sources LIKE '%jamf%'") > 0)
        // Carried devices keep their original observation times (from night 1's data).
        #expect(
            try d.count(
                """
                SELECT count(*) FROM practice_results r JOIN devices v ON v.as_of = r.as_of AND v.device_id = r.device_id
                WHERE r.as_of = '2026-11-02' AND v.carried_forward = 1 AND r.observed_at > '2026-11-01T23:59:59Z'
                """) == 0)
        let failure: String? = try d.rows("SELECT failure FROM run_sources WHERE as_of = '2026-11-02' AND source = 'google'").first?[0] ?? nil
        #expect(failure?.contains("google") == true)
        let prom = try String(contentsOf: metrics, encoding: .utf8)
        #expect(prom.contains("stethoscope_run_status 1"))
        #expect(prom.contains("stethoscope_stage_seconds{stage=\"merge\"}"))
    }

    @Test func everySourceFailingWritesNothing() async throws {
        let dir = try temporaryDirectory()
        let yaml = """
            directory: {type: demo, people: 50}
            sources:
              - {name: a, type: demo, feed: jamf, people: 50, down_nights: [0]}
            """
        let file = try write(yaml, in: dir)
        let db = dir.appendingPathComponent("s.db")
        #expect(await Commands.run(configFile: file, asOf: "2026-10-01", database: db, metricsFile: nil) == .failed)
        #expect(try SnapshotStore(path: db).database.count("SELECT count(*) FROM runs") == 0)
    }

    @Test func badConfigIsRejectedBeforeAnythingRuns() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        for yaml in [
            "sources:\n  - {name: a, type: demo, feed: jamf, peeple: 5}\n",
            "sources:\n  - {name: a, type: nosuchplugin}\n",
            "stale_after_days: [1]\n",
            "sources: [\n"
        ] {
            let file = try write(yaml, in: dir)
            #expect(await Commands.run(configFile: file, asOf: "2026-10-01", database: db, metricsFile: nil) == .config)
        }
        #expect(!FileManager.default.fileExists(atPath: db.path))
        #expect(await Commands.run(configFile: dir.appendingPathComponent("missing.yaml"), asOf: nil, database: db, metricsFile: nil) == .config)
        let ok = try write("sources:\n  - {name: a, type: demo, feed: jamf, people: 20}\n", in: dir)
        #expect(await Commands.run(configFile: ok, asOf: "2026-13-01", database: db, metricsFile: nil) == .usage)
    }

    @Test func rerunningANightReplacesIt() async throws {
        let dir = try temporaryDirectory()
        let file = try write(demoSources(), in: dir)
        let db = dir.appendingPathComponent("s.db")
        #expect(await Commands.run(configFile: file, asOf: "2026-11-03", database: db, metricsFile: nil) == .complete)
        let d = try SnapshotStore(path: db).database
        let before = try d.count("SELECT count(*) FROM practice_results")
        #expect(await Commands.run(configFile: file, asOf: "2026-11-03", database: db, metricsFile: nil) == .complete)
        #expect(try d.count("SELECT count(*) FROM practice_results") == before)
        #expect(try d.count("SELECT count(*) FROM runs") == 1)
    }
}
