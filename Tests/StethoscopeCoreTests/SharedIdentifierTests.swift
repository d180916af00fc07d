import Foundation
import Testing

@testable import StethoscopeCore

/// Identifiers many machines share, zero-OUI and EUI-64 MACs, Windows known only by name, and owners named by an
/// email several directory users have (issue 14, "Identifiers and merge" and "Entra / Graph and directories").
@Suite struct SharedIdentifierTests {
    let n = IdentifierNormalizer()

    func why(_ normalizer: IdentifierNormalizer, _ kind: IdentifierKind, _ v: String) -> IdentifierNormalizer.Rejection? {
        if case .failure(let r) = normalizer.normalize(RawIdentifier(kind, v)) { return r }
        return nil
    }
    func value(_ kind: IdentifierKind, _ v: String) -> String? {
        if case .success(let i) = n.normalize(RawIdentifier(kind, v)) { return i.value }
        return nil
    }

    @Test func zeroOUIMACsAreNotIdentifiers() {
        #expect(why(n, .mac, "00:00:00:12:34:56") == .zeroOUIMAC)
        #expect(why(n, .mac, "00-00-00-00-00-00-00-E0") == .zeroOUIMAC)  // Windows' Teredo tunnel adapter
        #expect(value(.mac, "00:00:01:12:34:56") == "00:00:01:12:34:56")  // only the whole OUI being zero counts
    }

    @Test func eightOctetMACsAreIdentifiers() {
        #expect(value(.mac, "00:1b:21:ff:fe:3a:4b:5c") == "00:1B:21:FF:FE:3A:4B:5C")
        #expect(value(.mac, "001B.21FF.FE3A.4B5C") == "00:1B:21:FF:FE:3A:4B:5C")
        #expect(why(n, .mac, "02:1b:21:ff:fe:3a:4b:5c") == .localMAC)
        #expect(why(n, .mac, "ff:ff:ff:ff:ff:ff:ff:ff") == .nullMAC)
        #expect(why(n, .mac, "00:1b:21:ff:fe:3a:4b") == .malformedMAC)  // seven octets
        // An EUI-64 never merges with the EUI-48 that happens to share its last six octets.
        let r = DeviceMerger().merge([record("a", "1", [(.mac, "00:00:AC:DE:48:00:11:23")]), record("b", "2", [(.mac, "AC:DE:48:00:11:23")])])
        #expect(r.groups.count == 2)
    }

    @Test(arguments: [
        (IdentifierKind.mac, "ac:de:48:00:11:22"), (.mac, "ACDE.4800.1122"), (.udid, "03000200-0400-0500-0006-000700080009"),
        (.udid, "ffffffff-ffff-ffff-ffff-ffffffffffff"), (.udid, "00020003-0004-0005-0006-000700080009"), (.mac, "00:05:9a:3c:7a:00")
    ])
    func shippedSharedIdentifiersAreRejected(_ kind: IdentifierKind, _ v: String) {
        #expect(why(n, kind, v) == .sharedIdentifier)
    }

    /// Today one cloned SMBIOS UUID merges a laptop with a build server; the shipped list keeps them apart.
    @Test func aClonedUUIDNoLongerMergesALaptopWithABuildServer() {
        let records = [
            record("fleet", "laptop", [(.udid, "03000200-0400-0500-0006-000700080009"), (.mac, "a4:83:e7:00:00:01")], platform: .linux),
            record("osquery", "build-7", [(.udid, "03000200-0400-0500-0006-000700080009"), (.mac, "3c:ec:ef:00:00:07")], platform: .linux),
            // The Apple internal interface is on every T2 Mac: two Macs with it stay two Macs.
            record("jamf", "m1", [(.serial, "C02AAA111"), (.mac, "ac:de:48:00:11:22")]),
            record("fleet", "m2", [(.mac, "ac:de:48:00:11:22"), (.mac, "f0:18:98:00:00:02")])
        ]
        let r = DeviceMerger().merge(records)
        #expect(r.groups.count == 4)
        #expect(r.groups.allSatisfy { $0.records.count == 1 })
        #expect(r.rejected[.sharedIdentifier] == 4)
        #expect(r.conflicts.isEmpty)
    }

