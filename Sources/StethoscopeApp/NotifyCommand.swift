import Foundation
import Logging
import StethoscopeCore
import StethoscopeNotify
import StethoscopeStore

extension Commands {
    /// The transport for `notify.smtp`: StethoscopeHTTP's SMTP client behind notify's `MailTransport`.
    static func makeTransport(_ settings: NotifyConfig.SMTPSettings) throws -> any MailTransport {
        try SMTPMailTransport(settings)
    }

    /// `stethoscope notify`: plans and sends the messages of one committed night (default: the newest one).
    /// `dryRunOut` writes `.eml` files and an `index.html` there instead, sending and recording nothing.
    /// Exit 7 when any message was not sent (deferred, failed, unconfirmed) or notify itself failed; the
    /// snapshot is never touched. Holds the database's lock like `run` and `export`.
    public static func notify(
        configFile: URL, database: URL?, asOf: String?, dryRunOut: URL?,
        lockWait: Double? = nil, now: Date = Date()
    ) async -> ExitStatus {
        LogfmtHandler.bootstrap()
        guard
            case (let config, let notify)? = loadConfig(
                configFile,
                { config -> NotifyConfig in
                    guard let notify = try NotifyConfig.from(section: config.notify) else { throw NotConfigured("notify") }
                    return notify
                })
        else { return .config }
        if let asOf, !AsOfDate.isValid(asOf) {
            logger.error("invalid --as-of", metadata: ["value": "\(asOf.prefix(40))", "expected": "YYYY-MM-DD"])
            return .usage
        }
        let databaseFile = database ?? config.database
        let lock: DatabaseLock
        switch lockDatabase(
            databaseFile, waitSeconds: lockWait ?? config.safety.lockWaitSeconds, purpose: "notify",
            command: "notify", nothing: "sent", failure: .notifyFailed)
        {
        case .success(let held): lock = held
        case .failure(let code): return code
        }
        defer { withExtendedLifetime(lock) {} }
        do {
            let store = try SnapshotStore(path: databaseFile)
            guard let night = try asOf ?? Notifier.latestNight(store.database) else {
                logger.error("notify failed", metadata: ["error": "the database holds no night to notify"])
                return .notifyFailed
            }
            let stage = StageProgress("notify")
            let notified = await notifyNight(notify, asOf: night, store: store, dryRunOut: dryRunOut, now: now, stage: stage)
            stage.end(logger, metadata: ["as_of": "\(night)"])
            return notified ? .complete : .notifyFailed
        } catch {
            logger.error("notify failed", metadata: ["error": "\(error)"])
            return .notifyFailed
        }
    }

    /// Notifies one night with the configured delivery (or a dry run into `dryRunOut`); `false` when notify failed
    /// or a message was not sent. Never throws: `run` calls it after the night committed.
    static func notifyNight(
        _ notify: NotifyConfig, asOf: String, store: SnapshotStore, dryRunOut: URL?,
        now: Date = Date(), forceManagerDigest: Bool = false, stage: StageProgress? = nil
    ) async -> Bool {
        do {
            var out = dryRunOut
            if out == nil, case .dryRun(let dir) = notify.delivery { out = dir }
            let transport: any MailTransport
            switch (out, notify.delivery) {
            case (.some(let dir), _): transport = try DryRunTransport(out: dir)
            case (nil, .smtp(let settings)): transport = try makeTransport(settings)
            case (nil, .dryRun): preconditionFailure("a dry-run delivery always has a folder")
            }
            let o = try await Notifier(config: notify).run(
                database: store.database, asOf: asOf, transport: transport, now: now,
                dryRun: out, forceManagerDigest: forceManagerDigest
            ) {
                stage?.update(done: $0, total: $1)
            }
            var metadata: Logger.Metadata = [
                "as_of": "\(asOf)", "planned": "\(o.planned)", "sent": "\(o.sent)", "deferred": "\(o.deferred)",
                "failed": "\(o.failed)", "unconfirmed": "\(o.unconfirmed)", "already_sent": "\(o.alreadySent)",
                "held_out": "\(o.heldOut)", "capped": "\(o.deferredByCap)", "quiet_day": "\(o.quiet)"
            ]
            if let out { metadata["dry_run"] = "\(out.path)" }
            if o.leftSending > 0 {
                // At-most-once: a crash between handing a message over and recording the answer may or may not have
                // delivered it; it is not sent again (README, "Nudges").
                logger.warning(
                    "messages left unconfirmed by an earlier notify are not re-sent",
                    metadata: [
                        "as_of": "\(asOf)", "count": "\(o.leftSending)"
                    ])
            }
            if o.succeeded { logger.info("notify done", metadata: metadata) } else { logger.warning("notify: some messages were not sent", metadata: metadata) }
            return o.succeeded
        } catch {
            logger.error("notify failed", metadata: ["as_of": "\(asOf)", "error": "\(error)"])
            return false
        }
    }
}
