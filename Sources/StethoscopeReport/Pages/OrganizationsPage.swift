import Foundation
import StethoscopeCore
import StethoscopeRollups
import StethoscopeStore

/// The organizations page and its sorted copies.
extension Site {

    /// Organizations worst first (lowest green rate on the last night; those without devices last), then by name.
    var organizationGroups: [ReportData.Group] {
        worstFirst(d.groups.values.filter { $0.kind == .organization })
    }

    /// Groups ordered worst first: lowest green rate, then more devices, then by name; groups without a rate last.
    func worstFirst(_ groups: [ReportData.Group]) -> [ReportData.Group] {
        let n = d.last
        struct Key { var group: ReportData.Group, rate: Double, counted: Int, name: String }
        let keys: [Key] = groups.map { Key(group: $0, rate: d.greenRate($0, n) ?? 2, counted: d.counted($0, n) ?? 0, name: groupName($0)) }
        let sorted = keys.sorted { (a: Key, b: Key) -> Bool in
            if a.rate != b.rate { return a.rate < b.rate }
            if a.counted != b.counted { return a.counted > b.counted }
            return a.name < b.name
        }
        return sorted.map(\.group)
    }

    mutating func organizations() throws {
        let orgs = organizationGroups
        let n = d.last
        var rows: [[Cell]] = []
        for g in orgs {
            var row: [Cell] = [nameCell(g), .int(d.counted(g, n)), .greenBand(d.greenRate(g, n)), .change(d.delta({ d.greenRate(g, $0) }, back: 7))]
            for (p, practice) in d.practices.enumerated() {
                row.append(
                    .trend(
                        d.compliance(g, p, n), change: d.delta({ d.compliance(g, p, $0) }, back: 7),
                        spark: d.series { d.compliance(g, p, $0) }, label: "\(groupName(g)), \(practice.title)"))
            }
            rows.append(row)
        }
        let columns = ["Organization", "Devices counted", "Green", "Green vs 7 nights"] + d.practices.map(\.title)
        let ids = ["organization", "devices_counted", "green", "green_vs_7_nights"] + d.practices.map(\.key)
        var table = Table(
            name: "organizations", caption: "Compliance by organization on \(lastAsOf), lowest green rate first",
            columns: columns, rows: rows, ids: ids)
        table.sortPage = "organizations"
        table.defaultSort = 2
        table.sortedBy = 2
        try sortablePage(table, title: "Organizations", current: "organizations.html") { table in
            "<p>Each cell: compliance, its band (printed mark and colour), the change vs 7 nights ago and the trend. "
                + "Click a column's title to sort by it.</p><div style=\"overflow-x:auto\">" + table.html(page: "organizations") + "</div>"
        }
        for g in orgs {
            let file = "org-\(slug(g.id)).html"
            var body = "<nav class=\"crumbs\"><a href=\"organizations.html\">Organizations</a> › \(h(groupName(g)))</nav>"
            if (d.counted(g, n) ?? 0) == 0 && (g.totals[n]?.devices ?? 0) <= 0 { body += "<p>This organization has no devices on \(h(lastAsOf)).</p>" }
            body += kpis(g) + trendCharts(g, id: "g")
            let practicesTable = practiceTable(g, name: "practices")
            body += "<h2>Practices</h2>" + practicesTable.html(page: String(file.dropLast(5)))
            // Managers whose own organization this is, top of the org first.
            let managers = d.groups.values.filter { $0.kind == .manager && (d.people[$0.id]?.organization ?? "") == g.id }
                .sorted { (d.counted($0, n) ?? 0) != (d.counted($1, n) ?? 0) ? (d.counted($0, n) ?? 0) > (d.counted($1, n) ?? 0) : $0.id < $1.id }
            let mt = groupTable(managers, name: "managers", caption: "Managers in \(groupName(g)) (their whole chains)") { nameCell($0) }
            body += "<h2>Managers</h2><div style=\"overflow-x:auto\">" + mt.html(page: String(file.dropLast(5))) + "</div>"
            try page(file, title: groupName(g), current: "organizations.html", body: body, tables: [practicesTable, mt])
        }
    }
}
