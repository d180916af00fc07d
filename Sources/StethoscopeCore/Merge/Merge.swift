/// Records of one physical device, found by `DeviceMerger`.
public struct MergedGroup: Sendable {
    /// Stable night after night: the strongest identifier (serial first), or the record when it has none.
    public var key: String
    /// Indexes into the records given to the merger, most recently synced first.
    public var records: [Int]
    /// Every usable identifier of the group, sorted.
    public var identifiers: [Identifier]
}

public struct MergeResult: Sendable {
    public var groups: [MergedGroup]
    public var conflicts: [MergeConflict]
    /// Identifiers that were not used, by reason.
    public var rejected: [IdentifierNormalizer.Rejection: Int]
}

/// Merges source records into devices (docs/DESIGN.md, "Identifiers and merging").
///
/// Near linear: one hash index from identifier to the first record that had it, and union–find over
/// records. Two groups join when they share a strong identifier, unless an exclusive identifier (serial,
/// UDID) differs; such refusals are kept as conflicts. Records are visited in (source, local id) order,
/// so the result does not depend on the order sources answered in.
public struct DeviceMerger: Sendable {
    public var normalizer: IdentifierNormalizer
    public init(normalizer: IdentifierNormalizer = IdentifierNormalizer()) { self.normalizer = normalizer }

    public func merge(_ records: [SourceRecord]) -> MergeResult {
        let order = records.indices.sorted {
            records[$0].source != records[$1].source
                ? records[$0].source < records[$1].source
                : records[$0].localID < records[$1].localID
        }
        var rejected: [IdentifierNormalizer.Rejection: Int] = [:]
        var ids = [[Identifier]](repeating: [], count: records.count)
        var parent = Array(records.indices)
        // Per root: the exclusive identifiers of its group (serial, udid), at most one each.
        var serial = [String?](repeating: nil, count: records.count)
        var udid = [String?](repeating: nil, count: records.count)
        var firstHolder: [Identifier: Int] = [:]
        firstHolder.reserveCapacity(records.count * 2)
        var conflicts: [MergeConflict] = []
        var refused = Set<Pair>()

        func find(_ x: Int) -> Int {
            var r = x
            while parent[r] != r { r = parent[r] }
            var y = x
            while parent[y] != r {
                let next = parent[y]
                parent[y] = r
                y = next
            }
            return r
        }

        for i in order {
            var own: [Identifier] = []
            own.reserveCapacity(records[i].identifiers.count)
            for raw in records[i].identifiers {
                switch normalizer.normalize(raw) {
                case .success(let id):
                    if own.contains(id) { continue }
                    // A record claiming two serials keeps the first; the second cannot identify it.
                    if id.kind == .serial, serial[i] != nil { continue }
                    if id.kind == .udid, udid[i] != nil { continue }
                    if id.kind == .serial { serial[i] = id.value }
                    if id.kind == .udid { udid[i] = id.value }
                    own.append(id)
                case .failure(let why): rejected[why, default: 0] += 1
                }
            }
            ids[i] = own
            for id in own {
                guard let other = firstHolder[id] else {
                    firstHolder[id] = i
                    continue
                }
                let a = find(i)
                let b = find(other)
                if a == b { continue }
                if let clash = conflict(a, b, serial, udid) {
                    if refused.insert(Pair(min(a, b), max(a, b))).inserted {
                        conflicts.append(
                            MergeConflict(
                                shared: id, conflicting: clash,
                                records: [label(records[i]), label(records[other])]))
                    }
                    continue
                }
                // Union by lower index keeps roots deterministic.
                let (root, child) = a < b ? (a, b) : (b, a)
                parent[child] = root
                serial[root] = serial[root] ?? serial[child]
                udid[root] = udid[root] ?? udid[child]
            }
        }

        var members: [Int: [Int]] = [:]
        members.reserveCapacity(records.count)
        for i in order { members[find(i), default: []].append(i) }

        var groups: [MergedGroup] = []
        groups.reserveCapacity(members.count)
        var usedKeys: [String: Int] = [:]
        for i in order where find(i) == i {
            var recs = members[i]!
            recs.sort { newer(records[$0], records[$1]) }
            var all = Set<Identifier>()
            for r in recs { all.formUnion(ids[r]) }
            let sorted = all.sorted()
            var key = sorted.first.map(\.description) ?? "record:\(label(records[i]))"
            // Two groups can share their strongest identifier only when an exclusive one differs; number them.
            if let n = usedKeys[key] {
                usedKeys[key] = n + 1
                key += "#\(n + 1)"
            } else {
                usedKeys[key] = 1
            }
            groups.append(MergedGroup(key: key, records: recs, identifiers: sorted))
        }
        return MergeResult(groups: groups, conflicts: conflicts, rejected: rejected)
    }

    private func conflict(_ a: Int, _ b: Int, _ serial: [String?], _ udid: [String?]) -> [Identifier]? {
        if let x = serial[a], let y = serial[b], x != y { return [Identifier(.serial, x), Identifier(.serial, y)].sorted() }
        if let x = udid[a], let y = udid[b], x != y { return [Identifier(.udid, x), Identifier(.udid, y)].sorted() }
        return nil
    }

    private struct Pair: Hashable {
        var a: Int
        var b: Int
        init(_ a: Int, _ b: Int) {
            self.a = a
            self.b = b
        }
    }
}

func label(_ r: SourceRecord) -> String { "\(r.source)/\(r.localID)" }

/// Most recently synced first; ties by source then local id, so merged fields never depend on input order.
func newer(_ a: SourceRecord, _ b: SourceRecord) -> Bool {
    let x = a.lastSync ?? .distantPast
    let y = b.lastSync ?? .distantPast
    if x != y { return x > y }
    return a.source != b.source ? a.source < b.source : a.localID < b.localID
}
