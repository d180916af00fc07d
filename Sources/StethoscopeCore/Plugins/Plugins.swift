import Foundation
import Logging

/// What a plugin gets for one pull: the night it is pulling for, a place to count its work, a logger.
public struct PullContext: Sendable {
    /// The run's as-of date, `YYYY-MM-DD` in the configured time zone.
    public var asOf: String
    /// The instant the run treats as "now" (end of the as-of day for back-filled dates, else the clock).
    public var now: Date
    public var figures: FigureCounter
    public var logger: Logger
    public init(asOf: String, now: Date, figures: FigureCounter, logger: Logger) {
        self.asOf = asOf
        self.now = now
        self.figures = figures
        self.logger = logger
    }
}

/// What every configured plugin instance has: the unique name from config, and a cheap probe.
public protocol ConfiguredSource: Sendable {
    var name: String { get }
    /// Proves connectivity and authentication cheaply (`stethoscope check`); returns a one-line summary.
    func check(_ context: PullContext) async throws -> String
}

extension ConfiguredSource {
    public func check(_ context: PullContext) async throws -> String { "configured (no remote endpoint)" }
}

/// A device source: pulls a whole inventory, page by page, into normalized records.
public protocol DeviceSource: ConfiguredSource {
    func pull(_ context: PullContext) async throws -> [SourceRecord]
}

/// The directory: every person with manager and organization.
public protocol DirectorySource: ConfiguredSource {
    func people(_ context: PullContext) async throws -> [Person]
}

/// An ownership attribution source (bitFit, asset CSV): identifier → owner email.
public protocol AttributionSource: ConfiguredSource {
    func assignments(_ context: PullContext) async throws -> [OwnerAssignment]
}

public struct OwnerAssignment: Sendable, Hashable {
    public var identifier: RawIdentifier
    public var email: String
    /// Why this source names the owner, when it inferred it rather than read it from a register: the
    /// authentication days behind it (`auth_logs`). An assignment whose evidence is `shared` names no owner.
    public var evidence: OwnerEvidence?
    public init(_ identifier: RawIdentifier, email: String, evidence: OwnerEvidence? = nil) {
        self.identifier = identifier
        self.email = email
        self.evidence = evidence
    }
}

/// What authentication logs say about one identifier over the window: the person with the most distinct days
/// (ties: the most recent), how many days and when last seen; `sharedWith` lists, most days first, every person
/// above the shared share when two or more are, and then the device is given to none of them.
public struct OwnerEvidence: Sendable, Hashable {
    /// The attribution entry that read the logs (its config name).
    public var via: String
    /// Distinct days the owner (the first user for a shared device) authenticated from the identifier.
    public var days: Int
    public var lastSeen: Date
    /// Distinct days of every user together, counting a day once per user (the base of each user's share).
    public var userDays: Int
    public var sharedWith: [String]
    public var isShared: Bool { sharedWith.count >= 2 }
    public init(via: String, days: Int, lastSeen: Date, userDays: Int, sharedWith: [String] = []) {
        self.via = via
        self.days = days
        self.lastSeen = lastSeen
        self.userDays = userDays
        self.sharedWith = sharedWith
    }
}

/// A plugin failure that names where it happened; its text must never carry a secret.
public struct SourceError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var message: String
    public init(_ source: String, _ message: String) {
        self.source = source
        self.message = message
    }
    public var description: String { "\(source): \(message)" }
}

/// Thread-safe counters a plugin bumps as it works; the run reads them for progress lines and stores them.
public final class FigureCounter: Sendable {
    private let figures: Locked<SourceFigures>
    private let started = Date()

    public init(kind: SourceKind, plugin: String) { figures = Locked(SourceFigures(kind: kind, plugin: plugin)) }
    /// The kind by its word (`device`, `directory`, `attribution`).
    public convenience init(kind word: String, plugin: String) { self.init(kind: SourceKind(word: word), plugin: plugin) }

    public func page(records: Int, bytes: Int = 0) {
        figures.withLock { figures in
            figures.pages += 1
            figures.records += records
            figures.bytes += bytes
        }
    }
    public func request(bytes: Int = 0) {
        figures.withLock { figures in
            figures.requests += 1
            figures.bytes += bytes
        }
    }
    public func retry() { figures.withLock { figures in figures.retries += 1 } }
    public func error(_ kind: String) { figures.withLock { figures in figures.errors[kind, default: 0] += 1 } }
    public func reject(_ reason: String) {
        figures.withLock { figures in
            figures.rejected += 1
            if figures.rejectedReasons.count < 10 { figures.rejectedReasons.append(reason) }
        }
    }
    /// Records why the source failed; the text goes to the database and the report, so it is redacted here.
    public func fail(_ message: String) { figures.withLock { figures in figures.failure = Redactor.redact(message) } }
    public func setRecords(_ n: Int) { figures.withLock { figures in figures.records = n } }

    /// A copy with `seconds` filled in.
    public func snapshot() -> SourceFigures {
        figures.withLock { figures in
            var f = figures
            f.seconds = Date().timeIntervalSince(started)
            return f
        }
    }
}
