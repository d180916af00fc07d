import Foundation
import StethoscopeCore

/// Supplies the `Authorization` header of a source's requests.
public protocol HTTPAuth: Sendable {
    /// The header value for the next request (fetching or renewing a token when needed).
    func authorization(_ http: SourceHTTP, figures: FigureCounter?) async throws -> Secret
    /// The server answered 401 to `rejected`: forget it, so the next `authorization` fetches a fresh one.
    func invalidate(_ rejected: Secret) async
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
    public init(header: Secret, renewAt: Date) { self.header = header; self.renewAt = renewAt }

    /// Renews at 80% of the lifetime, so a page started just before expiry still carries a valid token.
    public static func renewal(issued: Date, expires: Date) -> Date {
        issued.addingTimeInterval(max(0, expires.timeIntervalSince(issued)) * 0.8)
    }
}

/// Caches one token and fetches at most one at a time, however many pages ask at once.
public actor TokenCache {
    private var current: IssuedToken?
    private var inflight: Task<IssuedToken, any Error>?
    public init() {}

    public func header(fetch: @escaping @Sendable () async throws -> IssuedToken) async throws -> Secret {
        if let current, current.renewAt > Date() { return current.header }
        if let inflight { return try await inflight.value.header }
        let task = Task { try await fetch() }
        inflight = task
        defer { inflight = nil }
        let token = try await task.value
        current = token
        return token.header
    }

    public func invalidate(_ rejected: Secret) {
        if current?.header.reveal() == rejected.reveal() { current = nil }
    }
}

/// Jamf Pro user account: `POST /api/v1/auth/token` with Basic credentials → `{token, expires}`.
public struct JamfUserAuth: HTTPAuth {
    private let user: String
    private let password: Secret
    private let cache = TokenCache()
    public init(user: String, password: Secret) { self.user = user; self.password = password }

    private struct Answer: Decodable { var token: String; var expires: String }

    public func authorization(_ http: SourceHTTP, figures: FigureCounter?) async throws -> Secret {
        try await cache.header { [user, password] in
            let basic = Data("\(user):\(password.reveal())".utf8).base64EncodedString()
            let response = try await http.authRequest(path: "/api/v1/auth/token", headers: ["Authorization": "Basic " + basic], body: Data(), figures: figures)
            guard let answer = try? JSONDecoder().decode(Answer.self, from: response.body) else {
                throw http.authError("token answer is not {token, expires}")
            }
            let now = Date()
            let expires = JamfUserAuth.parseInstant(answer.expires) ?? now.addingTimeInterval(20 * 60)
            return IssuedToken(header: Secret("Bearer " + answer.token), renewAt: IssuedToken.renewal(issued: now, expires: expires))
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
        self.tokenURL = tokenURL; self.clientID = clientID; self.clientSecret = clientSecret; self.scope = scope
    }

    private struct Answer: Decodable { var access_token: String; var expires_in: Double?; var token_type: String? }

    public func authorization(_ http: SourceHTTP, figures: FigureCounter?) async throws -> Secret {
        try await cache.header { [tokenURL, clientID, clientSecret, scope] in
            var form = "grant_type=client_credentials&client_id=\(formEncode(clientID))&client_secret=\(formEncode(clientSecret.reveal()))"
            if let scope { form += "&scope=\(formEncode(scope))" }
            let response = try await http.authRequest(path: tokenURL, headers: ["Content-Type": "application/x-www-form-urlencoded"],
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
