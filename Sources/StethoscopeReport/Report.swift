import Foundation
import StethoscopeCore
import StethoscopeRollups
import StethoscopeStore

/// What `stethoscope report` was asked for.
public struct ReportOptions: Sendable {
    public var out: URL
    /// Nights shown, ending with `asOf`.
    public var nights: Int
    /// The last night shown (default: the newest).
    public var asOf: String?
    /// Name individual employees and list their devices (off by default: managers and organizations only).
    public var includePeople: Bool
    public var chart: OrgChartChoice
    /// Groups with fewer counted devices are left out of "Where to focus" and the regressions and improvements, so
    /// one device in a tiny team never headlines (config `report: {min_group_devices: 10}`).
    public var minGroupDevices: Int
    /// A night whose device count moves by more than this share of the night before is explained by its sources'
    /// record counts (config `report: {device_change_percent: 10}`).
    public var deviceChangeThreshold: Double
    public init(
        out: URL, nights: Int = 90, asOf: String? = nil, includePeople: Bool = false, chart: OrgChartChoice = .night,
        minGroupDevices: Int = 10, deviceChangeThreshold: Double = 0.1
    ) {
        self.out = out
        self.nights = nights
        self.asOf = asOf
        self.includePeople = includePeople
        self.chart = chart
        self.minGroupDevices = minGroupDevices
        self.deviceChangeThreshold = deviceChangeThreshold
    }
}

/// What was written.
public struct ReportResult: Sendable {
    public var index: URL
    public var pages: Int
    public var files: Int
    public var seconds: Double
}

