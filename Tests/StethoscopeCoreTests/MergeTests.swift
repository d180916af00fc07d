import Foundation
import Testing

@testable import StethoscopeCore

func record(
    _ source: String, _ id: String, _ ids: [(IdentifierKind, String)], sync: Double = 0,
    platform: Platform? = .mac, os: String? = nil, owner: String? = nil,
    observations: [Observation] = [], software: [Software]? = nil
) -> SourceRecord {
    SourceRecord(
        source: source, localID: id, platform: platform, osVersion: os,
        identifiers: ids.map { RawIdentifier($0.0, $0.1) }, ownerHints: owner.map { [OwnerHint(.email, $0)] } ?? [],
        lastSync: Date(timeIntervalSince1970: 1_700_000_000 + sync), observations: observations, software: software)
}

@Suite struct MergeTests {
    let merger = DeviceMerger()

    @Test func mergesTransitivelyAcrossSourcesAndNotations() {
        let records = [
            record("jamf", "1", [(.serial, "c02abc123"), (.mac, "a4:83:e7:00:00:01")]),
            record("fleet", "h1", [(.mac, "A483.E700.0001"), (.udid, "U-1")]),
            record("google", "g1", [(.udid, "u-1"), (.imei, "351234567890123")]),
            record("google", "g2", [(.imei, "35 1234 5678 90123")]),
            record("mdm", "w1", [(.serial, "PC-999")])
        ]
        let r = merger.merge(records)
        #expect(r.groups.count == 2)
        let mac = r.groups.first { $0.key == "serial:C02ABC123" }
        #expect(mac?.records.count == 4)
        #expect(r.groups.contains { $0.key == "serial:PC-999" && $0.records == [4] })
        #expect(r.conflicts.isEmpty)
    }

    @Test func differentSerialsNeverMergeAndTheConflictIsAudited() {
        // A USB-Ethernet dongle moved between two laptops: one MAC, two serials.
        let records = [
            record("jamf", "1", [(.serial, "AAA111"), (.mac, "00:e0:4c:68:00:01")]),
            record("jamf", "2", [(.serial, "BBB222"), (.mac, "00:e0:4c:68:00:01")]),
            record("fleet", "x", [(.mac, "00:e0:4c:68:00:01")])
        ]
        let r = merger.merge(records)
        #expect(r.groups.count == 2)
        #expect(r.conflicts.count == 1)
        #expect(r.conflicts[0].shared == Identifier(.mac, "00:E0:4C:68:00:01"))
        #expect(r.conflicts[0].conflicting == [Identifier(.serial, "AAA111"), Identifier(.serial, "BBB222")])
        #expect(Set(r.groups.map(\.key)) == ["serial:AAA111", "serial:BBB222"])
    }

    @Test func resultDoesNotDependOnSourceOrder() {
        var records: [SourceRecord] = []
        for i in 0..<300 {
            records.append(record("jamf", "j\(i)", [(.serial, "S\(i % 250)"), (.mac, String(format: "00:11:22:33:%02x:%02x", i / 256, i % 256))]))
            records.append(record("fleet", "f\(i)", [(.mac, String(format: "00:11:22:33:%02x:%02x", i / 256, (i + 1) % 256))]))
        }
        func canonical(_ rs: [SourceRecord]) -> Set<String> {
            let r = merger.merge(rs)
            return Set(r.groups.map { g in g.key + "=" + g.records.map { "\(rs[$0].source)/\(rs[$0].localID)" }.sorted().joined(separator: ",") })
        }
        let expected = canonical(records)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5 { #expect(canonical(records.shuffled(using: &rng)) == expected) }
    }

    @Test func junkIdentifiersDoNotMergeAndAreCounted() {
        let records = [
            record("mdm", "1", [(.serial, "To be filled by O.E.M."), (.mac, "02:00:4c:4f:4f:50")]),
            record("mdm", "2", [(.serial, "To be filled by O.E.M."), (.mac, "02:00:4c:4f:4f:50")])
        ]
        let r = merger.merge(records)
        #expect(r.groups.count == 2)
        #expect(Set(r.groups.map(\.key)) == ["record:mdm/1", "record:mdm/2"])
        #expect(r.rejected[.placeholderSerial] == 2)
        #expect(r.rejected[.localMAC] == 2)
    }

    @Test func keysAreStableAndPreferSerials() {
        let night1 = merger.merge([record("fleet", "1", [(.mac, "a4:83:e7:00:00:09"), (.serial, "zz9")])])
        let night2 = merger.merge([record("jamf", "7", [(.serial, " ZZ9 "), (.mac, "A4-83-E7-00-00-09")]), record("fleet", "1", [(.mac, "a4:83:e7:00:00:09")])])
        #expect(night1.groups.map(\.key) == ["serial:ZZ9"])
        #expect(night2.groups.map(\.key) == ["serial:ZZ9"])
    }

    @Test func groupsSharingTheirStrongestIdentifierGetDistinctKeys() {
        // Same serial, two UDIDs (a serial reused by a refurbisher): kept apart, keys stay unique.
        let r = merger.merge([record("a", "1", [(.serial, "DUP1"), (.udid, "U1")]), record("b", "1", [(.serial, "DUP1"), (.udid, "U2")])])
        #expect(r.groups.count == 2)
        #expect(Set(r.groups.map(\.key)).count == 2)
    }

    @Test func duplicateRecordsInOneSourceMerge() {
        let r = merger.merge([record("jamf", "1", [(.serial, "D1X9")], sync: 10), record("jamf", "2", [(.serial, "d1x9")], sync: 20)])
        #expect(r.groups.count == 1)
        #expect(r.groups[0].records == [1, 0])  // most recently synced first
    }
}
