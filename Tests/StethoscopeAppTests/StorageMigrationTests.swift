import Foundation
import StethoscopeStore
import Testing

/// Issue 18: the storage layout may change, what analysts and our readers query may not. A demo database is
/// rebuilt in the layout of schema version 9 (the wide `devices` and `practice_results` tables of before the
/// compact store), migrated in place to the newest schema, and every documented view and table must answer
/// exactly as before: same rows, same values, same SQL types.
@Suite struct StorageMigrationTests {
    /// The last schema version with the old wide layout.
    static let oldVersion = 9
    /// The version that made the roll-ups compact.
    static let compactRollups = 12

    /// Every view, and the tables the README and the Datasette metadata tell analysts to query.
    static func documented(_ db: Database) throws -> [String] {
        let views = try db.rows("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name").compactMap { $0[0] }
        let tables = [
            "runs", "run_sources", "practice_definitions", "people", "device_keys", "devices", "practice_results",
            "merge_audit", "rollup_practices", "rollup_groups", "rollup_quality", "rollup_sources", "rollup_state",
            "failing_since", "exports", "notifications"
        ]
        return tables + views.filter { !tables.contains($0) }
    }

    /// The columns of `name`.
    static func columns(_ db: Database, _ name: String) throws -> [String] {
        try db.rows("SELECT name FROM pragma_table_info('\(name)')").compactMap { $0[0] }
    }

    /// The full output of `name`, one line per row, every value `quote()`d (so 1, '1' and NULL differ), sorted.
    /// `columns`: those of an older layout (a table that gained columns answers the old ones the same).
    static func capture(_ db: Database, _ name: String, columns: [String]? = nil) throws -> [String] {
        let columns = try columns ?? Self.columns(db, name)
        #expect(!columns.isEmpty, "\(name) has no columns")
        let list = columns.map { "quote(\"\($0)\")" }.joined(separator: " || char(31) || ")
        return try db.rows("SELECT \(list) FROM \"\(name)\"").map { $0[0] ?? "" }.sorted()
    }

    /// Copies the demo database's rows into a fresh database of schema version 9 (the layout main wrote).
    static func rebuildInOldLayout(from demo: URL, to old: URL) throws {
        let db = try Database(path: old)
        try Migrations.apply(to: db, migrations: Migrations.embedded.filter { $0.version <= oldVersion })
        try db.exec("ATTACH DATABASE '\(demo.path)' AS src")
        let tables = try db.rows("SELECT name FROM main.sqlite_schema WHERE type = 'table' ORDER BY name = 'runs' DESC, name")
            .compactMap { $0[0] }
        try db.transaction {
            for table in tables {
                // By name: the newer layout has views in place of some tables and more columns in others.
                let list = try columns(db, table).map { "\"\($0)\"" }.joined(separator: ", ")
                try db.exec("INSERT INTO main.\"\(table)\" (\(list)) SELECT \(list) FROM src.\"\(table)\"")
            }
        }
        try db.exec("DETACH DATABASE src")
    }

