import Foundation
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeApp

/// Issue 13: inputs that must never be written as a good night — no device source, a failed attribution list,
/// empty input, a source that suddenly returns far fewer records, carried devices that never go stale, and
/// timestamps in the future.
@Suite struct NightInputsTests {
    func write(_ yaml: String, in dir: URL, as name: String = "config.yaml") throws -> URL {
        let file = dir.appendingPathComponent(name)
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func db(_ url: URL) throws -> Database { try SnapshotStore(path: url).database }

    /// Runs the `stethoscope` binary; returns its exit code and what it logged.
    func stethoscope(_ arguments: [String]) throws -> (code: Int32, log: String) {
        let r = try runStethoscope(arguments)
        return (r.code, r.stderr)
    }

    func failure(_ d: Database, _ asOf: String, _ source: String) throws -> String? {
        try d.rows("SELECT failure FROM run_sources WHERE as_of = '\(asOf)' AND source = '\(source)' AND status = 'failed'").first?[0] ?? nil
    }

    // MARK: no device source

    @Test func aConfigWithoutADeviceSourceIsAConfigErrorAndWritesNothing() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        for yaml in ["timezone: Europe/Amsterdam\n", "directory: {type: demo, people: 40}\nsources: []\n"] {
            let file = try write(yaml, in: dir)
            #expect(await Commands.run(configFile: file, asOf: "2026-10-01", database: db, metricsFile: nil) == .config)
            let (code, log) = try stethoscope(["run", "--config", file.path, "--db", db.path, "--as-of", "2026-10-01"])
            #expect(code == 78)
            #expect(log.contains("sources"))
            #expect(await Check.run(configFile: file, database: db).0 == .config)
        }
        #expect(!FileManager.default.fileExists(atPath: db.path))
    }

    // MARK: failed attribution

