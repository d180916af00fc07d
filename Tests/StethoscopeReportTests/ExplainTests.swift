import Foundation
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeReport

/// "Explain every move" and "where to help first" (issue #17): rule changes detected from the rules in force each
/// night, device-count moves explained by their sources, the week in sentences, and focus ranking by size and rate.
@Suite struct ExplainTests {
    /// The shipped defaults with a dated Mac floor: 14.0 until 2026-11-04, 15.2 from then on.
    static func datedRules(_ night: Int) -> PracticeSet {
        var set = PracticeSet.defaults
        let i = set.definitions.firstIndex { $0.key == "os_version" }!
        guard case .osVersion(var rules) = set.definitions[i].check else { fatalError("os_version is a version check") }
        rules[.mac] = [VersionRule(required: "14.0", recommended: "15.0"), VersionRule(from: "2026-11-04", required: "15.2", recommended: "15.0")]
        set.definitions[i].check = .osVersion(rules)
        return set
    }

    func read(_ dir: TempDir, _ file: String) throws -> String {
        try String(contentsOf: dir.out.appendingPathComponent(file), encoding: .utf8)
    }

    @Test func hashFollowsTheRulesInForceThatNight() {
        let set = Self.datedRules(0)
        #expect(set.hash(asOf: "2026-11-01") == set.hash(asOf: "2026-11-03"))
        #expect(set.hash(asOf: "2026-11-03") != set.hash(asOf: "2026-11-04"))
        #expect(set.hash(asOf: "2026-11-04") == set.hash(asOf: "2026-12-31"))
        let os = set["os_version"]!
        #expect(os.fingerprint(asOf: "2026-11-03").contains("Mac required: 14.0"))
        #expect(os.fingerprint(asOf: "2026-11-04").contains("Mac required: 15.2"))
        #expect(!os.fingerprint(asOf: "2026-11-04").contains("14.0"))
    }

