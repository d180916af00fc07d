import Foundation
import StethoscopeCore

/// One night's devices and their practice results in device_id order, read side by side by two cursors over
/// `devices` and `practice_results` (both are stored in that order), so a reader holds one device at a time, never
/// the night. The export streams its documents from it; the column order stays here, with the schema. Only the
/// night's directory and practice ratings are loaded up front.
public final class NightDetailCursor {
    /// Practice → rating (`critical`, …) of the night's definitions.
    public let ratings: [String: String]
    /// The night's directory, one row per email (no duplicate marks), for an owner's organization and managers.
    public let directory: [Person]
    private let devices: Statement
    private let practices: Statement
    /// Whether `practices` is on a row not yet handed out (it runs one row ahead of the current device).
    private var practicePending = false
    private var practicesDone = false

    /// The devices of `asOf` with a device_id above `after` (a resume point), read through `database` (a
    /// connection of the reader's own: see `SnapshotStore.readConnection()`).
    public init(_ database: Database, asOf: String, after: Int) throws {
        var ratings: [String: String] = [:]
        try database.forEachRow("SELECT practice, rating FROM practice_definitions WHERE as_of = ?1", asOf) { st in
            ratings[st.string(0) ?? ""] = st.string(1)
        }
        self.ratings = ratings
        var directory: [Person] = []
        try database.forEachRow("SELECT email, name, manager_email, organization FROM people WHERE as_of = ?1", asOf) { st in
            directory.append(
                Person(
                    email: st.string(0) ?? "", name: st.string(1) ?? "", managerEmail: st.string(2),
                    organization: st.string(3)))
        }
        self.directory = directory
        devices = try database.prepare(
            """
            SELECT d.device_id, k.device_key, d.platform, d.os_name, d.os_version, d.model, d.device_name, d.sources,
                   d.last_sync, d.owner, d.owner_method, d.owner_via, d.stale, d.virtual, d.carried_forward,
                   d.carried_from, d.green, d.critical
            FROM devices d JOIN device_keys k ON k.device_id = d.device_id
            WHERE d.as_of = ?1 AND d.device_id > ?2 ORDER BY d.device_id
            """)
        devices.bind([asOf, after])
        practices = try database.prepare(
            """
            SELECT device_id, practice, status, value, details, observed_at, source FROM practice_results
            WHERE as_of = ?1 AND device_id > ?2 ORDER BY device_id, practice
            """)
        practices.bind([asOf, after])
    }

    /// Moves to the next device: `false` when the night has no more.
    public func nextDevice() throws -> Bool { try devices.step() }

    public var deviceID: Int { devices.int(0) }
    public var deviceKey: String { devices.string(1) ?? "" }
    public var platform: String? { devices.string(2) }
    public var osName: String? { devices.string(3) }
    public var osVersion: String? { devices.string(4) }
    public var model: String? { devices.string(5) }
    public var deviceName: String? { devices.string(6) }
    /// The sources that reported the device, comma-separated.
    public var sources: String { devices.string(7) ?? "" }
    public var lastSync: String? { devices.string(8) }
    public var owner: String? { devices.string(9) }
    public var ownerMethod: String? { devices.string(10) }
    public var ownerVia: String? { devices.string(11) }
    public var stale: Bool { devices.int(12) != 0 }
    public var isVirtual: Bool { devices.int(13) != 0 }
    public var carriedForward: Bool { devices.int(14) != 0 }
    public var carriedFrom: String? { devices.string(15) }
    public var green: Bool { devices.int(16) != 0 }
    public var critical: Bool { devices.int(17) != 0 }

    /// One practice result of the current device, valid inside the `forEachPractice` call that hands it out.
    public struct PracticeRow {
        fileprivate let st: Statement
        public var practice: String { st.string(1) ?? "" }
        public var status: String? { st.string(2) }
        public var value: String? { st.string(3) }
        public var details: String? { st.string(4) }
        public var observedAt: String? { st.string(5) }
        public var source: String? { st.string(6) }
    }

    /// Hands each practice result of the current device to `body`, in practice order.
    public func forEachPractice(_ body: (PracticeRow) throws -> Void) throws {
        let id = deviceID
        while !practicesDone {
            if !practicePending {
                guard try practices.step() else {
                    practicesDone = true
                    return
                }
                practicePending = true
            }
            let owner = practices.int(0)
            if owner > id { return }
            practicePending = false
            if owner < id { continue }  // a result without its device row (cannot happen under the foreign key)
            try body(PracticeRow(st: practices))
        }
    }
}

extension SnapshotStore {
    /// A second connection to the store's file, for a long read beside the store's own writes. On the store's
    /// connection an open cursor would hold a read snapshot, and later writes on it would have to upgrade it: after
    /// any concurrent commit that fails at once with SQLITE_BUSY_SNAPSHOT (517). Apart, the writes wait for the
    /// write lock like any writer. An in-memory store has no file: its own connection is returned.
    public func readConnection() throws -> Database {
        try database.filename.map { try Database(path: URL(fileURLWithPath: $0)) } ?? database
    }
}
