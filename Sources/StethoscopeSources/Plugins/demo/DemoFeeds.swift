import Foundation
import StethoscopeCore

/// One record a feed emits on a night: the device and which copy (1: a stale duplicate enrolment).
struct DemoRecordRef {
    var device: Int32
    var copy: UInt8
}

/// Turns the world into each feed's records, shaped like the vendor the feed imitates: Jamf (Macs, iPhones),
/// a LANDESK-like MDM (Windows), Google (phones, ChromeOS, sync devices), Fleet/osquery (Linux, some Macs and
/// Windows). Identifier spellings and gaps follow those vendors (see README.md).
extension DemoWorld {
    /// The records `feed` emits on `night`, in a stable order.
    func plan(_ feed: DemoFeed, night: Int) -> [DemoRecordRef] {
        var out: [DemoRecordRef] = []
        out.reserveCapacity(devices.count)
        let bit = feed.bit
        for d in devices.indices {
            let dev = devices[d]
            guard dev.feeds & bit != 0, Int(dev.arrive) <= night, night < Int(dev.retire) else { continue }
            out.append(DemoRecordRef(device: Int32(d), copy: 0))
            if dev.quirks.contains(.duplicate) && primaryFeed(dev) == feed {
                out.append(DemoRecordRef(device: Int32(d), copy: 1))
            }
        }
        return out
    }

    func primaryFeed(_ dev: DemoDevice) -> DemoFeed {
        for f in DemoFeed.allCases where dev.feeds & f.bit != 0 { return f }
        return .fleet
    }

    /// The vendor's own id of a record: numeric for Jamf, LANDESK and Fleet, opaque for Google.
    func localID(_ feed: DemoFeed, _ ref: DemoRecordRef) -> String {
        let n: Int = Int(ref.device) * 2 + Int(ref.copy) + 1
        switch feed {
        case .jamf, .mdm, .fleet: return String(n)
        case .google: return "AFiQx" + String(n, radix: 36)
        }
    }

    /// Every record `feed` emits on `night`, under the given source name.
    public func records(_ feed: DemoFeed, night: Int, source: String) -> [SourceRecord] {
        let refs = plan(feed, night: night)
        var out: [SourceRecord] = []
        out.reserveCapacity(refs.count)
        for ref in refs { out.append(record(feed, ref, night: night, source: source)) }
        return out
    }

    /// "source/localID" → device index for every record the feeds emit on `night` (as if no feed were down).
    /// `sourceNames` maps a feed to its source name in config; a feed not given is named after itself, as in
    /// `DemoPlugin.demoConfigYAML`.
    public func groundTruth(night: Int, sourceNames: [DemoFeed: String] = [:]) -> [String: Int] {
        var truth: [String: Int] = [:]
        for feed in DemoFeed.allCases {
            let name = sourceNames[feed] ?? feed.rawValue
            for ref in plan(feed, night: night) { truth[name + "/" + localID(feed, ref)] = Int(ref.device) }
        }
        return truth
    }

    // MARK: One record

