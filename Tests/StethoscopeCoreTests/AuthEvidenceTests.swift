import Foundation
import Testing

@testable import StethoscopeCore

/// Owners from authentication-log evidence in the evaluator, and bare usernames resolved by the directory.
@Suite struct AuthEvidenceTests {
    let people = [
        Person(email: "alice@example.com", name: "Alice", organization: "Eng"),
        Person(email: "bob@example.com", name: "Bob", organization: "Sales")
    ]
    let seen = Date(timeIntervalSince1970: 1_796_000_000)

    @Test func twoNamesOfOnePersonAreNotASharedDevice() {
        let shared = OwnerEvidence(via: "wifi", days: 4, lastSeen: seen, userDays: 7, sharedWith: ["alice@example.com", "alice"])
        let reallyShared = OwnerEvidence(via: "wifi", days: 4, lastSeen: seen, userDays: 7, sharedWith: ["alice@example.com", "bob"])
        let lists = [
            (
                via: "wifi",
                assignments: [
                    OwnerAssignment(RawIdentifier(.mac, "3C:22:FB:00:00:01"), email: "alice@example.com", evidence: shared),
                    OwnerAssignment(RawIdentifier(.mac, "3C:22:FB:00:00:02"), email: "alice@example.com", evidence: reallyShared),
                    OwnerAssignment(
                        RawIdentifier(.mac, "3C:22:FB:00:00:03"), email: "bob",
                        evidence: OwnerEvidence(via: "wifi", days: 2, lastSeen: seen, userDays: 2))
                ]
            )
        ]
        let resolved = UnmanagedDevice.resolveUsernames(lists, orgChart: OrgChart(people))[0].assignments
        #expect(resolved[0].evidence?.isShared == false)
        #expect(resolved[1].evidence?.sharedWith == ["alice@example.com", "bob@example.com"])
        #expect(resolved[2].email == "bob@example.com")
    }

    @Test func authLogOwnersCarryTheirEvidenceAndSharedDevicesSayWhy() {
        let lists = [
            (
                via: "wifi",
                assignments: [
                    OwnerAssignment(
                        RawIdentifier(.mac, "3C:22:FB:00:00:01"), email: "alice@example.com",
                        evidence: OwnerEvidence(via: "wifi", days: 5, lastSeen: seen, userDays: 6)),
                    OwnerAssignment(
                        RawIdentifier(.mac, "3C:22:FB:00:00:02"), email: "alice@example.com",
                        evidence: OwnerEvidence(via: "wifi", days: 3, lastSeen: seen, userDays: 6, sharedWith: ["alice@example.com", "bob@example.com"])),
                    OwnerAssignment(
                        RawIdentifier(.mac, "3C:22:FB:00:00:09"), email: "bob@example.com",
                        evidence: OwnerEvidence(via: "wifi", days: 1, lastSeen: seen, userDays: 1))
                ]
            )
        ]
        let normalizer = IdentifierNormalizer()
        let evaluator = NightEvaluator(
            practices: .defaults, asOf: "2026-12-01", now: seen, staleAfterDays: 14, orgChart: OrgChart(people),
            attribution: OwnerAttribution.attributionMap(lists, normalizer: normalizer),
            attributionPrecedence: ["wifi"], evidence: OwnerAttribution.evidenceMap(lists, normalizer: normalizer))
        func device(_ mac: String) -> DeviceSnapshot {
            let record = SourceRecord(source: "inv", localID: mac, platform: .mac, identifiers: [RawIdentifier(.mac, mac)], lastSync: seen)
            let merged = DeviceMerger(normalizer: normalizer).merge([record])
            return evaluator.evaluate(merged.groups[0], [record])
        }
        let owned = device("3C:22:FB:00:00:01")
        #expect(owned.owner == "alice@example.com" && owned.ownerMethod == .authLogs && owned.ownerVia == "wifi")
        #expect(owned.evidence?.days == 5)
        let shared = device("3C:22:FB:00:00:02")
        #expect(shared.owner == nil && shared.ownerMethod == OwnerMethod.none && shared.ownerReason == "shared")
        #expect(shared.evidence?.sharedWith == ["alice@example.com", "bob@example.com"])
        // Unmanaged: the identifier no device has.
        let found = UnmanagedDevice.find(lists, known: Set(owned.identifiers + shared.identifiers), normalizer: normalizer, orgChart: OrgChart(people))
        #expect(found.map(\.identifier.value) == ["3C:22:FB:00:00:09"] && found.first?.organization == "Sales")
    }
}
