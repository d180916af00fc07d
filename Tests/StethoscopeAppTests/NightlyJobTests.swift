import Foundation
import Testing

/// Jobs/nightly: lock, log, metrics file with last success, exit code passed through.
@Suite struct NightlyJobTests {
    static let job = nightlyJob

    func runJob(_ dir: URL, config: URL, holdLock: Bool = false) throws -> Int32 {
        let p = nightlyJobProcess(
            state: dir,
            arguments: holdLock
                // `flock FILE CMD` holds the lock in another process while the job starts.
                ? ["-c", "flock \"$STETHOSCOPE_STATE/nightly.lock\" \"$0\" --config \"$1\" --as-of 2026-10-02", Self.job.path, config.path]
                : [Self.job.path, "--config", config.path, "--as-of", "2026-10-02"])
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
        // The job's own lines are logfmt with fields as fields, like stethoscope's.
        #expect(log.contains("msg=\"nightly finished\" exit_code=0 seconds="))
        #expect(log.contains("msg=\"nightly started\" config=\(config.path)"))
        for line in log.split(separator: "\n") {
            #expect(line.hasPrefix("ts=") && line.contains(" level=") && line.contains(" msg="), "\(line)")
            // msg holds the message only: no `key=value` inside its quotes.
            if let msg = line.range(of: " msg=\"") {
                let text = line[msg.upperBound...].prefix { $0 != "\"" }
                #expect(!text.contains("="), "\(line)")
            }
        }

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

    /// A state or log folder the job cannot create or write is exit 73 naming it, not 75 "another run holds the lock".
    @Test func anUnwritableStateOrLogFolderIsExit73() throws {
        let dir = try temporaryDirectory()
        let config = dir.appendingPathComponent("c.yaml")
        try "database: \(dir.path)/s.db\n".write(to: config, atomically: true, encoding: .utf8)
        // A regular file where a folder should be: not even root can create folders below it.
        let plain = dir.appendingPathComponent("plain")
        try "x".write(to: plain, atomically: true, encoding: .utf8)
        func job(state: URL, log: URL) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            var env = ProcessInfo.processInfo.environment
            env["STETHOSCOPE_BIN"] = stethoscopeBinary().path
            env["STETHOSCOPE_STATE"] = state.path
            env["STETHOSCOPE_LOG"] = log.path
            p.environment = env
            p.arguments = [Self.job.path, "--config", config.path, "--as-of", "2026-10-02"]
            let err = Pipe()
            p.standardError = err
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readAllRetrying(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        let badState = plain.appendingPathComponent("state")
        let (stateCode, stateMessage) = try job(state: badState, log: dir.appendingPathComponent("log/nightly.log"))
        #expect(stateCode == 73)
        #expect(stateMessage.contains("cannot write state folder \(badState.path)"), "\(stateMessage)")
        let badLog = plain.appendingPathComponent("log/nightly.log")
        let (logCode, logMessage) = try job(state: dir.appendingPathComponent("state"), log: badLog)
        #expect(logCode == 73)
        #expect(logMessage.contains("cannot write log folder \(badLog.deletingLastPathComponent().path)"), "\(logMessage)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("s.db").path))
    }
}
