import Foundation
import StethoscopeCore

/// Everything about a night except its devices, which are streamed to `SnapshotStore.writeNight`.
public struct NightRecord: Sendable {
    public var asOf: String
    public var startedAt: Date
    public var finishedAt: Date
    public var status: RunStatus
    /// What each source, directory and attribution plugin did, by source name (the kind is inside).
    public var figures: [String: SourceFigures]
    /// The directory as it was given (a manager link cut to break a cycle is kept here), one person per email.
    public var people: [Person]
    /// People on a manager cycle, and emails more than one directory user had (`people.manager_cycle`, `duplicate_email`).
    public var managerCycles: Set<String> = []
    public var duplicateEmails: Set<String> = []
    public var practices: PracticeSet
    public var conflicts: [MergeConflict]
    /// Device sources that failed tonight: devices only they saw are carried forward.
    public var failedSources: Set<String>
    public var sourceRecords: Int
    /// Tonight's staleness cutoff (`now − stale_after_days`): carried-forward devices whose `last_sync` is older
    /// (or missing) are stale tonight, whatever they were on the night they come from. `nil` keeps their flag.
    public var staleBefore: Date?
    /// Identifiers the auth logs saw that no device has (`unmanaged_devices`).
    public var unmanaged: [UnmanagedDevice] = []

    public init(asOf: String, startedAt: Date, finishedAt: Date, status: RunStatus,
                figures: [String: SourceFigures] = [:], people: [Person] = [], practices: PracticeSet = .defaults,
                conflicts: [MergeConflict] = [], failedSources: Set<String> = [], sourceRecords: Int = 0,
                staleBefore: Date? = nil) {
        self.asOf = asOf; self.startedAt = startedAt; self.finishedAt = finishedAt; self.status = status
        self.figures = figures; self.people = people; self.practices = practices; self.conflicts = conflicts
        self.failedSources = failedSources; self.sourceRecords = sourceRecords; self.staleBefore = staleBefore
    }
}

/// What `writeNight` wrote. `devices` and `practiceRows` include the carried-forward ones.
public struct NightWriteSummary: Sendable {
    public var devices: Int
    public var carriedForward: Int
    public var practiceRows: Int
    public var seconds: Double
}

/// The snapshot store: nights written atomically into the SQLite schema of `Schemas/sqlite`.
public final class SnapshotStore {
    public let database: Database

    /// Opens (creating) the database and migrates it to the schema this binary knows.
    public init(path: URL) throws {
        database = try Database(path: path)
        try Migrations.apply(to: database)
    }

    @discardableResult
    public static func migrate(at url: URL) throws -> (from: Int, to: Int) { try Migrations.migrate(at: url) }

    public struct InvalidNight: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Writes (or replaces) one night in one transaction: on any error the previous state stays as it was.
    /// `devices` is consumed once, lazily. Devices seen only by `night.failedSources` are then carried forward
    /// from the last complete night before it (DESIGN.md, "Snapshots and history").
    /// `beforeCommit` runs inside the transaction once the night is written (the run's roll-ups and its re-run check):
    /// when it throws, nothing of the night is committed, so a night never exists without its roll-ups.
    @discardableResult
    public func writeNight(_ night: NightRecord, devices: some Sequence<DeviceSnapshot>,
                           beforeCommit: (NightWriteSummary) throws -> Void = { _ in }) throws -> NightWriteSummary {
        guard AsOfDate.isValid(night.asOf) else { throw InvalidNight(description: "invalid as-of date '\(night.asOf)'") }
        let start = ContinuousClock.now
        var summary = try database.transaction { () -> NightWriteSummary in
            for table in ["practice_results", "devices", "merge_audit", "people", "practice_definitions", "run_sources", "runs"] {
                // Children first, so the cascades from `runs` find nothing left to do.
                let delete = try database.prepare("DELETE FROM \(table) WHERE as_of = ?")
                delete.bind(1, night.asOf)
                try delete.run()
            }
            try NightHeaderWriter(database, night).write()
            var written = try DeviceWriter(database, night).write(devices)
            let carried = try carryForward(night)
            written.devices += carried.devices
            written.carriedForward = carried.devices
            written.practiceRows += carried.practiceRows
            let update = try database.prepare("UPDATE runs SET devices = ?, carried_forward = ? WHERE as_of = ?")
            update.bind(1, written.devices)
            update.bind(2, written.carriedForward)
            update.bind(3, night.asOf)
            try update.run()
            try beforeCommit(written)
            return written
        }
        let elapsed = (ContinuousClock.now - start).components
        summary.seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        return summary
    }

