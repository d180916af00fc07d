import Foundation
import Logging
import StethoscopeApp
import StethoscopeCore
import StethoscopeNotify
import StethoscopeSources
import StethoscopeStore

/// Issue 15: planning the messages of a stored 100,000-person demo night (≤ 2 s): the night read, the plan (an empty
/// ledger, so everyone who needs action is due: the largest night there is) and every message rendered, with the
/// demo's notify config (digest and one campaign, 10% hold-out), sending and recording nothing. The night is built
/// once through the whole pipeline and cached under .build/bench-cache. Best of three; `read_s`, `plan_s` and
/// `render_s` split the best run into its stages; `read_night_s` is the night's read alone (NightData.load, best of
/// three) and `plan_only_s` the planner alone on the night read (who is due, the cap, the messages' contents).
func benchNotify() async throws {
    let cache = URL(fileURLWithPath: ".build/bench-cache/notify-100k")
    let database = cache.appendingPathComponent("stethoscope.db")
    let config = cache.appendingPathComponent("demo.yaml")
    let fm = FileManager.default
    // A night past the OS release's required date, so old OS versions are `warn` too.
    let start = "2026-10-01"
    let asOf = "2026-11-15"
    if !fm.fileExists(atPath: cache.appendingPathComponent("night.done").path) {
        try? fm.removeItem(at: cache)
        try fm.createDirectory(at: cache, withIntermediateDirectories: true)
        try (DemoPlugin.demoConfigYAML(seed: 1, people: 100_000, start: start, nights: 60, database: database.path) + DemoRunner.notifyYAML)
            .write(to: config, atomically: true, encoding: .utf8)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let nightly = try NightlyRun.prepare(configFile: config, logger: logger)
        _ = try await nightly.run(asOf: asOf, now: AsOfDate.endOfDay(asOf, in: .gmt)!, store: try SnapshotStore(path: database))
        _ = fm.createFile(atPath: cache.appendingPathComponent("night.done").path, contents: nil)
    }
    let root = try ConfigSection.parse(yaml: try String(contentsOf: config, encoding: .utf8))
    guard let notify = try NotifyConfig.from(section: try root.section("notify")) else { throw NotifyBenchError.noConfig }
    let store = try SnapshotStore(path: database)
    let clock = ContinuousClock()
    func seconds(_ d: Duration) -> Double { d.seconds }
    var best = Double.infinity
    var readBest = Double.infinity
    var planBest = Double.infinity
    var split = Notifier.Stages()
    var planned: (plan: NotifyPlan, mails: [OutgoingMail], stages: Notifier.Stages)?
    for _ in 0..<3 {
        var night: NightData?
        readBest = min(readBest, seconds(try clock.measure { night = try NightData.load(store.database, asOf: asOf) }))
        if let night { planBest = min(planBest, seconds(clock.measure { _ = Planner(config: notify).plan(night, history: [:], holdoutHistory: [:]) })) }
        night = nil
        let total = seconds(try clock.measure { planned = try Notifier(config: notify).prepare(database: store.database, asOf: asOf) })
        if total < best, let planned {
            best = total
            split = planned.stages
        }
    }
    guard let planned else { return }
    let people = try store.database.int("SELECT count(*) FROM people WHERE as_of = '\(asOf)'") ?? 0
    let bytes = planned.mails.reduce(0) { $0 + $1.data.count }
    // The stages of the best run: read (the night), plan (who is due, the cap, the manager digests, the night freed),
    // render (text, HTML and MIME of every message).
    print(
        String(
            format:
                "notify.plan_100k_s=%.3f limit_s=2 read_s=%.3f plan_s=%.3f render_s=%.3f read_night_s=%.3f plan_only_s=%.3f people=%d messages=%d capped=%d held_out=%d mb=%.0f",
            best, seconds(split.read), seconds(split.plan), seconds(split.render), readBest, planBest, people,
            planned.mails.count, planned.plan.deferredByCap, planned.plan.holdouts.count, Double(bytes) / 1e6))
}

enum NotifyBenchError: Error { case noConfig }
