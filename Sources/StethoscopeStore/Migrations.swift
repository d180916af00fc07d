import Foundation

/// One schema step, `Schemas/sqlite/NNNN_name.sql`, compiled into the binary (see `Migrations.embedded`).
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Brings a database to the newest schema: each migration in its own transaction, progress in `PRAGMA user_version`.
public enum Migrations {
    public static var latest: Int { embedded.last?.version ?? 0 }

    /// The database was written by a newer Stethoscope; this binary would misread it, so it refuses.
    public struct TooNewError: Error, CustomStringConvertible, Sendable {
        public var found: Int
        public var known: Int
        public var description: String {
            "the database is at schema version \(found) but this stethoscope knows only up to \(known): upgrade stethoscope"
        }
    }

    /// Applies the missing migrations; returns the schema version before and after.
    @discardableResult
    public static func apply(to database: Database, migrations: [Migration] = embedded) throws -> (from: Int, to: Int) {
        let known = migrations.last?.version ?? 0
        let from = try database.int("PRAGMA user_version") ?? 0
        guard from <= known else { throw TooNewError(found: from, known: known) }
        for migration in migrations where migration.version > from {
            try database.transaction {
                // Re-read under the write lock: another process may have migrated meanwhile.
                let current = try database.int("PRAGMA user_version") ?? 0
                guard current < migration.version else { return }
                try database.exec(migration.sql)
                try database.exec("PRAGMA user_version = \(migration.version)")
            }
        }
        return (from, max(from, known))
    }

    /// Opens (creating) the database at `url` and migrates it.
    @discardableResult
    public static func migrate(at url: URL) throws -> (from: Int, to: Int) {
        try apply(to: Database(path: url))
    }
}
