import Foundation
import StethoscopeCore
import StethoscopeStore

/// What notify reads of one committed night: people, their devices, the failing results and since when
/// each has been failing (`failing_since`). Read-only: notify never changes a night.
public struct NightData: Sendable {
    public struct PersonRow: Sendable {
        public var email: String, name: String, manager: String?, organization: String?, active: Bool
    }
    public struct PracticeRow: Sendable {
        public var key: String, title: String, description: String, link: String?, rating: Rating, position: Int
    }
    public struct Result: Sendable, Hashable {
        public var practice: String
        public var status: Status
        /// The first night of the current failing streak (`failing_since`); nil for `unknown`.
        public var since: String?
    }
    public struct DeviceRow: Sendable {
        public var id: Int, key: String, owner: String
        public var platform: String?, osName: String?, osVersion: String?, model: String?, name: String?
        public var lastSync: String?, sources: String, stale: Bool, green: Bool
        /// Every result that is not `ok` or `na`.
        public var failing: [Result] = []
    }

    public var asOf: String
    public var status: String
    public var people: [String: PersonRow] = [:]
    public var practices: [String: PracticeRow] = [:]
    /// Devices with an owner, by owner, in device-key order.
    public var devicesByOwner: [String: [DeviceRow]] = [:]
    /// Manager → direct reports (built once: chains are walked for every manager).
    var reports: [String: [String]] = [:]
    /// `asOf` as a day number, parsed once (every failing item asks how long it has failed).
    var asOfDay: Int?

    public struct NoNight: Error, CustomStringConvertible, Sendable {
        public var asOf: String
        public var description: String { "no committed night \(asOf) in the database (run it first)" }
    }

    public static func load(_ db: Database, asOf: String) throws -> NightData {
        let run = try db.prepare("SELECT status, detail_pruned FROM runs WHERE as_of = ?1")
        run.bind(1, asOf)
        guard try run.step(), run.string(0) != "failed", run.int(1) == 0 else { throw NoNight(asOf: asOf) }
        var night = NightData(asOf: asOf, status: run.string(0) ?? "")

        let people = try db.prepare("SELECT email, name, manager_email, organization, active FROM people WHERE as_of = ?1")
        people.bind(1, asOf)
        let headcount = try db.prepare("SELECT count(*) FROM people WHERE as_of = ?1")
        headcount.bind(1, asOf)
        night.people.reserveCapacity(try headcount.step() ? headcount.int(0) : 0)
        while try people.step() {
            let email = NightData.lower(people.string(0) ?? "")
            night.people[email] = PersonRow(email: email, name: people.string(1) ?? "", manager: people.string(2).map(NightData.lower),
                                            organization: people.string(3), active: people.int(4) != 0)
        }
        for p in night.people.values { if let m = p.manager { night.reports[m, default: []].append(p.email) } }
        let practices = try db.prepare("""
            SELECT practice, title, description, link, rating, position FROM practice_definitions WHERE as_of = ?1
            """)
        practices.bind(1, asOf)
        while try practices.step() {
            let key = practices.string(0) ?? ""
            night.practices[key] = PracticeRow(key: key, title: practices.string(1) ?? key, description: practices.string(2) ?? "",
                                               link: practices.string(3), rating: Rating(rawValue: practices.string(4) ?? "") ?? .medium,
                                               position: practices.int(5))
        }
        // Rows found by id through an index (a dictionary of the rows themselves copied each large row on every
        // resize and every appended result); each owner's devices are put in key order below, in Swift, which is
        // cheaper than SQLite sorting the whole night.
        var rows: [DeviceRow] = []
        var position: [Int: Int] = [:]
        let size = try db.prepare("SELECT devices FROM runs WHERE as_of = ?1")
        size.bind(1, asOf)
        let expected = try size.step() ? size.int(0) : 0
        rows.reserveCapacity(expected)
        position.reserveCapacity(expected)
        let devices = try db.prepare("""
            SELECT d.device_id, k.device_key, d.owner, d.platform, d.os_name, d.os_version, d.model, d.device_name,
                   d.last_sync, d.sources, d.stale, d.green
            FROM devices d JOIN device_keys k ON k.device_id = d.device_id
            WHERE d.as_of = ?1 AND d.owner IS NOT NULL
            """)
        devices.bind(1, asOf)
        while try devices.step() {
            let id = devices.int(0)
            position[id] = rows.count
            rows.append(DeviceRow(id: id, key: devices.string(1) ?? "", owner: NightData.lower(devices.string(2) ?? ""),
                                  platform: devices.string(3), osName: devices.string(4), osVersion: devices.string(5),
                                  model: devices.string(6), name: devices.string(7), lastSync: devices.string(8),
                                  sources: devices.string(9) ?? "", stale: devices.int(10) != 0, green: devices.int(11) != 0))
        }
        let results = try db.prepare("""
            SELECT r.device_id, r.practice, r.status, date(f.as_of, '-' || f.days || ' days') FROM practice_results r
            LEFT JOIN practice_numbers n ON n.practice = r.practice
            LEFT JOIN failing_items f ON f.as_of = r.as_of AND f.device_id = r.device_id AND f.practice_no = n.practice_no
            WHERE r.as_of = ?1 AND r.status <> 'ok' AND r.status <> 'na'
            """)
        results.bind(1, asOf)
        while try results.step() {
            guard let i = position[results.int(0)], let status = Status(rawValue: results.string(2) ?? "") else { continue }
            rows[i].failing.append(Result(practice: results.string(1) ?? "", status: status, since: results.string(3)))
        }
        let order = night.practices.mapValues(\.position)
        var groups: [String: [Int]] = [:]
        groups.reserveCapacity(night.people.count)
        for i in rows.indices {
            if rows[i].failing.count > 1 {
                rows[i].failing.sort { (order[$0.practice] ?? 999, $0.practice) < (order[$1.practice] ?? 999, $1.practice) }
            }
            groups[rows[i].owner, default: []].append(i)
        }
        night.devicesByOwner.reserveCapacity(groups.count)
        for (owner, list) in groups {
            // Byte order, as SQLite's BINARY collation would have sorted them.
            let sorted = list.count < 2 ? list : list.sorted { rows[$0].key.utf8.lexicographicallyPrecedes(rows[$1].key.utf8) }
            night.devicesByOwner[owner] = sorted.map { rows[$0] }
        }
        night.asOfDay = AsOfDate.parse(asOf)
        return night
    }

    /// Nights a result has been failing by `asOf`, counting `asOf` itself (1 on the first failing night).
    public func nightsFailing(_ r: Result) -> Int {
        guard let since = r.since, let a = asOfDay ?? AsOfDate.parse(asOf), let s = AsOfDate.parse(since) else { return 1 }
        return max(1, a - s + 1)
    }

    /// Lower-cased, without Unicode case mapping when there is nothing but lower-case ASCII (almost every email).
    static func lower(_ s: String) -> String {
        s.utf8.allSatisfy({ $0 < 0x80 && !($0 >= 0x41 && $0 <= 0x5a) }) ? s : s.lowercased()
    }

    /// Everyone below `manager`, transitively (cycles stop).
    public func chain(of manager: String) -> Set<String> {
        var seen: Set<String> = []
        var stack = reports[manager] ?? []
        while let next = stack.popLast() {
            guard seen.insert(next).inserted else { continue }
            stack += reports[next] ?? []
        }
        return seen
    }
}
