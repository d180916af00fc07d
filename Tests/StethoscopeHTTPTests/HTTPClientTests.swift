import Foundation
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The client against the strict fake Jamf server over real sockets.
@Suite struct HTTPClientTests {
    static let inventory = "/api/v3/computers-inventory?section=GENERAL&page=0&page-size=2&sort=id:asc"

    func session(
        _ fake: FakeServer, auth: (any HTTPAuth)? = JamfUserAuth(user: "batch", password: Secret("hunter2-password")),
        retries: Int = 3, timeout: Double = 10, maxBytes: Int = 1 << 20, connections: Int = 4
    ) -> SourceHTTP {
        var o = HTTPOptions()
        o.retry = RetryPolicy(maxAttempts: retries + 1, baseDelay: 0.01, maxDelay: 0.05, maxTotalWait: 5)
        o.timeouts = HTTPTimeouts(connect: 2, total: timeout)
        o.maxResponseBytes = maxBytes
        o.maxConnections = connections
        return SourceHTTP(client: HTTPClient.shared, source: "jamf-\(fake.port)", baseURL: fake.url, auth: auth, options: o)
    }

    @Test func fiveHundredThenSuccessIsRetriedAndCounted() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "3"])
        try await fake.fault([["mode": "500", "path": "/api/v3/", "count": 2]])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let r = try await session(fake).get(Self.inventory, figures: figures)
        #expect(r.status == 200)
        #expect(r.attempts == 3)
        let f = figures.snapshot()
        #expect(f.retries == 2)
        #expect(f.requests == 4)  // auth + 3 attempts
        #expect(f.errors.isEmpty)
    }

    @Test func retriesStopAtTheAttemptCap() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "3"])
        try await fake.fault([["mode": "503", "path": "/api/v3/", "count": 10]])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let error = await #expect(throws: HTTPError.self) { try await session(fake, retries: 2).get(Self.inventory, label: "page 0", figures: figures) }
        #expect(error?.status == 503)
        #expect(error?.attempts == 3)
        #expect(error?.description.contains("jamf-\(fake.port)") == true)
        #expect(error?.description.contains("page 0") == true)
        #expect(figures.snapshot().retries == 2)
        #expect(figures.snapshot().errors["http_503"] == 1)
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "3"])
        // Retry-After 0: retried at once. Retry-After beyond the total-wait budget: given up without waiting.
        try await fake.fault([["mode": "429", "path": "/api/v3/", "count": 1, "retry_after": "0"]])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let ok = try await session(fake).get(Self.inventory, figures: figures)
        #expect(ok.attempts == 2)
        try await fake.fault([["mode": "429", "path": "/api/v3/", "count": 1, "retry_after": "3600"]])
        let error = await #expect(throws: HTTPError.self) { try await session(fake).get(Self.inventory, figures: figures) }
        #expect(error?.status == 429)
        #expect(error?.attempts == 1)
        #expect(figures.snapshot().retries == 1)
    }

    @Test func otherClientErrorsAreNotRetried() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "3"])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let error = await #expect(throws: HTTPError.self) {
            try await session(fake).get("/api/v3/computers-inventory?sections=GENERAL", figures: figures)
        }
        #expect(error?.status == 400)
        #expect(error?.attempts == 1)
        #expect(figures.snapshot().retries == 0)
    }

    @Test func slowAnswerTimesOutThenRetrySucceeds() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "3"])
        try await fake.fault([["mode": "slow", "path": "/api/v3/", "count": 1, "delay_s": 9]])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let r = try await session(fake, timeout: 3).get(Self.inventory, figures: figures)
        #expect(r.attempts == 2)
        #expect(figures.snapshot().errors.isEmpty)
        try await fake.fault([["mode": "slow", "path": "/api/v3/", "count": 1, "delay_s": 9]])
        let error = await #expect(throws: HTTPError.self) { try await session(fake, retries: 0, timeout: 3).get(Self.inventory, figures: figures) }
        #expect(error?.kind == .timeout)
        #expect(figures.snapshot().errors["timeout"] == 1)
    }

    @Test func connectionRefusedIsAConnectErrorAfterRetries() async throws {
        // A port bound but never listened on refuses connections, and no other test's server can take it meanwhile
        // (a port freed by a stopped server could be reused by a server another test starts).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        var o = HTTPOptions()
        o.retry = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.02, maxTotalWait: 1)
        let http = SourceHTTP(client: HTTPClient.shared, source: "gone", baseURL: "http://127.0.0.1:\(port)", auth: nil, options: o)
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let error = await #expect(throws: HTTPError.self) { try await http.get("/x", figures: figures) }
        #expect(error?.kind == .connect)
        #expect(error?.attempts == 3)
        #expect(figures.snapshot().errors["connect"] == 1)
    }

    @Test func responsesOverTheSizeLimitFail() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "50"])
        let error = await #expect(throws: HTTPError.self) {
            try await session(fake, maxBytes: 2000).get("/api/v3/computers-inventory?section=GENERAL&page-size=50&sort=id:asc", figures: nil)
        }
        #expect(error?.kind == .tooLarge)
    }

    @Test func concurrencyStaysWithinTheSourceLimit() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "3", "--latency-ms", "100"])
        let http = session(fake, auth: JamfUserAuth(user: "batch", password: Secret("hunter2-password")), connections: 3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 { group.addTask { _ = try await http.get(Self.inventory, figures: nil) } }
            try await group.waitForAll()
        }
        let stats = try await fake.stats()
        #expect(stats.maxInFlight <= 3)
        #expect(stats.maxInFlight >= 2)
        #expect(stats.paths["/api/v1/auth/token"] == 1)  // one token for all concurrent requests
    }
}

