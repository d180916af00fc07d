import Foundation
import Testing

@testable import StethoscopeCore

@Suite struct ConfigTests {
    func parse(_ yaml: String, env: [String: String] = [:]) throws -> StethoscopeConfig {
        try StethoscopeConfig.parse(yaml: yaml, environment: env, baseDirectory: URL(fileURLWithPath: "/etc/stethoscope"))
    }
    func error(_ yaml: String, env: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try parse(yaml, env: env)
            return nil
        } catch let e as ConfigError { return e } catch { return nil }
    }

    @Test func defaultsAndPaths() throws {
        let c = try parse("database: var/s.db\nsources:\n  - {name: jamf, type: jamf}\n")
        #expect(c.database.path == "/etc/stethoscope/var/s.db")
        #expect(c.staleAfterDays == 14 && c.detailRetentionNights == 120)
        #expect(c.sources.map(\.name) == ["jamf"])
        #expect(c.practices.enabled.count == PracticeSet.defaults.enabled.count)
    }

    @Test func unknownKeysAreNamedByPath() {
        #expect(error("stale_afer_days: 3\n")?.path == "stale_afer_days")
        #expect(error("retention: {detail_night: 3}\n")?.path == "retention.detail_night")
        #expect(error("practices: {screen_lock: {ratng: high}}\n")?.path == "practices.screen_lock.ratng")
        #expect(error("practices:\n  os_version:\n    versions:\n      Mac: {requird: '14'}\n")?.path == "practices.os_version.versions.Mac.requird")
    }

    @Test func wrongTypesSayWhatWasExpected() {
        let e = error("stale_after_days: soon\n")
        #expect(e?.path == "stale_after_days")
        #expect(e?.message.contains("whole number") == true)
        #expect(e?.line == 1)
        #expect(error("sources: {name: x}\n")?.message.contains("expected a list") == true)
        #expect(error("sources:\n  - {type: jamf}\n")?.path == "sources[0].name")
        #expect(error("sources:\n  - {name: a, type: x}\n  - {name: a, type: y}\n")?.message.contains("used twice") == true)
        #expect(error("timezone: Mars/Olympus\n")?.path == "timezone")
        #expect(error("practices: {firewall: {rating: urgent}}\n")?.message.contains("critical, high, medium, low") == true)
        #expect(error("practices: {firewall: {platforms: [Amiga]}}\n")?.message.contains("unknown platform") == true)
        #expect(error(": : :\n") != nil)
    }

    @Test func practiceOverridesApply() throws {
        let c = try parse(
            """
            practices:
              screen_lock: {rating: critical, on_fail: nudge}
              sentinelone: {enabled: true, minimum_version: "23.1"}
              crowdstrike: {title: CrowdStrike, software: [Falcon], platforms: [Mac, Windows], rating: high}
            """)
        #expect(c.practices["screen_lock"]?.rating == .critical)
        #expect(c.practices["screen_lock"]?.onFail == .nudge)
        #expect(c.practices["sentinelone"]?.enabled == true)
        #expect(c.practices["crowdstrike"]?.check == .software(SoftwareRule(names: ["Falcon"])))
        #expect(c.practices.hash != PracticeSet.defaults.hash)
    }

    @Test func secretsComeFromEnvOrFilesAndNeverPrint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "s3cr3t-file\n".write(to: dir.appendingPathComponent("tok"), atomically: true, encoding: .utf8)
        let root = try ConfigSection.parse(
            yaml: "a: {token: '${TOK}'}\nb: {token_file: tok}\nc: {token: x, token_file: tok}\nd: {token: '${NOPE}'}\n",
            environment: ["TOK": "s3cr3t-env"], baseDirectory: dir)
        let a = try root.section("a")!.secret("token")!
        #expect(a.reveal() == "s3cr3t-env")
        #expect("\(a)" == "<redacted>" && String(reflecting: a) == "<redacted>")
        #expect(try root.section("b")!.secret("token")!.reveal() == "s3cr3t-file")
        #expect(throws: ConfigError.self) { try root.section("c")!.secret("token") }
        do {
            _ = try root.section("d")!.secret("token")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("NOPE"))
        }
    }
}
