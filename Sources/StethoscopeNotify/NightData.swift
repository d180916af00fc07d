import Foundation
import StethoscopeCore
import StethoscopeStore

/// What notify reads of one committed night: people, their devices, the failing results and since when
/// each has been failing (`failing_since`, read from its table `failing_items`). Read-only: notify never changes a night.
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
        public var sources: String, stale: Bool, green: Bool
        /// The sync time as stored: unix seconds are spelled out only when asked (only the devices a message shows).
        var sync: Sync
        /// Every result that is not `ok` or `na`.
        public var failing: [Result] = []

        /// The sync time as the `devices` view gives it (`2026-11-15T06:00:00Z`).
        public var lastSync: String? {
            get {
                switch sync {
                case .none: return nil
                case .seconds(let s): return ISOTime.string(Date(timeIntervalSince1970: Double(s)))
                case .text(let t): return t
                }
            }
            set { sync = newValue.map(Sync.text) ?? .none }
        }
    }
    enum Sync: Sendable {
        case none
        case seconds(Int64)
        case text(String)
    }

    public var asOf: String
    public var status: String
    public var people: [String: PersonRow] = [:]
    public var practices: [String: PracticeRow] = [:]
    /// Devices by owner, in device-key order, for the owners with something to act on (a device that is not stale
    /// with a result that is not `ok` or `na`): all of such an owner's devices, no one else's.
    public var devicesByOwner: [String: [DeviceRow]] = [:]
    /// Manager → direct reports (built once: chains are walked for every manager).
    var reports: [String: [String]] = [:]
    /// `asOf` as a day number, parsed once (every failing item asks how long it has failed).
    var asOfDay: Int?
    /// Each `since` of the night as a day number, parsed once (a night has a few dozen; its items, a few hundred thousand).
    var sinceDays: [String: Int] = [:]

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
            night.people[email] = PersonRow(
                email: email, name: people.string(1) ?? "", manager: people.string(2).map(NightData.lower),
                organization: people.string(3), active: people.int(4) != 0)
        }
        for p in night.people.values { if let m = p.manager { night.reports[m, default: []].append(p.email) } }
        let practices = try db.prepare(
            """
            SELECT practice, title, description, link, rating, position FROM practice_definitions WHERE as_of = ?1
            """)
        practices.bind(1, asOf)
        while try practices.step() {
            let key = practices.string(0) ?? ""
            night.practices[key] = PracticeRow(
                key: key, title: practices.string(1) ?? key, description: practices.string(2) ?? "",
                link: practices.string(3), rating: Rating(rawValue: practices.string(4) ?? "") ?? .medium,
                position: practices.int(5))
        }
        // The compact tables are read directly, not through the `devices` and `practice_results` views: the views
        // spell out every sync time (strftime was a third of the read) and join each device's results one by one,
        // while a night's devices share about a thousand result sets.
        let order = night.practices.mapValues(\.position)
        func precedes(_ a: Result, _ b: Result) -> Bool {
            (order[a.practice] ?? 999, a.practice) < (order[b.practice] ?? 999, b.practice)
        }
        // The failing items of each result set used tonight, in practice order, `since` still unset.
        var sets: [Int: [Result]] = [:]
        let items = try db.prepare(
            """
            SELECT set_id, practice, status FROM result_items
            WHERE set_id IN (SELECT results_id FROM device_nights WHERE as_of = ?1) AND status <> 'ok' AND status <> 'na'
            """)
        items.bind(1, asOf)
        while try items.step() {
            guard let status = Status(rawValue: items.string(2) ?? "") else { continue }
            sets[items.int(0), default: []].append(Result(practice: items.string(1) ?? "", status: status, since: nil))
        }
        for (id, list) in sets where list.count > 1 { sets[id] = list.sorted(by: precedes) }

        // Each owner's devices, collected as they are read; kept when the owner has something to act on (a device
        // that is not stale with a failing result). Nothing reads the devices of anyone else: a person whose
        // devices all pass gets no message and counts in no manager's list.
        struct Owned { var devices: [DeviceRow] = [], acting = false }
        var owners: [String: Owned] = [:]
        owners.reserveCapacity(night.people.count)
        // Devices and their failing streaks, both in device id order (their tables' keys): merged as they are read.
        let devices = try db.prepare(
            """
            SELECT dn.device_id, k.device_key, ds.owner, ds.platform, ds.os_name, ds.os_version, ds.model, ds.device_name,
                   dn.last_sync, typeof(dn.last_sync) = 'integer', ds.sources, dn.stale, dn.green, dn.results_id
            FROM device_nights dn JOIN device_states ds ON ds.state_id = dn.state_id JOIN device_keys k ON k.device_id = dn.device_id
            WHERE dn.as_of = ?1 AND ds.owner IS NOT NULL ORDER BY dn.device_id
            """)
        devices.bind(1, asOf)
        // The streaks from `failing_items` (the table under the `failing_since` view), in its key order: the practice
        // by number and `since` as days before the night, each turned into text once.
        var practiceOf: [Int: String] = [:]
        let numbers = try db.prepare("SELECT practice_no, practice FROM practice_numbers")
        while try numbers.step() { practiceOf[numbers.int(0)] = numbers.string(1) }
        var sinceText: [Int: String] = [:]
        let since = try db.prepare("SELECT device_id, practice_no, days FROM failing_items WHERE as_of = ?1 ORDER BY device_id")
        since.bind(1, asOf)
        var sinceRow = try since.step()
        while try devices.step() {
            let id = devices.int(0)
            var failing = sets[devices.int(13)] ?? []
            while sinceRow && since.int(0) < id { sinceRow = try since.step() }
            while sinceRow && since.int(0) == id {
                if !failing.isEmpty, let practice = practiceOf[since.int(1)], let j = failing.firstIndex(where: { $0.practice == practice }) {
                    let days = since.int(2)
                    let day = sinceText[days] ?? AsOfDate.adding(-days, to: asOf)
                    sinceText[days] = day
                    failing[j].since = day
                    if let day, night.sinceDays[day] == nil { night.sinceDays[day] = AsOfDate.parse(day) }
                }
                sinceRow = try since.step()
            }
            let sync: Sync = devices.isNull(8) ? .none : devices.int(9) != 0 ? .seconds(devices.int64(8)) : .text(devices.string(8) ?? "")
            let row = DeviceRow(
                id: id, key: devices.string(1) ?? "", owner: NightData.lower(devices.string(2) ?? ""),
                platform: devices.string(3), osName: devices.string(4), osVersion: devices.string(5),
                model: devices.string(6), name: devices.string(7), sources: devices.string(10) ?? "",
                stale: devices.int(11) != 0, green: devices.int(12) != 0, sync: sync, failing: failing)
            // One lookup of the owner per device, its entry changed in place.
            func add(_ o: inout Owned) {
                o.devices.append(row)
                if !row.stale && !row.failing.isEmpty { o.acting = true }
            }
            add(&owners[row.owner, default: Owned()])
        }
        // Sorted where they are (a copy of the lists would copy every row), in byte order as SQLite's BINARY collation
        // would have sorted them.
        for i in owners.values.indices where owners.values[i].acting && owners.values[i].devices.count > 1 {
            owners.values[i].devices.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        }
        night.devicesByOwner = owners.compactMapValues { $0.acting ? $0.devices : nil }
        night.asOfDay = AsOfDate.parse(asOf)
        return night
    }

    /// Nights a result has been failing by `asOf`, counting `asOf` itself (1 on the first failing night).
    public func nightsFailing(_ r: Result) -> Int {
        guard let since = r.since, let a = asOfDay ?? AsOfDate.parse(asOf), let s = sinceDays[since] ?? AsOfDate.parse(since)
        else { return 1 }
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
