import Foundation
import Testing

@testable import StethoscopeCore

/// Windows builds, release ids and kernel versions on one scale, and what evaluation makes of them.
@Suite struct WindowsVersionTests {
    @Test(arguments: [
        ("10.0.19045", "10.0.19045"), ("19045", "10.0.19045"), ("19045.3803", "10.0.19045.3803"),
        ("22H2", "10.0.19045"), ("Windows 10 22H2", "10.0.19045"), ("Windows 11 22H2", "10.0.22621"),
        ("11 23H2", "10.0.22631"), ("win11 24H2", "10.0.26100"), ("1909", "10.0.18363"),
        ("Microsoft Windows 11 Enterprise 10.0.22631", "10.0.22631"), ("6.1.7601", "6.1.7601")
    ])
    func parses(_ text: String, _ expected: String) {
        #expect(WindowsVersion.number(text)?.description == expected)
    }

    @Test func sayingTooLittleIsNoVersion() {
        #expect(WindowsVersion.number("Windows 11") == nil)
        #expect(WindowsVersion.number("Enterprise") == nil)
    }

    @Test func buildsOrderReleasesAcrossWindows10And11() throws {
        let w10 = try #require(WindowsVersion.number("Windows 10 22H2"))
        let w11 = try #require(WindowsVersion.number("Windows 11 21H2"))
        #expect(w10 < w11)
        #expect(try #require(WindowsVersion.number("10.0.19045.9999")) < w11)
        #expect(try #require(WindowsVersion.number("6.3.9600")) < w10)
    }

    @Test func composeFromInventoryColumns() {
        #expect(WindowsVersion.compose(build: "22631", version: "6.3", release: "2009", osName: nil) == "10.0.22631")
        #expect(WindowsVersion.compose(build: "7601", version: "6.1", release: nil, osName: nil) == "6.1.7601")
        #expect(WindowsVersion.compose(build: nil, version: "10.0.19044", release: nil, osName: nil) == "10.0.19044")
        #expect(WindowsVersion.compose(build: nil, version: "6.3", release: "22H2", osName: "Microsoft Windows 11 Pro") == "10.0.22621")
        #expect(WindowsVersion.compose(build: nil, version: "6.3", release: "1909", osName: nil) == "10.0.18363")
        #expect(WindowsVersion.compose(build: nil, version: nil, release: nil, osName: "Windows") == nil)
    }

    func evaluate(_ version: String, rules: [VersionRule]? = nil) -> PracticeResult? {
        var set = PracticeSet.defaults
        if let rules, let i = set.definitions.firstIndex(where: { $0.key == "os_version" }) {
            set.definitions[i].check = .osVersion([.windows: rules])
        }
        let record = SourceRecord(
            source: "epm", localID: "1", platform: .windows, osVersion: version,
            identifiers: [RawIdentifier(.serial, "SER1")], lastSync: Date(timeIntervalSince1970: 1_772_400_000))
        let merged = DeviceMerger().merge([record])
        let e = NightEvaluator(
            practices: set, asOf: "2026-03-02", now: Date(timeIntervalSince1970: 1_772_450_000),
            staleAfterDays: 14, orgChart: OrgChart([]))
        return e.evaluate(merged.groups[0], [record]).results.first { $0.practice == "os_version" }
    }

    @Test func evaluationComparesBuildsWithReleaseIdRules() {
        let rules = [VersionRule(required: "Windows 10 22H2", recommended: "11 23H2")]
        #expect(evaluate("19044", rules: rules)?.status == .warn)
        #expect(evaluate("19044", rules: rules)?.details == "below required 10.0.19045 (Windows 10 22H2)")
        #expect(evaluate("10.0.19045", rules: rules)?.status == .nudge)
        #expect(evaluate("10.0.22631.3880", rules: rules)?.status == .ok)
        #expect(evaluate("10.0.26100", rules: rules)?.status == .ok)
        // The shipped dotted defaults work the same way for bare builds.
        #expect(evaluate("22631")?.status == .ok)
        #expect(evaluate("19045")?.status == .nudge)
    }

    @Test func unsupportedWindowsIsAWarnWithAClearDetail() {
        let r = evaluate("6.3.9600")
        #expect(r?.status == .warn)
        #expect(r?.details == "unsupported Windows: Windows 8.1 (6.3.9600) gets no security updates")
    }

    @Test func configAcceptsReleaseIdsForWindowsOnly() throws {
        let config = try StethoscopeConfig.parse(
            yaml: """
                practices:
                  os_version:
                    versions:
                      Windows: {required: "Windows 10 22H2", recommended: "11 24H2"}
                """, environment: [:])
        guard case .osVersion(let rules) = config.practices["os_version"]?.check else {
            Issue.record("no rules")
            return
        }
        #expect(rules[.windows] == [VersionRule(required: "Windows 10 22H2", recommended: "11 24H2")])
        #expect(throws: ConfigError.self) {
            try StethoscopeConfig.parse(yaml: "practices:\n  os_version:\n    versions:\n      Windows: {required: \"Windows 11\"}\n", environment: [:])
        }
    }
}
