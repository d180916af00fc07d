import Foundation
import StethoscopeCore
import StethoscopeRollups
import StethoscopeStore

/// The data-quality page: sources, merge, ownership and unmanaged devices.
extension Site {

    mutating func quality() throws {
        let lastRows = d.quality.filter { $0.asOf == lastAsOf }
        let platforms = Table(
            name: "platforms", caption: "Coverage by platform on \(lastAsOf)",
            columns: ["Platform", "Devices", "Stale", "No owner", "Former-employee owner", "Fewer sources than expected", "Expected sources"],
            rows: lastRows.map { r in
                [
                    .text(r.platform.isEmpty ? "(unknown)" : r.platform), .int(r.devices), .int(r.stale), .int(r.noOwner),
                    .int(r.formerOwner), .int(r.fewerSources), .text(r.expectedSources)
                ]
            })
        var perNight: [String: [Int]] = [:]
        for r in d.quality { perNight[r.asOf, default: [0, 0, 0, 0, 0]] = zip(perNight[r.asOf] ?? [0, 0, 0, 0, 0], r.counts).map { $0 + $1 } }
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
