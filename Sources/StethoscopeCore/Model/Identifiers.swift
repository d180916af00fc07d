/// Turns what sources report into identifiers that may merge records, and rejects the ones that may not
/// (docs/DESIGN.md, "Identifiers and merging"): placeholder serials, multicast, locally administered (randomized or
/// virtual), all-zero, broadcast and zero-OUI MACs, and identifiers known to be shared by many machines
/// (`builtInShared` plus config's `shared_identifiers`). Rejections are counted so data-quality reports can show them.
public struct IdentifierNormalizer: Sendable {
    /// Upper-cased placeholder serials that vendors and BIOSes put where a serial should be.
    public static let builtInPlaceholders: Set<String> = [
        "", "0", "NOT AVAILABLE", "N/A", "NA", "NONE", "NULL", "UNKNOWN", "TO BE FILLED BY O.E.M.", "TO BE FILLED BY OEM",
        "SYSTEM SERIAL NUMBER", "DEFAULT STRING", "123456789", "0123456789", "1234567890", "CHASSIS SERIAL NUMBER",
        "INVALID", "SERIAL", "NOT SPECIFIED", "OEM", "O.E.M."
    ]

    /// Identifiers that many machines report, so they would merge unrelated devices (one cloned SMBIOS UUID
    /// once merged a laptop with a build server). `kind:value`; a value without a kind is refused in every kind
    /// it normalizes as. VM serials are not here: VirtualBox's `0` and QEMU's `Not Specified` are placeholders
    /// already, and VMware (`VMware-56 4d …`), Parallels and Hyper-V derive theirs from the VM's own UUID.
    public static let builtInShared: [String] = [
        "mac:AC:DE:48:00:11:22",  // Apple's internal T2/iBridge network interface, on every Mac with a T2 chip
        "mac:00:05:9A:3C:7A:00",  // Cisco AnyConnect's virtual adapter, on every machine that runs it
        "mac:00:50:56:C0:00:01",  // VMware Workstation/Fusion host adapter vmnet1, on every host
        "mac:00:50:56:C0:00:08",  // VMware Workstation/Fusion host adapter vmnet8, on every host
        // SMBIOS UUIDs left at a firmware default by boards whose maker never set one, as inventory vendors list them.
        "udid:03000200-0400-0500-0006-000700080009",
        "udid:00020003-0004-0005-0006-000700080009",  // the same default read in the other byte order
        "udid:FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",  // SMBIOS: "not set, but settable"
        "udid:FEFEFEFE-FEFE-FEFE-FEFE-FEFEFEFEFEFE",
        "udid:07090201-0103-0301-0807-060504030201",
        "udid:58585858-5858-5858-5858-585858585858"  // "XXXXXXXXXXXXXXXX"
    ]

    public let placeholders: Set<String>
    /// Refused identifiers by kind; MACs as their 48- or 64-bit value so the check needs no string.
    let sharedSerials: Set<String>
    let sharedUDIDs: Set<String>
    let sharedMACs: Set<UInt64>
    let sharedEUI64: Set<UInt64>
    let sharedOther: Set<Identifier>

    public init(extraPlaceholders: [String] = [], sharedIdentifiers: [String] = []) {
        placeholders = IdentifierNormalizer.builtInPlaceholders.union(extraPlaceholders.map { $0.trimmed.uppercased() })
        var serials = Set<String>()
        var udids = Set<String>()
        var macs = Set<UInt64>()
        var eui64 = Set<UInt64>()
        var other = Set<Identifier>()
        for entry in IdentifierNormalizer.builtInShared + sharedIdentifiers {
            let (kinds, value) = IdentifierNormalizer.splitShared(entry)
            for kind in kinds {
                switch kind {
                case .serial:
                    let s = value.trimmed.uppercased()
                    if !s.isEmpty { serials.insert(s) }
                case .udid:
                    let s = value.trimmed.uppercased()
                    if !s.isEmpty { udids.insert(s) }
                case .mac:
                    if let (bits, octets) = IdentifierNormalizer.macBits(value) {
                        if octets == 6 { macs.insert(bits) } else { eui64.insert(bits) }
                    }
                default:
                    if case .success(let id) = IdentifierNormalizer.plain(RawIdentifier(kind, value)) {
                        other.insert(id)
                    }
                }
            }
        }
        sharedSerials = serials
        sharedUDIDs = udids
        sharedMACs = macs
        sharedEUI64 = eui64
        sharedOther = other
    }

    /// `kind:value` → ([kind], value); a bare value → every kind. A MAC's first octet is never a kind name.
    static func splitShared(_ entry: String) -> ([IdentifierKind], String) {
        if let colon = entry.firstIndex(of: ":"), let kind = IdentifierKind(rawValue: String(entry[..<colon]).lowercased()) {
            return ([kind], String(entry[entry.index(after: colon)...]))
        }
        return (IdentifierKind.allCases, entry)
    }

