import Foundation
import StethoscopeCore

/// What the Jamf source reads beyond the native fields: extension-attribute names and the extra practices.
struct JamfMapping: Sendable {
    var screenLockEA = "Screen Saver Lock Enabled"
    var remoteLoginEA = "Remote Login"
    var firewallEA = "Firewall Status"
    var wirelessMacEA = "Wireless Mac Address"
    /// The six Software Update EAs with their defaults (used when a value is neither True nor False).
    var autoUpdateEAs: [(name: String, default: Bool)] = [
        ("1 Auto Check For Updates Enabled", true), ("2 Get New Updates in Background Enabled", true),
        ("3 Install App Updates Enabled", false), ("4 Install OS X Updates Enabled", false),
        ("5 Install Security Updates Enabled", true), ("6 Install System Data Files Enabled", true)
    ]
    /// Off by default: `sip`, `gatekeeper`, `auto_login`.
    var extras: Set<String> = []

    static let extraPractices = ["sip", "gatekeeper", "auto_login"]

    /// Jamf says "Mac" for every computer; the lenient parse only runs for anything else.
    static func platform(_ text: String?) -> Platform {
        guard let text, text != "Mac" else { return .mac }
        return Platform(lenient: text) ?? .mac
    }

    /// The practices informed by extension attributes, given the EA values of one computer.
    func attributeObservations(_ ea: [String: String], firewallNative: Bool?, at: Date?) -> [Observation] {
        var out: [Observation] = []
        if firewallNative == nil, let v = ea[firewallEA], let state = Int(v.trimmingCharacters(in: .whitespaces)) {
            out.append(
                Observation(
                    "firewall", satisfied: state > 0, value: state > 0 ? "on (state \(state))" : "off",
                    details: "extension attribute \(firewallEA)", observedAt: at))
        }
        if let v = ea[screenLockEA], !v.isEmpty {
            out.append(Observation("screen_lock", satisfied: v == "Enabled", value: v, details: "extension attribute \(screenLockEA)", observedAt: at))
        }
        if let v = ea[remoteLoginEA], !v.isEmpty {
            let off = v.caseInsensitiveCompare("Off") == .orderedSame
            out.append(
                Observation(
                    "remote_login", satisfied: off, value: "remote login \(v.lowercased())",
                    details: "extension attribute \(remoteLoginEA)", observedAt: at))
        }
        // Every value that is neither True nor False (missing included) takes its default (README, "Vendor notes"), also when none
        // of the six is reported: the defaults then say "off" for app and OS X updates, as Netflix's rule did.
        let reported = autoUpdateEAs.contains(where: { ea[$0.name] != nil })
        var off: [String] = []
        for setting in autoUpdateEAs {
            let raw = ea[setting.name]
            let on = raw == "True" ? true : raw == "False" ? false : setting.default
            if !on { off.append(setting.name) }
        }
        out.append(
            Observation(
                "auto_updates", satisfied: off.isEmpty, value: off.isEmpty ? "all automatic updates on" : "off: " + off.joined(separator: ", "),
                details: reported ? nil : "no Software Update extension attribute reported; defaults applied",
                observedAt: at))
        return out
    }

