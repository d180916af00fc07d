import Foundation
import StethoscopeStore
import Testing

/// Runs the real binary with `arguments`, stdout and stderr into files of `dir`; returns the exit code.
/// `sh -c 'umask 022; …'` gives it the umask a shell or cron usually does.
@discardableResult
func runBinary(_ arguments: [String], in dir: URL, environment: [String: String] = [:], output: String) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "umask 022; exec \"$0\" \"$@\" >\"$OUT.stdout\" 2>\"$OUT.stderr\"", stethoscopeBinary().path] + arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    env["OUT"] = dir.appendingPathComponent(output).path
    p.environment = env
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// Every regular file under `dir`, recursively.
func everyFile(_ dir: URL) -> [URL] {
    let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey])
    var out: [URL] = []
    while let url = e?.nextObject() as? URL {
        if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { out.append(url) }
    }
    return out
}

func mode(_ url: URL) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions]) as? Int) ?? -1
}

/// Issue 13, "Secrets never leave the process", end to end through the real binary.
@Suite struct SecretTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/StethoscopeSources/Plugins")

    /// bitFit's token travels as the `api_token` query parameter, the Fleet source's URL carries a password in its
    /// userinfo, and both servers answer every request with a 500 that echoes the whole request (URL, headers,
    /// body). The bitFit echo is padded so its token crosses the 200-byte cut of quoted error bodies. After
    /// `run`, `report` and `check`, no file the runs wrote holds a secret or the start of one.
    @Test func echoedCredentialsReachNoFileTheRunWrites() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bitfitToken = "bF7+q/Z" + UUID().uuidString.replacingOccurrences(of: "-", with: "") + "=="
        let fleetToken = "fleet-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let fleetPassword = "pw-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20)
        // "GET /users?api_token=" is 21 bytes: after 172 filler bytes the token starts at byte 193 of the body.
        let bitfit = try FakeServer(
            "fake_bitfit.py",
            [
                "--fixture", Self.fixtures.appendingPathComponent("bitfit/fixtures/bitfit.json").path, "--token", bitfitToken,
                "--fault", "echo_500:/:100000", "--echo-pad", "172"
            ])
        let fleet = try FakeServer(
            "fake_fleet.py",
            [
                "--fixture", Self.fixtures.appendingPathComponent("fleet/fixtures/hosts.json").path, "--token", fleetToken,
                "--fault", "echo_500:/:100000"
            ])
        let config = dir.appendingPathComponent("c.yaml")
        try """
        database: \(dir.path)/s.db
        directory: {type: demo, people: 60}
        sources:
          - {name: jamf, type: demo, feed: jamf, people: 60}
          - {name: fleet, type: fleet, url: "http://stethoscope:${FLEET_PW}@127.0.0.1:\(fleet.port)", token: "${FLEET_TOKEN}", retries: 0}
        attribution:
          - {name: bitfit, type: bitfit, url: "http://127.0.0.1:\(bitfit.port)/", api_token: "${BITFIT_TOKEN}", retries: 0}
        report: {out: \(dir.path)/report}
        """.write(to: config, atomically: true, encoding: .utf8)
        let env = ["FLEET_PW": String(fleetPassword), "FLEET_TOKEN": fleetToken, "BITFIT_TOKEN": bitfitToken]

        let run = try runBinary(
            ["run", "--config", config.path, "--as-of", "2026-12-01", "--metrics", dir.appendingPathComponent("run.prom").path],
            in: dir, environment: env, output: "run")
        #expect(run == 3)
        try runBinary(["report", "--config", config.path], in: dir, environment: env, output: "report")
        try runBinary(["check", "--config", config.path, "--timeout", "20"], in: dir, environment: env, output: "check")

        // Not vacuous: both failures were recorded with the echoed body, blanked.
        let db = try Database(path: dir.appendingPathComponent("s.db"))
        let failures = try db.rows("SELECT source, failure FROM run_sources WHERE as_of = '2026-12-01' AND failure IS NOT NULL ORDER BY source")
        #expect(failures.map { $0[0] } == ["bitfit", "fleet"])
        for row in failures { #expect(row[1]?.contains("HTTP 500") == true, "\(row)") }
        #expect(failures.first?[1]?.contains("api_token=<redact") == true, "\(failures)")  // cut after redaction
        #expect(failures.last?[1]?.contains("http://<redacted>@127.0.0.1") == true, "\(failures)")
        let check = try String(contentsOf: dir.appendingPathComponent("check.stdout"), encoding: .utf8)
        #expect(check.contains("FAIL") && check.contains("HTTP 500"))

        var needles: [String] = []
        for secret in [bitfitToken, fleetToken, String(fleetPassword)] {
            let escaped = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret
            needles += [secret, String(secret.prefix(8)), escaped, String(escaped.prefix(8))]
        }
        needles.append(Data("stethoscope:\(fleetPassword)".utf8).base64EncodedString())
        let files = everyFile(dir)
        #expect(files.contains { $0.lastPathComponent == "index.html" })
        #expect(files.contains { $0.lastPathComponent == "run.stderr" })
        for file in files where file.lastPathComponent != "c.yaml" {
            let bytes = try Data(contentsOf: file)
            for needle in needles where bytes.range(of: Data(needle.utf8)) != nil {
                Issue.record("\(file.lastPathComponent) holds secret number \(needles.firstIndex(of: needle)!) (of \(needles.count); every 4th a whole secret)")
            }
        }
    }

    /// The database, its WAL, the report and the log are written without any world access, whatever the umask the
    /// binary or the job started with; the report folder is readable by the group.
    @Test func filesAreCreatedWithoutWorldAccess() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("c.yaml")
        try
            "database: \(dir.path)/s.db\ndirectory: {type: demo, people: 60}\nsources:\n  - {name: jamf, type: demo, feed: jamf, people: 60}\nreport: {out: \(dir.path)/report}\n"
            .write(to: config, atomically: true, encoding: .utf8)
        #expect(try runBinary(["run", "--config", config.path, "--as-of", "2026-12-01"], in: dir, output: "run") == 0)
        #expect(try runBinary(["report", "--config", config.path], in: dir, output: "report") == 0)
        let db = dir.appendingPathComponent("s.db")
        #expect(mode(db) & 0o007 == 0 && mode(db) & 0o600 == 0o600)
        for name in ["s.db-wal", "s.db-shm"] where FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) {
            #expect(mode(dir.appendingPathComponent(name)) & 0o007 == 0, "\(name)")
        }
        let report = dir.appendingPathComponent("report")
        #expect(mode(report) & 0o007 == 0 && mode(report) & 0o050 == 0o050)
        let pages = everyFile(report)
        #expect(pages.count > 5)
        #expect(pages.filter { mode($0) & 0o007 != 0 }.map(\.lastPathComponent) == [])

        // Jobs/nightly: its log and the database it makes.
        let job = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Jobs/nightly")
        let state = dir.appendingPathComponent("state")
        try "database: \(state.path)/s.db\ndirectory: {type: demo, people: 60}\nsources:\n  - {name: jamf, type: demo, feed: jamf, people: 60}\n"
            .write(to: config, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "umask 022; exec /bin/bash \"$0\" --config \"$1\" --as-of 2026-12-01", job.path, config.path]
        var env = ProcessInfo.processInfo.environment
        env["STETHOSCOPE_BIN"] = stethoscopeBinary().path
        env["STETHOSCOPE_STATE"] = state.path
        env["STETHOSCOPE_LOG"] = dir.appendingPathComponent("logs/nightly.log").path
        p.environment = env
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(mode(dir.appendingPathComponent("logs/nightly.log")) & 0o007 == 0)
        #expect(mode(state.appendingPathComponent("s.db")) & 0o007 == 0)
    }
}
