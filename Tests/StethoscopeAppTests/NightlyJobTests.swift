import Foundation
import Testing

/// Jobs/nightly: lock, log, metrics file with last success, exit code passed through.
@Suite struct NightlyJobTests {
    static let job = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Jobs/nightly")

    func runJob(_ dir: URL, config: URL, holdLock: Bool = false) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        var env = ProcessInfo.processInfo.environment
        env["STETHOSCOPE_BIN"] = stethoscopeBinary().path
        env["STETHOSCOPE_STATE"] = dir.path
        env["STETHOSCOPE_LOG"] = dir.appendingPathComponent("nightly.log").path
        p.environment = env
        p.arguments = holdLock
            // `flock FILE CMD` holds the lock in another process while the job starts.
            ? ["-c", "flock \"$STETHOSCOPE_STATE/nightly.lock\" \"$0\" --config \"$1\" --as-of 2026-10-02", Self.job.path, config.path]
            : [Self.job.path, "--config", config.path, "--as-of", "2026-10-02"]
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func runsLogsWritesMetricsAndPassesTheExitCodeOn() throws {
        let dir = try temporaryDirectory()
        let config = dir.appendingPathComponent("c.yaml")
        try "database: \(dir.path)/s.db\ndirectory: {type: demo, people: 60}\nsources:\n  - {name: jamf, type: demo, feed: jamf, people: 60}\n"
            .write(to: config, atomically: true, encoding: .utf8)
        #expect(try runJob(dir, config: config) == 0)
        let metrics = try String(contentsOf: dir.appendingPathComponent("stethoscope.prom"), encoding: .utf8)
        #expect(metrics.contains("stethoscope_job_exit_code 0"))
        #expect(metrics.contains("stethoscope_last_success_timestamp_seconds "))
        #expect(metrics.contains("stethoscope_devices "))
        let log = try String(contentsOf: dir.appendingPathComponent("nightly.log"), encoding: .utf8)
        #expect(log.contains("msg=\"run finished\""))
        #expect(log.contains("nightly finished exit_code=0"))

        // A broken config: exit 78, and the last success time survives.
        let lastSuccess = metrics.split(separator: "\n").first { $0.hasPrefix("stethoscope_last_success_timestamp_seconds") }
        try "sources: [{name: x, type: demo, feed: nope}]\n".write(to: config, atomically: true, encoding: .utf8)
        #expect(try runJob(dir, config: config) == 78)
        let after = try String(contentsOf: dir.appendingPathComponent("stethoscope.prom"), encoding: .utf8)
        #expect(after.contains("stethoscope_job_exit_code 78"))
        #expect(after.split(separator: "\n").first { $0.hasPrefix("stethoscope_last_success_timestamp_seconds") } == lastSuccess)
    }

    @Test func aSecondRunDoesNotOverlap() throws {
        let dir = try temporaryDirectory()
        let config = dir.appendingPathComponent("c.yaml")
        try "database: \(dir.path)/s.db\n".write(to: config, atomically: true, encoding: .utf8)
        #expect(try runJob(dir, config: config, holdLock: true) == 75)
        let log = try String(contentsOf: dir.appendingPathComponent("nightly.log"), encoding: .utf8)
        #expect(log.contains("not starting"))
    }
}
