import Foundation
import Logging
import StethoscopeApp
import StethoscopeCore
import StethoscopeReport
import StethoscopeRollups
import StethoscopeSources
import StethoscopeStore

/// Issue 18: the roll-up of one 100,000-person demo night (≈240,000 devices), ≤ 2 s. Two nights run through the
/// nightly pipeline once (cached under .build/bench-cache), so the second night has failing streaks to carry on;
/// its roll-up is then computed again, best of three.
func benchRollup() async throws {
    let cache = URL(fileURLWithPath: ".build/bench-cache/rollup-100000x2")
    let database = cache.appendingPathComponent("stethoscope.db")
    let fm = FileManager.default
    let start = "2026-10-01"
    let nights = 2
    if !fm.fileExists(atPath: cache.appendingPathComponent("done").path) {
        try? fm.removeItem(at: cache)
        try fm.createDirectory(at: cache, withIntermediateDirectories: true)
        let config = cache.appendingPathComponent("demo.yaml")
        try DemoPlugin.demoConfigYAML(seed: 1, people: 100_000, start: start, nights: nights, database: database.path)
            .write(to: config, atomically: true, encoding: .utf8)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let nightly = try NightlyRun.prepare(configFile: config, logger: logger)
        let store = try SnapshotStore(path: database)
        for n in 0..<nights {
            let asOf = AsOfDate.adding(n, to: start)!
            _ = try await nightly.run(asOf: asOf, now: AsOfDate.endOfDay(asOf, in: nightly.config.timeZone)!, store: store)
        }
        _ = fm.createFile(atPath: cache.appendingPathComponent("done").path, contents: nil)
    }
    let store = try SnapshotStore(path: database)
    let night = AsOfDate.adding(nights - 1, to: start)!
    // The CPU time too (user + system of this process): on a shared machine the wall time includes waiting.
    func cpu() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }
    var best: Rollups.Summary?
    var bestCPU = Double.infinity
    for _ in 0..<3 {
        let before = cpu()
        let s = try Rollups.compute(store, asOf: night)
        bestCPU = min(bestCPU, cpu() - before)
        if best == nil || s.seconds < best!.seconds { best = s }
    }
    guard let best else { return }
    print(
        String(
            format: "rollup.100k_night_seconds=%.2f limit=2 cpu_seconds=%.2f devices=%d groups=%d", best.seconds, bestCPU,
            best.devices, best.groups))
}
