/// Appends JSON to a byte buffer by hand: the export writes a few hundred thousand documents a night, and
/// building them as dictionaries (or through `JSONSerialization`) would cost more than sending them.
///
/// Callers write the punctuation of objects themselves through `key`, which adds the comma; strings are
/// escaped per RFC 8259 (quote, backslash, control characters), everything else passes as UTF-8.
struct JSONWriter {
    var bytes: [UInt8] = []
    /// Whether the next member of the current object needs a comma before it.
    private var needsComma = false

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func beginObject() { open(UInt8(ascii: "{")) }
    mutating func endObject() { close(UInt8(ascii: "}")) }
    mutating func beginArray() { open(UInt8(ascii: "[")) }
    mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        bytes.append(bracket)
        needsComma = false
    }
    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        needsComma = true
    }

    mutating func newline() {
        bytes.append(UInt8(ascii: "\n"))
        needsComma = false
    }

    /// `"name":` (after a comma when needed). Names are fixed ASCII identifiers, so they are not escaped.
    mutating func key(_ name: StaticString) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// `"name":` for a name that comes from data (a practice key), escaped like a string value.
    mutating func key(escaping name: String) {
        comma()
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// An array element separator, for arrays of strings or objects.
    mutating func comma() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    mutating func string(_ value: String) {
        var text = value
        text.withUTF8 { escaped($0) }
        needsComma = true
    }

    /// `"name":["a","b"]`.
    mutating func stringArray(_ name: StaticString, _ values: some Sequence<some StringProtocol>) {
        key(name)
        beginArray()
        for value in values {
            comma()
            string(String(value))
        }
        endArray()
    }

    mutating func int(_ value: Int) {
        if value >= 0 && value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
        needsComma = true
    }

    mutating func bool(_ value: Bool) {
        bytes.append(contentsOf: value ? "true".utf8 : "false".utf8)
        needsComma = true
    }

    /// Member `name` with a string value; left out when `value` is nil (absent fields stay absent).
    mutating func field(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bool(value)
    }
    mutating func field(_ name: StaticString, _ value: Int) {
        key(name)
        int(value)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var start = 0
        for i in 0..<utf8.count {
            let b = utf8[i]
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
            if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
            start = i + 1
            bytes.append(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            default:
                bytes.append(contentsOf: "u00".utf8)
                bytes.append(JSONWriter.hex[Int(b >> 4)])
                bytes.append(JSONWriter.hex[Int(b & 0x0F)])
            }
        }
        if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count])) }
        bytes.append(UInt8(ascii: "\""))
    }
}
