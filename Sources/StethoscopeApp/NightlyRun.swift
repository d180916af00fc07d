import Foundation
import Logging
import StethoscopeCore
import StethoscopeReport
import StethoscopeRollups
import StethoscopeSources
import StethoscopeStore

/// What a sink run after the night committed is; the raw value is the `kind` label of the metrics.
public enum SinkKind: String, Sendable, CaseIterable { case elasticsearch, webhook, notify }

/// What one nightly run did.
public struct RunOutcome: Sendable {
    public var asOf: String
    public var status: RunStatus
    public var devices: Int = 0
    public var carriedForward: Int = 0
    public var sourceRecords: Int = 0
    public var failedSources: [String] = []
    /// Every configured source, directory and attribution entry: its kind, records, pull seconds and whether it failed.
    public var sources: [(name: String, kind: SourceKind, records: Int, seconds: Double, failed: Bool)] = []
    /// Stage name → seconds, in order (pull, merge, evaluate_write, rollup, then the command's export and
    /// webhook; `total` last, from the start of the run to the end of the last stage so far).
    public var stages: [(String, Double)] = []
    /// Each sink the command ran after the night committed (`elasticsearch`, webhooks): name, kind and success.
    public var sinks: [(name: String, kind: SinkKind, ok: Bool)] = []
    /// When the run started: `total` counts from here.
    public var startedAt = Date()

    /// Sets `total` (last) to the time since the run started: called after each stage that follows the night's
    /// write, so `total` always includes every stage recorded before it.
    public mutating func finishTotal(now: Date = Date()) {
        stages.removeAll { $0.0 == "total" }
        stages.append(("total", now.timeIntervalSince(startedAt)))
    }

    public var exitCode: ExitStatus {
        switch status {
        case .complete: .complete
        case .partial: .partial
        case .failed: .failed
        }
    }
}

/// One night, stage by stage (docs/DESIGN.md): pull everything concurrently, merge, attribute, evaluate and write
/// the snapshot in one transaction. A failing source makes the night partial; its devices are carried forward.
public struct NightlyRun: Sendable {
    public var config: StethoscopeConfig
    public var plugins: ConfiguredPlugins
    public var logger: Logger
    /// Sources whose record drop the operator accepted for this run (`run --accept-drop NAME`).
    public var acceptedDrops: Set<String> = []

    public init(config: StethoscopeConfig, plugins: ConfiguredPlugins, logger: Logger) {
        self.config = config
        self.plugins = plugins
        self.logger = logger
    }

    /// Loads and validates the config and builds every plugin; throws `ConfigError` naming the key path.
    public static func prepare(configFile: URL, logger: Logger) throws -> NightlyRun {
        let config = try StethoscopeConfig.load(file: configFile)
        try config.validateForRun()
        let plugins = try ConfiguredPlugins(config, environment: PluginEnvironment(logger: logger))
        return NightlyRun(config: config, plugins: plugins, logger: logger)
    }

