import Foundation
import StethoscopeCore
import StethoscopeRollups
import StethoscopeStore

/// The managers pages: one per manager chain, with direct reports and trends.
extension Site {

    mutating func managers() throws {
        let n = d.last
        let managers = worstFirst(d.groups.values.filter { $0.kind == .manager })
        var index = Table(
            name: "managers", caption: "Managers and their whole reporting chains on \(lastAsOf), lowest green rate first",
            columns: ["Manager", "Organization", "Reports to", "Devices counted", "Green", "Green vs 7 nights", "Critical", "Green trend"],
            rows: managers.map { g in
                let boss = d.org[g.id]?.managerEmail
                return [
                    nameCell(g), .text(d.people[g.id]?.organization ?? ""), .text(boss.map { d.name(of: $0) } ?? ""),
                    .int(d.counted(g, n)), .greenBand(d.greenRate(g, n)), .change(d.delta({ d.greenRate(g, $0) }, back: 7)),
                    .int(d.critical(g, n)), .spark(d.series { d.greenRate(g, $0) }, label: "\(groupName(g)) green rate")
                ]
            })
        index.sortPage = "managers"
        index.defaultSort = 4
        index.sortedBy = 4
        var problems = ""
        if !d.org.problems.isEmpty {
            problems =
                "<p class=\"note\">Directory problems (cycles are cut where they close, so chains never loop): \(d.org.problems.count). See Data quality.</p>"
        }
        try sortablePage(index, title: "Managers", current: "managers.html") { table in
            problems + "<p>Click a column's title to sort by it.</p>" + table.html(page: "managers")
        }
        // Direct reports per manager, in directory order.
        var reports: [String: [String]] = [:]
        for email in d.org.order { if let m = d.org[email]?.managerEmail { reports[m, default: []].append(email) } }
        for g in managers {
            let file = "manager-\(slug(g.id)).html"
            let base = String(file.dropLast(5))
            var crumbs = "<nav class=\"crumbs\" aria-label=\"Reporting chain\"><a href=\"managers.html\">Managers</a>"
            for m in d.org.chain(of: g.id).reversed() {
                if let up = d.group(.manager, m) { crumbs += " › <a href=\"\(h(href(up) ?? ""))\">\(h(groupName(up)))</a>" }
            }
            crumbs += " › \(h(groupName(g)))</nav>"
            var body = crumbs
            if let person = d.people[g.id] {
                body +=
                    "<p>\(h(person.title ?? "")) · \(h(person.organization ?? "no organization")). Counts cover \(h(person.name)) and everyone below, transitively.</p>"
            }
            body += kpis(g) + trendCharts(g, id: "m")
            let subs = (reports[g.id] ?? []).compactMap { d.group(.manager, $0) }
            var side: [ReportData.Group] = subs
            if let direct = d.group(.direct, g.id) { side.append(direct) }
            let sideTable = groupTable(side, name: "direct-reports", caption: "Direct reports' chains side by side") { sub in
                sub.kind == .direct ? .text("Direct reports' own devices") : nameCell(sub)
            }
            body += "<h2>Direct reports' chains</h2>"
            let top = subs.sorted { (d.counted($0, n) ?? 0) > (d.counted($1, n) ?? 0) }.prefix(6)
            if !top.isEmpty {
                let series = top.map { sub in Charts.Series(name: groupName(sub), values: d.series { d.greenRate(sub, $0) }) }
                body +=
                    "<figure>"
                    + Charts.line(
                        id: "s", title: "Green-device rate of each direct report's chain",
                        description: "One line per direct report who manages others (the \(top.count) largest): "
                            + series.map { "\($0.name) \(pct($0.values.last ?? nil))" }.joined(separator: ", ") + ".",
                        series: Array(series), marks: marks, percent: true, width: 760)
                body += "<figcaption>Green-device rate per sub-team (lines differ by colour, dash and label).</figcaption>"
                body += "</figure>" + Charts.dataTable(Array(series), marks: marks, percent: true, sampled: true)
            }
            body += "<div style=\"overflow-x:auto\">" + sideTable.html(page: base) + "</div>"
            let pt = practiceTable(g, name: "practices")
            body += "<h2>Practices across the chain</h2>" + pt.html(page: base)
            var tables = [sideTable, pt]
            if includePeople {
                var rows: [[Cell]] = []
                for email in reports[g.id] ?? [] {
                    for dev in d.ownedDevices[email] ?? [] {
                        rows.append([
                            .text(d.name(of: email)), .text(email), .text(dev.name), .text(dev.platform), .text(dev.key),
                            .text(dev.stale ? "yes" : "no"), .text(dev.failing)
                        ])
                    }
                }
                let people = Table(
                    name: "people", caption: "Direct reports' devices on \(lastAsOf) (--include-people)",
                    columns: ["Person", "Email", "Device", "Platform", "Device key", "Stale", "Not ok"], rows: rows)
                body += "<h2>Direct reports' devices</h2>" + people.html(page: base)
                tables.append(people)
            }
            try page(file, title: groupName(g), current: "managers.html", body: body, tables: tables)
        }
    }
}
