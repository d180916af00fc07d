import Foundation

/// ISO 8601 UTC times as the store writes them (`2026-12-01T06:00:00Z`, whole seconds, truncated).
///
/// Hand-written because a night writes millions of times: no formatter, no allocation when binding.
public enum ISOTime {
    public static func string(_ date: Date) -> String {
        withBytes(date) { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole unix seconds that `string(date)` spells (same clamping and truncation): the compact store keeps
    /// times as these, and its views give back exactly `string(date)` (`strftime('%Y-%m-%dT%H:%M:%SZ', s, 'unixepoch')`).
    public static func seconds(_ date: Date) -> Int64 {
        Int64(min(max(date.timeIntervalSince1970, -62_135_596_800), 253_402_300_799).rounded(.down))
    }

    /// Calls `body` with the 20 UTF-8 bytes of `date` in a stack buffer. Years are clamped to 0001...9999.
    public static func withBytes<R>(_ date: Date, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let clamped: Double = min(max(date.timeIntervalSince1970, -62_135_596_800), 253_402_300_799)
        let seconds = Int(clamped.rounded(.down))
        let day: Int = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay: Int = seconds - day * 86_400
        let (year, month, dayOfMonth) = civil(fromDays: day)
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            func put(_ value: Int, _ at: Int, _ digits: Int) {
                var v = value
                for i in stride(from: at + digits - 1, through: at, by: -1) {
                    buffer[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                    v /= 10
                }
            }
            put(year, 0, 4); buffer[4] = 45          // -
            put(month, 5, 2); buffer[7] = 45
            put(dayOfMonth, 8, 2); buffer[10] = 84   // T
            put(secondOfDay / 3600, 11, 2); buffer[13] = 58   // :
            put(secondOfDay / 60 % 60, 14, 2); buffer[16] = 58
            put(secondOfDay % 60, 17, 2); buffer[19] = 90     // Z
            return try body(UnsafeBufferPointer(buffer))
        }
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z: Int = days + 719_468
        let era: Int = (z >= 0 ? z : z - 146_096) / 146_097
        let doe: Int = z - era * 146_097
        let yoe: Int = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy: Int = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp: Int = (5 * doy + 2) / 153
        let d: Int = doy - (153 * mp + 2) / 5 + 1
        let m: Int = mp < 10 ? mp + 3 : mp - 9
        let y: Int = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d)
    }
}
