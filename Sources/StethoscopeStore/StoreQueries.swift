import Foundation
import StethoscopeCore

extension SnapshotStore {
    /// The directory as stored for a night (empty when that night does not exist), as the directory gave it: manager
    /// links on a cycle included (`OrgChart` cuts them again). An email that several directory users had
    /// (`duplicate_email`) comes twice, so an `OrgChart` of these people knows it is ambiguous, as the run did.
    public func people(asOf: String) throws -> [Person] {
        let st = try database.prepare(
            """
            SELECT email, name, manager_email, organization, title, location, active, duplicate_email FROM people
            WHERE as_of = ?1 ORDER BY email
            """)
        st.bind(1, asOf)
        var out: [Person] = []
        while try st.step() {
            let person = Person(
                email: st.string(0) ?? "", name: st.string(1) ?? "", managerEmail: st.string(2),
                organization: st.string(3), title: st.string(4), location: st.string(5), active: st.int(6) != 0)
            out.append(person)
            if st.int(7) != 0 { out.append(person) }
        }
        return out
    }

    /// Records per source that succeeded on a night (`run_sources`), the baseline of the record-drop check.
    public func sourceRecords(asOf: String) throws -> [String: Int] {
        let st = try database.prepare("SELECT source, records FROM run_sources WHERE as_of = ?1 AND status = 'ok'")
        st.bind(1, asOf)
        var out: [String: Int] = [:]
        while try st.step() { out[st.string(0) ?? ""] = st.int(1) }
        return out
    }

    /// Device key → owner of the devices whose owner the attribution entry `via` decided on a night: what a
    /// failed attribution source said last time, so its devices keep their owners through an outage.
    public func attributedOwners(asOf: String, via: String) throws -> [(deviceKey: String, owner: String)] {
        let st = try database.prepare(
            """
            SELECT k.device_key, d.owner FROM devices d JOIN device_keys k ON k.device_id = d.device_id
            WHERE d.as_of = ?1 AND d.owner_method IN ('attribution', 'auth_logs') AND d.owner_via = ?2 AND d.owner IS NOT NULL
            ORDER BY k.device_key
            """)
        st.bind(1, asOf)
        st.bind(2, via)
        var out: [(deviceKey: String, owner: String)] = []
        while try st.step() { out.append((st.string(0) ?? "", st.string(1) ?? "")) }
        return out
    }
}

extension SnapshotStore {
    /// The devices a stored night counted (`runs.devices`), `nil` when the night is not stored.
    public func deviceCount(asOf: String) throws -> Int? {
        try database.firstRow("SELECT devices FROM runs WHERE as_of = ?1", asOf) { $0.int(0) }
    }

    /// Status counts per practice on one night, over devices that count for compliance (not stale).
    public func statusCounts(asOf: String) throws -> [String: [Status: Int]] {
        var out: [String: [Status: Int]] = [:]
        try database.forEachRow(
            """
            SELECT r.practice, r.status, count(*) FROM practice_results r
            JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
            WHERE r.as_of = ?1 AND d.stale = 0 GROUP BY r.practice, r.status
            """, asOf
        ) { st in
            guard let p = st.string(0), let s = st.string(1).flatMap(Status.init(rawValue:)) else { return }
            out[p, default: [:]][s] = st.int(2)
        }
        return out
    }

    /// The records each of `devices` merged on a night (`devices.records`: 'source/local_id' separated by spaces).
    public func mergedRecords(asOf: String, of devices: Set<Int>) throws -> [Int: String] {
        var records: [Int: String] = [:]
        try database.forEachRow("SELECT device_id, records FROM devices WHERE as_of = ?1", asOf) { st in
            let id = st.int(0)
            if devices.contains(id) { records[id] = st.string(1) ?? "" }
        }
        return records
    }

    /// Empties the `notifications` ledger (the demo's fresh start), when the table exists.
    public func forgetNotifications() throws {
        if try database.int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'notifications'") == 1 {
            try database.exec("DELETE FROM notifications")
        }
    }

    /// The (device_id, practice) items named by a night's person messages that count as delivered (sent, sending
    /// or unconfirmed).
    public func deliveredItems(asOf: String) throws -> [(device: Int, practice: String)] {
        var items: [(device: Int, practice: String)] = []
        try database.forEachRow(
            """
            SELECT items FROM notifications
            WHERE as_of = ?1 AND kind = 'person' AND state IN ('sent', 'sending', 'unconfirmed')
            """, asOf
        ) { rows in
            for item in (rows.string(0) ?? "").split(separator: " ") {
                let parts = item.split(separator: ":", maxSplits: 1)
                if parts.count == 2, let id = Int(parts[0]) { items.append((id, String(parts[1]))) }
            }
        }
        return items
    }
}
