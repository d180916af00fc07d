import Foundation
import Testing

@testable import StethoscopeCore

@Suite struct EvaluateTests {
    let people = OrgChart([
        Person(email: "Ada@Example.com", name: "Ada", managerEmail: "boss@example.com", organization: "Eng"),
        Person(email: "boss@example.com", name: "Boss", organization: "Eng"),
        Person(email: "gone@example.com", name: "Gone", organization: "Eng", active: false)
    ])
    let now = Date(timeIntervalSince1970: 1_700_000_000 + 86400)

    func evaluator(
        _ practices: PracticeSet = .defaults, asOf: String = "2026-11-01",
        attribution: [Identifier: (email: String, via: String)] = [:]
    ) -> NightEvaluator {
        NightEvaluator(practices: practices, asOf: asOf, now: now, staleAfterDays: 14, orgChart: people, attribution: attribution)
    }

    func evaluate(_ records: [SourceRecord], _ e: NightEvaluator? = nil) -> DeviceSnapshot {
        let r = DeviceMerger().merge(records)
        #expect(r.groups.count == 1)
        return (e ?? evaluator()).evaluate(r.groups[0], records)
    }

    func status(_ d: DeviceSnapshot, _ key: String) -> Status? { d.results.first { $0.practice == key }?.status }

    /// The software practices' name search (a byte search for ASCII names, issue 18) answers as Foundation's did,
    /// the cases Foundation decides differently from a plain byte search (empty word, combining marks) included.
    @Test func softwareNameSearchAnswersAsFoundationDoes() {
        let cases: [(String, String)] = [
            ("crowdstrike falcon sensor", "falcon"), ("carbon black cloud", "carbon black"), ("sentinel agent", "sentinelone"),
            ("sentinelone", "sentinelone"), ("xsentinelonex", "sentinelone"), ("aaab", "aab"), ("ab", "abc"), ("abc", ""),
            ("", "a"), ("", ""), ("ééx carbon", "carbon"), ("cafe\u{301}", "café"), ("café", "e"), ("ｃarbon", "carbon")
        ]
        for (text, word) in cases {
            #expect(NightEvaluator.contains(text, word) == text.contains(word), "'\(text)' contains '\(word)'")
        }
    }

    @Test func theMostRecentObservationWins() {
        let d = evaluate([
            record("jamf", "1", [(.serial, "SER1")], sync: 100, observations: [Observation("encryption", satisfied: false, value: "off")]),
            record("fleet", "2", [(.serial, "SER1")], sync: 200, observations: [Observation("encryption", satisfied: true, value: "on")])
        ])
        #expect(status(d, "encryption") == .ok)
        #expect(d.results.first { $0.practice == "encryption" }?.source == "fleet")
        #expect(status(d, "firewall") == .unknown)
        #expect(status(d, "jailbreak") == .na)  // a phone practice on a Mac
    }

    @Test func failStatusFollowsThePracticeAndPlatform() {
        let obs = [Observation("firewall", satisfied: false, value: "off"), Observation("auto_updates", satisfied: false, value: "off")]
        let mac = evaluate([record("jamf", "1", [(.serial, "SER1")], observations: obs)])
        let linux = evaluate([record("fleet", "1", [(.serial, "SER2")], platform: .linux, observations: obs)])
        #expect(status(mac, "firewall") == .warn)
        #expect(status(linux, "firewall") == .nudge)  // per-platform rule
        #expect(status(mac, "auto_updates") == .nudge)
        #expect(status(linux, "os_version") == .na)
    }

    @Test func osVersionUsesTheRuleInForceOnTheNight() {
        var set = PracticeSet.defaults
        let i = set.definitions.firstIndex { $0.key == "os_version" }!
        set.definitions[i].check = .osVersion([
            .mac: [
                VersionRule(required: "14.0", recommended: "15.1"),
                VersionRule(from: "2026-11-10", required: "14.0", recommended: "15.2"),
                VersionRule(from: "2026-12-01", required: "15.2", recommended: "15.2")
            ]
        ])
        let rec = [record("jamf", "1", [(.serial, "SER1")], os: "15.1")]
        #expect(status(evaluate(rec, evaluator(set, asOf: "2026-11-01")), "os_version") == .ok)
        #expect(status(evaluate(rec, evaluator(set, asOf: "2026-11-10")), "os_version") == .nudge)
        #expect(status(evaluate(rec, evaluator(set, asOf: "2026-12-05")), "os_version") == .warn)
        let old = evaluate([record("jamf", "1", [(.serial, "SER1")], os: "13.6.1")], evaluator(set))
        #expect(old.results.first { $0.practice == "os_version" }?.details == "below required 14.0")
        #expect(status(evaluate([record("jamf", "1", [(.serial, "SER1")], os: nil)]), "os_version") == .unknown)
    }

