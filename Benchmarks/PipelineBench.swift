import Foundation
import Logging
import StethoscopeApp
import StethoscopeCore
import StethoscopeSources
import StethoscopeStore
import StethoscopeTestSupport

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

/// One demo night of `people` people in a fresh database: the night's seconds (from the start of the run to the
/// end of its roll-ups), devices, source records and stages.
func demoNight(people: Int) async throws -> (seconds: Double, devices: Int, records: Int, stages: [(String, Double)]) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-bench-\(getpid())-\(people)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let config = dir.appendingPathComponent("demo.yaml")
    try DemoPlugin.demoConfigYAML(seed: 1, people: people, start: "2026-10-01", nights: 60, database: dir.appendingPathComponent("s.db").path)
        .write(to: config, atomically: true, encoding: .utf8)
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let nightly = try NightlyRun.prepare(configFile: config, logger: logger)
    let store = try SnapshotStore(path: dir.appendingPathComponent("s.db"))
    let t = Date()
    let outcome = try await nightly.run(asOf: "2026-10-01", now: AsOfDate.endOfDay("2026-10-01", in: .gmt)!, store: store)
    return (Date().timeIntervalSince(t), outcome.devices, outcome.sourceRecords, outcome.stages)
}

/// Issue 18: one full night of a 100,000-person demo company (generate, merge, evaluate, write, roll up), ≤ 15 s,
/// peak RSS ≤ 1 GB. Run first, so the peak RSS printed is the night's. `without_rollup_s` is the night before its
/// roll-up stage (the roll-up has its own target).
func benchFullNight() async throws {
    let night = try await demoNight(people: 100_000)
    let rollup = night.stages.first { $0.0 == "rollup" }?.1 ?? 0
    let stages = night.stages.map { "\($0.0)_s=\(String(format: "%.2f", $0.1))" }.joined(separator: " ")
    print(
        "night.100k_people_seconds=\(String(format: "%.2f", night.seconds)) limit=15 devices=\(night.devices) records=\(night.records) "
            + "peak_rss_mb=\(Int(peakRSSMegabytes())) rss_limit_mb=1024 without_rollup_s=\(String(format: "%.2f", night.seconds - rollup)) \(stages)")
}

/// `night-once PEOPLE`: one demo night in a process of its own, printing "seconds devices peak_rss_mb stages…".
func nightOnce(people: Int) async throws {
    let night = try await demoNight(people: people)
    let stages = night.stages.map { "\($0.0)_s=\(String(format: "%.2f", $0.1))" }.joined(separator: " ")
    print("\(night.seconds) \(night.devices) \(Int(peakRSSMegabytes())) \(stages)")
}

/// Issue 18, scale: a 1,000,000-device night (≈420,000 people) ≤ 90 s and ≤ 2 GB, its time per device within 1.3× of
/// a 100,000-person night's. Each night in a child process (`night-once`), so each peak RSS is its own; the 100k
/// reference is the better of two runs (the machine is shared and noisy); the 1M night runs once, as it takes minutes.
func benchMillionNight() throws {
    func run(_ people: Int) throws -> (seconds: Double, devices: Int, rss: Int, stages: String) {
        let f = try runBenchChild(["night-once", String(people)])
        guard f.count >= 3, let seconds = Double(f[0]), let devices = Int(f[1]), let rss = Int(f[2]) else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "night-once \(people) said: \(f.joined(separator: " "))"])
        }
        return (seconds, devices, rss, f.dropFirst(3).joined(separator: " "))
    }
    let small = try (0..<2).map { _ in try run(100_000) }.min { $0.seconds < $1.seconds }!
    let large = try run(420_000)
    let ratio = (large.seconds / Double(large.devices)) / (small.seconds / Double(small.devices))
    print(
        "night.1m_devices_seconds=\(String(format: "%.2f", large.seconds)) limit=90 devices=\(large.devices) "
            + "peak_rss_mb=\(large.rss) rss_limit_mb=2048 per_device_ratio_vs_100k=\(String(format: "%.2f", ratio)) max=1.3 "
            + "\(large.stages) (100k: \(String(format: "%.2f", small.seconds)) s, \(small.devices) devices, \(small.rss) MB)")
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
            let e = NightEvaluator(
                practices: .defaults, asOf: "2026-10-11", now: AsOfDate.endOfDay("2026-10-11", in: .gmt)!,
                staleAfterDays: 14, orgChart: chart)
            for g in m.groups { results &+= e.evaluate(g, records).results.count }
        }
        guard let merged else { return }
        perRecord.append(s / Double(records.count))
        print(
            "merge_evaluate.records=\(records.count) devices=\(merged.groups.count) records_per_s=\(Int(Double(records.count) / s)) seconds=\(String(format: "%.2f", s)) results=\(results)"
        )
        if people == 21_500 {
            let q = MergeQuality.pairwise(groups: merged.groups, records: records, truth: world.groundTruth(night: 10))
            print(
                "merge.precision=\(String(format: "%.5f", q.precision)) min=0.995 recall=\(String(format: "%.5f", q.recall)) min=0.99 conflicts=\(merged.conflicts.count)"
            )
        }
    }
    print("merge_evaluate.per_record_ratio_1m_vs_100k=\(String(format: "%.2f", perRecord[1] / perRecord[0])) max=1.5")
}

/// Runs this bench executable again with `arguments` (a `*-once` mode, so a figure's run has a process, heap and
/// peak RSS of its own) and returns the words it printed; throws when it fails.
func runBenchChild(_ arguments: [String]) throws -> [Substring] {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    child.arguments = arguments
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()
    let said = String(decoding: pipe.fileHandleForReading.readAllRetrying(), as: UTF8.self)
    child.waitUntilExit()
    guard child.terminationStatus == 0 else {
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(arguments.joined(separator: " ")) failed: \(said)"])
    }
    return said.split(whereSeparator: \.isWhitespace)
}
