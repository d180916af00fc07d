import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// The Directory API as one source talks to it: authenticated GETs where Google's quota answers
/// (403 `userRateLimitExceeded` / `quotaExceeded`, which the shared client treats as final) are retried with
/// the source's backoff like 429s, and token-paged lists walked page by page, each decoded as it arrives.
struct GoogleAPI: Sendable {
    let http: SourceHTTP
    static let quotaReasons: Set<String> = ["userRateLimitExceeded", "quotaExceeded", "rateLimitExceeded"]

    private struct ErrorBody: Decodable {
        struct Inner: Decodable {
            var errors: [Reason]?
            var status: String?
        }
        struct Reason: Decodable { var reason: String? }
        var error: Inner?
    }

    /// The `error.errors[].reason` values of a Google JSON error body (empty when it is not one).
    static func reasons(_ body: Data) -> [String] {
        guard let e = try? JSONDecoder().decode(ErrorBody.self, from: body) else { return [] }
        return e.error?.errors?.compactMap(\.reason) ?? []
    }

    /// An authenticated GET. Like `SourceHTTP.get` (credentials attached when sent, a 401 re-authenticates
    /// once; the shared client retries 429/5xx), plus: a 403 whose reasons are quota reasons waits and tries
    /// again under the source's policy. Errors quote only the status and Google's reason codes, never the body.
    func get(_ path: String, label: String, figures: FigureCounter?) async throws -> HTTPResponse {
        let policy = http.options.retry
        var attempt = 0
        var waited = 0.0
        var sends = 0
        while true {
            attempt += 1
            let request = http.authenticated("GET", path, label: label, figures: figures)
            let response = try await http.client.send(request)
            sends += response.attempts
            if response.isSuccess { return response }
            let reasons = Self.reasons(response.body)
            if response.status == 403, reasons.contains(where: Self.quotaReasons.contains),
                try await policy.backOff(after: attempt, waited: &waited, figures: figures)
            {
                continue
            }
            let why = reasons.isEmpty ? "" : " (\(reasons.prefix(3).joined(separator: ", ")))"
            throw HTTPError(
                .status, source: http.source, what: request.what, status: response.status,
                detail: "HTTP \(response.status)\(why)", attempts: sends)
        }
    }

    /// Walks a token-paged list: `handle` gets each decoded page; stops when `nextPageToken` is absent.
    /// The next page is requested as soon as its token is found in the raw bytes, so decoding a page overlaps
    /// the next page's round trip and the chain costs pages x latency; the decoded token must agree (else the
    /// early request is dropped and the decoded token used). A token seen twice is an error (a looping server
    /// would otherwise never end the night).
    func pages<Page: Decodable & TokenPaged>(
        _ path: String, what: String, _ type: Page.Type, figures: FigureCounter,
        handle: (Page) throws -> Int
    ) async throws {
        let api = self
        func fetch(_ token: String?, _ page: Int) -> Task<HTTPResponse, any Error> {
            let url = token.map { path + "&pageToken=" + Self.queryEscape($0) } ?? path
            return Task { try await api.get(url, label: "\(what) page \(page)", figures: figures) }
        }
        var seen: Set<String> = []
        var page = 0
        var pending: (token: String?, task: Task<HTTPResponse, any Error>)? = (nil, fetch(nil, 0))
        defer { pending?.task.cancel() }
        while let current = pending {
            pending = nil
            let response = try await current.task.value
            let early = JSONScan.topLevelString("nextPageToken", in: response.body)
            if let early { pending = (early, fetch(early, page + 1)) }
            // A 200 that does not parse is fetched again (the early request, if any, is reconciled below).
            var received: HTTPResponse? = response
            let decoded: Page = try await http.retryingDecode(what: "\(what) page \(page)", figures: figures) {
                if let r = received {
                    received = nil
                    return r
                }
                return try await fetch(current.token, page).value
            }
            figures.page(records: try handle(decoded))
            if let token = decoded.nextPageToken {
                guard seen.insert(token).inserted else {
                    throw HTTPError(.decode, source: http.source, what: "\(what) page \(page)", detail: "page token repeated")
                }
                if pending?.token != token {
                    pending?.task.cancel()
                    pending = (token, fetch(token, page + 1))
                }
            } else if let p = pending {
                p.task.cancel()
                pending = nil
            }
            page += 1
        }
    }

    static func queryEscape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

protocol TokenPaged { var nextPageToken: String? { get } }
