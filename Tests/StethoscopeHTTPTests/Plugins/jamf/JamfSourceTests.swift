import Foundation
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeSources
import Testing

@Suite struct JamfSourceTests {
    static let fixture = "Sources/StethoscopeSources/Plugins/jamf/fixtures/computers.json"

    func fake(_ extra: [String] = []) throws -> FakeServer {
        try FakeServer("fake_jamf.py", ["--fixture", FakeServer.repo.appendingPathComponent(Self.fixture).path] + extra)
    }

    func yaml(_ fake: FakeServer, _ extra: String = "") -> String {
        """
        sources:
          - name: jamf-test
            type: jamf
            url: \(fake.url)
            username: batch
            password: "${JAMF_PASSWORD}"
            page_size: 2
            retry_base_s: 0.01
        \(extra.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        """
    }

    let env = ["JAMF_PASSWORD": "hunter2-password"]

    @Test func pullsEveryPageInStableOrderAndMapsPractices() async throws {
        let fake = try fake()
        let source = try SourceHarness.source(yaml(fake), environment: env)
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let records = try await source.pull(SourceHarness.context(figures))
        #expect(records.map(\.localID) == ["101", "102", "103", "104", "105"])
        let f = figures.snapshot()
        #expect(f.pages == 3)
        #expect(f.requests == 4)  // 3 pages + 1 token
        #expect(f.records == 5)

        let a = try SourceHarness.record(records, "101")
        #expect(a.platform == .mac && a.osVersion == "14.4.1" && a.deviceName == "mbp-ajones")
        #expect(a.identifiers.contains(RawIdentifier(.serial, "FVFXC0DEQ6L4")))
        #expect(a.identifiers.contains(RawIdentifier(.udid, "5C1A9E2B-7F3D-4B8A-9C21-0D4E6F8A1B2C")))
        #expect(a.identifiers.filter { $0.kind == .mac }.count == 2)
        #expect(a.ownerHints.first == OwnerHint(.email, "ajones@example.com"))
        for p in ["encryption", "firewall", "screen_lock", "remote_login", "auto_updates"] {
            #expect(SourceHarness.status(a, p) == .ok, "101 \(p)")
        }
        #expect(a.software?.contains { $0.name == "Falcon.app" && $0.version == "7.10.17706" } == true)
        #expect(a.services?.contains(Software("com.crowdstrike.falcond")) == true)
        #expect(a.lastSync == ISO8601DateFormatter().date(from: "2026-03-02T03:58:41Z"))
        #expect(a.observations.first?.observedAt == ISO8601DateFormatter().date(from: "2026-03-01T22:14:05Z"))

        let b = try SourceHarness.record(records, "102")
        for p in ["encryption", "firewall", "screen_lock", "remote_login", "auto_updates"] {
            #expect(SourceHarness.status(b, p) != .ok && SourceHarness.status(b, p) != .unknown, "102 \(p)")
        }
        #expect(b.observations.first { $0.practice == "auto_updates" }?.value.contains("3 Install App Updates Enabled") == true)
        #expect(b.ownerHints == [OwnerHint(.username, "bchan")])

        let c = try SourceHarness.record(records, "103")
        let encrypting = try #require(c.observations.first { $0.practice == "encryption" })
        #expect(encrypting.satisfied == false && encrypting.value.contains("42%"))
        #expect(SourceHarness.status(c, "firewall") == .ok)  // from the Firewall Status EA
        #expect(c.identifiers.contains(RawIdentifier(.mac, "F0:18:98:AA:BB:CD")))  // Wireless Mac Address EA
        #expect(c.ownerHints == [OwnerHint(.username, "cdiaz")])
        #expect(!c.observations.contains { $0.practice == "sip" })  // extra practices are off by default

        let d = try SourceHarness.record(records, "104")
        #expect(SourceHarness.status(d, "encryption") == .ok)
        #expect(SourceHarness.status(d, "screen_lock") == .unknown)
    }

    @Test func configurableAttributesExtrasAndV4() async throws {
        let fake = try fake()
        let source = try SourceHarness.source(
            yaml(
                fake,
                """
                api_version: v4
                extra_practices: [sip, gatekeeper]
                extension_attributes:
                  screen_lock: Screen Lock (custom)
                """), environment: env)
        let records = try await source.pull(SourceHarness.context())
        let c = try SourceHarness.record(records, "103")
        #expect(SourceHarness.status(c, "sip") == .warn)
        #expect(SourceHarness.status(c, "gatekeeper") == .warn)
        #expect(SourceHarness.status(try SourceHarness.record(records, "101"), "sip") == .ok)
        let d = try SourceHarness.record(records, "104")
        #expect(SourceHarness.status(d, "screen_lock") == .ok)
        #expect(d.lastSync == ISO8601DateFormatter().date(from: "2026-03-02T03:58:41Z"))  // v4's lastContact
    }

