import CSQLite
import Foundation
import StethoscopeCore
import StethoscopeStore

/// One night of 250,000 devices × 13 practice results through `SnapshotStore.writeNight`, against a bare
/// prepared-insert loop writing the same rows into the same schema, in one transaction each.
func benchStore() throws {
    let devices = 250_000
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-storebench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let generator = BenchNight(count: devices)

    let store = try SnapshotStore(path: dir.appendingPathComponent("store.db"))
    let storeCPU0 = cpuSeconds()
    let summary = try store.writeNight(generator.record, devices: generator.devices)
    let storeCPU = cpuSeconds() - storeCPU0
    let storeRows = summary.devices + summary.practiceRows

    let rawURL = dir.appendingPathComponent("raw.db")
    // The ceiling: plain inserts into the wide tables of schema version 9 (before the compact store of 0010).
    try Migrations.apply(to: Database(path: rawURL), migrations: Migrations.embedded.filter { $0.version <= 9 })
    let start = ContinuousClock.now
    let rawCPU0 = cpuSeconds()
    let rawRows = try rawInsert(rawURL, generator)
    let rawCPU = cpuSeconds() - rawCPU0
    let rawSeconds = (ContinuousClock.now - start).seconds
    guard rawRows == storeRows else { throw BenchError(description: "raw wrote \(rawRows) rows, store \(storeRows)") }

    let storeRate = Double(storeRows) / summary.seconds
    let rawRate = Double(rawRows) / rawSeconds
    print(
        "store.write_rows_per_s=\(Int(storeRate)) raw_rows_per_s=\(Int(rawRate)) ratio=\(String(format: "%.2f", storeRate / rawRate)) devices=\(devices) rows=\(storeRows) store_s=\(String(format: "%.2f", summary.seconds)) raw_s=\(String(format: "%.2f", rawSeconds)) store_cpu_s=\(String(format: "%.2f", storeCPU)) raw_cpu_s=\(String(format: "%.2f", rawCPU))"
    )
}

/// User + system CPU time of this process: on a shared machine it shows what wall time hides.
func cpuSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
        getrusage(RUSAGE_SELF, &usage)
    #endif
    let user: Double = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    let system: Double = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    return user + system
}

struct BenchError: Error, CustomStringConvertible { var description: String }

/// A synthetic night whose devices are made on the fly (as the merge stage will stream them).
struct BenchNight {
    let count: Int
    let practices: [String]
    let variants: [[PracticeResult]]
    let record: NightRecord
    let lastSync = Date(timeIntervalSince1970: 1_796_101_200)
    static let sourceSets: [[String]] = [["jamf"], ["intune", "jamf"], ["intune"], ["crowdstrike", "intune", "jamf"]]

    init(count: Int) {
        self.count = count
        var set = PracticeSet.defaults
        for i in set.definitions.indices { set.definitions[i].enabled = true }  // all 13 shipped practices
        practices = set.definitions.map(\.key)
        let observed = Date(timeIntervalSince1970: 1_796_097_600)
        let statuses: [Status] = [.ok, .ok, .nudge, .warn, .unknown, .na]
        variants = (0..<7).map { v in
            set.definitions.enumerated().map { i, p in
                PracticeResult(
                    practice: p.key, status: statuses[(i + v) % statuses.count],
                    value: "reading \(i)", details: i % 3 == 0 ? "from the vendor" : nil,
                    observedAt: i % 4 == 0 ? nil : observed, source: "jamf")
            }
        }
        let people = (0..<1000).map { Person(email: "p\($0)@example.com", name: "P \($0)", organization: "Org \($0 % 20)") }
        record = NightRecord(
            asOf: "2026-12-01", startedAt: observed, finishedAt: lastSync, status: .complete,
            people: people, practices: set, sourceRecords: count)
    }

    func device(_ i: Int) -> DeviceSnapshot {
        let serial = "C02B\(i)"
        let sources = BenchNight.sourceSets[i % BenchNight.sourceSets.count]
        return DeviceSnapshot(
            key: "serial:" + serial, platform: .mac, osName: "macOS", osVersion: "15.1", model: "MacBookPro18,3",
            deviceName: "mac-\(i)", identifiers: [Identifier(.serial, serial)], sources: sources,
            records: sources.map { "\($0)/\(i)" }, lastSync: lastSync, owner: "p\(i % 1000)@example.com",
            ownerMethod: .sourceHint, ownerVia: "jamf", stale: i % 50 == 0, isVirtual: false,
            results: variants[i % variants.count])
    }

