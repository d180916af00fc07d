import Foundation
import StethoscopeStore

extension Database {
    /// Every row of a query as text (NULL as nil), for comparisons in tests.
    public func rows(_ sql: String, _ parameters: [String] = []) throws -> [[String?]] {
        let query = try prepare(sql)
        for (i, p) in parameters.enumerated() { query.bind(i + 1, p) }
        var rows: [[String?]] = []
        while try query.step() { rows.append((0..<query.columnCount).map { query.string($0) }) }
        return rows
    }
    /// The first column of the first row.
    public func value(_ sql: String) throws -> String? { try rows(sql).first?.first ?? nil }
    /// The integer a query answers (a COUNT), -1 for none.
    public func count(_ sql: String) throws -> Int { try int(sql) ?? -1 }
}
