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
    /// How text columns are fetched: given, or `.utf8` for drivers known to hand out UTF-8 (see `ODBCText`).
    private(set) var text = ODBCText.utf16

    /// Connects with a full connection string (`DSN=...;` or `Driver=...;Server=...;`), no prompting.
    init(connectionString: String, loginTimeout: Int, redact: String?, text: ODBCText? = nil) throws {
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
            SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_DBC), dbc)
            dbc = nil
            throw ODBCError(what: "cannot connect", diagnostics: d)
        }
        self.text = text ?? ODBCText.native(driver: info(SQL_DRIVER_NAME))
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
    func query(
        _ sql: String, timeout: Int, columns: ([String]) throws -> Void = { _ in },
        _ body: (ODBCRow) throws -> Void
    ) throws -> Int {
        var stmt: SQLHSTMT?
        guard succeeded(SQLAllocHandle(SQLSMALLINT(SQL_HANDLE_STMT), dbc, &stmt)) else {
            throw ODBCError(what: "cannot allocate a statement", diagnostics: clean(ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_DBC), dbc)))
        }
        defer { SQLFreeHandle(SQLSMALLINT(SQL_HANDLE_STMT), stmt) }
        if timeout > 0 { _ = SQLSetStmtAttr(stmt, SQL_ATTR_QUERY_TIMEOUT, SQLPOINTER(bitPattern: timeout), 0) }
        let fail = { (what: String) in ODBCError(what: what, diagnostics: self.clean(ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_STMT), stmt))) }
        var statement = Array(sql.utf8)
        let rc = statement.withUnsafeMutableBufferPointer { SQLExecDirect(stmt, $0.baseAddress, SQLINTEGER($0.count)) }
        guard succeeded(rc) || rc == SQL_NO_DATA else { throw fail("query failed") }
        do {
            let result = try ODBCResult(stmt!, text: text)
            try columns(result.columns)
            return try result.rows(body)
        } catch let e as ODBCError {
            throw ODBCError(what: e.what, diagnostics: clean(e.diagnostics))
        }
    }
}
