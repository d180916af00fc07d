import Foundation
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeApp

/// History is never destroyed by a mistake, and a failure is never reported as success (issue #13; DESIGN.md,
/// "Safety rules"): future nights, retention's reference night, shrinking re-runs, roll-ups in the night's
/// transaction, the database lock, and the metrics file.
@Suite struct SafetyTests {
    /// Runs the built binary; returns its exit code and stderr.
    func stethoscope(_ arguments: [String]) throws -> (code: Int32, stderr: String) { try runStethoscope(arguments) }

    func config(_ dir: URL, people: Int = 80, extra: String = "") throws -> URL {
        let file = dir.appendingPathComponent("c.yaml")
        let common = "seed: 4, people: \(people), start: \"2026-11-01\", nights: 10"
        try """
        database: \(dir.path)/s.db
        directory: {type: demo, \(common)}
        sources:
          - {name: jamf, type: demo, feed: jamf, \(common)}
          - {name: mdm, type: demo, feed: mdm, \(common)}
        \(extra)
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func anAsOfAfterTomorrowIsRefusedUnlessAllowed() throws {
        let dir = try temporaryDirectory()
        let file = try config(dir)
        let today = AsOfDate.of(Date(), in: TimeZone(identifier: "UTC")!)
        let future = AsOfDate.adding(2, to: today)!
        let refused = try stethoscope(["run", "--config", file.path, "--as-of", future])
        #expect(refused.code == 64)
        #expect(refused.stderr.contains("--as-of is in the future"), "\(refused.stderr)")
        #expect(refused.stderr.contains("as_of=\(future)") && refused.stderr.contains("today=\(today)"))
        // Nothing was written (not even an empty database).
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("s.db").path))
        // Tomorrow is accepted (clocks and time zones differ by a day); --allow-future accepts any date.
        #expect(try stethoscope(["run", "--config", file.path, "--as-of", AsOfDate.adding(1, to: today)!]).code == 0)
        #expect(try stethoscope(["run", "--config", file.path, "--as-of", "2062-12-03", "--allow-future"]).code == 0)
        let db = try Database(path: dir.appendingPathComponent("s.db"))
        #expect(try db.count("SELECT COUNT(*) FROM runs WHERE as_of = '2062-12-03'") == 1)
    }

    @Test func retentionCountsBackFromTheNewestCompleteNightNotAFutureOne() throws {
        let dir = try temporaryDirectory()
        var file = try config(dir)
        for night in ["2026-11-01", "2026-11-02", "2026-11-03"] {
            let r = try stethoscope(["run", "--config", file.path, "--as-of", night])
            #expect(r.code == 0)
            #expect(!r.stderr.contains("retention pruned detail"))
        }
        // Keeping one night of detail: the next night prunes the three before it, and says so.
        file = try config(dir, extra: "retention: {detail_nights: 1}")
        let fourth = try stethoscope(["run", "--config", file.path, "--as-of", "2026-11-04"])
        #expect(fourth.code == 0)
        #expect(fourth.stderr.contains("msg=\"retention pruned detail\""), "\(fourth.stderr)")
        #expect(fourth.stderr.contains("nights=3"))
        let db = try Database(path: dir.appendingPathComponent("s.db"))
        #expect(try db.rows("SELECT as_of FROM runs WHERE detail_pruned = 0") == [["2026-11-04"]])
        let devices = try db.count("SELECT COUNT(*) FROM devices WHERE as_of = '2026-11-04'")
        #expect(devices > 0)
        // A night far in the future does not move retention's reference: 2026-11-04 keeps its detail.
        let future = try stethoscope(["run", "--config", file.path, "--as-of", "2062-12-03", "--allow-future"])
        #expect(future.code == 0)
        #expect(!future.stderr.contains("retention pruned detail"), "\(future.stderr)")
        #expect(try db.count("SELECT COUNT(*) FROM devices WHERE as_of = '2026-11-04'") == devices)
        #expect(try db.count("SELECT detail_pruned FROM runs WHERE as_of = '2026-11-04'") == 0)
    }

    @Test func aRerunWithFarFewerDevicesIsRefusedUnlessForced() throws {
        let dir = try temporaryDirectory()
        var file = try config(dir, people: 200)
        #expect(try stethoscope(["run", "--config", file.path, "--as-of", "2026-11-03"]).code == 0)
        let db = try Database(path: dir.appendingPathComponent("s.db"))
        let before = try db.rows("SELECT devices, started_at FROM runs WHERE as_of = '2026-11-03'")
        let stored = Int(before[0][0]!)!
        // A fifth of the company: refused, naming both counts; the stored night is untouched.
        file = try config(dir, people: 40)
        let refused = try stethoscope(["run", "--config", file.path, "--as-of", "2026-11-03"])
        #expect(refused.code == 6)
        #expect(try db.rows("SELECT devices, started_at FROM runs WHERE as_of = '2026-11-03'") == before)
        let rollups = try db.count("SELECT COUNT(*) FROM rollup_groups WHERE as_of = '2026-11-03'")
        #expect(rollups > 0)
        // --force replaces it; the count it then holds is the one the refusal named.
        #expect(try stethoscope(["run", "--config", file.path, "--as-of", "2026-11-03", "--force"]).code == 0)
        let found = try db.count("SELECT devices FROM runs WHERE as_of = '2026-11-03'")
        #expect(found * 2 < stored)
        #expect(refused.stderr.contains("stored with \(stored) devices but this re-run found \(found)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--force"))
        // A new night is never compared; `safety.min_rerun_share: 0` turns the check off.
        file = try config(dir, people: 200, extra: "safety: {min_rerun_share: 0}")
        #expect(try stethoscope(["run", "--config", file.path, "--as-of", "2026-11-03"]).code == 0)
        file = try config(dir, people: 40, extra: "safety: {min_rerun_share: 0}")
        #expect(try stethoscope(["run", "--config", file.path, "--as-of", "2026-11-03"]).code == 0)
        #expect(try db.count("SELECT devices FROM runs WHERE as_of = '2026-11-03'") == found)
    }

    @Test func aNightWhoseRollupFailsIsNotCommitted() async throws {
        let dir = try temporaryDirectory()
        let file = try config(dir)
        let dbFile = dir.appendingPathComponent("s.db")
        #expect(await Commands.run(configFile: file, asOf: "2026-11-01", database: dbFile, metricsFile: nil) == .complete)
        let db = try Database(path: dbFile)
        let before = try db.rows("SELECT as_of, devices, started_at FROM runs")
        let groups = try db.count("SELECT COUNT(*) FROM rollup_groups")
        // The roll-up's insert fails (as a full disk or a bug would) for the new night and for a re-run of the old.
        try db.exec(
            """
            CREATE TRIGGER fail_rollup BEFORE INSERT ON rollup_groups
            BEGIN SELECT RAISE(ABORT, 'roll-up failure injected by the test'); END;
            """)
        #expect(await Commands.run(configFile: file, asOf: "2026-11-02", database: dbFile, metricsFile: nil) == .failed)
        #expect(await Commands.run(configFile: file, asOf: "2026-11-01", database: dbFile, metricsFile: nil) == .failed)
        #expect(try db.rows("SELECT as_of, devices, started_at FROM runs") == before)
        #expect(try db.count("SELECT COUNT(*) FROM devices WHERE as_of = '2026-11-02'") == 0)
        #expect(try db.count("SELECT COUNT(*) FROM rollup_groups") == groups)
        // Without the fault, the night commits with its roll-ups.
        try db.exec("DROP TRIGGER fail_rollup")
        #expect(await Commands.run(configFile: file, asOf: "2026-11-02", database: dbFile, metricsFile: nil) == .complete)
        #expect(try db.count("SELECT COUNT(*) FROM rollup_groups WHERE as_of = '2026-11-02'") > 0)
    }

    @Test func aSecondWriterWaitsForTheLockThenExits75() throws {
        let dir = try temporaryDirectory()
        let file = try config(dir, extra: "export: {elasticsearch: {url: \"http://127.0.0.1:9\", max_attempts: 1}}")
        let dbFile = dir.appendingPathComponent("s.db")
        do {
            let held = try DatabaseLock.acquire(database: dbFile, waitSeconds: 0, purpose: "test-holder")
            let run = try stethoscope(["run", "--config", file.path, "--as-of", "2026-11-01", "--lock-wait", "0.3"])
            #expect(run.code == 75)
            #expect(run.stderr.contains("holds the database lock"), "\(run.stderr)")
            #expect(run.stderr.contains("command=test-holder"))
            #expect(!FileManager.default.fileExists(atPath: dbFile.path))
            let export = try stethoscope(["export", "--config", file.path, "--as-of", "2026-11-01", "--lock-wait", "0"])
            #expect(export.code == 75)
            // The wait also comes from the config.
            let configured = try config(dir, extra: "safety: {lock_wait_s: 0}")
            #expect(try stethoscope(["run", "--config", configured.path, "--as-of", "2026-11-01"]).code == 75)
            withExtendedLifetime(held) {}
        }
        // A lock released during the wait: the run waits for it, then runs.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [DatabaseLock.lockFile(for: dbFile).path, "-c", "echo held; sleep 1"]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        _ = out.fileHandleForReading.readRetrying(count: 5)  // "held\n": flock has the lock
        let plain = try config(dir)
        let waited = try stethoscope(["run", "--config", plain.path, "--as-of", "2026-11-01", "--lock-wait", "300"])
        holder.waitUntilExit()
        #expect(waited.code == 0, "\(waited.stderr)")
    }

    @Test func aMetricsFileThatCannotBeWrittenIsAWarningNotAFailure() async throws {
        let dir = try temporaryDirectory()
        let file = try config(dir)
        let dbFile = dir.appendingPathComponent("s.db")
        let notAFolder = dir.appendingPathComponent("plain")
        try "x".write(to: notAFolder, atomically: true, encoding: .utf8)
        let metrics = notAFolder.appendingPathComponent("m.prom")
        #expect(await Commands.run(configFile: file, asOf: "2026-11-01", database: dbFile, metricsFile: metrics) == .metricsNotWritten)
        let db = try Database(path: dbFile)
        #expect(try db.rows("SELECT status FROM runs WHERE as_of = '2026-11-01'") == [["complete"]])
        #expect(try db.count("SELECT COUNT(*) FROM rollup_groups WHERE as_of = '2026-11-01'") > 0)
    }

    @Test func metricsGoThroughAFIFOInsteadOfReplacingIt() async throws {
        let dir = try temporaryDirectory()
        let file = try config(dir)
        let fifo = dir.appendingPathComponent("metrics.fifo")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        // The reader end is open first (non-blocking), so the run's write neither blocks nor is lost.
        let reader = open(fifo.path, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        #expect(
            await Commands.run(
                configFile: file, asOf: "2026-11-01", database: dir.appendingPathComponent("s.db"),
                metricsFile: fifo) == .complete)
        var st = stat()
        #expect(lstat(fifo.path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO, "the FIFO was replaced")
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = read(reader, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self)
        #expect(text.contains("stethoscope_run_status 0"))
        // A regular file is still replaced atomically (no temporary file left behind).
        let regular = dir.appendingPathComponent("m.prom")
        try "old\n".write(to: regular, atomically: true, encoding: .utf8)
        #expect(
            await Commands.run(
                configFile: file, asOf: "2026-11-01", database: dir.appendingPathComponent("s.db"),
                metricsFile: regular) == .complete)
        #expect(try String(contentsOf: regular, encoding: .utf8).contains("stethoscope_devices "))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".m.prom.tmp").path))
    }
}
