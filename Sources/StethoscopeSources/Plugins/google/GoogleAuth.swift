import Foundation
import StethoscopeCore
import StethoscopeHTTP
import _CryptoExtras

/// A Google service-account JSON key: the fields the two-legged OAuth flow needs.
struct GoogleServiceAccountKey: Decodable, Sendable {
    var client_email: String
    var private_key: String
    var private_key_id: String?
    var token_uri: String?

    static func parse(_ secret: Secret, where path: String) throws -> GoogleServiceAccountKey {
        guard let key = try? JSONDecoder().decode(GoogleServiceAccountKey.self, from: Data(secret.reveal().utf8)) else {
            throw ConfigError(path: path, message: "not a service-account JSON key (needs client_email and private_key)")
        }
        return key
    }
}

/// Service-account auth with domain-wide delegation ("2LO"): an RS256-signed JWT naming the admin to
/// impersonate (`sub`) and the scopes, exchanged at the token endpoint for a bearer token, which is cached
/// and replaced at 80% of its life (Google issues no refresh token; a fresh JWT is minted instead).
struct GoogleServiceAccountAuth: HTTPAuth {
    let email: String
    let keyID: String?
    let signer: _RSA.Signing.PrivateKey
    let subject: String
    let scopes: [String]
    /// The JWT's `aud`: the key file's `token_uri` (Google's documented token endpoint).
    let audience: String
    /// Where the JWT is posted; `audience` unless config points elsewhere (tests, proxies).
    let tokenURL: String
    let lifetime: Int
    private let cache = TokenCache()

    init(key: GoogleServiceAccountKey, subject: String, scopes: [String], tokenURL: String?, lifetime: Int = 3600, keyPath: String) throws {
        do { signer = try _RSA.Signing.PrivateKey(pemRepresentation: key.private_key) } catch {
            throw ConfigError(path: keyPath, message: "private_key is not a PEM RSA key of 2048 bits or more")
        }
        email = key.client_email
        keyID = key.private_key_id
        self.subject = subject
        self.scopes = scopes
        audience = key.token_uri ?? "https://oauth2.googleapis.com/token"
        self.tokenURL = tokenURL ?? audience
        self.lifetime = min(3600, lifetime)
    }

    /// `header.claims.signature`, each part base64url without padding.
    func assertion(now: Date) throws -> String {
        struct Header: Encodable {
            var alg = "RS256", typ = "JWT"
            var kid: String?
        }
        struct Claims: Encodable {
            var iss, sub, scope, aud: String
            var iat, exp: Int
        }
        let iat = Int(now.timeIntervalSince1970)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = try encoder.encode(Header(kid: keyID))
        let claims = try encoder.encode(
            Claims(
                iss: email, sub: subject, scope: scopes.joined(separator: " "), aud: audience,
                iat: iat, exp: iat + lifetime))
        let input = Self.base64url(header) + "." + Self.base64url(claims)
        let signature = try signer.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5)
        return input + "." + Self.base64url(signature.rawRepresentation)
    }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private struct Answer: Decodable {
        var access_token: String
        var expires_in: Double?
    }

    func authorization(_ http: SourceHTTP, figures: FigureCounter?) async throws -> Secret {
        try await cache.header { [self] in
            let now = Date()
            let jwt = try assertion(now: now)
            let form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=\(jwt)"
            let response = try await http.authRequest(
                path: tokenURL, headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: Data(form.utf8), figures: figures)
            guard let answer = try? JSONDecoder().decode(Answer.self, from: response.body) else {
                throw http.authError("token answer has no access_token")
            }
            let expires = now.addingTimeInterval(answer.expires_in ?? 3600)
            return IssuedToken(header: Secret("Bearer " + answer.access_token), renewAt: IssuedToken.renewal(issued: now, expires: expires))
        }
    }

    func invalidate(_ rejected: Secret) async { await cache.invalidate(rejected) }
}
