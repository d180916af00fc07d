import Foundation
import Logging
import StethoscopeApp
import StethoscopeCore
import StethoscopeSources
import StethoscopeStore

/// Peak resident set size of this process so far, in MB.
func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t = Date()
    try body()
    return Date().timeIntervalSince(t)
}

/// Issue 2: one full night of a 100,000-person demo company (generate, merge, evaluate, write), ≤ 60 s, ≤ 2 GB.
/// Run first, so the peak RSS printed is the night's.
func benchFullNight() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-bench-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let config = dir.appendingPathComponent("demo.yaml")
    try DemoPlugin.demoConfigYAML(seed: 1, people: 100_000, start: "2026-10-01", nights: 60, database: dir.appendingPathComponent("s.db").path)
        .write(to: config, atomically: true, encoding: .utf8)
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let nightly = try NightlyRun.prepare(configFile: config, logger: logger)
    let store = try SnapshotStore(path: dir.appendingPathComponent("s.db"))
    let t = Date()
    let outcome = try await nightly.run(asOf: "2026-10-01", now: AsOfDate.endOfDay("2026-10-01", in: .gmt)!, store: store)
    let total = Date().timeIntervalSince(t)
    let stages = outcome.stages.map { "\($0.0)_s=\(String(format: "%.2f", $0.1))" }.joined(separator: " ")
    print("night.100k_people_seconds=\(String(format: "%.2f", total)) limit=60 devices=\(outcome.devices) records=\(outcome.sourceRecords) peak_rss_mb=\(Int(peakRSSMegabytes())) rss_limit_mb=2048 \(stages)")
}

/// Issue 2: merge + evaluate throughput at ~100k and ~1M source records; per-record time at 1M within 1.5x.
/// Also merge precision and recall against the generator's ground truth.
func benchMerge() {
    var perRecord: [Double] = []
    for people in [21_500, 215_000] {
        let world = DemoWorld(DemoParameters(seed: 2, people: people, start: "2026-10-01", nights: 60))
        let records = DemoFeed.allCases.flatMap { world.records($0, night: 10, source: $0.rawValue) }
        let chart = OrgChart(world.people(night: 10))
        var merged: MergeResult? = nil
        var results = 0
        let s = seconds {
            let m = DeviceMerger().merge(records)
            merged = m
            let e = NightEvaluator(practices: .defaults, asOf: "2026-10-11", now: AsOfDate.endOfDay("2026-10-11", in: .gmt)!,
                                   staleAfterDays: 14, orgChart: chart)
            for g in m.groups { results &+= e.evaluate(g, records).results.count }
        }
        guard let merged else { return }
        perRecord.append(s / Double(records.count))
        print("merge_evaluate.records=\(records.count) devices=\(merged.groups.count) records_per_s=\(Int(Double(records.count) / s)) seconds=\(String(format: "%.2f", s)) results=\(results)")
        if people == 21_500 {
            let q = MergeQuality.pairwise(groups: merged.groups, records: records, truth: world.groundTruth(night: 10))
            print("merge.precision=\(String(format: "%.5f", q.precision)) min=0.995 recall=\(String(format: "%.5f", q.recall)) min=0.99 conflicts=\(merged.conflicts.count)")
        }
    }
    print("merge_evaluate.per_record_ratio_1m_vs_100k=\(String(format: "%.2f", perRecord[1] / perRecord[0])) max=1.5")
}