    /// Pro API computer → source record.
    func record(_ c: JamfComputer, source: String) -> SourceRecord {
        let g = c.general
        let hw = c.hardware
        let os = c.operatingSystem
        var ea: [String: String] = [:]
        for list in [c.extensionAttributes, g?.extensionAttributes, hw?.extensionAttributes, os?.extensionAttributes, c.userAndLocation?.extensionAttributes] {
            for a in list ?? [] { if let v = a.values?.first ?? nil { ea[a.name] = v } }
        }
        let reported = ISODate.parse(g?.reportDate)
        let contact = ISODate.parse(g?.lastContactTime ?? g?.lastContact)
        var r = SourceRecord(
            source: source, localID: c.id, platform: JamfMapping.platform(g?.platform),
            osName: os?.name, osVersion: os?.version, model: hw?.model, deviceName: g?.name)
        let newest = max(reported ?? .distantPast, contact ?? .distantPast)
        r.lastSync = newest == .distantPast ? nil : newest
        if let s = hw?.serialNumber, !s.isEmpty { r.identifiers.append(RawIdentifier(.serial, s)) }
        if let u = c.udid, !u.isEmpty { r.identifiers.append(RawIdentifier(.udid, u)) }
        for mac in [hw?.macAddress, hw?.altMacAddress, ea[wirelessMacEA]] {
            if let mac, !mac.isEmpty { r.identifiers.append(RawIdentifier(.mac, mac)) }
        }
        if let e = c.userAndLocation?.email, !e.isEmpty { r.ownerHints.append(OwnerHint(.email, e)) }
        if let u = c.userAndLocation?.username, !u.isEmpty {
            r.ownerHints.append(OwnerHint(.username, u))
        } else if let u = g?.lastLoggedInUsernameBinary, !u.isEmpty {
            r.ownerHints.append(OwnerHint(.username, u))
        }

        let at = reported ?? contact
        if let e = encryption(c.diskEncryption, os?.fileVault2Status) {
            r.observations.append(Observation("encryption", satisfied: e.ok, value: e.value, observedAt: at))
        }
        let firewall = c.security?.firewallEnabled
        if let firewall {
            r.observations.append(Observation("firewall", satisfied: firewall, value: firewall ? "on" : "off", observedAt: at))
        }
        r.observations += attributeObservations(ea, firewallNative: firewall, at: at)
        if let s = c.security {
            r.observations += extraObservations(sip: s.sipStatus, gatekeeper: s.gatekeeperStatus, autoLoginDisabled: s.autoLoginDisabled, at: at)
        }
        r.software = c.applications.map { $0.compactMap { a in a.name.map { Software($0, version: a.version) } } }
        r.services = c.services.map { $0.compactMap { s in s.name.map { Software($0) } } }
        return r
    }

    /// FileVault from the boot partition's state, else the OS-level status, else the enabled flag.
    func encryption(_ d: JamfComputer.DiskEncryption?, _ status: String?) -> (ok: Bool, value: String)? {
        if let boot = d?.bootPartitionEncryptionDetails, let state = boot.partitionFileVault2State, state != "UNKNOWN" {
            let percent = boot.partitionFileVault2Percent
            switch state {
            case "ENCRYPTED": return (true, "FileVault 2 encrypted")
            case "ENCRYPTING", "ENCRYPTING_PAUSED", "OPTIMIZING", "RESTART_NEEDED":
                return (false, "FileVault 2 \(state.lowercased().replacingOccurrences(of: "_", with: " ")) (in progress\(percent.map { ", \($0)%" } ?? ""))")
            default: return (false, "FileVault 2 \(state.lowercased())")
            }
        }
        switch status {
        case "BOOT_ENCRYPTED", "ALL_ENCRYPTED": return (true, "FileVault 2 \(status!.lowercased().replacingOccurrences(of: "_", with: " "))")
        case "NOT_ENCRYPTED", "SOME_ENCRYPTED": return (false, "FileVault 2 \(status!.lowercased().replacingOccurrences(of: "_", with: " "))")
        default: break
        }
        if let enabled = d?.fileVault2Enabled { return (enabled, enabled ? "FileVault 2 enabled" : "FileVault 2 off") }
        return nil
    }

    func extraObservations(sip: String?, gatekeeper: String?, autoLoginDisabled: Bool?, at: Date?) -> [Observation] {
        var out: [Observation] = []
        if extras.contains("sip"), let sip {
            let u = sip.uppercased()
            if u == "ENABLED" || u == "DISABLED" { out.append(Observation("sip", satisfied: u == "ENABLED", value: "SIP \(u.lowercased())", observedAt: at)) }
        }
        if extras.contains("gatekeeper"), let gatekeeper, !gatekeeper.uppercased().hasPrefix("NOT_COLLECTED") {
            let off = gatekeeper.uppercased() == "DISABLED"
            out.append(Observation("gatekeeper", satisfied: !off, value: off ? "Gatekeeper disabled" : "Gatekeeper on", details: gatekeeper, observedAt: at))
        }
        if extras.contains("auto_login"), let autoLoginDisabled {
            out.append(
                Observation("auto_login", satisfied: autoLoginDisabled, value: autoLoginDisabled ? "automatic login off" : "automatic login on", observedAt: at)
            )
        }
        return out
    }

