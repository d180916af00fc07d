import Foundation
import StethoscopeCore

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
        let (year, month, dayOfMonth) = AsOfDate.civilFromDays(day)
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            func put(_ value: Int, _ at: Int, _ digits: Int) {
                var v = value
                for i in stride(from: at + digits - 1, through: at, by: -1) {
                    buffer[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                    v /= 10
                }
            }
            put(year, 0, 4)
            buffer[4] = 45  // -
            put(month, 5, 2)
            buffer[7] = 45
            put(dayOfMonth, 8, 2)
            buffer[10] = 84  // T
            put(secondOfDay / 3600, 11, 2)
            buffer[13] = 58  // :
            put(secondOfDay / 60 % 60, 14, 2)
            buffer[16] = 58
            put(secondOfDay % 60, 17, 2)
            buffer[19] = 90  // Z
            return try body(UnsafeBufferPointer(buffer))
        }
    }
}
