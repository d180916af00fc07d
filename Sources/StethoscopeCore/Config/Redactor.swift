import Foundation

/// The process-wide list of secret values, applied to every text that leaves the process (log lines, errors,
/// failure texts stored in the database, `check` output, report and metrics files).
///
/// `Secret` registers its value here when it is made, so every secret the config resolved (`${ENV}`,
/// `*_file`, URL userinfo) and every token issued at run time is covered wherever it shows up, including
/// inside a vendor's error body that echoes a request. On top of the registered values, two shapes are
/// blanked whatever their value: a URL's userinfo (`https://user:pw@host`) and query parameters whose name
/// says they carry a credential (`api_token=…`, `key=…`, `password=…`, …).
///
/// Redact whole texts *before* cutting them short: a cut through a secret would leave its prefix behind,
/// which the registry no longer recognizes (`excerpt` does this in the right order).
public enum Redactor {
    public static let marker = "<redacted>"
    /// Shorter values are not registered: blanking every "abc" in every log line would hide more than it
    /// protects, and a secret that short protects nothing.
    public static let minimumLength = 4

    private struct Registry {
        var forms: Set<String> = []
        /// Longest first, so a value that contains another one is blanked whole.
        var ordered: [String] = []
    }
    private static let registry = Locked(Registry())

    /// Remembers `value` (and the forms it takes in URLs, form bodies and JSON) for `redact`.
    public static func register(_ value: String) {
        guard value.count >= minimumLength else { return }
        var forms: Set<String> = [value]
        let strict = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        if let escaped = value.addingPercentEncoding(withAllowedCharacters: strict) { forms.insert(escaped) }
        if let query = value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) { forms.insert(query) }
        if let form = value.addingPercentEncoding(withAllowedCharacters: strict)?.replacingOccurrences(of: "%20", with: "+") {
            forms.insert(form)  // application/x-www-form-urlencoded
        }
        forms.insert(
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "/", with: "\\/").replacingOccurrences(of: "\n", with: "\\n"))
        forms.insert(
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n"))
        registry.withLock { registry in
            let before = registry.forms.count
            registry.forms.formUnion(forms.filter { $0.count >= minimumLength })
            if registry.forms.count != before { registry.ordered = registry.forms.sorted { $0.count > $1.count } }
        }
    }

    /// Registers the credentials of a URL's userinfo (`https://user:pw@host`): the password, `user:pw` and
    /// its base64 (the `Authorization: Basic` header a client builds from it), so a server echoing either is
    /// blanked too. Any string of the config can hold such a URL, so the config reader calls this on each.
    public static func registerUserinfo(in text: String) {
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { "/?#\"'<> \t\n\\".contains($0) } ?? rest.endIndex
            guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { continue }
            let userinfo = String(rest[..<at])
            rest = rest[at...]
            let decoded = userinfo.removingPercentEncoding ?? userinfo
            for credentials in Set([userinfo, decoded]) {
                if let colon = credentials.firstIndex(of: ":") {
                    register(String(credentials[credentials.index(after: colon)...]))
                }
                register(credentials)
                register(Data(credentials.utf8).base64EncodedString())
            }
        }
    }

    /// `text` with every registered secret, URL userinfo and credential query parameter replaced by `<redacted>`.
    public static func redact(_ text: String) -> String {
        var out = text
        let secrets = registry.withLock { $0.ordered }
        for secret in secrets where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: marker)
        }
        if out.contains("://") { out = blankUserinfo(out) }
        if out.contains("=") { out = blankCredentialParameters(out) }
        return out
    }

    /// A short, single-line piece of `body` for an error message: redacted first (registered secrets and
    /// `also`, e.g. the credentials a request sent), then cut to `limit` characters.
    public static func excerpt(_ body: Data, limit: Int = 200, also: [String] = []) -> String {
        // Only the start is shown, but a secret starting inside it may run past it: redact a window long
        // enough to hold any registered form starting before the cut (not the whole body, which may be large).
        let longest = max(registry.withLock { $0.ordered.first?.utf8.count ?? 0 }, also.map(\.utf8.count).max() ?? 0)
        var window = String(decoding: body.prefix(limit * 4 + longest + 64), as: UTF8.self)
        for secret in also.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            window = window.replacingOccurrences(of: secret, with: marker)
        }
        let text = redact(window).replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        return String(text.prefix(limit))
    }

    /// `scheme://user:password@host` → `scheme://<redacted>@host` (userinfo ends at the first `@` before any
    /// `/`, `?`, `#` or space).
    static func blankUserinfo(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { "/?#\"'<> \t\n\\".contains($0) } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"), at != rest.startIndex {
                out += marker
                rest = rest[at...]
            }
        }
        return out + rest
    }

    /// Query parameter names taken to carry a credential (compared in lower case).
    static let credentialParameters: Set<String> = [
        "api_token", "apitoken", "token", "access_token", "refresh_token", "id_token", "api_key", "apikey", "key",
        "password", "passwd", "pwd", "secret", "client_secret", "signature", "sig", "auth", "session", "code"
    ]

    /// `?api_token=abc&page=2` → `?api_token=<redacted>&page=2`: only after `?` or `&`, up to `&`, `#`, a quote,
    /// a space or `<`.
    static func blankCredentialParameters(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let sep = rest.firstIndex(where: { $0 == "?" || $0 == "&" }) {
            let nameStart = rest.index(after: sep)
            out += rest[..<nameStart]
            rest = rest[nameStart...]
            guard let eq = rest.firstIndex(where: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }),
                rest[eq] == "=", credentialParameters.contains(rest[..<eq].lowercased())
            else { continue }
            let valueStart = rest.index(after: eq)
            let valueEnd = rest[valueStart...].firstIndex { "&#\"' <>\t\n\\,;".contains($0) } ?? rest.endIndex
            out += rest[..<valueStart]
            if valueEnd > valueStart { out += marker }
            rest = rest[valueEnd...]
        }
        return out + rest
    }
}