    @Test func everyViewAnswersTheSameAfterMigratingAnOldDatabase() throws {
        let dir = try temporaryDirectory()
        let demo = Process()
        demo.executableURL = stethoscopeBinary()
        // Ten nights from 2026-10-01: a dated os_version rule change and a night with a source down (carried devices).
        demo.arguments = ["demo", "--people", "300", "--nights", "10", "--start", "2026-10-01", "--out", dir.path]
        demo.standardOutput = FileHandle.nullDevice
        demo.standardError = FileHandle.nullDevice
        try demo.run()
        demo.waitUntilExit()
        #expect(demo.terminationStatus == 0)
        let demoDB = dir.appendingPathComponent("stethoscope.db")
        // Schema 9 knew no `auth_logs` owner method (its CHECK refuses it): the demo's auth-log owners are restated as
        // the `attribution` they were then, in the view (its trigger) and in the daily table behind daily_ownership.
        let source = try Database(path: demoDB)
        #expect(try source.count("SELECT count(*) FROM devices WHERE owner_method = 'auth_logs'") > 0)
        try source.exec("UPDATE devices SET owner_method = 'attribution' WHERE owner_method = 'auth_logs'")
        try source.exec("UPDATE daily_owners SET owner_method = 'attribution' WHERE owner_method = 'auth_logs'")
        let oldDB = dir.appendingPathComponent("old.db")
        try Self.rebuildInOldLayout(from: demoDB, to: oldDB)

        let old = try Database(path: oldDB)
        #expect(try old.int("PRAGMA user_version") == Self.oldVersion)
        // The demo exercises what the layout must keep: carried-forward devices, 'na' rows, dated OS rules.
        #expect(try old.count("SELECT count(*) FROM devices WHERE carried_forward = 1") > 0)
        #expect(try old.count("SELECT count(*) FROM practice_results WHERE status = 'na'") > 0)
        #expect(try old.count("SELECT count(DISTINCT details) FROM practice_results WHERE practice = 'os_version'") > 2)
        let names = try Self.documented(old)
        var before: [String: [String]] = [:]
        var oldColumns: [String: [String]] = [:]
        for name in names {
            oldColumns[name] = try Self.columns(old, name)
            before[name] = try Self.capture(old, name)
        }
        #expect((before["practice_results"]?.count ?? 0) > 10_000)

        // A conversion that dies part-way (here: its last statement fails) leaves version 9 exactly as it was, and
        // the next `migrate` or `run` converts it again from the start.
        let dying = Migrations.embedded.map { m in
            m.version == Self.oldVersion + 1 ? Migration(version: m.version, name: m.name, sql: m.sql + "\nCREATE TABLE runs (x);") : m
        }
        #expect(throws: DatabaseError.self) { try Migrations.apply(to: Database(path: oldDB), migrations: dying) }
        #expect(try old.int("PRAGMA user_version") == Self.oldVersion)
        #expect(try Self.capture(old, "practice_results") == before["practice_results"])
        #expect(try old.count("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'devices'") == 1)

        // Up to version 11 (the compact detail, the wide roll-up tables), then version 12 (compact roll-ups) dying
        // part-way: version 11 stays as it was, roll-ups included.
        try Migrations.apply(to: Database(path: oldDB), migrations: Migrations.embedded.filter { $0.version <= Self.compactRollups - 1 })
        #expect(try old.int("PRAGMA user_version") == Self.compactRollups - 1)
        let dyingRollups = Migrations.embedded.map { m in
            m.version == Self.compactRollups ? Migration(version: m.version, name: m.name, sql: m.sql + "\nCREATE TABLE runs (x);") : m
        }
        #expect(throws: DatabaseError.self) { try Migrations.apply(to: Database(path: oldDB), migrations: dyingRollups) }
        #expect(try old.int("PRAGMA user_version") == Self.compactRollups - 1)
        #expect(try old.count("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'rollup_practices'") == 1)
        for name in ["rollup_practices", "rollups", "rollup_compliance", "failing_since", "rollup_groups"] {
            #expect(try Self.capture(old, name, columns: oldColumns[name]) == before[name], "\(name) changed by a dying migration")
        }

        let migrated = try SnapshotStore.migrate(at: oldDB)
        #expect(migrated.from == Self.compactRollups - 1 && migrated.to == Migrations.latest)
        let new = try Database(path: oldDB)
        let written = try Database(path: demoDB)
        // The compact roll-ups are in place (views over them), and hold less than the wide tables did.
        #expect(try new.count("SELECT count(*) FROM sqlite_schema WHERE type = 'view' AND name IN ('rollup_practices', 'failing_since')") == 2)
        #expect(try new.count("SELECT count(*) FROM rollup_counts") < new.count("SELECT count(*) FROM rollup_groups"))
        for name in names {
            let after = try Self.capture(new, name, columns: oldColumns[name])
            #expect(after == before[name], "\(name) differs after migration (\(after.count) rows, was \(before[name]?.count ?? 0))")
            // The night writer of this version stores the same thing the migration makes of the old rows.
            let direct = try Self.capture(written, name, columns: oldColumns[name])
            #expect(direct == before[name], "\(name) differs as written by the nightly run")
        }
    }
}