    @Test func configuredSharedIdentifiersByKindOrForEveryKind() throws {
        let config = try StethoscopeConfig.parse(
            yaml: """
                shared_identifiers: ["serial:ABC 123", "udid:11111111-2222-3333-4444-555555555555", "3C:EC:EF:00:00:07", "356938035643809"]
                """, environment: [:])
        #expect(config.sharedIdentifiers.count == 4)
        let normalizer = IdentifierNormalizer(extraPlaceholders: config.extraPlaceholderSerials, sharedIdentifiers: config.sharedIdentifiers)
        #expect(why(normalizer, .serial, " abc 123 ") == .sharedIdentifier)
        #expect(why(normalizer, .udid, "11111111-2222-3333-4444-555555555555") == .sharedIdentifier)
        #expect(why(normalizer, .serial, "11111111-2222-3333-4444-555555555555") == nil)  // the kind was named: udid only
        #expect(why(normalizer, .mac, "3c-ec-ef-00-00-07") == .sharedIdentifier)  // bare: any notation of a MAC
        #expect(why(normalizer, .imei, "35 693803 564380 9") == .sharedIdentifier)  // bare: any kind it reads as
        #expect(why(normalizer, .udid, "03000200-0400-0500-0006-000700080009") == .sharedIdentifier)  // the shipped list stays
        #expect(why(normalizer, .serial, "C02AAA111") == nil)
        // Attribution by a shared identifier names nobody either.
        let map = OwnerAttribution.attributionMap(
            [(via: "assets", assignments: [OwnerAssignment(RawIdentifier(.mac, "3c:ec:ef:00:00:07"), email: "a@example.com")])],
            normalizer: normalizer)
        #expect(map.isEmpty)

        let error = #expect(throws: ConfigError.self) {
            try StethoscopeConfig.parse(yaml: "shared_identifiers: [\"serial:X1\", \"uuid:1234\"]", environment: [:])
        }
        #expect(error?.description.contains("shared_identifiers[1]") == true)
        #expect(throws: ConfigError.self) { try StethoscopeConfig.parse(yaml: "shared_identifiers: {udid: \"1234\"}", environment: [:]) }
    }

    @Test(arguments: ["Microsoft Windows 7 Professional", "Windows XP", "Windows 8.1", "Microsoft Windows Server 2008 R2 Standard"])
    func windowsKnownOnlyByNameIsJudgedUnsupported(_ name: String) {
        let evaluator = NightEvaluator(
            practices: .defaults, asOf: "2026-03-02", now: Date(timeIntervalSince1970: 1_700_000_100),
            staleAfterDays: 14, orgChart: OrgChart([]))
        for (osName, osVersion) in [(name, nil), ("Windows", name)] as [(String, String?)] {
            var r = record("sccm", "pc", [(.serial, "PC-1")], platform: .windows, os: osVersion)
            r.osName = osName
            let d = evaluator.evaluate(DeviceMerger().merge([r]).groups[0], [r])
            let os = d.results.first { $0.practice == "os_version" }
            #expect(os?.status == .warn, "\(osName) / \(osVersion ?? "-")")
            #expect(os?.details?.contains("unsupported Windows") == true)
        }
        // A supported Windows known only by name stays unknown: the name alone cannot say which build.
        var ten = record("sccm", "pc10", [(.serial, "PC-10")], platform: .windows)
        ten.osName = "Microsoft Windows 10 Enterprise"
        let d = evaluator.evaluate(DeviceMerger().merge([ten]).groups[0], [ten])
        #expect(d.results.first { $0.practice == "os_version" }?.status == .unknown)
    }

    @Test func anEmailTwoDirectoryUsersShareAttributesNoDevice() {
        let people = [
            Person(email: "dlee@example.com", name: "Dan"),
            Person(email: "shared@example.com", name: "Sam One", managerEmail: "dlee@example.com"),
            Person(email: "Shared@example.com", name: "Sam Two"),
            Person(email: "ajones@example.com", name: "Alex")
        ]
        let chart = OrgChart(people)
        #expect(chart.isAmbiguous("shared@example.com") && !chart.isAmbiguous("ajones@example.com"))
        #expect(chart.problems.contains { $0.hasPrefix("duplicate person shared@example.com") })
        let normalizer = IdentifierNormalizer()
        let evaluator = NightEvaluator(
            practices: .defaults, asOf: "2026-03-02", now: Date(timeIntervalSince1970: 1_700_000_100), staleAfterDays: 14, orgChart: chart,
            attribution: OwnerAttribution.attributionMap(
                [
                    (
                        via: "assets",
                        assignments: [
                            OwnerAssignment(RawIdentifier(.serial, "SER002"), email: "shared@example.com"),
                            OwnerAssignment(RawIdentifier(.serial, "SER003"), email: "ajones@example.com")
                        ]
                    )
                ], normalizer: normalizer),
            attributionPrecedence: ["assets"])
        let records = [
            record("jamf", "1", [(.serial, "SER001")], owner: "SHARED@example.com"),
            record("jamf", "2", [(.serial, "SER002")]),
            record("jamf", "3", [(.serial, "SER003")], owner: "shared@example.com"),
            record("jamf", "4", [(.serial, "SER004")], owner: "ajones@example.com")
        ]
        let devices = DeviceMerger(normalizer: normalizer).merge(records).groups.map { evaluator.evaluate($0, records) }
        func dev(_ key: String) -> DeviceSnapshot? { devices.first { $0.key == key } }
        #expect(
            dev("serial:SER001")?.owner == nil && dev("serial:SER001")?.ownerMethod == OwnerMethod.none
                && dev("serial:SER001")?.ownerReason == "ambiguous_email")
        #expect(dev("serial:SER002")?.owner == nil && dev("serial:SER002")?.ownerReason == "ambiguous_email")  // by attribution too
        // Another source still names a unique owner: that one is used.
        #expect(
            dev("serial:SER003")?.owner == "ajones@example.com" && dev("serial:SER003")?.ownerMethod == .attribution && dev("serial:SER003")?.ownerReason == nil
        )
        #expect(dev("serial:SER004")?.owner == "ajones@example.com" && dev("serial:SER004")?.ownerReason == nil)
    }

    @Test func aManagerCycleIsCutInTheChartButKeptInTheDirectoryPeople() {
        let chart = OrgChart([
            Person(email: "a@x.com", name: "A", managerEmail: "b@x.com"),
            Person(email: "b@x.com", name: "B", managerEmail: "c@x.com"),
            Person(email: "c@x.com", name: "C", managerEmail: "a@x.com"),
            Person(email: "s@x.com", name: "S", managerEmail: "s@x.com")
        ])
        #expect(Set(chart.inCycles) == ["a@x.com", "b@x.com", "c@x.com", "s@x.com"])
        #expect(chart.chain(of: "a@x.com").count <= 2)  // cut: never loops
        let directory = chart.directoryPeople
        #expect(directory.map(\.managerEmail) == ["b@x.com", "c@x.com", "a@x.com", "s@x.com"])
        // Rebuilt from what the directory said (as reports do from `people`), the chart cuts the cycle again.
        #expect(Set(OrgChart(directory).inCycles) == Set(chart.inCycles))
    }
}
