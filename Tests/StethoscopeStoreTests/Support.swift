import Foundation
import StethoscopeCore
// The launchers, folders and helpers every test target shares (TempDir, Database.rows …), for every file here.
@_exported import StethoscopeTestSupport

@testable import StethoscopeStore

extension Database {
    func count(_ table: String, asOf: String) throws -> Int {
        try rows("SELECT COUNT(*) FROM \(table) WHERE as_of = ?", [asOf])[0][0].flatMap { Int($0) } ?? -1
    }
}

let t0 = Date(timeIntervalSince1970: 1_796_104_800)  // 2026-12-01T06:00:00Z

/// A device with the given statuses for some shipped practices (results in the given order).
func device(
    _ key: String, sources: [String], owner: String? = nil, stale: Bool = false,
    statuses: [(String, Status)] = [("encryption", .ok), ("firewall", .ok)],
    platform: Platform = .mac, model: String = "MacBookPro18,3"
) -> DeviceSnapshot {
    DeviceSnapshot(
        key: key, platform: platform, osName: "macOS", osVersion: "15.1", model: model, deviceName: "\(key)-name",
        identifiers: [Identifier(.serial, String(key.dropFirst(7))), Identifier(.mac, "AA:BB:CC:00:00:01")],
        sources: sources, records: sources.map { "\($0)/\(key)" }, lastSync: t0.addingTimeInterval(-3600),
        owner: owner, ownerMethod: owner == nil ? .none : .sourceHint, ownerVia: owner == nil ? nil : sources.first,
        stale: stale, isVirtual: false,
        results: statuses.map {
            PracticeResult(
                practice: $0.0, status: $0.1, value: "v-\($0.0)", details: nil,
                observedAt: t0.addingTimeInterval(-7200), source: sources.first)
        })
}

func night(
    _ asOf: String, status: RunStatus = .complete, failed: Set<String> = [],
    people: [Person] = [], conflicts: [MergeConflict] = []
) -> NightRecord {
    var figures: [String: SourceFigures] = [:]
    for name in ["jamf", "jamf2", "intune"] {
        var f = SourceFigures(kind: "device", plugin: name == "intune" ? "intune" : "jamf")
        f.records = 10
        f.errors = name == "jamf" ? ["http_5xx": 2] : [:]
        if failed.contains(name) { f.failure = "HTTP 503 after 5 retries" }
        figures[name] = f
    }
    figures["directory"] = SourceFigures(kind: "directory", plugin: "csv")
    return NightRecord(
        asOf: asOf, startedAt: t0, finishedAt: t0.addingTimeInterval(95), status: status,
        figures: figures, people: people, practices: .defaults, conflicts: conflicts,
        failedSources: failed, sourceRecords: 30)
}

/// A sequence that yields its devices and then throws nothing but counts how far it was consumed.
struct CountingSequence: Sequence {
    let devices: [DeviceSnapshot]
    let consumed: Counter
    final class Counter: @unchecked Sendable { var value = 0 }
    func makeIterator() -> AnyIterator<DeviceSnapshot> {
        var index = 0
        return AnyIterator {
            guard index < devices.count else { return nil }
            defer { index += 1 }
            consumed.value += 1
            return devices[index]
        }
    }
}
