import Foundation

/// How a feed spells a MAC address.
enum MACNotation {
    case colonUpper, colonLower, dash, cisco, bare, bareLower
}

/// Serials, UUIDs, IMEIs and MACs of device `d`, derived from the seed and the device index only. Burned-in MACs
/// are unique by construction (a vendor OUI per role plus a bijection of the index), so any two devices that share a
/// valid MAC do so on purpose (shared docks).
extension DemoWorld {
    static let serialAlphabet: [UInt8] = Array("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ".utf8)
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
    static let placeholderSerials: [String] = ["To be filled by O.E.M.", "System Serial Number", "0", "", "Default string"]

    func deviceSeed(_ d: Int) -> UInt64 { DemoRandom.derive(seed, 0xDE00_0000_0000 &+ UInt64(d)) }

    /// The serial printed on the hardware (what a clean feed reports).
    func serial(_ d: Int) -> String {
        let dev = devices[d]
        if dev.quirks.contains(.placeholderSerial) {
            return DemoWorld.placeholderSerials[Int(deviceSeed(d) % UInt64(DemoWorld.placeholderSerials.count))]
        }
        var rng = DemoRandom(DemoRandom.derive(deviceSeed(d), 1))
        let prefix: String
        let length: Int
        switch dev.kind {
        case .mac:
            prefix = "C02"
            length = 9
        case .windows:
            prefix = "PF"
            length = 8
        case .linux:
            prefix = "FW"
            length = 10
        case .iPhone, .iPad:
            prefix = "F"
            length = 11
        case .android:
            prefix = "R5C"
            length = 9
        case .chromebook:
            prefix = "5CD"
            length = 9
        case .windowsVM, .linuxVM: return vmSerial(d)
        }
        var bytes: [UInt8] = Array(prefix.utf8)
        var bits: UInt64 = rng.next()
        for i in 0..<length {
            if i == 12 { bits = rng.next() }
            bytes.append(DemoWorld.serialAlphabet[Int(bits % 34)])
            bits /= 34
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// VMware's serial: `VMware-` and the BIOS UUID bytes in hex pairs.
    func vmSerial(_ d: Int) -> String {
        var rng = DemoRandom(DemoRandom.derive(deviceSeed(d), 2))
        var bytes: [UInt8] = Array("VMware-56 4d".utf8)
        var bits: UInt64 = rng.next()
        for i in 0..<14 {
            if i == 7 { bits = rng.next() }
            bytes.append(i == 6 ? UInt8(ascii: "-") : UInt8(ascii: " "))
            let b = Int(bits & 0xFF)
            bits >>= 8
            bytes.append(DemoWorld.hexDigits[b >> 4])
            bytes.append(DemoWorld.hexDigits[b & 15])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The hardware UUID (Apple's UDID for Macs and iPhones, SMBIOS UUID elsewhere), upper-case.
    func udid(_ d: Int) -> String {
        var rng = DemoRandom(DemoRandom.derive(deviceSeed(d), 3))
        let a = rng.next()
        let b = rng.next()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(36)
        for i in 0..<32 {
            if i == 8 || i == 12 || i == 16 || i == 20 { bytes.append(UInt8(ascii: "-")) }
            let word: UInt64 = i < 16 ? a : b
            let nibble = Int((word >> UInt64((i % 16) * 4)) & 15)
            bytes.append(DemoWorld.hexDigits[nibble])
        }
        return String(decoding: bytes, as: UTF8.self).uppercased()
    }

    /// A 15-digit IMEI (phones only).
    func imei(_ d: Int) -> String {
        var rng = DemoRandom(DemoRandom.derive(deviceSeed(d), 4))
        var v = rng.next() % 10_000_000_000_000
        var digits = [UInt8](repeating: 48, count: 15)
        digits[0] = UInt8(ascii: "3")
        digits[1] = UInt8(ascii: "5")
        for i in stride(from: 14, through: 2, by: -1) {
            digits[i] = 48 + UInt8(v % 10)
            v /= 10
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// Jamf's spacing of an IMEI: `35 209900 176148 1`.
    static func spacedIMEI(_ imei: String) -> String {
        let u = Array(imei.utf8)
        guard u.count == 15 else { return imei }
        return String(decoding: u[0..<2], as: UTF8.self) + " " + String(decoding: u[2..<8], as: UTF8.self) + " "
            + String(decoding: u[8..<14], as: UTF8.self) + " " + String(decoding: u[14..<15], as: UTF8.self)
    }

    /// Google's software-generated device id (16 hex digits).
    func googleDeviceID(_ d: Int) -> String {
        let v = DemoRandom.derive(deviceSeed(d), 5)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for i in 0..<16 { bytes.append(DemoWorld.hexDigits[Int((v >> UInt64(i * 4)) & 15)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static let wifiOUIs: [DemoKind: [UInt64]] = [
        .mac: [0xF01898, 0x3C22FB, 0xA483E7], .iPhone: [0x28CFE9, 0xD0817A], .iPad: [0x28CFE9, 0xD0817A],
        .windows: [0x8C8CAA, 0x3C6AA7], .linux: [0x7C2A31, 0x84FDD1], .android: [0x2C4D54, 0xF8E61A],
        .chromebook: [0xB4B686], .windowsVM: [0x005056], .linuxVM: [0x000C29]
    ]

    /// A burned-in MAC: role 0 Wi-Fi (OUI by kind), 1 wired Ethernet, 2 a dock (by dock id).
    func burnedInMAC(_ index: Int, role: Int, kind: DemoKind) -> UInt64 {
        let ouis: [UInt64]
        switch role {
        case 0: ouis = DemoWorld.wifiOUIs[kind] ?? [0x001B21]
        case 1: ouis = [0x54BF64, 0x482AE3]
        default: ouis = [0x00E04C, 0x9CEBE8]
        }
        let oui = ouis[index % ouis.count]
        let offset: UInt64 = DemoRandom.derive(seed, UInt64(role)) & 0xFF_FFFF
        let low: UInt64 = (UInt64(index / ouis.count) &* 0x5B_D1E9 &+ offset) & 0xFF_FFFF
        return (oui << 24) | low
    }

    func wifiMAC(_ d: Int) -> UInt64 { burnedInMAC(d, role: 0, kind: devices[d].kind) }
    func ethernetMAC(_ d: Int) -> UInt64 { burnedInMAC(d, role: 1, kind: devices[d].kind) }
    func dockMAC(_ d: Int) -> UInt64? {
        let dock = Int(devices[d].dock)
        return dock >= 0 ? burnedInMAC(dock, role: 2, kind: .mac) : nil
    }

    /// A randomized ("private") MAC: locally administered bit set, unicast.
    func randomizedMAC(_ d: Int, salt: UInt64) -> UInt64 {
        let v = DemoRandom.derive(deviceSeed(d), 0x4D41_4300 &+ salt) & 0xFFFF_FFFF_FFFF
        return (v | 0x0200_0000_0000) & ~UInt64(0x0100_0000_0000)
    }

    /// Docker's bridge MAC, the same on thousands of hosts (locally administered, so not an identifier).
    static let dockerMAC: UInt64 = 0x0242_AC11_0002
    /// VirtualBox host-only adapter MAC (locally administered).
    static let virtualBoxMAC: UInt64 = 0x0A00_2700_0000

    static func format(_ mac: UInt64, _ notation: MACNotation) -> String {
        let upper: [UInt8] = Array("0123456789ABCDEF".utf8)
        let lowerCase: Bool
        switch notation {
        case .colonLower, .dash, .cisco, .bareLower: lowerCase = true
        case .colonUpper, .bare: lowerCase = false
        }
        let digits = lowerCase ? hexDigits : upper
        var out: [UInt8] = []
        out.reserveCapacity(17)
        for i in 0..<12 {
            let nibble = Int((mac >> UInt64((11 - i) * 4)) & 15)
            switch notation {
            case .colonUpper, .colonLower: if i > 0 && i % 2 == 0 { out.append(UInt8(ascii: ":")) }
            case .dash: if i > 0 && i % 2 == 0 { out.append(UInt8(ascii: "-")) }
            case .cisco: if i > 0 && i % 4 == 0 { out.append(UInt8(ascii: ".")) }
            case .bare, .bareLower: break
            }
            out.append(digits[nibble])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
