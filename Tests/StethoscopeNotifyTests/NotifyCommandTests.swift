import Foundation
import StethoscopeStore
import Testing

/// `stethoscope notify` through the built binary: dry run, exit codes, secrets.
@Suite struct NotifyCommandTests {
    func stethoscope(_ args: [String]) throws -> (Int32, String) { try runStethoscope(args) }

    @Test func dryRunSmtpUnavailableAndExitCodes() throws {
        let dir = try temporaryDirectory()
        let (demo, _) = try stethoscope(["demo", "--people", "40", "--nights", "3", "--start", "2026-11-01", "--no-responses", "--out", dir.path])
        #expect(demo == 0)
        let config = dir.appendingPathComponent("demo.yaml")
        // The demo's own dry run: its last night's messages and the preview.
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("notify/index.html").path))

        let out = dir.appendingPathComponent("preview")
        let (code, _) = try stethoscope(["notify", "--config", config.path, "--as-of", "2026-11-02", "--dry-run", "--out", out.path])
        #expect(code == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(files.contains("index.html"))
        #expect(files.contains { $0.hasSuffix(".eml") })
        let db = try Database(path: dir.appendingPathComponent("stethoscope.db"))
        #expect(try db.int("SELECT count(*) FROM notifications") == 0)

        // An SMTP server that cannot be reached: exit 7, the secret nowhere, the night untouched, nothing recorded as sent
        // (the messages wait as deferred for the next notify of that night).
        let secret = dir.appendingPathComponent("smtp.secret")
        try "hunter2-smtp-secret".write(to: secret, atomically: true, encoding: .utf8)
        var yaml = try String(contentsOf: config, encoding: .utf8)
        yaml = yaml.replacingOccurrences(
            of: "  dry_run: {out: notify}\n",
            with: """
                  smtp: {url: "smtp://127.0.0.1:1", username: stethoscope, password_file: \(secret.path)}

                """)
        let smtpConfig = dir.appendingPathComponent("smtp.yaml")
        try yaml.write(to: smtpConfig, atomically: true, encoding: .utf8)
        let runsBefore = try db.int("SELECT count(*) FROM runs")
        let (smtp, log) = try stethoscope(["notify", "--config", smtpConfig.path])
        #expect(smtp == 7)
        #expect(log.contains("deferred"))
        #expect(!log.contains("hunter2"))
        #expect(try db.int("SELECT count(*) FROM runs") == runsBefore)
        #expect(try db.int("SELECT count(*) FROM notifications WHERE state = 'sent'") == 0)
        #expect(try db.int("SELECT count(*) FROM notifications WHERE state = 'deferred'")! > 0)

        // A night that is not there: 7; a bad date or --dry-run without --out: 64; a typo in notify: 78.
        #expect(try stethoscope(["notify", "--config", config.path, "--as-of", "2020-01-01", "--dry-run", "--out", out.path]).0 == 7)
        #expect(try stethoscope(["notify", "--config", config.path, "--as-of", "2026-13-01"]).0 == 64)
        #expect(try stethoscope(["notify", "--config", config.path, "--dry-run"]).0 == 64)
        try yaml.replacingOccurrences(of: "  cadence:", with: "  cadance:").write(to: smtpConfig, atomically: true, encoding: .utf8)
        let (typo, typoLog) = try stethoscope(["notify", "--config", smtpConfig.path])
        #expect(typo == 78)
        #expect(typoLog.contains("notify.cadance"))
    }
}
