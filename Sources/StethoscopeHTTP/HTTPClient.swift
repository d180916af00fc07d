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
    ///
    /// With an `authorizer`, credentials are fetched when each attempt is sent, and a 401 drops the rejected
    /// header and re-sends once with a fresh one (concurrent 401s of one token share its renewal, see
    /// `TokenCache`). Every attempt the server saw is a request in `figures`; every re-send (after a retryable
    /// answer, a 401, or one libcurl made by itself on a dead reused connection) is a retry.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let policy = request.retry
        var waited: Double = 0
        var attempt = 0
        var sends = 0
        var reauthed = false
        while true {
            attempt += 1
            let (result, authorization) = try await once(request)
            var retryAfter: Double? = nil
            let retryable: Bool
            switch result {
            case .success(let response):
                sends += 1 + response.resends
                request.figures?.request(bytes: response.wireBytes)
                countResends(response.resends, request.figures)
                if response.status == 401, let authorizer = request.authorizer, let authorization, !reauthed {
                    reauthed = true
                    request.figures?.error("http_401")
                    await authorizer.invalidate(authorization)
                    request.figures?.retry()
                    attempt -= 1  // a re-authentication is not a transient failure: it spends no retry budget
                    continue
                }
                retryable = RetryPolicy.isRetryable(status: response.status)
                if retryable { retryAfter = RetryPolicy.parseRetryAfter(response.headers["retry-after"]) }
            case .failure(let error):
                sends += 1 + error.resends
                request.figures?.request()
                countResends(error.resends, request.figures)
                retryable = error.kind == .connect || error.kind == .timeout
            }
            if retryable, try await policy.backOff(after: attempt, retryAfter: retryAfter, waited: &waited, figures: request.figures) {
                continue
            }
            switch result {
            case .success(var response):
                response.attempts = sends
                response.authorization = authorization
                if !response.isSuccess { request.figures?.error("http_\(response.status)") }
                return response
            case .failure(var error):
                error.attempts = sends
                request.figures?.error(error.figureKey)
                throw error
            }
        }
    }

    /// libcurl re-sends a request by itself when a reused connection turns out dead; the server saw both.
    private func countResends(_ n: Int, _ figures: FigureCounter?) {
        for _ in 0..<n {
            figures?.request()
            figures?.retry()
        }
    }

    /// One attempt under the request's limiter, with credentials attached after the permit is held; only
    /// cancellation and authentication failures are thrown.
    private func once(_ request: HTTPRequest) async throws -> (Result<HTTPResponse, HTTPError>, Secret?) {
        let semaphore = request.limiter.map { limits.get($0) }
        if let semaphore { await semaphore.wait() }
        var sent = request
        var authorization: Secret? = nil
        if let authorizer = request.authorizer {
            do {
                let header = try await authorizer.header()
                authorization = header
                sent.headers["Authorization"] = header.reveal()
            } catch {
                if let semaphore { await semaphore.signal() }
                throw error
            }
        }
        let result: Result<HTTPResponse, any Error>
        do { result = .success(try await engine.perform(sent)) } catch { result = .failure(error) }
        if let semaphore { await semaphore.signal() }
        switch result {
        case .success(let response): return (.success(response), authorization)
        case .failure(let error as HTTPError): return (.failure(error), authorization)
        case .failure(let error): throw error
        }
    }
}

/// Limiter key → semaphore.
private final class LimiterTable: Sendable {
    private let table = Locked<[String: AsyncSemaphore]>([:])
    func set(_ key: String, _ n: Int) { table.withLock { $0[key] = AsyncSemaphore(n) } }
    func get(_ key: String) -> AsyncSemaphore {
        table.withLock { table in
            if let s = table[key] { return s }
            let s = AsyncSemaphore(4)
            table[key] = s
            return s
        }
    }
}
