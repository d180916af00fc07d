import Foundation
import Logging
import StethoscopeApp
import StethoscopeCore
import StethoscopeSources
import StethoscopeStore

/// Disk per device-night (issue 18) on the demo company `make demo` writes (2,000 people, 60 nights), run through
/// the nightly pipeline: the detail (devices and practice results: `device_nights`, `device_states`, `result_items`),
/// the roll-ups and their indexes, divided by the device-nights stored (≤ 150 bytes), then the split by table.
func benchStorage() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-storagebench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let database = dir.appendingPathComponent("stethoscope.db")
    let config = dir.appendingPathComponent("demo.yaml")
    let start = "2026-10-01"
    let nights = 60
    try DemoPlugin.demoConfigYAML(seed: 1, people: 2000, start: start, nights: nights, database: database.path)
        .write(to: config, atomically: true, encoding: .utf8)
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let nightly = try NightlyRun.prepare(configFile: config, logger: logger)
    let store = try SnapshotStore(path: database)
    let began = ContinuousClock.now
    for n in 0..<nights {
        let asOf = AsOfDate.adding(n, to: start)!
        _ = try await nightly.run(asOf: asOf, now: AsOfDate.endOfDay(asOf, in: nightly.config.timeZone)!, store: store)
    }
    let runSeconds = (ContinuousClock.now - began).components.seconds
    let db = store.database
    try db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
    let deviceNights = try db.int("SELECT SUM(devices) FROM runs") ?? 0
    let st = try db.prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
    var split: [(String, Int)] = []
    while try st.step() { split.append((st.string(0) ?? "", st.int(1))) }
    let tables = try db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')")
    var owner: [String: String] = [:]
    while try tables.step() { owner[tables.string(0) ?? ""] = tables.string(1) }
    // The history that grows with devices × nights, and the roll-ups (with their indexes).
    let counted: Set<String> = [
        "device_nights", "device_states", "result_items", "failing_items", "rollup_counts", "practice_numbers",
        "rollup_groups", "rollup_quality", "rollup_sources", "daily_status", "daily_organization",
        "daily_manager", "daily_names", "daily_owners"
    ]
    let detail = split.filter { counted.contains(owner[$0.0] ?? $0.0) }.map(\.1).reduce(0, +)
    let file = (try FileManager.default.attributesOfItem(atPath: database.path)[.size] as? Int) ?? 0
    print(
        String(
            format: "storage.bytes_per_device_night=%.0f limit=150 device_nights=%d detail_bytes=%d file_bytes=%d nights_seconds=%d",
            Double(detail) / Double(max(deviceNights, 1)), deviceNights, detail, file, runSeconds))
    print("storage.split " + split.prefix(12).map { "\($0.0)=\($0.1)" }.joined(separator: " "))
}
