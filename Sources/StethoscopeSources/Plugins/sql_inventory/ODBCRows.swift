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

/// The result of one statement, read row by row.
///
/// When every text column has a bounded declared size (varchar(n), numbers), columns are bound and fetched
/// `blockRows` rows per `SQLFetch` by a second thread, which packs each block's values into a queue of up to
/// `queuedBlocks` blocks while the caller's thread turns earlier blocks into devices. The queue holds more
/// than a driver's network batch (psqlodbc's `Fetch=10000`), so the caller keeps working while the driver
/// waits for the server's next batch, and the server's, the driver's and our work overlap.
/// Otherwise (text, nvarchar(max), blobs) each value is read with `SQLGetData` on the caller's thread.
final class ODBCResult {
    let stmt: SQLHSTMT
    let text: ODBCText
    let columns: [String]
    let kinds: [ODBCKind]
    static let blockRows = 256
    static let queuedBlocks = 48
    static let maxBoundWidth = 4000
    /// Values longer than the size the driver declared that could not be re-read whole, cut.
    private(set) var truncated = 0
    /// `SQLGetData` pieces land here; one thread at a time uses it (the fetcher, or the caller unbound).
    fileprivate private(set) var pieceBuffer = UnsafeMutableRawPointer.allocate(byteCount: 1024, alignment: 8)
    private var pieceCapacity = 1024

