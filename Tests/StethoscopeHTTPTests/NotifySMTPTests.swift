import Foundation
import StethoscopeStore
import Testing

/// `stethoscope notify` end to end over the real SMTP server (aiosmtpd, STARTTLS and AUTH): each planned message
/// arrives once, a connection dropped mid-DATA is retried without doubling, and a second notify of the same night
/// sends nothing again.
@Suite struct NotifySMTPTests {
    @Test func everyMessageArrivesOnceAcrossADroppedConnectionAndARerun() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notify-smtp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        #expect(
            try await CredentialsAtSendTests.stethoscope(
                ["demo", "--people", "60", "--nights", "3", "--start", "2026-11-01", "--out", dir.path]) == 0)

        // The second message's DATA is cut off without an answer: the client must resend it once.
        let smtp = try FakeSMTP(["--drop-data", "2"])
        let secret = dir.appendingPathComponent("smtp.secret")
        try FakeSMTP.password.write(to: secret, atomically: true, encoding: .utf8)
        var yaml = try String(contentsOf: dir.appendingPathComponent("demo.yaml"), encoding: .utf8)
        #expect(yaml.contains("  dry_run: {out: notify}\n"))
        yaml = yaml.replacingOccurrences(
            of: "  dry_run: {out: notify}\n",
            with: """
                  smtp: {url: "\(smtp.url)", username: \(FakeSMTP.user), password_file: \(secret.path), ca_file: \(TransportTests.pem("ca.pem"))}

                """)
        let config = dir.appendingPathComponent("smtp.yaml")
        try yaml.write(to: config, atomically: true, encoding: .utf8)

        #expect(try await CredentialsAtSendTests.stethoscope(["notify", "--config", config.path, "--as-of", "2026-11-03"]) == 0)
        let db = try Database(path: dir.appendingPathComponent("stethoscope.db"))
        let st = try db.prepare("SELECT person, message_id FROM notifications WHERE as_of = '2026-11-03' AND state = 'sent' ORDER BY person")
        var ledger: [String: String] = [:]
        while try st.step() { ledger["<\(st.string(1) ?? "")>"] = st.string(0) }
        #expect(!ledger.isEmpty)
        #expect(try db.int("SELECT count(*) FROM notifications WHERE as_of = '2026-11-03' AND state NOT IN ('sent', 'held_out')") == 0)

        // Per person exactly one message, the one the ledger names, and nothing else arrived.
        let delivered = try smtp.deliveries()
        #expect(Set(delivered.keys) == Set(ledger.keys))
        for (id, rcpts) in delivered {
            #expect(rcpts.first == ledger[id], "\(id) went to \(rcpts)")
            #expect(Set(rcpts).count == rcpts.count, "\(id) arrived twice: \(rcpts)")
        }
        #expect(try smtp.events("dropped").count == 1)
        // Secrets reach neither the ledger nor the server's view of the messages.
        #expect(try db.int("SELECT count(*) FROM notifications WHERE error LIKE '%\(FakeSMTP.password)%'") == 0)

        // Notifying the same night again sends nothing new.
        let before = try smtp.events("message").count
        #expect(try await CredentialsAtSendTests.stethoscope(["notify", "--config", config.path, "--as-of", "2026-11-03"]) == 0)
        #expect(try smtp.events("message").count == before)

        // `check` logs in over STARTTLS and sends nothing; a wrong password fails it.
        let logins = try smtp.events("auth").count
        #expect(
            try await CredentialsAtSendTests.stethoscope(["check", "--config", config.path, "--db", dir.appendingPathComponent("stethoscope.db").path]) == 0)
        #expect(try smtp.events("auth").filter { $0["ok"] as? Bool == true }.count > 0)
        #expect(try smtp.events("auth").count == logins + 1)
        #expect(try smtp.events("message").count == before)
        try "not-the-password".write(to: secret, atomically: true, encoding: .utf8)
        #expect(
            try await CredentialsAtSendTests.stethoscope(["check", "--config", config.path, "--db", dir.appendingPathComponent("stethoscope.db").path]) == 2)
    }
}
