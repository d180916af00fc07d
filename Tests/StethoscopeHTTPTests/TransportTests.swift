import Foundation
import StethoscopeCore
import StethoscopeHTTP
import Testing

/// TLS, compression, broken transfers and cancellation against the fake over real sockets.
@Suite struct TransportTests {
    static let tls = FakeServer.fakes.appendingPathComponent("tls")
    static func pem(_ name: String) -> String { tls.appendingPathComponent(name).path }
    static let tlsArguments = ["--generate", "2", "--tls-cert", pem("server.pem"), "--tls-key", pem("server.key")]

    func session(_ base: String, tls: TLSOptions = TLSOptions(), retries: Int = 0) -> SourceHTTP {
        var o = HTTPOptions()
        o.tls = tls
        o.retry = RetryPolicy(maxAttempts: retries + 1, baseDelay: 0.01, maxDelay: 0.02, maxTotalWait: 1)
        return SourceHTTP(
            client: HTTPClient.shared, source: "tls-test", baseURL: base,
            auth: JamfUserAuth(user: "batch", password: Secret("hunter2-password")), options: o)
    }

    @Test func tlsIsVerifiedAndTrustsAConfiguredBundle() async throws {
        let fake = try FakeServer("fake_jamf.py", Self.tlsArguments)
        let base = "https://127.0.0.1:\(fake.port)"
        let untrusted = await #expect(throws: HTTPError.self) { try await session(base, retries: 2).get(HTTPClientTests.inventory, figures: nil) }
        #expect(untrusted?.kind == .tls)
        #expect(untrusted?.attempts == 1)  // a certificate problem is not retried
        let trusted = try await session(base, tls: TLSOptions(caFile: Self.pem("ca.pem"))).get(HTTPClientTests.inventory, figures: nil)
        #expect(trusted.status == 200)
    }

    @Test func clientCertificatesForMutualTLS() async throws {
        let fake = try FakeServer("fake_jamf.py", Self.tlsArguments + ["--tls-client-ca", Self.pem("ca.pem")])
        let base = "https://127.0.0.1:\(fake.port)"
        await #expect(throws: HTTPError.self) {
            try await session(base, tls: TLSOptions(caFile: Self.pem("ca.pem"))).get(HTTPClientTests.inventory, figures: nil)
        }
        let withCert = TLSOptions(caFile: Self.pem("ca.pem"), clientCert: Self.pem("client.pem"), clientKey: Self.pem("client.key"))
        #expect(try await session(base, tls: withCert).get(HTTPClientTests.inventory, figures: nil).status == 200)
    }

    @Test func gzipIsAcceptedAndCountedOnTheWire() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "50", "--gzip"])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let r = try await session(fake.url).get("/api/v3/computers-inventory?section=GENERAL&section=HARDWARE&page-size=50&sort=id:asc", figures: figures)
        #expect(r.wireBytes < r.body.count / 2)
        #expect(r.body.starts(with: Data("{\"totalCount\":50".utf8)))
        #expect(figures.snapshot().bytes < r.body.count)
    }

    @Test func aConnectionDroppedMidBodyIsRetried() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "2"])
        try await fake.fault([["mode": "close", "path": "/api/v3/", "count": 1]])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let r = try await session(fake.url, retries: 2).get(HTTPClientTests.inventory, figures: figures)
        #expect(r.status == 200 && r.attempts == 2)
        #expect(figures.snapshot().retries == 1)
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "2"])
        try await fake.fault([["mode": "slow", "path": "/api/v3/", "count": 1, "delay_s": 20]])
        let http = session(fake.url)
        let task = Task { try await http.get(HTTPClientTests.inventory, figures: nil) }
        try await Task.sleep(nanoseconds: 300_000_000)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
