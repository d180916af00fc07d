import Foundation
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeReport
@testable import StethoscopeRollups

/// "Honest, consistent numbers" (issue #17): fixes counted on every night for every group.
@Suite struct HonestNumbersTests {
    /// The exported practices table of a page: practice title → fixes.
    func fixes(_ dir: TempDir, _ page: String, table: String = "practices") throws -> [String: Int] {
        let csv = try String(contentsOf: dir.out.appendingPathComponent("\(page).\(table).csv"), encoding: .utf8)
        var lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines.removeFirst()
        let column = try #require(header.firstIndex(of: "fixes"))
        var out: [String: Int] = [:]
        for row in lines where row[column] != "0" { out[row[0]] = Int(row[column]) ?? -1 }
        return out
    }

    @Test func managerPagesCountFixesOnEveryNight() throws {
        let dir = try TempDir()
        // 40 nights: more than a sparkline samples (30), so sampled nights would miss fixes.
        let store = try Fixture.store(dir, nights: 40)
        try Report.generate(store: store, options: ReportOptions(out: dir.out, nights: 40))
        let db = store.database
        let titles = Dictionary(
            uniqueKeysWithValues: try db.rows("SELECT practice, title FROM practice_definitions WHERE as_of = (SELECT MAX(as_of) FROM runs)").map {
                ($0[0]!, $0[1]!)
            })
        func sql(_ kind: String, _ id: String) throws -> [String: Int] {
            var out: [String: Int] = [:]
            for row in try db.rows(
                """
                SELECT practice, SUM(fixed) FROM rollup_practices WHERE chart = 'night' AND group_kind = ?1 AND group_id = ?2 GROUP BY 1
                """, [kind, id]) where row[1] != "0"
            { out[titles[row[0]!]!] = Int(row[1]!)! }
            return out
        }
        // m1's chain holds devices whose statuses change night to night (Fixture.devices).
        let manager = try sql("manager", "m1@x.test")
        #expect(manager.values.reduce(0, +) > 0)
        #expect(try fixes(dir, "manager-\(slug("m1@x.test"))") == manager)
        // The overview's company fixes equal the sum over organizations (each night, each device is in one).
        let company = try fixes(dir, "index", table: "status")
        #expect(company == (try sql("company", "")))
        var byOrg: [String: Int] = [:]
        for org in try db.rows("SELECT DISTINCT group_id FROM rollup_groups WHERE group_kind = 'organization'") {
            for (title, count) in try fixes(dir, "org-\(slug(org[0]!))") { byOrg[title, default: 0] += count }
        }
        #expect(byOrg == company)
    }
}

/// Colour bands: per measure, legible, legended on every page.
@Suite struct BandTests {
    /// WCAG 2 relative luminance of "#rrggbb".
    static func luminance(_ hex: String) -> Double {
        let v = Int(hex.dropFirst(), radix: 16)!
        func channel(_ c: Int) -> Double {
            let s = Double(c) / 255
            return s <= 0.03928 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * channel(v >> 16 & 255) + 0.7152 * channel(v >> 8 & 255) + 0.0722 * channel(v & 255)
    }

    static func contrast(_ a: String, _ b: String) -> Double {
        let x = luminance(a)
        let y = luminance(b)
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    @Test func everyBandPairHasAAContrast() {
        #expect(abs(Self.contrast("#000000", "#ffffff") - 21) < 0.01)
        for band in Band.palette {
            #expect(Self.contrast(band.text, band.background) >= 4.5, "\(band.css): \(Self.contrast(band.text, band.background))")
            #expect(Band.css.contains(".\(band.css){background:\(band.background);color:\(band.text)}"))
        }
        // Band marks never look like the change arrows.
        #expect(Band.palette.allSatisfy { !$0.mark.contains("▲") && !$0.mark.contains("▼") })
    }

    @Test func bandsArePerMeasure() {
        // 50% green is mid-scale for the green rate; 50% compliance is the worst compliance band.
        #expect(Band.green(0.55).css == "b2" && Band.of(0.55).css == "b4")
        #expect(Band.green(0.45).css == "b2" && Band.green(0.35).css == "b3" && Band.green(0.85).css == "b0")
        #expect(Band.of(0.92).css == "b1" && Band.of(0.96).css == "b0")
    }

    @Test func everyPageHasTheLegend() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let pages = try FileManager.default.contentsOfDirectory(atPath: dir.out.path).filter { $0.hasSuffix(".html") }
        #expect(pages.count > 10)
        for page in pages {
            let html = try String(contentsOf: dir.out.appendingPathComponent(page), encoding: .utf8)
            #expect(html.contains("<p class=\"legend\">") && html.contains("Green devices:</span>"), "\(page)")
        }
        // A group's green rate takes the green bands: the overview's organizations table shows them.
        let orgs = try String(contentsOf: dir.out.appendingPathComponent("organizations.html"), encoding: .utf8)
        let rows = try #require(HTMLTable.rows(orgs, caption: "Compliance by organization"))
        #expect(!rows.isEmpty)
    }
}

@Suite struct SmallMultipleTests {
    /// The y-axis labels of the chart whose title id is `id`.
    func axis(_ html: String, id: String) throws -> [String] {
        let start = try #require(html.range(of: "aria-labelledby=\"\(id)t \(id)d\""))
        let end = try #require(html.range(of: "</svg>", range: start.upperBound..<html.endIndex))
        let svg = String(html[start.upperBound..<end.lowerBound])
        return svg.components(separatedBy: "text-anchor=\"end\" dominant-baseline=\"middle\">").dropFirst()
            .map { String($0.prefix { $0 != "<" }) }
    }