    /// Runs the night `asOf` (default: today in the configured time zone) into `store`. Without `force`, a re-run
    /// that would replace a stored night with fewer than `safety.min_rerun_share` of its devices throws `RerunRefused`.
    public func run(asOf: String, now: Date, store: SnapshotStore, force: Bool = false) async throws -> RunOutcome {
        let started = Date()
        var outcome = RunOutcome(asOf: asOf, status: .complete)
        outcome.startedAt = started
        var log = logger
        log[metadataKey: "as_of"] = "\(asOf)"
        log.info("run started", metadata: ["sources": "\(plugins.sources.count)"])

        // Each stage ends with one `stage done` log line (cron's log), and shows a live line on a terminal.
        let pullStage = StageProgress("pull", live: false)
        var pulled = await pullAll(asOf: asOf, now: now, logger: log)
        clampFutureTimes(&pulled, now: now, logger: log)
        try rejectRecordDrops(&pulled, asOf: asOf, store: store, logger: log)
        try carryAttributionForward(&pulled, asOf: asOf, store: store, logger: log)
        let tPull = Date()
        pullStage.end(log, items: pulled.records.count)
        outcome.stages.append(("pull", tPull.timeIntervalSince(started)))
        outcome.sources = pulled.figures.sorted { $0.key < $1.key }.map {
            ($0.key, $0.value.kind, $0.value.records, $0.value.seconds, $0.value.failure != nil)
        }

        // Any failure, attribution included, makes the night partial (docs/DESIGN.md, "Safety rules").
        var failed = Set(pulled.failedDevice).union(pulled.failedAttribution)
        var people = pulled.people
        if plugins.directory != nil, people == nil {
            // Without tonight's directory, keep last complete night's people so owners and groups stay stable.
            people = try store.people(asOf: store.lastCompleteNight(before: asOf) ?? "")
            failed.insert(pulled.directoryName ?? "directory")
            log.warning("directory failed; using the last complete night's people", metadata: ["people": "\(people?.count ?? 0)"])
        }
        outcome.failedSources = failed.sorted()
        if !plugins.sources.isEmpty && pulled.failedDevice.count == plugins.sources.count {
            outcome.status = .failed
            log.error("every device source failed; nothing written", metadata: ["failed": "\(outcome.failedSources.joined(separator: ","))"])
            outcome.finishTotal()
            return outcome
        }
        if !failed.isEmpty { outcome.status = .partial }

        let orgChart = OrgChart(people ?? [])
        for problem in orgChart.problems.prefix(20) { log.warning("directory problem", metadata: ["problem": "\(problem)"]) }
        let normalizer = IdentifierNormalizer(extraPlaceholders: config.extraPlaceholderSerials, sharedIdentifiers: config.sharedIdentifiers)
        let mergeStage = StageProgress("merge")
        let merged = DeviceMerger(normalizer: normalizer).merge(pulled.records)
        let tMerge = Date()
        mergeStage.end(log, items: merged.groups.count)
        outcome.stages.append(("merge", tMerge.timeIntervalSince(tPull)))
        log.info(
            "merged",
            metadata: [
                "records": "\(pulled.records.count)", "devices": "\(merged.groups.count)",
                "conflicts": "\(merged.conflicts.count)",
                "rejected_identifiers": "\(merged.rejected.values.reduce(0, +))"
            ])

        // Auth logs name some users by a bare username (`CORP\alice`): tonight's directory says who they are.
        // Events that name a device by host name give their owner to the one device of tonight with that name.
        let hostnames = HostnameMatch.resolve(
            UnmanagedDevice.resolveUsernames(pulled.assignments, orgChart: orgChart),
            groups: merged.groups, records: pulled.records, normalizer: normalizer)
        if hostnames.matched + hostnames.ambiguous > 0 {
            log.info(
                "host names matched to devices",
                metadata: [
                    "matched": "\(hostnames.matched)",
                    "shared_names_dropped": "\(hostnames.ambiguous)"
                ])
        }
        let assignments = hostnames.lists
        let evaluator = NightEvaluator(
            practices: config.practices, asOf: asOf, now: now, staleAfterDays: config.staleAfterDays, orgChart: orgChart,
            attribution: OwnerAttribution.attributionMap(assignments, normalizer: normalizer),
            attributionPrecedence: assignments.map(\.via),
            evidence: OwnerAttribution.evidenceMap(assignments, normalizer: normalizer))
        let records = pulled.records
        var night = NightRecord(
            asOf: asOf, startedAt: started, finishedAt: Date(), status: outcome.status, figures: pulled.figures,
            people: orgChart.directoryPeople, practices: config.practices, conflicts: merged.conflicts,
            failedSources: Set(pulled.failedDevice), sourceRecords: records.count,
            staleBefore: now.addingTimeInterval(-Double(config.staleAfterDays) * 86400))
        // `people` keeps what the directory said; the flags say where the run's org chart differs from it.
        night.managerCycles = Set(orgChart.inCycles)
        night.duplicateEmails = orgChart.ambiguous
        night.unmanaged = try unmanagedDevices(
            assignments, merged: merged, pulled: pulled, asOf: asOf, store: store,
            normalizer: normalizer, orgChart: orgChart, logger: log)
        let stored = force ? nil : try store.storedDevices(asOf: asOf)
        let share = config.safety.minRerunShare
        var rollupSeconds = 0.0
        let writeStage = StageProgress("evaluate_write", total: merged.groups.count)
        var rollupStage: StageProgress?
        // Evaluated on another thread a few chunks ahead of the writer (EvaluateAhead), in group order.
        let devices = EvaluateAhead(groups: merged.groups, records: records, evaluator: evaluator).lazy.map { device in
            writeStage.advance()
            return device
        }
        let summary = try store.writeNight(night, devices: devices) { written in
            // Both inside the night's transaction: a refused re-run or a failed roll-up leaves the stored state as it was.
            if let stored, Double(written.devices) < share * Double(stored) {
                throw RerunRefused(asOf: asOf, stored: stored, found: written.devices, share: share)
            }
            writeStage.end(log, metadata: ["written": "\(written.devices)"])
            let stage = StageProgress("rollup", total: written.devices)
            rollupStage = stage
            rollupSeconds = try Rollups.compute(store, asOf: asOf) { stage.update(done: $0, total: nil) }.seconds
        }
        let tWrite = Date()
        outcome.stages.append(("evaluate_write", tWrite.timeIntervalSince(tMerge) - rollupSeconds))
        // Retention counts back from the newest complete night that is not in the future (docs/DESIGN.md, "Safety rules");
        // a failure here leaves the committed night as it is.
        do {
            let pruned = try Rollups.prune(
                store, asOf: asOf, retentionNights: config.detailRetentionNights,
                today: AsOfDate.of(Date(), in: config.timeZone))
            if let first = pruned.first, let last = pruned.last {
                log.info(
                    "retention pruned detail",
                    metadata: [
                        "nights": "\(pruned.count)", "first": "\(first)", "last": "\(last)",
                        "detail_nights": "\(config.detailRetentionNights)"
                    ])
            }
        } catch {
            log.error("retention pruning failed; the night is committed", metadata: ["error": "\(error)"])
        }
        outcome.stages.append(("rollup", rollupSeconds + Date().timeIntervalSince(tWrite)))
        rollupStage?.end(log)
        outcome.finishTotal()
        outcome.devices = summary.devices
        outcome.carriedForward = summary.carriedForward
        outcome.sourceRecords = records.count
        log.info(
            "run finished",
            metadata: [
                "status": "\(outcome.status.rawValue)", "devices": "\(summary.devices)",
                "carried_forward": "\(summary.carriedForward)", "practice_rows": "\(summary.practiceRows)",
                "seconds": "\(String(format: "%.2f", tWrite.timeIntervalSince(started)))"
            ])
        return outcome
    }

