import Foundation

/// Authentication events that name a device only by its host name (VPN, proxies, SSO exports) are matched to
/// tonight's devices by name, since host names never merge records: the first label, case-insensitively
/// (`LAPTOP-7.corp.example.com` is `laptop-7`).
public enum HostnameMatch {
    /// Each assignment on a host name becomes one on the strongest identifier of the one device of tonight whose
    /// name that is. A name several devices share names none of them: its assignments are dropped (and counted in
    /// `ambiguous`). A name no device has is kept as it is, so it counts as a device no inventory manages.
    public static func resolve(
        _ lists: [(via: String, assignments: [OwnerAssignment])], groups: [MergedGroup],
        records: [SourceRecord], normalizer: IdentifierNormalizer
    )
        -> (lists: [(via: String, assignments: [OwnerAssignment])], matched: Int, ambiguous: Int)
    {
        guard lists.contains(where: { $0.assignments.contains { $0.identifier.kind == .hostname } }) else { return (lists, 0, 0) }
        // Host name → the device's strongest identifier; nil when two devices have the name.
        var byName: [String: Identifier?] = [:]
        for group in groups {
            guard let strongest = group.identifiers.min() else { continue }
            var names = Set<String>()
            for r in group.records {
                guard let name = records[r].deviceName,
                    case .success(let id) = normalizer.normalize(RawIdentifier(.hostname, name))
                else { continue }
                names.insert(id.value)
            }
            for name in names {
                if let other = byName[name], other != strongest { byName[name] = .some(nil) } else { byName[name] = strongest }
            }
        }
        var matched = 0
        var ambiguous = 0
        let out = lists.map { via, assignments in
            (
                via,
                assignments.compactMap { a -> OwnerAssignment? in
                    guard a.identifier.kind == .hostname, case .success(let id) = normalizer.normalize(a.identifier),
                        let device = byName[id.value]
                    else { return a }
                    guard let device else {
                        ambiguous += 1
                        return nil
                    }
                    matched += 1
                    return OwnerAssignment(RawIdentifier(device.kind, device.value), email: a.email, evidence: a.evidence)
                }
            )
        }
        return (out, matched, ambiguous)
    }
}
