import CSQLite
import Foundation

/// An SQLite failure: SQLite's own message plus the first words of the statement, so a log line says what failed
/// without carrying bound values (which may hold anything a vendor sent).
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    /// SQLite's extended result code.
    public var code: Int32
    public var message: String
    /// The first words of the SQL that failed, `nil` for open/close failures.
    public var statement: String?

    public var description: String {
        let base = "SQLite error \(code): \(message)"
        return statement.map { "\(base) (in `\($0)`)" } ?? base
    }

    init(code: Int32, message: String, sql: String?) {
        self.code = code
        self.message = message
        self.statement = sql.map(DatabaseError.firstWords)
    }

    static func firstWords(_ sql: String) -> String {
        let words = sql.split(whereSeparator: { $0.isWhitespace }).prefix(5)
        let text = words.joined(separator: " ")
        return text.count > 60 ? String(text.prefix(60)) + "…" : text
    }
}

/// One SQLite connection. Not `Sendable`: it is opened with `SQLITE_OPEN_NOMUTEX`, so one task owns it.
public final class Database {
    let handle: OpaquePointer
    /// Statements `cached(_:)` prepared, by SQL text. They hold the raw connection, not this object, so the cache
    /// makes no cycle; `sqlite3_close_v2` waits for them to be finalized.
    private var statements: [String: Statement] = [:]

    /// Opens (creating if needed) the database at `path` with WAL, foreign keys, `synchronous=NORMAL`, a busy timeout
    /// and a 64 MiB page cache.
    public init(path: URL, busyTimeoutMilliseconds: Int32 = 10_000) throws {
        var db: OpaquePointer?
        let flags: Int32 = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path.path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw DatabaseError(code: rc, message: "cannot open \(path.path): \(message)", sql: nil)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        // A night is one large transaction: a 64 MiB page cache keeps it from spilling to the WAL and reading pages
        // back, and the WAL is cut back to 64 MiB after checkpoints instead of keeping a night's size on disk.
        try exec(
            """
            PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;
            PRAGMA cache_size = -65536; PRAGMA journal_size_limit = 67108864;
            """)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that take no parameters (DDL, pragmas, migrations).
    public func exec(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw DatabaseError(code: rc, message: message, sql: sql)
        }
    }

    public func prepare(_ sql: String) throws -> Statement { try Statement(self, sql) }

    /// The statement for `sql`, prepared once per connection and reset for this use (GRDB's cached statements):
    /// the SQL of a repeated call is parsed once, and the call site stays one line.
    public func cached(_ sql: String) throws -> Statement {
        if let statement = statements[sql] {
            statement.reset()
            statement.clearBindings()
            return statement
        }
        let statement = try prepare(sql)
        statements[sql] = statement
        return statement
    }

    /// Runs one statement with `arguments` bound to `?1…?n`.
    public func execute(_ sql: String, _ arguments: any SQLArgument...) throws {
        let statement = try cached(sql)
        statement.bind(arguments)
        try statement.run()
    }

    /// Hands each row of `sql` (with `arguments` bound to `?1…?n`) to `row`.
    public func forEachRow(_ sql: String, _ arguments: any SQLArgument..., row: (Statement) throws -> Void) throws {
        let statement = try cached(sql)
        statement.bind(arguments)
        defer { statement.reset() }
        while try statement.step() { try row(statement) }
    }

    /// The first row of `sql` (with `arguments` bound to `?1…?n`) read by `map`, or `nil` when there is none.
    public func firstRow<T>(_ sql: String, _ arguments: any SQLArgument..., map: (Statement) throws -> T) throws -> T? {
        let statement = try cached(sql)
        statement.bind(arguments)
        defer { statement.reset() }
        return try statement.step() ? map(statement) : nil
    }

    /// Runs `body` in one transaction: `BEGIN IMMEDIATE` (the write lock up front, so no deadlock mid-way),
    /// `COMMIT` when it returns, `ROLLBACK` when it throws. Nested calls become savepoints.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let nested = sqlite3_get_autocommit(handle) == 0
        try exec(nested ? "SAVEPOINT nested" : "BEGIN IMMEDIATE")
        do {
            let value = try body()
            try exec(nested ? "RELEASE nested" : "COMMIT")
            return value
        } catch {
            // A failed COMMIT may leave the transaction open; the rollback must not hide the original error.
            try? exec(nested ? "ROLLBACK TO nested; RELEASE nested" : "ROLLBACK")
            throw error
        }
    }

    /// The first column of the first row, as an integer (`nil` when there is no row or it is NULL).
    public func int(_ sql: String) throws -> Int? {
        let statement = try prepare(sql)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int(0)
    }

    /// The file of the main database, `nil` for an in-memory or temporary one.
    public var filename: String? {
        guard let name = sqlite3_db_filename(handle, "main"), name.pointee != 0 else { return nil }
        return String(cString: name)
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    func error(_ rc: Int32, _ sql: String) -> DatabaseError { Database.error(handle, rc, sql) }

    static func error(_ connection: OpaquePointer, _ rc: Int32, _ sql: String) -> DatabaseError {
        DatabaseError(code: rc, message: String(cString: sqlite3_errmsg(connection)), sql: sql)
    }
}

