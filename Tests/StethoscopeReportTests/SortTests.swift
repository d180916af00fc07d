import Foundation
import Testing

@testable import StethoscopeReport

/// Issue 17: tables sort by the column a reader clicks, without script. The organizations and managers tables open
/// worst first (lowest green rate); each other column's title links to a copy of the page sorted by it.
@Suite struct SortTests {
    func read(_ dir: TempDir, _ file: String) throws -> String {
        try String(contentsOf: dir.out.appendingPathComponent(file), encoding: .utf8)
    }

    /// The column titles of the first table, tags stripped, and the `<th …>` openings (attributes) beside them.
    func headers(_ html: String) -> [(title: String, tag: String, href: String?)] {
        guard let head = html.range(of: "<thead>"), let end = html.range(of: "</thead>") else { return [] }
        return html[head.upperBound..<end.lowerBound].components(separatedBy: "<th").dropFirst().map { part in
            let tag = String(part.prefix { $0 != ">" })
            let href = part.range(of: "href=\"").map { r in String(part[r.upperBound...].prefix { $0 != "\"" }) }
            return (HTMLTable.text("<th" + part.components(separatedBy: "</th>")[0]), tag, href)
        }
    }

    /// The leading number of a cell ("12", "95.0% ● …", "-3.0 pts"); nil for "–".
    func number(_ cell: String) -> Double? {
        Double(String(cell.prefix { $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" }).replacingOccurrences(of: "+", with: ""))
    }

    @Test func headersLinkToSortedCopiesOfThePage() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let page = try read(dir, "organizations.html")
        let titles = headers(page)
        #expect(titles.map(\.title).prefix(3) == ["Organization", "Devices counted", "Green"])
        // The page's own order is the green rate's, lowest first: that title is marked, not linked.
        #expect(titles[2].tag.contains("aria-sort=\"ascending\"") && titles[2].href == nil)
        let base = try #require(HTMLTable.rows(page, caption: "Compliance by organization"))
        let greens = base.map { number($0[2]) }
        #expect(greens.compactMap { $0 } == greens.compactMap { $0 }.sorted())

        for (column, title) in titles.enumerated() where column != 2 {
            let file = try #require(title.href, "\(title.title) has no link")
            #expect(file.hasPrefix("organizations.by-") && file.hasSuffix(".html"))
            let copy = try read(dir, file)
            #expect(!copy.contains("<script"))
            let copyTitles = headers(copy)
            #expect(copyTitles[column].tag.contains("aria-sort") && copyTitles[column].href == nil, "\(file)")
            #expect(copyTitles[2].href == "organizations.html", "\(file): the green column leads back to the page")
            let rows = try #require(HTMLTable.rows(copy, caption: "Compliance by organization"), "\(file)")
            // The same rows, in another order.
            #expect(rows.map { $0[0] }.sorted() == base.map { $0[0] }.sorted(), "\(file)")
            let cells = rows.map { $0[column] }
            if column == 0 {
                #expect(cells == cells.sorted { $0.lowercased() < $1.lowercased() }, "\(file)")
            } else {
                let values = cells.map(number)
                // Values first (counts most first, rates and changes lowest first), cells without one last.
                let known = values.prefix { $0 != nil }.compactMap { $0 }
                #expect(known.count == values.compactMap { $0 }.count, "\(file): a cell without a value before one with")
                #expect(known == (column == 1 ? known.sorted(by: >) : known.sorted()), "\(file): \(cells)")
            }
        }
    }

    @Test func managersSortByCriticalDevicesMostFirst() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let titles = headers(try read(dir, "managers.html"))
        let critical = try #require(titles.firstIndex { $0.title == "Critical" })
        #expect(titles[critical].href == "managers.by-critical.html")
        // The sparkline column has no order.
        #expect(titles.last?.title == "Green trend" && titles.last?.href == nil)
        let rows = try #require(HTMLTable.rows(try read(dir, "managers.by-critical.html"), caption: "Managers and their whole"))
        let values = rows.map { number($0[critical]) ?? -1 }
        #expect(rows.count > 2 && values == values.sorted(by: >))
        #expect(Set(values).count > 1, "the fixture must have managers with different critical counts")
    }
}
