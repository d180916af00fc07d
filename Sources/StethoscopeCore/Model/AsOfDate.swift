import Foundation

/// As-of dates (`YYYY-MM-DD`): a run's night in the configured time zone.
public enum AsOfDate {
    public static func isValid(_ text: String) -> Bool { parse(text) != nil }

    /// The day's number since 1970-01-01 (days are calendar days; no time zone involved).
    public static func parse(_ text: String) -> Int? {
        let u = Array(text.utf8)
        guard u.count == 10, u[4] == 45, u[7] == 45 else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                guard u[i] >= 48 && u[i] <= 57 else { return nil }
                v = v * 10 + Int(u[i] - 48)
            }
            return v
        }
        guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10), (1...12).contains(m), d >= 1 else { return nil }
        let leap: Bool = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let february: Int = leap ? 29 : 28
        let days: [Int] = [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d <= days[m - 1] else { return nil }
        return daysFromCivil(y, m, d)
    }

    /// `YYYY-MM-DD` for a day number.
    public static func format(_ day: Int) -> String {
        let (y, m, d) = civilFromDays(day)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    public static func adding(_ days: Int, to text: String) -> String? { parse(text).map { format($0 + days) } }

    /// The as-of date of an instant in a time zone.
    public static func of(_ date: Date, in tz: TimeZone) -> String {
        let local = Int((date.timeIntervalSince1970 + Double(tz.secondsFromGMT(for: date))).rounded(.down))
        return format(Int((Double(local) / 86400).rounded(.down)))
    }

    /// The last instant of the as-of day in a time zone (what "now" means when back-filling a night).
    public static func endOfDay(_ text: String, in tz: TimeZone) -> Date? {
        guard let day = parse(text) else { return nil }
        let utcEnd = Double(day + 1) * 86400 - 1
        return Date(timeIntervalSince1970: utcEnd - Double(tz.secondsFromGMT(for: Date(timeIntervalSince1970: utcEnd))))
    }

    // Howard Hinnant's civil-date algorithms (proleptic Gregorian): the project's one copy. Inlinable, as the
    // timestamp parsers of the sources and the store call them per value.

    /// Days since 1970-01-01 of year `y0`, month `m` (1–12), day `d`.
    @inlinable public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let shifted: Int = m > 2 ? m - 3 : m + 9
        let doy: Int = (153 * shifted + 2) / 5 + d - 1
        let doe: Int = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
    /// Year, month (1–12) and day of the day `z0` days after 1970-01-01.
    @inlinable public static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe: Int = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy: Int = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let year: Int = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (year, m, d)
    }
}
