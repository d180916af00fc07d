import Foundation
import Logging
import StethoscopeCore
import StethoscopeReport
import StethoscopeRollups
import StethoscopeStore

extension Commands {
    /// Where the report goes and how many nights it shows, from `report:` in the config.
    struct ReportSettings {
        var out: URL?
        var nights: Int?
        var minGroupDevices: Int?
        var deviceChangePercent: Int?

        init(_ config: StethoscopeConfig) throws {
            guard let section = config.report else { return }
            out = try section.path("out")
            nights = try section.optionalInt("nights", min: 1, max: 3650)
            minGroupDevices = try section.optionalInt("min_group_devices", min: 1, max: 1_000_000)
            deviceChangePercent = try section.optionalInt("device_change_percent", min: 1, max: 1000)
            try section.finish()
        }
    }

    /// Opens an existing database (a report must not create an empty one where a path was mistyped).
    static func existingStore(_ url: URL) throws -> SnapshotStore {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ReportError(description: "no database at \(url.path): run `stethoscope run` (or `stethoscope demo`) first")
        }
        return try SnapshotStore(path: url)
    }

    /// `stethoscope report`: writes the static site and prints the path of its index page.
    public static func report(
        configFile: URL, database: URL?, out: URL?, nights: Int?, asOf: String?,
        includePeople: Bool, chart: String
    ) -> ExitStatus {
        LogfmtHandler.bootstrap()
        guard case (let config, let settings)? = loadConfig(configFile, { try ReportSettings($0) }) else { return .config }
        guard let chartChoice = OrgChartChoice(rawValue: chart) else {
            logger.error("invalid --org-chart", metadata: ["value": "\(chart.prefix(20))", "expected": "night|current"])
            return .usage
        }
        if let asOf, !AsOfDate.isValid(asOf) {
            logger.error("invalid --as-of", metadata: ["value": "\(asOf.prefix(40))", "expected": "YYYY-MM-DD"])
            return .usage
        }
        let dir = out ?? settings.out ?? configFile.deletingLastPathComponent().appendingPathComponent("report")
        do {
            let store = try existingStore(database ?? config.database)
            let stage = StageProgress("report")
            let result = try Report.generate(
                store: store,
                options: ReportOptions(
                    out: dir, nights: nights ?? settings.nights ?? 90, asOf: asOf, includePeople: includePeople, chart: chartChoice,
                    minGroupDevices: settings.minGroupDevices ?? 10, deviceChangeThreshold: Double(settings.deviceChangePercent ?? 10) / 100)
            ) { stage.update(done: $0, total: $1) }
            stage.end(logger, items: result.pages)
            logger.info(
                "report written",
                metadata: [
                    "pages": "\(result.pages)", "files": "\(result.files)",
                    "seconds": "\(String(format: "%.2f", result.seconds))"
                ])
            print(result.index.path)
            return .complete
        } catch {
            logger.error("report failed", metadata: ["error": "\(error)"])
            return .failed
        }
    }

    /// `stethoscope rollup --rebuild`: recomputes the roll-ups of every night that still has detail.
    public static func rollup(configFile: URL, database: URL?, chart: String) -> ExitStatus {
        LogfmtHandler.bootstrap()
        guard case (let config, _)? = loadConfig(configFile, { _ in () }) else { return .config }
        guard let chartChoice = OrgChartChoice(rawValue: chart) else {
            logger.error("invalid --org-chart", metadata: ["value": "\(chart.prefix(20))", "expected": "night|current"])
            return .usage
        }
        let databaseFile = database ?? config.database
        var lock: DatabaseLock?
        // A missing database is reported by `existingStore` below (no lock file is made where a path was mistyped).
        if FileManager.default.fileExists(atPath: databaseFile.path) {
            switch lockDatabase(
                databaseFile, waitSeconds: config.safety.lockWaitSeconds, purpose: "rollup",
                command: "rollup", nothing: "rebuilt", failure: .failed)
            {
            case .success(let held): lock = held
            case .failure(let code): return code
            }
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            let store = try existingStore(databaseFile)
            let stage = StageProgress("rollup")
            let done = try Rollups.rebuild(store, chart: chartChoice) { stage.update(done: $0, total: $1) }
            stage.end(logger, metadata: ["chart": "\(chartChoice.rawValue)"])
            logger.info(
                "roll-ups rebuilt",
                metadata: [
                    "nights": "\(done.count)", "chart": "\(chartChoice.rawValue)",
                    "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(stage.started)))"
                ])
            return .complete
        } catch {
            logger.error("rollup failed", metadata: ["error": "\(error)"])
            return .failed
        }
    }
}
