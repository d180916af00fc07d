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
    /// `max_connections`, `max_response_mb`, `retries`, `retry_base_s`, `retry_max_wait_s`.
    public static func read(_ s: ConfigSection, defaultConnections: Int = 4) throws -> HTTPOptions {
        var o = HTTPOptions()
        o.tls = TLSOptions(caFile: try s.path("ca_file")?.path, clientCert: try s.path("client_cert")?.path,
                           clientKey: try s.path("client_key")?.path)
        o.timeouts = HTTPTimeouts(connect: try s.double("connect_timeout_s", default: 10, min: 0.05, max: 3600),
                                  total: try s.double("timeout_s", default: 120, min: 0.05, max: 86_400))
        o.maxConnections = try s.int("max_connections", default: defaultConnections, min: 1, max: 64)
        o.maxResponseBytes = try s.int("max_response_mb", default: 256, min: 1, max: 65_536) << 20
        o.retry = RetryPolicy(maxAttempts: try s.int("retries", default: 3, min: 0, max: 20) + 1,
                              baseDelay: try s.double("retry_base_s", default: 0.5, min: 0, max: 600),
                              maxDelay: 30,
                              maxTotalWait: try s.double("retry_max_wait_s", default: 120, min: 0, max: 86_400))
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
        self.client = client; self.source = source
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.auth = auth; self.options = options
        client.setLimit(source, maxConcurrent: options.maxConnections)
    }

    public func url(_ path: String) -> String {
        path.hasPrefix("http://") || path.hasPrefix("https://") ? path : baseURL + (path.hasPrefix("/") ? path : "/" + path)
    }

    private func request(_ method: String, _ path: String, headers: [String: String], body: Data?, label: String?,
                         figures: FigureCounter?, isAuth: Bool) -> HTTPRequest {
        HTTPRequest(method: method, url: url(path), headers: headers, body: body, source: source, label: label,
                    limiter: source, timeouts: options.timeouts, tls: options.tls,
                    maxResponseBytes: options.maxResponseBytes, retry: options.retry, figures: figures, isAuth: isAuth)
    }

    /// An authenticated request; a 401 drops the token and tries once more with a fresh one.
    public func send(_ method: String = "GET", _ path: String, headers: [String: String] = [:], body: Data? = nil,
                     label: String? = nil, figures: FigureCounter?) async throws -> HTTPResponse {
        var reauthed = false
        while true {
            var h = headers
            if h["Accept"] == nil { h["Accept"] = "application/json" }
            let authorization = try await auth?.authorization(self, figures: figures)
            if let authorization { h["Authorization"] = authorization.reveal() }
            let r = request(method, path, headers: h, body: body, label: label, figures: figures, isAuth: false)
            let response = try await client.send(r)
            if response.status == 401, let auth, let authorization, !reauthed {
                reauthed = true
                await auth.invalidate(authorization)
                continue
            }
            guard response.isSuccess else {
                let sent = authorization.map { a in [a.reveal()] + a.reveal().split(separator: " ").dropFirst().map(String.init) } ?? []
                throw HTTPError.status(response, r, secrets: sent)
            }
            return response
        }
    }

    /// `GET` expecting 2xx.
    public func get(_ path: String, label: String? = nil, figures: FigureCounter?) async throws -> HTTPResponse {
        try await send("GET", path, label: label, figures: figures)
    }

    /// A token request (used by `HTTPAuth` implementations): no auth header of ours, errors never quote bodies.
    public func authRequest(path: String, headers: [String: String], body: Data, figures: FigureCounter?) async throws -> HTTPResponse {
        var h = headers
        h["Accept"] = "application/json"
        let r = request("POST", path, headers: h, body: body, label: "authentication", figures: figures, isAuth: true)
        let response = try await client.send(r)
        guard response.isSuccess else {
            var e = HTTPError.status(response, r)
            e.kind = .auth
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
