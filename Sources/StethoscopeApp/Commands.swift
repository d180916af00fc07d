import Foundation
import Logging
import StethoscopeCore
import StethoscopeExport
import StethoscopeSources
import StethoscopeStore

/// The logic behind each command; the `stethoscope` executable only parses arguments and calls these.
public enum Commands {
    static let logger = Logger(label: "stethoscope")

    /// `stethoscope run`: one nightly run. Returns the exit code (README, "Exit codes").
    /// `acceptDrop` names sources whose record-count drop tonight is real (`--accept-drop`).
    public static func run(configFile: URL, asOf: String?, database: URL?, metricsFile: URL?,
                           acceptDrop: [String] = []) async -> ExitStatus {
        LogfmtHandler.bootstrap()
        var nightly: NightlyRun, exportConfig: ElasticsearchConfig?
        do { (nightly, exportConfig) = try prepare(configFile, logger: logger) } catch {
            logger.error("invalid config", metadata: ["error": "\(error)"])
            return .config
        }
        let names = Set(([nightly.config.directory].compactMap { $0 } + nightly.config.sources + nightly.config.attribution).map(\.name))
        for name in acceptDrop where !names.contains(name) {
            logger.error("invalid --accept-drop: no source of that name", metadata: [
                "value": "\(name.prefix(60))", "names": "\(names.sorted().joined(separator: ","))"])
            return .usage
        }
        nightly.acceptedDrops = Set(acceptDrop)
        let tz = nightly.config.timeZone
        let date = asOf ?? AsOfDate.of(Date(), in: tz)
        guard AsOfDate.isValid(date), let endOfDay = AsOfDate.endOfDay(date, in: tz) else {
            logger.error("invalid --as-of", metadata: ["value": "\(date.prefix(40))", "expected": "YYYY-MM-DD"])
            return .usage
        }
        // A back-filled night is judged as of the end of its own day, not of today.
        let now = min(Date(), endOfDay)
        do {
            let store = try SnapshotStore(path: database ?? nightly.config.database)
            let outcome = try await nightly.run(asOf: date, now: now, store: store)
            if let metricsFile { try Metrics.write(outcome, to: metricsFile) }
            // Export after the snapshot committed; a failed export leaves the snapshot as it is and exits 4.
            if outcome.status != .failed, !(await exportAfterRun(exportConfig, asOf: date, store: store)) {
                return .exportFailed
            }
            return outcome.exitCode
        } catch {
            logger.error("run failed", metadata: ["as_of": "\(date)", "error": "\(error)"])
            if let metricsFile { try? Metrics.write(RunOutcome(asOf: date, status: .failed), to: metricsFile) }
            return .failed
        }
    }

    /// Validates the whole config, plugins and export section alike, before anything runs or is probed.
    static func prepare(_ configFile: URL, logger: Logger) throws -> (NightlyRun, ElasticsearchConfig?) {
        let nightly = try NightlyRun.prepare(configFile: configFile, logger: logger)
        return (nightly, try ElasticsearchConfig.from(exportSection: nightly.config.export))
    }

    /// `stethoscope migrate`: create or upgrade a database.
    public static func migrate(database: URL) -> ExitStatus {
        LogfmtHandler.bootstrap()
        do {
            let (from, to) = try SnapshotStore.migrate(at: database)
            logger.info("migrated", metadata: ["db": "\(database.path)", "from": "\(from)", "to": "\(to)"])
            return .complete
        } catch {
            logger.error("migrate failed", metadata: ["db": "\(database.path)", "error": "\(error)"])
            return .failed
        }
    }
}

/// The Prometheus textfile (node_exporter's textfile collector) written after each run, atomically.
enum Metrics {
    static func write(_ o: RunOutcome, to file: URL) throws {
        var lines = [
            "# HELP stethoscope_run_status Outcome of the last run (0 complete, 1 partial, 2 failed).",
            "# TYPE stethoscope_run_status gauge",
            "stethoscope_run_status{as_of=\"\(o.asOf)\"} \(o.status == .complete ? 0 : o.status == .partial ? 1 : 2)",
            "# HELP stethoscope_run_timestamp_seconds When the last run finished.",
            "# TYPE stethoscope_run_timestamp_seconds gauge",
            "stethoscope_run_timestamp_seconds \(Int(Date().timeIntervalSince1970))",
            "# HELP stethoscope_devices Devices in the last snapshot.",
            "# TYPE stethoscope_devices gauge",
            "stethoscope_devices \(o.devices)",
            "# HELP stethoscope_devices_carried_forward Devices carried forward from the last complete night.",
            "# TYPE stethoscope_devices_carried_forward gauge",
            "stethoscope_devices_carried_forward \(o.carriedForward)",
            "# HELP stethoscope_source_records Source records pulled in the last run.",
            "# TYPE stethoscope_source_records gauge",
            "stethoscope_source_records \(o.sourceRecords)",
            "# HELP stethoscope_failed_sources Sources that failed in the last run.",
            "# TYPE stethoscope_failed_sources gauge",
            "stethoscope_failed_sources \(o.failedSources.count)",
            "# HELP stethoscope_source_failed Whether each source, directory and attribution entry failed in the last run (1 failed).",
            "# TYPE stethoscope_source_failed gauge",
        ]
        for s in o.sources { lines.append("stethoscope_source_failed{source=\"\(s.name)\",kind=\"\(s.kind)\"} \(s.failed ? 1 : 0)") }
        lines += [
            "# HELP stethoscope_source_records_by_source Records each source returned in the last run.",
            "# TYPE stethoscope_source_records_by_source gauge",
        ]
        for s in o.sources { lines.append("stethoscope_source_records_by_source{source=\"\(s.name)\",kind=\"\(s.kind)\"} \(s.records)") }
        lines += [
            "# HELP stethoscope_stage_seconds Duration of each stage of the last run.",
            "# TYPE stethoscope_stage_seconds gauge",
        ]
        for (stage, s) in o.stages { lines.append("stethoscope_stage_seconds{stage=\"\(stage)\"} \(String(format: "%.3f", s))") }
        let tmp = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).tmp")
        try (lines.joined(separator: "\n") + "\n").write(to: tmp, atomically: false, encoding: .utf8)
        guard rename(tmp.path, file.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
        }
    }
}