/// The static trend report: a self-contained site (inline CSS and SVG, no script) read from the roll-ups.
public enum Report {
    /// `progress` gets the pages written so far and the pages the report will have (a terminal's live line).
    @discardableResult
    public static func generate(
        store: SnapshotStore, options: ReportOptions,
        progress: ((_ pages: Int, _ total: Int) -> Void)? = nil
    ) throws -> ReportResult {
        let start = ContinuousClock.now
        let data = try ReportData.load(store, options: options)
        try FileManager.default.createDirectory(at: options.out, withIntermediateDirectories: true)
        // The report names people and their devices' weaknesses: readable by the owner's group (a web server's),
        // never by everyone, even when the folder existed with wider rights.
        var folder = stat()
        if stat(options.out.path, &folder) == 0 { chmod(options.out.path, folder.st_mode & 0o7770) }
        var site = Site(data: data, out: options.out, includePeople: options.includePeople)
        site.nudgeStats = try NudgeStats.load(store)
        site.minGroupDevices = max(1, options.minGroupDevices)
        site.deviceThreshold = options.deviceChangeThreshold
        site.progress = progress
        try site.writeAll()
        return ReportResult(
            index: options.out.appendingPathComponent("index.html"), pages: site.pages, files: site.files,
            seconds: (ContinuousClock.now - start).seconds)
    }
}

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
        let devices = g.totals[n * 6] < 0 ? 0 : Int(g.totals[n * 6])
        var s = "<div class=\"kpis\">"
        s += "<div class=\"kpi\">Devices<b>\(devices)</b>\(Int(max(0, g.totals[n * 6 + 1]))) stale, \(counted) counted</div>"
        s +=
            "<div class=\"kpi\">Green devices<b>\(pct(d.greenRate(g, n)))</b>\(signedPoints(d.delta({ d.greenRate(g, $0) }, back: 7))) vs 7 nights, \(signedPoints(d.delta({ d.greenRate(g, $0) }, back: 28))) vs 28</div>"
        let crit = d.critical(g, n) ?? 0
        func critDelta(_ back: Int) -> String {
            guard n - back >= 0, let then = d.critical(g, n - back) else { return "–" }
            return crit - then >= 0 ? "+\(crit - then)" : "\(crit - then)"
        }
        s += "<div class=\"kpi\">Critical devices<b>\(crit)</b>\(critDelta(7)) vs 7 nights, \(critDelta(28)) vs 28</div>"
        s += "<div class=\"kpi\">Newly failing tonight<b>\(max(0, Int(g.totals[n * 6 + 5])))</b>devices</div>"
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
                .int(s[0]), .int(s[1]), .int(s[2]), .int(s[3]), .int(s[4]), .percent(d.unknownShare(g, p, n)),
                .int(s[5]), .int(ReportData.total(g.fixes[p])), .decimal(q.median), .decimal(q.p90),
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

    // MARK: overview

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
                    .int(counted - Int(g.totals[n * 6 + 3])), .decimal(r.score), .int(d.critical(g, n))
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
                return [.link(practice.title, href: "practice-\(slug(practice.key)).html"), .int(s[5]), .int(s[2]), .int(s[1])]
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
        let tonight = max(0, Int(c.totals[n * 6 + 5]))
        var week = 0
        let weekStart = back > 0 ? n - back + 1 : n  // just the last night when it is the only one
        for i in weekStart...n where c.totals[i * 6] >= 0 { week += Int(c.totals[i * 6 + 5]) }
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

    // MARK: organizations

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
            if (d.counted(g, n) ?? 0) == 0 && g.totals[n * 6] <= 0 { body += "<p>This organization has no devices on \(h(lastAsOf)).</p>" }
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

    // MARK: managers

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

    // MARK: practices

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
                    g.kind == .company ? .text("Whole company") : nameCell(g), .int(d.applicable(g, p, n)), .int(s[0]), .int(s[1]),
                    .int(s[2]), .int(s[3]), .band(d.compliance(g, p, n)), .change(d.delta({ d.compliance(g, p, $0) }, back: 7)),
                    .percent(d.unknownShare(g, p, n)), .int(s[5]), .int(ReportData.total(g.fixes[p])), .decimal(gq.median), .decimal(gq.p90),
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

    // MARK: data quality

    mutating func quality() throws {
        let lastRows = d.quality.filter { $0.asOf == lastAsOf }
        let platforms = Table(
            name: "platforms", caption: "Coverage by platform on \(lastAsOf)",
            columns: ["Platform", "Devices", "Stale", "No owner", "Former-employee owner", "Fewer sources than expected", "Expected sources"],
            rows: lastRows.map { r in
                [
                    .text(r.platform.isEmpty ? "(unknown)" : r.platform), .int(r.values[0]), .int(r.values[1]), .int(r.values[2]),
                    .int(r.values[3]), .int(r.values[4]), .text(r.expected)
                ]
            })
        var perNight: [String: [Int]] = [:]
        for r in d.quality { perNight[r.asOf, default: [0, 0, 0, 0, 0]] = zip(perNight[r.asOf] ?? [0, 0, 0, 0, 0], r.values).map { $0 + $1 } }
        func series(_ name: String, _ f: Int) -> Charts.Series {
            Charts.Series(name: name, values: d.nights.map { perNight[$0.asOf].map { Double($0[f]) } })
        }
        let trend = [series("Stale", 1), series("No owner", 2), series("Former owner", 3), series("Fewer sources", 4)]
        var body =
            "<p>Figures that say how far to trust the rest: devices without a (current) owner, stale devices, devices seen by fewer sources than their platform usually has, unknown results per source, merge conflicts, partial nights and source errors.</p>"
        body += platforms.html(page: "quality")
        body +=
            "<figure>"
            + Charts.line(
                id: "q", title: "Data-quality counts per night",
                description: trend.map { "\($0.name): \(Int(($0.values.last ?? nil) ?? 0)) on the last night" }.joined(separator: "; ") + ".",
                series: trend, marks: marks, percent: false, width: 760)
        body += "<figcaption>Devices per night: stale, no owner, former-employee owner, fewer sources than expected.</figcaption>"
        body += "</figure>" + Charts.dataTable(trend, marks: marks, percent: false)
        let unknown = Table(
            name: "unknown-by-source", caption: "Unknown results per source and practice on \(lastAsOf) (applicable devices the source saw)",
            columns: ["Source", "Practice", "Devices", "Unknown", "Unknown rate"],
            rows: d.sourceUnknown.map {
                [
                    .text($0.source), .text($0.practice), .int($0.devices), .int($0.unknown),
                    .percent($0.devices == 0 ? nil : Double($0.unknown) / Double($0.devices))
                ]
            })
        body += "<h2>Unknown rate</h2>" + unknown.html(page: "quality")
        let nightsTable = Table(
            name: "nights", caption: "Nights: status, carried-forward devices and merge conflicts",
            columns: ["Night", "Status", "Devices", "Carried forward", "Merge conflicts", "Practice definitions changed", "Detail pruned"],
            rows: d.nights.indices.reversed().map { i in
                let night = d.nights[i]
                return [
                    .text(night.asOf), .text(night.status), .int(night.devices), .int(night.carriedForward), .int(night.conflicts),
                    .text(night.ruleChanges.joined(separator: "; ")), .text(night.pruned ? "yes" : "")
                ]
            })
        let sources = Table(
            name: "sources", caption: "Source failures and errors",
            columns: ["Night", "Source", "Kind", "Status", "Records", "Errors", "Failure"],
            rows: d.sourceRuns.reversed().map {
                [
                    .text($0.asOf), .text($0.source), .text($0.kind), .text($0.status), .int($0.records),
                    .text($0.errors), .text(Redactor.redact($0.failure ?? ""))
                ]
            })
        let conflicts = Table(
            name: "conflicts", caption: "Merge conflicts on \(lastAsOf) (records that shared an identifier but were kept apart)",
            columns: ["Shared identifier", "Conflicting identifiers", "Records"],
            rows: d.conflicts.map { [.text($0.shared), .text($0.conflicting), .text($0.records)] }, shownLimit: 200)
        body += "<h2>Nights and sources</h2>" + nightsTable.html(page: "quality") + sources.html(page: "quality") + conflicts.html(page: "quality")
        // Problems naming a manager are shown; others name individual employees, so only with --include-people.
        let named = d.org.problems.filter { problem in
            includePeople || d.groups.keys.contains(ReportData.key(.manager, String(problem.split(separator: " ").first ?? "")))
                || problem.hasPrefix("manager of ") && d.group(.manager, String(problem.dropFirst(11).split(separator: " ").first ?? "")) != nil
        }
        var problemRows: [[Cell]] = named.map { [.text($0)] }
        if named.count < d.org.problems.count {
            problemRows.append([.text("\(d.org.problems.count - named.count) more concerning individual employees (shown with --include-people)")])
        }
        let problems = Table(
            name: "directory", caption: "Directory problems (org chart of \(d.chart == .night ? lastAsOf : "today"))",
            columns: ["Problem"], rows: problemRows, shownLimit: 200)
        body += "<h2>Directory</h2>" + problems.html(page: "quality")
        var tables = [platforms, unknown, nightsTable, sources, conflicts, problems]
        let unmanaged = unmanagedSection(asOf: lastAsOf)
        body += unmanaged.html
        tables += unmanaged.tables
        if includePeople {
            var rows: [[Cell]] = d.unowned.map { [.text("no owner"), .text(""), .text($0.name), .text($0.platform), .text($0.key), .text($0.sources)] }
            for (owner, devices) in d.ownedDevices.sorted(by: { $0.key < $1.key }) where d.people[owner]?.active != true {
                for dev in devices {
                    rows.append([.text("former employee"), .text(owner), .text(dev.name), .text(dev.platform), .text(dev.key), .text(dev.sources)])
                }
            }
            let list = Table(
                name: "unowned", caption: "Devices without a current owner on \(lastAsOf) (--include-people)",
                columns: ["Why", "Owner", "Device", "Platform", "Device key", "Sources"], rows: rows, shownLimit: 500)
            body += "<h2>Devices without a current owner</h2>" + list.html(page: "quality")
            tables.append(list)
        }
        try page("quality.html", title: "Data quality", current: "quality.html", body: body, tables: tables)
    }
}

/// The C `write(2)` (inside `Site`, `write` names its own method).
private func systemWrite(_ fd: Int32, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int { write(fd, bytes, count) }
