import Foundation
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeSources
import Testing

@Suite struct FleetSourceTests {
    static let token = "fleet-api-token-0123456789"

    func fake(_ extra: [String] = []) throws -> FakeServer {
        try FakeServer(
            "fake_fleet.py",
            [
                "--fixture", FakeServer.repo.appendingPathComponent("Sources/StethoscopeSources/Plugins/fleet/fixtures/hosts.json").path,
                "--token", Self.token
            ] + extra)
    }

    func source(_ fake: FakeServer, pageSize: Int = 2, token: String = Self.token) throws -> any DeviceSource {
        try SourceHarness.source(
            """
            sources:
              - name: fleet-test
                type: fleet
                url: \(fake.url)
                token: "${FLEET_TOKEN}"
                page_size: \(pageSize)
                retry_base_s: 0.01
                policies:
                  FileVault enabled: encryption
                  "BitLocker on C:": encryption
                  Firewall enabled: firewall
                  Firewall healthy: firewall
                  Screen lock: screen_lock
                  SSH root login disabled: remote_login
            """, environment: ["FLEET_TOKEN": token])
    }

    @Test func pagesPoliciesOwnersAndDetailOnlyWhereNeeded() async throws {
        let fake = try fake()
        let figures = FigureCounter(kind: "device", plugin: "fleet")
        let records = try await source(fake).pull(SourceHarness.context(figures))
        #expect(records.map(\.localID) == ["101", "102", "103", "104", "105"])
        let stats = try await fake.stats()
        #expect(stats.paths["/api/v1/fleet/hosts"] == 3)  // 2 + 2 + 1: the short page ends it
        #expect(stats.paths["/api/v1/fleet/hosts/103"] == 1)  // Linux hosts without an encryption policy
        #expect(stats.paths["/api/v1/fleet/hosts/104"] == 1)
        #expect(stats.paths["/api/v1/fleet/hosts/101"] == nil)  // the list settled it
        #expect(figures.snapshot().requests == 6)

        let mac = try SourceHarness.record(records, "101")
        #expect(mac.platform == .mac && mac.osName == "macOS" && mac.osVersion == "14.4.1")
        #expect(SourceHarness.status(mac, "encryption") == .ok)
        #expect(SourceHarness.status(mac, "firewall") == .warn)
        #expect(SourceHarness.status(mac, "screen_lock") == .ok)
        #expect(mac.ownerHints.first == OwnerHint(.email, "ajones@example.com"))  // identity provider first
        #expect(mac.identifiers.contains(RawIdentifier(.serial, "FVFXC0DEQ6L4")))
        #expect(mac.lastSync == ISO8601DateFormatter().date(from: "2026-03-02T03:09:58Z"))

        let win = try SourceHarness.record(records, "102")
        #expect(win.platform == .windows && win.osVersion == "10.0.22631.3296" && win.osName == "Windows 11 Enterprise 23H2")
        #expect(SourceHarness.status(win, "encryption") == .ok)
        #expect(SourceHarness.status(win, "firewall") == .unknown)  // policy not run yet

        let ubuntu = try SourceHarness.record(records, "103")
        #expect(ubuntu.platform == .linux && ubuntu.osName == "Ubuntu" && ubuntu.osVersion == "22.04.4")
        #expect(SourceHarness.status(ubuntu, "encryption") == .warn)
        #expect(SourceHarness.status(ubuntu, "remote_login") == .ok)
        let rhel = try SourceHarness.record(records, "104")
        #expect(SourceHarness.status(rhel, "encryption") == .ok)
        #expect(SourceHarness.status(rhel, "remote_login") != .ok)
        #expect(rhel.ownerHints.isEmpty)
        #expect(SourceHarness.status(try SourceHarness.record(records, "105"), "encryption") == .warn)
    }

    @Test func aFullLastPageNeedsTheEmptyPageToEnd() async throws {
        let fake = try fake()
        _ = try await source(fake, pageSize: 5).pull(SourceHarness.context())
        #expect(try await fake.stats().paths["/api/v1/fleet/hosts"] == 2)
    }

