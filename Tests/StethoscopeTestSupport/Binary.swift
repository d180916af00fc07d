import Foundation

/// The built `stethoscope` executable (set by `make test`; found next to the test bundle otherwise).
public func stethoscopeBinary() -> URL {
    if let path = ProcessInfo.processInfo.environment["STETHOSCOPE_BIN"] { return URL(fileURLWithPath: path) }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("stethoscope")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: ".build/debug/stethoscope")
}

/// Runs the built binary with `arguments` (stdout discarded); returns its exit code and what it wrote to stderr.
public func runStethoscope(_ arguments: [String]) throws -> (code: Int32, stderr: String) {
    let p = Process()
    p.executableURL = stethoscopeBinary()
    p.arguments = arguments
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let text = String(decoding: err.fileHandleForReading.readAllRetrying(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// Jobs/nightly, the cron job around the binary.
public let nightlyJob: URL = TestPaths.repo.appendingPathComponent("Jobs/nightly")

/// Jobs/nightly under bash with its state and log in `state` and the built binary; not yet started.
public func nightlyJobProcess(state: URL, arguments: [String]) -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    var env = ProcessInfo.processInfo.environment
    env["STETHOSCOPE_BIN"] = stethoscopeBinary().path
    env["STETHOSCOPE_STATE"] = state.path
    env["STETHOSCOPE_LOG"] = state.appendingPathComponent("nightly.log").path
    p.environment = env
    p.arguments = arguments
    return p
}
