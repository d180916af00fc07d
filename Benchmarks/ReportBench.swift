import Foundation
import Logging
import StethoscopeApp
import StethoscopeCore
import StethoscopeReport
import StethoscopeRollups
import StethoscopeSources
import StethoscopeStore
import StethoscopeTestSupport

/// The nights of the 90 that run through the whole demo pipeline; the others get the roll-ups of a real night
/// (`night % 10`) under their own date. The report reads only roll-ups, so this is its full 90-night workload,
/// built in minutes instead of hours (a real night of 20,000 people takes 10–30 s on this machine).
private let realNights: [Int] = Array(0..<10) + [88, 89]
private let benchStart = "2026-09-01"

/// The report on a demo company of 20,000 people over 90 nights (built once, cached under .build/bench-cache;
/// see `realNights`):
/// the full report (≤ 15 s), the roll-up of one night (≤ 2 s), and the same org shape with every device
/// doubled (report time within 1.2×: the report reads roll-ups, so it grows with groups × nights, not devices).
func benchReport() async throws {
    let cache = URL(fileURLWithPath: ".build/bench-cache/report-20000x90")
    let single = cache.appendingPathComponent("stethoscope.db")
    let double = cache.appendingPathComponent("double.db")
    let fm = FileManager.default
    if !fm.fileExists(atPath: cache.appendingPathComponent("single.done").path) {
        try? fm.removeItem(at: cache)
        try await buildHistory(cache: cache, database: single)
        _ = fm.createFile(atPath: cache.appendingPathComponent("single.done").path, contents: nil)
    }
    if !fm.fileExists(atPath: cache.appendingPathComponent("double.done").path) {
        try? fm.removeItem(at: double)
        try SnapshotStore(path: single).database.exec("VACUUM INTO '\(double.path)'")
        try doubleDevices(SnapshotStore(path: double))
        _ = fm.createFile(atPath: cache.appendingPathComponent("double.done").path, contents: nil)
    }

    let out = fm.temporaryDirectory.appendingPathComponent("stethoscope-reportbench-\(UUID().uuidString)")
    defer { try? fm.removeItem(at: out) }
    // Each run in a child process of its own (`reportOnce`), single and doubled in turn, five of each: in
    // one process the second store's runs inherit the first's heap and page-cache state, which alone moved the
    // ratio from 1.0 to 1.6-1.8 while the CPU work was the same. Each starts with no output left and nothing
    // waiting to be written back.
    func run(_ database: URL) throws -> (seconds: Double, pages: Int, files: Int) {
        try? fm.removeItem(at: out)
        sync()
        let f = try runBenchChild(["report-once", database.path, out.path])
        guard f.count == 3, let seconds = Double(f[0]), let pages = Int(f[1]), let files = Int(f[2]) else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "report-once said: \(f.joined(separator: " "))"])
        }
        return (seconds, pages, files)
    }
    let store = try SnapshotStore(path: single)
    let doubled = try SnapshotStore(path: double)
    let devices = try store.database.int("SELECT devices FROM runs ORDER BY as_of DESC LIMIT 1") ?? 0
    let devices2 = try doubled.database.int("SELECT COUNT(*) FROM devices WHERE as_of = (SELECT MAX(as_of) FROM runs)") ?? 0
    var singles: [(seconds: Double, pages: Int, files: Int)] = []
    var doubles: [(seconds: Double, pages: Int, files: Int)] = []
    for _ in 0..<5 {
        singles.append(try run(single))
        doubles.append(try run(double))
    }
    let first = singles.min { $0.seconds < $1.seconds }!
    let second = doubles.min { $0.seconds < $1.seconds }!
    // The ratio pair by pair (each doubled run over the single run just before it), median of the pairs: the
    // machine's speed drifts between runs, and a pair shares its moment.
    let pairs = zip(doubles, singles).map { $0.seconds / $1.seconds }.sorted()
    print(
        String(
            format: "report.full_seconds=%.2f pages=%d files=%d nights=90 people=20000 devices=%d limit_s=15",
            first.seconds, first.pages, first.files, devices))
    print(
        String(
            format: "report.double_devices_seconds=%.2f single_seconds=%.2f ratio=%.2f best_ratio=%.2f pairs=%@ devices=%d limit_ratio=1.2",
            second.seconds, first.seconds, pairs[pairs.count / 2], second.seconds / first.seconds,
            pairs.map { String(format: "%.2f", $0) }.joined(separator: ","), devices2))

    let last = try store.database.prepare("SELECT MAX(as_of) FROM runs")
    _ = try last.step()
    let night = try Rollups.compute(store, asOf: last.string(0) ?? "")
    print(String(format: "report.rollup_night_seconds=%.2f devices=%d groups=%d limit_s=2", night.seconds, night.devices, night.groups))
}

