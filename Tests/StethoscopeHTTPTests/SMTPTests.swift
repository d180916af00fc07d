import Foundation
import StethoscopeCore
import StethoscopeHTTP
import Testing

/// The real SMTP server of Tests/fakes/fake_smtp.py (aiosmtpd), with its event log.
final class FakeSMTP: @unchecked Sendable {
    static let user = "stethoscope"
    static let password = "smtp-test-password-7f3a"
    let log: URL
    let server: FakeServer

    init(_ arguments: [String] = []) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        log = dir.appendingPathComponent("events.jsonl")
        server = try FakeServer("fake_smtp.py", ["--log", log.path, "--keep-content"] + arguments)
    }

    deinit { try? FileManager.default.removeItem(at: log.deletingLastPathComponent()) }

    var url: String { "smtp://127.0.0.1:\(server.port)" }

    func config(password: String = FakeSMTP.password, connections: Int = 1, attempts: Int = 3) -> SMTPConfig {
        SMTPConfig(
            url: url, username: Self.user, password: Secret(password), caFile: TransportTests.pem("ca.pem"),
            timeout: 30, maxConnections: connections, retryAttempts: attempts, retryBackoff: 0.01)
    }

    func events(_ kind: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["event"] as? String == kind }
    }

    /// Message-ID → recipients it arrived for, one entry per delivery (a doubled message shows twice).
    func deliveries() throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for e in try events("message") {
            out[e["message_id"] as? String ?? "?", default: []] += (e["rcpts"] as? [String] ?? [])
        }
        return out
    }
}

func mail(_ n: Int, to recipients: [String]) -> SMTPMessage {
    let id = "<m\(n)@stethoscope.test>"
    let text =
        "From: IT <it@corp.test>\r\nTo: \(recipients.joined(separator: ", "))\r\nMessage-ID: \(id)\r\n"
        + "Subject: make it turn green \(n)\r\n\r\nHello,\r\n.a line starting with a dot\r\nbye\r\n"
    return SMTPMessage(id: id, from: "it@corp.test", recipients: recipients, data: Array(text.utf8))
}