    init(_ stmt: SQLHSTMT, text: ODBCText) throws {
        self.stmt = stmt
        self.text = text
        var count: SQLSMALLINT = 0
        guard succeeded(SQLNumResultCols(stmt, &count)) else {
            throw ODBCError(what: "cannot read the result's columns", diagnostics: ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_STMT), stmt))
        }
        var names: [String] = []
        var kinds: [ODBCKind] = []
        var name = [SQLCHAR](repeating: 0, count: 256)
        for i in 1...max(Int(count), 1) where count > 0 {
            var length: SQLSMALLINT = 0, type: SQLSMALLINT = 0, digits: SQLSMALLINT = 0, nullable: SQLSMALLINT = 0
            var size: SQLULEN = 0
            _ = SQLDescribeCol(stmt, SQLUSMALLINT(i), &name, SQLSMALLINT(name.count), &length, &type, &size, &digits, &nullable)
            names.append(String(decoding: name.prefix(min(Int(length), name.count - 1)), as: UTF8.self))
            kinds.append(ODBCKind(type: Int32(type), size: Int(size)))
        }
        columns = names
        self.kinds = kinds
    }

    deinit { pieceBuffer.deallocate() }

    /// Hands every row to `body`; returns how many values were cut.
    func rows(_ body: (ODBCRow) throws -> Void) throws -> Int {
        guard !columns.isEmpty else { return 0 }
        let bounded = kinds.allSatisfy { if case .text(let size) = $0 { return size > 0 && size <= ODBCResult.maxBoundWidth } else { return true } }
        if bounded, let ring = ODBCRing(self) {
            try ring.run(body)
        } else {
            try oneByOne(body)
        }
        return truncated
    }

    /// `SQLGetData` per value, one row per `SQLFetch`.
    private func oneByOne(_ body: (ODBCRow) throws -> Void) throws {
        let row = ODBCRow(self)
        while true {
            let rc = SQLFetch(stmt)
            if rc == SQL_NO_DATA { return }
            guard succeeded(rc) else { throw error("fetch failed after \(row.fetched) rows") }
            row.fetched += 1
            try body(row)
        }
    }

    func error(_ what: String) -> ODBCError {
        ODBCError(what: what, diagnostics: ODBCError.diagnostics(SQLSMALLINT(SQL_HANDLE_STMT), stmt))
    }

    fileprivate func addTruncated(_ n: Int) { truncated += n }

    /// The current row's column `index` with `SQLGetData`: text in pieces (growing the buffer), or a number.
    func getData(_ index: Int) throws -> String? {
        switch kinds[index] {
        case .integer:
            var value: Int64 = 0
            return try fixed(index, &value) ? String(value) : nil
        case .timestamp:
            var value = SQL_TIMESTAMP_STRUCT()
            return try fixed(index, &value) ? ODBCResult.string(value) : nil
        case .text: return try readText(index).map { decode(pieceBuffer, bytes: $0) }
        }
    }

    /// Reads the current row's text column `index` whole into `pieceBuffer`, in pieces, growing the buffer;
    /// returns its length in bytes, nil for NULL.
    fileprivate func readText(_ index: Int) throws -> Int? {
        let unit = text.unit
        var filled = 0
        while true {
            var indicator: SQLLEN = 0
            let room = pieceCapacity - filled
            let rc = SQLGetData(stmt, SQLUSMALLINT(index + 1), SQLSMALLINT(text.cType), pieceBuffer + filled, SQLLEN(room), &indicator)
            if rc == SQL_NO_DATA { break }      // a later piece after the whole value was read
            guard succeeded(rc) else { throw error("cannot read column \(columns[index])") }
            if indicator == SQLLEN(SQL_NULL_DATA) { return nil }
            // Truncated: the driver wrote all it could but a terminator; grow and read the rest.
            let written = room - unit
            if rc == SQL_SUCCESS_WITH_INFO && (indicator == SQLLEN(SQL_NO_TOTAL) || Int(indicator) > written) {
                filled += written
                let needed = indicator == SQLLEN(SQL_NO_TOTAL) ? pieceCapacity * 2 : filled + Int(indicator) - written + unit
                grow(to: max(needed, pieceCapacity * 2), keeping: filled)
                continue
            }
            filled += Int(indicator)
            break
        }
        return filled
    }

    /// One fixed-size value with `SQLGetData`; false for NULL.
    private func fixed<T: BitwiseCopyable>(_ index: Int, _ value: inout T) throws -> Bool {
        var indicator: SQLLEN = 0
        let rc = withUnsafeMutableBytes(of: &value) {
            SQLGetData(stmt, SQLUSMALLINT(index + 1), SQLSMALLINT(kinds[index].cType(text)), $0.baseAddress, SQLLEN($0.count), &indicator)
        }
        guard succeeded(rc) else { throw error("cannot read column \(columns[index])") }
        return indicator != SQLLEN(SQL_NULL_DATA)
    }

    private func grow(to capacity: Int, keeping count: Int) {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        bigger.copyMemory(from: pieceBuffer, byteCount: count)
        pieceBuffer.deallocate()
        pieceBuffer = bigger
        pieceCapacity = capacity
    }

    /// Text of `bytes` bytes in this result's encoding. NULs, which some drivers leave in fixed-width text,
    /// are dropped.
    func decode(_ p: UnsafeRawPointer, bytes: Int) -> String {
        switch text {
        case .utf8:
            let b = UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: bytes)
            guard b.contains(0) else { return String(decoding: b, as: UTF8.self) }
            return String(decoding: b.filter { $0 != 0 }, as: UTF8.self)
        case .utf16:
            return ODBCResult.string(p.assumingMemoryBound(to: SQLWCHAR.self), bytes / MemoryLayout<SQLWCHAR>.stride)
        }
    }

    /// UTF-16 to `String`; ASCII (most inventory text) is copied byte for byte, the rest transcoded
    /// (unpaired surrogates become U+FFFD).
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

    /// `yyyy-mm-dd hh:mm:ss`, the form `SQLTimestamp` reads (fractions of a second are dropped).
    static func string(_ t: SQL_TIMESTAMP_STRUCT) -> String {
        guard (0...9999).contains(t.year), t.month <= 12, t.day <= 31, t.hour <= 24, t.minute <= 60, t.second <= 61 else {
            return "\(t.year)-\(t.month)-\(t.day) \(t.hour):\(t.minute):\(t.second)"
        }
        return String(unsafeUninitializedCapacity: 19) { b in
            func put(_ value: Int, _ at: Int, _ digits: Int) {
                var v = value
                for i in stride(from: at + digits - 1, through: at, by: -1) { b[i] = UInt8(48 + v % 10); v /= 10 }
            }
            put(Int(t.year), 0, 4); b[4] = 45; put(Int(t.month), 5, 2); b[7] = 45; put(Int(t.day), 8, 2); b[10] = 32
            put(Int(t.hour), 11, 2); b[13] = 58; put(Int(t.minute), 14, 2); b[16] = 58; put(Int(t.second), 17, 2)
            return 19
        }
    }
}

