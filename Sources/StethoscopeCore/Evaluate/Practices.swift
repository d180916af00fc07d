import Foundation

/// Required and recommended versions for one OS: below required is `warn`, below recommended is `nudge`.
///
/// A rule may start on a date (`from`, an as-of date): security teams raise the floor some weeks after a
/// release, and dated rules let a back-filled night be judged by the rules of its own date.
public struct VersionRule: Sendable, Hashable {
    public var from: String?
    public var required: String?
    public var recommended: String?
    public init(from: String? = nil, required: String? = nil, recommended: String? = nil) {
        self.from = from
        self.required = required
        self.recommended = recommended
    }
}

/// A piece of security software a practice looks for, by installed-software or service name.
public struct SoftwareRule: Sendable, Hashable {
    /// Names matched case-insensitively against installed software and services.
    public var names: [String]
    public var minimumVersion: String?
    public init(names: [String], minimumVersion: String? = nil) {
        self.names = names
        self.minimumVersion = minimumVersion
    }
}

/// How a practice decides its status.
public enum PracticeCheck: Sendable, Hashable {
    /// The most recent source observation of the practice decides (`satisfied` true → `ok`).
    case observation
    /// The device's OS version against per-platform required/recommended versions.
    case osVersion([Platform: [VersionRule]])
    /// Installed software or services (a direct observation of the practice key wins when present).
    case software(SoftwareRule)
}

/// A practice definition (docs/DESIGN.md, "Practices and statuses"), shipped as a default and overridable in config.
public struct PracticeDefinition: Sendable, Hashable {
    public var key: String
    public var title: String
    public var description: String
    public var link: String?
    public var rating: Rating
    public var platforms: Set<Platform>
    public var onFail: Status
    /// Per-platform exceptions to `onFail` (e.g. firewall only a nudge on Linux).
    public var onFailByPlatform: [Platform: Status]
    public var onMissing: Status
    public var check: PracticeCheck
    public var enabled: Bool

    public init(
        key: String, title: String, description: String, link: String? = nil, rating: Rating,
        platforms: Set<Platform>, onFail: Status = .warn, onFailByPlatform: [Platform: Status] = [:],
        onMissing: Status = .unknown, check: PracticeCheck = .observation, enabled: Bool = true
    ) {
        self.key = key
        self.title = title
        self.description = description
        self.link = link
        self.rating = rating
        self.platforms = platforms
        self.onFail = onFail
        self.onFailByPlatform = onFailByPlatform
        self.onMissing = onMissing
        self.check = check
        self.enabled = enabled
    }

    public func failStatus(on platform: Platform?) -> Status {
        platform.flatMap { onFailByPlatform[$0] } ?? onFail
    }

    /// A stable text form, hashed per night so reports can mark definition changes.
    public var fingerprint: String {
        var parts = [
            key, title, rating.rawValue, platforms.map(\.rawValue).sorted().joined(separator: ","),
            onFail.rawValue, onMissing.rawValue, String(enabled),
            onFailByPlatform.map { "\($0.key.rawValue)=\($0.value.rawValue)" }.sorted().joined(separator: ",")
        ]
        switch check {
        case .observation: parts.append("observation")
        case .osVersion(let rules):
            parts.append(
                "os_version:"
                    + rules.sorted { $0.key.rawValue < $1.key.rawValue }
                    .map { "\($0.key.rawValue)=" + $0.value.map { "\($0.from ?? "")>\($0.required ?? "")/\($0.recommended ?? "")" }.joined(separator: ";") }
                    .joined(separator: ","))
        case .software(let rule):
            parts.append("software:" + rule.names.joined(separator: ",") + "@" + (rule.minimumVersion ?? ""))
        }
        return parts.joined(separator: "|")
    }

    /// The rule *in force on `asOf`* as readable "Label: value" lines (dated version rules reduced to the one
    /// that applies that night), stored per night so a report can both detect a change and say what changed
    /// ("Mac required: 15.2" one night, "Mac required: 14.0" the night before). Lines never contain a newline.
    public func fingerprint(asOf: String) -> String {
        func clean(_ s: String) -> String { s.replacingOccurrences(of: "\n", with: " ") }
        var lines = [
            "Title: \(clean(title))", "Rating: \(rating.rawValue)",
            "Platforms: " + platforms.map(\.rawValue).sorted().joined(separator: ", "),
            "On fail: \(onFail.rawValue)", "On missing: \(onMissing.rawValue)"
        ]
        for (platform, status) in onFailByPlatform.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            lines.append("On fail on \(platform.rawValue): \(status.rawValue)")
        }
        switch check {
        case .observation: lines.append("Check: observation")
        case .osVersion(let rules):
            lines.append("Check: OS version")
            for (platform, list) in rules.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                guard let rule = list.last(where: { ($0.from ?? "") <= asOf }) else { continue }
                if let v = rule.required { lines.append("\(platform.rawValue) required: \(clean(v))") }
                if let v = rule.recommended { lines.append("\(platform.rawValue) recommended: \(clean(v))") }
            }
        case .software(let rule):
            lines.append("Check: software " + clean(rule.names.joined(separator: ", ")))
            if let v = rule.minimumVersion { lines.append("Minimum version: \(clean(v))") }
        }
        return lines.joined(separator: "\n")
    }
}

/// The practices in force for a run, in display order.
public struct PracticeSet: Sendable, Hashable {
    public var definitions: [PracticeDefinition]
    public init(_ definitions: [PracticeDefinition]) { self.definitions = definitions }
    public var enabled: [PracticeDefinition] { definitions.filter(\.enabled) }
    public subscript(key: String) -> PracticeDefinition? { definitions.first { $0.key == key } }

