import Foundation
import StethoscopeCore

/// One row of `unmanaged_devices`: a device that authenticated on the network and that no source manages.
public struct UnmanagedDeviceRow: Sendable, Equatable {
    public var identifier: String
    public var via: String
    public var user: String
    public var person: String?
    public var organization: String?
    public var days: Int
    public var lastSeen: String
    public var shared: Bool
}

/// A message or hold-out record of the `notifications` ledger, as the report's effectiveness page reads it.
public struct NudgeLedgerRow: Sendable {
    public var asOf: String
    public var heldOut: Bool
    /// The campaigns (selections) it belonged to, comma-separated in the table.
    public var selections: [String]
    /// `device_id:practice` items it named.
    public var items: [Substring]
    public var person: String
}

/// The device and practice a first message named, and the night it went out.
public struct NudgedItem: Hashable, Sendable {
    public var device: Int
    public var practice: String
    public var firstNight: String
    public init(device: Int, practice: String, firstNight: String) {
        self.device = device
        self.practice = practice
        self.firstNight = firstNight
    }
}

extension SnapshotStore {
    /// The unmanaged devices of a night, by person (or user name) and identifier.
    public func unmanagedDevices(asOf: String) throws -> [UnmanagedDeviceRow] {
        var out: [UnmanagedDeviceRow] = []
        try database.forEachRow(
            """
            SELECT identifier, via, user, person, organization, days, last_seen, shared FROM unmanaged_devices
            WHERE as_of = ?1 ORDER BY COALESCE(person, user), identifier
            """, asOf
        ) { q in
            out.append(
                UnmanagedDeviceRow(
                    identifier: q.string(0) ?? "", via: q.string(1) ?? "", user: q.string(2) ?? "",
                    person: q.string(3), organization: q.string(4), days: q.int(5),
                    lastSeen: q.string(6) ?? "", shared: q.int(7) != 0))
        }
        return out
    }

    /// The newest night whose per-device detail is still stored, `nil` when there is none.
    public func newestNightWithDetail() throws -> String? {
        try database.firstRow("SELECT MAX(as_of) FROM runs WHERE detail_pruned = 0") { $0.string(0) } ?? nil
    }

    /// Messages handed over (sent, sending or unconfirmed) and hold-out records, oldest night first; empty when the
    /// database has no ledger.
    public func nudgeLedger() throws -> [NudgeLedgerRow] {
        guard try database.int("SELECT count(*) FROM sqlite_master WHERE name = 'notifications'") == 1 else { return [] }
        var out: [NudgeLedgerRow] = []
        try database.forEachRow(
            """
            SELECT as_of, kind, campaign, items, person FROM notifications
            WHERE (kind = 'person' AND state IN ('sent', 'sending', 'unconfirmed')) OR kind = 'holdout'
            ORDER BY as_of
            """
        ) { rows in
            out.append(
                NudgeLedgerRow(
                    asOf: rows.string(0) ?? "", heldOut: rows.string(1) == "holdout",
                    selections: (rows.string(2) ?? "").split(separator: ",").map(String.init),
                    items: (rows.string(3) ?? "").split(separator: " "), person: rows.string(4) ?? ""))
        }
        return out
    }

    /// The first night after each item's first message on which its practice was `ok` on that device (items never
    /// fixed are absent), in one join over a temporary table.
    public func firstFixes(of items: Set<NudgedItem>) throws -> [NudgedItem: String] {
        guard !items.isEmpty else { return [:] }
        let db = database
        try db.exec("CREATE TEMP TABLE IF NOT EXISTS nudge_items (device_id INTEGER, practice TEXT, t0 TEXT); DELETE FROM temp.nudge_items")
        defer { try? db.exec("DROP TABLE IF EXISTS temp.nudge_items") }
        try db.transaction {
            for item in items {
                try db.execute("INSERT INTO temp.nudge_items VALUES (?1, ?2, ?3)", item.device, item.practice, item.firstNight)
            }
        }
        var fixedOn: [NudgedItem: String] = [:]
        // Not cached: the statement reads a temporary table that is dropped when this returns.
        let fixes = try db.prepare(
            """
            SELECT i.device_id, i.practice, i.t0, MIN(r.as_of) FROM temp.nudge_items i
            JOIN practice_results r ON r.device_id = i.device_id AND r.practice = i.practice AND r.as_of > i.t0 AND r.status = 'ok'
            GROUP BY i.device_id, i.practice, i.t0
            """)
        while try fixes.step() {
            guard let day = fixes.string(3) else { continue }
            fixedOn[NudgedItem(device: fixes.int(0), practice: fixes.string(1) ?? "", firstNight: fixes.string(2) ?? "")] = day
        }
        return fixedOn
    }

    /// Email (lower-cased, as notify compares them) → organization of the people stored for a night.
    public func organizations(asOf: String) throws -> [String: String] {
        var map: [String: String] = [:]
        try database.forEachRow("SELECT email, organization FROM people WHERE as_of = ?1", asOf) { people in
            map[(people.string(0) ?? "").lowercased()] = people.string(1) ?? ""
        }
        return map
    }
}
