import CODBC
import Foundation

/// A failed ODBC call with the driver's diagnostics (`SQLGetDiagRec`): SQLSTATE, native code and message.
struct ODBCError: Error, CustomStringConvertible {
    var what: String
    var diagnostics: String
    var description: String { diagnostics.isEmpty ? what : "\(what): \(diagnostics)" }

    /// Reads every diagnostic record of a handle, e.g. `[28P01] FATAL: password authentication failed (native 101)`.
    static func diagnostics(_ type: SQLSMALLINT, _ handle: SQLHANDLE?) -> String {
        guard let handle else { return "" }
        var out: [String] = []
        var record: SQLSMALLINT = 1
        var state = [SQLCHAR](repeating: 0, count: 6)
        var message = [SQLCHAR](repeating: 0, count: 1024)
        while out.count < 5 {
            var native: SQLINTEGER = 0
            var length: SQLSMALLINT = 0
            let rc = SQLGetDiagRec(type, handle, record, &state, &native, &message, SQLSMALLINT(message.count), &length)
            guard rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO else { break }
            let text = String(decoding: message.prefix(min(Int(length), message.count - 1)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let sqlState = String(decoding: state.prefix(5), as: UTF8.self)
            out.append("[\(sqlState)] \(text) (native \(native))")
            record += 1
        }
        return out.joined(separator: "; ")
    }
}

@inline(__always) func succeeded(_ rc: SQLRETURN) -> Bool { rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO }

/// One ODBC connection with its environment. Not thread-safe: one pull uses it from one thread.
final class ODBCConnection {
    private var env: SQLHENV?
    private var dbc: SQLHDBC?
    /// Text that must never appear in a diagnostic we pass on (the password, should a driver echo it).
    private let redact: String?

    /// Connects with a full connection string (`DSN=...;` or `Driver=...;Server=...;`), no prompting.
    init(connectionString: String, loginTimeout: Int, redact: String?) throws {
        self.redact = redact?.isEmpty == false ? redact : nil
        guard SQLAllocHandle(SQLSMALLINT(SQL_HANDLE_ENV), nil, &env) == SQL_SUCCESS else {
            throw ODBCError(what: "cannot allocate an ODBC environment", diagnostics: "")
        }
        _ = codbc_set_env_int(env, SQL_ATTR_ODBC_VERSION, SQLULEN(SQL_OV_ODBC3))
        guard succeeded(SQLAllocHandle(SQLSMALLINT(SQL_HANDLE_DBC), env, &dbc)) else {
            throw ODBCError(what: "cannot allocate an ODBC connection", diagnostics: clean(ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_ENV), env)))
        }
        _ = codbc_set_connect_int(dbc, SQL_ATTR_LOGIN_TIMEOUT, SQLULEN(loginTimeout))
        var utf8 = Array(connectionString.utf8)
        let rc = utf8.withUnsafeMutableBufferPointer { p in
            SQLDriverConnect(dbc, nil, p.baseAddress, SQLSMALLINT(p.count), nil, 0, nil, SQLUSMALLINT(SQL_DRIVER_NOPROMPT))
        }
        guard succeeded(rc) else {
            let d = clean(ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_DBC), dbc))
            SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_DBC), dbc); dbc = nil
            throw ODBCError(what: "cannot connect", diagnostics: d)
        }
    }

    deinit {
        if let dbc {
            SQLDisconnect(dbc)
            SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_DBC), dbc)
        }
        if let env { SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_ENV), env) }
    }

    func clean(_ text: String) -> String {
        guard let redact else { return text }
        return text.replacingOccurrences(of: redact, with: "<redacted>")
    }

    /// `SQLGetInfo` text, e.g. the DBMS name and version for `stethoscope check`.
    func info(_ type: Int32) -> String {
        var buffer = [SQLCHAR](repeating: 0, count: 256)
        var length: SQLSMALLINT = 0
        guard succeeded(SQLGetInfo(dbc, SQLUSMALLINT(type), &buffer, SQLSMALLINT(buffer.count), &length)) else { return "?" }
        return String(decoding: buffer.prefix(min(Int(length), buffer.count - 1)), as: UTF8.self)
    }

    /// Runs `sql` and hands each row to `body` as it is fetched; nothing is buffered beyond the current block.
    /// Returns how many values were longer than their declared column size (and cut to it).
    @discardableResult
    func query(_ sql: String, timeout: Int, columns: ([String]) throws -> Void = { _ in },
               _ body: (ODBCRow) throws -> Void) throws -> Int {
        var stmt: SQLHSTMT?
        guard succeeded(SQLAllocHandle(SQLSMALLINT(SQL_HANDLE_STMT), dbc, &stmt)) else {
            throw ODBCError(what: "cannot allocate a statement", diagnostics: clean(ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_DBC), dbc)))
        }
        defer { SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_STMT), stmt) }
        if timeout > 0 { _ = SQLSetStmtAttr(stmt, SQL_ATTR_QUERY_TIMEOUT, SQLPOINTER(bitPattern: timeout), 0) }
        let fail = { (what: String) in ODBCError(what: what, diagnostics: self.clean(ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_STMT), stmt))) }
        var text = Array(sql.utf8)
        let rc = text.withUnsafeMutableBufferPointer { SQLExecDirect(stmt, $0.baseAddress, SQLINTEGER($0.count)) }
        guard succeeded(rc) || rc == SQL_NO_DATA else { throw fail("query failed") }
        let row = try ODBCRow(stmt!)
        try columns(row.columns)
        while true {
            let f = SQLFetch(stmt)
            if f == SQL_NO_DATA { break }
            guard succeeded(f) else { throw fail("fetch failed after \(row.fetched) rows") }
            for i in 0..<row.rowsInBlock {
                row.current = i
                row.fetched += 1
                try body(row)
            }
        }
        return row.truncatedValues
    }
}