/// Issue 14, HTTP layer: credentials at send time, renewals, decode retries, honest request counts, vendor auth errors.
@Suite struct CredentialsAtSendTests {
    @Test func aCrawlLongerThanTheTokenLifetimeFinishes() async throws {
        // 3 s tokens; 160 one-computer pages at 200 ms each behind 5 connections: about 6.5 s, over two lifetimes.
        // Attaching the token when a page is queued sent most pages with a dead token (and their one re-try too).
        // The night runs in the `stethoscope` binary, so this test's timing does not depend on how busy the test
        // process's thread pool is, and its figures are read back from `run_sources`.
        let fake = try FakeServer("fake_jamf.py", ["--generate", "160", "--token-ttl", "3", "--latency-ms", "200"])
        let dir = try temporaryDirectory()
        let config = dir.appendingPathComponent("c.yaml")
        try """
        database: \(dir.path)/s.db
        sources:
          - {name: jamf-long, type: jamf, url: "\(fake.url)", username: batch, password: hunter2-password, page_size: 1,
             applications: false, services: false, retry_base_s: 0.01}
        """.write(to: config, atomically: true, encoding: .utf8)
        let status = try await Self.stethoscope(["run", "--config", config.path, "--as-of", "2026-03-02"])
        #expect(status == 0)
        let db = try SnapshotStore(path: dir.appendingPathComponent("s.db")).database
        let row = try db.prepare("SELECT status, records, requests, retries, errors FROM run_sources WHERE as_of = '2026-03-02' AND source = 'jamf-long'")
        #expect(try row.step())
        #expect(row.string(0) == "ok")
        #expect(row.int(1) == 160)
        let stats = try await fake.stats()
        let tokens = stats.paths["/api/v1/auth/token"] ?? 0
        #expect(tokens >= 2)  // the crawl outlived a token
        // Requests and retries are what the server saw; at most one 401 per renewal, each re-sent, none failed.
        #expect(row.int(2) == stats.paths.values.reduce(0, +))
        let errors = try JSONDecoder().decode([String: Int].self, from: Data((row.string(4) ?? "{}").utf8))
        #expect(errors.keys.allSatisfy { $0 == "http_401" }, "\(errors)")
        #expect((errors["http_401"] ?? 0) <= tokens - 1)
        #expect(row.int(3) == (errors["http_401"] ?? 0))
    }

