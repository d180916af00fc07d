import Foundation
import StethoscopeApp
import StethoscopeCore
import StethoscopeNotify
import StethoscopeStore
import Testing

/// Parses every `.eml` in a folder with Python's `email` package (policy=default) and reports, per file, the
/// defects of every part, the longest line, the decoded headers and the text of each part.
let emailCheck = #"""
    import email, email.policy, json, pathlib, sys
    out = {}
    for path in sorted(pathlib.Path(sys.argv[1]).glob("*.eml")):
        raw = path.read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        defects = []
        parts = {}
        for part in msg.walk():
            defects += [type(d).__name__ for d in part.defects]
            if not part.is_multipart():
                parts[part.get_content_type()] = part.get_content()
        for name in ("To", "Cc", "From", "Subject"):
            if msg[name] is not None:
                defects += [type(d).__name__ for d in msg[name].defects]
        out[path.name] = {
            "defects": defects,
            "longest": max(len(l) for l in raw.split(b"\r\n")),
            "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
            "to": str(msg["To"]), "subject": str(msg["Subject"]), "message_id": str(msg["Message-ID"]),
            "date": str(msg["Date"]), "list_id": str(msg["List-Id"]),
            "text": parts.get("text/plain", ""), "html": parts.get("text/html", ""),
        }
    print(json.dumps(out))
    """#

struct ParsedMail: Decodable {
    var defects: [String], longest: Int, bare_lf: Bool
    var to: String, subject: String, message_id: String, date: String, list_id: String, text: String, html: String
}

func parseWithPython(_ dir: URL) throws -> [String: ParsedMail] {
    let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [python, "-c", emailCheck, dir.path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readAllRetrying()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    return try JSONDecoder().decode([String: ParsedMail].self, from: data)
}

@Suite struct NotifyMessageTests {
    @Test func messagesParseWithoutDefectsAndEscapeEverything() async throws {
        let (dir, store) = try await demoStore()
        let db = store.database
        // One person with a non-ASCII name and a hostile device name, copied manager with a long non-ASCII name.
        let target = try #require(
            try db.rows(
                """
                SELECT d.owner, d.device_id FROM devices d JOIN practice_results r ON r.as_of = d.as_of AND r.device_id = d.device_id
                JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
                WHERE d.as_of = '2026-11-05' AND r.status = 'warn' AND d.stale = 0 AND p.active = 1 ORDER BY d.owner LIMIT 1
                """
            ).first)
        let (owner, device) = (target[0]!, target[1]!)
        try db.exec(
            """
            UPDATE people SET name = 'Zoë Ñúñez-山田 "Quote" \\ back' WHERE email = '\(owner)';
            UPDATE devices SET device_name = '<script>alert(1)</script> & Zoë''s Mac' WHERE as_of = '2026-11-05' AND device_id = \(device);
            """)
        let long = String(repeating: "Ünïcødé ", count: 40)
        let config = try notifyConfig(
            "  subject: \"Tes appareils : \(long)\"",
            cadence: "{quiet_weekdays: [], copy_manager_after_nights: 1}")
        let out = dir.appendingPathComponent("dry")
        let o = try await Notifier(config: config).run(
            database: db, asOf: "2026-11-05", transport: try DryRunTransport(out: out),
            dryRun: out, forceManagerDigest: true)
        #expect(o.sent > 0)
        #expect(o.managerDigests > 0)
        let mails = try parseWithPython(out)
        #expect(mails.count == o.sent)
        for (name, m) in mails {
            #expect(m.defects.isEmpty, "\(name): \(m.defects)")
            #expect(m.longest <= 998)
            #expect(!m.bare_lf)
            #expect(!m.message_id.isEmpty && !m.date.isEmpty)
            #expect(m.list_id.contains("stethoscope.example.com"))
            #expect(!m.html.contains("<script"))
            #expect(!m.html.contains("<img") && !m.html.contains("src="))
        }
        let mine = try #require(mails.values.first { $0.to.contains(owner) })
        #expect(mine.to.contains("Zoë Ñúñez-山田 \"Quote\" \\ back") || mine.to.contains("Zoë Ñúñez-山田 \\\"Quote\\\" \\\\ back"))
        #expect(mine.subject == "Tes appareils : " + long.trimmingCharacters(in: .whitespaces) || mine.subject == "Tes appareils : " + long)
        #expect(mine.text.contains("<script>alert(1)</script> & Zoë's Mac"))
        #expect(mine.html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Zoë&#39;s Mac"))
        #expect(mine.text.contains("Hello Zoë"))
        // The sources that saw a device read as a list ("by fleet, jamf"), not as the stored "fleet,jamf".
        let seenBy = try #require(mine.text.split(separator: "\n").first { $0.contains("Last seen") })
        let by = String(seenBy[seenBy.range(of: " by ")!.upperBound...])
        #expect(!by.replacingOccurrences(of: ", ", with: "").contains(","), "\(seenBy)")
        // The dry run's preview lists every message and links its HTML part and .eml file.
        let index = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(index.contains("<main"))
        #expect(index.components(separatedBy: ".eml\"").count - 1 == o.sent)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("0001.html").path))
        // A dry run records nothing: the real run afterwards still sends everything.
        #expect(try db.rows("SELECT count(*) FROM notifications").first?[0] == "0")
    }

    @Test func smtpSecretsNeverPrint() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("smtp.pw")
        try "s3cr3t-smtp-pass\n".write(to: file, atomically: true, encoding: .utf8)
        let root = try ConfigSection.parse(
            yaml: """
                notify:
                  from: it@example.com
                  smtp: {url: "smtp://mail.example.com:587", username: stethoscope, password_file: \(file.path), rate_per_minute: 120}
                """)
        let config = try #require(try NotifyConfig.from(section: try root.section("notify")))
        guard case .smtp(let s) = config.delivery else {
            Issue.record("not smtp")
            return
        }
        #expect(s.password?.reveal() == "s3cr3t-smtp-pass")
        #expect(s.startTLS == "required")
        #expect(s.ratePerMinute == 120)
        #expect(!"\(config)".contains("s3cr3t"))
        #expect(!String(reflecting: s).contains("s3cr3t"))
        // A typo'd key is named.
        let bad = try ConfigSection.parse(yaml: "notify: {from: it@example.com, smtp: {url: \"smtp://h:25\", starttls: maybe}}")
        #expect(throws: ConfigError.self) { try NotifyConfig.from(section: try bad.section("notify")) }
        let typo = try ConfigSection.parse(yaml: "notify: {from: it@example.com, dry_run: {out: x}, cadance: {}}")
        do {
            _ = try NotifyConfig.from(section: try typo.section("notify"))
            Issue.record("accepted a typo")
        } catch let e as ConfigError {
            #expect(e.path == "notify.cadance")
        }
    }

    @Test func encodedWordsStayShortAndSplitBetweenCharacters() {
        let m = MIME.render(
            .init(
                from: MailAddress(name: "Ïnfo", address: "it@example.com"),
                to: [MailAddress(name: String(repeating: "山田", count: 60), address: "a@example.com")],
                subject: String(repeating: "x", count: 2000), date: Date(timeIntervalSince1970: 0),
                messageID: "id@example.com", text: String(repeating: "é", count: 3000), html: "<p>x</p>"))
        let lines = String(decoding: m, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        #expect(lines.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
    }

    /// The Date header (computed by hand, no DateFormatter) against Foundation's formatter, and body line ends (a
    /// byte-level pass) against the rule: CRLF stays, a lone CR or LF becomes CRLF.
    @Test func dateHeaderAndLineEndsMatchTheReference() throws {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        func render(_ date: Date, text: String = "x") -> String {
            String(
                decoding: MIME.render(
                    .init(
                        from: MailAddress(name: nil, address: "it@example.com"),
                        to: [MailAddress(name: nil, address: "a@example.com")], subject: "s", date: date,
                        messageID: "id@example.com", text: text, html: "<p>x</p>")), as: UTF8.self)
        }
        // Every ~3.7 days from 1960 to 2110 (all weekdays, month ends and leap days), plus seconds either side of midnight.
        var t = -315_619_200.0
        while t < 4_417_977_600 {
            for date in [Date(timeIntervalSince1970: t), Date(timeIntervalSince1970: t + 86_399.5)] {
                #expect(render(date).contains("\r\nDate: \(f.string(from: date))\r\n"))
            }
            t += 321_123
        }
        let message = render(Date(timeIntervalSince1970: 0), text: "a\rb\nc\r\nd\n\re\r\r\n")
        let part = try #require(message.components(separatedBy: "\r\n\r\n").dropFirst(2).first)
        let body = try #require(Data(base64Encoded: part.components(separatedBy: "\r\n--").first!.replacingOccurrences(of: "\r\n", with: "")))
        #expect(String(decoding: body, as: UTF8.self) == "a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\n")
    }

    /// The byte-level address check against the rule it replaced (split on "@", Foundation's contains, scalar scan).
    @Test func addressCheckMatchesTheRule() {
        func reference(_ address: String) -> Bool {
            let parts = address.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), address.utf8.count <= 254 else { return false }
            return address.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 && $0.value < 127 && !"<>()[]\\,;:\"".unicodeScalars.contains($0) }
        }
        var cases = [
            "a@b.c", "a@b", "@b.c", "a@@b.c", "a@b@c.d", "a.b@c", "a.b@c.d", "a b@c.d", "a@b.c ", "é@b.c", "a@b.ç",
            "a<b@c.d", "a\"b@c.d", "a:b@c.d", "a\\b@c.d", "a@b.c\n", "a@.", "a@b.", "", "@", ".@.", "a\u{7f}@b.c",
            String(repeating: "a", count: 250) + "@b.c", String(repeating: "a", count: 249) + "@b.c"
        ]
        for special in "<>()[]\\,;:\"!#$%&'*+/=?^_`{|}~-" { cases.append("x\(special)y@ex.com") }
        for c in cases { #expect(MailAddress.isValid(c) == reference(c), "\(c)") }
    }
}
