import Foundation
import StethoscopeCore
import StethoscopeReport
import StethoscopeRollups
import StethoscopeStore
// The launchers, folders and helpers every test target shares (TempDir, Database.rows …), for every file here.
@_exported import StethoscopeTestSupport

extension TempDir {
    /// Where a test writes the report.
    var out: URL { url.appendingPathComponent("report") }
}

/// A small company with the awkward cases: hostile names, a manager cycle, an organization without devices,
/// a leaver who still owns a device, devices without owners, stale devices, a partial night and a change of
/// practice definitions on the fourth night.
enum Fixture {
    static let script = "<script>alert(1)</script>"
    static let quoted = "Sales \"West\" & Co's"
    static let nights = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    static let partialNight = "2026-11-03"
    static let t0 = Date(timeIntervalSince1970: 1_793_520_000)  // 2026-11-01T06:00:00Z

    static func people(night: Int) -> [Person] {
        var list = [
            Person(email: "ceo@x.test", name: "Cleo Chief", organization: "Office"),
            Person(email: "vp1@x.test", name: "Vic <b>Bold</b>", managerEmail: "ceo@x.test", organization: script),
            Person(email: "vp2@x.test", name: "Eve \"Q\" O'Neil", managerEmail: "ceo@x.test", organization: quoted),
            Person(email: "m1@x.test", name: "Max Manager", managerEmail: "vp1@x.test", organization: script),
            Person(email: "ic1@x.test", name: "Ida One", managerEmail: "m1@x.test", organization: script),
            Person(email: "ic2@x.test", name: "Ian Two", managerEmail: "m1@x.test", organization: script),
            Person(email: "ic3@x.test", name: "Ivy Three", managerEmail: "vp2@x.test", organization: quoted),
            Person(email: "ic4@x.test", name: "Ike Four", managerEmail: "vp2@x.test", organization: quoted),
            Person(email: "empty@x.test", name: "Emma Empty", managerEmail: "ceo@x.test", organization: "Empty Org"),
            Person(email: "cyc1@x.test", name: "Cy One", managerEmail: "cyc2@x.test", organization: "Loop"),
            Person(email: "cyc2@x.test", name: "Cy Two", managerEmail: "cyc1@x.test", organization: "Loop"),
            Person(email: "cyc3@x.test", name: "Cy Three", managerEmail: "cyc1@x.test", organization: "Loop"),
            Person(email: "leaver@x.test", name: "Lee Leaver", managerEmail: "vp2@x.test", organization: quoted, active: false)
        ]
        // From the third night ic2 moves under vp2 (history must follow each night's chart by default).
        if night >= 2 {
            list[5].managerEmail = "vp2@x.test"
            list[5].organization = quoted
        }
        return list
    }

    static let owners: [String?] = [
        "ceo@x.test", "vp1@x.test", "vp2@x.test", "m1@x.test", "ic1@x.test", "ic2@x.test",
        "ic3@x.test", "ic4@x.test", "cyc1@x.test", "cyc2@x.test", "cyc3@x.test", "leaver@x.test",
        nil, "ghost@x.test", "ic1@x.test", "ic3@x.test"
    ]
    static let cycle: [Status] = [.ok, .warn, .ok, .unknown, .nudge, .ok, .ok, .na]

    /// Night `n`'s devices: 32, statuses spread by a rule that changes night to night (so things fail and get fixed).
    static func devices(night n: Int) -> [DeviceSnapshot] {
        (0..<32).map { i in
            let sources: [String] = i % 5 == 0 ? ["mdm"] : (i % 3 == 0 ? ["jamf", "mdm"] : ["jamf"])
            let statuses: [(String, Status)] = ["encryption", "firewall", "screen_lock"].enumerated().map { p, key in
                (key, cycle[(i * 3 + p * 5 + (i % 4 == 0 ? n : 0)) % cycle.count])
            }
            let owner = owners[i % owners.count]
            let name = i == 7 ? "<img src=x onerror=alert(1)>" : "dev-\(i)"
            return DeviceSnapshot(
                key: "serial:S\(i)", platform: i % 6 == 0 ? .windows : .mac, osName: "macOS", osVersion: "15.1",
                model: "M", deviceName: name, identifiers: [Identifier(.serial, "S\(i)")], sources: sources,
                records: sources.map { "\($0)/\(i)" }, lastSync: t0, owner: owner,
                ownerMethod: owner == nil ? .none : .sourceHint, ownerVia: owner == nil ? nil : sources[0],
                stale: i % 11 == 10, isVirtual: false,
                results: statuses.map { PracticeResult(practice: $0.0, status: $0.1, source: sources[0]) })
        }
    }

