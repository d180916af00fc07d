import Foundation

/// Finds a top-level string member in raw JSON bytes without decoding the document, so a pager can start the
/// next request before the page is decoded. Only a member of the outermost object counts (depth is tracked and
/// strings are skipped); a value with escapes gives `nil` (the caller then waits for the full decode).
enum JSONScan {
    static func topLevelString(_ key: String, in data: Data) -> String? {
        let want = Array(key.utf8)
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            let b = raw.bindMemory(to: UInt8.self)
            var i = 0
            var depth = 0
            let n = b.count
            while i < n {
                let c = b[i]
                switch c {
                case 123, 91:
                    depth += 1
                    i += 1  // { [
                case 125, 93:
                    depth -= 1
                    i += 1  // } ]
                case 34:  // a string: a key when at depth 1 and followed by ':'
                    let start = i + 1
                    var j = start
                    var escaped = false
                    while j < n, b[j] != 34 {
                        if b[j] == 92 {
                            escaped = true
                            j += 1
                        }
                        j += 1
                    }
                    guard j < n else { return nil }
                    var k = j + 1
                    while k < n, b[k] == 32 || b[k] == 10 || b[k] == 13 || b[k] == 9 { k += 1 }
                    if depth == 1, !escaped, k < n, b[k] == 58, j - start == want.count,
                        (0..<want.count).allSatisfy({ b[start + $0] == want[$0] })
                    {
                        k += 1
                        while k < n, b[k] == 32 || b[k] == 10 || b[k] == 13 || b[k] == 9 { k += 1 }
                        guard k < n, b[k] == 34 else { return nil }
                        var e = k + 1
                        while e < n, b[e] != 34 {
                            if b[e] == 92 { return nil }
                            e += 1
                        }
                        guard e < n else { return nil }
                        return String(decoding: UnsafeBufferPointer(rebasing: b[(k + 1)..<e]), as: UTF8.self)
                    }
                    i = j + 1
                default: i += 1
                }
            }
            return nil
        }
    }
}
