import Foundation
import Logging
import StethoscopeCore
import StethoscopeSources
import Testing

@Suite struct OsquerySourceTests {
    static let yaml = """
        sources:
          - name: osq
            type: osquery
            paths: ["Sources/StethoscopeSources/Plugins/osquery/fixtures/osqueryd.*"]
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
        // The full path, so a rejected line can be found among one folder per host.
        let fixtures = FakeServer.repo.appendingPathComponent("Sources/StethoscopeSources/Plugins/osquery/fixtures").path
        #expect(figures.snapshot().rejectedReasons.first?.hasPrefix(fixtures + "/osqueryd.results.log:2:") == true)

        let mac = try SourceHarness.record(records, "7C1D0B5E-2F4A-5B6C-9D8E-0F1A2B3C4D5E")
        #expect(mac.platform == .mac && mac.osName == "macOS" && mac.osVersion == "14.4.1")
        #expect(mac.deviceName == "mbp-ajones.local")
        #expect(mac.identifiers.contains(RawIdentifier(.serial, "FVFXC0DEQ6L4")))
        #expect(mac.identifiers.contains(RawIdentifier(.udid, "7C1D0B5E-2F4A-5B6C-9D8E-0F1A2B3C4D5E")))
        #expect(mac.ownerHints == [OwnerHint(.username, "ajones")])
        #expect(SourceHarness.status(mac, "encryption") == .warn)  // the newer file removed the encrypted row
        #expect(SourceHarness.status(mac, "firewall") == .ok)  // numerics as numbers: global_state 1
        #expect(SourceHarness.status(mac, "remote_login") == .ok)
        #expect(mac.lastSync == Date(timeIntervalSince1970: 1_772_421_044))

        let win = try SourceHarness.record(records, "4C4C4544-0042-3510-8052-B4C04F4D3332")
        #expect(win.platform == .windows)
        #expect(SourceHarness.status(win, "firewall") == .warn)  // the newer snapshot says Poor
        #expect(win.observations.first { $0.practice == "firewall" }?.observedAt == Date(timeIntervalSince1970: 1_772_416_800))

        let linux = try SourceHarness.record(records, "build-03")
        #expect(linux.deviceName == "build-03" && linux.identifiers.isEmpty)
        #expect(SourceHarness.status(linux, "encryption") == .ok)  // batch diffResults
        #expect(SourceHarness.status(linux, "remote_login") == .unknown)
    }

    @Test func checkAndMissingPaths() async throws {
        let ok = try await SourceHarness.source(Self.yaml).check(SourceHarness.context())
        #expect(ok.hasPrefix("ok: 4 log files"))
        let missing = try SourceHarness.source(Self.yaml.replacingOccurrences(of: "osquery/fixtures/osqueryd.*", with: "osquery/nowhere"))
        let error = await #expect(throws: SourceError.self) { try await missing.pull(SourceHarness.context()) }
        #expect(error?.description.hasPrefix("osq: log path") == true)
        #expect(throws: ConfigError.self) {
            try SourceHarness.source("sources:\n  - {name: o, type: osquery, paths: [x], queries: {q: {practice: p, colum: c}}}")
        }
    }

    static let hosts = "Sources/StethoscopeSources/Plugins/osquery/fixtures/hosts"
    static func yaml(_ paths: String, _ extra: String = "") -> String {
        """
        sources:
          - name: osq
            type: osquery
            paths: \(paths)
            os_version_query: pack_posture_os_version\(extra)
            queries:
              pack_posture_disk_encryption: {practice: encryption, column: encrypted, ok: ["1"]}
        """
    }

    @Test func foldersAreReadRecursivelyAndPathsMayBeGlobs() async throws {
        for paths in ["[\(Self.hosts)]", "[\"\(Self.hosts)/*\"]", "[\"\(Self.hosts)/mbp-*/*.results.log\", \"\(Self.hosts)/win-?z\"]"] {
            let records = try await SourceHarness.source(Self.yaml(paths)).pull(SourceHarness.context())
            #expect(records.map(\.localID) == ["4C4C4544-0042-3510-8052-B4C04F4D3399", "mbp-bchan.local"], "\(paths)")
        }
        // A glob matching the rotations too reads each file once.
        let check = try await SourceHarness.source(Self.yaml("[\"Sources/StethoscopeSources/Plugins/osquery/fixtures/osqueryd.results.log*\"]"))
            .check(SourceHarness.context())
        #expect(check.hasPrefix("ok: 2 log files"))
    }

    @Test func aPathWithNoLogFilesFailsTheSourceUnlessAllowed() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("osq-empty-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: empty.appendingPathComponent("host-1"), withIntermediateDirectories: true)
        try Data("not a log\n".utf8).write(to: empty.appendingPathComponent("host-1/osqueryd.INFO"))
        defer { try? FileManager.default.removeItem(at: empty) }
        for paths in ["[\(empty.path)]", "[\"\(empty.path)/*/*.results.log\"]"] {
            let source = try SourceHarness.source(Self.yaml(paths))
            let pulled = await #expect(throws: SourceError.self) { try await source.pull(SourceHarness.context()) }
            #expect(pulled?.description.contains("set allow_empty: true") == true, "\(paths)")
            let checked = await #expect(throws: SourceError.self) { try await source.check(SourceHarness.context()) }
            #expect(checked?.description.contains(empty.path) == true)
            // One good path does not excuse an empty one.
            let mixed = try SourceHarness.source(Self.yaml(paths.replacingOccurrences(of: "[", with: "[\(Self.hosts), ")))
            await #expect(throws: SourceError.self) { try await mixed.pull(SourceHarness.context()) }
        }
        let allowed = try SourceHarness.source(Self.yaml("[\(empty.path)]", "\n    allow_empty: true"))
        #expect(try await allowed.pull(SourceHarness.context()).isEmpty)
        #expect(try await allowed.check(SourceHarness.context()) == "ok: no log files yet (allow_empty)")
    }

    @Test func oneQueryInformsSeveralPractices() async throws {
        let yaml = """
            sources:
              - name: osq
                type: osquery
                paths: [\(Self.hosts)/win-9z]
                queries:
                  pack_posture_wsc:
                    - {practice: firewall, column: firewall, ok: [Good]}
                    - {practice: auto_updates, column: autoupdate, ok: [Good]}
                    - {practice: antivirus_on}
            """
        let win = try SourceHarness.record(try await SourceHarness.source(yaml).pull(SourceHarness.context()), "4C4C4544-0042-3510-8052-B4C04F4D3399")
        #expect(SourceHarness.status(win, "firewall") == .warn)
        #expect(SourceHarness.status(win, "auto_updates") == .ok)
        #expect(win.observations.first { $0.practice == "antivirus_on" }?.satisfied == true)  // policy style in a list
        #expect(win.observations.first { $0.practice == "auto_updates" }?.value == "autoupdate=Good")
        // The single-rule forms keep working next to a list.
        #expect(throws: ConfigError.self) {
            try SourceHarness.source("sources:\n  - {name: o, type: osquery, paths: [x], queries: {q: [{practice: p, colum: c}]}}")
        }
    }

    @Test func noRowsWhereAbsenceMeansNotCollectedIsUnknown() async throws {
        let yaml = """
            sources:
              - name: osq
                type: osquery
                paths: [\(Self.hosts)/mbp-bchan/osqueryd.snapshots.log]
                queries:
                  pack_posture_screenlock: {practice: screen_lock, column: enabled, ok: ["1"]}
                  pack_posture_gatekeeper: {practice: gatekeeper, empty: unknown}
                  pack_inventory_system_info: {practice: has_system_info}
            """
        let mac = try SourceHarness.record(try await SourceHarness.source(yaml).pull(SourceHarness.context()), "mbp-bchan.local")
        // screenlock answers only in a user's context (fleet-osquery.md B3): its empty snapshot says nothing.
        #expect(!mac.observations.contains { $0.practice == "screen_lock" })
        #expect(!mac.observations.contains { $0.practice == "gatekeeper" })
        #expect(mac.observations.first { $0.practice == "has_system_info" }?.satisfied == true)
        // Said explicitly, an empty screenlock result fails as before.
        let strict = yaml.replacingOccurrences(of: "ok: [\"1\"]}", with: "ok: [\"1\"], empty: fail}")
        let failing = try SourceHarness.record(try await SourceHarness.source(strict).pull(SourceHarness.context()), "mbp-bchan.local")
        #expect(failing.observations.first { $0.practice == "screen_lock" }?.satisfied == false)
    }

    @Test func identifiersComeFromSystemInfoRows() async throws {
        let source = try SourceHarness.source(Self.yaml("[\(Self.hosts)/mbp-bchan]", "\n    system_info_query: pack_inventory_system_info"))
        let mac = try SourceHarness.record(try await source.pull(SourceHarness.context()), "mbp-bchan.local")
        #expect(mac.identifiers.contains(RawIdentifier(.serial, "C02BCHAN0001")))
        #expect(mac.identifiers.contains(RawIdentifier(.udid, "9E1F2A3B-4C5D-4E6F-8A9B-1C2D3E4F5A6B")))
        #expect(mac.deviceName == "mbp-bchan.local" && mac.model == "Mac15,3" && mac.platform == .mac)
    }

    @Test func aTruncatedLastLineDropsItsWholeEvent() async throws {
        let file = "\(Self.hosts)/mbp-bchan/osqueryd.results.log"
        let figures = FigureCounter(kind: "device", plugin: "osquery")
        let records = try await SourceHarness.source(Self.yaml("[\(file)]")).pull(SourceHarness.context(figures))
        let mac = try SourceHarness.record(records, "mbp-bchan.local")
        // The row changed at 03:00 (removed + added); the added line was cut off, so the removal is not applied
        // either: the disk is still encrypted as of 02:00, not "no rows".
        let encryption = try #require(mac.observations.first { $0.practice == "encryption" })
        #expect(encryption.satisfied == true && encryption.value == "encrypted=1")
        #expect(encryption.observedAt == Date(timeIntervalSince1970: 1_772_416_800))
        let path = FakeServer.repo.appendingPathComponent(file).path
        #expect(figures.snapshot().rejected == 2)
        #expect(Set(figures.snapshot().rejectedReasons.map { $0.prefix { $0 != " " } }) == ["\(path):2:", "\(path):3:"])
        // Rejected lines are warnings in the log, with the full path and line.
        let log = LogCapture()
        let context = PullContext(asOf: "2026-03-02", now: Date(), figures: FigureCounter(kind: "device", plugin: "osquery"), logger: log.logger)
        _ = try await SourceHarness.source(Self.yaml("[\(file)]")).pull(context)
        #expect(log.messages.filter { $0.level == .warning && $0.text.contains("\(path):3:") }.count == 1)
        // A truncated line that still names a different event drops only itself.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("osq-trunc-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var text = try String(contentsOfFile: FakeServer.repo.appendingPathComponent(file).path, encoding: .utf8)
        text = String(text[..<text.range(of: "\n", options: .backwards)!.upperBound])  // the two complete lines
        text += #"{"name":"pack_posture_alf","hostIdentifier":"mbp-bchan.local","unixTime":1772420400,"counter":1,"columns":{"glo"#
        try Data(text.utf8).write(to: dir.appendingPathComponent("osqueryd.results.log"))
        let other = FigureCounter(kind: "device", plugin: "osquery")
        let again = try await SourceHarness.source(Self.yaml("[\(dir.path)]")).pull(SourceHarness.context(other))
        #expect(other.snapshot().rejected == 1)
        #expect(try SourceHarness.record(again, "mbp-bchan.local").observations.first { $0.practice == "encryption" }?.satisfied == false)
    }
}

/// A logger whose messages a test can read.
final class LogCapture: @unchecked Sendable {
    struct Message {
        var level: Logger.Level
        var text: String
    }
    private let lock = NSLock()
    private var stored: [Message] = []
    var messages: [Message] { lock.withLock { stored } }
    func append(_ m: Message) { lock.withLock { stored.append(m) } }
    var logger: Logger { Logger(label: "capture") { _ in Handler(capture: self) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { capture.append(Message(level: event.level, text: event.message.description)) }
    }
}
