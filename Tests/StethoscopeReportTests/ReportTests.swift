import Foundation
import StethoscopeApp
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeReport

/// The pages against figures computed by SQL straight from the snapshot tables, and the awkward cases.
@Suite struct ReportTests {
    func read(_ dir: TempDir, _ file: String) throws -> String {
        try String(contentsOf: dir.out.appendingPathComponent(file), encoding: .utf8)
    }

    func files(_ dir: TempDir) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.out.path).sorted()
    }

    /// Company status counts per practice for one night, as the pages print them.
    func companyCounts(_ db: Database, _ asOf: String) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for r in try db.rows(
            """
            SELECT pd.title, SUM(r.status = 'ok'), SUM(r.status = 'nudge'), SUM(r.status = 'warn'), SUM(r.status = 'unknown'),
                   SUM(r.status = 'na')
            FROM practice_results r JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
            JOIN practice_definitions pd ON pd.as_of = r.as_of AND pd.practice = r.practice
            WHERE r.as_of = ?1 AND d.stale = 0 GROUP BY pd.title
            """, [asOf])
        {
            out[r[0]!] = r[1...].map { $0 ?? "" }
        }
        return out
    }

    func greenRates(_ db: Database) throws -> [[String]] {
        try db.rows("SELECT as_of, CAST(SUM(green) AS REAL) / COUNT(*) FROM devices WHERE stale = 0 GROUP BY as_of ORDER BY as_of").map {
            [$0[0]!, pct(Double($0[1]!)!)]
        }
    }

    @Test func pageNumbersMatchSQLIncludingThePartialNight() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let db = store.database
        try Report.generate(store: store, options: ReportOptions(out: dir.out, nights: 30))
        let index = try read(dir, "index.html")

        // The green-rate chart's data table, night by night; the partial night is marked.
        let chart = try #require(HTMLTable.rows(index, caption: "Chart data"))
        #expect(chart.map { Array($0.prefix(2)) } == (try greenRates(db)))
        #expect(chart.first { $0[0] == Fixture.partialNight }?.last?.hasPrefix("partial night") == true)
        #expect(chart.first { $0[0] == "2026-11-04" }?.last == "practice definitions changed: Firewall: Rating high (was medium)")

        // The status breakdown of the last night.
        let status = try #require(HTMLTable.rows(index, caption: "Practices on"))
        let expected = try companyCounts(db, "2026-11-05")
        #expect(expected.count == 3)
        for (title, counts) in expected {
            let row = try #require(status.first { $0[0] == title })
            #expect(Array(row[5...9]) == counts, "\(title)")
        }

        // An organization's page: its practices table, against SQL for that organization.
        let orgSQL = try db.rows(
            """
            SELECT r.practice, SUM(r.status = 'ok'), SUM(r.status = 'warn'), SUM(r.status = 'unknown')
            FROM practice_results r JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
            JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
            WHERE r.as_of = '2026-11-05' AND d.stale = 0 AND p.organization = ?1 GROUP BY 1 ORDER BY 1
            """, [Fixture.quoted])
        let orgCSV = try read(dir, "org-\(slug(Fixture.quoted)).practices.csv")
        let csvRows = orgCSV.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let keys = try db.rows("SELECT practice, title FROM practice_definitions WHERE as_of = '2026-11-05'")
        var titleOf: [String: String] = [:]
        for k in keys { titleOf[k[0]!] = k[1]! }
        for row in orgSQL {
            let csv = try #require(csvRows.first { $0[0] == titleOf[row[0]!] })
            #expect([csv[5], csv[7], csv[8]] == [row[1]!, row[2]!, row[3]!])
        }

        // A manager's page: the whole chain's counts, by recursive SQL over the night's people.
        let chain = try db.rows(
            """
            WITH RECURSIVE below(email) AS (SELECT 'vp2@x.test' UNION
                SELECT p.email FROM below b JOIN people p ON p.as_of = '2026-11-05' AND p.manager_email = b.email)
            SELECT pd.title, SUM(r.status = 'ok'), SUM(r.status = 'nudge'), SUM(r.status = 'warn'), SUM(r.status = 'unknown'), SUM(r.status = 'na')
            FROM below b JOIN devices d ON d.as_of = '2026-11-05' AND d.owner = b.email
            JOIN practice_results r ON r.as_of = d.as_of AND r.device_id = d.device_id
            JOIN practice_definitions pd ON pd.as_of = r.as_of AND pd.practice = r.practice
            WHERE d.stale = 0 GROUP BY 1
            """)
        let manager = try read(dir, "manager-\(slug("vp2@x.test")).html")
        let table = try #require(HTMLTable.rows(manager, caption: "Practices on"))
        #expect(chain.count == 3)
        for row in chain {
            let shown = try #require(table.first { $0[0] == row[0]! })
            #expect(Array(shown[5...9]) == row[1...].map { $0! })
        }

        // The practice page's breakdown by organization: compliance as printed.
        let practice = try read(dir, "practice-\(slug("encryption")).html")
        let byOrg = try #require(HTMLTable.rows(practice, caption: "Disk encryption by organization"))
        let compliance = try db.rows(
            """
            SELECT COALESCE(p.organization, ''), CAST(SUM(r.status = 'ok') AS REAL) / COUNT(*) FROM practice_results r
            JOIN devices d ON d.as_of = r.as_of AND d.device_id = r.device_id
            LEFT JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
            WHERE r.as_of = '2026-11-05' AND r.practice = 'encryption' AND r.status <> 'na' AND d.stale = 0 GROUP BY 1
            """)
        for row in compliance {
            let name = row[0]!.isEmpty ? "(no organization)" : row[0]!
            let shown = try #require(byOrg.first { $0[0] == name }, "\(name)")
            #expect(shown[6].hasPrefix(pct(Double(row[1]!)!)))
        }

        // A report as of the partial night shows that night's own figures.
        let partialDir = try TempDir()
        try Report.generate(store: store, options: ReportOptions(out: partialDir.out, asOf: Fixture.partialNight))
        let partialIndex = try String(contentsOf: partialDir.out.appendingPathComponent("index.html"), encoding: .utf8)
        let partialStatus = try #require(HTMLTable.rows(partialIndex, caption: "Practices on"))
        for (title, counts) in try companyCounts(db, Fixture.partialNight) {
            #expect(Array(try #require(partialStatus.first { $0[0] == title })[5...9]) == counts)
        }
        #expect(partialIndex.contains("Partial nights"))
    }

    @Test func everyValueIsEscaped() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try Report.generate(store: store, options: ReportOptions(out: dir.out, includePeople: true))
        let pages = try files(dir).filter { $0.hasSuffix(".html") }
        #expect(pages.count > 15)
        for page in pages {
            let html = try read(dir, page)
            #expect(!html.contains("<script"), "\(page)")
            #expect(!html.contains("<img"), "\(page)")
            #expect(!html.contains("<b>Bold"), "\(page)")
        }
        let orgs = try read(dir, "organizations.html")
        #expect(orgs.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(orgs.contains("Sales &quot;West&quot; &amp; Co&#39;s"))
        let vp2 = try read(dir, "manager-\(slug("vp2@x.test")).html")
        #expect(vp2.contains("Eve &quot;Q&quot; O&#39;Neil"))
        // With --include-people the hostile device name shows as text on its owner's manager page.
        let m1 = try read(dir, "manager-\(slug("vp2@x.test")).html") + (try read(dir, "manager-\(slug("ceo@x.test")).html"))
        #expect(m1.contains("dev-"))
        let all = try pages.map { try read(dir, $0) }.joined()
        #expect(all.contains("&lt;img src=x onerror=alert(1)&gt;"))
        // The CSV keeps the raw text; the JSON escapes '<'.
        let csv = try read(dir, "organizations.organizations.csv")
        #expect(csv.contains(Fixture.script))
        let json = try read(dir, "organizations.organizations.json")
        #expect(json.contains("\\u003cscript>alert(1)\\u003c/script>"))
    }

    @Test func peopleAppearOnlyWhenAsked() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let all = try files(dir).map { try read(dir, $0) }.joined()
        // Individual contributors and their devices are not named; managers are.
        #expect(!all.contains("Ida One") && !all.contains("ic1@x.test") && !all.contains("dev-4"))
        #expect(all.contains("Max Manager"))
        let withPeople = try TempDir()
        try Report.generate(store: store, options: ReportOptions(out: withPeople.out, includePeople: true))
        let manager = try String(contentsOf: withPeople.out.appendingPathComponent("manager-\(slug("m1@x.test")).html"), encoding: .utf8)
        #expect(manager.contains("Ida One") && manager.contains("dev-4"))
    }

    @Test func cycleEmptyOrganizationAndLinks() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let empty = try read(dir, "org-\(slug("Empty Org")).html")
        #expect(empty.contains("has no devices"))
        let quality = try read(dir, "quality.html")
        #expect(quality.contains("is on a manager cycle"))
        #expect(quality.contains("HTTP 503 after 5 retries"))
        for m in ["cyc1@x.test", "cyc2@x.test"] {
            #expect(FileManager.default.fileExists(atPath: dir.out.appendingPathComponent("manager-\(slug(m)).html").path))
        }
        // Links up and down: m1's page links to vp1 and ceo above; vp1's page links down to m1.
        let m1 = try read(dir, "manager-\(slug("m1@x.test")).html")
        #expect(m1.contains("href=\"manager-\(slug("vp1@x.test")).html\"") && m1.contains("href=\"manager-\(slug("ceo@x.test")).html\""))
        let vp1 = try read(dir, "manager-\(slug("vp1@x.test")).html")
        #expect(vp1.contains("href=\"manager-\(slug("m1@x.test")).html\""))
        // Every page has CSV and JSON for each of its tables.
        let names = Set(try files(dir))
        for file in names where file.hasSuffix(".csv") {
            #expect(names.contains(String(file.dropLast(4)) + ".json"))
            #expect(names.contains(String(file.split(separator: ".")[0]) + ".html"))
        }
    }

    @Test func singleNightDatabase() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir, nights: 1)
        let result = try Report.generate(store: store, options: ReportOptions(out: dir.out))
        #expect(result.pages > 10)
        let index = try read(dir, "index.html")
        #expect(index.contains("over 1 night(s)"))
        let chart = try #require(HTMLTable.rows(index, caption: "Chart data"))
        #expect(chart.map { Array($0.prefix(2)) } == (try greenRates(store.database)))
        #expect(index.contains("<circle"))  // one point, drawn as a dot
    }

    @Test func emptyDatabaseGivesAClearMessage() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        do {
            try Report.generate(store: store, options: ReportOptions(out: dir.out))
            Issue.record("expected ReportError")
        } catch let error as ReportError {
            #expect(error.description.contains("no nights yet"))
        }
        #expect(throws: ReportError.self) {
            try Report.generate(store: try Fixture.store(TempDir(), nights: 1), options: ReportOptions(out: dir.out, asOf: "2025-01-01"))
        }
    }

    @Test func commandExitCodes() throws {
        let dir = try TempDir()
        let config = dir.url.appendingPathComponent("c.yaml")
        try "timezone: UTC\ndatabase: \(dir.db.path)\nreport: {out: \(dir.out.path)}\n".write(to: config, atomically: true, encoding: .utf8)
        #expect(Commands.report(configFile: config, database: nil, out: nil, nights: nil, asOf: nil, includePeople: false, chart: "night") == .failed)
        _ = try SnapshotStore(path: dir.db)
        #expect(Commands.report(configFile: config, database: nil, out: nil, nights: nil, asOf: nil, includePeople: false, chart: "night") == .failed)
        try Fixture.store(dir, nights: 2)
        #expect(Commands.report(configFile: config, database: nil, out: nil, nights: nil, asOf: nil, includePeople: false, chart: "sideways") == .usage)
        #expect(Commands.report(configFile: config, database: nil, out: nil, nights: nil, asOf: "11/05", includePeople: false, chart: "night") == .usage)
        #expect(Commands.report(configFile: config, database: nil, out: nil, nights: nil, asOf: nil, includePeople: false, chart: "current") == .complete)
        #expect(FileManager.default.fileExists(atPath: dir.out.appendingPathComponent("index.html").path))
        #expect(Commands.rollup(configFile: config, database: nil, chart: "night") == .complete)
        let bad = dir.url.appendingPathComponent("bad.yaml")
        try "report: {colour: red}\n".write(to: bad, atomically: true, encoding: .utf8)
        #expect(Commands.report(configFile: bad, database: nil, out: nil, nights: nil, asOf: nil, includePeople: false, chart: "night") == .config)
    }
}
