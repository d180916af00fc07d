import Foundation
import StethoscopeCore
import StethoscopeSources
import Testing

@Suite struct OsquerySourceTests {
    static let yaml = """
        sources:
          - name: osq
            type: osquery
            paths: [Sources/StethoscopeSources/Plugins/osquery/fixtures]
            os_version_query: pack_posture_os_version
            queries:
              pack_posture_ssh_off: remote_login
              pack_posture_disk_encryption: {practice: encryption, column: encrypted, ok: ["1"]}
              pack_posture_alf: {practice: firewall, column: global_state, ok: ["1", "2"]}
              pack_posture_wsc: {practice: firewall, column: firewall, ok: [Good]}
        """

    @Test func replaysRotatedLogsNewestWins() async throws {
        let source = try SourceHarness.source(Self.yaml)
        let figures = FigureCounter(kind: "device", plugin: "osquery")
        let records = try await source.pull(SourceHarness.context(figures))
        #expect(records.map(\.localID) == ["4C4C4544-0042-3510-8052-B4C04F4D3332", "7C1D0B5E-2F4A-5B6C-9D8E-0F1A2B3C4D5E", "build-03"])
        #expect(figures.snapshot().rejected == 1)
        #expect(figures.snapshot().rejectedReasons.first?.hasPrefix("osqueryd.results.log:2:") == true)

        let mac = try SourceHarness.record(records, "7C1D0B5E-2F4A-5B6C-9D8E-0F1A2B3C4D5E")
        #expect(mac.platform == .mac && mac.osName == "macOS" && mac.osVersion == "14.4.1")
        #expect(mac.deviceName == "mbp-ajones.local")
        #expect(mac.identifiers.contains(RawIdentifier(.serial, "FVFXC0DEQ6L4")))
        #expect(mac.identifiers.contains(RawIdentifier(.udid, "7C1D0B5E-2F4A-5B6C-9D8E-0F1A2B3C4D5E")))
        #expect(mac.ownerHints == [OwnerHint(.username, "ajones")])
        #expect(SourceHarness.status(mac, "encryption") == .warn)   // the newer file removed the encrypted row
        #expect(SourceHarness.status(mac, "firewall") == .ok)       // numerics as numbers: global_state 1
        #expect(SourceHarness.status(mac, "remote_login") == .ok)
        #expect(mac.lastSync == Date(timeIntervalSince1970: 1_772_421_044))

        let win = try SourceHarness.record(records, "4C4C4544-0042-3510-8052-B4C04F4D3332")
        #expect(win.platform == .windows)
        #expect(SourceHarness.status(win, "firewall") == .warn)     // the newer snapshot says Poor
        #expect(win.observations.first { $0.practice == "firewall" }?.observedAt == Date(timeIntervalSince1970: 1_772_416_800))

        let linux = try SourceHarness.record(records, "build-03")
        #expect(linux.deviceName == "build-03" && linux.identifiers.isEmpty)
        #expect(SourceHarness.status(linux, "encryption") == .ok)   // batch diffResults
        #expect(SourceHarness.status(linux, "remote_login") == .unknown)
    }

    @Test func checkAndMissingPaths() async throws {
        let ok = try await SourceHarness.source(Self.yaml).check(SourceHarness.context())
        #expect(ok.hasPrefix("ok: 4 log files"))
        let missing = try SourceHarness.source(Self.yaml.replacingOccurrences(of: "osquery/fixtures", with: "osquery/nowhere"))
        let error = await #expect(throws: SourceError.self) { try await missing.pull(SourceHarness.context()) }
        #expect(error?.description.hasPrefix("osq: log path") == true)
        #expect(throws: ConfigError.self) {
            try SourceHarness.source("sources:\n  - {name: o, type: osquery, paths: [x], queries: {q: {practice: p, colum: c}}}")
        }
    }
}