    @Test func apiClientAuthAndClassicMode() async throws {
        let fake = try fake()
        let source = try SourceHarness.source(
            """
            sources:
              - {name: jamf-classic, type: jamf, url: "\(fake.url)", client_id: stethoscope, client_secret: s3cret-client, mode: classic}
            """)
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let records = try await source.pull(SourceHarness.context(figures))
        #expect(records.map(\.localID) == ["101", "102", "103", "104", "105"])
        #expect(figures.snapshot().requests == 7)  // token + list + 5 computers
        let a = try SourceHarness.record(records, "101")
        let b = try SourceHarness.record(records, "102")
        for p in ["encryption", "firewall", "screen_lock", "remote_login", "auto_updates"] {
            #expect(SourceHarness.status(a, p) == .ok, "classic 101 \(p)")
            #expect([.warn, .nudge].contains(SourceHarness.status(b, p)), "classic 102 \(p)")
        }
        #expect(a.ownerHints.first == OwnerHint(.email, "ajones@example.com"))
        #expect(a.lastSync == ISO8601DateFormatter().date(from: "2026-03-01T22:14:05Z"))
        #expect(try await source.check(SourceHarness.context()) == "ok: 5 computers (Classic API)")
    }

    @Test func malformedAndTruncatedPagesAreFetchedAgainThenNameTheSourceAndPage() async throws {
        let fake = try fake()
        let source = try SourceHarness.source(yaml(fake), environment: env)
        // One corrupt 200 and one cut short behind a correct Content-Length: each page is fetched again.
        try await fake.fault([
            ["mode": "malformed", "path": "/api/v3/computers-inventory", "page": 1, "count": 1],
            ["mode": "truncated", "path": "/api/v3/computers-inventory", "page": 2, "count": 1]
        ])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        #expect(try await source.pull(SourceHarness.context(figures)).count == 5)
        #expect(figures.snapshot().retries == 2)
        #expect(figures.snapshot().requests == (try await fake.stats().paths.values.reduce(0, +)))
        // Past the retry budget (3 retries by default) the page fails, named.
        try await fake.fault([["mode": "malformed", "path": "/api/v3/computers-inventory", "page": 1, "count": 4]])
        let malformed = await #expect(throws: HTTPError.self) { try await source.pull(SourceHarness.context()) }
        #expect(malformed?.description.hasPrefix("jamf-test: computers-inventory page 1: malformed JSON") == true)
        try await fake.fault([["mode": "truncated", "path": "/api/v3/computers-inventory", "page": 2, "count": 4]])
        let truncated = await #expect(throws: HTTPError.self) { try await source.pull(SourceHarness.context()) }
        #expect(truncated?.description.contains("jamf-test: computers-inventory page 2") == true)
    }

    @Test func classicWithHTTPBasicOnAServerWithoutTheTokenEndpoint() async throws {
        let fake = try fake(["--no-token-endpoint", "--classic-basic"])
        // The token flow cannot work there: the Pro API (and its token endpoint) answers 404.
        let token = try SourceHarness.source(yaml(fake, "mode: classic"), environment: env)
        await #expect(throws: HTTPError.self) { try await token.pull(SourceHarness.context()) }
        let basic = try SourceHarness.source(yaml(fake, "mode: classic\nauth: basic"), environment: env)
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let records = try await basic.pull(SourceHarness.context(figures))
        #expect(records.map(\.localID) == ["101", "102", "103", "104", "105"])
        #expect(figures.snapshot().requests == 6)  // list + 5 computers, no token
        #expect(try await basic.check(SourceHarness.context()) == "ok: 5 computers (Classic API)")
        let wrong = try SourceHarness.source(yaml(fake, "mode: classic\nauth: basic"), environment: ["JAMF_PASSWORD": "Pa55-LEAK-me"])
        let error = await #expect(throws: HTTPError.self) { try await wrong.pull(SourceHarness.context()) }
        #expect(error?.status == 401)
        #expect(error?.description.contains("LEAK") == false)
        #expect(error?.description.contains(Data("batch:Pa55-LEAK-me".utf8).base64EncodedString()) == false)
        // Basic is for the Classic API only.
        #expect(throws: ConfigError.self) { try SourceHarness.source(yaml(fake, "auth: basic"), environment: env) }
    }

