import Foundation
import Logging
import StethoscopeCore
import StethoscopeSources
// The launchers, folders and helpers every test target shares (FakeServer, TestPaths …), for every file here.
@_exported import StethoscopeTestSupport
import Testing

/// Builds sources the way a run does: YAML → config → registry → plugin.
enum SourceHarness {
    static func source(_ yaml: String, environment: [String: String] = [:]) throws -> any DeviceSource {
        let config = try StethoscopeConfig.parse(yaml: yaml, environment: environment, baseDirectory: FakeServer.repo)
        let plugin = try PluginRegistry.plugin(for: config.sources[0])
        return try plugin.deviceSource(config.sources[0], PluginEnvironment(logger: Logger(label: "test")))
    }

    static func context(_ figures: FigureCounter = FigureCounter(kind: "device", plugin: "test")) -> PullContext {
        PullContext(asOf: "2026-03-02", now: Date(timeIntervalSince1970: 1_772_421_044), figures: figures, logger: Logger(label: "test"))
    }

    /// The status a practice gets from one record's observation, as evaluation will give it.
    static func status(_ r: SourceRecord, _ practice: String) -> Status {
        guard let o = r.observations.last(where: { $0.practice == practice }), let ok = o.satisfied else { return .unknown }
        if ok { return .ok }
        return PracticeSet.defaults[practice]?.failStatus(on: r.platform) ?? .warn
    }

    static func record(_ records: [SourceRecord], _ id: String) throws -> SourceRecord {
        try #require(records.first { $0.localID == id })
    }
}
