import Foundation
import StethoscopeCore
import Testing

@testable import StethoscopeStore

@Suite struct SnapshotStoreTests {
    let people = [
        Person(email: "Ada@example.com", name: "Ada", managerEmail: "grace@example.com", organization: "Engineering"),
        Person(email: "grace@example.com", name: "Grace", organization: "Engineering", title: "VP", location: "NYC"),
        Person(email: "linus@example.com", name: "Linus", managerEmail: "grace@example.com", organization: "Sales", active: false)
    ]
    let conflict = MergeConflict(
        shared: Identifier(.mac, "AA:BB:CC:00:00:01"),
        conflicting: [Identifier(.serial, "S1"), Identifier(.serial, "S2")],
        records: ["jamf/1", "intune/9"])

    @Test func writesANightAndReadsItBack() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        let devices = [
            device(
                "serial:GREEN1", sources: ["intune", "jamf"], owner: "ada@example.com",
                statuses: [("encryption", .ok), ("jailbreak", .na), ("firewall", .ok)]),
            device(
                "serial:CRIT1", sources: ["jamf"], owner: "linus@example.com",
                statuses: [("encryption", .warn), ("firewall", .ok)]),
            device("serial:NUDGE1", sources: ["jamf"], statuses: [("encryption", .ok), ("firewall", .warn), ("auto_updates", .nudge)])
        ]
        let counter = CountingSequence.Counter()
        let summary = try store.writeNight(
            night("2026-12-01", failed: ["jamf2"], people: people, conflicts: [conflict]),
            devices: CountingSequence(devices: devices, consumed: counter))
        #expect(counter.value == 3)
        #expect(summary.devices == 3 && summary.carriedForward == 0 && summary.practiceRows == 8 && summary.seconds > 0)
        let db = store.database
        #expect(
            try db.rows("SELECT started_at, finished_at, status, practices_hash, people, devices, carried_forward, source_records, merge_conflicts FROM runs")
                == [["2026-12-01T06:00:00Z", "2026-12-01T06:01:35Z", "complete", PracticeSet.defaults.hash(asOf: "2026-12-01"), "3", "3", "0", "30", "1"]])
        #expect(
            try db.rows("SELECT source, kind, plugin, status, records, errors, failure, rejected_reasons FROM run_sources ORDER BY source") == [
                ["directory", "directory", "csv", "ok", "0", "{}", nil, "[]"],
                ["intune", "device", "intune", "ok", "10", "{}", nil, "[]"],
                ["jamf", "device", "jamf", "ok", "10", #"{"http_5xx":2}"#, nil, "[]"],
                ["jamf2", "device", "jamf", "failed", "10", "{}", "HTTP 503 after 5 retries", "[]"]
            ])
        let practices = try db.rows(
            "SELECT practice, position, rating, platforms, on_fail, check_kind, fingerprint FROM practice_definitions ORDER BY position")
        #expect(practices.map { $0[0] ?? "" } == PracticeSet.defaults.enabled.map(\.key))
        #expect(!practices.contains { $0[0] == "sentinelone" })  // disabled
        #expect(
            practices[1] == [
                "os_version", "1", "high", "Android,ChromeOS,Mac,Windows,iOS", "warn", "os_version",
                PracticeSet.defaults["os_version"]!.fingerprint(asOf: "2026-12-01")
            ])
        #expect(practices.first { $0[0] == "carbon_black" }?[5] == "software")
        #expect(
            try db.rows("SELECT email, manager_email, organization, title, location, active FROM people ORDER BY email") == [
                ["ada@example.com", "grace@example.com", "Engineering", nil, nil, "1"],
                ["grace@example.com", nil, "Engineering", "VP", "NYC", "1"],
                ["linus@example.com", "grace@example.com", "Sales", nil, nil, "0"]
            ])
        #expect(
            try db.rows("SELECT seq, shared, conflicting, records FROM merge_audit")
                == [["1", "mac:AA:BB:CC:00:00:01", "serial:S1 serial:S2", "jamf/1 intune/9"]])
        #expect(
            try db.rows(
                """
                SELECT k.device_key, d.platform, d.identifiers, d.sources, d.records, d.last_sync, d.owner, d.owner_method,
                       d.owner_via, d.stale, d.carried_forward, d.carried_from, d.green, d.critical
                FROM devices d JOIN device_keys k USING (device_id) ORDER BY k.device_key
                """) == [
                    [
                        "serial:CRIT1", "Mac", #"[{"kind":"serial","value":"CRIT1"},{"kind":"mac","value":"AA:BB:CC:00:00:01"}]"#, "jamf", "jamf/serial:CRIT1",
                        "2026-12-01T05:00:00Z",
                        "linus@example.com", "source_hint", "jamf", "0", "0", nil, "0", "1"
                    ],
                    [
                        "serial:GREEN1", "Mac", #"[{"kind":"serial","value":"GREEN1"},{"kind":"mac","value":"AA:BB:CC:00:00:01"}]"#, "intune,jamf",
                        "intune/serial:GREEN1 jamf/serial:GREEN1",
                        "2026-12-01T05:00:00Z", "ada@example.com", "source_hint", "intune", "0", "0", nil, "1", "0"
                    ],
                    [
                        "serial:NUDGE1", "Mac", #"[{"kind":"serial","value":"NUDGE1"},{"kind":"mac","value":"AA:BB:CC:00:00:01"}]"#, "jamf",
                        "jamf/serial:NUDGE1", "2026-12-01T05:00:00Z",
                        nil, "none", nil, "0", "0", nil, "0", "0"
                    ]
                ])
        #expect(
            try db.rows(
                """
                SELECT r.practice, r.status, r.value, r.observed_at, r.source FROM practice_results r
                JOIN device_keys k USING (device_id) WHERE k.device_key = 'serial:CRIT1' ORDER BY r.practice
                """) == [
                    ["encryption", "warn", "v-encryption", "2026-12-01T04:00:00Z", "jamf"],
                    ["firewall", "ok", "v-firewall", "2026-12-01T04:00:00Z", "jamf"]
                ])
        #expect(try store.nights().map { "\($0.asOf)=\($0.status.rawValue)" } == ["2026-12-01=complete"])
    }

    /// The sequence is consumed as rows are written (the merge stage streams a night), not collected first.
    @Test func writesDevicesWhileTheSequenceIsConsumed() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        var seenBeforeEach: [Int] = []
        let devices = (0..<4).lazy.map { i -> DeviceSnapshot in
            seenBeforeEach.append((try? store.database.count("devices", asOf: "2026-12-01")) ?? -1)
            return device("serial:S\(i)", sources: i == 2 ? ["jamf", "intune"] : ["jamf"])
        }
        #expect(try store.writeNight(night("2026-12-01"), devices: devices).devices == 4)
        #expect(seenBeforeEach == [0, 1, 2, 3])
        #expect(try store.database.rows("SELECT sources FROM devices WHERE sources LIKE '%,%'") == [["intune,jamf"]])
    }

    @Test func deviceKeysKeepTheirIDsAcrossNights() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        try store.writeNight(night("2026-12-01"), devices: [device("serial:A", sources: ["jamf"]), device("serial:B", sources: ["jamf"])])
        try store.writeNight(
            night("2026-12-02"),
            devices: [
                device("serial:C", sources: ["jamf"]), device("serial:B", sources: ["jamf"]),
                device("serial:A", sources: ["jamf"])
            ])
        let ids = try store.database.rows(
            """
            SELECT k.device_key, group_concat(d.as_of, ' ') FROM device_keys k JOIN devices d USING (device_id)
            GROUP BY k.device_id ORDER BY k.device_key
            """)
        #expect(ids == [["serial:A", "2026-12-01 2026-12-02"], ["serial:B", "2026-12-01 2026-12-02"], ["serial:C", "2026-12-02"]])
        #expect(
            try store.database.rows("SELECT device_key, first_seen FROM device_keys ORDER BY device_key")
                == [["serial:A", "2026-12-01"], ["serial:B", "2026-12-01"], ["serial:C", "2026-12-02"]])
    }

    @Test func rewritingANightReplacesIt() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        try store.writeNight(night("2026-11-30"), devices: [device("serial:OTHER", sources: ["jamf"])])
        try store.writeNight(
            night("2026-12-01", people: people, conflicts: [conflict]),
            devices: [device("serial:A", sources: ["jamf"]), device("serial:B", sources: ["jamf"])])
        let second = try store.writeNight(
            night("2026-12-01", status: .partial, people: Array(people.prefix(1))),
            devices: [device("serial:A", sources: ["jamf"], statuses: [("encryption", .warn)])])
        #expect(second.devices == 1 && second.practiceRows == 1)
        let db = store.database
        #expect(
            try db.rows("SELECT as_of, status, devices, people, merge_conflicts FROM runs ORDER BY as_of")
                == [["2026-11-30", "complete", "1", "0", "0"], ["2026-12-01", "partial", "1", "1", "0"]])
        for (table, expected) in [
            ("devices", 1), ("practice_results", 1), ("people", 1), ("merge_audit", 0),
            ("practice_definitions", PracticeSet.defaults.enabled.count), ("run_sources", 4)
        ] {
            #expect(try db.count(table, asOf: "2026-12-01") == expected, "\(table)")
        }
        #expect(try db.rows("SELECT status FROM practice_results WHERE as_of = '2026-12-01'") == [["warn"]])
        #expect(try db.rows("SELECT critical FROM devices WHERE as_of = '2026-12-01'") == [["1"]])
        #expect(try db.count("devices", asOf: "2026-11-30") == 1)  // other nights untouched
        #expect(try db.count("practice_results", asOf: "2026-11-30") == 2)
    }

    @Test func aFailingWriteLeavesThePreviousNightIntact() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        try store.writeNight(
            night("2026-12-01", people: people),
            devices: [device("serial:A", sources: ["jamf"]), device("serial:B", sources: ["jamf"])])
        let before = try store.database.rows("SELECT * FROM devices ORDER BY device_id")
        let resultsBefore = try store.database.rows("SELECT * FROM practice_results ORDER BY device_id, practice")
        // The same key twice in one night violates devices' primary key after the new key was inserted.
        let duplicated = [
            device("serial:NEW", sources: ["jamf"], statuses: [("encryption", .warn)]),
            device("serial:A", sources: ["intune"]), device("serial:A", sources: ["jamf"])
        ]
        let counter = CountingSequence.Counter()
        #expect(throws: DatabaseError.self) {
            try store.writeNight(night("2026-12-01", status: .partial), devices: CountingSequence(devices: duplicated, consumed: counter))
        }
        #expect(counter.value == 3)
        #expect(throws: DatabaseError.self) {
            try store.writeNight(night("2026-12-02"), devices: duplicated)
        }
        let db = store.database
        #expect(try store.nights().map(\.asOf) == ["2026-12-01"])
        #expect(try db.rows("SELECT status, devices, people FROM runs") == [["complete", "2", "3"]])
        #expect(try db.rows("SELECT * FROM devices ORDER BY device_id") == before)
        #expect(try db.rows("SELECT * FROM practice_results ORDER BY device_id, practice") == resultsBefore)
        #expect(try db.count("people", asOf: "2026-12-01") == 3)
        #expect(try db.rows("SELECT device_key FROM device_keys ORDER BY device_key") == [["serial:A"], ["serial:B"]])
        // A practice appearing twice on one device fails the same way.
        let twice = device("serial:A", sources: ["jamf"], statuses: [("encryption", .ok), ("encryption", .warn)])
        #expect(throws: DatabaseError.self) { try store.writeNight(night("2026-12-01"), devices: [twice]) }
        #expect(try db.rows("SELECT * FROM devices ORDER BY device_id") == before)
        // The store stays usable after a failure.
        #expect(try store.writeNight(night("2026-12-02"), devices: [device("serial:B", sources: ["jamf"])]).devices == 1)
    }

    @Test func rejectsAnInvalidAsOfDate() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        #expect(throws: SnapshotStore.InvalidNight.self) { try store.writeNight(night("2026-13-01"), devices: []) }
    }

    @Test func carriesForwardDevicesSeenOnlyByFailedSources() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        try store.writeNight(night("2026-11-29"), devices: [device("serial:OLD", sources: ["jamf"])])
        try store.writeNight(
            night("2026-11-30"),
            devices: [
                device("serial:A", sources: ["jamf"], owner: "ada@example.com", statuses: [("encryption", .warn), ("firewall", .ok)]),
                device("serial:B", sources: ["jamf2"]),
                device("serial:C", sources: ["intune", "jamf"]),
                device("serial:D", sources: ["intune"]),
                device("serial:E", sources: ["jamf", "jamf2"]),
                device("serial:F", sources: ["jamf"])
            ])
        // A partial night in between is not a carry-forward origin.
        try store.writeNight(
            night("2026-12-01", status: .partial, failed: ["intune"]),
            devices: [device("serial:P", sources: ["jamf"])])
        #expect(try store.lastCompleteNight(before: "2026-12-02") == "2026-11-30")
        #expect(try store.lastCompleteNight(before: "2026-11-29") == nil)

        // jamf fails: A is carried; F (only jamf last time) is seen by intune tonight; B, C, E were seen by others.
        let summary = try store.writeNight(
            night("2026-12-02", status: .partial, failed: ["jamf"]),
            devices: [
                device("serial:D", sources: ["intune"]), device("serial:F", sources: ["intune"])
            ])
        #expect(summary.devices == 3 && summary.carriedForward == 1 && summary.practiceRows == 6)
        let db = store.database
        #expect(
            try db.rows(
                """
                SELECT k.device_key, d.sources, d.owner, d.carried_forward, d.carried_from, d.critical FROM devices d
                JOIN device_keys k USING (device_id) WHERE d.as_of = '2026-12-02' ORDER BY k.device_key
                """) == [
                    ["serial:A", "jamf", "ada@example.com", "1", "2026-11-30", "1"],
                    ["serial:D", "intune", nil, "0", nil, "0"],
                    ["serial:F", "intune", nil, "0", nil, "0"]
                ])
        #expect(
            try db.rows(
                """
                SELECT r.practice, r.status, r.observed_at, r.source FROM practice_results r JOIN device_keys k USING (device_id)
                WHERE r.as_of = '2026-12-02' AND k.device_key = 'serial:A' ORDER BY r.practice
                """) == [["encryption", "warn", "2026-12-01T04:00:00Z", "jamf"], ["firewall", "ok", "2026-12-01T04:00:00Z", "jamf"]])
        #expect(try db.rows("SELECT devices, carried_forward FROM runs WHERE as_of = '2026-12-02'") == [["3", "1"]])

        // Both jamf sources fail, re-running the night: A, B and E are carried (names prefixing each other).
        let both = try store.writeNight(
            night("2026-12-02", status: .partial, failed: ["jamf", "jamf2"]),
            devices: [device("serial:D", sources: ["intune"])])
        #expect(both.carriedForward == 4 && both.devices == 5)
        #expect(
            try db.rows(
                """
                SELECT k.device_key FROM devices d JOIN device_keys k USING (device_id)
                WHERE d.as_of = '2026-12-02' AND d.carried_forward = 1 ORDER BY k.device_key
                """) == [["serial:A"], ["serial:B"], ["serial:E"], ["serial:F"]])

        // Only jamf2 fails: B alone (jamf2 is not mistaken for jamf, nor the reverse).
        let second = try store.writeNight(night("2026-12-02", status: .partial, failed: ["jamf2"]), devices: [])
        #expect(second.carriedForward == 1)
        #expect(
            try db.rows("SELECT k.device_key FROM devices d JOIN device_keys k USING (device_id) WHERE d.as_of = '2026-12-02'")
                == [["serial:B"]])
        let jam = try store.writeNight(night("2026-12-02", status: .partial, failed: ["jam", "jamf2,jamf"]), devices: [])
        #expect(jam.carriedForward == 0)

        // No failed source: nothing is carried.
        #expect(try store.writeNight(night("2026-12-03"), devices: []).carriedForward == 0)
    }
}