/// The current row of a statement: column names, and values as text.
///
/// Every value is read as UTF-16 (`SQL_C_WCHAR`), so the driver converts numbers, dates, GUIDs and any
/// server encoding to Unicode text. When every column has a bounded declared size (varchar(n), numbers,
/// dates), the columns are bound and fetched `blockRows` rows per `SQLFetch` (one driver call per block
/// instead of one per cell). Otherwise (text, nvarchar(max), blobs) each value is read with `SQLGetData`
/// in pieces into a buffer that grows as needed.
final class ODBCRow {
    let stmt: SQLHSTMT
    let columns: [String]
    var fetched = 0
    /// Row within the fetched block.
    var current = 0
    /// Values longer than the size the driver declared that could not be re-read whole, cut (block mode only).
    private(set) var truncatedValues = 0
    private var buffer: UnsafeMutablePointer<SQLWCHAR>
    private var capacity = 512
    private var bound: [(values: UnsafeMutablePointer<SQLWCHAR>, width: Int, indicators: UnsafeMutablePointer<SQLLEN>)] = []
    private let rowsFetched = UnsafeMutablePointer<SQLULEN>.allocate(capacity: 1)
    static let blockRows = 256
    static let maxBoundWidth = 4000

    var rowsInBlock: Int { bound.isEmpty ? 1 : Int(rowsFetched.pointee) }

