import Foundation

/// The evaluated status of one practice on one merged device.
public struct PracticeResult: Sendable, Hashable {
    public var practice: String
    public var status: Status
    /// The observation's raw reading (or the OS version / software found), `nil` when nothing was observed.
    public var value: String?
    public var details: String?
    public var observedAt: Date?
    /// The source whose observation decided the status.
    public var source: String?
    public init(
        practice: String, status: Status, value: String? = nil, details: String? = nil,
        observedAt: Date? = nil, source: String? = nil
    ) {
        self.practice = practice
        self.status = status
        self.value = value
        self.details = details
        self.observedAt = observedAt
        self.source = source
    }
}

/// How a device's owner was found (stored with the device each night).
public enum OwnerMethod: String, Sendable, Hashable, Codable {
    /// An email/UPN/username hint from a device source matched a person.
    case sourceHint = "source_hint"
    /// An attribution source (`attribution:` in config) named the owner; the method string carries its name.
    case attribution
    /// The `auth_logs` attribution plugin inferred the owner from authentication days (README, "BYOD"); its
    /// evidence is in `owner_evidence`.
    case authLogs = "auth_logs"
    case none
}

/// One physical device on one night: merged, attributed and evaluated.
public struct DeviceSnapshot: Sendable {
    /// Stable night after night: taken from the strongest identifier (serial first), see `DeviceKey`.
    public var key: String
    public var platform: Platform?
    public var osName: String?
    public var osVersion: String?
    public var model: String?
    public var deviceName: String?
    public var identifiers: [Identifier]
    /// Source names that saw the device, sorted.
    public var sources: [String]
    /// `source/localID` of every record merged into the device, sorted.
    public var records: [String]
    public var lastSync: Date?
    public var owner: String?
    public var ownerMethod: OwnerMethod
    /// Which source or attribution plugin decided the owner (`nil` with `.none`).
    public var ownerVia: String?
    /// Why no owner was found when that is worth knowing: `ambiguous_email` (a hint or attribution named an email
    /// that several directory users have, so it names nobody in particular). `nil` otherwise.
    public var ownerReason: String?
    public var stale: Bool
    public var isVirtual: Bool
    public var results: [PracticeResult]
    /// Authentication-log evidence: behind the owner when `ownerMethod == .authLogs`, or the users of a device
    /// the logs found `shared` (then no auth-log owner). `nil` when no auth log saw the device.
    public var evidence: OwnerEvidence?

    public init(
        key: String, platform: Platform?, osName: String?, osVersion: String?, model: String?,
        deviceName: String?, identifiers: [Identifier], sources: [String], records: [String],
        lastSync: Date?, owner: String?, ownerMethod: OwnerMethod, ownerVia: String?, stale: Bool,
        isVirtual: Bool, results: [PracticeResult], ownerReason: String? = nil, evidence: OwnerEvidence? = nil
    ) {
        self.key = key
        self.platform = platform
        self.osName = osName
        self.osVersion = osVersion
        self.model = model
        self.deviceName = deviceName
        self.identifiers = identifiers
        self.sources = sources
        self.records = records
        self.lastSync = lastSync
        self.owner = owner
        self.ownerMethod = ownerMethod
        self.ownerVia = ownerVia
        self.ownerReason = ownerReason
        self.stale = stale
        self.isVirtual = isVirtual
        self.results = results
        self.evidence = evidence
    }

    /// Green: every applicable practice is `ok` (docs/DESIGN.md).
    public var isGreen: Bool { results.allSatisfy { $0.status == .ok || $0.status == .na } }
}

/// Two records that share an identifier but were kept apart because an exclusive identifier differs.
public struct MergeConflict: Sendable, Hashable {
    /// The identifier the two groups shared.
    public var shared: Identifier
    /// The exclusive identifiers that disagree (e.g. two serials).
    public var conflicting: [Identifier]
    /// `source/localID` of the records on each side.
    public var records: [String]
    public init(shared: Identifier, conflicting: [Identifier], records: [String]) {
        self.shared = shared
        self.conflicting = conflicting
        self.records = records
    }
}

/// The outcome of a run (docs/DESIGN.md, "Snapshots and history").
public enum RunStatus: String, Sendable, Codable { case complete, partial, failed }

/// What a configured source gives the night: devices, people (the directory) or owner attribution. The raw value
/// is the word stored in `run_sources.kind` and shown in logs, metrics and reports.
public enum SourceKind: String, Sendable, Codable, Hashable, CaseIterable {
    case device, directory, attribution

    /// The kind by its word, for callers that hold one (tests, fixtures); another word is a programming error.
    public init(word: String) {
        guard let kind = SourceKind(rawValue: word) else { preconditionFailure("not a source kind: '\(word)'") }
        self = kind
    }
}

/// What one source did during a run, stored with the run and shown in data-quality reports.
public struct SourceFigures: Sendable, Codable, Hashable {
    public var kind: SourceKind = .device
    public var plugin: String = ""
    public var records: Int = 0
    public var pages: Int = 0
    public var requests: Int = 0
    public var retries: Int = 0
    public var bytes: Int = 0
    public var seconds: Double = 0
    public var errors: [String: Int] = [:]
    /// The error that stopped the source, when it failed (never holds a secret: plugins must not put one there).
    public var failure: String?
    /// Records dropped as malformed, with the first reasons.
    public var rejected: Int = 0
    public var rejectedReasons: [String] = []
    public init(kind: SourceKind = .device, plugin: String = "") {
        self.kind = kind
        self.plugin = plugin
    }
    /// The kind by its word (`device`, `directory`, `attribution`).
    public init(kind word: String, plugin: String = "") { self.init(kind: SourceKind(word: word), plugin: plugin) }
}
