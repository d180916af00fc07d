import Foundation
import StethoscopeCore

/// Connect and total time limits of one attempt.
public struct HTTPTimeouts: Sendable, Hashable {
    public var connect: Double
    public var total: Double
    public init(connect: Double = 10, total: Double = 120) {
        self.connect = connect
        self.total = total
    }
}

/// TLS options. Verification of the peer and host name is always on; these only add trust or identity.
public struct TLSOptions: Sendable, Hashable {
    /// A PEM bundle of CAs to trust instead of the system store.
    public var caFile: String?
    /// A PEM client certificate (and its key, when not in the same file) for mutual TLS.
    public var clientCert: String?
    public var clientKey: String?
    public init(caFile: String? = nil, clientCert: String? = nil, clientKey: String? = nil) {
        self.caFile = caFile
        self.clientCert = clientCert
        self.clientKey = clientKey
    }
}

/// One HTTP request with everything needed to send, retry, limit and account for it.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header name → value. Values are never printed (they may hold `Authorization`).
    public var headers: [String: String]
    public var body: Data?
    /// The source name, which errors start with.
    public var source: String
    /// Says which request of the source this is in errors ("page 3").
    public var label: String?
    /// Requests with the same key share one concurrency limit (see `HTTPClient.setLimit`); `nil`: unlimited.
    public var limiter: String?
    public var timeouts: HTTPTimeouts
    public var tls: TLSOptions
    /// Larger (decoded) bodies fail with `too_large` instead of filling memory.
    public var maxResponseBytes: Int
    public var retry: RetryPolicy
    /// Where attempts, retries, bytes and errors are counted.
    public var figures: FigureCounter?
    /// An authentication request: its body (credentials) and the server's answer never appear in errors.
    public var isAuth: Bool
    /// Supplies `Authorization` for each attempt at the moment it is sent (after the limiter's permit), so a
    /// request that waited behind the connection limit never carries a token that expired while it waited.
    public var authorizer: RequestAuthorizer?

    public init(
        method: String = "GET", url: String, headers: [String: String] = [:], body: Data? = nil,
        source: String, label: String? = nil, limiter: String? = nil, timeouts: HTTPTimeouts = HTTPTimeouts(),
        tls: TLSOptions = TLSOptions(), maxResponseBytes: Int = 256 << 20, retry: RetryPolicy = RetryPolicy(),
        figures: FigureCounter? = nil, isAuth: Bool = false, authorizer: RequestAuthorizer? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.source = source
        self.label = label
        self.limiter = limiter
        self.timeouts = timeouts
        self.tls = tls
        self.maxResponseBytes = maxResponseBytes
        self.retry = retry
        self.figures = figures
        self.isAuth = isAuth
        self.authorizer = authorizer
    }

    /// `GET https://host/path (page 3)`: what errors say; no query string (it can be long), no headers.
    public var what: String {
        let base = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        return "\(method) \(base)" + (label.map { " (\($0))" } ?? "")
    }
}

/// A complete response. Header names are lower-cased.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data
    /// Attempts it took (1 when the first one answered).
    public var attempts: Int
    /// Body bytes on the wire (smaller than `body` when the server compressed it).
    public var wireBytes: Int
    /// The `Authorization` the final attempt carried (from `HTTPRequest.authorizer`), so an error quoting the
    /// body can blank it if the server echoed it.
    var authorization: Secret?
    /// Sends libcurl made by itself beyond the first (a dead reused connection), which the server also saw.
    var resends = 0
    public init(status: Int, headers: [String: String] = [:], body: Data = Data(), attempts: Int = 1, wireBytes: Int? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.attempts = attempts
        self.wireBytes = wireBytes ?? body.count
    }
    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// Why a request failed. The text names the source and the request, never a header or an auth body.
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case connect, timeout, tls
        case tooLarge = "too_large"
        case status, cancelled, transport, decode, auth
    }
    public var kind: Kind
    public var source: String
    public var what: String
    public var status: Int?
    public var detail: String
    public var attempts: Int
    /// Sends libcurl made by itself beyond the first before failing (see `HTTPResponse.resends`).
    var resends = 0

    public init(_ kind: Kind, source: String, what: String, status: Int? = nil, detail: String, attempts: Int = 1) {
        self.kind = kind
        self.source = source
        self.what = what
        self.status = status
        self.detail = detail
        self.attempts = attempts
    }

    public var description: String {
        Redactor.redact("\(source): \(what): \(detail)" + (attempts > 1 ? " (after \(attempts) attempts)" : ""))
    }

    /// The figure key errors are counted under (`http_500`, `timeout`, ...).
    public var figureKey: String { kind == .status ? "http_\(status ?? 0)" : kind.rawValue }

    /// A non-2xx answer: quotes a short, single-line piece of the body unless the request was an auth request,
    /// with any of `secrets` (the credentials sent) blanked in case a server echoes them.
    static func status(_ response: HTTPResponse, _ request: HTTPRequest, secrets: [String] = []) -> HTTPError {
        var detail = "HTTP \(response.status)"
        if request.isAuth {
            detail += " (authentication failed)"
        } else if !response.body.isEmpty {
            // Redacted whole before the cut (`Redactor.excerpt`): a secret crossing it would leave its prefix.
            detail += ": \(Redactor.excerpt(response.body, also: secrets))"
        }
        return HTTPError(
            .status, source: request.source, what: request.what, status: response.status,
            detail: detail, attempts: response.attempts)
    }
}
