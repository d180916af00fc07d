import Foundation
import StethoscopeCore

/// The one HTTP client of a run, shared by every source.
///
/// `send` queues an attempt on the curl thread and retries connection errors, 429 and 5xx with jittered
/// exponential backoff (honouring `Retry-After`); every attempt holds a permit of the request's limiter, so
/// a source never has more requests in flight than it is allowed, while waits between retries hold none.
public final class HTTPClient: Sendable {
    private let engine = CurlEngine()
    private let limits = LimiterTable()

    public init() {}

    deinit { engine.stop() }

    /// The client sources get when nobody passes one: one per process, as curl's connection cache wants.
    public static let shared = HTTPClient()

    /// Caps requests in flight for `key` (a source's name) at `maxConcurrent`. Unregistered keys get 4.
    public func setLimit(_ key: String, maxConcurrent: Int) { limits.set(key, maxConcurrent) }

    /// Sends `request`, retrying as its policy allows. Returns the final response whatever its status
    /// (callers decide what a 404 means); throws `HTTPError` when no response came at all.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let policy = request.retry
        var waited: Double = 0
        var attempt = 0
        while true {
            attempt += 1
            let result: Result<HTTPResponse, HTTPError> = try await once(request)
            var retryAfter: Double? = nil
            let retryable: Bool
            switch result {
            case .success(let response):
                request.figures?.request(bytes: response.wireBytes)
                retryable = RetryPolicy.isRetryable(status: response.status)
                if retryable { retryAfter = RetryPolicy.parseRetryAfter(response.headers["retry-after"]) }
            case .failure(let error):
                request.figures?.request()
                retryable = error.kind == .connect || error.kind == .timeout
            }
            if retryable && attempt < policy.maxAttempts {
                let delay = policy.delay(afterAttempt: attempt, retryAfter: retryAfter)
                if waited + delay <= policy.maxTotalWait {
                    request.figures?.retry()
                    try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                    waited += delay
                    continue
                }
            }
            switch result {
            case .success(var response):
                response.attempts = attempt
                if !response.isSuccess { request.figures?.error("http_\(response.status)") }
                return response
            case .failure(var error):
                error.attempts = attempt
                request.figures?.error(error.figureKey)
                throw error
            }
        }
    }

    /// One attempt under the request's limiter; only cancellation is thrown.
    private func once(_ request: HTTPRequest) async throws -> Result<HTTPResponse, HTTPError> {
        let semaphore = request.limiter.map { limits.get($0) }
        if let semaphore { await semaphore.wait() }
        let result: Result<HTTPResponse, any Error>
        do { result = .success(try await engine.perform(request)) } catch { result = .failure(error) }
        if let semaphore { await semaphore.signal() }
        switch result {
        case .success(let response): return .success(response)
        case .failure(let error as HTTPError): return .failure(error)
        case .failure(let error): throw error
        }
    }
}

/// Limiter key → semaphore.
private final class LimiterTable: @unchecked Sendable {
    private let lock = NSLock()
    private var table: [String: AsyncSemaphore] = [:]
    func set(_ key: String, _ n: Int) { lock.withLock { table[key] = AsyncSemaphore(n) } }
    func get(_ key: String) -> AsyncSemaphore {
        lock.withLock {
            if let s = table[key] { return s }
            let s = AsyncSemaphore(4)
            table[key] = s
            return s
        }
    }
}
