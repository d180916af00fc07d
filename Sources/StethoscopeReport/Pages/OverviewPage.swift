import Foundation
import StethoscopeCore
import StethoscopeRollups
import StethoscopeStore

/// The overview page (index.html): the week in one paragraph, where to focus, the company trend.
extension Site {

    mutating func overview() throws {
        guard let c = company else {
            try page(
                "index.html", title: "Device security overview", current: "index.html",
                body: "<p>No roll-ups for these nights.</p>", tables: [])
            return
        }
        let n = d.last
        var body = kpis(c) + trendCharts(c, id: "o")
        let partial = d.nights.filter { $0.status == "partial" }.map(\.asOf)
        if !partial.isEmpty {
            body += "<p class=\"note\">Partial nights (a source failed; its devices were carried forward): \(h(partial.joined(separator: ", "))).</p>"
        }
        body += "<h2>Compliance by practice</h2><p class=\"note\">The small charts share one y-axis range.</p><div class=\"grid\">"
        let all = d.practices.indices.map { p in d.series { d.compliance(c, p, $0) } }
        let floor = Charts.percentFloor(all.flatMap { $0.compactMap { $0 } })
        for (p, practice) in d.practices.enumerated() {
            let values = all[p]
            body +=
                "<figure>"
                + Charts.line(
                    id: "p\(p)", title: "\(practice.title) compliance",
                    description: "Compliance per night: \(pct(values.first ?? nil)) to \(pct(values.last ?? nil)).",
                    series: [Charts.Series(name: pct(values.last ?? nil), values: values)], marks: marks,
                    percent: true, width: 300, height: 140, floor: floor)
            body += "<figcaption><a href=\"practice-\(slug(practice.key)).html\">\(h(practice.title))</a> (\(h(practice.rating)))</figcaption></figure>"
        }
        body += "</div>"
        let breakdown = practiceTable(c, name: "status")
        body += "<h2>Status breakdown</h2>" + breakdown.html(page: "index")

        // Where to focus: groups of at least `minGroupDevices` counted devices, ranked by the not-green devices they
        // have beyond the company's own rate (so the CEO's chain, which *is* the company, scores about zero).
        let candidates = d.groups.values.filter { ($0.kind == .manager || $0.kind == .organization) && (d.counted($0, n) ?? 0) >= minGroupDevices }
        let companyRate = d.greenRate(c, n) ?? 0
        let ranked = Site.focusRanking(
            candidates.map { g in
                FocusCandidate(key: ReportData.key(g.kind, g.id), name: groupName(g), counted: d.counted(g, n) ?? 0, green: d.greenRate(g, n))
            }, companyGreen: companyRate, minimum: minGroupDevices)
        let focus = Table(
            name: "focus",
            caption:
                "Where to focus: groups of \(minGroupDevices) or more devices, most not-green devices beyond the company rate (\(pct(companyRate)) green) first",
            columns: ["Group", "Kind", "Devices counted", "Green", "Green vs 7 nights", "Not green devices", "Excess not green", "Critical devices"],
            rows: ranked.prefix(15).compactMap { r in
                guard let g = d.groups[r.key] else { return nil }
                let counted = d.counted(g, n) ?? 0
                return [
                    nameCell(g), .text(g.kind.rawValue), .int(counted), .greenBand(d.greenRate(g, n)),
                    .change(d.delta({ d.greenRate(g, $0) }, back: 7)),
                    .int(counted - Int(g.totals[n]?.green ?? 0)), .decimal(r.score), .int(d.critical(g, n))
                ]
            })
        // Week-over-week moves use the same minimum, on both nights.
        let moves = candidates.compactMap { g -> (ReportData.Group, Double)? in
            guard n - 7 >= 0, (d.counted(g, n - 7) ?? 0) >= minGroupDevices else { return nil }
            return d.delta({ d.greenRate(g, $0) }, back: 7).map { (g, $0) }
        }
        func moveTable(_ name: String, _ caption: String, _ list: [(ReportData.Group, Double)]) -> Table {
            Table(
                name: name, caption: caption, columns: ["Group", "Kind", "Devices counted", "Green", "Change vs 7 nights"],
                rows: list.map { [nameCell($0.0), .text($0.0.kind.rawValue), .int(d.counted($0.0, n)), .greenBand(d.greenRate($0.0, n)), .change($0.1)] })
        }
        let worst = moves.filter { $0.1 < 0 }.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : groupName($0.0) < groupName($1.0) }
        let best = moves.filter { $0.1 > 0 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : groupName($0.0) < groupName($1.0) }
        let regressions = moveTable(
            "focus-regressions", "Biggest regressions, week over week (green rate; groups of \(minGroupDevices) or more devices)",
            Array(worst.prefix(10)))
        let improvements = moveTable(
            "focus-improvements", "Biggest improvements, week over week (green rate; groups of \(minGroupDevices) or more devices)",
            Array(best.prefix(10)))
        let newly = Table(
            name: "newly-failing", caption: "Newly failing devices on \(lastAsOf), by practice",
            columns: ["Practice", "Newly failing", "warn", "nudge"],
            rows: d.practices.enumerated().map { p, practice in
                let s = d.statuses(c, p, n)
                return [
                    .link(practice.title, href: "practice-\(slug(practice.key)).html"), .int(Int(s.newlyFailing)), .int(Int(s.counts[.warn])),
                    .int(Int(s.counts[.nudge]))
                ]
            }.sorted { ($0[1].plain.flatMap { Int($0) } ?? 0) > ($1[1].plain.flatMap { Int($0) } ?? 0) })
        body +=
            "<h2>Where to focus</h2>" + focus.html(page: "index") + "<div class=\"side\"><section>" + regressions.html(page: "index")
            + "</section><section>" + improvements.html(page: "index") + "</section></div>" + newly.html(page: "index")
        body =
            "<p>As of <b>\(h(lastAsOf))</b> over \(d.nights.count) night(s).</p>" + weekSummary(c, worst: worst.first, best: best.first) + whatChanged() + body
        try page(
            "index.html", title: "Device security overview", current: "index.html", body: body,
            tables: [breakdown, focus, regressions, improvements, newly])
    }

    /// The overview's opening sentences: the week in green rate, the largest group and practice moves, newly failing
    /// devices and rule changes.
    func weekSummary(_ c: ReportData.Group, worst: (ReportData.Group, Double)?, best: (ReportData.Group, Double)?) -> String {
        let n = d.last
        let back = min(7, n)
        var sentences: [String] = []
        if let now = d.greenRate(c, n) {
            if back > 0, let then = d.greenRate(c, n - back) {
                let change = now - then
                let verb = change > 0.0005 ? "up" : (change < -0.0005 ? "down" : "unchanged")
                sentences.append(
                    "Green devices: \(pct(now)) on \(lastAsOf), \(verb)\(verb == "unchanged" ? "" : " \(fixed(abs(change) * 100, 1)) points") from \(pct(then)) \(back) night(s) before."
                )
            } else {
                sentences.append("Green devices: \(pct(now)) on \(lastAsOf).")
            }
        }
        if back > 0 {
            var practiceMoves: [(String, Double)] = []
            for (p, practice) in d.practices.enumerated() {
                if let m = d.delta({ d.compliance(c, p, $0) }, back: back) { practiceMoves.append((practice.title, m)) }
            }
            let down = practiceMoves.filter { $0.1 < -0.0005 }.min { $0.1 < $1.1 }
            let up = practiceMoves.filter { $0.1 > 0.0005 }.max { $0.1 < $1.1 }
            var parts: [String] = []
            if let worst { parts.append("group \(groupName(worst.0)) (\(signedPoints(worst.1)) green)") }
            if let down { parts.append("practice \(down.0) (\(signedPoints(down.1)) compliance)") }
            if !parts.isEmpty { sentences.append("Largest regression: " + parts.joined(separator: "; ") + ".") }
            parts = []
            if let best { parts.append("group \(groupName(best.0)) (\(signedPoints(best.1)) green)") }
            if let up { parts.append("practice \(up.0) (\(signedPoints(up.1)) compliance)") }
            if !parts.isEmpty { sentences.append("Largest improvement: " + parts.joined(separator: "; ") + ".") }
        }
        let tonight = max(0, Int(c.totals[n]?.newlyFailing ?? 0))
        var week = 0
        let weekStart = back > 0 ? n - back + 1 : n  // just the last night when it is the only one
        for i in weekStart...n { week += Int(c.totals[i]?.newlyFailing ?? 0) }
        sentences.append("\(tonight) device(s) newly failing on \(lastAsOf)" + (back > 0 ? ", \(week) over the last \(back) night(s)." : "."))
        let changes = d.nights[weekStart...].flatMap { night in night.ruleChanges.map { "\(night.asOf): \($0)" } }
        sentences.append(changes.isEmpty ? "No practice rule changed this week." : "Rule changes: " + changes.joined(separator: "; ") + ".")
        return "<p class=\"summary\">" + sentences.map(h).joined(separator: " ") + "</p>"
    }

    struct FocusCandidate {
        var key: String, name: String, counted: Int, green: Double?
    }

    /// "Where to focus" order: groups of at least `minimum` counted devices with more not-green devices than the
    /// company's rate predicts, most such devices first. The score (`counted × (company green − group green)`)
    /// weighs failure rate and size: a large group slightly below average and a mid-sized group far below both rank,
    /// a group that is the company (the CEO's chain) scores about zero, and a one-device team is never listed.
    static func focusRanking(_ groups: [FocusCandidate], companyGreen: Double, minimum: Int) -> [(key: String, score: Double)] {
        groups.compactMap { g -> (key: String, name: String, score: Double)? in
            guard g.counted >= minimum, let green = g.green else { return nil }
            let score = Double(g.counted) * (companyGreen - green)
            return score > 0.05 ? (g.key, g.name, score) : nil
        }
        .sorted { $0.score != $1.score ? $0.score > $1.score : $0.name < $1.name }
        .map { ($0.key, $0.score) }
    }
}
