import Foundation
import StethoscopeCore

/// Supplies the `Authorization` header of a source's requests.
public protocol HTTPAuth: Sendable {
    /// The header value for the next request (fetching or renewing a token when needed).
    func authorization(_ http: SourceHTTP, figures: FigureCounter?) async throws -> Secret
    /// The server answered 401 to `rejected`: forget it, so the next `authorization` fetches a fresh one.
    func invalidate(_ rejected: Secret) async
}

/// What `HTTPClient` calls around each attempt of an authenticated request: `header` right before the attempt
/// is sent (under the limiter's permit), `invalidate` with the header a 401 rejected.
public struct RequestAuthorizer: Sendable {
    public let header: @Sendable () async throws -> Secret
    public let invalidate: @Sendable (Secret) async -> Void
    public init(header: @escaping @Sendable () async throws -> Secret, invalidate: @escaping @Sendable (Secret) async -> Void) {
        self.header = header
        self.invalidate = invalidate
    }
}

/// HTTP Basic on every request (Jamf Classic API on servers without `/api/v1/auth/token`).
public struct HTTPBasic: HTTPAuth {
    private let header: Secret
    public init(user: String, password: Secret) {
        header = Secret("Basic " + Data("\(user):\(password.reveal())".utf8).base64EncodedString())
    }
    public func authorization(_ http: SourceHTTP, figures: FigureCounter?) async throws -> Secret { header }
    public func invalidate(_ rejected: Secret) async {}
}

/// A fixed bearer token (Fleet API-only users).
public struct StaticBearer: HTTPAuth {
    private let header: Secret
    public init(token: Secret) { header = Secret("Bearer " + token.reveal()) }
    public func authorization(_ http: SourceHTTP, figures: FigureCounter?) async throws -> Secret { header }
    public func invalidate(_ rejected: Secret) async {}
}

/// A token with the instant it should be replaced.
public struct IssuedToken: Sendable {
    public var header: Secret
    public var renewAt: Date
    public init(header: Secret, renewAt: Date) {
        self.header = header
        self.renewAt = renewAt
    }

    /// Renews at 80% of the lifetime, so a page started just before expiry still carries a valid token.
    public static func renewal(issued: Date, expires: Date) -> Date {
        issued.addingTimeInterval(max(0, expires.timeIntervalSince(issued)) * 0.8)
    }
}

/// Caches one token and fetches at most one at a time, however many pages ask at once.
public actor TokenCache {
    private var current: IssuedToken?
    private var inflight: Task<IssuedToken, any Error>?
    private let now: @Sendable () -> Date
    /// `now` is the clock renewals are judged by (a test's own clock moves without waiting).
    public init(now: @escaping @Sendable () -> Date = Date.init) { self.now = now }

    public func header(fetch: @escaping @Sendable () async throws -> IssuedToken) async throws -> Secret {
        if let current, current.renewAt > now() { return current.header }
        if let inflight { return try await inflight.value.header }
        let task = Task { try await fetch() }
        inflight = task
        defer { inflight = nil }
        let token = try await task.value
        current = token
        return token.header
    }

    /// Forgets `rejected` if it is still the current token. Concurrent 401s of one token generation thus cause
    /// one renewal: the first drops it, the others find a newer token (or the renewal in flight) and share it.
    public func invalidate(_ rejected: Secret) {
        if current?.header.reveal() == rejected.reveal() { current = nil }
    }
}

/// The vendor's own words in a failed token answer, for the error: OAuth's `error` and `error_description`
/// (Entra's `AADSTS…` codes live there, Google's too) or Jamf's `errors[].code`/`description`. Only those
/// fields are quoted (first line, at most 200 characters each), never the rest of the body.
struct VendorAuthError: Decodable {
    var parts: [String] = []

