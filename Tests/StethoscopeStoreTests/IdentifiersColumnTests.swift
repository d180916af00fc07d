import Foundation
import StethoscopeCore
import Testing

@testable import StethoscopeStore

/// `devices.identifiers` as a JSON array of `{kind, value}` (migration 0007), read with `json_each`.
@Suite struct IdentifiersColumnTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    /// A database built with the schema before 0007 and rows in the old space-separated form, then upgraded.
    @Test func migrationConvertsExistingRowsInPlace() throws {
        let dir = try TempDir()
        do {
            let old = try Database(path: dir.db)
            try Migrations.apply(to: old, migrations: Migrations.embedded.filter { $0.version < 7 })
            try old.exec(
                """
                INSERT INTO runs (as_of, started_at, finished_at, status, practices_hash, people, devices, carried_forward,
                    source_records, merge_conflicts) VALUES ('2026-11-30', 't', 't', 'complete', 'h', 1, 3, 0, 3, 0);
                INSERT INTO device_keys (device_id, device_key, first_seen) VALUES (1, 'serial:VMWARE-56 4D 1A', '2026-11-30'),
                    (2, 'record:fleet/7', '2026-11-30'), (3, 'serial:C02XK1ABJG5H', '2026-11-30');
                INSERT INTO devices (as_of, device_id, identifiers, sources, records, owner_method, stale, virtual, carried_forward, green, critical)
                VALUES ('2026-11-30', 1, 'serial:VMWARE-56 4D 1A  2B udid:564D1A2B-0000 mac:00:50:56:AA:BB:CC', 'fleet', 'fleet/1', 'none', 0, 1, 0, 0, 0),
                       ('2026-11-30', 2, '', 'fleet', 'fleet/7', 'none', 0, 0, 0, 0, 0),
                       ('2026-11-30', 3, 'serial:C02XK1ABJG5H device_id:aad-0001 mac:A4:83:E7:12:34:56', 'jamf', 'jamf/3', 'none', 0, 0, 0, 1, 0);
                INSERT INTO people (as_of, email, name, manager_email, active) VALUES ('2026-11-30', 'a@example.com', 'A', 'b@example.com', 1);
                """)
        }
        let store = try SnapshotStore(path: dir.db)
        let db = store.database
        #expect(
            try db.rows("SELECT device_id, identifiers FROM devices ORDER BY device_id") == [
                ["1", #"[{"kind":"serial","value":"VMWARE-56 4D 1A  2B"},{"kind":"udid","value":"564D1A2B-0000"},{"kind":"mac","value":"00:50:56:AA:BB:CC"}]"#],
                ["2", "[]"],
                ["3", #"[{"kind":"serial","value":"C02XK1ABJG5H"},{"kind":"device_id","value":"aad-0001"},{"kind":"mac","value":"A4:83:E7:12:34:56"}]"#]
            ])
        #expect(
            try db.rows(
                """
                SELECT d.device_id, json_extract(i.value, '$.kind'), json_extract(i.value, '$.value')
                FROM devices d, json_each(d.identifiers) i WHERE d.device_id = 1 ORDER BY i.key
                """) == [["1", "serial", "VMWARE-56 4D 1A  2B"], ["1", "udid", "564D1A2B-0000"], ["1", "mac", "00:50:56:AA:BB:CC"]])
        #expect(try db.rows("SELECT owner_reason FROM devices WHERE device_id = 3") == [[nil]])
        #expect(try db.rows("SELECT manager_email, manager_cycle, duplicate_email FROM people") == [["b@example.com", "0", "0"]])
    }

    @Test func newNightsWriteJSONThatJsonEachReads() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        var d = device("serial:VMWARE-56 4D 1A", sources: ["fleet"])
        d.identifiers = [Identifier(.serial, "VMWARE-56 4D 1A"), Identifier(.deviceID, "odd \"id\" \\ with\ttab"), Identifier(.mac, "00:50:56:AA:BB:CC")]
        d.ownerReason = "ambiguous_email"
        try store.writeNight(night("2026-12-01"), devices: [d])
        let rows = try store.database.rows(
            """
            SELECT json_extract(i.value, '$.kind'), json_extract(i.value, '$.value') FROM devices d, json_each(d.identifiers) i ORDER BY i.key
            """)
        #expect(rows == [["serial", "VMWARE-56 4D 1A"], ["device_id", "odd \"id\" \\ with\ttab"], ["mac", "00:50:56:AA:BB:CC"]])
        #expect(try store.database.rows("SELECT owner_reason FROM devices") == [["ambiguous_email"]])
        // The hand-written JSON is what SQLite's own json() would print, so migrated and new rows compare equal.
        #expect(try store.database.rows("SELECT identifiers = json(identifiers) FROM devices") == [["1"]])
    }

    /// The README's identifier example (`json_each` on `devices.identifiers`) finds the device that had the MAC.
    /// (That every README query runs at all is ReadmeSQLTests' job.)
    @Test func readmeIdentifierExampleFindsItsDevice() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let section = try #require(text.range(of: "## The SQLite store").map { String(text[$0.upperBound...]) })
        let block = try #require(
            section.range(of: "```sql\n").flatMap { start in
                section[start.upperBound...].range(of: "```").map { String(section[start.upperBound..<$0.lowerBound]) }
            })
        let examples = block.components(separatedBy: ";\n").filter { $0.contains("json_each(d.identifiers)") }
        #expect(examples.count == 1, "the README shows json_each on devices.identifiers")
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        var d = device("serial:C02XK1ABJG5H", sources: ["jamf"], owner: "ajones@example.com")
        d.identifiers = [Identifier(.serial, "C02XK1ABJG5H"), Identifier(.mac, "A4:83:E7:12:34:56")]
        try store.writeNight(
            night("2026-12-01", people: [Person(email: "ajones@example.com", name: "Alex")]),
            devices: [d, device("serial:OTHER0001", sources: ["jamf"])])
        for sql in examples {
            let rows = try store.database.rows(sql)
            #expect(rows.map { $0.first ?? nil } == ["serial:C02XK1ABJG5H"], "\(sql)")
        }
    }
}