    @Test func retriesAndBadPages() async throws {
        let fake = try fake()
        try await fake.fault([["mode": "429", "path": "/api/v1/fleet/hosts", "page": 1, "count": 1, "retry_after": "0"]])
        let figures = FigureCounter(kind: "device", plugin: "fleet")
        #expect(try await source(fake).pull(SourceHarness.context(figures)).count == 5)
        #expect(figures.snapshot().retries == 1)
        try await fake.fault([["mode": "malformed", "path": "/api/v1/fleet/hosts", "page": 2, "count": 4]])
        let error = await #expect(throws: HTTPError.self) { try await source(fake).pull(SourceHarness.context()) }
        #expect(error?.description.hasPrefix("fleet-test: hosts page 2: malformed JSON") == true)
    }

    @Test func checkAndExpiredOrWrongTokens() async throws {
        let fake = try fake()
        #expect(try await source(fake).check(SourceHarness.context()) == "ok: 5 hosts, authenticated as stethoscope@example.com")
        let wrong = await #expect(throws: HTTPError.self) { try await source(fake, token: "WRONG-token-777").check(SourceHarness.context()) }
        #expect(wrong?.status == 401)
        #expect(wrong?.description.contains("WRONG-token-777") == false)
        let expiring = try self.fake(["--token-ttl", "0"])
        let expired = await #expect(throws: HTTPError.self) { try await source(expiring).pull(SourceHarness.context()) }
        #expect(expired?.status == 401)
        #expect(expired?.description.contains(Self.token) == false)
    }

    @Test func aServerThatClampsPerPageIsRePagedWithTheSizeItSent() async throws {
        let fake = try fake(["--max-per-page", "2"])
        let figures = FigureCounter(kind: "device", plugin: "fleet")
        let records = try await source(fake, pageSize: 100).pull(SourceHarness.context(figures))
        #expect(records.map(\.localID) == ["101", "102", "103", "104", "105"])
        #expect(figures.snapshot().requests == (try await fake.stats().paths.values.reduce(0, +)))
    }

    @Test func fewerHostsThanCountedFailsLoudly() async throws {
        let fake = try fake(["--phantom-hosts", "3"])
        let error = await #expect(throws: SourceError.self) { try await source(fake).pull(SourceHarness.context()) }
        #expect(error?.description.contains("fleet-test") == true)
        #expect(error?.description.contains("received 5 hosts but /hosts/count says 8") == true)
    }

    @Test func aHostDeletedMidCrawlKeepsTheListAndLeavesEncryptionUnknown() async throws {
        let fake = try fake(["--deleted", "103"])
        let records = try await source(fake).pull(SourceHarness.context())
        #expect(records.count == 5)
        let ubuntu = try SourceHarness.record(records, "103")
        #expect(ubuntu.platform == .linux && ubuntu.osVersion == "22.04.4")
        #expect(SourceHarness.status(ubuntu, "remote_login") == .ok)  // from the list
        let encryption = try #require(ubuntu.observations.first { $0.practice == "encryption" })
        #expect(encryption.satisfied == nil)
        #expect(encryption.value.contains("404") && encryption.details?.contains("deleted") == true)
        #expect(SourceHarness.status(try SourceHarness.record(records, "104"), "encryption") == .ok)
    }

    @Test func goZeroAndEpochTimesAreAbsent() async throws {
        let fake = try fake(["--never-seen", "101,103"])
        let records = try await source(fake).pull(SourceHarness.context())
        for id in ["101", "103"] {
            let r = try SourceHarness.record(records, id)
            #expect(r.lastSync == nil, "\(id)")
            #expect(!r.observations.isEmpty)
            #expect(r.observations.allSatisfy { $0.observedAt == nil }, "\(id)")
        }
        #expect(try SourceHarness.record(records, "102").lastSync != nil)
    }
}
