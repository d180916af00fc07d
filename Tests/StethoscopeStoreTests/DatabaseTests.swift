import Foundation
import Testing

@testable import StethoscopeStore

@Suite struct DatabaseTests {
    @Test func bindsAndReadsEveryType() throws {
        let dir = try TempDir()
        let db = try Database(path: dir.db)
        try db.exec("CREATE TABLE t (i INTEGER, j INTEGER, d REAL, s TEXT, e TEXT, n TEXT, b INTEGER, w TEXT)")
        let insert = try db.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        insert.bind(1, 42)
        insert.bind(2, Int64(1) << 40)
        insert.bind(3, 2.5)
        insert.bind(4, "héllo wörld, a string longer than fifteen bytes")
        insert.bind(5, "")
        insert.bind(6, nil as String?)
        insert.bind(7, true)
        insert.bind(8, time: t0)
        try insert.run()
        let q = try db.prepare("SELECT i, j, d, s, e, n, b, w, typeof(e) FROM t")
        #expect(try q.step())
        #expect(q.int(0) == 42)
        #expect(q.int64(1) == 1 << 40)
        #expect(q.double(2) == 2.5)
        #expect(q.string(3) == "héllo wörld, a string longer than fifteen bytes")
        #expect(q.string(4) == "")
        #expect(q.string(8) == "text")  // '' stays text, not NULL
        #expect(q.isNull(5) && q.string(5) == nil)
        #expect(q.int(6) == 1)
        #expect(q.string(7) == "2026-12-01T06:00:00Z")
        #expect(try q.step() == false)
    }

    @Test func opensInWALWithForeignKeys() throws {
        let dir = try TempDir()
        let db = try Database(path: dir.db)
        #expect(try db.rows("PRAGMA journal_mode") == [["wal"]])
        #expect(try db.int("PRAGMA foreign_keys") == 1)
        #expect(try db.int("PRAGMA synchronous") == 1)  // NORMAL
        #expect(try db.int("PRAGMA cache_size") == -65536)
        try db.exec("CREATE TABLE t (x)")
        #expect(try db.int("PRAGMA page_size") == 16384)
    }

    @Test func transactionRollsBackOnThrowAndCommitsOtherwise() throws {
        struct Boom: Error {}
        let dir = try TempDir()
        let db = try Database(path: dir.db)
        try db.exec("CREATE TABLE t (x INTEGER)")
        #expect(throws: Boom.self) {
            try db.transaction {
                try db.exec("INSERT INTO t VALUES (1)")
                try db.transaction { try db.exec("INSERT INTO t VALUES (2)") }
                throw Boom()
            }
        }
        #expect(try db.int("SELECT COUNT(*) FROM t") == 0)
        try db.transaction {
            try db.exec("INSERT INTO t VALUES (3)")
            try? db.transaction { () throws -> Void in
                try db.exec("INSERT INTO t VALUES (4)")
                throw Boom()
            }
        }
        #expect(try db.rows("SELECT x FROM t") == [["3"]])
    }

    @Test func errorsCarrySQLiteMessageAndStatementStart() throws {
        let dir = try TempDir()
        let db = try Database(path: dir.db)
        try db.exec("CREATE TABLE t (x INTEGER PRIMARY KEY)")
        let insert = try db.prepare("INSERT INTO t (x) VALUES (?)")
        insert.bind(1, 1)
        try insert.run()
        do {
            try insert.run()
            Issue.record("expected a constraint error")
        } catch let error as DatabaseError {
            #expect(error.message.contains("UNIQUE constraint failed: t.x"))
            #expect(error.statement == "INSERT INTO t (x) VALUES")
            #expect(error.description.contains("INSERT INTO t"))
        }
        #expect(throws: DatabaseError.self) { try db.prepare("SELEC nonsense") }
    }

    @Test func isoTimeMatchesFoundationFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let date = Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...8_000_000_000, using: &generator).rounded(.down))
            #expect(ISOTime.string(date) == formatter.string(from: date))
        }
        #expect(ISOTime.string(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(ISOTime.string(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59Z")
        #expect(ISOTime.string(Date(timeIntervalSince1970: 1_709_251_199.9)) == "2024-02-29T23:59:59Z")
    }
}