    func record(_ feed: DemoFeed, _ ref: DemoRecordRef, night: Int, source: String) -> SourceRecord {
        let d = Int(ref.device)
        let dev = devices[d]
        // Per device and feed: stable spelling quirks. Per night: sync time.
        var stable = DemoRandom(DemoRandom.derive(deviceSeed(d), 0xF000 &+ UInt64(feed.bit) &* 2 &+ UInt64(ref.copy)))
        var nightly = DemoRandom(DemoRandom.derive(stable.next(), UInt64(night)))
        var eff = effectiveNight(d, night)
        if ref.copy == 1 { eff = max(Int(dev.arrive), min(eff, -5 - stable.int(60))) }
        let seconds: Double = Double(3600 + nightly.int(20 * 3600))
        let lastSync = Date(timeIntervalSince1970: Double(startDay + eff) * 86400 + seconds)
        let platform = dev.kind.platform
        let owner = Int(dev.owner)
        var r = SourceRecord(
            source: source, localID: localID(feed, ref), platform: platform, osName: DemoOSLine.all[platform]!.name,
            osVersion: osVersion(d, eff), model: DemoWorld.model(dev.kind, deviceSeed(d)),
            deviceName: usernames[owner] + DemoWorld.nameSuffix(dev.kind), lastSync: lastSync,
            isVirtual: dev.kind == .windowsVM || dev.kind == .linuxVM)
        let hasOwner = !dev.quirks.contains(.noOwnerHint)
        switch feed {
        case .jamf:
            r.identifiers = jamfIdentifiers(d, &stable)
            if hasOwner { r.ownerHints = [OwnerHint(.email, emails[owner]), OwnerHint(.username, usernames[owner])] }
            if dev.kind == .mac {
                r.observations = observe(d, eff, lastSync, DemoFeeds.jamfMac)
                r.software = DemoFeeds.software(.jamf, carbonBlack(d, eff))
            } else {
                r.observations = observe(d, eff, lastSync, DemoFeeds.jamfMobile)
            }
        case .mdm:
            r.identifiers = mdmIdentifiers(d, &stable)
            if hasOwner { r.ownerHints = [OwnerHint(.email, emails[owner])] }
            r.observations = observe(d, eff, lastSync, DemoFeeds.mdmWindows)
            r.software = DemoFeeds.software(.mdm, carbonBlack(d, eff))
        case .google:
            r.identifiers = googleIdentifiers(d, &stable)
            if hasOwner { r.ownerHints = [OwnerHint(.email, emails[owner])] }
            switch dev.kind {
            case .android: r.observations = observe(d, eff, lastSync, DemoFeeds.googleAndroid)
            case .iPhone, .iPad: r.observations = observe(d, eff, lastSync, DemoFeeds.googleIOS)
            case .chromebook:
                r.observations = observe(d, eff, lastSync, DemoFeeds.googleChrome)
                // Developer boot mode is both unverified boot and developer options on, as the google plugin maps it.
                if let boot = r.observations.first(where: { $0.practice == "verified_boot" }) {
                    r.observations.append(Observation("developer_options", satisfied: boot.satisfied, value: boot.value, observedAt: boot.observedAt))
                }
            default: break  // Google sync sees Macs and PCs but reports no posture for them
            }
        case .fleet:
            r.identifiers = fleetIdentifiers(d, &stable)
            if hasOwner && stable.chance(0.75) { r.ownerHints = [OwnerHint(.email, emails[owner])] }
            switch dev.kind {
            case .linux, .linuxVM: r.observations = observe(d, eff, lastSync, DemoFeeds.fleetLinux)
            case .mac: r.observations = observe(d, eff, lastSync, DemoFeeds.fleetMac)
            default: r.observations = observe(d, eff, lastSync, DemoFeeds.fleetWindows)
            }
            r.software =
                dev.kind == .linux || dev.kind == .linuxVM
                ? DemoFeeds.linuxSoftware : DemoFeeds.software(.fleet, carbonBlack(d, eff))
        }
        return r
    }

    /// The serial as a sloppy feed spells it: sometimes lower-cased, sometimes padded with spaces.
    func spelledSerial(_ d: Int, _ rng: inout DemoRandom, lower: Double, padded: Double) -> String {
        let s = serial(d)
        let u = rng.unit()
        if u < lower { return s.lowercased() }
        if u < lower + padded { return "  " + s + " " }
        return s
    }

    func wifiOrRandom(_ d: Int, salt: UInt64) -> UInt64 {
        devices[d].quirks.contains(.randomMAC) ? randomizedMAC(d, salt: salt) : wifiMAC(d)
    }

    func jamfIdentifiers(_ d: Int, _ rng: inout DemoRandom) -> [RawIdentifier] {
        let dev = devices[d]
        var ids: [RawIdentifier] = [
            RawIdentifier(.serial, spelledSerial(d, &rng, lower: 0.03, padded: 0.02)),
            RawIdentifier(.udid, udid(d)),
            RawIdentifier(.mac, DemoWorld.format(wifiOrRandom(d, salt: 1), .colonUpper))
        ]
        if dev.kind == .iPhone { ids.append(RawIdentifier(.imei, DemoWorld.spacedIMEI(imei(d)))) }
        if let dock = dockMAC(d) { ids.append(RawIdentifier(.mac, DemoWorld.format(dock, .colonUpper))) }
        return ids
    }

