import Foundation
import Testing

/// The files an operator installs (cron entry, systemd units, logrotate) checked by the real tools that read
/// them, and `--version` checked against the libraries on the machine.
@Suite struct OperationsFilesTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let cron = repo.appendingPathComponent("cron")

    /// Runs a program; returns its exit status and what it printed on stdout and stderr together.
    func run(_ tool: String, _ args: [String], cwd: URL? = nil) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        if let cwd { p.currentDirectoryURL = cwd }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readAllRetrying()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Debian's cron reads /etc/cron.d with run-parts' naming rule: a name with a dot is silently ignored.
    @Test func theCronFileHasANameCronReads() throws {
        let dir = try temporaryDirectory()
        let entries = try FileManager.default.contentsOfDirectory(atPath: Self.cron.path)
            .filter { !$0.hasSuffix(".service") && !$0.hasSuffix(".timer") && !$0.hasSuffix(".logrotate") }
        #expect(entries == ["stethoscope"])
        for name in entries {
            try FileManager.default.copyItem(at: Self.cron.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let (code, listed) = try run("run-parts", ["--list", dir.path])
        #expect(code == 0)
        #expect(listed.split(separator: "\n").map { URL(fileURLWithPath: String($0)).lastPathComponent } == ["stethoscope"])
        let line = try String(contentsOf: Self.cron.appendingPathComponent("stethoscope"), encoding: .utf8)
            .split(separator: "\n").first { !$0.hasPrefix("#") && $0.contains("Jobs/nightly") }
        // minute hour day month weekday USER command: /etc/cron.d entries name the user.
        #expect(line?.split(separator: " ").count == 7)
    }

    /// `systemd-analyze verify` passes with no warning, and the service's exposure score stays hardened.
    @Test func systemdUnitsVerifyAndAreHardened() throws {
        let dir = try temporaryDirectory()
        for unit in ["stethoscope-nightly.service", "stethoscope-nightly.timer"] {
            var text = try String(contentsOf: Self.cron.appendingPathComponent(unit), encoding: .utf8)
            // verify checks that ExecStart exists: point it at this checkout's job.
            text = text.replacingOccurrences(of: "/opt/stethoscope/Jobs/nightly", with: Self.repo.appendingPathComponent("Jobs/nightly").path)
            try text.write(to: dir.appendingPathComponent(unit), atomically: true, encoding: .utf8)
        }
        let service = dir.appendingPathComponent("stethoscope-nightly.service").path
        let (code, out) = try run("systemd-analyze", ["verify", service, dir.appendingPathComponent("stethoscope-nightly.timer").path])
        #expect(code == 0)
        // verify also loads the machine's other units (e.g. freeradius.service, which `make test` installs, warns
        // about MemoryLimit=); only what it says about ours counts.
        let ours = out.split(separator: "\n").filter { line in
            !(line.hasPrefix("/") && !line.hasPrefix(dir.path)) && !line.trimmingCharacters(in: .whitespaces).isEmpty
        }
        #expect(ours.isEmpty, "systemd-analyze verify: \(out)")

        let text = try String(contentsOfFile: service, encoding: .utf8)
        for key in [
            "StateDirectory=stethoscope", "LogsDirectory=stethoscope", "UMask=0027", "ProtectSystem=strict",
            "ProtectHome=true", "PrivateTmp=true", "NoNewPrivileges=true"
        ] {
            #expect(text.contains("\n\(key)\n"), "missing \(key)")
        }
        let (_, security) = try run("systemd-analyze", ["security", "--offline=true", "--no-pager", service])
        let level = security.split(separator: "\n").first { $0.contains("Overall exposure level") }
            .flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.flatMap { Double($0) }
        // An unhardened oneshot service scores about 9.6 ("UNSAFE"); this one must stay "OK" or better.
        #expect(level != nil && level! <= 4.0, "exposure: \(String(describing: level))")
    }

    /// logrotate rotates the job's log with the shipped rules, creating the new log without world read.
    @Test func logrotateRotatesTheLog() throws {
        let dir = try temporaryDirectory()
        let logs = dir.appendingPathComponent("log")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try "ts=2026-12-01T02:30:00Z level=info msg=\"run finished\"\n"
            .write(to: logs.appendingPathComponent("nightly.log"), atomically: true, encoding: .utf8)
        var conf = try String(contentsOf: Self.cron.appendingPathComponent("stethoscope.logrotate"), encoding: .utf8)
        // The test runs as whoever runs it, with no stethoscope user: the rest of the rules stay as shipped.
        let user = ProcessInfo.processInfo.environment["USER"] ?? "root"
        conf = conf.replacingOccurrences(of: "/var/log/stethoscope", with: logs.path)
            .replacingOccurrences(of: "stethoscope stethoscope", with: "\(user) \(user)")
        let confFile = dir.appendingPathComponent("logrotate.conf")
        try conf.write(to: confFile, atomically: true, encoding: .utf8)
        let (code, out) = try run("logrotate", ["--force", "--state", dir.appendingPathComponent("state").path, confFile.path])
        #expect(code == 0, "logrotate: \(out)")
        let names = try FileManager.default.contentsOfDirectory(atPath: logs.path).sorted()
        #expect(names == ["nightly.log", "nightly.log.1"])
        let mode = try FileManager.default.attributesOfItem(atPath: logs.appendingPathComponent("nightly.log").path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }

    /// `--version` names the SQLite and libcurl this binary runs with, as the machine's own tools report them.
    @Test func versionNamesTheLibraries() throws {
        let (code, out) = try run(stethoscopeBinary().path, ["--version"])
        #expect(code == 0)
        #expect(out.hasPrefix("stethoscope "))
        let (_, sqlite) = try run("sqlite3", ["--version"])
        let sqliteVersion = sqlite.split(separator: " ").first.map(String.init) ?? "?"
        #expect(out.contains("SQLite \(sqliteVersion)\n"), "\(out) vs sqlite3 \(sqliteVersion)")
        let (_, curl) = try run("curl-config", ["--version"])  // "libcurl 7.88.1"
        let curlVersion = curl.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "?"
        #expect(out.contains("libcurl \(curlVersion)"), "\(out) vs curl-config \(curlVersion)")
    }
}
