import Foundation

/// The platforms Stethoscope knows. Raw values are what the database, exports and reports show.
public enum Platform: String, Sendable, CaseIterable, Codable, Hashable {
    case mac = "Mac"
    case windows = "Windows"
    case linux = "Linux"
    case iOS = "iOS"
    case android = "Android"
    case chromeOS = "ChromeOS"

    /// Accepts the raw value in any case plus a few common vendor spellings ("macOS", "OS X", "ipados").
    public init?(lenient text: String) {
        switch text.lowercased().trimmingCharacters(in: .whitespaces) {
        case "mac", "macos", "mac os x", "os x", "osx", "darwin": self = .mac
        case "windows", "win", "win32", "windows nt": self = .windows
        case "linux", "ubuntu", "debian", "rhel", "centos", "fedora": self = .linux
        case "ios", "ipados", "iphone os": self = .iOS
        case "android": self = .android
        case "chromeos", "chrome os", "chromium os": self = .chromeOS
        default: return nil
        }
    }

    public var isMobile: Bool { self == .iOS || self == .android }
}

/// The status of one practice on one device (docs/DESIGN.md, "Practices and statuses").
public enum Status: String, Sendable, CaseIterable, Codable, Hashable {
    case ok, nudge, warn, unknown, na
}

/// How much a practice matters; sorts reports and decides "critical" devices.
public enum Rating: String, Sendable, CaseIterable, Codable, Hashable, Comparable {
    case critical, high, medium, low
    private var order: Int { Rating.allCases.firstIndex(of: self)! }
    public static func < (a: Rating, b: Rating) -> Bool { a.order < b.order }
}

/// Kinds of device identifier, strongest first: the device key is taken from the strongest one present.
public enum IdentifierKind: String, Sendable, CaseIterable, Codable, Hashable, Comparable {
    case serial, udid, imei, meid
    /// A vendor's own device id (Google's deviceId, Intune's azureADDeviceId, ...).
    case deviceID = "device_id"
    /// Google's `deviceId` of a Google Sync device: kept as its own kind, so it is neither a second serial
    /// (which the merge would drop) nor confused with another vendor's device id.
    case googleDeviceID = "google_device_id"
    case mac
    /// A host name from authentication events (VPN, proxies): never merges records; `HostnameMatch` gives it to
    /// the one device of tonight with that name.
    case hostname

    private var order: Int { IdentifierKind.allCases.firstIndex(of: self)! }
    public static func < (a: IdentifierKind, b: IdentifierKind) -> Bool { a.order < b.order }

    /// A device has exactly one value of these kinds, so two different values mean two devices.
    /// MACs and IMEIs are multi-valued (Wi-Fi + Ethernet, dual SIM) and never conflict.
    public var isExclusive: Bool { self == .serial || self == .udid }
}

/// An identifier as a source reported it, before normalization.
public struct RawIdentifier: Sendable, Hashable {
    public var kind: IdentifierKind
    public var value: String
    public init(_ kind: IdentifierKind, _ value: String) {
        self.kind = kind
        self.value = value
    }
}

/// A normalized identifier that is allowed to merge records (see `IdentifierNormalizer`).
public struct Identifier: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var kind: IdentifierKind
    public var value: String
    public init(_ kind: IdentifierKind, _ value: String) {
        self.kind = kind
        self.value = value
    }
    public var description: String { "\(kind.rawValue):\(value)" }
    public static func < (a: Identifier, b: Identifier) -> Bool {
        a.kind != b.kind ? a.kind < b.kind : a.value < b.value
    }
}

/// One source's reading of one practice on one device.
///
/// `satisfied` is the source's verdict (true: the practice holds), `nil` when the source reported something it
/// cannot judge. `value` is the raw, human-readable reading ("FileVault 2 enabled", "jailbroken") kept for analysts.
/// `notApplicable`: the source knows the practice does not apply to this device (Android 8+ has no device-wide
/// "unknown sources" switch), so it is `na` rather than `unknown`.
public struct Observation: Sendable, Hashable {
    public var practice: String
    public var satisfied: Bool?
    public var value: String
    public var details: String?
    public var observedAt: Date?
    public var notApplicable: Bool
    public init(
        _ practice: String, satisfied: Bool?, value: String, details: String? = nil, observedAt: Date? = nil,
        notApplicable: Bool = false
    ) {
        self.practice = practice
        self.satisfied = satisfied
        self.value = value
        self.details = details
        self.observedAt = observedAt
        self.notApplicable = notApplicable
    }

    /// The practice does not apply to this device, for the reason in `value`.
    public static func notApplicable(_ practice: String, value: String, details: String? = nil, observedAt: Date? = nil) -> Observation {
        Observation(practice, satisfied: nil, value: value, details: details, observedAt: observedAt, notApplicable: true)
    }
}

/// Installed software or a running service, for security-software practices.
public struct Software: Sendable, Hashable {
    public var name: String
    public var version: String?
    public init(_ name: String, version: String? = nil) {
        self.name = name
        self.version = version
    }
}

/// Something a source says about who owns a device; resolved against the directory.
public struct OwnerHint: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case email, upn, username }
    public var kind: Kind
    public var value: String
    public init(_ kind: Kind, _ value: String) {
        self.kind = kind
        self.value = value
    }
}

/// One vendor record normalized into Stethoscope's shape (docs/DESIGN.md, "The nightly run").
public struct SourceRecord: Sendable {
    public var source: String
    public var localID: String
    public var platform: Platform?
    public var osName: String?
    public var osVersion: String?
    public var model: String?
    public var deviceName: String?
    public var identifiers: [RawIdentifier]
    public var ownerHints: [OwnerHint]
    public var lastSync: Date?
    public var observations: [Observation]
    /// `nil`: the source has no software inventory (so software practices stay `unknown`); `[]`: it has, and it is empty.
    public var software: [Software]?
    public var services: [Software]?
    public var isVirtual: Bool

    public init(
        source: String, localID: String, platform: Platform? = nil, osName: String? = nil, osVersion: String? = nil,
        model: String? = nil, deviceName: String? = nil, identifiers: [RawIdentifier] = [],
        ownerHints: [OwnerHint] = [], lastSync: Date? = nil, observations: [Observation] = [],
        software: [Software]? = nil, services: [Software]? = nil, isVirtual: Bool = false
    ) {
        self.source = source
        self.localID = localID
        self.platform = platform
        self.osName = osName
        self.osVersion = osVersion
        self.model = model
        self.deviceName = deviceName
        self.identifiers = identifiers
        self.ownerHints = ownerHints
        self.lastSync = lastSync
        self.observations = observations
        self.software = software
        self.services = services
        self.isVirtual = isVirtual
    }
}

/// A person from the directory. `email` (lower-cased) is the person key.
public struct Person: Sendable, Hashable {
    public var email: String
    public var name: String
    public var managerEmail: String?
    public var organization: String?
    public var title: String?
    public var location: String?
    public var active: Bool

    public init(
        email: String, name: String, managerEmail: String? = nil, organization: String? = nil,
        title: String? = nil, location: String? = nil, active: Bool = true
    ) {
        self.email = email.lowercased()
        self.name = name
        self.managerEmail = managerEmail?.lowercased()
        self.organization = organization
        self.title = title
        self.location = location
        self.active = active
    }
}