    func mdmIdentifiers(_ d: Int, _ rng: inout DemoRandom) -> [RawIdentifier] {
        let notation: MACNotation = rng.chance(0.15) ? .dash : .bare
        var ids: [RawIdentifier] = [
            RawIdentifier(.serial, spelledSerial(d, &rng, lower: 0.03, padded: 0.05)),
            RawIdentifier(.mac, DemoWorld.format(wifiOrRandom(d, salt: 2), notation))
        ]
        if rng.chance(0.5) { ids.append(RawIdentifier(.mac, DemoWorld.format(ethernetMAC(d), notation))) }
        if let dock = dockMAC(d) { ids.append(RawIdentifier(.mac, DemoWorld.format(dock, notation))) }
        if rng.chance(0.1) { ids.append(RawIdentifier(.mac, DemoWorld.format(DemoWorld.virtualBoxMAC | UInt64(1 + rng.int(9)), .bare))) }
        return ids
    }

    func googleIdentifiers(_ d: Int, _ rng: inout DemoRandom) -> [RawIdentifier] {
        let dev = devices[d]
        switch dev.kind {
        case .android, .iPhone, .iPad:
            var ids: [RawIdentifier] = [RawIdentifier(.serial, serial(d)), RawIdentifier(.deviceID, googleDeviceID(d))]
            if dev.kind != .iPad { ids.append(RawIdentifier(.imei, imei(d))) }
            // Phones use private Wi-Fi addresses: half report a randomized MAC.
            let mac: UInt64 = rng.chance(0.5) ? randomizedMAC(d, salt: 3) : wifiOrRandom(d, salt: 4)
            ids.append(RawIdentifier(.mac, DemoWorld.format(mac, .colonLower)))
            return ids
        case .chromebook:
            var ids: [RawIdentifier] = [
                RawIdentifier(.serial, serial(d)), RawIdentifier(.deviceID, googleDeviceID(d)),
                RawIdentifier(.mac, DemoWorld.format(wifiMAC(d), rng.chance(0.1) ? .cisco : .bareLower))
            ]
            if rng.chance(0.2) { ids.append(RawIdentifier(.mac, DemoWorld.format(ethernetMAC(d), .bareLower))) }
            return ids
        default:
            // Google Sync on a Mac or PC: the device id is the serial, often lower-cased.
            let s = spelledSerial(d, &rng, lower: 0.3, padded: 0)
            var ids: [RawIdentifier] = [RawIdentifier(.serial, s), RawIdentifier(.deviceID, s)]
            if rng.chance(0.5) { ids.append(RawIdentifier(.mac, DemoWorld.format(wifiOrRandom(d, salt: 5), .colonLower))) }
            return ids
        }
    }

    func fleetIdentifiers(_ d: Int, _ rng: inout DemoRandom) -> [RawIdentifier] {
        let dev = devices[d]
        if dev.quirks.contains(.noIdentifier) {
            return [RawIdentifier(.serial, serial(d)), RawIdentifier(.mac, DemoWorld.format(DemoWorld.dockerMAC, .colonLower))]
        }
        var primary: UInt64 = wifiOrRandom(d, salt: 6)
        if dev.kind == .linux, let dock = dockMAC(d) { primary = dock }
        // osquery's primary_mac is sometimes a container bridge; placeholder-serial machines keep a real one.
        if !dev.quirks.contains(.placeholderSerial) && rng.chance(0.05) { primary = DemoWorld.dockerMAC }
        let s = spelledSerial(d, &rng, lower: 0.05, padded: 0)
        return [RawIdentifier(.serial, s), RawIdentifier(.udid, udid(d)), RawIdentifier(.mac, DemoWorld.format(primary, .colonLower))]
    }

    func observe(_ d: Int, _ night: Int, _ at: Date, _ spec: [DemoObservationSpec]) -> [Observation] {
        var out: [Observation] = []
        out.reserveCapacity(spec.count)
        for s in spec {
            let bad = failing(d, s.practice, night)
            out.append(Observation(s.practice.key, satisfied: !bad, value: bad ? s.failValue : s.okValue, observedAt: at))
        }
        return out
    }

