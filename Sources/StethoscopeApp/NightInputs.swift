import Foundation
import Logging
import StethoscopeCore
import StethoscopeStore

/// Checks of what the sources returned, applied once after the pull and before anything is merged: input that
/// would quietly rewrite history (a device "seen" in 2099, a vendor returning half its inventory) is caught here
/// for every plugin alike, rather than in each plugin.
extension NightlyRun {
    /// How far past the later of the run's "now" and the wall clock a timestamp may lie before it is suspect:
    /// a day covers clock skew and time-zone mistakes in vendor data; years ahead never happen honestly.
    static let futureTolerance: TimeInterval = 86_400

    /// Clamps `last_sync` and observation times lying in the future to `now` and counts them per source as the
    /// error kind `future_timestamp` (stored in `run_sources.errors`, logged). A device synced "in 2099" would
    /// otherwise stay fresh forever and its observations would win every "most recent" comparison.
    func clampFutureTimes(_ pulled: inout Pulled, now: Date, wallClock: Date = Date(), logger: Logger) {
        let limit = max(now, wallClock).addingTimeInterval(Self.futureTolerance)
        var suspect: [String: Int] = [:]
        for i in pulled.records.indices {
            var n = 0
            if let t = pulled.records[i].lastSync, t > limit {
                pulled.records[i].lastSync = now
                n += 1
            }
            // Read first, write only the rare record that needs it (the hot path stays a read-only pass).
            if pulled.records[i].observations.contains(where: { ($0.observedAt ?? .distantPast) > limit }) {
                for j in pulled.records[i].observations.indices where (pulled.records[i].observations[j].observedAt ?? .distantPast) > limit {
                    pulled.records[i].observations[j].observedAt = now
                    n += 1
                }
            }
            if n > 0 { suspect[pulled.records[i].source, default: 0] += n }
        }
        for (source, count) in suspect.sorted(by: { $0.key < $1.key }) {
            pulled.figures[source]?.errors["future_timestamp", default: 0] += count
            logger.warning(
                "timestamps in the future clamped to the run time",
                metadata: [
                    "source": "\(source)", "future_timestamp": "\(count)", "limit": "\(ISOTime.string(limit))"
                ])
        }
    }

    /// Treats as failed every source whose record count fell by more than its `max_record_drop` share below its
    /// count on the last complete night, unless the operator accepted the drop (`--accept-drop NAME`): a vendor
    /// that silently returns half its inventory must not look like half the fleet vanished. A device source's
    /// devices are then carried forward, a directory's people come from the last complete night, an attribution
    /// list is left out; the reason is the source's `failure` in `run_sources` and the report.
    func rejectRecordDrops(_ pulled: inout Pulled, asOf: String, store: SnapshotStore, logger: Logger) throws {
        guard let last = try store.lastCompleteNight(before: asOf) else { return }
        let before = try store.sourceRecords(asOf: last)
        for (name, figures) in pulled.figures.sorted(by: { $0.key < $1.key }) where figures.failure == nil {
            guard let previous = before[name], previous > 0 else { continue }
            let share = config.maxRecordDrop(for: name)
            let tonight = figures.records
            guard Double(tonight) < Double(previous) * (1 - share) else { continue }
            let fell = Int((100 * (1 - Double(tonight) / Double(previous))).rounded())
            let metadata: Logger.Metadata = [
                "source": "\(name)", "records": "\(tonight)", "previous": "\(previous)", "previous_night": "\(last)",
                "drop_percent": "\(fell)", "max_record_drop": "\(share)"
            ]
            if acceptedDrops.contains(name) {
                logger.warning("record count dropped; accepted with --accept-drop", metadata: metadata)
                continue
            }
            let reason =
                "record count fell \(fell)% (from \(previous) on \(last) to \(tonight)), more than max_record_drop "
                + "\(Int((share * 100).rounded()))%: treated as failed tonight; if the drop is real, run again with --accept-drop \(name)"
            pulled.figures[name]?.failure = "\(name): \(reason)"
            logger.error("source record count dropped; treated as failed", metadata: metadata)
            switch figures.kind {
            case .device:
                pulled.failedDevice.append(name)
                pulled.records.removeAll { $0.source == name }
            case .directory:
                pulled.people = nil
            case .attribution:
                pulled.failedAttribution.append(name)
                pulled.assignments.removeAll { $0.via == name }
            }
        }
    }

    /// Gives each failed attribution entry the owners it decided on the last complete night (by device key, in
    /// its place in the precedence order), as a failed directory keeps the last complete night's people: an
    /// outage of bitFit must not strip its devices of their owners. The night is partial all the same.
    func carryAttributionForward(_ pulled: inout Pulled, asOf: String, store: SnapshotStore, logger: Logger) throws {
        guard !pulled.failedAttribution.isEmpty, let last = try store.lastCompleteNight(before: asOf) else { return }
        var lists: [String: [OwnerAssignment]] = [:]
        for (via, list) in pulled.assignments where lists[via] == nil { lists[via] = list }
        for name in pulled.failedAttribution {
            // A key is `kind:value` (`mac:AA:BB:…` splits at the first colon); suffixed duplicates are skipped.
            let carried = try store.attributedOwners(asOf: last, via: name).compactMap { row -> OwnerAssignment? in
                guard let colon = row.deviceKey.firstIndex(of: ":"), !row.deviceKey.contains("#"),
                    let kind = IdentifierKind(rawValue: String(row.deviceKey[..<colon]))
                else { return nil }
                return OwnerAssignment(RawIdentifier(kind, String(row.deviceKey[row.deviceKey.index(after: colon)...])), email: row.owner)
            }
            lists[name] = carried
            logger.warning(
                "attribution failed; using the owners it gave on the last complete night",
                metadata: [
                    "source": "\(name)", "devices": "\(carried.count)", "from": "\(last)"
                ])
        }
        pulled.assignments = plugins.attribution.map(\.source.name).compactMap { name in lists[name].map { (name, $0) } }
    }
}

extension NightlyRun {
    /// Identifiers the auth logs saw that match no device tonight (nor one carried forward from a failed source):
    /// devices on the network that no inventory manages (`unmanaged_devices`).
    func unmanagedDevices(
        _ assignments: [(via: String, assignments: [OwnerAssignment])], merged: MergeResult, pulled: Pulled,
        asOf: String, store: SnapshotStore, normalizer: IdentifierNormalizer, orgChart: OrgChart,
        logger: Logger
    ) throws -> [UnmanagedDevice] {
        guard assignments.contains(where: { $0.assignments.contains { $0.evidence != nil } }) else { return [] }
        var known = Set<Identifier>()
        for g in merged.groups { known.formUnion(g.identifiers) }
        if !pulled.failedDevice.isEmpty, let last = try store.lastCompleteNight(before: asOf) {
            known.formUnion(try store.identifiers(asOf: last, sources: Set(pulled.failedDevice)))
        }
        let found = UnmanagedDevice.find(assignments, known: known, normalizer: normalizer, orgChart: orgChart)
        if !found.isEmpty {
            logger.info(
                "devices on the network that no inventory manages",
                metadata: [
                    "unmanaged": "\(found.count)", "people": "\(Set(found.compactMap(\.person)).count)",
                    "not_in_directory": "\(found.filter { $0.person == nil }.count)"
                ])
        }
        return found
    }
}