    @Test func whatChangedNamesTheDatedRuleOnItsNight() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir, practices: Self.datedRules)
        let hashes = try store.database.rows("SELECT as_of, practices_hash FROM runs ORDER BY as_of")
        #expect(Set(hashes.prefix(3).map { $0[1] }).count == 1 && Set(hashes.suffix(2).map { $0[1] }).count == 1)
        #expect(hashes[2][1] != hashes[3][1])
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let index = try read(dir, "index.html")
        let change = "2026-11-04: Up-to-date OS: Mac required 15.2 (was 14.0)"
        #expect(index.contains("<h2>What changed</h2><ul><li>\(change)</li>"))
        #expect(index.contains("Rule changes: \(change)."))
        // Marked on the chart data of every trend: that night and no other.
        let chart = try #require(HTMLTable.rows(index, caption: "Chart data"))
        for row in chart {
            let note = row.last ?? ""
            #expect(note.contains("practice definitions changed") == (row[0] == "2026-11-04"), "\(row)")
        }
        #expect(chart.first { $0[0] == "2026-11-04" }?.last == "practice definitions changed: Up-to-date OS: Mac required 15.2 (was 14.0)")
        // The dotted line's title on a manager page's chart says what changed.
        let manager = try read(dir, "manager-\(slug("vp2@x.test")).html")
        #expect(manager.contains("<title>2026-11-04: practice definitions changed: Up-to-date OS: Mac required 15.2 (was 14.0)</title>"))
        // The quality page's nights table lists it too.
        let nights = try #require(HTMLTable.rows(try read(dir, "quality.html"), caption: "Nights: status"))
        #expect(nights.first { $0[0] == "2026-11-04" }?[5] == "Up-to-date OS: Mac required 15.2 (was 14.0)")
        #expect(nights.first { $0[0] == "2026-11-05" }?[5] == "")
    }

    @Test func ruleChangeTextCoversAddedRemovedAndChangedPractices() {
        let before = [
            ReportData.RuleText(key: "a", title: "A", fingerprint: "Rating: high\nMac required: 14.0"),
            ReportData.RuleText(key: "gone", title: "Gone", fingerprint: "Rating: low")
        ]
        let after = [
            ReportData.RuleText(key: "a", title: "A", fingerprint: "Rating: critical\nWindows required: 10"),
            ReportData.RuleText(key: "new", title: "New", fingerprint: "Rating: low")
        ]
        #expect(
            ReportData.ruleChanges(before: before, after: after)
                == ["A: Rating critical (was high), Windows required 10 (new), Mac required 14.0 no longer set", "New: added", "Gone: removed"])
        #expect(ReportData.ruleChanges(before: before, after: before).isEmpty)
    }

    @Test func aDeviceCountMoveIsExplainedByItsSources() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let db = store.database
        // The last night lost most of jamf's records (the runs and run_sources rows are what the report reads).
        let before = Int(try db.rows("SELECT devices FROM runs WHERE as_of = '2026-11-04'")[0][0]!)!
        try db.exec("UPDATE runs SET devices = 10 WHERE as_of = '2026-11-05'")
        try db.exec("UPDATE run_sources SET records = 4, status = 'failed' WHERE as_of = '2026-11-05' AND source = 'jamf'")
        try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let index = try read(dir, "index.html")
        let share = fixed(Double(10 - before) / Double(before) * 100, 1)
        #expect(index.contains("<li>2026-11-05: devices \(before) → 10 (\(share)%): jamf 20 → 4 records (failed)</li>"))
        #expect(index.contains("fill=\"#000\"><title>2026-11-05: "))  // the triangle under the axis
        // A small move is not annotated.
        let quiet = try TempDir()
        try Report.generate(store: store, options: ReportOptions(out: quiet.out, deviceChangeThreshold: 0.9))
        #expect(!(try read(quiet, "index.html")).contains("2026-11-05: devices"))
    }

    @Test func focusRankingWeighsRateAndSizeWithAMinimum() {
        let groups = [
            Site.FocusCandidate(key: "ceo", name: "CEO's whole company", counted: 1000, green: 0.5),
            Site.FocusCandidate(key: "tiny", name: "One-device team", counted: 8, green: 0.0),
            Site.FocusCandidate(key: "mid", name: "Mid team", counted: 40, green: 0.2),
            Site.FocusCandidate(key: "big", name: "Big org", counted: 300, green: 0.45),
            Site.FocusCandidate(key: "good", name: "Good team", counted: 50, green: 0.9)
        ]
        let ranked = Site.focusRanking(groups, companyGreen: 0.5, minimum: 10)
        #expect(ranked.map(\.key) == ["big", "mid"])
        #expect(abs(ranked[0].score - 15) < 1e-9 && abs(ranked[1].score - 12) < 1e-9)
        #expect(Site.focusRanking(groups, companyGreen: 0.5, minimum: 5).map(\.key) == ["big", "mid", "tiny"])
    }

    @Test func smallGroupsNeverHeadline() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        try Report.generate(store: store, options: ReportOptions(out: dir.out, nights: 30, minGroupDevices: 6))
        let index = try read(dir, "index.html")
        let focus = try #require(HTMLTable.rows(index, caption: "Where to focus"))
        let counted = focus.map { Int($0[2]) ?? -1 }
        #expect(!counted.isEmpty && counted.allSatisfy { $0 >= 6 }, "\(focus)")
        let scores = focus.map { Double($0[6]) ?? 0 }
        #expect(scores == scores.sorted(by: >))
        // The default minimum (10) leaves every group of this small company out.
        let strict = try TempDir()
        try Report.generate(store: store, options: ReportOptions(out: strict.out))
        let strictIndex = try read(strict, "index.html")
        for caption in ["Where to focus", "Biggest regressions", "Biggest improvements"] {
            let rows = try #require(HTMLTable.rows(strictIndex, caption: caption))
            #expect(rows == [["No rows."]], "\(caption)")
        }
        #expect(strictIndex.contains("<p class=\"summary\">Green devices: "))
    }
}