    var devices: LazyMapSequence<Range<Int>, DeviceSnapshot> { (0..<count).lazy.map(device) }
}

/// The floor: the same rows through bare sqlite3 calls, with constant dates pre-formatted and no lookups.
private func rawInsert(_ url: URL, _ night: BenchNight) throws -> Int {
    var db: OpaquePointer?
    guard sqlite3_open_v2(url.path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db else { throw BenchError(description: "open") }
    defer { sqlite3_close(db) }
    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw BenchError(description: String(cString: sqlite3_errmsg(db)))
        }
    }
    func prepare(_ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw BenchError(description: String(cString: sqlite3_errmsg(db)))
        }
        return statement
    }
    func step(_ statement: OpaquePointer) throws {
        guard sqlite3_step(statement) == SQLITE_DONE else { throw BenchError(description: String(cString: sqlite3_errmsg(db))) }
        sqlite3_reset(statement)
    }
    let t = csqlite_transient()
    try exec(
        """
        PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;
        PRAGMA cache_size = -65536; PRAGMA journal_size_limit = 67108864; BEGIN IMMEDIATE
        """)
    try exec(
        """
        INSERT INTO runs (as_of, started_at, finished_at, status, practices_hash, people, devices, carried_forward,
            source_records, merge_conflicts) VALUES ('2026-12-01', '', '', 'complete', '', 0, 0, 0, 0, 0)
        """)
    let key = try prepare("INSERT INTO device_keys (device_key, first_seen) VALUES (?, ?)")
    let device = try prepare(
        """
        INSERT INTO devices (as_of, device_id, platform, os_name, os_version, model, device_name, identifiers,
            sources, records, last_sync, owner, owner_method, owner_via, stale, virtual, carried_forward,
            carried_from, green, critical) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)
        """)
    let result = try prepare(
        """
        INSERT INTO practice_results (as_of, device_id, practice, status, value, details, observed_at, source)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """)
    defer {
        sqlite3_finalize(key)
        sqlite3_finalize(device)
        sqlite3_finalize(result)
    }
    let asOf = "2026-12-01"
    let lastSync = ISOTime.string(night.lastSync)
    let observed = night.variants[0].compactMap(\.observedAt).first.map(ISOTime.string) ?? ""
    var rows = 0
    sqlite3_bind_text(key, 2, asOf, -1, t)  // constants bound once, as the store does
    sqlite3_bind_text(device, 1, asOf, -1, t)
    sqlite3_bind_text(result, 1, asOf, -1, t)
    for d in night.devices {
        sqlite3_bind_text(key, 1, d.key, -1, t)
        try step(key)
        let id = sqlite3_last_insert_rowid(db)
        sqlite3_bind_int64(device, 2, id)
        sqlite3_bind_text(device, 3, d.platform?.rawValue, -1, t)
        sqlite3_bind_text(device, 4, d.osName, -1, t)
        sqlite3_bind_text(device, 5, d.osVersion, -1, t)
        sqlite3_bind_text(device, 6, d.model, -1, t)
        sqlite3_bind_text(device, 7, d.deviceName, -1, t)
        sqlite3_bind_text(device, 8, IdentifiersJSON.encode(d.identifiers), -1, t)
        sqlite3_bind_text(device, 9, d.sources.joined(separator: ","), -1, t)
        sqlite3_bind_text(device, 10, d.records.joined(separator: " "), -1, t)
        sqlite3_bind_text(device, 11, lastSync, -1, t)
        sqlite3_bind_text(device, 12, d.owner, -1, t)
        sqlite3_bind_text(device, 13, d.ownerMethod.rawValue, -1, t)
        sqlite3_bind_text(device, 14, d.ownerVia, -1, t)
        sqlite3_bind_int(device, 15, d.stale ? 1 : 0)
        sqlite3_bind_int(device, 16, d.isVirtual ? 1 : 0)
        sqlite3_bind_int(device, 17, 0)
        sqlite3_bind_int(device, 18, 0)
        try step(device)
        rows += 1
        for r in d.results {
            sqlite3_bind_int64(result, 2, id)
            sqlite3_bind_text(result, 3, r.practice, -1, t)
            sqlite3_bind_text(result, 4, r.status.rawValue, -1, t)
            sqlite3_bind_text(result, 5, r.value, -1, t)
            sqlite3_bind_text(result, 6, r.details, -1, t)
            sqlite3_bind_text(result, 7, r.observedAt == nil ? nil : observed, -1, t)
            sqlite3_bind_text(result, 8, r.source, -1, t)
            try step(result)
            rows += 1
        }
    }
    try exec("COMMIT")
    return rows
}