    /// FNV-1a of the enabled definitions' fingerprints: equal hashes mean the same rules.
    public var hash: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in enabled.map(\.fingerprint).joined(separator: "\n").utf8 {
            h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(h, radix: 16)
    }

    /// Prefix of `hash(asOf:)`: hashes of other forms (older databases) are not compared with these.
    public static let hashVersion = "r2:"

    /// FNV-1a of the enabled definitions' rules *in force on `asOf`* (`fingerprint(asOf:)`): a dated rule taking
    /// effect changes it on that night and no other. Stored as `runs.practices_hash`.
    public func hash(asOf: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in enabled.map({ $0.key + "\n" + $0.fingerprint(asOf: asOf) }).joined(separator: "\n\n").utf8 {
            h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Self.hashVersion + String(h, radix: 16)
    }
}

extension PracticeSet {
    static let computers: Set<Platform> = [.mac, .windows, .linux]
    static let all = Set(Platform.allCases)

    /// The shipped defaults. Versions are examples to override: a security team sets its own floor.
    public static let defaults = PracticeSet([
        PracticeDefinition(
            key: "encryption", title: "Disk encryption",
            description: "The disk is encrypted (FileVault, BitLocker, LUKS, device encryption), so a lost device does not leak data.",
            rating: .critical, platforms: all),
        PracticeDefinition(
            key: "os_version", title: "Up-to-date OS",
            description: "The operating system is at or above the required version, and ideally the recommended one.",
            rating: .high, platforms: [.mac, .windows, .iOS, .android, .chromeOS],
            check: .osVersion([
                .mac: [VersionRule(required: "14.0", recommended: "15.2")],
                .windows: [VersionRule(required: "10.0.19045", recommended: "10.0.22631")],
                .iOS: [VersionRule(required: "17.0", recommended: "18.2")],
                .android: [VersionRule(required: "13", recommended: "14")],
                .chromeOS: [VersionRule(required: "120", recommended: "130")]
            ])),
        PracticeDefinition(
            key: "screen_lock", title: "Screen lock",
            description: "The screen locks with a password or passcode after a short idle time.",
            // No source can read a Chromebook's lock setting (the Directory API has none), so by default it is
            // `na` there rather than an `unknown` that would keep every Chromebook from being green.
            rating: .high, platforms: all.subtracting([.chromeOS])),
        PracticeDefinition(
            key: "firewall", title: "Firewall",
            description: "The host firewall is on.", rating: .medium, platforms: computers,
            onFailByPlatform: [.linux: .nudge]),
        PracticeDefinition(
            key: "auto_updates", title: "Automatic updates",
            description: "The OS installs security updates automatically.",
            rating: .medium, platforms: computers, onFail: .nudge),
        PracticeDefinition(
            key: "remote_login", title: "Remote login off",
            description: "Remote login (SSH, Remote Desktop) is off unless needed.",
            rating: .low, platforms: computers, onFail: .nudge),
        PracticeDefinition(
            key: "jailbreak", title: "Not jailbroken or rooted",
            description: "The phone's OS has not been jailbroken or rooted, so its security model holds.",
            rating: .critical, platforms: [.iOS, .android]),
        PracticeDefinition(
            key: "unknown_sources", title: "Unknown sources off",
            description: "Apps cannot be installed from unknown sources.",
            rating: .high, platforms: [.android]),
        PracticeDefinition(
            key: "adb", title: "USB debugging (ADB) off",
            description: "Android Debug Bridge is off.", rating: .medium, platforms: [.android], onFail: .nudge),
        PracticeDefinition(
            key: "developer_options", title: "Developer options off",
            description: "Android developer options are off; a Chromebook is not in developer boot mode.",
            rating: .low, platforms: [.android, .chromeOS], onFail: .nudge),
        PracticeDefinition(
            key: "verified_boot", title: "Verified boot",
            description: "The device boots in verified mode (ChromeOS not in developer mode).",
            rating: .high, platforms: [.chromeOS]),
        PracticeDefinition(
            key: "carbon_black", title: "Carbon Black installed",
            description: "The Carbon Black endpoint sensor is installed and running.",
            rating: .high, platforms: [.mac, .windows],
            check: .software(
                SoftwareRule(names: ["Carbon Black", "CbDefense", "VMware Carbon Black Cloud", "CbOsxSensorService", "cbdefense"], minimumVersion: "3.6"))),
        PracticeDefinition(
            key: "sentinelone", title: "SentinelOne installed",
            description: "The SentinelOne agent is installed and running.",
            rating: .high, platforms: [.mac, .windows, .linux],
            check: .software(SoftwareRule(names: ["SentinelOne", "SentinelAgent", "sentinel-agent", "SentinelOne Extensions"])),
            enabled: false),
        // Off unless a source lists them in its `extra_practices` (Jamf), which turns them on for the run.
        PracticeDefinition(
            key: "sip", title: "System Integrity Protection",
            description: "macOS System Integrity Protection is enabled.", rating: .high, platforms: [.mac], enabled: false),
        PracticeDefinition(
            key: "gatekeeper", title: "Gatekeeper",
            description: "macOS Gatekeeper only lets signed apps run.", rating: .medium, platforms: [.mac], enabled: false),
        PracticeDefinition(
            key: "auto_login", title: "Automatic login off",
            description: "The Mac asks for a password at startup instead of logging a user in automatically.",
            rating: .medium, platforms: [.mac], enabled: false)
    ])
}