    static func practices(night: Int) -> PracticeSet {
        var set = PracticeSet.defaults
        if night >= 3, let i = set.definitions.firstIndex(where: { $0.key == "firewall" }) { set.definitions[i].rating = .high }
        return set
    }

    /// Writes the nights (the partial one fails `mdm`, whose devices are carried forward) and rolls each up.
    @discardableResult
    static func store(
        _ dir: TempDir, nights count: Int = nights.count, rollups: Bool = true,
        practices practicesOf: (Int) -> PracticeSet = practices(night:),
        people peopleOf: (Int) -> [Person] = people(night:)
    ) throws -> SnapshotStore {
        let store = try SnapshotStore(path: dir.db)
        for n in 0..<count {
            let asOf = n < nights.count ? nights[n] : AsOfDate.adding(n, to: nights[0])!
            let partial = asOf == partialNight
            var figures: [String: SourceFigures] = [:]
            for name in ["jamf", "mdm"] {
                var f = SourceFigures(kind: "device", plugin: name)
                f.records = 20
                if partial && name == "mdm" {
                    f.failure = "HTTP 503 after 5 retries"
                    f.errors = ["http_5xx": 5]
                }
                figures[name] = f
            }
            let record = NightRecord(
                asOf: asOf, startedAt: t0, finishedAt: t0.addingTimeInterval(60), status: partial ? .partial : .complete,
                figures: figures, people: peopleOf(n), practices: practicesOf(n),
                conflicts: n == count - 1
                    ? [
                        MergeConflict(
                            shared: Identifier(.mac, "AA:BB:CC:00:00:01"),
                            conflicting: [Identifier(.serial, "S1"), Identifier(.serial, "S2")],
                            records: ["jamf/1", "jamf/2"])
                    ] : [],
                failedSources: partial ? ["mdm"] : [], sourceRecords: 40)
            let devices = partial ? devices(night: n).filter { $0.sources != ["mdm"] } : devices(night: n)
            try store.writeNight(record, devices: devices)
            if rollups { try StethoscopeReportTestsSupport.rollUp(store, asOf) }
        }
        return store
    }
}

enum StethoscopeReportTestsSupport {
    static func rollUp(_ store: SnapshotStore, _ asOf: String) throws {
        try Rollups.afterNight(store: store, asOf: asOf, retentionNights: 120)
    }
}

/// Minimal HTML reading for tests: the cells of the table whose caption contains `caption`, tags stripped.
enum HTMLTable {
    static func rows(_ html: String, caption: String) -> [[String]]? {
        guard let at = html.range(of: "<caption>" + caption) ?? html.range(of: caption),
            let end = html.range(of: "</table>", range: at.upperBound..<html.endIndex)
        else { return nil }
        let body = String(html[at.upperBound..<end.lowerBound])
        return body.components(separatedBy: "<tr>").dropFirst().map { row in
            row.components(separatedBy: "</td>").compactMap { part -> String? in
                guard let open = part.range(of: "<td") else { return nil }
                guard let close = part.range(of: ">", range: open.upperBound..<part.endIndex) else { return nil }
                return text(String(part[close.upperBound...]))
            }
        }.filter { !$0.isEmpty }
    }

    /// Strips tags and decodes the five entities the report writes.
    static func text(_ s: String) -> String {
        var out = ""
        var inTag = false
        for c in s {
            if c == "<" {
                inTag = true
                continue
            }
            if c == ">" {
                inTag = false
                continue
            }
            if !inTag { out.append(c) }
        }
        return out.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&").trimmingCharacters(in: .whitespaces)
    }
}