    /// The index of the first `shared_identifiers` value whose prefix is not a known kind (`nil` when all are fine).
    public static func unknownKind(in entries: [String]) -> Int? {
        for (i, e) in entries.enumerated() {
            guard let colon = e.firstIndex(of: ":") else { continue }
            let prefix = String(e[..<colon])
            // A MAC in colon notation starts with two hex digits; anything else before a colon must be a kind.
            if prefix.count == 2, prefix.allSatisfy(\.isHexDigit) { continue }
            if IdentifierKind(rawValue: prefix.lowercased()) == nil { return i }
        }
        return nil
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
        /// A MAC whose OUI is 00:00:00: virtual adapters and tunnels (Teredo's `00:00:00:00:00:00:00:E0`), not hardware.
        case zeroOUIMAC = "zero_oui_mac"
        /// On the shipped or configured list of identifiers many machines share (`shared_identifiers`).
        case sharedIdentifier = "shared_identifier"
    }

    public func normalize(_ raw: RawIdentifier) -> Result<Identifier, Rejection> {
        switch raw.kind {
        case .serial:
            let s = raw.value.trimmed.uppercased()
            if placeholders.contains(s) || s.utf8.allSatisfy({ $0 == 48 }) || s.utf8.count < 3 { return .failure(.placeholderSerial) }
            if !sharedSerials.isEmpty, sharedSerials.contains(s) { return .failure(.sharedIdentifier) }
            return .success(Identifier(.serial, s))
        case .udid:
            let s = raw.value.trimmed.uppercased()
            if s.isEmpty || s.utf8.allSatisfy({ $0 == 48 || $0 == 45 }) { return .failure(.empty) }
            if sharedUDIDs.contains(s) { return .failure(.sharedIdentifier) }
            return .success(Identifier(.udid, s))
        case .mac:
            guard let (bits, octets) = IdentifierNormalizer.macBits(raw.value) else { return .failure(.malformedMAC) }
            if octets == 6 ? sharedMACs.contains(bits) : sharedEUI64.contains(bits) { return .failure(.sharedIdentifier) }
            return IdentifierNormalizer.mac(bits, octets: octets)
        default:
            let result = IdentifierNormalizer.plain(raw)
            if !sharedOther.isEmpty, case .success(let id) = result, sharedOther.contains(id) { return .failure(.sharedIdentifier) }
            return result
        }
    }

    /// `LAPTOP-7.corp.example.com` and `laptop-7` name one host: the first label, lower-cased.
    public static func hostname(_ value: String) -> String { String(value.trimmed.lowercased().prefix { $0 != "." }) }

    /// The kinds without a placeholder list (device ids, IMEIs, MEIDs), before the shared list is consulted.
    static func plain(_ raw: RawIdentifier) -> Result<Identifier, Rejection> {
        switch raw.kind {
        case .serial, .udid, .mac:
            return IdentifierNormalizer().normalize(raw)
        case .deviceID, .googleDeviceID:
            let s = raw.value.trimmed
            return s.isEmpty ? .failure(.empty) : .success(Identifier(raw.kind, s))
        case .imei:
            let digits = String(decoding: raw.value.utf8.filter { $0 >= 48 && $0 <= 57 }, as: UTF8.self)
            if digits.utf8.count < 14 || digits.utf8.count > 16 || digits.utf8.allSatisfy({ $0 == 48 }) { return .failure(.malformedNumber) }
            return .success(Identifier(.imei, digits))
        case .hostname:
            let s = hostname(raw.value)
            return s.isEmpty ? .failure(.empty) : .success(Identifier(.hostname, s))
        case .meid:
            // MEIDs are 14 hex digits (or 18 decimal): keep hex digits, upper-cased.
            let hex = String(decoding: raw.value.uppercased().utf8.filter { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) }, as: UTF8.self)
            if hex.utf8.count < 14 || hex.utf8.count > 18 || hex.utf8.allSatisfy({ $0 == 48 }) { return .failure(.malformedNumber) }
            return .success(Identifier(.meid, hex))
        }
    }

    /// A MAC in any notation (`aa:bb:..`, `aa-bb-..`, `aabb.ccdd.eeff`, `AABBCCDDEEFF`) as its value and octet
    /// count: 6 (EUI-48) or 8 (EUI-64, e.g. FireWire and some tunnel adapters); `nil` when it is neither.
    static func macBits(_ text: String) -> (UInt64, Int)? {
        var bits: UInt64 = 0
        var count = 0
        for c in text.utf8 {
            let n: UInt8
            switch c {
            case 48...57: n = c - 48
            case 65...70: n = c - 55
            case 97...102: n = c - 87
            case 58, 45, 46, 32: continue  // : - . space
            default: return nil
            }
            count += 1
            if count > 16 { return nil }
            bits = bits << 4 | UInt64(n)
        }
        return count == 12 || count == 16 ? (bits, count / 2) : nil
    }

    /// Checks a MAC's value and writes it as `AA:BB:CC:DD:EE:FF` (or eight octets for EUI-64).
    static func mac(_ bits: UInt64, octets: Int) -> Result<Identifier, Rejection> {
        let width = UInt64(octets * 8)
        let all: UInt64 = octets == 8 ? .max : (1 << width) - 1
        if bits == 0 || bits == all { return .failure(.nullMAC) }
        let first = UInt8(truncatingIfNeeded: bits >> (width - 8))
        if first & 0x01 != 0 { return .failure(.multicastMAC) }
        if first & 0x02 != 0 { return .failure(.localMAC) }
        if bits >> (width - 24) == 0 { return .failure(.zeroOUIMAC) }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(octets * 3 - 1)
        for i in 0..<octets {
            if i > 0 { out.append(58) }
            let byte = UInt8(truncatingIfNeeded: bits >> (width - 8 * UInt64(i + 1)))
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 15)])
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
