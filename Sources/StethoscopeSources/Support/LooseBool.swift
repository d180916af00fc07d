/// A vendor boolean read liberally: JSON `true`/`false`, `1`/`0`, and the strings `"true"`/`"false"`,
/// `"1"`/`"0"`, `"yes"`/`"no"` (any case). Vendors are loose here (bitFit sends `is_deleted: 0`; exports and
/// proxies turn booleans into strings), and one such field must not fail a whole page or source. Absent,
/// `null`, `""` and anything else (`"Unknown"`, `2`) read as `nil`: not a reading, so it never masks another
/// source's.
///
/// Every vendor model's booleans use it: `@LooseBool var isEncrypted: Bool?`. The happy path (a JSON boolean)
/// costs one keyed decode, as a plain `Bool?` does; the other forms are tried only when that fails.
@propertyWrapper
struct LooseBool: Decodable, Sendable, Hashable {
    var wrappedValue: Bool?
    init(wrappedValue: Bool?) { self.wrappedValue = wrappedValue }

    /// Text a vendor may send for a boolean (`nil` for anything else).
    static func parse(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: return nil
        }
    }

    static func parse(_ number: Int) -> Bool? { number == 1 ? true : number == 0 ? false : nil }

    /// Outside a keyed container (an array element, a single value).
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            wrappedValue = nil
        } else if let b = try? c.decode(Bool.self) {
            wrappedValue = b
        } else if let i = try? c.decode(Int.self) {
            wrappedValue = Self.parse(i)
        } else if let s = try? c.decode(String.self) {
            wrappedValue = Self.parse(s)
        } else {
            wrappedValue = nil
        }
    }
}

extension KeyedDecodingContainer {
    /// What synthesized `Decodable` calls for an `@LooseBool` property: a missing key is `nil` like a plain
    /// optional, instead of the `keyNotFound` the generic `decode` would throw for a wrapper type.
    func decode(_ type: LooseBool.Type, forKey key: Key) throws -> LooseBool {
        do {
            return LooseBool(wrappedValue: try decodeIfPresent(Bool.self, forKey: key))
        } catch DecodingError.typeMismatch {
            if let i = try? decode(Int.self, forKey: key) { return LooseBool(wrappedValue: LooseBool.parse(i)) }
            if let s = try? decode(String.self, forKey: key) { return LooseBool(wrappedValue: LooseBool.parse(s)) }
            return LooseBool(wrappedValue: nil)
        }
    }
}
