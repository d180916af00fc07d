import Foundation
import Logging
import StethoscopeCore
import StethoscopeExport
import StethoscopeNotify
import StethoscopeSources
import StethoscopeStore

#if canImport(Glibc)
    import Glibc
#endif

/// The logic behind each command; the `stethoscope` executable only parses arguments and calls these.
public enum Commands {
    static let logger = Logger(label: "stethoscope")

    /// A section a command needs that the config does not have (`export.elasticsearch`, `notify`).
    struct NotConfigured: Error, CustomStringConvertible {
        var section: String
        init(_ section: String) { self.section = section }
        var description: String { "\(section) is not configured" }
    }

    /// Loads the config file and what a command reads from it. When either fails it logs `invalid config` with the
    /// reason and returns nil: the command exits 78.
    static func loadConfig<Settings>(_ file: URL, _ read: (StethoscopeConfig) throws -> Settings) -> (StethoscopeConfig, Settings)? {
        do {
            let config = try StethoscopeConfig.load(file: file)
            return (config, try read(config))
        } catch {
            logger.error("invalid config", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// `stethoscope run`: one nightly run. Returns the exit code (README, "Exit codes"). `allowFuture` accepts an
    /// as-of date after tomorrow (tests); `force` replaces a stored night even with far fewer devices; `lockWait`
    /// overrides `safety.lock_wait_s`; `acceptDrop` names sources whose record-count drop tonight is real.
    public static func run(
        configFile: URL, asOf: String?, database: URL?, metricsFile: URL?,
        allowFuture: Bool = false, force: Bool = false, lockWait: Double? = nil,
        acceptDrop: [String] = []
    ) async -> ExitStatus {
        LogfmtHandler.bootstrap()
        var nightly: NightlyRun
        var exportConfig: ElasticsearchConfig?
        var webhooks: [WebhookConfig]
        var notifyConfig: NotifyConfig?
        do {
            (nightly, exportConfig) = try prepare(configFile, logger: logger)
            webhooks = try WebhookConfig.from(nightly.config.webhooks)
            notifyConfig = try NotifyConfig.from(section: nightly.config.notify)
        } catch {
            logger.error("invalid config", metadata: ["error": "\(error)"])
            return .config
        }
        let names = Set(([nightly.config.directory].compactMap { $0 } + nightly.config.sources + nightly.config.attribution).map(\.name))
        for name in acceptDrop where !names.contains(name) {
            logger.error(
                "invalid --accept-drop: no source of that name",
                metadata: [
                    "value": "\(name.prefix(60))", "names": "\(names.sorted().joined(separator: ","))"
                ])
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
            logger.error(
                "--as-of is in the future; nothing written",
                metadata: [
                    "as_of": "\(date)", "today": "\(today)", "timezone": "\(tz.identifier)",
                    "hint": "a night after tomorrow is refused (--allow-future overrides it, for tests)"
                ])
            return .usage
        }
        // A back-filled night is judged as of the end of its own day, not of today.
        let now = min(Date(), endOfDay)
        let databaseFile = database ?? nightly.config.database
        let lock: DatabaseLock
        switch lockDatabase(
            databaseFile, waitSeconds: lockWait ?? nightly.config.safety.lockWaitSeconds, purpose: "run \(date)",
            command: "run", nothing: "written", failure: .failed, metadata: ["as_of": "\(date)"])
        {
        case .success(let held): lock = held
        case .failure(let code): return code
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            let store = try SnapshotStore(path: databaseFile)
            var outcome = try await nightly.run(asOf: date, now: now, store: store, force: force)
            // After the night committed: export, webhooks, then notify. None touches the snapshot; each is a stage and a
            // sink in the metrics, so the metrics file is written after them.
            var exported = true
            var webhooksPosted = true
            var notified = true
            if outcome.status != .failed {
                if exportConfig != nil {
                    let stage = StageProgress("export")
                    exported = await exportAfterRun(exportConfig, asOf: date, store: store, stage: stage)
                    outcome.stages.append(("export", stage.end(logger, metadata: ["as_of": "\(date)"])))
                    outcome.sinks.append(("elasticsearch", .elasticsearch, exported))
                }
                if !webhooks.isEmpty {
                    let stage = StageProgress("webhook", total: webhooks.count)
                    let posted = await WebhookSink.post(webhooks, asOf: date, store: store, logger: logger) { stage.advance() }
                    outcome.stages.append(("webhook", stage.end(logger, metadata: ["as_of": "\(date)"])))
                    outcome.sinks += posted.map { ($0.name, .webhook, $0.ok) }
                    webhooksPosted = posted.allSatisfy(\.ok)
                }
                // Notify runs even when the export failed: the committed night is what it reads.
                if let notifyConfig {
                    let stage = StageProgress("notify")
                    notified = await notifyNight(notifyConfig, asOf: date, store: store, dryRunOut: nil, stage: stage)
                    outcome.stages.append(("notify", stage.end(logger, metadata: ["as_of": "\(date)"])))
                    outcome.sinks.append(("notify", .notify, notified))
                }
                outcome.finishTotal()
            }
            // The night is committed (unless it failed): a metrics file that cannot be written is a warning, never
            // "run failed" (exit 5 when the run would otherwise exit 0).
            var metricsWritten = true
            if let metricsFile {
                do { try Metrics.write(outcome, to: metricsFile) } catch {
                    metricsWritten = false
                    logger.warning(
                        "metrics file not written; the night is committed",
                        metadata: [
                            "as_of": "\(date)", "file": "\(metricsFile.path)", "error": "\(error)"
                        ])
                }
            }
            // A failed export leaves the snapshot as it is and exits 4; a failed notify exits 7 and a failed webhook 8
            // when nothing weightier (failed, export, partial) is to be said (README, "Exit codes").
            if !exported { return .exportFailed }
            if outcome.status == .complete, !notified { return .notifyFailed }
            if outcome.status == .complete, !webhooksPosted { return .webhookFailed }
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
        _ = try WebhookConfig.from(nightly.config.webhooks)
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
///
/// No series carries the night's date as a label (that would start a new series every night): the night is the
/// value of `stethoscope_night_timestamp_seconds` instead. Per-source series are labelled `{source, kind}`, the
/// sinks run after the night committed `{sink, kind}`; the README ("Operations") lists every metric.
enum Metrics {
    static func write(_ o: RunOutcome, to file: URL) throws {
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines += ["# HELP \(name) \(help)", "# TYPE \(name) gauge"]
            for s in samples { lines.append("\(name)\(s.labels.isEmpty ? "" : "{\(s.labels)}") \(s.value)") }
        }
        func labels(_ pairs: KeyValuePairs<String, String>) -> String {
            pairs.map { "\($0.key)=\"\(escape($0.value))\"" }.joined(separator: ",")
        }
        gauge(
            "stethoscope_run_status", "Outcome of the last run (0 complete, 1 partial, 2 failed).",
            [("", "\(o.status == .complete ? 0 : o.status == .partial ? 1 : 2)")])
        // The night as a timestamp (its date at 00:00 UTC): `time() - stethoscope_night_timestamp_seconds` is how old it is.
        gauge(
            "stethoscope_night_timestamp_seconds", "The night (as-of date) of the last run, as its date at 00:00 UTC.",
            [("", "\((AsOfDate.parse(o.asOf) ?? 0) * 86_400)")])
        gauge("stethoscope_run_timestamp_seconds", "When the last run finished.", [("", "\(Int(Date().timeIntervalSince1970))")])
        gauge("stethoscope_devices", "Devices in the last snapshot.", [("", "\(o.devices)")])
        gauge(
            "stethoscope_devices_carried_forward", "Devices carried forward from the last complete night (their source failed).",
            [("", "\(o.carriedForward)")])
        gauge(
            "stethoscope_pulled_records", "Device records pulled in the last run, all device sources together.",
            [("", "\(o.sourceRecords)")])
        gauge(
            "stethoscope_failed_sources", "Sources, directory and attribution entries that failed in the last run.",
            [("", "\(o.failedSources.count)")])
        gauge(
            "stethoscope_source_failed", "Whether each source, directory and attribution entry failed in the last run (1 failed).",
            o.sources.map { (labels(["source": $0.name, "kind": $0.kind.rawValue]), $0.failed ? "1" : "0") })
        gauge(
            "stethoscope_source_records", "Records each source, directory and attribution entry returned in the last run.",
            o.sources.map { (labels(["source": $0.name, "kind": $0.kind.rawValue]), "\($0.records)") })
        gauge(
            "stethoscope_source_seconds", "How long each source, directory and attribution entry took to pull in the last run.",
            o.sources.map { (labels(["source": $0.name, "kind": $0.kind.rawValue]), String(format: "%.3f", $0.seconds)) })
        gauge(
            "stethoscope_stage_seconds", "Duration of each stage of the last run; stage=\"total\" spans them all.",
            o.stages.map { (labels(["stage": $0.0]), String(format: "%.3f", $0.1)) })
        if !o.sinks.isEmpty {
            gauge(
                "stethoscope_sink_failed", "Whether each sink run after the night committed (export, webhook) failed (1 failed).",
                o.sinks.map { (labels(["sink": $0.name, "kind": $0.kind.rawValue]), $0.ok ? "0" : "1") })
        }
        try replace(file, with: Redactor.redact(lines.joined(separator: "\n")) + "\n")
    }

    /// A label value as the text format wants it: backslash, double quote and newline escaped.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
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
