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

    public init(
        asOf: String, startedAt: Date, finishedAt: Date, status: RunStatus,
        figures: [String: SourceFigures] = [:], people: [Person] = [], practices: PracticeSet = .defaults,
        conflicts: [MergeConflict] = [], failedSources: Set<String> = [], sourceRecords: Int = 0,
        staleBefore: Date? = nil
    ) {
        self.asOf = asOf
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.figures = figures
        self.people = people
        self.practices = practices
        self.conflicts = conflicts
        self.failedSources = failedSources
        self.sourceRecords = sourceRecords
        self.staleBefore = staleBefore
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
    /// from the last complete night before it (docs/DESIGN.md, "Snapshots and history").
    /// `beforeCommit` runs inside the transaction once the night is written (the run's roll-ups and its re-run check):
    /// when it throws, nothing of the night is committed, so a night never exists without its roll-ups.
    @discardableResult
    public func writeNight(
        _ night: NightRecord, devices: some Sequence<DeviceSnapshot>,
        beforeCommit: (NightWriteSummary) throws -> Void = { _ in }
    ) throws -> NightWriteSummary {
        guard AsOfDate.isValid(night.asOf) else { throw InvalidNight(description: "invalid as-of date '\(night.asOf)'") }
        let start = ContinuousClock.now
        var summary = try database.transaction { () -> NightWriteSummary in
            for table in Self.dailyTables + [
                "device_nights", "owner_evidence", "unmanaged_devices", "merge_audit", "people", "practice_definitions", "run_sources", "runs"
            ] {
                // Children first, so the cascades from `runs` find nothing left to do.
                let delete = try database.prepare("DELETE FROM \(table) WHERE as_of = ?")
                delete.bind(1, night.asOf)
                try delete.run()
            }
            try NightHeaderWriter(database, night).write()
            var counts = NightCounts()
            var written = try DeviceWriter(database, night).write(devices, counting: &counts)
            let carried = try carryForward(night)
            written.devices += carried.devices
            written.carriedForward = carried.devices
            written.practiceRows += carried.practiceRows
            try writeDailyCounts(night.asOf, counts, carried: carried.devices > 0)
            let update = try database.prepare("UPDATE runs SET devices = ?, carried_forward = ? WHERE as_of = ?")
            update.bind(1, written.devices)
            update.bind(2, written.carriedForward)
            update.bind(3, night.asOf)
            try update.run()
            try beforeCommit(written)
            return written
        }
        summary.seconds = (ContinuousClock.now - start).seconds
        return summary
    }

    /// The tables behind the daily views (migration 0010), written and deleted with a night's detail.
    public static let dailyTables = ["daily_status", "daily_organization", "daily_manager", "daily_owners"]

    /// The night's rows of the daily views ('' for a NULL organization, manager emails and practices numbered in
    /// `daily_names`, as the views read them). The writer counted its devices per result set (and owner's
    /// organization and manager) and per owner method as it wrote them (`NightCounts`): joining the night's
    /// device_nights, device_states and people again here was a fifth of a 100,000-person night. Those counts go to
    /// temporary tables, carried-forward devices are counted there by SQL, and each set's results are then read once,
    /// so this costs sets × practices, not devices × practices.
    private func writeDailyCounts(_ asOf: String, _ counts: NightCounts, carried: Bool) throws {
        try database.exec(
            """
            CREATE TEMP TABLE IF NOT EXISTS night_sets (results_id INTEGER NOT NULL, stale INTEGER NOT NULL, organization TEXT,
                manager TEXT, devices INTEGER NOT NULL);
            CREATE TEMP TABLE IF NOT EXISTS night_owners (owner_method TEXT NOT NULL, owner_via TEXT, devices INTEGER NOT NULL,
                no_owner INTEGER NOT NULL, former_employee_owner INTEGER NOT NULL);
            DELETE FROM temp.night_sets; DELETE FROM temp.night_owners;
            """)
        let sets = try database.prepare("INSERT INTO temp.night_sets VALUES (?, ?, ?, ?, ?)")
        for (key, devices) in counts.sets {
            sets.bind(1, key.results)
            sets.bind(2, key.stale)
            sets.bind(3, key.organization?.text)
            sets.bind(4, key.manager?.text)
            sets.bind(5, devices)
            try sets.run()
        }
        let owners = try database.prepare("INSERT INTO temp.night_owners VALUES (?, ?, ?, ?, ?)")
        for (key, n) in counts.owners {
            owners.bind(1, key.method)
            owners.bind(2, key.via?.text)
            owners.bind(3, n.devices)
            owners.bind(4, n.noOwner)
            owners.bind(5, n.former)
            try owners.run()
        }
        if carried {
            for sql in [
                """
                INSERT INTO temp.night_sets
                SELECT n.results_id, n.stale, p.organization, p.manager_email, COUNT(*)
                FROM device_nights n JOIN device_states s ON s.state_id = n.state_id
                LEFT JOIN people p ON p.as_of = n.as_of AND p.email = s.owner
                WHERE n.as_of = ?1 AND n.carried_forward = 1
                GROUP BY n.results_id, n.stale, p.organization, p.manager_email
                """,
                """
                INSERT INTO temp.night_owners
                SELECT s.owner_method, s.owner_via, COUNT(*), SUM(s.owner IS NULL), SUM(COALESCE(p.active = 0, 0))
                FROM device_nights n JOIN device_states s ON s.state_id = n.state_id
                LEFT JOIN people p ON p.as_of = n.as_of AND p.email = s.owner
                WHERE n.as_of = ?1 AND n.carried_forward = 1
                GROUP BY s.owner_method, s.owner_via
                """
            ] {
                let insert = try database.prepare(sql)
                insert.bind(1, asOf)
                try insert.run()
            }
        }
        let perSet = """
            SELECT results_id, organization, manager, SUM(devices) AS devices FROM temp.night_sets
            WHERE stale = 0 GROUP BY results_id, organization, manager
            """
        for sql in [
            """
            INSERT INTO daily_status (as_of, practice, status, devices)
            SELECT ?1, i.practice, i.status, SUM(g.devices)
            FROM (SELECT results_id, SUM(devices) AS devices FROM temp.night_sets GROUP BY results_id) g
            JOIN result_items i ON i.set_id = g.results_id
            GROUP BY i.practice, i.status
            """,
            """
            INSERT INTO daily_organization (as_of, organization, practice, applicable, ok)
            SELECT ?1, COALESCE(g.organization, ''), i.practice, SUM(g.devices), SUM(CASE WHEN i.status = 'ok' THEN g.devices ELSE 0 END)
            FROM (\(perSet)) g JOIN result_items i ON i.set_id = g.results_id
            WHERE i.status <> 'na'
            GROUP BY COALESCE(g.organization, ''), i.practice
            """,
            """
            INSERT OR IGNORE INTO daily_names (name)
            SELECT manager_email FROM people WHERE as_of = ?1 AND manager_email IS NOT NULL
            UNION SELECT i.practice FROM (SELECT DISTINCT results_id FROM temp.night_sets) n
            JOIN result_items i ON i.set_id = n.results_id
            """,
            """
            INSERT INTO daily_manager (as_of, manager_id, practice_id, applicable, ok)
            SELECT ?1, COALESCE(m.name_id, 0), p.name_id, SUM(g.devices), SUM(CASE WHEN i.status = 'ok' THEN g.devices ELSE 0 END)
            FROM (\(perSet)) g JOIN result_items i ON i.set_id = g.results_id
            LEFT JOIN daily_names m ON m.name = g.manager JOIN daily_names p ON p.name = i.practice
            WHERE i.status <> 'na'
            GROUP BY COALESCE(m.name_id, 0), p.name_id
            """,
            """
            INSERT INTO daily_owners (as_of, owner_method, owner_via, devices, no_owner, former_employee_owner)
            SELECT ?1, owner_method, owner_via, SUM(devices), SUM(no_owner), SUM(former_employee_owner)
            FROM temp.night_owners
            GROUP BY owner_method, owner_via
            """
        ] {
            let insert = try database.prepare(sql)
            insert.bind(1, asOf)
            try insert.run()
        }
        try database.exec("DELETE FROM temp.night_sets; DELETE FROM temp.night_owners;")
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
        // A carried device keeps its state and result set: only the night's row is new.
        let copy = try database.prepare(
            """
            INSERT INTO device_nights (as_of, device_id, state_id, results_id, last_sync, observed, stale, carried_forward,
                carried_from, green, critical)
            SELECT ?1, p.device_id, p.state_id, p.results_id, p.last_sync, p.observed,
                CASE WHEN ?4 IS NULL THEN p.stale WHEN p.last_sync IS NULL THEN 1
                     WHEN typeof(p.last_sync) = 'integer' THEN p.last_sync < ?5
                     ELSE p.last_sync < ?4 END,
                1, ?2, p.green, p.critical
            FROM device_nights p JOIN device_states s ON s.state_id = p.state_id
            WHERE p.as_of = ?2 AND s.sources IN (SELECT value FROM json_each(?3))
              AND NOT EXISTS (SELECT 1 FROM device_nights t WHERE t.as_of = ?1 AND t.device_id = p.device_id)
            """)
        copy.bind(1, night.asOf)
        copy.bind(2, from)
        copy.bind(3, String(decoding: try JSONEncoder().encode(carried), as: UTF8.self))
        copy.bind(4, time: night.staleBefore)  // ISO text of one fixed width: compares as time
        if let before = night.staleBefore { copy.bind(5, ISOTime.seconds(before)) } else { copy.bindNull(5) }
        try copy.run()
        let devices = database.changes
        let rows = try database.prepare(
            """
            SELECT count(*) FROM device_nights t JOIN result_items i ON i.set_id = t.results_id
            WHERE t.as_of = ?1 AND t.carried_forward = 1
            """)
        rows.bind(1, night.asOf)
        return (devices, try rows.step() ? rows.int(0) : 0)
    }
}