    static let models: [DemoKind: [String]] = [
        .mac: ["MacBook Pro (14-inch, 2023)", "MacBook Air (M2, 2022)", "MacBook Pro (16-inch, 2021)", "MacBook Air (M3, 2024)"],
        .windows: ["ThinkPad T14 Gen 3", "Latitude 7440", "EliteBook 840 G9", "Surface Laptop 5"],
        .linux: ["ThinkPad X1 Carbon Gen 11", "XPS 13 9315", "Framework Laptop 13"],
        .iPhone: ["iPhone 15", "iPhone 14", "iPhone 15 Pro", "iPhone 13"],
        .iPad: ["iPad Air (5th generation)", "iPad Pro (11-inch)"],
        .android: ["Pixel 8", "Galaxy S23", "Pixel 7a", "Galaxy A54"],
        .chromebook: ["HP Chromebook x360 14", "Acer Chromebook Plus 515"],
        .windowsVM: ["VMware Virtual Platform"], .linuxVM: ["VMware Virtual Platform"]
    ]

    static func model(_ kind: DemoKind, _ seed: UInt64) -> String {
        let pool = models[kind]!
        return pool[Int((seed >> 7) % UInt64(pool.count))]
    }

    static func nameSuffix(_ kind: DemoKind) -> String {
        switch kind {
        case .mac: return "-mbp"
        case .windows: return "-win"
        case .linux: return "-linux"
        case .iPhone: return "-iphone"
        case .iPad: return "-ipad"
        case .android: return "-android"
        case .chromebook: return "-cb"
        case .windowsVM, .linuxVM: return "-vm"
        }
    }
}

/// A practice a feed reports and how the vendor words the two outcomes.
struct DemoObservationSpec {
    var practice: DemoPractice
    var okValue: String
    var failValue: String
    init(_ practice: DemoPractice, _ ok: String, _ fail: String) {
        self.practice = practice
        okValue = ok
        failValue = fail
    }
}

