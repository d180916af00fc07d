import Foundation
import StethoscopeCore

/// How one source talks HTTP: its base URL, auth, limits and policies, read from its config section.
public struct HTTPOptions: Sendable {
    public var timeouts = HTTPTimeouts()
    public var tls = TLSOptions()
    public var maxConnections = 4
    public var maxResponseBytes = 256 << 20
    public var retry = RetryPolicy()
    public init() {}

    /// Reads the common keys: `ca_file`, `client_cert`, `client_key`, `connect_timeout_s`, `timeout_s`,
    /// `max_connections`, `max_response_mb`, and the retry budget `retries`, `retry_base_s`, `retry_max_delay_s`,
    /// `retry_max_wait_s`, whose defaults are the vendor's guidance (`defaultRetry`).
    public static func read(_ s: ConfigSection, defaultConnections: Int = 4, defaultRetry: RetryPolicy = RetryPolicy()) throws -> HTTPOptions {
        var o = HTTPOptions()
        o.tls = TLSOptions(
            caFile: try s.path("ca_file")?.path, clientCert: try s.path("client_cert")?.path,
            clientKey: try s.path("client_key")?.path)
        o.timeouts = HTTPTimeouts(
            connect: try s.double("connect_timeout_s", default: 10, min: 0.05, max: 3600),
            total: try s.double("timeout_s", default: 120, min: 0.05, max: 86_400))
        o.maxConnections = try s.int("max_connections", default: defaultConnections, min: 1, max: 64)
        o.maxResponseBytes = try s.int("max_response_mb", default: 256, min: 1, max: 65_536) << 20
        o.retry = RetryPolicy(
            maxAttempts: try s.int("retries", default: defaultRetry.maxAttempts - 1, min: 0, max: 20) + 1,
            baseDelay: try s.double("retry_base_s", default: defaultRetry.baseDelay, min: 0, max: 600),
            maxDelay: try s.double("retry_max_delay_s", default: defaultRetry.maxDelay, min: 0, max: 3600),
            maxTotalWait: try s.double("retry_max_wait_s", default: defaultRetry.maxTotalWait, min: 0, max: 86_400))
        return o
    }
}

/// A source's view of the shared client: requests relative to its base URL, authenticated, limited and
/// counted; 2xx or an `HTTPError` that names the source and the request.
public struct SourceHTTP: Sendable {
    public let client: HTTPClient
    public let source: String
    public let baseURL: String
    public let auth: (any HTTPAuth)?
    public let options: HTTPOptions

    public init(client: HTTPClient, source: String, baseURL: String, auth: (any HTTPAuth)?, options: HTTPOptions) {
        self.client = client
        self.source = source
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.auth = auth
        self.options = options
        client.setLimit(source, maxConcurrent: options.maxConnections)
    }

    public func url(_ path: String) -> String {
        path.hasPrefix("http://") || path.hasPrefix("https://") ? path : baseURL + (path.hasPrefix("/") ? path : "/" + path)
    }

    private func request(
        _ method: String, _ path: String, headers: [String: String], body: Data?, label: String?,
        figures: FigureCounter?, isAuth: Bool
    ) -> HTTPRequest {
        HTTPRequest(
            method: method, url: url(path), headers: headers, body: body, source: source, label: label,
            limiter: source, timeouts: options.timeouts, tls: options.tls,
            maxResponseBytes: options.maxResponseBytes, retry: options.retry, figures: figures, isAuth: isAuth)
    }

    /// A request of this source whose credentials are attached when it is sent (see `HTTPRequest.authorizer`).
    public func authenticated(
        _ method: String = "GET", _ path: String, headers: [String: String] = [:], body: Data? = nil,
        label: String? = nil, figures: FigureCounter?
    ) -> HTTPRequest {
        var h = headers
        if h["Accept"] == nil { h["Accept"] = "application/json" }
        var r = request(method, path, headers: h, body: body, label: label, figures: figures, isAuth: false)
        if let auth {
            let http = self
            r.authorizer = RequestAuthorizer(
                header: { try await auth.authorization(http, figures: figures) },
                invalidate: { await auth.invalidate($0) })
        }
        return r
    }