    /// Runs the built binary without blocking a thread of the test process while it works.
    static func stethoscope(_ arguments: [String]) async throws -> Int32 {
        var binary = URL(fileURLWithPath: ".build/debug/stethoscope")
        if let path = ProcessInfo.processInfo.environment["STETHOSCOPE_BIN"] {
            binary = URL(fileURLWithPath: path)
        } else {
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for _ in 0..<4 where !FileManager.default.isExecutableFile(atPath: binary.path) {
                binary = dir.appendingPathComponent("stethoscope")
                dir = dir.deletingLastPathComponent()
            }
        }
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        return try await withCheckedThrowingContinuation { continuation in
            p.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch {
                p.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }

    @Test func concurrent401sOfOneTokenShareOneRenewal() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "3", "--latency-ms", "300"])
        var o = HTTPOptions()
        o.retry = RetryPolicy(maxAttempts: 2, baseDelay: 0.01, maxDelay: 0.02, maxTotalWait: 1)
        o.maxConnections = 4
        let http = SourceHTTP(
            client: HTTPClient.shared, source: "jamf-share-\(fake.port)", baseURL: fake.url,
            auth: JamfUserAuth(user: "batch", password: Secret("hunter2-password")), options: o)
        _ = try await http.get(HTTPClientTests.inventory, figures: nil)
        // The first of four concurrent requests revokes every token; all four carry the same dead one.
        try await fake.fault([["mode": "expire_tokens", "path": "/api/v3/", "count": 1]])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await http.get(HTTPClientTests.inventory, figures: figures) } }
            try await group.waitForAll()
        }
        #expect(try await fake.stats().paths["/api/v1/auth/token"] == 2)  // one renewal for the generation
        let f = figures.snapshot()
        #expect(f.errors["http_401"] == f.retries)
        #expect(f.retries >= 1)
    }

    @Test func libcurlsOwnResendOnADeadReusedConnectionIsCounted() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "3"])
        var o = HTTPOptions()
        o.retry = RetryPolicy(maxAttempts: 1, baseDelay: 0.01, maxDelay: 0.02, maxTotalWait: 1)
        // A client of its own, so no other test's transfers prune the connection this test reuses.
        let client = HTTPClient()
        let http = SourceHTTP(
            client: client, source: "jamf-reuse-\(fake.port)", baseURL: fake.url,
            auth: JamfUserAuth(user: "batch", password: Secret("hunter2-password")), options: o)
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        _ = try await http.get(HTTPClientTests.inventory, figures: figures)  // opens (and keeps) a connection
        try await fake.fault([["mode": "drop_reused", "path": "/api/v3/", "count": 1]])
        let r = try await http.get(HTTPClientTests.inventory, figures: figures)
        #expect(r.status == 200)
        let stats = try await fake.stats()
        #expect(stats.paths["/api/v3/computers-inventory"] == 3)  // 1 + the dropped one + curl's re-send
        let f = figures.snapshot()
        #expect(f.requests == stats.paths.values.reduce(0, +))
        #expect(f.retries == 1)
        #expect(r.attempts == 2)
    }

    @Test func a200ThatDoesNotParseIsFetchedAgain() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "3"])
        var o = HTTPOptions()
        o.retry = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.02, maxTotalWait: 1)
        let http = SourceHTTP(
            client: HTTPClient.shared, source: "jamf-parse-\(fake.port)", baseURL: fake.url,
            auth: JamfUserAuth(user: "batch", password: Secret("hunter2-password")), options: o)
        struct Page: Decodable { var totalCount: Int }
        try await fake.fault([["mode": "malformed", "path": "/api/v3/", "count": 1], ["mode": "truncated", "path": "/api/v3/", "count": 1]])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let page = try await http.getJSON(Page.self, HTTPClientTests.inventory, what: "page 0", figures: figures)
        #expect(page.totalCount == 3)
        #expect(figures.snapshot().retries == 2)
        #expect(figures.snapshot().requests == 4)  // token + 3 attempts
        // Beyond the budget: the page fails, named, as malformed.
        try await fake.fault([["mode": "malformed", "path": "/api/v3/", "count": 3]])
        let error = await #expect(throws: HTTPError.self) { try await http.getJSON(Page.self, HTTPClientTests.inventory, what: "page 0", figures: figures) }
        #expect(error?.kind == .decode)
        #expect(error?.description.hasPrefix("jamf-parse-\(fake.port): page 0: malformed JSON") == true)
        #expect(error?.attempts == 3)
    }

    @Test func authenticationFailuresNameTheVendorsCodeNeverTheSecret() async throws {
        let graph = try FakeServer("fake_graph.py")
        var o = HTTPOptions()
        o.retry = .none
        let entra = SourceHTTP(
            client: HTTPClient.shared, source: "entra", baseURL: graph.url,
            auth: OAuthClientCredentials(
                tokenURL: "/contoso.onmicrosoft.com/oauth2/v2.0/token", clientID: "11111111-2222-3333-4444-555555555555",
                clientSecret: Secret("wrong-SECRET-graph"), scope: "https://graph.microsoft.com/.default"),
            options: o)
        let e1 = await #expect(throws: HTTPError.self) { try await entra.get("/deviceManagement/managedDevices", figures: nil) }
        #expect(e1?.kind == .auth)
        #expect(e1?.description.contains("invalid_client") == true)
        #expect(e1?.description.contains("AADSTS7000215") == true)
        #expect(e1?.description.contains("SECRET") == false)
        let jamf = try FakeServer("fake_jamf.py")
        let client = SourceHTTP(
            client: HTTPClient.shared, source: "jamf", baseURL: jamf.url,
            auth: OAuthClientCredentials(tokenURL: "/api/oauth/token", clientID: "stethoscope", clientSecret: Secret("nope-QUUX")), options: o)
        let e2 = await #expect(throws: HTTPError.self) { try await client.get(HTTPClientTests.inventory, figures: nil) }
        #expect(e2?.description.contains("invalid_client") == true)
        #expect(e2?.description.contains("QUUX") == false)
    }

    @Test func retryBudgetIsConfigurableWithVendorDefaults() throws {
        func options(_ yaml: String, _ vendor: RetryPolicy) throws -> RetryPolicy {
            let config = try StethoscopeConfig.parse(yaml: "sources:\n  - {name: s, type: t\(yaml)}", environment: [:])
            let s = config.sources[0].section
            let o = try HTTPOptions.read(s, defaultRetry: vendor)
            try s.finish(allowing: ["type", "name"])
            return o.retry
        }
        #expect(try options("", .google) == RetryPolicy.google)
        #expect(RetryPolicy.google.maxDelay == 32 && RetryPolicy.google.baseDelay == 1)
        #expect(try options("", .graph) == RetryPolicy.graph)
        let custom = try options(", retries: 2, retry_base_s: 0.25, retry_max_delay_s: 4, retry_max_wait_s: 9", .google)
        #expect(custom == RetryPolicy(maxAttempts: 3, baseDelay: 0.25, maxDelay: 4, maxTotalWait: 9))
    }
}

