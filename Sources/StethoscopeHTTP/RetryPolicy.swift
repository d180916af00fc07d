import Foundation
import StethoscopeCore

/// When and how long to wait before trying again: jittered exponential backoff, `Retry-After` honoured,
/// capped in attempts and in total waiting so a dead server cannot hold the night hostage.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var baseDelay: Double
    public var maxDelay: Double
    public var maxTotalWait: Double

    public init(maxAttempts: Int = 4, baseDelay: Double = 0.5, maxDelay: Double = 30, maxTotalWait: Double = 120) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxTotalWait = maxTotalWait
    }

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Jamf Pro has no rate limit of its own; its guidance (and Netflix Stethoscope) is a few retries of 5xx and
    /// timeouts with exponential backoff: 3 retries from 0.5 s, at most 30 s apart, 2 minutes of waiting in all.
    public static let jamf = RetryPolicy(maxAttempts: 4, baseDelay: 0.5, maxDelay: 30, maxTotalWait: 120)
    /// Fleet: the same modest budget (a self-hosted server that is down stays down).
    public static let fleet = RetryPolicy(maxAttempts: 4, baseDelay: 0.5, maxDelay: 30, maxTotalWait: 120)
    /// Google's guidance for 403 quota / 429 / 5xx: truncated exponential backoff 1, 2, 4 … seconds up to a
    /// maximum backoff of 32 s (they say 32 or 64), for 6 retries.
    public static let google = RetryPolicy(maxAttempts: 7, baseDelay: 1, maxDelay: 32, maxTotalWait: 300)
    /// Microsoft Graph: wait what `Retry-After` says on 429/503 (honoured as given, within the total budget);
    /// without it, exponential backoff from 1 s up to 60 s.
    public static let graph = RetryPolicy(maxAttempts: 6, baseDelay: 1, maxDelay: 60, maxTotalWait: 300)

    /// 429 and 5xx are worth another try; other statuses are the server's final word.
    public static func isRetryable(status: Int) -> Bool { status == 429 || (500..<600).contains(status) }

    /// The wait before attempt `attempt + 1`: `Retry-After` when given, else half-to-full jitter on
    /// `baseDelay * 2^(attempt-1)` capped at `maxDelay`.
    public func delay(afterAttempt attempt: Int, retryAfter: Double?) -> Double {
        if let retryAfter { return max(0, retryAfter) }
        let exponent: Double = Double(min(attempt - 1, 30))
        let ceiling: Double = min(maxDelay, baseDelay * pow(2, exponent))
        return ceiling * Double.random(in: 0.5...1.0)
    }

    /// Before attempt `attempt + 1`: when the policy allows one more attempt and its delay still fits `maxTotalWait`
    /// (`waited` is the time waited so far for this request), counts a retry, sleeps the delay, adds it to `waited`
    /// and returns true; otherwise returns false at once.
    public func backOff(after attempt: Int, retryAfter: Double? = nil, waited: inout Double, figures: FigureCounter?) async throws -> Bool {
        guard attempt < maxAttempts else { return false }
        let delay = delay(afterAttempt: attempt, retryAfter: retryAfter)
        guard waited + delay <= maxTotalWait else { return false }
        figures?.retry()
        try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        waited += delay
        return true
    }

    /// Parses `Retry-After`: delta seconds or an HTTP date (relative to `now`).
    public static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Double? {
        guard let text = value?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return max(0, date.timeIntervalSince(now)) }
        }
        return nil
    }
}