    /// An authenticated request; a 401 drops the token and tries once more with a fresh one.
    public func send(
        _ method: String = "GET", _ path: String, headers: [String: String] = [:], body: Data? = nil,
        label: String? = nil, figures: FigureCounter?
    ) async throws -> HTTPResponse {
        let r = authenticated(method, path, headers: headers, body: body, label: label, figures: figures)
        let response = try await client.send(r)
        guard response.isSuccess else {
            let sent = response.authorization.map { a in [a.reveal()] + a.reveal().split(separator: " ").dropFirst().map(String.init) } ?? []
            throw HTTPError.status(response, r, secrets: sent)
        }
        return response
    }

    /// `GET` expecting 2xx.
    public func get(_ path: String, label: String? = nil, figures: FigureCounter?) async throws -> HTTPResponse {
        try await send("GET", path, label: label, figures: figures)
    }

    /// `GET` expecting 2xx and a body that decodes as `T`. A 2xx whose body does not decode (a proxy's error
    /// page, a body cut short behind a correct `Content-Length`) is fetched again like a truncated transfer,
    /// within the source's retry budget; only then does it fail, naming `what`.
    public func getJSON<T: Decodable>(
        _ type: T.Type, _ path: String, label: String? = nil, what: String,
        figures: FigureCounter?
    ) async throws -> T {
        try await retryingDecode(what: what, figures: figures) { try await get(path, label: label, figures: figures) }
    }

    /// Runs `fetch` and decodes its body as `T`, fetching again while the body does not decode and the retry
    /// budget allows.
    public func retryingDecode<T: Decodable>(
        what: String, figures: FigureCounter?,
        _ fetch: () async throws -> HTTPResponse
    ) async throws -> T {
        let policy = options.retry
        var attempt = 0
        var waited = 0.0
        while true {
            attempt += 1
            let response = try await fetch()
            do { return try JSONDecoder().decode(T.self, from: response.body) } catch {
                if try await policy.backOff(after: attempt, waited: &waited, figures: figures) { continue }
                figures?.error(HTTPError.Kind.decode.rawValue)
                throw HTTPError(
                    .decode, source: source, what: what, detail: "malformed JSON (\(response.body.count) bytes): \(Self.describe(error))",
                    attempts: attempt)
            }
        }
    }

    /// A token request (used by `HTTPAuth` implementations): no auth header of ours, outside the source's
    /// limiter (requests waiting for this token hold its permits), errors quote only the vendor's error code and
    /// text (OAuth `error`/`error_description`, Jamf `errors[].code`), with the credentials sent blanked.
    public func authRequest(path: String, headers: [String: String], body: Data, figures: FigureCounter?) async throws -> HTTPResponse {
        var h = headers
        h["Accept"] = "application/json"
        var r = request("POST", path, headers: h, body: body, label: "authentication", figures: figures, isAuth: true)
        r.limiter = nil
        let response = try await client.send(r)
        guard response.isSuccess else {
            var e = HTTPError.status(response, r)
            e.kind = .auth
            if let vendor = VendorAuthError.describe(response.body, secrets: VendorAuthError.secrets(headers: h, body: body)) {
                e.detail = "HTTP \(response.status) (authentication failed: \(vendor))"
            }
            throw e
        }
        return response
    }

    public func authError(_ detail: String) -> HTTPError {
        HTTPError(.auth, source: source, what: "authentication", detail: detail)
    }

    /// Decodes a 2xx body; a malformed one is an error naming the source and the request (`page 3`).
    public func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse, what: String) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: response.body) } catch {
            throw HTTPError(.decode, source: source, what: what, detail: "malformed JSON (\(response.body.count) bytes): \(Self.describe(error))")
        }
    }

    /// A decoding error in a line: where and what, never the data itself.
    public static func describe(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "unreadable" }
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "top level" : p
        }
        switch e {
        case .dataCorrupted(let c): return "corrupt data at \(path(c))"
        case .keyNotFound(let k, let c): return "missing \(k.stringValue) at \(path(c))"
        case .typeMismatch(_, let c): return "unexpected type at \(path(c))"
        case .valueNotFound(_, let c): return "missing value at \(path(c))"
        @unknown default: return "unreadable"
        }
    }
}