@Suite struct AuthTests {
    func session(_ fake: FakeServer, _ auth: any HTTPAuth) -> SourceHTTP {
        var o = HTTPOptions()
        o.retry = RetryPolicy(maxAttempts: 2, baseDelay: 0.01, maxDelay: 0.02, maxTotalWait: 1)
        return SourceHTTP(client: HTTPClient.shared, source: "jamf", baseURL: fake.url, auth: auth, options: o)
    }

    @Test func jamfUserReauthenticatesOnceOn401() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "2"])
        let http = session(fake, JamfUserAuth(user: "batch", password: Secret("hunter2-password")))
        _ = try await http.get(HTTPClientTests.inventory, figures: nil)
        try await fake.fault([["mode": "401", "path": "/api/v3/", "count": 1]])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let r = try await http.get(HTTPClientTests.inventory, figures: figures)
        #expect(r.status == 200)
        #expect(try await fake.stats().paths["/api/v1/auth/token"] == 2)
        #expect(figures.snapshot().errors["http_401"] == 1)
        // Two 401s in a row: one re-auth only, then the error.
        try await fake.fault([["mode": "401", "path": "/api/v3/", "count": 2]])
        await #expect(throws: HTTPError.self) { try await http.get(HTTPClientTests.inventory, figures: figures) }
    }

    /// Renewal at 80% of the lifetime, judged by a clock the test moves (no sleeping: a loaded CI machine made
    /// the old wall-clock version flaky): at 78% the token is reused, at 90% a new one is fetched first. The clock
    /// stands still between moves, so however slow the machine the test sees only the times it sets.
    @Test func expiringTokensAreRenewedBeforeExpiry() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "2", "--token-ttl", "600"])
        let clock = MovableClock()
        let http = session(fake, JamfUserAuth(user: "batch", password: Secret("hunter2-password"), now: clock.now))
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        _ = try await http.get(HTTPClientTests.inventory, figures: figures)
        clock.advance(468)  // 78% of 600 s
        _ = try await http.get(HTTPClientTests.inventory, figures: figures)
        #expect(try await fake.stats().paths["/api/v1/auth/token"] == 1)
        clock.advance(72)  // 90%
        _ = try await http.get(HTTPClientTests.inventory, figures: figures)
        #expect(try await fake.stats().paths["/api/v1/auth/token"] == 2)
        #expect(figures.snapshot().errors.isEmpty)  // never sent an expired token
    }

    @Test func badPasswordFailsWithoutLeakingIt() async throws {
        let fake = try FakeServer("fake_jamf.py")
        let http = session(fake, JamfUserAuth(user: "batch", password: Secret("wrong-pass-XYZZY")))
        let error = await #expect(throws: HTTPError.self) { try await http.get(HTTPClientTests.inventory, figures: nil) }
        let text = String(describing: error) + "\(error.map { $0.description } ?? "")"
        #expect(error?.kind == .auth)
        #expect(error?.status == 401)
        #expect(!text.contains("XYZZY"))
        #expect(!text.contains(Data("batch:wrong-pass-XYZZY".utf8).base64EncodedString()))
    }

    @Test func oauthClientCredentials() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "2"])
        let good = session(fake, OAuthClientCredentials(tokenURL: "/api/oauth/token", clientID: "stethoscope", clientSecret: Secret("s3cret-client")))
        #expect(try await good.get(HTTPClientTests.inventory, figures: nil).status == 200)
        let bad = session(fake, OAuthClientCredentials(tokenURL: "/api/oauth/token", clientID: "stethoscope", clientSecret: Secret("nope-QUUX")))
        let error = await #expect(throws: HTTPError.self) { try await bad.get(HTTPClientTests.inventory, figures: nil) }
        #expect(error?.kind == .auth)
        #expect(error?.description.contains("QUUX") == false)
    }

    @Test func credentialsEchoedByTheServerAreBlanked() async throws {
        let fake = try FakeServer(
            "fake_fleet.py",
            [
                "--fixture", FakeServer.repo.appendingPathComponent("Sources/StethoscopeSources/Plugins/fleet/fixtures/hosts.json").path,
                "--token", "tok-ECHO-42"
            ])
        try await fake.fault([["mode": "echo_auth", "path": "/api/v1/fleet/me", "count": 1]])
        let error = await #expect(throws: HTTPError.self) {
            try await session(fake, StaticBearer(token: Secret("tok-ECHO-42"))).get("/api/v1/fleet/me", figures: nil)
        }
        #expect(error?.status == 400)
        #expect(error?.description.contains("bad request from") == true)
        #expect(error?.description.contains("ECHO") == false)
    }

    /// The echoed token crosses the 200-byte cut of the quoted body: redacting after the cut would leave its start.
    @Test func aCredentialCrossingTheCutOfAnErrorBodyLeavesNoPrefix() async throws {
        let token = "tok-CUT-" + UUID().uuidString
        let fake = try FakeServer(
            "fake_fleet.py",
            [
                "--fixture", FakeServer.repo.appendingPathComponent("Sources/StethoscopeSources/Plugins/fleet/fixtures/hosts.json").path,
                "--token", token
            ])
        // 170 filler bytes + "bad request from Bearer " (24): the token starts at byte 194.
        try await fake.fault([["mode": "echo_auth", "path": "/api/v1/fleet/me", "count": 1, "pad": 170]])
        let error = await #expect(throws: HTTPError.self) {
            try await session(fake, StaticBearer(token: Secret(token))).get("/api/v1/fleet/me", figures: nil)
        }
        #expect(error?.description.contains("xxxxxxxxxx") == true)
        #expect(error?.description.contains("tok-CU") == false, "\(error?.description ?? "")")
    }

    /// A secret the config resolved for another source (here a second token) is blanked in this source's error
    /// too: the server echoes a credential this request did not send.
    @Test func anyResolvedSecretIsBlankedInAnotherSourcesError() async throws {
        let own = "tok-OWN-" + UUID().uuidString
        let other = Secret("other-source-" + UUID().uuidString)
        let fake = try FakeServer(
            "fake_fleet.py",
            [
                "--fixture", FakeServer.repo.appendingPathComponent("Sources/StethoscopeSources/Plugins/fleet/fixtures/hosts.json").path,
                "--token", own
            ])
        try await fake.fault([["mode": "echo_500", "path": "/api/v1/fleet/me", "count": 10]])
        let error = await #expect(throws: HTTPError.self) {
            try await session(fake, StaticBearer(token: Secret(own))).get("/api/v1/fleet/me?note=" + other.reveal(), figures: nil)
        }
        #expect(error?.description.contains("HTTP 500") == true)
        #expect(error?.description.contains("other-source") == false, "\(error?.description ?? "")")
    }

    @Test func staticBearerIsRequired() async throws {
        let fake = try FakeServer("fake_jamf.py", ["--generate", "2"])
        let error = await #expect(throws: HTTPError.self) {
            try await session(fake, StaticBearer(token: Secret("not-a-token-FOO"))).get(HTTPClientTests.inventory, figures: nil)
        }
        #expect(error?.status == 401)
        #expect(error?.description.contains("FOO") == false)
    }
}

