import Foundation
import StethoscopeCore

/// What a result column can mean: the targets of a query's `columns:` mapping (field → column name).
///
/// Any query may fill any field; rows are joined to devices by `id`. Scalar fields keep the first
/// non-NULL value seen for a device, so duplicate rows from one-to-many joins do no harm; list fields
/// (`mac`, software, findings, firewall, BitLocker volumes) collect every row.
enum SQLField: String, CaseIterable, Sendable {
    case id, name
    case deviceID = "device_id"
    case serial, mac, email, upn, username
    case model, manufacturer
    case systemVersion = "system_version"
    case lastSync = "last_sync"
    case hwScan = "hw_scan"
    case swScan = "sw_scan"
    case osName = "os_name"
    case osVersion = "os_version"
    case osBuild = "os_build"
    case osRelease = "os_release"
    case bitlockerProtection = "bitlocker_protection"
    case bitlockerConversion = "bitlocker_conversion"
    case bitlockerPercent = "bitlocker_percent"
    /// Yes/No-style (`Yes`, `No`, `1`, `0`, `true`, `Not Installed`): any off means off.
    case firewall
    /// A Security Center `productState` (MECM's `v_GS_FIREWALL_PRODUCT`): bit 12 set means enabled.
    case firewallProductState = "firewall_product_state"
    case screenLock = "screen_lock"
    case autoUpdates = "auto_updates"
    case remoteLogin = "remote_login"
    case softwareName = "software_name"
    case softwareVersion = "software_version"
    case findingID = "finding_id"
    case findingReason = "finding_reason"

    /// The field's position in `SQLDeviceSet.slots` (a switch: no hashing per value).
    var index: Int {
        switch self {
        case .id: return 0
        case .name: return 1
        case .deviceID: return 2
        case .serial: return 3
        case .mac: return 4
        case .email: return 5
        case .upn: return 6
        case .username: return 7
        case .model: return 8
        case .manufacturer: return 9
        case .systemVersion: return 10
        case .lastSync: return 11
        case .hwScan: return 12
        case .swScan: return 13
        case .osName: return 14
        case .osVersion: return 15
        case .osBuild: return 16
        case .osRelease: return 17
        case .bitlockerProtection: return 18
        case .bitlockerConversion: return 19
        case .bitlockerPercent: return 20
        case .firewall: return 21
        case .firewallProductState: return 22
        case .screenLock: return 23
        case .autoUpdates: return 24
        case .remoteLogin: return 25
        case .softwareName: return 26
        case .softwareVersion: return 27
        case .findingID: return 28
        case .findingReason: return 29
        }
    }

    /// Fields whose every row counts rather than the first.
    var isList: Bool {
        switch self {
        case .mac, .bitlockerProtection, .bitlockerConversion, .bitlockerPercent, .firewall, .firewallProductState,
            .softwareName, .softwareVersion, .findingID, .findingReason:
            return true
        default: return false
        }
    }
}

/// One query of a source: its SQL and which column feeds which field.
struct SQLQuery: Sendable, Equatable {
    var name: String
    var sql: String
    var columns: [SQLField: String]
}

/// Yes/no readings as inventory databases spell them; anything else ("Not Installed", "2 - unknown") is no reading.
enum Flag {
    /// `text` comes trimmed. Compared byte by byte (ASCII case folded): this runs for several columns of
    /// every row, where `lowercased()` and Foundation's `contains` showed.
    static func parse(_ text: String) -> Bool? {
        var text = text
        return text.withUTF8 { b -> Bool? in
            if b.count <= 8 {
                var key: UInt64 = 0
                for (i, c) in b.enumerated() { key |= UInt64(c >= 65 && c <= 90 ? c | 0x20 : c) << (8 * UInt64(i)) }
                if let known = words[key] { return known }
            }
            // "1 - on", "0 - off": LANDESK's coded text.
            guard let code = leadingInt(b), containsDash(b) else { return nil }
            return code == 1 ? true : code == 0 ? false : nil
        }
    }

    /// The yes/no words, as little-endian bytes of their lower-case spelling.
    private static let words: [UInt64: Bool] = {
        var out: [UInt64: Bool] = [:]
        for (word, value) in [
            ("1", true), ("yes", true), ("y", true), ("true", true), ("t", true), ("on", true), ("enabled", true), ("-1", true),
            ("0", false), ("no", false), ("n", false), ("false", false), ("f", false), ("off", false), ("disabled", false)
        ] {
            var key: UInt64 = 0
            for (i, c) in word.utf8.enumerated() { key |= UInt64(c) << (8 * UInt64(i)) }
            out[key] = value
        }
        return out
    }()

    private static func containsDash(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 3 else { return false }
        for i in 0...(b.count - 3) where b[i] == 32 && b[i + 1] == 45 && b[i + 2] == 32 { return true }
        return false
    }

    static func leadingInt(_ text: String) -> Int? {
        var text = text
        return text.withUTF8 { leadingInt($0) }
    }

    /// The integer a text starts with ("1 - fully encrypted" → 1, "100.0" → 100).
    static func leadingInt(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
        var value = 0
        var digits = 0
        for ch in text {
            if ch == 32 && digits == 0 { continue }
            guard ch >= 48 && ch <= 57 else { break }
            value = value &* 10 &+ Int(ch - 48)
            digits += 1
        }
        return digits == 0 ? nil : value
    }
}

/// Naive `yyyy-mm-dd hh:mm:ss[.fff]` (ODBC's text form of timestamps) in the database's time zone; an
/// explicit offset (`+00`, `+05:30`, `Z`) wins over the zone. Computed by hand: `Calendar` costs
/// microseconds per call, which shows at hundreds of thousands of rows.
struct SQLTimestamp: Sendable {
    let timeZone: TimeZone
    private let fixedOffset: Int?

    init(timeZone: TimeZone) {
        self.timeZone = timeZone
        fixedOffset = timeZone.identifier == "UTC" || timeZone.identifier == "GMT" ? 0 : nil
    }

    func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    private func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
        guard b.count >= 10 else { return nil }
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= b.count else { return nil }
            var v = 0
            for i in from..<(from + n) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
            (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        var seconds = AsOfDate.daysFromCivil(y, mo, d) * 86400
        var i = 10
        if b.count >= 19, b[10] == 32 || b[10] == 84, let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2) {
            seconds += h * 3600 + mi * 60 + s
            i = 19
            while i < b.count, b[i] == 46 || (b[i] >= 48 && b[i] <= 57) { i += 1 }  // fraction: dropped
        }
        if i < b.count, b[i] == 90 { return Date(timeIntervalSince1970: Double(seconds)) }
        if i < b.count, b[i] == 43 || b[i] == 45, let oh = num(i + 1, 2) {
            var minutes = 0
            if i + 3 < b.count, b[i + 3] == 58, let om = num(i + 4, 2) { minutes = om } else if let om = num(i + 3, 2) { minutes = om }
            let offset = (oh * 3600 + minutes * 60) * (b[i] == 45 ? -1 : 1)
            return Date(timeIntervalSince1970: Double(seconds - offset))
        }
        if let fixedOffset { return Date(timeIntervalSince1970: Double(seconds - fixedOffset)) }
        // Local wall time: the zone's offset at that instant (checked twice around DST changes).
        let guess = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds - guess)))
        return Date(timeIntervalSince1970: Double(seconds - offset))
    }
}