    @Test func extraPracticesWorkWithoutDefiningThemUnderPractices() throws {
        let config = try StethoscopeConfig.parse(
            yaml: """
                sources:
                  - {name: j, type: jamf, url: "https://x", username: u, password: p, extra_practices: [sip, auto_login]}
                """, environment: [:])
        #expect(config.practices["sip"]?.enabled == true)
        #expect(config.practices["auto_login"]?.enabled == true)
        #expect(config.practices["gatekeeper"]?.enabled == false)
        #expect(config.practices["sip"]?.platforms == [.mac])
        #expect(PracticeSet.defaults.hash == PracticeSet(PracticeSet.defaults.enabled).hash)  // off by default: no rule change
        // An explicit `enabled` under practices still wins.
        let off = try StethoscopeConfig.parse(
            yaml: """
                sources:
                  - {name: j, type: jamf, url: "https://x", username: u, password: p, extra_practices: [sip]}
                practices:
                  sip: {enabled: false}
                """, environment: [:])
        #expect(off.practices["sip"]?.enabled == false)
        // A plugin that does not take extra_practices still rejects the key.
        #expect(throws: ConfigError.self) {
            try SourceHarness.source("sources:\n  - {name: f, type: fleet, url: \"https://x\", token: t, extra_practices: [sip]}")
        }
        // Evaluation judges the observation with the shipped definition.
        let enabled = config.practices.enabled.map(\.key)
        #expect(enabled.contains("sip") && enabled.contains("auto_login") && !enabled.contains("gatekeeper"))
    }

    @Test func autoUpdatesWithNoneOfItsAttributesTakesTheDefaults() async throws {
        let fake = try fake()
        let records = try await SourceHarness.source(yaml(fake), environment: env).pull(SourceHarness.context())
        // 103 and 104 report none of the six Software Update EAs: defaults (3 and 4 off) apply, not "unknown".
        for id in ["103", "104"] {
            let r = try SourceHarness.record(records, id)
            let o = try #require(r.observations.first { $0.practice == "auto_updates" })
            #expect(o.satisfied == false)
            #expect(o.value == "off: 3 Install App Updates Enabled, 4 Install OS X Updates Enabled")
            #expect(o.details?.contains("defaults") == true)
            #expect(SourceHarness.status(r, "auto_updates") == .nudge)
        }
    }

    @Test func transientFailuresDuringAPullAreRetried() async throws {
        let fake = try fake()
        let source = try SourceHarness.source(yaml(fake), environment: env)
        try await fake.fault([
            ["mode": "500", "path": "/api/v3/computers-inventory", "page": 1, "count": 1],
            ["mode": "401", "path": "/api/v3/computers-inventory", "page": 2, "count": 1]
        ])
        let figures = FigureCounter(kind: "device", plugin: "jamf")
        let records = try await source.pull(SourceHarness.context(figures))
        #expect(records.count == 5)
        #expect(figures.snapshot().retries == 2)  // the 500's retry and the re-send after re-authenticating
        #expect(try await fake.stats().paths["/api/v1/auth/token"] == 2)  // the 401 re-authenticated once
        #expect(figures.snapshot().requests == (try await fake.stats().paths.values.reduce(0, +)))
    }

    @Test func checkAndItsFailuresNeverShowSecrets() async throws {
        let fake = try fake(["--versions", "v4"])
        let good = try SourceHarness.source(yaml(fake, "api_version: v4"), environment: env)
        #expect(try await good.check(SourceHarness.context()) == "ok: 5 computers (Jamf Pro API v4)")
        let oldVersion = try SourceHarness.source(yaml(fake), environment: env)
        let notServed = await #expect(throws: HTTPError.self) { try await oldVersion.check(SourceHarness.context()) }
        #expect(notServed?.status == 404)
        let badPassword = try SourceHarness.source(yaml(fake), environment: ["JAMF_PASSWORD": "Pa55-LEAK-me"])
        let error = await #expect(throws: HTTPError.self) { try await badPassword.pull(SourceHarness.context()) }
        #expect(error?.description.hasPrefix("jamf-test:") == true)
        #expect(error?.description.contains("LEAK") == false)
    }

    @Test func configMistakesNameTheKey() throws {
        let base = "sources:\n  - {name: j, type: jamf, url: \"https://x\", username: u, password: p"
        #expect(throws: ConfigError.self) { try SourceHarness.source(base + ", page_sise: 5}") }
        #expect(throws: ConfigError.self) { try SourceHarness.source(base + ", api_version: v9}") }
        #expect(throws: ConfigError.self) { try SourceHarness.source("sources:\n  - {name: j, type: jamf, url: \"https://x\"}") }
        #expect(throws: ConfigError.self) { try SourceHarness.source(base + ", extra_practices: [xyz]}") }
    }
}