@Suite struct RetryPolicyTests {
    @Test func retryAfterSecondsAndDates() {
        let now = Date(timeIntervalSince1970: 1_772_421_044)
        #expect(RetryPolicy.parseRetryAfter("7", now: now) == 7)
        let date = "Mon, 02 Mar 2026 03:11:44 GMT"  // 60 s after now
        #expect(RetryPolicy.parseRetryAfter(date, now: now) == 60)
        #expect(RetryPolicy.parseRetryAfter("soon", now: now) == nil)
        #expect(RetryPolicy.parseRetryAfter(nil, now: now) == nil)
    }

    @Test func backoffGrowsWithJitterUpToTheCap() {
        let p = RetryPolicy(maxAttempts: 10, baseDelay: 1, maxDelay: 8, maxTotalWait: 100)
        for attempt in 1...6 {
            let d = p.delay(afterAttempt: attempt, retryAfter: nil)
            let ceiling = min(8, pow(2, Double(attempt - 1)))
            #expect(d >= ceiling / 2 && d <= ceiling)
        }
        #expect(p.delay(afterAttempt: 1, retryAfter: 12) == 12)
        #expect(RetryPolicy.isRetryable(status: 429) && RetryPolicy.isRetryable(status: 502))
        #expect(!RetryPolicy.isRetryable(status: 404) && !RetryPolicy.isRetryable(status: 401))
    }
}

/// A clock that reads the real time once, at its first reading (for a token: when the answer arrived, so the
/// server's expiry is measured from about then however slow the machine), then stands still, moving only when told.
final class MovableClock: Sendable {
    private let state = Locked<(start: Date?, offset: TimeInterval)>((nil, 0))
    var now: @Sendable () -> Date {
        {
            self.state.withLock { s in
                let start = s.start ?? Date()
                s.start = start
                return start.addingTimeInterval(s.offset)
            }
        }
    }
    func advance(_ seconds: TimeInterval) { state.withLock { $0.offset += seconds } }
}
