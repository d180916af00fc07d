/// Turns what sources report into identifiers that may merge records, and rejects the ones that may not
/// (DESIGN.md, "Identifiers and merging"): placeholder serials, multicast, locally administered (randomized or
/// virtual), all-zero and broadcast MACs. Rejections are counted so data-quality reports can show them.
public struct IdentifierNormalizer: Sendable {
    /// Upper-cased placeholder serials that vendors and BIOSes put where a serial should be.
    public static let builtInPlaceholders: Set<String> = [
        "", "0", "NOT AVAILABLE", "N/A", "NA", "NONE", "NULL", "UNKNOWN", "TO BE FILLED BY O.E.M.", "TO BE FILLED BY OEM",
        "SYSTEM SERIAL NUMBER", "DEFAULT STRING", "123456789", "0123456789", "1234567890", "CHASSIS SERIAL NUMBER",
        "INVALID", "SERIAL", "NOT SPECIFIED", "OEM", "O.E.M.",
    ]

    public let placeholders: Set<String>

    public init(extraPlaceholders: [String] = []) {
        placeholders = IdentifierNormalizer.builtInPlaceholders.union(extraPlaceholders.map { $0.trimmed.uppercased() })
    }

    /// Why an identifier was not used, for data-quality counts.
    public enum Rejection: String, Sendable, CaseIterable, Error {
        case placeholderSerial = "placeholder_serial"
        case malformedMAC = "malformed_mac"
        case multicastMAC = "multicast_mac"
        case localMAC = "locally_administered_mac"
        case nullMAC = "zero_or_broadcast_mac"
        case malformedNumber = "malformed_imei_meid"
        case empty
    }

    public func normalize(_ raw: RawIdentifier) -> Result<Identifier, Rejection> {
        switch raw.kind {
        case .serial:
            let s = raw.value.trimmed.uppercased()
            if placeholders.contains(s) || s.utf8.allSatisfy({ $0 == 48 }) || s.utf8.count < 3 { return .failure(.placeholderSerial) }
            return .success(Identifier(.serial, s))
        case .udid:
            let s = raw.value.trimmed.uppercased()
            if s.isEmpty || s.utf8.allSatisfy({ $0 == 48 || $0 == 45 }) { return .failure(.empty) }
            return .success(Identifier(.udid, s))
        case .deviceID, .googleDeviceID:
            let s = raw.value.trimmed
            return s.isEmpty ? .failure(.empty) : .success(Identifier(raw.kind, s))
        case .imei:
            let digits = String(decoding: raw.value.utf8.filter { $0 >= 48 && $0 <= 57 }, as: UTF8.self)
            if digits.utf8.count < 14 || digits.utf8.count > 16 || digits.utf8.allSatisfy({ $0 == 48 }) { return .failure(.malformedNumber) }
            return .success(Identifier(.imei, digits))
        case .meid:
            // MEIDs are 14 hex digits (or 18 decimal): keep hex digits, upper-cased.
            let hex = String(decoding: raw.value.uppercased().utf8.filter { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) }, as: UTF8.self)
            if hex.utf8.count < 14 || hex.utf8.count > 18 || hex.utf8.allSatisfy({ $0 == 48 }) { return .failure(.malformedNumber) }
            return .success(Identifier(.meid, hex))
        case .mac:
            return IdentifierNormalizer.mac(raw.value)
        }
    }

    /// Any notation (`aa:bb:..`, `aa-bb-..`, `aabb.ccdd.eeff`, `AABBCCDDEEFF`) to `AA:BB:CC:DD:EE:FF`.
    static func mac(_ text: String) -> Result<Identifier, Rejection> {
        var nibbles: [UInt8] = []
        nibbles.reserveCapacity(12)
        for c in text.utf8 {
            switch c {
            case 48...57: nibbles.append(c - 48)
            case 65...70: nibbles.append(c - 55)
            case 97...102: nibbles.append(c - 87)
            case 58, 45, 46, 32: continue   // : - . space
            default: return .failure(.malformedMAC)
            }
            if nibbles.count > 12 { return .failure(.malformedMAC) }
        }
        guard nibbles.count == 12 else { return .failure(.malformedMAC) }
        let first = nibbles[0] << 4 | nibbles[1]
        if nibbles.allSatisfy({ $0 == 0 }) || nibbles.allSatisfy({ $0 == 15 }) { return .failure(.nullMAC) }
        if first & 0x01 != 0 { return .failure(.multicastMAC) }
        if first & 0x02 != 0 { return .failure(.localMAC) }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(17)
        for (i, n) in nibbles.enumerated() {
            if i > 0 && i % 2 == 0 { out.append(58) }
            out.append(hex[Int(n)])
        }
        return .success(Identifier(.mac, String(decoding: out, as: UTF8.self)))
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
