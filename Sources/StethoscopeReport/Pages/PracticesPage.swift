import Foundation
import StethoscopeCore
import StethoscopeRollups
import StethoscopeStore

/// The practices pages: one per practice, by organization.
extension Site {

    mutating func practices() throws {
        guard let c = company else { return }
        let n = d.last
        let index = practiceTable(c, name: "practices")
        try page("practices.html", title: "Practices", current: "practices.html", body: index.html(page: "practices"), tables: [index])
        let orgs = organizationGroups
        for (p, practice) in d.practices.enumerated() {
            let file = "practice-\(slug(practice.key)).html"
            var body = "<nav class=\"crumbs\"><a href=\"practices.html\">Practices</a> › \(h(practice.title))</nav>"
            body += "<p>\(h(practice.description)) Rating: <b>\(h(practice.rating))</b>."
            if let link = practice.link, link.hasPrefix("https://") || link.hasPrefix("http://") {
                body += " <a href=\"\(h(link))\">How to fix</a>."
            }
            body += "</p>"
            let compliance = Charts.Series(name: "Compliance", values: d.series { d.compliance(c, p, $0) })
            let unknown = Charts.Series(name: "Unknown", values: d.series { d.unknownShare(c, p, $0) })
            body +=
                "<figure>"
                + Charts.line(
                    id: "t", title: "\(practice.title): compliance and unknown share",
                    description:
                        "Compliance \(pct(compliance.values.first ?? nil)) to \(pct(compliance.values.last ?? nil)); unknown share \(pct(unknown.values.first ?? nil)) to \(pct(unknown.values.last ?? nil)).",
                    series: [compliance, unknown], marks: marks, percent: true, width: 760)
            body += "<figcaption>Solid: compliance; dashed: unknown share (missing data, counted against compliance).</figcaption>"
            body += "</figure>" + Charts.dataTable([compliance, unknown], marks: marks, percent: true)
            let q = ReportData.quantiles(c.fixes[p])
            body +=
                "<p>Time to fix across the company over these nights: \(ReportData.total(c.fixes[p])) fix(es), median \(q.median.map { fixed($0, 1) } ?? "–") nights, 90th percentile \(q.p90.map { fixed($0, 0) } ?? "–") nights.</p>"
            var rows: [[Cell]] = []
            for g in [c] + orgs {
                let s = d.statuses(g, p, n)
                let gq = ReportData.quantiles(g.fixes[p])
                rows.append([
                    g.kind == .company ? .text("Whole company") : nameCell(g), .int(d.applicable(g, p, n)), .int(Int(s.counts[.ok])),
                    .int(Int(s.counts[.nudge])),
                    .int(Int(s.counts[.warn])), .int(Int(s.counts[.unknown])), .band(d.compliance(g, p, n)),
                    .change(d.delta({ d.compliance(g, p, $0) }, back: 7)),
                    .percent(d.unknownShare(g, p, n)), .int(Int(s.newlyFailing)), .int(ReportData.total(g.fixes[p])), .decimal(gq.median), .decimal(gq.p90),
                    .spark(d.series { d.compliance(g, p, $0) }, label: "\(groupName(g)) compliance")
                ])
            }
            let byOrg = Table(
                name: "organizations", caption: "\(practice.title) by organization on \(lastAsOf)",
                columns: [
                    "Organization", "Applicable", "ok", "nudge", "warn", "unknown", "Compliance", "vs 7 nights",
                    "Unknown share", "Newly failing", "Fixes", "Median nights to fix", "P90 nights to fix", "Trend"
                ],
                rows: rows)
            body += byOrg.html(page: String(file.dropLast(5)))
            try page(file, title: practice.title, current: "practices.html", body: body, tables: [byOrg])
        }
    }
}
