/// A secret read from config (`${ENV}` or a `*_file` key). It prints as `<redacted>` everywhere,
/// so it cannot leak through logs, errors or string interpolation; only `reveal()` gives the value.
///
/// Making one registers its value with `Redactor`, so the value is also blanked wherever it turns up in
/// text the process writes (a vendor echoing a request into an error body, a token in a query string).
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String
    public init(_ value: String) {
        self.value = value
        Redactor.register(value)
        // `Bearer <token>`, `ApiKey <key>`, `Basic <base64>`: a server may echo the credential without its scheme.
        if let space = value.firstIndex(of: " "), ["Bearer", "Basic", "ApiKey", "Token", "token"].contains(value[..<space]) {
            Redactor.register(String(value[value.index(after: space)...]))
        }
    }
    public func reveal() -> String { value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
