import CODBC
import Foundation

/// The row `body` sees: column names and values as text (`nil` for SQL NULL).
final class ODBCRow {
    let columns: [String]
    /// Rows handed out so far, this one included.
    var fetched = 0
    let result: ODBCResult
    var block: ODBCPacked?
    var current = 0

    init(_ result: ODBCResult) {
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