    @Test func softwarePracticesMatchNamesAndMinimumVersions() {
        let current = evaluate([record("jamf", "1", [(.serial, "SER1")], software: [Software("VMware Carbon Black Cloud", version: "3.7.1")])])
        let old = evaluate([record("jamf", "1", [(.serial, "SER1")], software: [Software("Carbon Black", version: "3.5.2")])])
        let missing = evaluate([record("jamf", "1", [(.serial, "SER1")], software: [Software("Slack", version: "4.0")])])
        let noInventory = evaluate([record("jamf", "1", [(.serial, "SER1")], software: nil)])
        #expect(status(current, "carbon_black") == .ok)
        #expect(status(old, "carbon_black") == .warn)
        #expect(old.results.first { $0.practice == "carbon_black" }?.details == "below minimum 3.6")
        #expect(status(missing, "carbon_black") == .warn)
        #expect(status(noInventory, "carbon_black") == .unknown)
        #expect(!current.results.contains { $0.practice == "sentinelone" })  // disabled by default
    }

    @Test func ownersComeFromHintsThenAttribution() {
        let hinted = evaluate([record("jamf", "1", [(.serial, "SER1")], owner: "ADA@example.com")])
        #expect(hinted.owner == "ada@example.com")
        #expect(hinted.ownerMethod == .sourceHint)
        let attributed = evaluate(
            [record("jamf", "1", [(.serial, "SER1")], owner: "stranger@example.com")],
            evaluator(attribution: [Identifier(.serial, "SER1"): ("gone@example.com", "assets")]))
        #expect(attributed.owner == "gone@example.com")  // a former employee is still an owner, reported as such
        #expect(attributed.ownerMethod == .attribution)
        #expect(attributed.ownerVia == "assets")
        let none = evaluate([record("jamf", "1", [(.serial, "SER1")])])
        #expect(none.owner == nil && none.ownerMethod == .none)
    }

    @Test func staleAndGreen() {
        let fresh = evaluate([record("jamf", "1", [(.serial, "SER1")], sync: 0)])
        #expect(!fresh.stale)
        let stale = NightEvaluator(
            practices: .defaults, asOf: "2026-11-01", now: now.addingTimeInterval(30 * 86400),
            staleAfterDays: 14, orgChart: people
        ).evaluate(
            DeviceMerger().merge([record("jamf", "1", [(.serial, "SER1")])]).groups[0],
            [record("jamf", "1", [(.serial, "SER1")])])
        #expect(stale.stale)
        var set = PracticeSet.defaults
        set.definitions = set.definitions.filter { $0.key == "encryption" }
        let green = evaluate(
            [record("jamf", "1", [(.serial, "SER1")], observations: [Observation("encryption", satisfied: true, value: "on")])], evaluator(set))
        #expect(green.isGreen)
    }
}

@Suite struct OrgChartTests {
    @Test func cyclesDanglingAndDuplicatesAreFoundAndWalksStop() {
        let chart = OrgChart([
            Person(email: "a@x.com", name: "A", managerEmail: "b@x.com"),
            Person(email: "b@x.com", name: "B", managerEmail: "c@x.com"),
            Person(email: "c@x.com", name: "C", managerEmail: "a@x.com"),
            Person(email: "d@x.com", name: "D", managerEmail: "nobody@x.com"),
            Person(email: "e@x.com", name: "E", managerEmail: "e@x.com"),
            Person(email: "A@X.com", name: "A again")
        ])
        #expect(chart.duplicates == ["a@x.com"])
        #expect(chart.dangling == ["d@x.com"])
        #expect(Set(chart.inCycles) == ["a@x.com", "b@x.com", "c@x.com", "e@x.com"])
        for p in ["a@x.com", "b@x.com", "c@x.com", "e@x.com"] { #expect(chart.chain(of: p).count <= 3) }
        #expect(chart.resolve(OwnerHint(.username, "CORP\\d")) == "d@x.com")
        #expect(chart.problems.count == 6)
    }
}
