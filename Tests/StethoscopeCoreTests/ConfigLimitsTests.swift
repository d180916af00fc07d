import Foundation
import Testing

@testable import StethoscopeCore

/// Issue 13: a config that cannot run a night, numbers out of range, one name for two entries, and the
/// generic keys every plugin section takes (`allow_empty`, `max_record_drop`).
@Suite struct ConfigLimitsTests {
    func parse(_ yaml: String) throws -> StethoscopeConfig {
        try StethoscopeConfig.parse(yaml: yaml, environment: [:], baseDirectory: URL(fileURLWithPath: "/etc/stethoscope"))
    }
    func error(_ yaml: String) -> ConfigError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch let e as ConfigError { return e } catch { return nil }
    }
    func runError(_ yaml: String) throws -> ConfigError? {
        do {
            try parse(yaml).validateForRun()
            return nil
        } catch let e as ConfigError { return e }
    }

    @Test func aConfigWithoutADeviceSourceCannotRunANight() throws {
        let empty = try runError("directory: {type: demo}\nsources: []\n")
        #expect(empty?.path == "sources")
        #expect(empty?.line == 2)
        #expect(empty?.message.contains("at least one device source") == true)
        let missing = try runError("timezone: UTC\n")
        #expect(missing?.path == "sources")
        #expect(missing?.message.contains("required") == true)
        // Commands that only read the database still accept it (a reporting host needs no sources).
        #expect(throws: Never.self) { try parse("report: {out: /tmp/r}\n") }
        #expect(try runError("sources:\n  - {name: jamf, type: jamf}\n") == nil)
    }

    @Test func oneNameForTwoEntriesIsAnErrorNamingBoth() {
        let sourceVsAttribution = error(
            """
            sources:
              - {name: assets, type: demo, feed: jamf}
            attribution:
              - {name: assets, type: asset_csv, path: a.csv}
            """)
        #expect(sourceVsAttribution?.path == "attribution[0].name")
        #expect(sourceVsAttribution?.message.contains("sources[0]") == true)
        #expect(sourceVsAttribution?.line == 4)
        // The directory's default name counts too.
        let directory = error("directory: {type: demo}\nsources:\n  - {name: directory, type: demo, feed: jamf}\n")
        #expect(directory?.path == "sources[0].name")
        #expect(directory?.message.contains("'directory' is used twice: it is already the name of directory") == true)
        let attributions = error("sources:\n  - {name: a, type: x}\nattribution:\n  - {type: x}\n  - {name: attribution-1, type: y}\n")
        #expect(attributions?.path == "attribution[1].name")
        #expect(attributions?.message.contains("attribution[0]") == true)
        let twoSources = error("sources:\n  - {name: a, type: x}\n  - {name: a, type: y}\n")
        #expect(twoSources?.path == "sources[1].name")
        #expect(twoSources?.message.contains("sources[0]") == true)
    }

    @Test func numbersOutOfRangeNameTheirKey() {
        // Doubles that would trap when turned into milliseconds or nanoseconds are refused at load.
        let huge = error("max_record_drop: 1e308\n")
        #expect(huge?.path == "max_record_drop")
        #expect(huge?.message.contains("at most 1") == true)
        #expect(error("max_record_drop: -0.1\n")?.path == "max_record_drop")
        #expect(error("max_record_drop: .nan\n")?.message.contains("expected a number") == true)
        #expect(error("retention: {detail_nights: 9223372036854775807}\n")?.path == "retention.detail_nights")
        #expect(error("retention: {detail_nights: 99999999999999999999}\n")?.message.contains("whole number") == true)
        #expect(error("stale_after_days: -1\n")?.path == "stale_after_days")
        #expect(error("sources:\n  - {name: a, type: x, max_record_drop: 2}\n")?.path == "sources[0].max_record_drop")
        #expect(error("sources:\n  - {name: a, type: x, allow_empty: maybe}\n")?.path == "sources[0].allow_empty")
    }

    @Test func genericPluginKeysAreReadForEveryPlugin() throws {
        let c = try parse(
            """
            max_record_drop: 0.5
            directory: {type: csv_directory, path: p.csv, allow_empty: true}
            sources:
              - {name: a, type: x, max_record_drop: 0.9}
              - {name: b, type: x}
            attribution:
              - {type: asset_csv, path: a.csv, allow_empty: yes}
            """)
        #expect(c.directory?.allowEmpty == true)
        #expect(c.sources.map(\.allowEmpty) == [false, false])
        #expect(c.attribution[0].allowEmpty)
        #expect(c.maxRecordDrop(for: "a") == 0.9)
        #expect(c.maxRecordDrop(for: "b") == 0.5)
        #expect(try parse("sources:\n  - {name: a, type: x}\n").maxRecordDrop == 0.3)
        // Read by the config layer, so a plugin's own `finish()` does not call them unknown.
        _ = try c.directory!.section.path("path")  // what the plugin reads itself
        #expect(throws: Never.self) { try c.directory!.section.finish() }
    }
}
