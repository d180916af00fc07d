import Foundation
import StethoscopeCore
import StethoscopeStore
import Testing
@testable import StethoscopeReport

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

    @Test func everyAncestorCountsItsSubOrganizations() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir, people: Self.pathPeople)
        let db = store.database
        for (org, like) in [("/Eng", "/Eng/%"), ("/Eng/Platform", "/Eng/Platform/%"), ("/Eng/Sales West", "/Eng/Sales West/%"), ("Office", "Office/%")] {
            for night in Fixture.nights {
                let expected = try db.rows("""
                    SELECT r.practice, SUM(r.status = 'ok'), SUM(r.status = 'nudge'), SUM(r.status = 'warn'), SUM(r.status = 'unknown'), SUM(r.status = 'na')
                    FROM practice_results r JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
                    JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
                    WHERE r.as_of = ?1 AND d.stale = 0 AND (p.organization = ?2 OR p.organization LIKE ?3) GROUP BY 1 ORDER BY 1
                    """, [night, org, like])
                let rolled = try db.rows("""
                    SELECT practice, ok, nudge, warn, unknown, na FROM rollup_practices
                    WHERE chart = 'night' AND as_of = ?1 AND group_kind = 'organization' AND group_id = ?2
                      AND ok + nudge + warn + unknown + na > 0 ORDER BY 1
                    """, [night, org])
                #expect(rolled == expected, "\(org) \(night)")
                let devices = try db.rows("""
                    SELECT COUNT(*) FROM devices d JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
                    WHERE d.as_of = ?1 AND (p.organization = ?2 OR p.organization LIKE ?3)
                    """, [night, org, like])
                let rolledDevices = try db.rows("SELECT devices FROM rollup_groups WHERE chart = 'night' AND as_of = ?1 AND group_kind = 'organization' AND group_id = ?2", [night, org])
                #expect(rolledDevices == devices, "\(org) \(night)")
            }
        }
        #expect(try db.rows("SELECT devices FROM rollup_groups WHERE as_of = '2026-11-05' AND group_kind = 'organization' AND group_id = '/Eng'")[0][0].flatMap { Int($0) } ?? 0 > 0)
        // The report lists the parent with its sub-organizations.
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let orgs = try String(contentsOf: dir.out.appendingPathComponent("organizations.html"), encoding: .utf8)
        let rows = try #require(HTMLTable.rows(orgs, caption: "Compliance by organization"))
        let names = Set(rows.map { $0[0] })
        #expect(names.isSuperset(of: ["/Eng", "/Eng/Platform", "/Eng/Sales West", "/Eng/Platform/Loop", "Office"]))
        let eng = try #require(rows.first { $0[0] == "/Eng" })
        let counted = try db.rows("SELECT devices - stale FROM rollup_groups WHERE chart = 'night' AND as_of = '2026-11-05' AND group_kind = 'organization' AND group_id = '/Eng'")
        #expect(eng[1] == counted[0][0])
    }
}