    private enum Keys: String, CodingKey { case error, error_description, errors }
    private struct JamfError: Decodable {
        var code: String?
        var description: String?
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        // `error` is a string in OAuth answers; anything else (an object) is not quoted.
        if let e = try? c.decode(String.self, forKey: .error) { parts.append(e) }
        if let d = try? c.decode(String.self, forKey: .error_description) { parts.append(d) }
        for e in (try? c.decode([JamfError].self, forKey: .errors)) ?? [] {
            parts.append([e.code, e.description].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " "))
        }
    }

    /// `invalid_client: AADSTS7000215: Invalid client secret provided.` with `secrets` blanked, or nil.
    static func describe(_ body: Data, secrets: [String]) -> String? {
        guard let e = try? JSONDecoder().decode(VendorAuthError.self, from: body) else { return nil }
        var text = e.parts.map { part in
            String(part.split(whereSeparator: \.isNewline).first ?? "").prefix(200)
        }.filter { !$0.isEmpty }.joined(separator: ": ")
        for secret in secrets where secret.count >= 4 { text = text.replacingOccurrences(of: secret, with: "<redacted>") }
        return text.isEmpty ? nil : text
    }

    /// The credentials an auth request carries: secret form fields and the Basic header (encoded and decoded).
    static func secrets(headers: [String: String], body: Data) -> [String] {
        var out: [String] = []
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, ["client_secret", "assertion", "password", "refresh_token"].contains(kv[0]) else { continue }
            out.append(kv[1])
            if let decoded = kv[1].removingPercentEncoding { out.append(decoded) }
        }
        if let auth = headers["Authorization"], auth.hasPrefix("Basic ") {
            let encoded = String(auth.dropFirst(6))
            out.append(encoded)
            if let data = Data(base64Encoded: encoded) {
                let plain = String(decoding: data, as: UTF8.self)
                out.append(plain)
                if let colon = plain.firstIndex(of: ":") { out.append(String(plain[plain.index(after: colon)...])) }
            }
        }
        return out
    }
}

/// Jamf Pro user account: `POST /api/v1/auth/token` with Basic credentials → `{token, expires}`.
public struct JamfUserAuth: HTTPAuth {
    private let user: String
    private let password: Secret
    private let now: @Sendable () -> Date
    private let cache: TokenCache
    /// `now`: the clock the token's lifetime is measured by (tests move it instead of sleeping).
    public init(user: String, password: Secret, now: @escaping @Sendable () -> Date = Date.init) {
        self.user = user
        self.password = password
        self.now = now
        cache = TokenCache(now: now)
    }

    private struct Answer: Decodable {
        var token: String
        var expires: String
    }

    public func authorization(_ http: SourceHTTP, figures: FigureCounter?) async throws -> Secret {
        try await cache.header { [user, password, now] in
            let basic = Data("\(user):\(password.reveal())".utf8).base64EncodedString()
            let response = try await http.authRequest(path: "/api/v1/auth/token", headers: ["Authorization": "Basic " + basic], body: Data(), figures: figures)
            guard let answer = try? JSONDecoder().decode(Answer.self, from: response.body) else {
                throw http.authError("token answer is not {token, expires}")
            }
            let issued = now()
            let expires = JamfUserAuth.parseInstant(answer.expires) ?? issued.addingTimeInterval(20 * 60)
            return IssuedToken(header: Secret("Bearer " + answer.token), renewAt: IssuedToken.renewal(issued: issued, expires: expires))
        }
    }

    public func invalidate(_ rejected: Secret) async { await cache.invalidate(rejected) }

    static func parseInstant(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }
}

/// OAuth2 client credentials (Jamf API clients at `/api/oauth/token`, Microsoft Graph at
/// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token` with `scope=https://graph.microsoft.com/.default`).
/// Refreshes on `expires_in`.
public struct OAuthClientCredentials: HTTPAuth {
    private let tokenURL: String
    private let clientID: String
    private let clientSecret: Secret
    private let scope: String?
    private let cache = TokenCache()

    /// `tokenURL` is absolute, or a path on the source's base URL.
    public init(tokenURL: String, clientID: String, clientSecret: Secret, scope: String? = nil) {
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
    }

    private struct Answer: Decodable {
        var access_token: String
        var expires_in: Double?
        var token_type: String?
    }

    public func authorization(_ http: SourceHTTP, figures: FigureCounter?) async throws -> Secret {
        try await cache.header { [tokenURL, clientID, clientSecret, scope] in
            var form = "grant_type=client_credentials&client_id=\(formEncode(clientID))&client_secret=\(formEncode(clientSecret.reveal()))"
            if let scope { form += "&scope=\(formEncode(scope))" }
            let response = try await http.authRequest(
                path: tokenURL, headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: Data(form.utf8), figures: figures)
            guard let answer = try? JSONDecoder().decode(Answer.self, from: response.body) else {
                throw http.authError("token answer has no access_token")
            }
            let now = Date()
            let expires = now.addingTimeInterval(answer.expires_in ?? 300)
            return IssuedToken(header: Secret("Bearer " + answer.access_token), renewAt: IssuedToken.renewal(issued: now, expires: expires))
        }
    }

    public func invalidate(_ rejected: Secret) async { await cache.invalidate(rejected) }
}

/// `application/x-www-form-urlencoded` escaping.
func formEncode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}