/// A value a statement parameter takes: `execute("… ?1, ?2", asOf, count)`. `nil` of any of these binds NULL.
public protocol SQLArgument {
    func bind(to statement: Statement, at index: Int)
}

extension Int: SQLArgument { public func bind(to statement: Statement, at index: Int) { statement.bind(index, self) } }
extension Int64: SQLArgument { public func bind(to statement: Statement, at index: Int) { statement.bind(index, self) } }
extension Double: SQLArgument { public func bind(to statement: Statement, at index: Int) { statement.bind(index, self) } }
extension Bool: SQLArgument { public func bind(to statement: Statement, at index: Int) { statement.bind(index, self) } }
extension String: SQLArgument { public func bind(to statement: Statement, at index: Int) { statement.bind(index, self) } }
extension Optional: SQLArgument where Wrapped: SQLArgument {
    public func bind(to statement: Statement, at index: Int) {
        if let value = self { value.bind(to: statement, at: index) } else { statement.bindNull(index) }
    }
}

/// A time bound as ISO 8601 UTC text (`2026-12-01T06:00:00Z`), NULL when `nil`.
public struct SQLTime: SQLArgument {
    public let date: Date?
    public init(_ date: Date?) { self.date = date }
    public func bind(to statement: Statement, at index: Int) { statement.bind(index, time: date) }
}

/// A prepared statement. Parameters are bound by 1-based index and keep their values across `reset()`,
/// so constant parameters can be bound once for a whole loop.
public final class Statement {
    /// The connection, for error messages (not the `Database`: a cached statement must not keep it alive).
    let connection: OpaquePointer
    let handle: OpaquePointer
    let sql: String

    init(_ database: Database, _ sql: String) throws {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw database.error(rc, sql) }
        self.connection = database.handle
        self.handle = statement
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    public func bind(_ index: Int, _ value: Int) { sqlite3_bind_int64(handle, Int32(index), Int64(value)) }
    public func bind(_ index: Int, _ value: Int64) { sqlite3_bind_int64(handle, Int32(index), value) }
    public func bind(_ index: Int, _ value: Double) { sqlite3_bind_double(handle, Int32(index), value) }
    public func bind(_ index: Int, _ value: Bool) { sqlite3_bind_int(handle, Int32(index), value ? 1 : 0) }
    public func bindNull(_ index: Int) { sqlite3_bind_null(handle, Int32(index)) }
    /// Binds `arguments` to `?1…?n` in order.
    public func bind(_ arguments: [any SQLArgument]) {
        for (offset, argument) in arguments.enumerated() { argument.bind(to: self, at: offset + 1) }
    }

    /// Binds a word-valued enum (`SourceKind`, a status) as its word.
    public func bind<Word: RawRepresentable>(_ index: Int, _ value: Word) where Word.RawValue == String { bind(index, value.rawValue) }

    /// Binds text straight from the string's UTF-8 storage (SQLite copies it), `nil` as NULL.
    public func bind(_ index: Int, _ value: String?) {
        guard var text = value else { return bindNull(index) }
        text.withUTF8 { bytes in bindText(index, bytes) }
    }

    /// Binds a time as ISO 8601 UTC text (`2026-12-01T06:00:00Z`), `nil` as NULL.
    public func bind(_ index: Int, time: Date?) {
        guard let time else { return bindNull(index) }
        ISOTime.withBytes(time) { bytes in bindText(index, bytes) }
    }

    func bindText(_ index: Int, _ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            // An empty buffer may have no address, and a NULL pointer would bind NULL instead of ''.
            sqlite3_bind_text(handle, Int32(index), "", 0, csqlite_transient())
            return
        }
        base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            _ = sqlite3_bind_text(handle, Int32(index), $0, Int32(bytes.count), csqlite_transient())
        }
    }

    /// Advances to the next row: `true` while there is a row to read, `false` when done.
    @discardableResult
    public func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc:
            let error = Database.error(connection, rc, sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Steps to completion (for INSERT/UPDATE/DELETE) and resets, keeping the bindings.
    public func run() throws {
        let rc = sqlite3_step(handle)
        let error: DatabaseError? = rc == SQLITE_DONE || rc == SQLITE_ROW ? nil : Database.error(connection, rc, sql)
        sqlite3_reset(handle)
        if let error { throw error }
    }

    public func reset() { sqlite3_reset(handle) }
    public func clearBindings() { sqlite3_clear_bindings(handle) }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }
    public func isNull(_ column: Int) -> Bool { sqlite3_column_type(handle, Int32(column)) == SQLITE_NULL }
    public func int(_ column: Int) -> Int { Int(sqlite3_column_int64(handle, Int32(column))) }
    public func int64(_ column: Int) -> Int64 { sqlite3_column_int64(handle, Int32(column)) }
    public func double(_ column: Int) -> Double { sqlite3_column_double(handle, Int32(column)) }
    public func string(_ column: Int) -> String? {
        guard let text = sqlite3_column_text(handle, Int32(column)) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, Int32(column)))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }
}

extension Database {
    /// The SQLite library this process runs with (not the headers it was built against), for `--version`.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}