/// Writes a night's own rows: the run, its sources, practice definitions, people and merge audit.
private struct NightHeaderWriter {
    let database: Database
    let night: NightRecord
    init(_ database: Database, _ night: NightRecord) {
        self.database = database
        self.night = night
    }

    func write() throws {
        let run = try database.prepare(
            """
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
        let insert = try database.prepare(
            """
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
        let insert = try database.prepare(
            """
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
        let insert = try database.prepare(
            """
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
        let insert = try database.prepare(
            """
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

/// A night's devices counted as the writer writes them, for the daily tables (`writeDailyCounts`).
struct NightCounts {
    /// A device's result set, whether it is stale, and its owner's organization and manager that night (NULL: no
    /// owner, an owner not in the night's people, or one without).
    struct SetKey: Hashable {
        var results: Int64
        var stale: Bool
        var organization, manager: BytesKey?
    }
    struct OwnerKey: Hashable {
        var method: String
        var via: BytesKey?
    }
    var sets: [SetKey: Int] = [:]
    var owners: [OwnerKey: (devices: Int, noOwner: Int, former: Int)] = [:]
}

/// A text compared and hashed by its UTF-8 bytes, as SQLite compares text (Swift's `==` on strings compares
/// canonical equivalents equal, SQLite's `=` does not).
struct BytesKey: Hashable {
    var text: String
    static func == (a: BytesKey, b: BytesKey) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }
    func hash(into hasher: inout Hasher) {
        var t = text
        t.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Streams a night's devices and their practice results into the compact store (the hot path; migration 0010).
/// A device-night is one narrow `device_nights` row. Its description is a `device_states` row reused from the
/// device's previous night when nothing in it changed, and its results are a shared set in `result_items`, found by
/// content among the sets already stored (most devices share theirs with others and with their own previous night).
private struct DeviceWriter {
    let database: Database
    let night: NightRecord
    let insertKey: Statement
    let insertState: Statement
    let deviceStates: Statement
    let insertNight: Statement
    let insertItem: Statement
    let insertEvidence: Statement
    /// Practices rated critical tonight: a device with one of them at `warn` is critical.
    let critical: Set<String>

    /// A `device_states` row.
    struct State: Hashable {
        var platform, osName, osVersion, model, deviceName: String?
        var identifiers, sources, records: String
        var owner: String?
        var ownerMethod: String
        var ownerVia, ownerReason: String?
        var isVirtual: Bool
    }

    /// A `result_items` row without its set.
    struct Item: Hashable {
        var practice, status: String
        var value, details, source: String?
        var observed: Int64?
    }

    init(_ database: Database, _ night: NightRecord) throws {
        self.database = database
        self.night = night
        insertKey = try database.prepare("INSERT INTO device_keys (device_key, first_seen) VALUES (?, ?)")
        insertState = try database.prepare(
            """
            INSERT INTO device_states (platform, os_name, os_version, model, device_name, identifiers, sources, records,
                owner, owner_method, owner_via, owner_reason, virtual, device_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        deviceStates = try database.prepare(
            """
            SELECT state_id, platform, os_name, os_version, model, device_name, identifiers, sources, records, owner,
                   owner_method, owner_via, owner_reason, virtual FROM device_states WHERE device_id = ?1 ORDER BY state_id DESC
            """)
        insertNight = try database.prepare(
            """
            INSERT INTO device_nights (as_of, device_id, state_id, results_id, last_sync, observed, stale, carried_forward,
                carried_from, green, critical) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, NULL, ?8, ?9)
            """)
        insertItem = try database.prepare(
            """
            INSERT INTO result_items (set_id, practice, status, value, details, source, observed) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        insertEvidence = try database.prepare(
            """
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

    /// Each device's state on the newest stored night before this one.
    private func loadPreviousStates() throws -> [Int64: (id: Int64, state: State)] {
        let query = try database.prepare(
            """
            SELECT n.device_id, s.state_id, s.platform, s.os_name, s.os_version, s.model, s.device_name, s.identifiers,
                   s.sources, s.records, s.owner, s.owner_method, s.owner_via, s.owner_reason, s.virtual
            FROM device_nights n JOIN device_states s ON s.state_id = n.state_id
            WHERE n.as_of = (SELECT MAX(as_of) FROM device_nights WHERE as_of < ?1)
            """)
        query.bind(1, night.asOf)
        var out: [Int64: (id: Int64, state: State)] = [:]
        while try query.step() { out[query.int64(0)] = (query.int64(1), Self.state(query, from: 2)) }
        return out
    }

    /// The state in the 13 columns from `first` on (platform … virtual, in table order).
    static func state(_ query: Statement, from first: Int) -> State {
        State(
            platform: query.string(first), osName: query.string(first + 1), osVersion: query.string(first + 2),
            model: query.string(first + 3), deviceName: query.string(first + 4), identifiers: query.string(first + 5) ?? "",
            sources: query.string(first + 6) ?? "", records: query.string(first + 7) ?? "", owner: query.string(first + 8),
            ownerMethod: query.string(first + 9) ?? "", ownerVia: query.string(first + 10),
            ownerReason: query.string(first + 11), isVirtual: query.int(first + 12) != 0)
    }

    /// An earlier state of the device equal to `state` (a changed device often changes back), else a new one.
    private func stateID(_ state: State, device: Int64) throws -> Int64 {
        let q = deviceStates
        q.reset()
        q.bind(1, device)
        while try q.step() {
            guard Self.state(q, from: 1) == state else { continue }
            let id = q.int64(0)
            q.reset()
            return id
        }
        try insert(state, device: device)
        return database.lastInsertRowID
    }

    /// Every stored result set by content, and the next free set id.
    private func loadSets() throws -> (sets: [[Item]: Int64], next: Int64) {
        let query = try database.prepare(
            """
            SELECT set_id, practice, status, value, details, source, observed FROM result_items ORDER BY set_id, practice
            """)
        var sets: [[Item]: Int64] = [:]
        var current: Int64 = -1
        var items: [Item] = []
        var last: Int64 = 0
        while try query.step() {
            let id = query.int64(0)
            if id != current {
                if current >= 0 { sets[items] = sets[items] ?? current }
                current = id
                items.removeAll(keepingCapacity: true)
            }
            items.append(
                Item(
                    practice: query.string(1) ?? "", status: query.string(2) ?? "", value: query.string(3),
                    details: query.string(4), source: query.string(5),
                    observed: query.isNull(6) ? nil : query.int64(6)))
            last = max(last, id)
        }
        if current >= 0 { sets[items] = sets[items] ?? current }
        return (sets, last + 1)
    }

    func write(_ devices: some Sequence<DeviceSnapshot>, counting counts: inout NightCounts) throws -> NightWriteSummary {
        // The night's people by email, as `people` holds them (the daily tables join a device's owner there).
        var people: [BytesKey: Person] = [:]
        people.reserveCapacity(night.people.count)
        for person in night.people { people[BytesKey(text: person.email)] = person }
        var ids = try loadKeys()
        let previous = try loadPreviousStates()
        var (sets, nextSet) = try loadSets()
        insertKey.bind(2, night.asOf)
        insertNight.bind(1, night.asOf)
        insertEvidence.bind(1, night.asOf)
        var count = 0
        var rows = 0
        var items: [Item] = []
        var others: [Int64] = []
        for device in devices {
            let id: Int64
            var isNew = false
            if let known = ids[device.key] {
                id = known
            } else {
                insertKey.bind(1, device.key)
                try insertKey.run()
                id = database.lastInsertRowID
                ids[device.key] = id
                isNew = true
            }
            let isCritical: Bool = device.results.contains { $0.status == .warn && critical.contains($0.practice) }
            let state = State(
                platform: device.platform?.rawValue, osName: device.osName, osVersion: device.osVersion, model: device.model,
                deviceName: device.deviceName, identifiers: IdentifiersJSON.encode(device.identifiers),
                sources: device.sources.sorted().joined(separator: ","),  // sorted: carry-forward and analysts compare it
                records: device.records.joined(separator: " "), owner: device.owner, ownerMethod: device.ownerMethod.rawValue,
                ownerVia: device.ownerVia, ownerReason: device.ownerReason, isVirtual: device.isVirtual)
            let stateID: Int64
            if let p = previous[id], p.state == state {
                stateID = p.id
            } else if isNew {
                // A device numbered just now has no stored state to look through.
                try insert(state, device: id)
                stateID = database.lastInsertRowID
            } else {
                stateID = try self.stateID(state, device: id)
            }
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

            // Observation times: the sync time is code 0; the others are numbered in time order, kept with the night.
            let sync = device.lastSync.map(ISOTime.seconds)
            others.removeAll(keepingCapacity: true)
            for result in device.results {
                guard let at = result.observedAt.map(ISOTime.seconds), at != sync else { continue }
                others.append(at)
            }
            if !others.isEmpty { others = Array(Set(others)).sorted() }
            items.removeAll(keepingCapacity: true)
            for result in device.results {
                let observed: Int64? = result.observedAt.map(ISOTime.seconds).map { at in
                    at == sync ? 0 : Int64(others.firstIndex(of: at)! + 1)
                }
                items.append(
                    Item(
                        practice: result.practice, status: result.status.rawValue, value: result.value,
                        details: result.details, source: result.source, observed: observed))
            }
            items.sort { $0.practice.utf8.lexicographicallyPrecedes($1.practice.utf8) }  // SQLite's BINARY order
            let setID: Int64
            if items.isEmpty {
                setID = 0
            } else if let known = sets[items] {
                setID = known
            } else {
                setID = nextSet
                nextSet += 1
                sets[items] = setID
                try insert(items, as: setID)
            }

            let n = insertNight
            n.bind(2, id)
            n.bind(3, stateID)
            n.bind(4, setID)
            if let sync { n.bind(5, sync) } else { n.bindNull(5) }
            n.bind(6, others.isEmpty ? nil : "[" + others.map(String.init).joined(separator: ",") + "]")
            n.bind(7, device.stale)
            n.bind(8, device.isGreen)
            n.bind(9, isCritical)
            try n.run()
            count += 1
            rows += device.results.count

            let person = device.owner.flatMap { people[BytesKey(text: $0)] }
            counts.sets[
                NightCounts.SetKey(
                    results: setID, stale: device.stale, organization: person?.organization.map(BytesKey.init),
                    manager: person?.managerEmail.map(BytesKey.init)), default: 0] += 1
            let ownerKey = NightCounts.OwnerKey(method: device.ownerMethod.rawValue, via: device.ownerVia.map(BytesKey.init))
            var owned = counts.owners[ownerKey] ?? (0, 0, 0)
            owned.devices += 1
            if device.owner == nil { owned.noOwner += 1 }
            if let person, !person.active { owned.former += 1 }
            counts.owners[ownerKey] = owned
        }
        return NightWriteSummary(devices: count, carriedForward: 0, practiceRows: rows, seconds: 0)
    }

    private func insert(_ state: State, device: Int64) throws {
        let s = insertState
        s.bind(14, device)
        s.bind(1, state.platform)
        s.bind(2, state.osName)
        s.bind(3, state.osVersion)
        s.bind(4, state.model)
        s.bind(5, state.deviceName)
        s.bind(6, state.identifiers)
        s.bind(7, state.sources)
        s.bind(8, state.records)
        s.bind(9, state.owner)
        s.bind(10, state.ownerMethod)
        s.bind(11, state.ownerVia)
        s.bind(12, state.ownerReason)
        s.bind(13, state.isVirtual)
        try s.run()
    }

    private func insert(_ items: [Item], as setID: Int64) throws {
        let s = insertItem
        s.bind(1, setID)
        for item in items {
            s.bind(2, item.practice)
            s.bind(3, item.status)
            s.bind(4, item.value)
            s.bind(5, item.details)
            s.bind(6, item.source)
            if let observed = item.observed { s.bind(7, observed) } else { s.bindNull(7) }
            try s.run()
        }
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
            case 0..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            default: out.append(byte)
            }
        }
    }
}