    @Test func aFailedAttributionSourceMakesTheNightPartialEverywhere() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        let file = try write(
            """
            directory: {type: demo, people: 60}
            sources:
              - {name: jamf, type: demo, feed: jamf, people: 60}
            attribution:
              - {name: assets, type: asset_csv, path: missing-assets.csv}
            report: {out: \(dir.appendingPathComponent("report").path)}
            """, in: dir)
        let metrics = dir.appendingPathComponent("m.prom")
        #expect(await Commands.run(configFile: file, asOf: "2026-10-02", database: db, metricsFile: metrics) == .partial)
        let d = try self.db(db)
        #expect(try d.rows("SELECT status FROM runs WHERE as_of = '2026-10-02'") == [["partial"]])
        #expect(try failure(d, "2026-10-02", "assets")?.contains("missing-assets.csv") == true)
        // The device sources still wrote every device: nothing was carried forward for an attribution failure.
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-10-02' AND carried_forward = 0") > 0)
        let prom = try String(contentsOf: metrics, encoding: .utf8)
        #expect(prom.contains("stethoscope_run_status 1"))
        #expect(prom.contains("stethoscope_failed_sources 1"))
        #expect(prom.contains("stethoscope_source_failed{source=\"assets\",kind=\"attribution\"} 1"))
        #expect(prom.contains("stethoscope_source_failed{source=\"jamf\",kind=\"device\"} 0"))
        #expect(Commands.report(configFile: file, database: db, out: nil, nights: nil, asOf: nil, includePeople: false, chart: "night") == .complete)
        let quality = try String(contentsOf: dir.appendingPathComponent("report/quality.html"), encoding: .utf8)
        #expect(quality.contains("missing-assets.csv"))
        #expect(quality.contains("partial"))
    }

    @Test func aFailedAttributionSourceKeepsTheOwnersItGaveOnTheLastCompleteNight() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        let common = "seed: 3, people: 300"
        func config(_ assets: String) throws -> URL {
            try write(
                """
                directory: {type: demo, \(common)}
                sources:
                  - {name: jamf, type: demo, feed: jamf, \(common)}
                  - {name: mdm, type: demo, feed: mdm, \(common)}
                  - {name: google, type: demo, feed: google, \(common)}
                attribution:
                  - {name: assets, \(assets)}
                """, in: dir)
        }
        #expect(
            await Commands.run(configFile: try config("type: demo, feed: assets, \(common)"), asOf: "2026-10-01", database: db, metricsFile: nil) == .complete)
        #expect(await Commands.run(configFile: try config("type: asset_csv, path: gone.csv"), asOf: "2026-10-02", database: db, metricsFile: nil) == .partial)
        let d = try self.db(db)
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-10-01' AND owner_via = 'assets'") > 0)
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-10-02' AND owner_via = 'assets'") > 0)
        // No device the list gave an owner last night lost it tonight.
        #expect(
            try d.count(
                """
                SELECT count(*) FROM devices a JOIN devices b ON b.device_id = a.device_id AND b.as_of = '2026-10-02'
                WHERE a.as_of = '2026-10-01' AND a.owner_via = 'assets' AND (b.owner IS NULL OR b.owner <> a.owner)
                """) == 0)
    }

    @Test func jobsNightlyExitsThreeAndItsMetricsNameTheFailedAttribution() throws {
        let dir = try temporaryDirectory()
        let file = try write(
            """
            database: \(dir.path)/s.db
            directory: {type: demo, people: 60}
            sources:
              - {name: jamf, type: demo, feed: jamf, people: 60}
            attribution:
              - {name: assets, type: asset_csv, path: missing-assets.csv}
            """, in: dir)
        let p = nightlyJobProcess(state: dir, arguments: [nightlyJob.path, "--config", file.path, "--as-of", "2026-10-02"])
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 3)
        let prom = try String(contentsOf: dir.appendingPathComponent("stethoscope.prom"), encoding: .utf8)
        #expect(prom.contains("stethoscope_job_exit_code 3"))
        #expect(prom.contains("stethoscope_source_failed{source=\"assets\",kind=\"attribution\"} 1"))
        let log = try String(contentsOf: dir.appendingPathComponent("nightly.log"), encoding: .utf8)
        #expect(log.contains("source=assets"))
    }

    // MARK: empty input

    @Test func anEmptyPeopleCSVFailsTheDirectoryUnlessAllowed() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        let people = dir.appendingPathComponent("people.csv")
        try "email,name,manager_email,department\na@x.test,A,,Eng\nb@x.test,B,a@x.test,Eng\n".write(to: people, atomically: true, encoding: .utf8)
        func config(_ extra: String = "") throws -> URL {
            try write(
                """
                directory: {type: csv_directory, path: people.csv\(extra)}
                sources:
                  - {name: jamf, type: demo, feed: jamf, people: 40}
                """, in: dir)
        }
        #expect(await Commands.run(configFile: try config(), asOf: "2026-10-01", database: db, metricsFile: nil) == .complete)
        // Header only: the directory failed, the night is partial and keeps the last complete night's people.
        try "email,name,manager_email,department\n".write(to: people, atomically: true, encoding: .utf8)
        #expect(await Commands.run(configFile: try config(), asOf: "2026-10-02", database: db, metricsFile: nil) == .partial)
        var d = try self.db(db)
        #expect(try failure(d, "2026-10-02", "directory")?.contains("people.csv has a header but no rows") == true)
        #expect(try d.rows("SELECT people FROM runs WHERE as_of = '2026-10-02'") == [["2"]])
        // Rows, but none with an email.
        try "email,name,manager_email,department\n,A,,Eng\nnot-an-email,B,,Eng\n".write(to: people, atomically: true, encoding: .utf8)
        #expect(await Commands.run(configFile: try config(), asOf: "2026-10-03", database: db, metricsFile: nil) == .partial)
        d = try self.db(db)
        #expect(try failure(d, "2026-10-03", "directory")?.contains("no valid rows (2 rejected") == true)
        // The operator says an empty directory is expected (a new database: against the 2 people of the last
        // complete night, 0 would still be a record drop, which allow_empty does not lift).
        let fresh = dir.appendingPathComponent("fresh.db")
        #expect(await Commands.run(configFile: try config(", allow_empty: true"), asOf: "2026-10-04", database: fresh, metricsFile: nil) == .complete)
        #expect(try self.db(fresh).rows("SELECT people FROM runs WHERE as_of = '2026-10-04'") == [["0"]])
        #expect(await Commands.run(configFile: try config(", allow_empty: true"), asOf: "2026-10-04", database: db, metricsFile: nil) == .partial)
        #expect(try failure(d, "2026-10-04", "directory")?.contains("record count fell 100% (from 2 on 2026-10-01 to 0)") == true)
    }

    @Test func anEmptyAssetCSVFailsItsAttributionUnlessAllowed() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        try "serial,mac,owner_email\n".write(to: dir.appendingPathComponent("assets.csv"), atomically: true, encoding: .utf8)
        func config(_ extra: String = "") throws -> URL {
            try write(
                """
                directory: {type: demo, people: 40}
                sources:
                  - {name: jamf, type: demo, feed: jamf, people: 40}
                attribution:
                  - {name: assets, type: asset_csv, path: assets.csv\(extra)}
                """, in: dir)
        }
        #expect(await Commands.run(configFile: try config(), asOf: "2026-10-01", database: db, metricsFile: nil) == .partial)
        let d = try self.db(db)
        #expect(try failure(d, "2026-10-01", "assets")?.contains("assets.csv has a header but no rows") == true)
        // Rows without an identifier value attribute nothing either.
        try "serial,mac,owner_email\n,,a@x.test\n".write(to: dir.appendingPathComponent("assets.csv"), atomically: true, encoding: .utf8)
        #expect(await Commands.run(configFile: try config(), asOf: "2026-10-02", database: db, metricsFile: nil) == .partial)
        #expect(try failure(d, "2026-10-02", "assets")?.contains("no row with an owner email and an identifier") == true)
        #expect(await Commands.run(configFile: try config(", allow_empty: true"), asOf: "2026-10-03", database: db, metricsFile: nil) == .complete)
    }

    /// Any plugin: a device source that returns nothing fails for the night (here osquery with an empty log).
    @Test func aDeviceSourceThatReturnsNothingFailsUnlessAllowed() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        try "".write(to: dir.appendingPathComponent("osqueryd.results.log"), atomically: true, encoding: .utf8)
        func config(_ extra: String = "") throws -> URL {
            try write(
                """
                sources:
                  - {name: jamf, type: demo, feed: jamf, people: 40}
                  - {name: osq, type: osquery, paths: [osqueryd.results.log], queries: {q: encryption}\(extra)}
                """, in: dir)
        }
        #expect(await Commands.run(configFile: try config(), asOf: "2026-10-01", database: db, metricsFile: nil) == .partial)
        let d = try self.db(db)
        #expect(try failure(d, "2026-10-01", "osq")?.contains("returned no records (set allow_empty: true") == true)
        #expect(await Commands.run(configFile: try config(", allow_empty: true"), asOf: "2026-10-02", database: db, metricsFile: nil) == .complete)
    }

    // MARK: record drops

    func dropConfig(in dir: URL, jamfPeople: Int, directoryPeople: Int = 150, jamfExtra: String = "") throws -> URL {
        try write(
            """
            directory: {type: demo, people: \(directoryPeople)}
            sources:
              - {name: jamf, type: demo, feed: jamf, people: \(jamfPeople)\(jamfExtra)}
              - {name: mdm, type: demo, feed: mdm, people: 150}
            report: {out: \(dir.appendingPathComponent("report").path)}
            """, in: dir)
    }

    @Test func aSourceThatFallsFarBelowItsLastCompleteNightIsTreatedAsFailed() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        let full = try dropConfig(in: dir, jamfPeople: 150)
        #expect(await Commands.run(configFile: full, asOf: "2026-10-01", database: db, metricsFile: nil) == .complete)
        let d = try self.db(db)
        let jamfOnly = try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-10-01' AND sources = 'jamf'")
        #expect(jamfOnly > 0)

        // Jamf now answers with about a quarter of its inventory.
        let shrunk = try dropConfig(in: dir, jamfPeople: 40)
        let (code, log) = try stethoscope(["run", "--config", shrunk.path, "--db", db.path, "--as-of", "2026-10-02"])
        #expect(code == 3)
        #expect(log.contains("msg=\"source record count dropped; treated as failed\""))
        #expect(log.contains("source=jamf"))
        let reason = try failure(d, "2026-10-02", "jamf")
        #expect(reason?.contains("more than max_record_drop 30%") == true)
        #expect(reason?.contains("--accept-drop jamf") == true)
        // Its devices were carried forward, none of tonight's jamf records were used.
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-10-02' AND carried_forward = 1 AND carried_from = '2026-10-01'") == jamfOnly)
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-10-02' AND carried_forward = 0 AND sources LIKE '%jamf%'") == 0)
        #expect(Commands.report(configFile: shrunk, database: db, out: nil, nights: nil, asOf: nil, includePeople: false, chart: "night") == .complete)
        let quality = try String(contentsOf: dir.appendingPathComponent("report/quality.html"), encoding: .utf8)
        #expect(quality.contains("more than max_record_drop 30%"))

        // The operator confirms the drop is real: the night is rebuilt with tonight's records. Replacing the stored
        // night (with its carried-forward devices) by far fewer devices is the re-run guard's call: --force too.
        #expect(await Commands.run(configFile: shrunk, asOf: "2026-10-02", database: db, metricsFile: nil, acceptDrop: ["jamf"]) == .rerunRefused)
        #expect(await Commands.run(configFile: shrunk, asOf: "2026-10-02", database: db, metricsFile: nil, force: true, acceptDrop: ["jamf"]) == .complete)
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-10-02' AND carried_forward = 1") == 0)
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-10-02' AND sources LIKE '%jamf%'") > 0)
        // A name that is no source is a usage error, not a silent no-op.
        #expect(await Commands.run(configFile: shrunk, asOf: "2026-10-03", database: db, metricsFile: nil, acceptDrop: ["jamff"]) == .usage)
        // The baseline is the last complete night: 10-02 (complete, accepted) now has the small count.
        #expect(await Commands.run(configFile: shrunk, asOf: "2026-10-03", database: db, metricsFile: nil) == .complete)
    }

    @Test func theDropShareIsConfigurableAndADirectoryDropKeepsLastNightsPeople() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        #expect(await Commands.run(configFile: try dropConfig(in: dir, jamfPeople: 150), asOf: "2026-10-01", database: db, metricsFile: nil) == .complete)
        let d = try self.db(db)
        // Per source: jamf may fall by up to 90%.
        #expect(
            await Commands.run(
                configFile: try dropConfig(in: dir, jamfPeople: 40, jamfExtra: ", max_record_drop: 0.9"),
                asOf: "2026-10-02", database: db, metricsFile: nil) == .complete)
        let people = try d.count("SELECT people FROM runs WHERE as_of = '2026-10-02'")
        // The directory falling by two thirds is treated as failed: last complete night's people are kept.
        #expect(
            await Commands.run(
                configFile: try dropConfig(in: dir, jamfPeople: 40, directoryPeople: 50, jamfExtra: ", max_record_drop: 0.9"),
                asOf: "2026-10-03", database: db, metricsFile: nil) == .partial)
        #expect(try failure(d, "2026-10-03", "directory")?.contains("record count fell") == true)
        #expect(try d.count("SELECT people FROM runs WHERE as_of = '2026-10-03'") == people)
    }

    // MARK: carried-forward staleness

    @Test func carriedForwardDevicesAreJudgedStaleAgainEachNight() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        let common = "seed: 4, people: 120, start: \"2026-11-01\", nights: 40"
        let file = try write(
            """
            directory: {type: demo, \(common)}
            sources:
              - {name: jamf, type: demo, feed: jamf, \(common), down_nights: [29]}
              - {name: mdm, type: demo, feed: mdm, \(common)}
            """, in: dir)
        #expect(await Commands.run(configFile: file, asOf: "2026-11-01", database: db, metricsFile: nil) == .complete)
        #expect(await Commands.run(configFile: file, asOf: "2026-11-30", database: db, metricsFile: nil) == .partial)
        let d = try self.db(db)
        let carried = try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-30' AND carried_forward = 1")
        #expect(carried > 0)
        // Fresh on the night they come from, stale now: their last sync is four weeks before the night's end.
        let wereFresh = try d.count(
            """
            SELECT count(*) FROM devices c JOIN devices o ON o.device_id = c.device_id AND o.as_of = '2026-11-01'
            WHERE c.as_of = '2026-11-30' AND c.carried_forward = 1 AND o.stale = 0
            """)
        #expect(wereFresh > 0)
        #expect(
            try d.count(
                """
                SELECT count(*) FROM devices WHERE as_of = '2026-11-30' AND carried_forward = 1
                AND (stale = 0) = (last_sync IS NULL OR last_sync < '2026-11-16T23:59:59Z')
                """) == 0)
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-30' AND carried_forward = 1 AND stale = 1") == carried)
    }

    // MARK: future timestamps

    @Test func timestampsFarInTheFutureAreClampedAndCounted() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        let y2099 = 4_102_444_800  // 2100-01-01T00:00:00Z
        try """
        {"name":"enc","hostIdentifier":"host-max","unixTime":9223372036854775807,"decorations":{"serial":"C02FUTURE0001"},"columns":{"encrypted":"1"},"action":"added"}
        {"name":"enc","hostIdentifier":"host-2099","unixTime":\(y2099 - 86400),"decorations":{"serial":"C02FUTURE0002"},"columns":{"encrypted":"1"},"action":"added"}
        {"name":"enc","hostIdentifier":"host-now","unixTime":1790900000,"decorations":{"serial":"C02PRESENT001"},"columns":{"encrypted":"1"},"action":"added"}
        """.write(to: dir.appendingPathComponent("osqueryd.results.log"), atomically: true, encoding: .utf8)
        let file = try write(
            """
            sources:
              - {name: osq, type: osquery, paths: [osqueryd.results.log], queries: {enc: {practice: encryption, column: encrypted, ok: ["1"]}}}
            """, in: dir)
        // 2026-10-02 is in the past: "now" is the end of that day, and 1790900000 (2026-10-02T00:13Z) is before it.
        #expect(await Commands.run(configFile: file, asOf: "2026-10-02", database: db, metricsFile: nil) == .complete)
        let d = try self.db(db)
        let endOfDay = "2026-10-02T23:59:59Z"
        #expect(try d.rows("SELECT count(*), max(last_sync) FROM devices WHERE as_of = '2026-10-02'") == [["3", endOfDay]])
        #expect(try d.count("SELECT count(*) FROM devices WHERE as_of = '2026-10-02' AND last_sync = '\(endOfDay)'") == 2)
        #expect(try d.count("SELECT count(*) FROM practice_results WHERE as_of = '2026-10-02' AND observed_at > '\(endOfDay)'") == 0)
        // Two hosts, each with a future last sync and a future observation.
        let errors: String? = try d.rows("SELECT errors FROM run_sources WHERE as_of = '2026-10-02' AND source = 'osq'").first?[0] ?? nil
        #expect(errors == "{\"future_timestamp\":4}")
    }

    // MARK: numeric ranges

    @Test func numbersThatWouldTrapAreConfigErrorsNamingTheKey() async throws {
        let dir = try temporaryDirectory()
        let cases: [(String, String)] = [
            ("timeout_s: 1e308", "sources[0].timeout_s"),
            ("connect_timeout_s: 1e300", "sources[0].connect_timeout_s"),
            ("retry_base_s: 1e308", "sources[0].retry_base_s"),
            ("retry_max_wait_s: 1e308", "sources[0].retry_max_wait_s"),
            ("max_response_mb: 9223372036854775807", "sources[0].max_response_mb")
        ]
        for (key, path) in cases {
            let file = try write("sources:\n  - {name: f, type: fleet, url: \"http://127.0.0.1:9\", token: t, \(key)}\n", in: dir)
            #expect(throws: ConfigError.self) { _ = try Commands.prepare(file, logger: Commands.logger) }
            do { _ = try Commands.prepare(file, logger: Commands.logger) } catch let e as ConfigError {
                #expect(e.path == path, "\(key)")
            }
        }
        let es = try write(
            """
            sources:
              - {name: jamf, type: demo, feed: jamf, people: 40}
            export:
              elasticsearch: {url: "http://127.0.0.1:9", timeout_s: 1e308}
            """, in: dir)
        do {
            _ = try Commands.prepare(es, logger: Commands.logger)
            Issue.record("export.elasticsearch.timeout_s accepted")
        } catch let e as ConfigError {
            #expect(e.path == "export.elasticsearch.timeout_s")
            #expect(e.message.contains("at most 86400"))
        }
        let sql = try write(
            """
            sources:
              - {name: epm, type: sql_inventory, preset: landesk, connection_string: "Driver=x", login_timeout_s: 9223372036854775807}
            """, in: dir)
        do {
            _ = try Commands.prepare(sql, logger: Commands.logger)
            Issue.record("login_timeout_s accepted")
        } catch let e as ConfigError {
            #expect(e.path == "sources[0].login_timeout_s")
        }
        // The binary says so with exit 78 instead of trapping.
        let file = try write("sources:\n  - {name: f, type: fleet, url: \"http://127.0.0.1:9\", token: t, timeout_s: 1e308}\n", in: dir)
        let (code, log) = try stethoscope(["run", "--config", file.path, "--db", dir.appendingPathComponent("s.db").path])
        #expect(code == 78)
        #expect(log.contains("sources[0].timeout_s"))
        #expect(try stethoscope(["check", "--config", file.path, "--timeout", "1e308"]).code == 64)
    }
}
