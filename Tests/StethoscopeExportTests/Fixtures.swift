import Foundation
import StethoscopeCore
import StethoscopeExport
import StethoscopeHTTP
import StethoscopeStore

/// A temporary folder with a fresh store, removed when released.
final class TempStore {
    let dir: URL
    let store: SnapshotStore
    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try SnapshotStore(path: dir.appendingPathComponent("test.db"))
    }
    deinit { try? FileManager.default.removeItem(at: dir) }

    /// Writes the night `asOf` with `devices` devices: owners cycle over four people (a chain of managers
    /// ceo ← vp ← lead ← dev), practices encryption (ok/warn alternating) and firewall (unknown).
    func night(_ asOf: String, devices: Int) throws {
        let people = [
            Person(email: "ceo@example.com", name: "Chief", organization: "Office"),
            Person(email: "vp@example.com", name: "Vice \"VP\" President", managerEmail: "ceo@example.com", organization: "Engineering"),
            Person(email: "lead@example.com", name: "Lead", managerEmail: "vp@example.com", organization: "Engineering"),
            Person(email: "dev@example.com", name: "Dev", managerEmail: "lead@example.com", organization: "Engineering")
        ]
        let t0 = Date(timeIntervalSince1970: 1_796_104_800)  // 2026-12-01T06:00:00Z
        let list: [DeviceSnapshot] = (0..<devices).map { i in
            let serial = String(format: "SER%05d", i)
            let owner: String? = i % 5 == 4 ? nil : people[i % 4].email
            return DeviceSnapshot(
                key: "serial:\(serial)", platform: .mac, osName: "macOS", osVersion: "15.1", model: "Mac\\Book \"Pro\"\t",
                deviceName: "device-\(i)", identifiers: [Identifier(.serial, serial)], sources: ["fleet", "jamf"],
                records: ["jamf/\(i)", "fleet/\(i)"], lastSync: t0.addingTimeInterval(-3600), owner: owner,
                ownerMethod: owner == nil ? .none : .sourceHint, ownerVia: owner == nil ? nil : "jamf", stale: i % 7 == 0,
                isVirtual: false,
                results: [
                    PracticeResult(
                        practice: "encryption", status: i % 2 == 0 ? .ok : .warn, value: "FileVault \(i % 2 == 0 ? "on" : "off")",
                        details: "line one\nline two", observedAt: t0.addingTimeInterval(-7200), source: "jamf"),
                    PracticeResult(practice: "firewall", status: .unknown, value: nil, details: nil, observedAt: nil, source: nil)
                ])
        }
        let record = NightRecord(
            asOf: asOf, startedAt: t0, finishedAt: t0.addingTimeInterval(60), status: .complete,
            people: people, sourceRecords: devices * 2)
        try store.writeNight(record, devices: list)
    }

    /// The device_id of the n-th device of a night (1-based, in device_id order).
    func deviceID(_ asOf: String, nth: Int) throws -> Int {
        let st = try store.database.prepare("SELECT device_id FROM devices WHERE as_of = ?1 ORDER BY device_id LIMIT 1 OFFSET ?2")
        st.bind(1, asOf)
        st.bind(2, nth - 1)
        _ = try st.step()
        return st.int(0)
    }
}

/// A config for tests: small chunks, short retry waits.
func testConfig(
    _ url: String, chunkDocuments: Int = 25, maxConnections: Int = 3, gzip: Bool = false,
    maxAttempts: Int = 6, authorization: String? = nil
) -> ElasticsearchConfig {
    ElasticsearchConfig(
        url: url, authorization: authorization.map(Secret.init), maxConnections: maxConnections,
        chunkBytes: 5_000_000, chunkDocuments: chunkDocuments, gzip: gzip,
        retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: 0.02, maxDelay: 0.2, maxTotalWait: 20))
}