    init(_ stmt: SQLHSTMT) throws {
        self.stmt = stmt
        buffer = .allocate(capacity: capacity)
        rowsFetched.pointee = 0
        var count: SQLSMALLINT = 0
        guard succeeded(SQLNumResultCols(stmt, &count)) else {
            throw ODBCError(what: "cannot read the result's columns", diagnostics: ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_STMT), stmt))
        }
        var names: [String] = []
        var sizes: [Int] = []
        var name = [SQLCHAR](repeating: 0, count: 256)
        for i in 1...max(Int(count), 1) where count > 0 {
            var length: SQLSMALLINT = 0, type: SQLSMALLINT = 0, digits: SQLSMALLINT = 0, nullable: SQLSMALLINT = 0
            var size: SQLULEN = 0
            _ = SQLDescribeCol(stmt, SQLUSMALLINT(i), &name, SQLSMALLINT(name.count), &length, &type, &size, &digits, &nullable)
            names.append(String(decoding: name.prefix(min(Int(length), name.count - 1)), as: UTF8.self))
            let long = type == SQLSMALLINT(SQL_LONGVARCHAR) || type == SQLSMALLINT(SQL_WLONGVARCHAR) || type == SQLSMALLINT(SQL_LONGVARBINARY)
            sizes.append(long ? 0 : Int(size))
        }
        columns = names
        if !sizes.isEmpty && sizes.allSatisfy({ $0 > 0 && $0 <= ODBCRow.maxBoundWidth }) { bind(sizes) }
    }

    /// Column-wise binding with a row array; on any refusal the statement stays in one-row `SQLGetData` mode.
    private func bind(_ sizes: [Int]) {
        let rows = ODBCRow.blockRows
        guard succeeded(SQLSetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, SQLPOINTER(bitPattern: rows), 0)),
              succeeded(SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, SQLPOINTER(rowsFetched), 0)) else { return unbind() }
        for (i, size) in sizes.enumerated() {
            // Room for surrogate pairs and decimal points/signs beyond the declared size, plus the terminator.
            let width = size * 2 + 8
            let values = UnsafeMutablePointer<SQLWCHAR>.allocate(capacity: width * rows)
            let indicators = UnsafeMutablePointer<SQLLEN>.allocate(capacity: rows)
            bound.append((values, width, indicators))
            let rc = SQLBindCol(stmt, SQLUSMALLINT(i + 1), SQLSMALLINT(SQL_C_WCHAR), SQLPOINTER(values),
                                SQLLEN(width * MemoryLayout<SQLWCHAR>.stride), indicators)
            guard succeeded(rc) else { return unbind() }
        }
    }

    private func unbind() {
        _ = SQLFreeStmt(stmt, SQLUSMALLINT(SQL_UNBIND))
        _ = SQLSetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, SQLPOINTER(bitPattern: 1), 0)
        _ = SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, nil, 0)
        for b in bound { b.values.deallocate(); b.indicators.deallocate() }
        bound = []
    }

    deinit {
        for b in bound { b.values.deallocate(); b.indicators.deallocate() }
        rowsFetched.deallocate()
        buffer.deallocate()
    }

    /// Column `index` (0-based) as text; `nil` for SQL NULL. Columns must be read in increasing order.
    func text(_ index: Int) throws -> String? {
        if !bound.isEmpty {
            let b = bound[index]
            let indicator = b.indicators[current]
            if indicator == SQLLEN(SQL_NULL_DATA) { return nil }
            let units = Int(indicator) / MemoryLayout<SQLWCHAR>.stride
            if indicator == SQLLEN(SQL_NO_TOTAL) || units > b.width - 1 {
                // Longer than the driver declared (psqlodbc gives unbounded varchar a nominal 255): position
                // on the row and read the whole value with SQLGetData; keep the cut value if the driver cannot.
                if succeeded(SQLSetPos(stmt, SQLSETPOSIROW(current + 1), SQLUSMALLINT(SQL_POSITION), SQLUSMALLINT(SQL_LOCK_NO_CHANGE))),
                   let whole = try? pieces(index) {
                    return whole
                }
                truncatedValues += 1
                return ODBCRow.string(b.values + current * b.width, b.width - 1)
            }
            return ODBCRow.string(b.values + current * b.width, units)
        }
        return try pieces(index)
    }

    /// `SQLGetData` in pieces, growing the buffer until the whole value is read.
    private func pieces(_ index: Int) throws -> String? {
        let unit = MemoryLayout<SQLWCHAR>.stride
        var filled = 0
        while true {
            var indicator: SQLLEN = 0
            let room = capacity - filled
            let rc = SQLGetData(stmt, SQLUSMALLINT(index + 1), SQLSMALLINT(SQL_C_WCHAR), buffer + filled, SQLLEN(room * unit), &indicator)
            if rc == SQL_NO_DATA { break }      // a later piece after the whole value was read
            guard succeeded(rc) else {
                throw ODBCError(what: "cannot read column \(columns[index]) of row \(fetched)",
                                diagnostics: ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_STMT), stmt))
            }
            if indicator == SQLLEN(SQL_NULL_DATA) { return nil }
            // Truncated: the driver wrote room-1 units plus a terminator; grow and read the rest.
            if rc == SQL_SUCCESS_WITH_INFO && (indicator == SQLLEN(SQL_NO_TOTAL) || Int(indicator) >= (room - 1) * unit) {
                filled += room - 1
                let needed = indicator == SQLLEN(SQL_NO_TOTAL) ? capacity * 2 : filled + Int(indicator) / unit + 1
                grow(to: max(needed, capacity * 2), keeping: filled)
                continue
            }
            filled += Int(indicator) / unit
            break
        }
        return ODBCRow.string(buffer, filled)
    }

    private func grow(to newCapacity: Int, keeping count: Int) {
        let bigger = UnsafeMutablePointer<SQLWCHAR>.allocate(capacity: newCapacity)
        bigger.update(from: buffer, count: count)
        buffer.deallocate()
        buffer = bigger
        capacity = newCapacity
    }

    /// UTF-16 to `String`; ASCII (most inventory text) is copied byte for byte, the rest transcoded
    /// (unpaired surrogates become U+FFFD). NULs, which some drivers leave in fixed-width text, are dropped.
    static func string(_ units: UnsafePointer<SQLWCHAR>, _ count: Int) -> String {
        var ascii = true, nul = false
        for i in 0..<count {
            if units[i] >= 0x80 { ascii = false; break }
            if units[i] == 0 { nul = true }
        }
        guard ascii else {
            let s = String(decoding: UnsafeBufferPointer(start: units, count: count), as: UTF16.self)
            return s.utf8.contains(0) ? s.replacingOccurrences(of: "\0", with: "") : s
        }
        return String(unsafeUninitializedCapacity: count) { bytes in
            var n = 0
            for i in 0..<count where !nul || units[i] != 0 { bytes[n] = UInt8(truncatingIfNeeded: units[i]); n += 1 }
            return n
        }
    }
}
