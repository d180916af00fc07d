import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import StethoscopeCore
import StethoscopeExport
import StethoscopeNotify
import StethoscopeSources
import StethoscopeStore

/// The logic behind each command; the `stethoscope` executable only parses arguments and calls these.
public enum Commands {
    static let logger = Logger(label: "stethoscope")

    /// `stethoscope run`: one nightly run. Returns the exit code (README, "Exit codes"). `allowFuture` accepts an
    /// as-of date after tomorrow (tests); `force` replaces a stored night even with far fewer devices; `lockWait`
    /// overrides `safety.lock_wait_s`; `acceptDrop` names sources whose record-count drop tonight is real.
    public static func run(configFile: URL, asOf: String?, database: URL?, metricsFile: URL?,
                           allowFuture: Bool = false, force: Bool = false, lockWait: Double? = nil,
                           acceptDrop: [String] = []) async -> ExitStatus {
        LogfmtHandler.bootstrap()
        var nightly: NightlyRun, exportConfig: ElasticsearchConfig?, notifyConfig: NotifyConfig?
        do {
            (nightly, exportConfig) = try prepare(configFile, logger: logger)
            notifyConfig = try NotifyConfig.from(section: nightly.config.notify)
        } catch {
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
        let today = AsOfDate.of(Date(), in: tz)
        let date = asOf ?? today
        guard AsOfDate.isValid(date), let endOfDay = AsOfDate.endOfDay(date, in: tz) else {
            logger.error("invalid --as-of", metadata: ["value": "\(date.prefix(40))", "expected": "YYYY-MM-DD"])
            return .usage
        }
        // A night after tomorrow is a typo or a clock that jumped; stored, it would become the newest night.
        if !allowFuture, let tomorrow = AsOfDate.adding(1, to: today), date > tomorrow {
            logger.error("--as-of is in the future; nothing written", metadata: [
                "as_of": "\(date)", "today": "\(today)", "timezone": "\(tz.identifier)",
                "hint": "a night after tomorrow is refused (--allow-future overrides it, for tests)"])
            return .usage
        }
        // A back-filled night is judged as of the end of its own day, not of today.
        let now = min(Date(), endOfDay)
        let databaseFile = database ?? nightly.config.database
        let lock: DatabaseLock
        do {
            lock = try DatabaseLock.acquire(database: databaseFile, waitSeconds: lockWait ?? nightly.config.safety.lockWaitSeconds,
                                            purpose: "run \(date)")
        } catch let held as DatabaseLock.Held {
            logger.error("database is locked; nothing written", metadata: ["as_of": "\(date)", "error": "\(held)"])
            return .lockHeld
        } catch {
            logger.error("run failed", metadata: ["as_of": "\(date)", "error": "\(error)"])
            return .failed
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            let store = try SnapshotStore(path: databaseFile)
            let outcome = try await nightly.run(asOf: date, now: now, store: store, force: force)
            // The night is committed (unless it failed): a metrics file that cannot be written is a warning, never
            // "run failed" (exit 5 when the run would otherwise exit 0).
            var metricsWritten = true
            if let metricsFile {
                do { try Metrics.write(outcome, to: metricsFile) } catch {
                    metricsWritten = false
                    logger.warning("metrics file not written; the night is committed", metadata: [
                        "as_of": "\(date)", "file": "\(metricsFile.path)", "error": "\(error)"])
                }
            }
            // Export, then notify, after the snapshot committed. Neither touches the snapshot: a failed export exits 4,
            // a failed notify 7 (over a night that is otherwise complete); notify runs even when the export failed.
            var exported = true, notified = true
            if outcome.status != .failed {
                exported = await exportAfterRun(exportConfig, asOf: date, store: store)
                if let notifyConfig { notified = await notifyNight(notifyConfig, asOf: date, store: store, dryRunOut: nil) }
            }
            if !exported { return .exportFailed }
            if !notified, outcome.status == .complete { return .notifyFailed }
            if outcome.status == .complete, !metricsWritten { return .metricsNotWritten }
            return outcome.exitCode
        } catch let refused as NightlyRun.RerunRefused {
            logger.error("re-run refused; nothing written", metadata: ["as_of": "\(date)", "error": "\(refused)"])
            if let metricsFile { try? Metrics.write(RunOutcome(asOf: date, status: .failed), to: metricsFile) }
            return .rerunRefused
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
        try replace(file, with: lines.joined(separator: "\n") + "\n")
    }

    /// Writes `text` to `file`: atomically (a temporary file renamed over it) when `file` is a regular file or
    /// absent, so a reader never sees half a file; in place otherwise, so `/dev/stdout`, a FIFO or a symlink is
    /// written through instead of being replaced by a regular file.
    static func replace(_ file: URL, with text: String) throws {
        var st = stat()
        let exists = lstat(file.path, &st) == 0
        if exists && (st.st_mode & S_IFMT) != S_IFREG {
            // Non-blocking open: a FIFO nobody reads is an error (ENXIO), not a run that hangs.
            try writeAll(text, to: file.path, flags: O_WRONLY | O_TRUNC | O_CLOEXEC | O_NONBLOCK)
            return
        }
        let tmp = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).tmp")
        do {
            try writeAll(text, to: tmp.path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
            guard rename(tmp.path, file.path) == 0 else { throw MetricsError(file: file.path, errno: errno) }
        } catch {
            unlink(tmp.path)
            throw error
        }
    }

    private static func writeAll(_ text: String, to path: String, flags: Int32) throws {
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw MetricsError(file: path, errno: errno) }
        defer { close(fd) }
        if flags & O_NONBLOCK != 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw MetricsError(file: path, errno: errno)
            }
            done += n
        }
    }

    struct MetricsError: Error, CustomStringConvertible {
        var file: String
        var errno: Int32
        var description: String { "cannot write \(file): \(String(cString: strerror(errno)))" }
    }
}