    /// The newest night before `asOf` whose run was complete (the carry-forward origin).
    public func lastCompleteNight(before asOf: String) throws -> String? {
        let query = try database.prepare(
            "SELECT as_of FROM runs WHERE status = 'complete' AND as_of < ? ORDER BY as_of DESC LIMIT 1")
        query.bind(1, asOf)
        return try query.step() ? query.string(0) : nil
    }

    /// The devices of the stored night `asOf` (carried-forward ones included), `nil` when there is no such night.
    public func storedDevices(asOf: String) throws -> Int? {
        let query = try database.prepare("SELECT devices FROM runs WHERE as_of = ?")
        query.bind(1, asOf)
        return try query.step() ? query.int(0) : nil
    }

    /// Every stored night, oldest first.
    public func nights() throws -> [(asOf: String, status: RunStatus)] {
        let query = try database.prepare("SELECT as_of, status FROM runs ORDER BY as_of")
        var result: [(asOf: String, status: RunStatus)] = []
        while try query.step() {
            result.append((query.string(0) ?? "", RunStatus(rawValue: query.string(1) ?? "") ?? .failed))
        }
        return result
    }

    /// Copies devices whose sources all failed tonight from the last complete night, with their results.
    private func carryForward(_ night: NightRecord) throws -> (devices: Int, practiceRows: Int) {
        guard !night.failedSources.isEmpty, let from = try lastCompleteNight(before: night.asOf) else { return (0, 0) }
        // The distinct source lists are few, so the subset test is done here exactly, on whole names.
        let lists = try database.prepare("SELECT DISTINCT sources FROM devices WHERE as_of = ?")
        lists.bind(1, from)
        var carried: [String] = []
        while try lists.step() {
            guard let list = lists.string(0), !list.isEmpty else { continue }
            if list.split(separator: ",", omittingEmptySubsequences: false).allSatisfy({ night.failedSources.contains(String($0)) }) {
                carried.append(list)
            }
        }
        guard !carried.isEmpty else { return (0, 0) }
        let copyDevices = try database.prepare("""
            INSERT INTO devices (as_of, device_id, platform, os_name, os_version, model, device_name, identifiers,
                sources, records, last_sync, owner, owner_method, owner_via, owner_reason, stale, virtual, carried_forward,
                carried_from, green, critical)
            SELECT ?1, p.device_id, p.platform, p.os_name, p.os_version, p.model, p.device_name, p.identifiers,
                p.sources, p.records, p.last_sync, p.owner, p.owner_method, p.owner_via, p.owner_reason,
                CASE WHEN ?4 IS NULL THEN p.stale WHEN p.last_sync IS NULL OR p.last_sync < ?4 THEN 1 ELSE 0 END,
                p.virtual, 1, ?2, p.green, p.critical
            FROM devices p
            WHERE p.as_of = ?2 AND p.sources IN (SELECT value FROM json_each(?3))
              AND NOT EXISTS (SELECT 1 FROM devices t WHERE t.as_of = ?1 AND t.device_id = p.device_id)
            """)
        copyDevices.bind(1, night.asOf)
        copyDevices.bind(2, from)
        copyDevices.bind(3, String(decoding: try JSONEncoder().encode(carried), as: UTF8.self))
        copyDevices.bind(4, time: night.staleBefore)   // ISO text of one fixed width: compares as time
        try copyDevices.run()
        let devices = database.changes
        let copyResults = try database.prepare("""
            INSERT INTO practice_results (as_of, device_id, practice, status, value, details, observed_at, source)
            SELECT ?1, r.device_id, r.practice, r.status, r.value, r.details, r.observed_at, r.source
            FROM devices t JOIN practice_results r ON r.as_of = ?2 AND r.device_id = t.device_id
            WHERE t.as_of = ?1 AND t.carried_forward = 1
            """)
        copyResults.bind(1, night.asOf)
        copyResults.bind(2, from)
        try copyResults.run()
        return (devices, database.changes)
    }
}

/// Writes a night's own rows: the run, its sources, practice definitions, people and merge audit.
private struct NightHeaderWriter {
    let database: Database
    let night: NightRecord
    init(_ database: Database, _ night: NightRecord) { self.database = database; self.night = night }

    func write() throws {
        let run = try database.prepare("""
            INSERT INTO runs (as_of, started_at, finished_at, status, practices_hash, people, devices,
                carried_forward, source_records, merge_conflicts) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
            """)
        run.bind(1, night.asOf)
        run.bind(2, time: night.startedAt)
        run.bind(3, time: night.finishedAt)
        run.bind(4, night.status.rawValue)
        run.bind(5, night.practices.hash(asOf: night.asOf))
        run.bind(6, night.people.count)
        run.bind(7, night.sourceRecords)
        run.bind(8, night.conflicts.count)
        try run.run()
        try writeSources()
        try writePractices()
        try writePeople()
        try writeConflicts()
        try writeUnmanaged()
    }

