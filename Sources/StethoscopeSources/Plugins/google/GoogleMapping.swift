import Foundation
import StethoscopeCore

/// Directory API devices → source records, per this folder's README ("Practices informed", "Vendor notes").
enum GoogleMapping {
    /// `"Android 8.0.0"`, `"iOS 11.3"`, `"Mac OS X 10.15.7"` → (name, version): the version is the last word
    /// that starts with a digit, the name what comes before it.
    static func splitOS(_ text: String?) -> (name: String?, version: String?) {
        guard let text = text.nonEmpty else { return (nil, nil) }
        let words = text.split(separator: " ")
        guard let i = words.lastIndex(where: { $0.first?.isNumber == true }) else { return (text, nil) }
        let name = words[..<i].joined(separator: " ")
        return (name.isEmpty ? nil : name, String(words[i]))
    }

    static func mobilePlatform(_ type: String?, osName: String?) -> Platform? {
        switch type?.uppercased() {
        case "ANDROID": return .android
        case "IOS_SYNC": return .iOS
        default: return osName.flatMap { Platform(lenient: $0) } ?? (osName?.lowercased().hasPrefix("mac") == true ? .mac : nil)
        }
    }

    static func mobile(_ d: MobileDevice, source: String) -> SourceRecord {
        let os = splitOS(d.os)
        let platform = mobilePlatform(d.type, osName: os.name)
        var r = SourceRecord(
            source: source, localID: d.resourceId, platform: platform, osName: os.name,
            osVersion: os.version ?? d.releaseVersion.nonEmpty, model: d.model.nonEmpty)
        r.lastSync = ISODate.parse(d.lastSync)
        if let s = d.serialNumber.nonEmpty { r.identifiers.append(RawIdentifier(.serial, s)) }
        if let id = d.deviceId.nonEmpty {
            if d.type?.uppercased() == "GOOGLE_SYNC" {
                // Google Sync's deviceId is documented as the device serial but is not always one, so it keeps a
                // kind of its own: filed as a second serial, the merge would drop it. It stands in for the serial
                // only when Google sent none, so a Mac seen by Jamf and by Google Sync still merges.
                r.identifiers.append(RawIdentifier(.googleDeviceID, id))
                if d.serialNumber.nonEmpty == nil { r.identifiers.append(RawIdentifier(.serial, id)) }
            } else {
                r.identifiers.append(RawIdentifier(.deviceID, id))  // Android and iOS: a generated id
            }
        }
        if let v = d.imei.nonEmpty { r.identifiers.append(RawIdentifier(.imei, v)) }
        if let v = d.meid.nonEmpty { r.identifiers.append(RawIdentifier(.meid, v)) }
        if let v = d.hardwareId.nonEmpty, v != d.imei.nonEmpty, v != d.meid.nonEmpty {
            let digits = v.filter(\.isNumber).count
            r.identifiers.append(RawIdentifier(digits == v.count && digits >= 15 ? .imei : .meid, v))
        }
        if let v = d.wifiMacAddress.nonEmpty { r.identifiers.append(RawIdentifier(.mac, v)) }
        if let e = d.email?.first(where: { !$0.isEmpty }) { r.ownerHints.append(OwnerHint(.email, e)) }

        let at = r.lastSync
        func add(_ key: String, _ ok: Bool?, _ value: String) {
            guard let ok else { return }  // "Undetected"/"Unknown" say nothing; they must not mask another source
            r.observations.append(Observation(key, satisfied: ok, value: value, details: "Google endpoint management", observedAt: at))
        }
        if let s = d.deviceCompromisedStatus.nonEmpty {
            let l = s.lowercased()
            add("jailbreak", l == "no compromise detected" ? true : l == "compromise detected" ? false : nil, s)
        }
        if let s = d.encryptionStatus.nonEmpty { add("encryption", s.lowercased() == "encrypted", s) }
        if let s = d.devicePasswordStatus.nonEmpty {
            let l = s.lowercased()
            add("screen_lock", l == "on" ? true : l == "off" ? false : nil, "device password \(l)")
        }
        if platform == .android {
            if let b = d.adbStatus { add("adb", !b, b ? "USB debugging on" : "USB debugging off") }
            if let b = d.developerOptionsStatus { add("developer_options", !b, b ? "developer options on" : "developer options off") }
            // Android 8 made unknown sources a per-app permission: the device-wide flag means nothing there, and
            // the practice does not apply (`na`, not `unknown`).
            let version = (os.version ?? d.releaseVersion).flatMap(VersionNumber.init)
            if let version, version >= VersionNumber("8")! {
                r.observations.append(
                    .notApplicable(
                        "unknown_sources", value: "Android \(version): unknown sources is a per-app permission",
                        details: "Google endpoint management", observedAt: at))
            } else if let b = d.unknownSourcesStatus {
                add("unknown_sources", !b, b ? "unknown sources allowed" : "unknown sources blocked")
            }
        }
        return r
    }

