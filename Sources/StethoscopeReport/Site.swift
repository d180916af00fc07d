import Foundation
import StethoscopeCore
import StethoscopeRollups
import StethoscopeStore

/// Builds and writes every page.
struct Site {
    let d: ReportData
    let out: URL
    let includePeople: Bool
    var pages = 0
    var files = 0
    let marks: Charts.Marks
    let nightDates: [String]
    var minGroupDevices = 10
    var deviceThreshold = 0.1
    let generated: String
    /// From the nudges ledger (README, "Nudges"): the Nudges page.
    var nudgeStats = NudgeStats()
    var progress: ((Int, Int) -> Void)?
    /// The pages `writeAll` writes: six section pages and one per organization, manager and practice.
    var expectedPages = 0

    init(data: ReportData, out: URL, includePeople: Bool) {
        d = data
        self.out = out
        self.includePeople = includePeople
        marks = data.marks
        nightDates = data.nights.map(\.asOf)
        generated = ISOTime.string(Date())
    }

    var company: ReportData.Group? { d.group(.company, "") }
    var lastAsOf: String { d.nights[d.last].asOf }

    mutating func write(_ file: String, _ text: String) throws {
        try Site.writeFile(out.appendingPathComponent(file).path, text)
        files += 1
    }

    /// Plain open/write/close: Foundation's `Data.write` was the report's bottleneck (tens of thousands of files).
    static func writeFile(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ReportError(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var text = text
        try text.withUTF8 { buffer in
            var done = 0
            while done < buffer.count {
                let n = systemWrite(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ReportError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    mutating func page(_ file: String, title: String, current: String, body: String, tables: [Table]) throws {
        let base = String(file.dropLast(5))
        for t in tables {
            try write("\(base).\(t.name).csv", t.csv)
            try write("\(base).\(t.name).json", t.json(nights: nightDates))
        }
        let footer =
            "Generated \(h(generated)) from \(d.nights.count) night(s) ending \(h(lastAsOf)), under "
            + (d.chart == .night ? "each night's own org chart" : "today's org chart (history re-attributed)")
            + ". Stale devices are counted apart and left out of compliance rates. "
            + "Compliance = ok ÷ applicable devices; unknown counts against it."
        try write(file, Page.render(title: title, current: current, body: body, footer: footer))
        pages += 1
        progress?(pages, max(pages, expectedPages))
    }

    /// A page whose table sorts by the column a reader clicks, without script: the page in the table's own order
    /// (with its CSV and JSON), and one copy per other sortable column, `<page>.by-<column id>.html`.
    mutating func sortablePage(_ table: Table, title: String, current: String, body: (Table) -> String) throws {
        guard let base = table.sortPage else { return }
        try page("\(base).html", title: title, current: current, body: body(table), tables: [table])
        for column in table.columns.indices where column != table.defaultSort && table.isSortable(column) {
            var sorted = table.sorted(by: column)
            let order: String
            switch table.rows.first?[column] {
            case .int?: order = "most first"
            case .text?, .link?: order = "A to Z"
            default: order = "lowest first"
            }
            sorted.caption =
                table.caption.components(separatedBy: ", lowest green rate first").joined()
                + ", by \(table.columns[column].lowercased()) (\(order))"
            try page("\(base).by-\(table.columnIDs[column]).html", title: title, current: current, body: body(sorted), tables: [])
        }
    }

    mutating func writeAll() throws {
        if progress != nil {
            // The pages, the organizations' sorted copies (3 + a column per practice) and the managers' (6).
            expectedPages =
                6 + d.practices.count + d.groups.values.count { $0.kind == .organization || $0.kind == .manager }
                + 3 + d.practices.count + 6
        }
        try overview()
        try organizations()
        try managers()
        try practices()
        try quality()
        try nudgesPage(nudgeStats)
    }

    // MARK: shared pieces

    func groupName(_ g: ReportData.Group) -> String {
        switch g.kind {
        case .company: return "Whole company"
        case .organization: return g.id.isEmpty ? "(no organization)" : g.id
        case .manager: return d.name(of: g.id)
        case .direct: return "Direct reports of \(d.name(of: g.id))"
        }
    }

    func href(_ g: ReportData.Group) -> String? {
        switch g.kind {
        case .company: return "index.html"
        case .organization: return "org-\(slug(g.id)).html"
        case .manager: return "manager-\(slug(g.id)).html"
        case .direct: return "manager-\(slug(g.id)).html"
        }
    }

    func nameCell(_ g: ReportData.Group) -> Cell {
        href(g).map { .link(groupName(g), href: $0) } ?? .text(groupName(g))
    }

    func kpis(_ g: ReportData.Group) -> String {
        let n = d.last
        let counted = d.counted(g, n) ?? 0
        let devices = Int(g.totals[n]?.devices ?? 0)
        var s = "<div class=\"kpis\">"
        s += "<div class=\"kpi\">Devices<b>\(devices)</b>\(Int(g.totals[n]?.stale ?? 0)) stale, \(counted) counted</div>"
        s +=
            "<div class=\"kpi\">Green devices<b>\(pct(d.greenRate(g, n)))</b>\(signedPoints(d.delta({ d.greenRate(g, $0) }, back: 7))) vs 7 nights, \(signedPoints(d.delta({ d.greenRate(g, $0) }, back: 28))) vs 28</div>"
        let crit = d.critical(g, n) ?? 0
        func critDelta(_ back: Int) -> String {
            guard n - back >= 0, let then = d.critical(g, n - back) else { return "–" }
            return crit - then >= 0 ? "+\(crit - then)" : "\(crit - then)"
        }
        s += "<div class=\"kpi\">Critical devices<b>\(crit)</b>\(critDelta(7)) vs 7 nights, \(critDelta(28)) vs 28</div>"
        s += "<div class=\"kpi\">Newly failing tonight<b>\(Int(g.totals[n]?.newlyFailing ?? 0))</b>devices</div>"
        return s + "</div>"
    }

    /// The "What changed" note: rule changes and device-count moves in the window, newest first. `limit`: items
    /// shown before the rest folds away.
    func whatChanged(limit: Int = 12) -> String {
        var items: [String] = []
        for night in d.nights.reversed() {
            for change in night.ruleChanges { items.append("<li>\(h(night.asOf)): \(h(change))</li>") }
            if let move = night.deviceMove { items.append("<li>\(h(night.asOf)): \(h(move))</li>") }
        }
        guard !items.isEmpty else {
            return
                "<section class=\"changes\" id=\"what-changed\"><h2>What changed</h2><p class=\"note\">No practice rule changed and no night's device count moved by more than \(fixed(deviceThreshold * 100, 0))% in these nights.</p></section>"
        }
        var s = "<section class=\"changes\" id=\"what-changed\"><h2>What changed</h2><ul>" + items.prefix(limit).joined() + "</ul>"
        if items.count > limit { s += Page.fold("\(items.count - limit) earlier") + "<ul>" + items.dropFirst(limit).joined() + "</ul>" }
        return s + "</section>"
    }

    func trendCharts(_ g: ReportData.Group, id: String) -> String {
        let name = groupName(g)
        let green = Charts.Series(name: "Green", values: d.series { d.greenRate(g, $0) })
        let crit = Charts.Series(name: "Critical", values: d.series { d.critical(g, $0).map(Double.init) })
        var s = "<div class=\"grid\"><div><figure>"
        s += Charts.line(
            id: id + "g", title: "Green-device rate, \(name)",
            description:
                "Share of counted devices whose applicable practices are all ok, per night, \(d.nights.first!.asOf) to \(lastAsOf): \(pct(green.values.first ?? nil)) to \(pct(green.values.last ?? nil)).",
            series: [green], marks: marks, percent: true)
        s +=
            "<figcaption>Green-device rate. Hatched: partial nights; dotted: practice definitions changed; triangle: device count moved (see What changed).</figcaption>"
        s += "</figure></div><div><figure>"
        s += Charts.line(
            id: id + "c", title: "Critical devices, \(name)",
            description:
                "Devices with a critical-rated practice at warn, per night: \(Int(crit.values.first??.rounded() ?? 0)) to \(Int(crit.values.last??.rounded() ?? 0)).",
            series: [crit], marks: marks, percent: false)
        s += "<figcaption>Critical devices (a critical-rated practice at warn).</figcaption>"
        s += "</figure></div></div>"
        if g.kind != .company, marks.changed.contains(true) || marks.moved.contains(true) {
            s +=
                "<p class=\"note\">Dotted lines and triangles mark rule changes and device-count moves: see <a href=\"index.html#what-changed\">What changed</a> (also in the chart data's notes).</p>"
        }
        var critical = crit
        critical.percent = false
        s += Charts.dataTable([green, critical], marks: marks, percent: true, sampled: g.kind == .manager)
        return s
    }

    /// One row per practice for a group: compliance, changes, statuses, unknown share, time to fix, trend.
    func practiceTable(_ g: ReportData.Group, name: String) -> Table {
        let n = d.last
        var rows: [[Cell]] = []
        for (p, practice) in d.practices.enumerated() {
            let s = d.statuses(g, p, n)
            let q = ReportData.quantiles(g.fixes[p])
            rows.append([
                .link(practice.title, href: "practice-\(slug(practice.key)).html"), .text(practice.rating),
                .band(d.compliance(g, p, n)), .change(d.delta({ d.compliance(g, p, $0) }, back: 7)),
                .change(d.delta({ d.compliance(g, p, $0) }, back: 28)),
                .int(Int(s.counts[.ok])), .int(Int(s.counts[.nudge])), .int(Int(s.counts[.warn])), .int(Int(s.counts[.unknown])), .int(Int(s.counts[.na])),
                .percent(d.unknownShare(g, p, n)),
                .int(Int(s.newlyFailing)), .int(ReportData.total(g.fixes[p])), .decimal(q.median), .decimal(q.p90),
                .spark(d.series { d.compliance(g, p, $0) }, label: "\(practice.title) compliance")
            ])
        }
        return Table(
            name: name, caption: "Practices on \(lastAsOf) (fixes and time to fix over all \(d.nights.count) night(s))",
            columns: [
                "Practice", "Rating", "Compliance", "vs 7 nights", "vs 28 nights", "ok", "nudge", "warn",
                "unknown", "na", "Unknown share", "Newly failing", "Fixes", "Median nights to fix",
                "P90 nights to fix", "Trend"
            ],
            rows: rows)
    }

    /// Rows comparing groups: devices, green rate and change, critical, one compliance column per practice.
    func groupTable(_ groups: [ReportData.Group], name: String, caption: String, label: (ReportData.Group) -> Cell) -> Table {
        let n = d.last
        var rows: [[Cell]] = []
        for g in groups {
            var row: [Cell] = [
                label(g), .int(d.counted(g, n)), .greenBand(d.greenRate(g, n)),
                .change(d.delta({ d.greenRate(g, $0) }, back: 7)), .int(d.critical(g, n)),
                .spark(d.series { d.greenRate(g, $0) }, label: "\(groupName(g)) green rate")
            ]
            for p in d.practices.indices { row.append(.band(d.compliance(g, p, n))) }
            rows.append(row)
        }
        let columns = ["Group", "Devices counted", "Green", "Green vs 7 nights", "Critical", "Green trend"] + d.practices.map(\.title)
        let ids = ["group", "devices_counted", "green", "green_vs_7_nights", "critical", "green_trend"] + d.practices.map(\.key)
        return Table(name: name, caption: caption, columns: columns, rows: rows, ids: ids)
    }
}

/// The C `write(2)` (inside `Site`, `write` names its own method).
private func systemWrite(_ fd: Int32, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int { write(fd, bytes, count) }