/// The row `body` sees: column names and values as text (`nil` for SQL NULL).
final class ODBCRow {
    let columns: [String]
    /// Rows handed out so far, this one included.
    var fetched = 0
    fileprivate let result: ODBCResult
    fileprivate var block: ODBCPacked?
    fileprivate var current = 0

    fileprivate init(_ result: ODBCResult) {
        self.result = result
        columns = result.columns
    }

    /// Column `index` (0-based). Columns must be read in increasing order (drivers such as FreeTDS need it
    /// when values are read with `SQLGetData`).
    func text(_ index: Int) throws -> String? {
        guard let block else { return try result.getData(index) }
        let cell = current * columns.count + index
        let length = Int(block.lengths[cell])
        if length < 0 { return nil }
        let value = UnsafeRawPointer(block.bytes + Int(block.offsets[cell]))
        switch result.kinds[index] {
        case .integer: return String(value.loadUnaligned(as: Int64.self))
        case .timestamp: return ODBCResult.string(value.loadUnaligned(as: SQL_TIMESTAMP_STRUCT.self))
        case .text: return result.decode(value, bytes: length)
        }
    }
}

/// The bound buffers: per column, `rows` values `widths[column]` bytes apart, and their indicators.
private final class ODBCBound {
    let values: [UnsafeMutableRawPointer]
    let indicators: [UnsafeMutablePointer<SQLLEN>]
    let widths: [Int]

    init(widths: [Int], rows: Int) {
        self.widths = widths
        values = widths.map { UnsafeMutableRawPointer.allocate(byteCount: $0 * rows, alignment: 8) }
        indicators = widths.map { _ in UnsafeMutablePointer<SQLLEN>.allocate(capacity: rows) }
    }

    deinit {
        values.forEach { $0.deallocate() }
        indicators.forEach { $0.deallocate() }
    }
}

/// One fetched block, packed: each cell's bytes (text in the driver's encoding, or the raw integer or
/// timestamp) one after another, with offset and length per cell (row-major; length -1 for NULL).
final class ODBCPacked {
    var count = 0
    var cut = 0
    private(set) var bytes: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0
    let offsets: UnsafeMutablePointer<Int32>
    let lengths: UnsafeMutablePointer<Int32>

    init(cells: Int) {
        capacity = 64 * cells
        bytes = .allocate(byteCount: capacity, alignment: 8)
        offsets = .allocate(capacity: cells)
        lengths = .allocate(capacity: cells)
    }

    deinit { bytes.deallocate(); offsets.deallocate(); lengths.deallocate() }

    func reset() { count = 0; cut = 0; used = 0 }

    func null(_ cell: Int) { offsets[cell] = 0; lengths[cell] = -1 }

    func append(_ cell: Int, _ from: UnsafeRawPointer, _ length: Int) {
        if used + length > capacity {
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: max(capacity * 2, used + length), alignment: 8)
            bigger.copyMemory(from: bytes, byteCount: used)
            bytes.deallocate()
            bytes = bigger
            capacity = max(capacity * 2, used + length)
        }
        (bytes + used).copyMemory(from: from, byteCount: length)
        offsets[cell] = Int32(used)
        lengths[cell] = Int32(length)
        used += length
    }
}

/// The fetching thread and the packed blocks it queues for the caller's thread, in order.
///
/// Only the fetcher calls the driver while the ring runs. When the caller stops early (its `body` threw),
/// the fetcher is told to stop and waited for, so the statement is never freed under it.
private final class ODBCRing: @unchecked Sendable {
    let result: ODBCResult
    let bound: ODBCBound
    let rowsFetched = UnsafeMutablePointer<SQLULEN>.allocate(capacity: 1)
    private let lock = NSCondition()
    /// Packed blocks to reuse, and blocks filled for the caller.
    private var spare: [ODBCPacked] = []
    private var full: [ODBCPacked] = []
    private var finished = false
    private var cancelled = false
    private var failure: ODBCError?
    private let stopped = DispatchSemaphore(value: 0)

