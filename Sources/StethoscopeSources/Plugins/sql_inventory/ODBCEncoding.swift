import CODBC
import Foundation

/// How text columns are fetched.
enum ODBCText: String, Sendable {
    /// `SQL_C_CHAR`, the bytes taken as UTF-8 (invalid sequences become U+FFFD): the driver copies its text
    /// as it is. Right only for drivers that hand out UTF-8: psqlodbc's Unicode driver (it sets
    /// `client_encoding` to UTF8), FreeTDS with `ClientCharset = UTF-8`, Microsoft's driver under a UTF-8 locale.
    case utf8
    /// `SQL_C_WCHAR`: the driver converts whatever the server stores to UTF-16. Safe with any driver, and
    /// costs the driver a conversion (and, in psqlodbc, an allocation) per value.
    case utf16

    /// `.utf8` for drivers known to hand out UTF-8 whatever the locale (psqlodbcw), `.utf16` otherwise.
    static func native(driver: String) -> ODBCText { driver.lowercased().hasPrefix("psqlodbcw") ? .utf8 : .utf16 }

    var cType: Int32 { self == .utf8 ? SQL_C_CHAR : SQL_C_WCHAR }
    /// Bytes per code unit.
    var unit: Int { self == .utf8 ? 1 : MemoryLayout<SQLWCHAR>.stride }
}

/// How a result column is fetched.
///
/// Integers come as `SQL_C_SBIGINT` and dates/timestamps as `SQL_C_TYPE_TIMESTAMP` (printed as
/// `yyyy-mm-dd hh:mm:ss`): a driver parses its own text form of those more cheaply than it re-prints it.
/// Everything else (numbers with decimals, GUIDs, text) is text, as `ODBCText` says.
enum ODBCKind: Equatable {
    /// Text of at most `size` characters (0: unbounded, read with `SQLGetData` in pieces).
    case text(size: Int)
    case integer
    case timestamp

    init(type: Int32, size: Int) {
        switch type {
        case SQL_TINYINT, SQL_SMALLINT, SQL_INTEGER, SQL_BIGINT: self = .integer
        case SQL_TYPE_TIMESTAMP, SQL_TIMESTAMP, SQL_TYPE_DATE, SQL_DATE: self = .timestamp
        case SQL_LONGVARCHAR, SQL_WLONGVARCHAR, SQL_LONGVARBINARY: self = .text(size: 0)
        default: self = .text(size: size)
        }
    }

    /// The C type the value is fetched as.
    func cType(_ text: ODBCText) -> Int32 {
        switch self {
        case .text: return text.cType
        case .integer: return SQL_C_SBIGINT
        case .timestamp: return SQL_C_TYPE_TIMESTAMP
        }
    }

    /// Bytes a bound value takes. Text: UTF-8 up to 4 bytes a character; UTF-16 with room for surrogate
    /// pairs, signs and decimal points; both with the terminator.
    func boundWidth(_ text: ODBCText) -> Int {
        switch self {
        case .text(let size): return text == .utf8 ? size * 4 + 1 : (size * 2 + 8) * MemoryLayout<SQLWCHAR>.stride
        case .integer: return MemoryLayout<Int64>.stride
        case .timestamp: return MemoryLayout<SQL_TIMESTAMP_STRUCT>.stride
        }
    }
}