    @Test func practiceChartsShareOneYAxis() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        // Encryption nearly always ok across the company; the other practices stay near 60%.
        // (rollup_practices is a view over the compact roll-ups: the company's counts are its own rollup_counts rows.)
        try store.database.exec(
            """
            UPDATE rollup_counts SET counts = json_set(counts, p.path, json_extract(counts, p.path) + 1000)
            FROM (SELECT '$[' || practice_no || '][0]' AS path FROM practice_numbers WHERE practice = 'encryption') p
            WHERE counts_id IN (SELECT counts_id FROM rollup_groups WHERE group_kind = 'company')
            """)
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let index = try String(contentsOf: dir.out.appendingPathComponent("index.html"), encoding: .utf8)
        let axes = try (0..<3).map { try axis(index, id: "p\($0)") }
        #expect(axes[0].first == "0%" && axes[0].last == "100%", "\(axes)")
        #expect(axes.allSatisfy { $0 == axes[0] }, "\(axes)")
    }
}

/// Tables for machines and the order tables come in.
@Suite struct ExportAndOrderTests {
    @Test func jsonAndCSVUseStableIDsTypesAndTrendArrays() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let csv = try String(contentsOf: dir.out.appendingPathComponent("organizations.organizations.csv"), encoding: .utf8)
        let header = csv.split(separator: "\n")[0].split(separator: ",").map(String.init)
        #expect(
            Array(header.prefix(7)) == [
                "organization", "devices_counted", "green", "green_vs_7_nights", "encryption",
                "encryption_vs_7_nights", "encryption_trend"
            ], "\(header)")
        #expect(header.allSatisfy { $0.range(of: "^[a-z0-9_]+$", options: .regularExpression) != nil })
        let data = try Data(contentsOf: dir.out.appendingPathComponent("index.status.json"))
        struct Column: Decodable { var id: String, label: String, type: String }
        struct Point: Decodable {
            var as_of: String
            var value: Double?
        }
        struct Doc: Decodable {
            var caption: String
            var columns: [Column]
        }
        let doc = try JSONDecoder().decode(Doc.self, from: data)
        let byID = Dictionary(uniqueKeysWithValues: doc.columns.map { ($0.id, $0) })
        #expect(byID["compliance"]?.type == "ratio" && byID["compliance"]?.label == "Compliance")
        #expect(byID["vs_7_nights"]?.type == "ratio_change" && byID["fixes"]?.type == "integer")
        #expect(byID["practice"]?.type == "string" && byID["trend"]?.type == "trend")
        // Rows: the trend column is an array of {as_of, value} over the report's nights.
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let rows = try #require(object["rows"] as? [[Any]])
        let trendAt = try #require(doc.columns.firstIndex { $0.id == "trend" })
        let trend = try JSONDecoder().decode([Point].self, from: JSONSerialization.data(withJSONObject: rows[0][trendAt]))
        #expect(trend.map(\.as_of) == Fixture.nights)
    }

    @Test func organizationsAndManagersAreListedWorstFirst() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        for (page, caption) in [("organizations.html", "Compliance by organization"), ("managers.html", "Managers and their whole")] {
            let html = try String(contentsOf: dir.out.appendingPathComponent(page), encoding: .utf8)
            let rows = try #require(HTMLTable.rows(html, caption: caption))
            let column = page == "managers.html" ? 4 : 2
            let rates = rows.compactMap { Double($0[column].split(separator: "%")[0]) }
            #expect(rates.count >= 3 && rates == rates.sorted(), "\(page): \(rates)")
        }
    }
}

@Suite struct FixNightsTests {
    @Test func histogramTextRoundTripsAndKeepsQuantiles() {
        let list = [3, 1, 3, 3, 7, 1, 2, 3, 9, 3]
        let text = Rollups.fixNightsText(list)
        #expect(text == "1*2 2 3*5 7 9")
        var h: [Int: Int] = [:]
        Rollups.readFixNights(text, into: &h)
        Rollups.readFixNights("3 4", into: &h)  // a row written before: one token per fix
        #expect(h == [1: 2, 2: 1, 3: 6, 4: 1, 7: 1, 9: 1])
        let all = list + [3, 4]
        #expect(ReportData.total(h) == all.count)
        #expect(ReportData.quantiles(h).median == ReportData.quantiles(all).median)
        #expect(ReportData.quantiles(h).p90 == ReportData.quantiles(all).p90)
        for n in 1...12 {
            let values = (0..<n).map { ($0 * 7) % 5 + 1 }
            var hist: [Int: Int] = [:]
            for v in values { hist[v, default: 0] += 1 }
            #expect(
                ReportData.quantiles(hist).median == ReportData.quantiles(values).median && ReportData.quantiles(hist).p90 == ReportData.quantiles(values).p90)
        }
    }
}
