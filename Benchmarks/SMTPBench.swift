import Foundation
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeTestSupport

/// 10,000 digests to the local aiosmtpd (Tests/fakes/fake_smtp.py: STARTTLS + AUTH) over one connection and
/// over the default pool of two, against Python's `smtplib` sending the same `.eml` files over one connection
/// to the same server, in alternating runs (best of each); then the transport's RSS growth for 2,000 vs
/// 10,000 messages. The server (Python, one thread) sets most of the pace; the ratio shows the client's share.
func benchSMTP() async throws {
    let count = 10_000
    let rounds = 3
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let ca = TestPaths.fakes.appendingPathComponent("tls/ca.pem").path
    let fake = try FakeServer("fake_smtp.py", ["--log", dir.appendingPathComponent("events.jsonl").path])

    let messages = (0..<count).map { benchDigest($0) }
    let emlDir = dir.appendingPathComponent("eml")
    try FileManager.default.createDirectory(at: emlDir, withIntermediateDirectories: true)
    for (i, m) in messages.enumerated() {
        try Data(m.data).write(to: emlDir.appendingPathComponent(String(format: "%05d.eml", i)))
    }
    func transport(_ connections: Int) -> SMTPTransport {
        SMTPTransport(
            SMTPConfig(
                url: "smtp://127.0.0.1:\(fake.port)", username: "stethoscope", password: Secret("smtp-test-password-7f3a"),
                caFile: ca, timeout: 60, maxConnections: connections, retryAttempts: 3, retryBackoff: 0.1))
    }
    let one = transport(1)
    let pooled = transport(2)
    let clock = ContinuousClock()
    func seconds(_ d: Duration) -> Double { d.seconds }
    func timed(_ t: SMTPTransport) async throws -> Double {
        var results: [SMTPResult] = []
        let wall = await clock.measure { results = await t.send(messages) }
        let sent = results.filter(\.allSent).count
        guard sent == count else { throw SMTPError(description: "bench: only \(sent) of \(count) messages sent") }
        return seconds(wall)
    }

    // Alternating runs on the same server, best of each: one connection like smtplib, and the default pool of 2.
    var oneBest = Double.infinity
    var pooledBest = Double.infinity
    var pythonBest = Double.infinity
    for _ in 0..<rounds {
        oneBest = min(oneBest, try await timed(one))
        pythonBest = min(pythonBest, try smtplibSeconds(port: fake.port, ca: ca, emlDir: emlDir.path))
        pooledBest = min(pooledBest, try await timed(pooled))
    }
    print(
        String(
            format: "smtp.send_10k_s=%.3f smtplib_10k_s=%.3f ratio=%.3f msgs_per_s=%.0f msg_bytes=%d connections=1",
            oneBest, pythonBest, oneBest / pythonBest, Double(count) / oneBest, messages[0].data.count))
    print(
        String(
            format: "smtp.send_10k_pool2_s=%.3f ratio=%.3f msgs_per_s=%.0f connections=2",
            pooledBest, pooledBest / pythonBest, Double(count) / pooledBest))

    // Memory: the messages are built before measuring, so growth is the transport's own.
    let small = Array(messages.prefix(2_000))
    let smallGrowth = try await RSSSampler.growth { _ = await one.send(small) }
    let bigGrowth = try await RSSSampler.growth { _ = await one.send(messages) }
    print(String(format: "smtp.rss_growth_mb_2k=%.1f rss_growth_mb_10k=%.1f", smallGrowth, bigGrowth))
}

/// A person digest of realistic size: multipart text + HTML, about 3 KB.
private func benchDigest(_ i: Int) -> SMTPMessage {
    let id = "<bench-\(i)@stethoscope.test>"
    let to = "person\(i)@corp.test"
    var text =
        "From: IT Security <it@corp.test>\r\nTo: Person \(i) <\(to)>\r\nSubject: Make your devices turn green\r\n"
        + "Date: Thu, 03 Dec 2026 06:00:00 +0000\r\nMessage-ID: \(id)\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    for d in 0..<6 {
        text += "Device laptop-\(i)-\(d) (MacBook Pro, macOS): FileVault is off. Open System Settings > Privacy & Security > FileVault and turn it on.\r\n"
    }
    text += "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>"
    for d in 0..<6 {
        text += "<p style=\"margin:0\"><b>laptop-\(i)-\(d)</b>: FileVault is off. <a href=\"https://it.corp.test/filevault\">How to fix</a></p>\r\n"
    }
    text += "</body></html>\r\n--b--\r\n"
    return SMTPMessage(id: id, from: "it@corp.test", recipients: [to], data: Array(text.utf8))
}

/// Python's smtplib over one connection (STARTTLS, AUTH), the same files, bytes read before the clock starts.
private func smtplibSeconds(port: Int, ca: String, emlDir: String) throws -> Double {
    let script = """
        import os, smtplib, ssl, sys, time
        d = sys.argv[3]
        mails = []
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), 'rb') as f: mails.append(f.read())
        start = time.perf_counter()
        s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
        s.starttls(context=ssl.create_default_context(cafile=sys.argv[2]))
        s.login('stethoscope', 'smtp-test-password-7f3a')
        for i, m in enumerate(mails):
            s.sendmail('it@corp.test', ['person%d@corp.test' % i], m)
        s.quit()
        print(time.perf_counter() - start)
        """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [ProcessInfo.processInfo.environment["PYTHON"] ?? "python3", "-c", script, "\(port)", ca, emlDir]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readAllRetrying()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let s = Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
        throw SMTPError(description: "bench: smtplib run failed")
    }
    return s
}