    init?(_ result: ODBCResult) {
        self.result = result
        let widths = result.kinds.map { $0.boundWidth(result.text) }
        bound = ODBCBound(widths: widths, rows: ODBCResult.blockRows)
        let stmt = result.stmt
        guard succeeded(SQLSetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, SQLPOINTER(bitPattern: ODBCResult.blockRows), 0)),
              succeeded(SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, SQLPOINTER(rowsFetched), 0)),
              bind() else {
            _ = SQLFreeStmt(stmt, SQLUSMALLINT(SQL_UNBIND))
            _ = SQLSetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, SQLPOINTER(bitPattern: 1), 0)
            _ = SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, nil, 0)
            return nil
        }
    }

    deinit { rowsFetched.deallocate() }

    private func bind() -> Bool {
        for (i, kind) in result.kinds.enumerated() {
            guard succeeded(SQLBindCol(result.stmt, SQLUSMALLINT(i + 1), SQLSMALLINT(kind.cType(result.text)), bound.values[i],
                                       SQLLEN(bound.widths[i]), bound.indicators[i])) else { return false }
        }
        return true
    }

    func run(_ body: (ODBCRow) throws -> Void) throws {
        let thread = Thread { [self] in fetchAll(); stopped.signal() }
        thread.name = "odbc-fetch"
        thread.start()
        defer {
            lock.lock(); cancelled = true; lock.broadcast(); lock.unlock()
            stopped.wait()
        }
        let row = ODBCRow(result)
        while let block = next() {
            row.block = block
            result.addTruncated(block.cut)
            for i in 0..<block.count {
                row.current = i
                row.fetched += 1
                try body(row)
            }
            lock.lock(); spare.append(block); lock.signal(); lock.unlock()
        }
        if let failure { throw failure }
    }

    /// The next filled block, or nil once the fetcher is done (check `failure`).
    private func next() -> ODBCPacked? {
        lock.lock(); defer { lock.unlock() }
        while full.isEmpty && !finished { lock.wait() }
        return full.isEmpty ? nil : full.removeFirst()
    }

    /// The fetching thread: fetches and packs blocks until the result ends, fails or the caller stops.
    private func fetchAll() {
        var rows = 0
        while true {
            var error: ODBCError?
            var packed: ODBCPacked?
            let rc = SQLFetch(result.stmt)
            if rc != SQL_NO_DATA && !succeeded(rc) { error = result.error("fetch failed after \(rows) rows") }
            if rc != SQL_NO_DATA && error == nil {
                lock.lock()
                while full.count >= ODBCResult.queuedBlocks && !cancelled { lock.wait() }
                if cancelled { lock.unlock(); return }
                let block = spare.popLast() ?? ODBCPacked(cells: ODBCResult.blockRows * bound.widths.count)
                lock.unlock()
                block.reset()
                block.count = Int(rowsFetched.pointee)
                rows += block.count
                pack(into: block)
                packed = block
            }
            lock.lock()
            if let error { failure = error }
            if let packed { full.append(packed) } else { finished = true }
            lock.broadcast()
            lock.unlock()
            if packed == nil { return }
        }
    }

    /// Copies the bound values into `block`, row by row. A value longer than the driver declared (psqlodbc
    /// gives unbounded varchar a nominal 255) is read whole with `SQLGetData` after positioning on its row
    /// (in column order); the cut value is kept if the driver cannot.
    private func pack(into block: ODBCPacked) {
        let columns = bound.widths.count
        let unit = result.text.unit
        for r in 0..<block.count {
            var positioned = false
            for c in 0..<columns {
                let cell = r * columns + c
                let indicator = bound.indicators[c][r]
                if indicator == SQLLEN(SQL_NULL_DATA) { block.null(cell); continue }
                let width = bound.widths[c]
                let value = UnsafeRawPointer(bound.values[c] + r * width)
                guard case .text = result.kinds[c] else { block.append(cell, value, width); continue }
                if indicator >= 0 && Int(indicator) <= width - unit { block.append(cell, value, Int(indicator)); continue }
                if !positioned {
                    positioned = succeeded(SQLSetPos(result.stmt, SQLSETPOSIROW(r + 1), SQLUSMALLINT(SQL_POSITION), SQLUSMALLINT(SQL_LOCK_NO_CHANGE)))
                }
                var read: Int?? = nil
                if positioned { read = try? .some(result.readText(c)) }
                if let read {
                    if let length = read { block.append(cell, result.pieceBuffer, length) } else { block.null(cell) }
                } else {
                    block.cut += 1
                    block.append(cell, value, width - unit)
                }
            }
        }
    }
}
