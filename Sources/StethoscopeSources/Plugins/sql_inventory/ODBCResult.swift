import CODBC
import Foundation

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
    private(set) var pieceBuffer = UnsafeMutableRawPointer.allocate(byteCount: 1024, alignment: 8)
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
            var length: SQLSMALLINT = 0
            var type: SQLSMALLINT = 0
            var digits: SQLSMALLINT = 0
            var nullable: SQLSMALLINT = 0
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

    func addTruncated(_ n: Int) { truncated += n }

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
    func readText(_ index: Int) throws -> Int? {
        let unit = text.unit
        var filled = 0
        while true {
            var indicator: SQLLEN = 0
            let room = pieceCapacity - filled
            let rc = SQLGetData(stmt, SQLUSMALLINT(index + 1), SQLSMALLINT(text.cType), pieceBuffer + filled, SQLLEN(room), &indicator)
            if rc == SQL_NO_DATA { break }  // a later piece after the whole value was read
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
        var ascii = true
        var nul = false
        for i in 0..<count {
            if units[i] >= 0x80 {
                ascii = false
                break
            }
            if units[i] == 0 { nul = true }
        }
        guard ascii else {
            let s = String(decoding: UnsafeBufferPointer(start: units, count: count), as: UTF16.self)
            return s.utf8.contains(0) ? s.replacingOccurrences(of: "\0", with: "") : s
        }
        return String(unsafeUninitializedCapacity: count) { bytes in
            var n = 0
            for i in 0..<count where !nul || units[i] != 0 {
                bytes[n] = UInt8(truncatingIfNeeded: units[i])
                n += 1
            }
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
                for i in stride(from: at + digits - 1, through: at, by: -1) {
                    b[i] = UInt8(48 + v % 10)
                    v /= 10
                }
            }
            put(Int(t.year), 0, 4)
            b[4] = 45
            put(Int(t.month), 5, 2)
            b[7] = 45
            put(Int(t.day), 8, 2)
            b[10] = 32
            put(Int(t.hour), 11, 2)
            b[13] = 58
            put(Int(t.minute), 14, 2)
            b[16] = 58
            put(Int(t.second), 17, 2)
            return 19
        }
    }
}
