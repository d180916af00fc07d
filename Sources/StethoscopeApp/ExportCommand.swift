import Foundation
import Logging
import StethoscopeCore
import StethoscopeExport
import StethoscopeStore

extension Commands {
    /// `stethoscope export`: (re)send or resume one night (`asOf`), catch up every night not yet exported
    /// since `since`, and/or install the index template. Exit 4 when any export failed or had rejected documents.
    /// Holds the database's lock (`lockWait` overrides `safety.lock_wait_s`; exit 75 when it stays held).
    public static func export(
        configFile: URL, database: URL?, asOf: String?, since: String?,
        installTemplate: Bool, lockWait: Double? = nil
    ) async -> ExitStatus {
        LogfmtHandler.bootstrap()
        guard
            case (let config, let es)? = loadConfig(
                configFile,
                { config -> ElasticsearchConfig in
                    guard let es = try ElasticsearchConfig.from(exportSection: config.export) else { throw NotConfigured("export.elasticsearch") }
                    return es
                })
        else { return .config }
        for date in [asOf, since].compactMap({ $0 }) where !AsOfDate.isValid(date) {
            logger.error("invalid date", metadata: ["value": "\(date.prefix(40))", "expected": "YYYY-MM-DD"])
            return .usage
        }
        let exporter = NightExporter(config: es, logger: logger)
        let databaseFile = database ?? config.database
        let lock: DatabaseLock
        switch lockDatabase(
            databaseFile, waitSeconds: lockWait ?? config.safety.lockWaitSeconds, purpose: "export",
            command: "export", nothing: "exported", failure: .exportFailed)
        {
        case .success(let held): lock = held
        case .failure(let code): return code
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            if installTemplate { try await exporter.installTemplate() }
            let store = try SnapshotStore(path: databaseFile)
            var nights: [String] = []
            if let since { nights = try exporter.pendingNights(since: since, store: store) }
            if let asOf, !nights.contains(asOf) { nights.append(asOf) }
            if since != nil { logger.info("nights to export", metadata: ["count": "\(nights.count)"]) }
            var status = ExitStatus.complete
            for night in nights.sorted() {
                let stage = StageProgress("export")
                let record = try await exporter.export(asOf: night, store: store) { stage.update(done: $0, total: $1) }
                stage.end(logger, metadata: ["as_of": "\(night)", "status": "\(record.status.rawValue)"])
                if record.status != .complete { status = .exportFailed }
                // A refused credential or an unreachable cluster will not be better for the next night.
                if record.status == .failed { break }
            }
            return status
        } catch {
            logger.error("export failed", metadata: ["error": "\(error)"])
            return .exportFailed
        }
    }

    /// The export step of `stethoscope run`, after the snapshot committed: exports the night when
    /// `export.elasticsearch` is configured. Never touches the snapshot; `false` when the export did not complete.
    static func exportAfterRun(
        _ es: ElasticsearchConfig?, asOf: String, store: SnapshotStore,
        stage: StageProgress? = nil
    ) async -> Bool {
        guard let es else { return true }
        do {
            let record = try await NightExporter(config: es, logger: logger).export(asOf: asOf, store: store) {
                stage?.update(done: $0, total: $1)
            }
            return record.status == .complete
        } catch {
            logger.error("export failed", metadata: ["as_of": "\(asOf)", "error": "\(error)"])
            return false
        }
    }
}