    /// A re-run refused because it would replace a stored night with far fewer devices (README, exit code 6).
    public struct RerunRefused: Error, CustomStringConvertible, Sendable {
        public var asOf: String
        public var stored: Int
        public var found: Int
        public var share: Double
        public var description: String {
            "night \(asOf) is stored with \(stored) devices but this re-run found \(found), fewer than "
                + "\(Int((share * 100).rounded()))% of them (safety.min_rerun_share): the stored night is kept; "
                + "pass --force to replace it"
        }
    }

    struct Pulled: Sendable {
        var records: [SourceRecord] = []
        var people: [Person]?
        var directoryName: String?
        var assignments: [(via: String, assignments: [OwnerAssignment])] = []
        var figures: [String: SourceFigures] = [:]
        var failedDevice: [String] = []
        var failedAttribution: [String] = []
    }

    /// What one pull job reads: the directory, or the device source or attribution list at its index.
    enum PullSource: Sendable {
        case directory(any DirectorySource)
        case device(Int, any DeviceSource)
        case attribution(Int, any AttributionSource)

        var kind: SourceKind {
            switch self {
            case .directory: .directory
            case .device: .device
            case .attribution: .attribution
            }
        }
    }

    struct PullJob: Sendable {
        var name: String
        var source: PullSource
        var context: PullContext
        var allowEmpty: Bool
        var kind: SourceKind { source.kind }
        var counter: FigureCounter { context.figures }
    }

    /// A job's records, or why it failed; `job` indexes the job list.
    enum PullResult: Sendable {
        case device(job: Int, [SourceRecord])
        case directory(job: Int, [Person])
        case attribution(job: Int, [OwnerAssignment])
        case failure(job: Int, String)
    }

