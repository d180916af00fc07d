import Foundation
import StethoscopeCore
import Testing

@testable import StethoscopeStore

/// The analyst views against answers computed here from the nights' inputs.
@Suite struct ViewTests {
    static let people = [
        Person(email: "ada@example.com", name: "Ada", managerEmail: "grace@example.com", organization: "Engineering"),
        Person(email: "bob@example.com", name: "Bob", managerEmail: "grace@example.com", organization: "Sales"),
        Person(email: "grace@example.com", name: "Grace", organization: "Engineering")
    ]
    static let statuses: [Status] = [.ok, .warn, .ok, .na, .unknown, .nudge, .ok]
    static let owners: [String?] = ["ada@example.com", "bob@example.com", "grace@example.com", nil, "nobody@example.com"]

    /// Night `n` has 12 devices with statuses, owners and staleness spread by a simple rule.
    static func devices(night n: Int) -> [DeviceSnapshot] {
        (0..<12).map { i in
            device(
                "serial:V\(i)", sources: ["jamf"], owner: owners[(i + n) % owners.count], stale: i % 5 == 4,
                statuses: ["encryption", "firewall", "screen_lock"].enumerated().map { p, key in
                    (key, statuses[(i * 3 + p + n) % statuses.count])
                })
        }
    }

    func makeStore(_ dir: TempDir) throws -> SnapshotStore {
        let store = try SnapshotStore(path: dir.db)
        try store.writeNight(night("2026-11-30", people: Self.people), devices: Self.devices(night: 0))
        // The next night Bob moved to Engineering under Ada: history must follow each night's directory.
        var moved = Self.people
        moved[1].organization = "Engineering"
        moved[1].managerEmail = "ada@example.com"
        try store.writeNight(night("2026-12-01", people: moved), devices: Self.devices(night: 1))
        return store
    }

    @Test func latestViewsShowTheNewestNight() throws {
        let dir = try TempDir()
        let store = try makeStore(dir)
        let db = store.database
        #expect(try db.rows("SELECT as_of FROM latest_night") == [["2026-12-01"]])
        let latest = try db.rows("SELECT device_key, owner, organization, manager, sources, stale, green FROM latest_devices ORDER BY device_id")
        let expected: [[String?]] = Self.devices(night: 1).map { d in
            var person: (organization: String?, manager: String?)? = nil
            if let found = Self.people.first(where: { $0.email == d.owner }) { person = (found.organization, found.managerEmail) }
            if d.owner == "bob@example.com" { person = ("Engineering", "ada@example.com") }
            let row: [String?] = [
                d.key, d.owner, person?.organization ?? nil, person?.manager ?? nil, "jamf",
                d.stale ? "1" : "0", d.isGreen ? "1" : "0"
            ]
            return row
        }
        #expect(latest == expected)
        let posture = try db.rows("SELECT device_key, encryption, firewall, screen_lock, jailbreak, sentinelone FROM latest_device_posture ORDER BY device_id")
        let expectedPosture: [[String?]] = Self.devices(night: 1).map { d in
            let statuses: [String?] = ["encryption", "firewall", "screen_lock"].map { key in
                d.results.first { $0.practice == key }?.status.rawValue
            }
            return [d.key] + statuses + [nil, nil]
        }
        #expect(posture == expectedPosture)
    }

    @Test func dailyViewsMatchCountsFromTheInputs() throws {
        let dir = try TempDir()
        let store = try makeStore(dir)
        let db = store.database
        var statusCounts: [String: Int] = [:]
        var byOrganization: [String: (applicable: Int, ok: Int)] = [:]
        var byManager: [String: (applicable: Int, ok: Int)] = [:]
        for (n, asOf) in ["2026-11-30", "2026-12-01"].enumerated() {
            for d in Self.devices(night: n) {
                for r in d.results {
                    statusCounts["\(asOf)|\(r.practice)|\(r.status.rawValue)", default: 0] += 1
                    guard r.status != .na, !d.stale else { continue }
                    let bobMoved = n == 1 && d.owner == "bob@example.com"
                    let person = Self.people.first { $0.email == d.owner }
                    let organization = bobMoved ? "Engineering" : person?.organization ?? "-"
                    let manager = bobMoved ? "ada@example.com" : person?.managerEmail ?? "-"
                    let ok = r.status == .ok ? 1 : 0
                    byOrganization["\(asOf)|\(organization)|\(r.practice)", default: (0, 0)].applicable += 1
                    byOrganization["\(asOf)|\(organization)|\(r.practice)", default: (0, 0)].ok += ok
                    byManager["\(asOf)|\(manager)|\(r.practice)", default: (0, 0)].applicable += 1
                    byManager["\(asOf)|\(manager)|\(r.practice)", default: (0, 0)].ok += ok
                }
            }
        }
        let daily = try db.rows("SELECT as_of, practice, status, devices FROM daily_practice_status")
        #expect(Dictionary(uniqueKeysWithValues: daily.map { ("\($0[0]!)|\($0[1]!)|\($0[2]!)", Int($0[3]!)!) }) == statusCounts)
        // The hand query over the base tables agrees too.
        #expect(daily.count == (try db.rows("SELECT DISTINCT as_of, practice, status FROM practice_results").count))

        func compliance(_ view: String, _ column: String) throws -> [String: (Int, Int, Double)] {
            let rows = try db.rows("SELECT as_of, \(column), practice, applicable, ok, compliance FROM \(view)")
            return Dictionary(
                uniqueKeysWithValues: rows.map {
                    ("\($0[0]!)|\($0[1] ?? "-")|\($0[2]!)", (Int($0[3]!)!, Int($0[4]!)!, Double($0[5]!)!))
                })
        }
        for (view, column, expected) in [
            ("daily_compliance_by_organization", "organization", byOrganization),
            ("daily_compliance_by_manager", "manager", byManager)
        ] {
            let actual = try compliance(view, column)
            #expect(Set(actual.keys) == Set(expected.keys), "\(view)")
            for (key, value) in expected {
                #expect(actual[key]?.0 == value.applicable && actual[key]?.1 == value.ok, "\(view) \(key)")
                let rate: Double = Double(value.ok) / Double(value.applicable)
                #expect(abs((actual[key]?.2 ?? -1) - rate) < 1e-12, "\(view) \(key)")  // read back as text
            }
        }
    }
}