    /// `nil` for deprovisioned Chromebooks: they left the fleet and are no one's device any more.
    static func chromeOS(_ d: ChromeDevice, source: String, now: Date) -> SourceRecord? {
        if d.status?.uppercased() == "DEPROVISIONED" { return nil }
        var r = SourceRecord(
            source: source, localID: d.deviceId, platform: .chromeOS, osName: "ChromeOS",
            osVersion: d.osVersion.nonEmpty, model: d.model.nonEmpty, deviceName: d.annotatedAssetId.nonEmpty)
        r.lastSync = ISODate.parse(d.lastSync)
        if let s = d.serialNumber.nonEmpty { r.identifiers.append(RawIdentifier(.serial, s)) }
        r.identifiers.append(RawIdentifier(.deviceID, d.deviceId))
        // The dock's MAC is shared by every Chromebook plugged into it: not an identifier.
        for mac in [d.macAddress, d.ethernetMacAddress, d.ethernetMacAddress0] {
            if let m = mac.nonEmpty { r.identifiers.append(RawIdentifier(.mac, m)) }
        }
        if let v = d.meid.nonEmpty { r.identifiers.append(RawIdentifier(.meid, v)) }
        if let u = d.recentUsers?.first, u.type == "USER_TYPE_MANAGED", let e = u.email.nonEmpty { r.ownerHints.append(OwnerHint(.email, e)) }
        if let e = d.annotatedUser.nonEmpty { r.ownerHints.append(OwnerHint(.email, e)) }

        let at = r.lastSync
        r.observations.append(Observation("encryption", satisfied: true, value: "ChromeOS user data is always encrypted", observedAt: at))
        if let mode = d.bootMode.nonEmpty {
            let l = mode.lowercased()
            let verified = l == "verified" || l == "validated"
            r.observations.append(Observation("verified_boot", satisfied: verified, value: "boot mode \(mode)", observedAt: at))
            r.observations.append(Observation("developer_options", satisfied: l != "dev", value: l == "dev" ? "developer mode" : "normal mode", observedAt: at))
        }
        if let (end, day) = d.autoUpdateEnd {
            let ok = end > now
            r.observations.append(
                Observation(
                    "auto_updates", satisfied: ok, value: ok ? "updates until \(day)" : "auto-update expired \(day)",
                    details: d.osUpdateStatus?.state, observedAt: at))
            // Past its auto-update expiration a Chromebook gets no more ChromeOS updates: it cannot be up to date,
            // whatever its version number says today.
            if !ok {
                r.observations.append(
                    Observation(
                        "os_version", satisfied: false, value: "auto-update expired \(day)",
                        details: "no ChromeOS updates after the auto-update expiration (AUE)", observedAt: at))
            }
        }
        return r
    }
}

extension ChromeDevice {
    /// The auto-update expiration (AUE) and its day as text: `autoUpdateThrough` (a date-time or a date), else
    /// the deprecated `autoUpdateExpiration` (milliseconds since 1970, an int64 Google sends as a string).
    var autoUpdateEnd: (Date, String)? {
        if let text = autoUpdateThrough.nonEmpty {
            let full = text.count == 10 ? text + "T00:00:00Z" : text
            return ISODate.parse(full).map { ($0, String(text.prefix(10))) }
        }
        guard let ms = autoUpdateExpiration?.text.flatMap(Double.init), ms > 0 else { return nil }
        let date = Date(timeIntervalSince1970: ms / 1000)
        return (date, String(ISO8601DateFormatter().string(from: date).prefix(10)))
    }
}