    /// Pulls the directory, every source and every attribution list concurrently; a failure is recorded
    /// against its source and never stops the others.
    func pullAll(asOf: String, now: Date, logger: Logger) async -> Pulled {
        func job(_ name: String, _ source: PullSource, plugin: String, allowEmpty: Bool) -> PullJob {
            var l = logger
            l[metadataKey: "source"] = "\(name)"
            let context = PullContext(asOf: asOf, now: now, figures: FigureCounter(kind: source.kind, plugin: plugin), logger: l)
            return PullJob(name: name, source: source, context: context, allowEmpty: allowEmpty)
        }
        var jobs: [PullJob] = []
        if let d = plugins.directory {
            jobs.append(job(d.name, .directory(d), plugin: config.directory?.type ?? "", allowEmpty: config.directory?.allowEmpty ?? false))
        }
        for (i, s) in plugins.sources.enumerated() {
            jobs.append(
                job(
                    s.source.name, .device(i, s.source), plugin: s.plugin,
                    allowEmpty: config.sources.indices.contains(i) && config.sources[i].allowEmpty))
        }
        for (i, a) in plugins.attribution.enumerated() {
            jobs.append(
                job(
                    a.source.name, .attribution(i, a.source), plugin: a.plugin,
                    allowEmpty: config.attribution.indices.contains(i) && config.attribution[i].allowEmpty))
        }
        let progress = ProgressDisplay(counters: jobs.map { ($0.name, $0.counter) })
        progress.start()
        defer { progress.stop() }

        var pulled = Pulled()
        pulled.directoryName = plugins.directory?.name
        var bySource: [Int: [SourceRecord]] = [:]
        var byAttribution: [Int: [OwnerAssignment]] = [:]
        await withTaskGroup(of: PullResult.self) { group in
            for (jobIndex, job) in jobs.enumerated() {
                group.addTask {
                    do {
                        // An empty pull is an error for its source unless the config says `allow_empty: true`.
                        let empty = SourceError(job.name, "returned no records (set allow_empty: true if that is expected)")
                        switch job.source {
                        case .directory(let directory):
                            let people = try await directory.people(job.context)
                            if people.isEmpty && !job.allowEmpty { throw empty }
                            return .directory(job: jobIndex, people)
                        case .device(_, let source):
                            let records = try await source.pull(job.context)
                            if records.isEmpty && !job.allowEmpty { throw empty }
                            return .device(job: jobIndex, records)
                        case .attribution(_, let source):
                            let list = try await source.assignments(job.context)
                            if list.isEmpty && !job.allowEmpty { throw empty }
                            return .attribution(job: jobIndex, list)
                        }
                    } catch {
                        return .failure(job: jobIndex, String(describing: error))
                    }
                }
            }
            for await result in group {
                switch result {
                case .device(let j, let records):
                    if case .device(let i, _) = jobs[j].source { bySource[i] = records }
                    jobs[j].counter.setRecords(records.count)
                    logDone(logger, jobs[j].name, jobs[j].counter)
                case .directory(let j, let people):
                    pulled.people = people
                    jobs[j].counter.setRecords(people.count)
                    logDone(logger, jobs[j].name, jobs[j].counter)
                case .attribution(let j, let list):
                    if case .attribution(let i, _) = jobs[j].source { byAttribution[i] = list }
                    jobs[j].counter.setRecords(list.count)
                    logDone(logger, jobs[j].name, jobs[j].counter)
                case .failure(let j, let message):
                    let job = jobs[j]
                    job.counter.fail(message)
                    switch job.kind {
                    case .device: pulled.failedDevice.append(job.name)
                    case .attribution: pulled.failedAttribution.append(job.name)
                    case .directory: break
                    }
                    logger.error("source failed", metadata: ["source": "\(job.name)", "kind": "\(job.kind.rawValue)", "error": "\(message)"])
                }
            }
        }
        // Source order, not completion order: the merge sorts anyway, but memory and logs stay predictable.
        for i in plugins.sources.indices { pulled.records.append(contentsOf: bySource[i] ?? []) }
        for i in plugins.attribution.indices {
            if let list = byAttribution[i] { pulled.assignments.append((plugins.attribution[i].source.name, list)) }
        }
        for job in jobs { pulled.figures[job.name] = job.counter.snapshot() }
        return pulled
    }

    private func logDone(_ logger: Logger, _ name: String, _ c: FigureCounter) {
        let f = c.snapshot()
        logger.info(
            "source done",
            metadata: [
                "source": "\(name)", "records": "\(f.records)", "pages": "\(f.pages)", "requests": "\(f.requests)",
                "retries": "\(f.retries)", "rejected": "\(f.rejected)", "seconds": "\(String(format: "%.2f", f.seconds))"
            ])
    }
}
