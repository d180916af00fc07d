import Foundation
import Testing

@testable import StethoscopeStore

@Suite struct MigrationTests {
    @Test func migrateCreatesLatestSchemaAndIsIdempotent() throws {
        let dir = try TempDir()
        let first = try Migrations.migrate(at: dir.db)
        #expect(first.from == 0 && first.to == Migrations.latest)
        #expect(Migrations.latest >= 2)
        let second = try SnapshotStore.migrate(at: dir.db)
        #expect(second.from == Migrations.latest && second.to == Migrations.latest)
        let db = try Database(path: dir.db)
        #expect(try db.int("PRAGMA user_version") == Migrations.latest)
        let names = try db.rows("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name").map { $0[0] ?? "" }
        for name in [
            "runs", "devices", "practice_results", "latest_night", "latest_devices", "latest_device_posture",
            "daily_practice_status", "daily_compliance_by_organization", "daily_compliance_by_manager"
        ] {
            #expect(names.contains(name), "missing \(name)")
        }
    }

    @Test func stopsPartWayWhenAMigrationFails() throws {
        let dir = try TempDir()
        let db = try Database(path: dir.db)
        let broken = [
            Migration(version: 1, name: "a", sql: "CREATE TABLE a (x);"),
            Migration(version: 2, name: "b", sql: "CREATE TABLE b (x); CREATE TABLE a (y);")
        ]
        #expect(throws: DatabaseError.self) { try Migrations.apply(to: db, migrations: broken) }
        #expect(try db.int("PRAGMA user_version") == 1)
        #expect(try db.int("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'b'") == 0)  // rolled back
    }

    @Test func refusesADatabaseNewerThanTheBinary() throws {
        let dir = try TempDir()
        try Migrations.migrate(at: dir.db)
        try Database(path: dir.db).exec("PRAGMA user_version = \(Migrations.latest + 7)")
        do {
            try Migrations.migrate(at: dir.db)
            Issue.record("expected TooNewError")
        } catch let error as Migrations.TooNewError {
            #expect(error.found == Migrations.latest + 7 && error.known == Migrations.latest)
            #expect(error.description.contains("upgrade stethoscope"))
        }
        #expect(throws: Migrations.TooNewError.self) { try SnapshotStore(path: dir.db) }
    }

    /// The binary carries its own copy of Schemas/sqlite; this fails until `make migrations` is run after an edit.
    @Test func embeddedMigrationsMatchTheSchemaFiles() throws {
        let schemas = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Schemas/sqlite")
        let files = try FileManager.default.contentsOfDirectory(atPath: schemas.path).filter { $0.hasSuffix(".sql") }.sorted()
        let onDisk: [Migration] = try files.map { file in
            let version = Int(file.prefix(4)) ?? -1
            let name = String(file.dropFirst(5).dropLast(4))
            let sql = try String(contentsOf: schemas.appendingPathComponent(file), encoding: .utf8)
            return Migration(version: version, name: name, sql: sql)
        }
        #expect(!onDisk.isEmpty)
        #expect(onDisk.map(\.version) == Migrations.embedded.map(\.version), "run `make migrations`")
        for (file, embedded) in zip(onDisk, Migrations.embedded) {
            #expect(file == embedded, "Migrations.generated.swift is stale for \(file.version)_\(file.name).sql: run `make migrations`")
        }
    }
}