    /// Classic API computer → source record, with the same practices.
    func record(_ c: ClassicComputer, source: String) -> SourceRecord? {
        guard let g = c.general else { return nil }
        var ea: [String: String] = [:]
        for a in c.extension_attributes ?? [] { if let v = a.value { ea[a.name] = v } }
        let reported = ISODate.parse(g.report_date_utc)
        let contact = ISODate.parse(g.last_contact_time_utc)
        var r = SourceRecord(
            source: source, localID: String(g.id), platform: g.platform.flatMap { Platform(lenient: $0) } ?? .mac,
            osName: c.hardware?.os_name, osVersion: c.hardware?.os_version, model: c.hardware?.model, deviceName: g.name)
        let newest = max(reported ?? .distantPast, contact ?? .distantPast)
        r.lastSync = newest == .distantPast ? nil : newest
        if let s = g.serial_number, !s.isEmpty { r.identifiers.append(RawIdentifier(.serial, s)) }
        if let u = g.udid, !u.isEmpty { r.identifiers.append(RawIdentifier(.udid, u)) }
        for mac in [g.mac_address, g.alt_mac_address, ea[wirelessMacEA]] {
            if let mac, !mac.isEmpty { r.identifiers.append(RawIdentifier(.mac, mac)) }
        }
        if let e = c.location?.email_address, !e.isEmpty { r.ownerHints.append(OwnerHint(.email, e)) }
        if let u = c.location?.username, !u.isEmpty { r.ownerHints.append(OwnerHint(.username, u)) }
        let at = reported ?? contact
        if let e = classicEncryption(c.hardware?.storage) {
            r.observations.append(Observation("encryption", satisfied: e.ok, value: e.value, observedAt: at))
        }
        let firewall = c.security?.firewall_enabled
        if let firewall {
            r.observations.append(Observation("firewall", satisfied: firewall, value: firewall ? "on" : "off", observedAt: at))
        }
        r.observations += attributeObservations(ea, firewallNative: firewall, at: at)
        let sip = c.hardware?.sip_status.map { $0.uppercased().replacingOccurrences(of: " ", with: "_") }
        let gatekeeper = c.hardware?.gatekeeper_status.map { $0.uppercased() == "DISABLED" ? "DISABLED" : $0 }
        r.observations += extraObservations(sip: sip, gatekeeper: gatekeeper, autoLoginDisabled: nil, at: at)
        r.software = c.software?.applications.map { $0.compactMap { a in a.name.map { Software($0, version: a.version) } } }
        r.services = c.software?.running_services.map { $0.map { Software($0) } }
        return r
    }

    /// Netflix's Classic rule: every partition of every real disk, recovery partitions aside, must be "Encrypted".
    func classicEncryption(_ storage: [ClassicComputer.Storage]?) -> (ok: Bool, value: String)? {
        var seen = false
        var bad: [String] = []
        for disk in storage ?? [] where (disk.drive_capacity_mb ?? 0) > 0 {
            for p in (disk.partitions ?? []) + (disk.partition.map { [$0] } ?? []) {
                let name = p.name ?? "?"
                if name.hasPrefix("Recovery") { continue }
                seen = true
                let status = p.filevault2_status ?? "Unknown"
                if status != "Encrypted" {
                    bad.append(
                        "\(name): \(status == "Not Supported" ? "Not Encrypted" : status)\(p.filevault2_percent.map { $0 > 0 && $0 < 100 ? " (\($0)%)" : "" } ?? "")"
                    )
                }
            }
        }
        guard seen else { return nil }
        return bad.isEmpty ? (true, "FileVault 2 encrypted") : (false, bad.joined(separator: "; "))
    }
}