    private func writeUnmanaged() throws {
        guard !night.unmanaged.isEmpty else { return }
        let insert = try database.prepare("""
            INSERT INTO unmanaged_devices (as_of, identifier, via, user, person, organization, days, last_seen, shared)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insert.bind(1, night.asOf)
        for u in night.unmanaged {
            insert.bind(2, u.identifier.description)
            insert.bind(3, u.via)
            insert.bind(4, u.user)
            insert.bind(5, u.person)
            insert.bind(6, u.organization)
            insert.bind(7, u.days)
            insert.bind(8, time: u.lastSeen)
            insert.bind(9, u.shared)
            try insert.run()
        }
    }

    private func writeSources() throws {
        let insert = try database.prepare("""
            INSERT INTO run_sources (as_of, source, kind, plugin, status, records, pages, requests, retries, bytes,
                seconds, rejected, errors, failure, rejected_reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        insert.bind(1, night.asOf)
        for (source, f) in night.figures.sorted(by: { $0.key < $1.key }) {
            insert.bind(2, source)
            insert.bind(3, f.kind)
            insert.bind(4, f.plugin)
            insert.bind(5, f.failure == nil ? "ok" : "failed")
            insert.bind(6, f.records)
            insert.bind(7, f.pages)
            insert.bind(8, f.requests)
            insert.bind(9, f.retries)
            insert.bind(10, f.bytes)
            insert.bind(11, f.seconds)
            insert.bind(12, f.rejected)
            insert.bind(13, String(decoding: try encoder.encode(f.errors), as: UTF8.self))
            insert.bind(14, f.failure.map(Redactor.redact))
            insert.bind(15, String(decoding: try encoder.encode(f.rejectedReasons), as: UTF8.self))
            try insert.run()
        }
    }

    private func writePractices() throws {
        let insert = try database.prepare("""
            INSERT INTO practice_definitions (as_of, practice, position, title, description, link, rating, platforms,
                on_fail, on_missing, check_kind, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insert.bind(1, night.asOf)
        for (position, p) in night.practices.enabled.enumerated() {
            insert.bind(2, p.key)
            insert.bind(3, position)
            insert.bind(4, p.title)
            insert.bind(5, p.description)
            insert.bind(6, p.link)
            insert.bind(7, p.rating.rawValue)
            insert.bind(8, p.platforms.map(\.rawValue).sorted().joined(separator: ","))
            insert.bind(9, p.onFail.rawValue)
            insert.bind(10, p.onMissing.rawValue)
            insert.bind(11, p.check.kind)
            insert.bind(12, p.fingerprint(asOf: night.asOf))
            try insert.run()
        }
    }

    private func writePeople() throws {
        let insert = try database.prepare("""
            INSERT INTO people (as_of, email, name, manager_email, organization, title, location, active, manager_cycle, duplicate_email)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insert.bind(1, night.asOf)
        for person in night.people {
            insert.bind(2, person.email)
            insert.bind(3, person.name)
            insert.bind(4, person.managerEmail)
            insert.bind(5, person.organization)
            insert.bind(6, person.title)
            insert.bind(7, person.location)
            insert.bind(8, person.active)
            insert.bind(9, !night.managerCycles.isEmpty && night.managerCycles.contains(person.email))
            insert.bind(10, !night.duplicateEmails.isEmpty && night.duplicateEmails.contains(person.email))
            try insert.run()
        }
    }

    private func writeConflicts() throws {
        let insert = try database.prepare(
            "INSERT INTO merge_audit (as_of, seq, shared, conflicting, records) VALUES (?, ?, ?, ?, ?)")
        insert.bind(1, night.asOf)
        for (seq, conflict) in night.conflicts.enumerated() {
            insert.bind(2, seq + 1)
            insert.bind(3, conflict.shared.description)
            insert.bind(4, conflict.conflicting.map(\.description).joined(separator: " "))
            insert.bind(5, conflict.records.joined(separator: " "))
            try insert.run()
        }
    }
}

extension PracticeCheck {
    /// The `check_kind` column.
    var kind: String {
        switch self {
        case .observation: "observation"
        case .osVersion: "os_version"
        case .software: "software"
        }
    }
}

/// Streams a night's devices and their practice results into prepared inserts (the hot path).
private struct DeviceWriter {
    let database: Database
    let night: NightRecord
    let insertKey: Statement
    let insertDevice: Statement
    let insertResult: Statement
    let insertEvidence: Statement
    /// Practices rated critical tonight: a device with one of them at `warn` is critical.
    let critical: Set<String>

    init(_ database: Database, _ night: NightRecord) throws {
        self.database = database
        self.night = night
        insertKey = try database.prepare("INSERT INTO device_keys (device_key, first_seen) VALUES (?, ?)")
        insertDevice = try database.prepare("""
            INSERT INTO devices (as_of, device_id, platform, os_name, os_version, model, device_name, identifiers,
                sources, records, last_sync, owner, owner_method, owner_via, stale, virtual, carried_forward,
                carried_from, green, critical, owner_reason)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 0, NULL, ?17, ?18, ?19)
            """)
        insertResult = try database.prepare("""
            INSERT INTO practice_results (as_of, device_id, practice, status, value, details, observed_at, source)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertEvidence = try database.prepare("""
            INSERT INTO owner_evidence (as_of, device_key, via, owner_method, days, user_days, last_seen, shared, shared_with)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        critical = Set(night.practices.enabled.filter { $0.rating == .critical }.map(\.key))
    }

    /// Device ids of every known key, loaded once per night (keys are never deleted, so ids never change).
    private func loadKeys() throws -> [String: Int64] {
        let query = try database.prepare("SELECT device_key, device_id FROM device_keys")
        var ids: [String: Int64] = [:]
        while try query.step() { ids[query.string(0) ?? ""] = query.int64(1) }
        return ids
    }

    func write(_ devices: some Sequence<DeviceSnapshot>) throws -> NightWriteSummary {
        var ids = try loadKeys()
        insertKey.bind(2, night.asOf)
        insertDevice.bind(1, night.asOf)
        insertResult.bind(1, night.asOf)
        insertEvidence.bind(1, night.asOf)
        var count = 0
        var rows = 0
        for device in devices {
            let id: Int64
            if let known = ids[device.key] {
                id = known
            } else {
                insertKey.bind(1, device.key)
                try insertKey.run()
                id = database.lastInsertRowID
                ids[device.key] = id
            }
            let isCritical: Bool = device.results.contains { $0.status == .warn && critical.contains($0.practice) }
            let d = insertDevice
            d.bind(2, id)
            d.bind(3, device.platform?.rawValue)
            d.bind(4, device.osName)
            d.bind(5, device.osVersion)
            d.bind(6, device.model)
            d.bind(7, device.deviceName)
            d.bind(8, IdentifiersJSON.encode(device.identifiers))
            d.bind(9, device.sources.sorted().joined(separator: ","))   // sorted: carry-forward and analysts compare it
            d.bind(10, device.records.joined(separator: " "))
            d.bind(11, time: device.lastSync)
            d.bind(12, device.owner)
            // `devices.owner_method`'s CHECK predates auth_logs: stored as `attribution`, named in `owner_evidence`.
            d.bind(13, device.ownerMethod == .authLogs ? OwnerMethod.attribution.rawValue : device.ownerMethod.rawValue)
            d.bind(14, device.ownerVia)
            d.bind(15, device.stale)
            d.bind(16, device.isVirtual)
            d.bind(17, device.isGreen)
            d.bind(18, isCritical)
            d.bind(19, device.ownerReason)
            try d.run()
            if let e = device.evidence {
                let w = insertEvidence
                w.bind(2, device.key)
                w.bind(3, e.via)
                w.bind(4, device.ownerMethod.rawValue)
                w.bind(5, e.days)
                w.bind(6, e.userDays)
                w.bind(7, time: e.lastSeen)
                w.bind(8, e.isShared)
                w.bind(9, e.isShared ? String(decoding: try JSONEncoder().encode(e.sharedWith), as: UTF8.self) : nil)
                try w.run()
            }
            let r = insertResult
            r.bind(2, id)
            for result in device.results {
                r.bind(3, result.practice)
                r.bind(4, result.status.rawValue)
                r.bind(5, result.value)
                r.bind(6, result.details)
                r.bind(7, time: result.observedAt)
                r.bind(8, result.source)
                try r.run()
            }
            count += 1
            rows += device.results.count
        }
        return NightWriteSummary(devices: count, carriedForward: 0, practiceRows: rows, seconds: 0)
    }
}

/// `devices.identifiers`: a JSON array of `{"kind","value"}` objects in the device's order (strongest first), written
/// by hand on the hot path in the compact form SQLite's own `json_object` gives, so migrated and new rows look alike.
public enum IdentifiersJSON {
    public static func encode(_ identifiers: [Identifier]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(identifiers.count * 40 + 2)
        out.append(UInt8(ascii: "["))
        for (i, id) in identifiers.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"kind":""#.utf8)
            escape(id.kind.rawValue, into: &out)
            out.append(contentsOf: #"","value":""#.utf8)
            escape(id.value, into: &out)
            out.append(contentsOf: #""}"#.utf8)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// JSON string escaping (RFC 8259): quote, backslash and control characters; everything else as UTF-8.
    static let hex = Array("0123456789abcdef".utf8)

    static func escape(_ text: String, into out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20: out.append(contentsOf: #"\u00"#.utf8); out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 15)])
            default: out.append(byte)
            }
        }
    }
}
