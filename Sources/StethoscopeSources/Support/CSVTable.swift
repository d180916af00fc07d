import Foundation

/// A CSV file (RFC 4180: quoted fields, doubled quotes, CRLF or LF) read into a header and rows, for HR and
/// asset exports. Columns are found by header name, case-insensitively and ignoring surrounding spaces,
/// because exports from different tools disagree on both.
struct CSVTable: Sendable {
    var header: [String]
    var rows: [[String]]

    static func read(_ url: URL) throws -> CSVTable {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CSVError(message: "cannot read \(url.path)")
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }  // Excel's byte-order mark
        return try parse(text)
    }

    static func parse(_ text: String) throws -> CSVTable {
        var records: [[String]] = []
        var field: [UInt8] = []
        var record: [String] = []
        var quoted = false
        var afterQuote = false
        var line = 1
        let bytes = Array(text.utf8)
        var i = 0
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            afterQuote = false
        }
        while i < bytes.count {
            let c = bytes[i]
            if quoted {
                if c == 34 {
                    if i + 1 < bytes.count && bytes[i + 1] == 34 {
                        field.append(34)
                        i += 1
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    if c == 10 { line += 1 }
                    field.append(c)
                }
            } else {
                switch c {
                case 44: endField()
                case 10, 13:
                    if c == 13 && i + 1 < bytes.count && bytes[i + 1] == 10 { i += 1 }
                    endField()
                    if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
                    record.removeAll(keepingCapacity: true)
                    line += 1
                case 34 where field.isEmpty && !afterQuote: quoted = true
                default:
                    if afterQuote { throw CSVError(message: "line \(line): text after a closing quote") }
                    field.append(c)
                }
            }
            i += 1
        }
        if quoted { throw CSVError(message: "line \(line): unterminated quoted field") }
        if !field.isEmpty || !record.isEmpty || afterQuote {
            endField()
            records.append(record)
        }
        guard let header = records.first else { return CSVTable(header: [], rows: []) }
        return CSVTable(header: header.map { $0.trimmingCharacters(in: .whitespaces) }, rows: Array(records.dropFirst()))
    }

    /// The index of the column named `name`, or `nil`.
    func column(_ name: String) -> Int? {
        let want = name.trimmingCharacters(in: .whitespaces).lowercased()
        return header.firstIndex { $0.lowercased() == want }
    }
}

struct CSVError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension Array where Element == String {
    /// The trimmed value at `index`, `nil` when absent or blank.
    func value(_ index: Int?) -> String? {
        guard let index, index < count else { return nil }
        let v = self[index].trimmingCharacters(in: .whitespaces)
        return v.isEmpty ? nil : v
    }
}