/// Gives every person twice the devices: each device gets a twin (same owner, statuses, sources), then the
/// roll-ups are rebuilt. The org chart, groups and nights stay exactly as they were.
private func doubleDevices(_ store: SnapshotStore) throws {
    let db = store.database
    let offset = (try db.int("SELECT MAX(device_id) FROM device_keys") ?? 0) + 1
    let states = try db.int("SELECT MAX(state_id) FROM device_states") ?? 0  // twins share the result sets
    try db.transaction {
        try db.exec(
            """
            INSERT INTO device_keys (device_id, device_key, first_seen)
                SELECT device_id + \(offset), device_key || '/twin', first_seen FROM device_keys WHERE device_id < \(offset);
            INSERT INTO device_states SELECT state_id + \(states), device_id + \(offset), platform, os_name, os_version,
                model, device_name, identifiers, sources, records, owner, owner_method, owner_via, owner_reason, virtual
                FROM device_states WHERE state_id <= \(states);
            INSERT INTO device_nights SELECT as_of, device_id + \(offset), state_id + \(states), results_id, last_sync, observed,
                stale, carried_forward, carried_from, green, critical FROM device_nights WHERE device_id < \(offset);
            UPDATE runs SET devices = devices * 2;
            """)
    }
    try Rollups.rebuild(store)
    try fillNights(store.database)
}

/// Runs the real nights of a 20,000-person demo company through the nightly pipeline, then fills the rest.
private func buildHistory(cache: URL, database: URL) async throws {
    try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
    let config = cache.appendingPathComponent("demo.yaml")
    try DemoPlugin.demoConfigYAML(seed: 1, people: 20_000, start: benchStart, nights: 90, database: database.path)
        .write(to: config, atomically: true, encoding: .utf8)
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let nightly = try NightlyRun.prepare(configFile: config, logger: logger)
    let store = try SnapshotStore(path: database)
    for n in realNights {
        let asOf = AsOfDate.adding(n, to: benchStart)!
        _ = try await nightly.run(asOf: asOf, now: AsOfDate.endOfDay(asOf, in: nightly.config.timeZone)!, store: store)
    }
    try fillNights(store.database)
}

/// Gives every night without a run the run header and roll-ups of real night `n % 10` (detail marked pruned).
private func fillNights(_ db: Database) throws {
    try db.transaction {
        for n in 0..<90 where !realNights.contains(n) {
            let asOf = AsOfDate.adding(n, to: benchStart)!
            let from = AsOfDate.adding(n % 10, to: benchStart)!
            try db.exec(
                """
                DELETE FROM rollup_groups WHERE chart IN ('night', 'current') AND as_of = '\(asOf)';
                DELETE FROM rollup_quality WHERE as_of = '\(asOf)'; DELETE FROM rollup_sources WHERE as_of = '\(asOf)';
                INSERT OR REPLACE INTO runs (as_of, started_at, finished_at, status, practices_hash, people, devices,
                    carried_forward, source_records, merge_conflicts, detail_pruned)
                    SELECT '\(asOf)', started_at, finished_at, status, practices_hash, people, devices, carried_forward,
                           source_records, merge_conflicts, 1 FROM runs WHERE as_of = '\(from)';
                INSERT INTO rollup_groups SELECT chart, '\(asOf)', group_kind, group_id, devices, stale, people, green,
                    critical, newly_failing, counts_id, changes FROM rollup_groups WHERE as_of = '\(from)';
                INSERT INTO rollup_quality SELECT '\(asOf)', platform, devices, stale, no_owner, former_owner, fewer_sources,
                    expected_sources FROM rollup_quality WHERE as_of = '\(from)';
                INSERT INTO rollup_sources SELECT '\(asOf)', source, practice, devices, unknown FROM rollup_sources
                    WHERE as_of = '\(from)';
                """)
        }
    }
}

/// One report of `database` into `out`, for `benchReport`'s child processes: prints seconds, pages and files.
func reportOnce(database: String, out: String) throws {
    let r = try Report.generate(
        store: SnapshotStore(path: URL(fileURLWithPath: database)),
        options: ReportOptions(out: URL(fileURLWithPath: out), nights: 90))
    print(r.seconds, r.pages, r.files)
}
