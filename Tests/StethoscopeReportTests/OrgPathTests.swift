import Foundation
import StethoscopeApp
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeReport
@testable import StethoscopeRollups

/// Hierarchical organizations (issue #17): an org path counts in every ancestor; flat names stay flat.
@Suite struct OrgPathTests {
    static func pathPeople(_ night: Int) -> [Person] {
        Fixture.people(night: night).map { p in
            var p = p
            switch p.organization {
            case Fixture.script: p.organization = "/Eng/Platform"
            case Fixture.quoted: p.organization = "/Eng/Sales West"
            case "Loop": p.organization = "/Eng/Platform/Loop"
            default: break
            }
            return p
        }
    }

    @Test func pathsSplitIntoAncestors() {
        #expect(RollupPass.organizationPath("/Engineering/Platform") == ["/Engineering", "/Engineering/Platform"])
        #expect(RollupPass.organizationPath("Engineering") == ["Engineering"])
        #expect(RollupPass.organizationPath("R&D / Ops") == ["R&D / Ops"])
        #expect(RollupPass.organizationPath("") == [""])
        #expect(RollupPass.organizationPath("/") == ["/"])
    }

    /// The organization's roll-up on `night` (per practice and status, and its devices) equals the same count taken
    /// straight from the detail tables over the organization and everything under its path. Returns the devices.
    @discardableResult
    static func expectRollupMatchesSQL(_ db: Database, org: String, night: String) throws -> Int {
        let like = org.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "/%"
        let expected = try db.rows(
            """
            SELECT r.practice, SUM(r.status = 'ok'), SUM(r.status = 'nudge'), SUM(r.status = 'warn'), SUM(r.status = 'unknown'), SUM(r.status = 'na')
            FROM practice_results r JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
            JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
            WHERE r.as_of = ?1 AND d.stale = 0 AND (p.organization = ?2 OR p.organization LIKE ?3 ESCAPE '\\') GROUP BY 1 ORDER BY 1
            """, [night, org, like])
        let rolled = try db.rows(
            """
            SELECT practice, ok, nudge, warn, unknown, na FROM rollup_practices
            WHERE chart = 'night' AND as_of = ?1 AND group_kind = 'organization' AND group_id = ?2
              AND ok + nudge + warn + unknown + na > 0 ORDER BY 1
            """, [night, org])
        #expect(rolled == expected, "\(org) \(night)")
        let devices = try db.rows(
            """
            SELECT COUNT(*) FROM devices d JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
            WHERE d.as_of = ?1 AND (p.organization = ?2 OR p.organization LIKE ?3 ESCAPE '\\')
            """, [night, org, like])
        let rolledDevices = try db.rows(
            "SELECT devices FROM rollup_groups WHERE chart = 'night' AND as_of = ?1 AND group_kind = 'organization' AND group_id = ?2", [night, org])
        #expect(rolledDevices == devices, "\(org) \(night)")
        return (devices.first?.first ?? nil).flatMap { Int($0) } ?? 0
    }

    @Test func everyAncestorCountsItsSubOrganizations() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir, people: Self.pathPeople)
        let db = store.database
        for org in ["/Eng", "/Eng/Platform", "/Eng/Platform/Loop", "/Eng/Sales West", "Office"] {
            var devices = 0
            for night in Fixture.nights { devices += try Self.expectRollupMatchesSQL(db, org: org, night: night) }
            #expect(devices > 0, "\(org) has devices")
        }
        #expect(
            try db.rows("SELECT devices FROM rollup_groups WHERE as_of = '2026-11-05' AND group_kind = 'organization' AND group_id = '/Eng'")[0][0].flatMap {
                Int($0)
            } ?? 0 > 0)
        // The report lists the parent with its sub-organizations.
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let orgs = try String(contentsOf: dir.out.appendingPathComponent("organizations.html"), encoding: .utf8)
        let rows = try #require(HTMLTable.rows(orgs, caption: "Compliance by organization"))
        let names = Set(rows.map { $0[0] })
        #expect(names.isSuperset(of: ["/Eng", "/Eng/Platform", "/Eng/Sales West", "/Eng/Platform/Loop", "Office"]))
        let eng = try #require(rows.first { $0[0] == "/Eng" })
        let counted = try db.rows(
            "SELECT devices - stale FROM rollup_groups WHERE chart = 'night' AND as_of = '2026-11-05' AND group_kind = 'organization' AND group_id = '/Eng'")
        #expect(eng[1] == counted[0][0])
    }

    /// The demo company is a three-level hierarchy (issue #17: `make demo` shows it), and a third-level team's
    /// devices count in its team, its department and nowhere else, as SQL over the detail says.
    @Test func theDemoRollsUpThreeLevels() async throws {
        let dir = try TempDir()
        let code = await DemoRunner.run(.init(people: 400, nights: 2, seed: 1, out: dir.url, start: "2026-11-01"))
        #expect(code == .complete)
        let db = try SnapshotStore(path: dir.url.appendingPathComponent("stethoscope.db")).database
        let orgs = try db.rows("SELECT DISTINCT organization FROM people WHERE as_of = '2026-11-02' ORDER BY 1").compactMap { $0[0] }
        let third = orgs.filter { $0.split(separator: "/").count == 3 }
        #expect(third.count >= 2, "\(orgs)")
        let sample = try #require(third.first)
        let parts = sample.split(separator: "/")
        let team = "/" + parts[0] + "/" + parts[1]
        let department = "/" + parts[0]
        #expect(orgs.contains(team), "the team has people of its own")
        for org in [sample, team, department] {
            #expect(try Self.expectRollupMatchesSQL(db, org: org, night: "2026-11-02") > 0, "\(org)")
        }
        // The department is the sum of its own people's devices and its teams' (each counted once).
        let perOrg = try db.rows(
            """
            SELECT p.organization, COUNT(*) FROM devices d JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
            WHERE d.as_of = '2026-11-02' GROUP BY 1
            """
        ).reduce(into: [String: Int]()) { $0[$1[0] ?? ""] = Int($1[1] ?? "0") ?? 0 }
        let underDepartment = perOrg.filter { $0.key == department || $0.key.hasPrefix(department + "/") }.values.reduce(0, +)
        let rolled = try db.rows(
            "SELECT devices FROM rollup_groups WHERE chart = 'night' AND as_of = '2026-11-02' AND group_kind = 'organization' AND group_id = ?1", [department])
        #expect((rolled.first?.first ?? nil).flatMap { Int($0) } == underDepartment)
        #expect(perOrg[sample] ?? 0 < underDepartment)
    }
}