@Suite struct SMTPTests {
    @Test func manyMessagesOverOneConnectionArriveExactlyOnceAndIntact() async throws {
        let fake = try FakeSMTP()
        let messages = (1...30).map { mail($0, to: ["person\($0)@corp.test"]) }
        let results = await SMTPTransport(fake.config(connections: 1)).send(messages)
        #expect(results.map(\.id) == messages.map(\.id))
        #expect(results.allSatisfy { $0.allSent && $0.attempts == 1 })
        let delivered = try fake.deliveries()
        for n in 1...30 { #expect(delivered["<m\(n)@stethoscope.test>"] == ["person\(n)@corp.test"]) }
        #expect(try fake.events("message").count == 30)
        #expect(try fake.events("connect").count == 1)
        #expect(try fake.events("starttls").count == 1)
        #expect(try fake.events("auth").map { $0["ok"] as? Bool } == [true])
        // Bytes as given (the dot-stuffed line is unstuffed by the server).
        #expect(try fake.events("message").first?["content"] as? String == String(decoding: messages[0].data, as: UTF8.self))
    }

    @Test func aPoolNeverOpensMoreConnectionsThanConfigured() async throws {
        let fake = try FakeSMTP()
        let messages = (1...40).map { mail($0, to: ["p\($0)@corp.test"]) }
        let results = await SMTPTransport(fake.config(connections: 2)).send(messages)
        #expect(results.allSatisfy { $0.allSent })
        #expect(try fake.events("message").count == 40)
        #expect(Set(try fake.deliveries().keys).count == 40)
        #expect(try fake.events("connect").count <= 2)
    }

    @Test func oneRefusedRecipientIsPermanentAndAGreylistedOneIsRetriedAlone() async throws {
        let fake = try FakeSMTP(["--rcpt-550", "gone@corp.test", "--rcpt-451", "grey@corp.test:1"])
        let message = mail(1, to: ["ok@corp.test", "gone@corp.test", "grey@corp.test"])
        let results = await SMTPTransport(fake.config()).send([message, mail(2, to: ["other@corp.test"])])
        let outcomes = Dictionary(uniqueKeysWithValues: results[0].recipients.map { ($0.address, $0.outcome) })
        #expect(outcomes["ok@corp.test"] == .sent)
        #expect(outcomes["grey@corp.test"] == .sent)
        guard case .permanent(let why) = outcomes["gone@corp.test"] else {
            Issue.record("expected permanent")
            return
        }
        #expect(why.contains("550"))
        #expect(results[0].attempts == 2)
        #expect(results[1].allSent)
        // The first transaction carried ok@, the retry grey@ only; gone@ was asked once and never again.
        #expect(try fake.deliveries()["<m1@stethoscope.test>"] == ["ok@corp.test", "grey@corp.test"])
        let refusals = try fake.events("refused").map { "\($0["rcpt"] as? String ?? "") \($0["code"] as? Int ?? 0)" }
        #expect(refusals.sorted() == ["gone@corp.test 550", "grey@corp.test 451"])
    }

    @Test func greylistingThatOutlastsTheAttemptsIsTemporary() async throws {
        let fake = try FakeSMTP(["--rcpt-451", "grey@corp.test:10"])
        let results = await SMTPTransport(fake.config(attempts: 3)).send([mail(1, to: ["grey@corp.test"]), mail(2, to: ["b@corp.test"])])
        guard case .temporary(let why) = results[0].recipients[0].outcome else {
            Issue.record("expected temporary")
            return
        }
        #expect(why.contains("451"))
        #expect(results[0].attempts == 3)
        #expect(results[1].allSent)  // one recipient's trouble does not stop the batch
        #expect(try fake.events("refused").count == 3)
    }

    @Test func a421GreetingIsRetriedOnANewConnection() async throws {
        let fake = try FakeSMTP(["--connect-421", "1"])
        let results = await SMTPTransport(fake.config()).send((1...3).map { mail($0, to: ["p\($0)@corp.test"]) })
        #expect(results.allSatisfy { $0.allSent })
        #expect(results[0].attempts == 2)
        #expect(try fake.events("connect").count == 2)
        #expect(try fake.events("message").count == 3)
    }

    @Test func aServerThatKeepsRefusingStopsTheBatchAfterItsAttempts() async throws {
        let fake = try FakeSMTP(["--connect-421", "100"])
        let results = await SMTPTransport(fake.config(attempts: 2)).send((1...20).map { mail($0, to: ["p\($0)@corp.test"]) })
        for r in results {
            guard case .temporary(let why) = r.recipients[0].outcome else {
                Issue.record("expected temporary")
                continue
            }
            #expect(why.contains("421"))
        }
        #expect(results[1...].allSatisfy { $0.attempts == 0 })
        #expect(try fake.events("connect").count == 2)  // not 2 per message
    }

    @Test func aConnectionDroppedMidDataIsRetriedAndNothingIsLostOrDoubled() async throws {
        let fake = try FakeSMTP(["--drop-data", "2"])
        let messages = (1...6).map { mail($0, to: ["p\($0)@corp.test", "boss\($0)@corp.test"]) }
        let results = await SMTPTransport(fake.config()).send(messages)
        #expect(results.allSatisfy { $0.allSent })
        #expect(results[1].attempts == 2)
        #expect(try fake.events("dropped").count == 1)
        let delivered = try fake.deliveries()
        for n in 1...6 { #expect(delivered["<m\(n)@stethoscope.test>"] == ["p\(n)@corp.test", "boss\(n)@corp.test"]) }
        #expect(try fake.events("message").count == 6)
    }

    @Test func missingStartTLSIsAnErrorWhenRequired() async throws {
        let fake = try FakeSMTP(["--no-starttls"])
        let error = await #expect(throws: SMTPError.self) { try await SMTPTransport(fake.config()).check() }
        #expect(error?.description.contains("STARTTLS") == true)
        let results = await SMTPTransport(fake.config()).send([mail(1, to: ["a@corp.test"]), mail(2, to: ["b@corp.test"])])
        #expect(results.allSatisfy { if case .temporary = $0.recipients[0].outcome { true } else { false } })
        #expect(results[1].attempts == 0)
        #expect(try fake.events("auth").isEmpty)  // the password never went out in clear
        #expect(try fake.events("message").isEmpty)
    }

    @Test func aRefusedLoginNamesThe535ButNeverThePassword() async throws {
        let fake = try FakeSMTP()
        let wrong = "wrong-password-9d2c-unique"
        let error = await #expect(throws: SMTPError.self) { try await SMTPTransport(fake.config(password: wrong)).check() }
        let text = error?.description ?? ""
        #expect(text.contains("535"))
        #expect(!text.contains(wrong))
        let results = await SMTPTransport(fake.config(password: wrong)).send((1...5).map { mail($0, to: ["p\($0)@corp.test"]) })
        for r in results {
            guard case .temporary(let why) = r.recipients[0].outcome else {
                Issue.record("expected temporary")
                continue
            }
            #expect(why.contains("535") || why.contains("not attempted"))
            #expect(!why.contains(wrong))
        }
        #expect(results[0].attempts == 1)  // a refused login is not retried
        #expect(try fake.events("message").isEmpty)
        #expect(try fake.events("auth").count == 2)  // one for check(), one for the batch
    }

    @Test func checkConnectsUpgradesAndLogsInButSendsNothing() async throws {
        let fake = try FakeSMTP()
        try await SMTPTransport(fake.config()).check()
        #expect(try fake.events("connect").count == 1)
        #expect(try fake.events("starttls").count == 1)
        #expect(try fake.events("auth").map { $0["ok"] as? Bool } == [true])
        #expect(try fake.events("message").isEmpty)
    }

    @Test func smtpsIsTLSFromTheFirstByte() async throws {
        let fake = try FakeSMTP(["--smtps"])
        var config = fake.config()
        config.url = "smtps://127.0.0.1:\(fake.server.port)"
        let results = await SMTPTransport(config).send([mail(1, to: ["a@corp.test"])])
        #expect(results[0].allSent)
        #expect(try fake.events("starttls").isEmpty)
        #expect(try fake.deliveries()["<m1@stethoscope.test>"] == ["a@corp.test"])
    }

    @Test func configDefaultsToRequiredStartTLSAndRefusesUnsafeSettings() throws {
        func parse(_ yaml: String) throws -> SMTPConfig {
            try SMTPConfig(section: ConfigSection.parse(yaml: yaml, environment: ["SMTP_PW": "pw-from-env-1234"]))
        }
        let c = try parse("url: smtp://mail.corp.test:587\nusername: bot\npassword: ${SMTP_PW}\n")
        #expect(c.starttls == .required)
        #expect(c.maxConnections == 2)
        #expect(c.password?.reveal() == "pw-from-env-1234")
        let off = #expect(throws: ConfigError.self) { try parse("url: smtp://mail.corp.test\nstarttls: off\n") }
        #expect(off?.path == "starttls")
        #expect(throws: ConfigError.self) { try parse("url: smtp://mail.corp.test\nstarttls: optional\nusername: bot\npassword: ${SMTP_PW}\n") }
        #expect(throws: ConfigError.self) { try parse("url: http://mail.corp.test\n") }
        #expect(throws: ConfigError.self) { try parse("url: smtp://bot:pw@mail.corp.test\n") }
        #expect(throws: ConfigError.self) { try parse("url: smtp://mail.corp.test\nmax_conections: 3\n") }
        #expect(try parse("url: smtp://127.0.0.1:2525\nstarttls: off\n").starttls == .off)
    }
}