/// What each feed observes, per device kind; shared, interned strings keep a night's records small.
enum DemoFeeds {
    static let jamfMac: [DemoObservationSpec] = [
        DemoObservationSpec(.encryption, "FileVault 2: ALL_ENCRYPTED", "FileVault 2: NOT_ENCRYPTED"),
        DemoObservationSpec(.firewall, "firewallEnabled: true", "firewallEnabled: false"),
        DemoObservationSpec(.remoteLogin, "remoteDesktopEnabled: false", "remoteDesktopEnabled: true"),
        DemoObservationSpec(.autoUpdates, "AutomaticCheckEnabled: True", "AutomaticCheckEnabled: False"),
        DemoObservationSpec(.screenLock, "Screen Lock Enabled (EA): Yes", "Screen Lock Enabled (EA): No")
    ]
    static let jamfMobile: [DemoObservationSpec] = [
        DemoObservationSpec(.encryption, "dataProtection: true", "dataProtection: false"),
        DemoObservationSpec(.screenLock, "passcodePresent: true", "passcodePresent: false"),
        DemoObservationSpec(.jailbreak, "jailbreakDetected: false", "jailbreakDetected: true")
    ]
    static let mdmWindows: [DemoObservationSpec] = [
        DemoObservationSpec(.encryption, "1 - fully encrypted, 100%, 1 - on", "0 - fully decrypted, 0%, 0 - off"),
        DemoObservationSpec(.firewall, "FirewallEnabled: Yes", "FirewallEnabled: No"),
        DemoObservationSpec(.screenLock, "ST000202 not detected", "ST000202 detected: screensaver password off"),
        DemoObservationSpec(.autoUpdates, "ST000003v2 not detected", "ST000003v2 detected")
    ]
    static let googleAndroid: [DemoObservationSpec] = [
        DemoObservationSpec(.encryption, "encryptionStatus: Encrypted", "encryptionStatus: Not encrypted"),
        DemoObservationSpec(.screenLock, "devicePasswordStatus: On", "devicePasswordStatus: Off"),
        DemoObservationSpec(.jailbreak, "deviceCompromisedStatus: No compromise found", "deviceCompromisedStatus: Compromised"),
        DemoObservationSpec(.unknownSources, "unknownSourcesStatus: false", "unknownSourcesStatus: true"),
        DemoObservationSpec(.adb, "adbStatus: false", "adbStatus: true"),
        DemoObservationSpec(.developerOptions, "developerOptionsStatus: false", "developerOptionsStatus: true")
    ]
    static let googleIOS: [DemoObservationSpec] = [
        DemoObservationSpec(.encryption, "encryptionStatus: Encrypted", "encryptionStatus: Not encrypted"),
        DemoObservationSpec(.screenLock, "devicePasswordStatus: On", "devicePasswordStatus: Off"),
        DemoObservationSpec(.jailbreak, "deviceCompromisedStatus: No compromise found", "deviceCompromisedStatus: Compromised")
    ]
    static let googleChrome: [DemoObservationSpec] = [
        DemoObservationSpec(.verifiedBoot, "bootMode: Verified", "bootMode: Dev")
    ]
    static let fleetLinux: [DemoObservationSpec] = [
        DemoObservationSpec(.encryption, "disk_encryption_enabled: true", "disk_encryption_enabled: false"),
        DemoObservationSpec(.firewall, "policy Firewall enabled: pass", "policy Firewall enabled: fail"),
        DemoObservationSpec(.screenLock, "policy Screen lock: pass", "policy Screen lock: fail"),
        DemoObservationSpec(.autoUpdates, "policy Unattended upgrades: pass", "policy Unattended upgrades: fail"),
        DemoObservationSpec(.remoteLogin, "policy SSH server off: pass", "policy SSH server off: fail")
    ]
    static let fleetMac: [DemoObservationSpec] = [
        DemoObservationSpec(.encryption, "disk_encryption_enabled: true", "disk_encryption_enabled: false"),
        DemoObservationSpec(.firewall, "policy Firewall enabled: pass", "policy Firewall enabled: fail"),
        DemoObservationSpec(.screenLock, "policy Screen lock: pass", "policy Screen lock: fail"),
        DemoObservationSpec(.remoteLogin, "policy Remote login off: pass", "policy Remote login off: fail")
    ]
    static let fleetWindows: [DemoObservationSpec] = [
        DemoObservationSpec(.encryption, "disk_encryption_enabled: true", "disk_encryption_enabled: false"),
        DemoObservationSpec(.firewall, "policy Firewall enabled: pass", "policy Firewall enabled: fail"),
        DemoObservationSpec(.screenLock, "policy Screen lock: pass", "policy Screen lock: fail"),
        DemoObservationSpec(.autoUpdates, "policy Automatic updates: pass", "policy Automatic updates: fail")
    ]

    static let common: [Software] = [
        Software("Google Chrome", version: "131.0.6778.86"), Software("Slack", version: "4.41.105"),
        Software("Zoom", version: "6.2.11")
    ]
    static let linuxSoftware: [Software] = [
        Software("osquery", version: "5.14.1"), Software("openssh-server", version: "9.6p1"),
        Software("google-chrome-stable", version: "131.0.6778.85")
    ]
    static func carbonBlackName(_ feed: DemoFeed) -> String { feed == .jamf ? "VMware Carbon Black Cloud" : "Carbon Black" }
    static let withCB35: [DemoFeed: [Software]] = Dictionary(
        uniqueKeysWithValues: DemoFeed.allCases.map {
            ($0, [Software(carbonBlackName($0), version: "3.5.2")] + common)
        })
    static let withCB37: [DemoFeed: [Software]] = Dictionary(
        uniqueKeysWithValues: DemoFeed.allCases.map {
            ($0, [Software(carbonBlackName($0), version: "3.7.1")] + common)
        })

    /// One of three shared lists, so no record allocates its own.
    static func software(_ feed: DemoFeed, _ carbonBlack: String?) -> [Software] {
        switch carbonBlack {
        case nil: return common
        case "3.5.2": return withCB35[feed]!
        default: return withCB37[feed]!
        }
    }
}
