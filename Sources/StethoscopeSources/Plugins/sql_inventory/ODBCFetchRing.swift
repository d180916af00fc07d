import CODBC
import Foundation

/// The bound buffers: per column, `rows` values `widths[column]` bytes apart, and their indicators.
final class ODBCBound {
    let values: [UnsafeMutableRawPointer]
    let indicators: [UnsafeMutablePointer<SQLLEN>]
    let widths: [Int]

    init(widths: [Int], rows: Int) {
        self.widths = widths
        values = widths.map { UnsafeMutableRawPointer.allocate(byteCount: $0 * rows, alignment: 8) }
        indicators = widths.map { _ in UnsafeMutablePointer<SQLLEN>.allocate(capacity: rows) }
    }

    deinit {
        for buffer in values { buffer.deallocate() }
        for buffer in indicators { buffer.deallocate() }
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

    deinit {
        bytes.deallocate()
        offsets.deallocate()
        lengths.deallocate()
    }

    func reset() {
        count = 0
        cut = 0
        used = 0
    }

    func null(_ cell: Int) {
        offsets[cell] = 0
        lengths[cell] = -1
    }

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
final class ODBCRing: @unchecked Sendable {
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
            bind()
        else {
            _ = SQLFreeStmt(stmt, SQLUSMALLINT(SQL_UNBIND))
            _ = SQLSetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, SQLPOINTER(bitPattern: 1), 0)
            _ = SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, nil, 0)
            return nil
        }
    }

    deinit { rowsFetched.deallocate() }

    private func bind() -> Bool {
        for (i, kind) in result.kinds.enumerated() {
            guard
                succeeded(
                    SQLBindCol(
                        result.stmt, SQLUSMALLINT(i + 1), SQLSMALLINT(kind.cType(result.text)), bound.values[i],
                        SQLLEN(bound.widths[i]), bound.indicators[i]))
            else { return false }
        }
        return true
    }

    func run(_ body: (ODBCRow) throws -> Void) throws {
        let thread = Thread { [self] in
            fetchAll()
            stopped.signal()
        }
        thread.name = "odbc-fetch"
        thread.start()
        defer {
            lock.lock()
            cancelled = true
            lock.broadcast()
            lock.unlock()
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
            lock.lock()
            spare.append(block)
            lock.signal()
            lock.unlock()
        }
        if let failure { throw failure }
    }

    /// The next filled block, or nil once the fetcher is done (check `failure`).
    private func next() -> ODBCPacked? {
        lock.lock()
        defer { lock.unlock() }
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
                if cancelled {
                    lock.unlock()
                    return
                }
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
                if indicator == SQLLEN(SQL_NULL_DATA) {
                    block.null(cell)
                    continue
                }
                let width = bound.widths[c]
                let value = UnsafeRawPointer(bound.values[c] + r * width)
                guard case .text = result.kinds[c] else {
                    block.append(cell, value, width)
                    continue
                }
                if indicator >= 0 && Int(indicator) <= width - unit {
                    block.append(cell, value, Int(indicator))
                    continue
                }
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
