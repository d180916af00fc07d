import Foundation
import StethoscopeCore

/// ISO-8601 instants as vendors send them (`2026-03-01T22:14:05Z`, `...05.345Z`, `+0000`, `-08:00`),
/// parsed by hand: a formatter per field would cost more than decoding the page it came in.
enum ISODate {
    static func parse(_ text: String?) -> Date? {
        guard var text else { return nil }
        return text.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
        guard b.count >= 19 else { return nil }
        func digits(_ at: Int, _ n: Int) -> Int? {
            var v = 0
            for i in at..<(at + n) {
                let c = b[i]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45, let day = digits(8, 2),
            b[10] == 84 || b[10] == 32, let hour = digits(11, 2), b[13] == 58, let minute = digits(14, 2),
            b[16] == 58, let second = digits(17, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var i = 19
        var fraction: Double = 0
        if i < b.count && b[i] == 46 {
            i += 1
            var scale: Double = 0.1
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        if i < b.count {
            switch b[i] {
            case 90: i += 1  // Z
            case 43, 45:  // + or -
                let sign = b[i] == 45 ? -1 : 1
                guard i + 3 <= b.count, let h = digits(i + 1, 2) else { return nil }
                var j = i + 3
                if j < b.count && b[j] == 58 { j += 1 }
                let m = j + 2 <= b.count ? (digits(j, 2) ?? 0) : 0
                offset = sign * (h * 3600 + m * 60)
            default: return nil
            }
        }
        let days = AsOfDate.daysFromCivil(year, month, day)
        let seconds: Int = days * 86400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
