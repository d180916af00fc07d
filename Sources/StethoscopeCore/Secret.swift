/// A secret read from config (`${ENV}` or a `*_file` key). It prints as `<redacted>` everywhere,
/// so it cannot leak through logs, errors or string interpolation; only `reveal()` gives the value.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String
    public init(_ value: String) { self.value = value }
    public func reveal() -> String { value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
