import Foundation

/// Stage 3 of the night: who owns a merged device. The sources' own hints come first (most recent record first),
/// then attribution sources in configured order, then authentication-log evidence says how sure that is or that
/// the device is shared. An email several directory users share names nobody in particular: it is skipped, and
/// when nothing else names an owner the device says why (`ambiguous_email`).
public struct OwnerAttribution: Sendable {
    public var orgChart: OrgChart
    /// Identifier → (owner email, attribution plugin name), first configured attribution source wins.
    public var attribution: [Identifier: (email: String, via: String)]
    /// Attribution source names in configured order: when a device's identifiers are claimed by several
    /// sources, the first configured one wins (names not listed rank after, by name).
    public var precedence: [String: Int]
    /// Identifier → authentication-log evidence (`auth_logs`): the days behind an owner, or a shared device's users.
    public var evidence: [Identifier: OwnerEvidence]

    /// What stage 3 decided for one device.
    public struct Decision: Sendable {
        public var email: String?
        public var method: OwnerMethod
        /// The source (hint) or attribution entry that named the owner.
        public var via: String?
        /// Why there is no owner, when the reason is known: `ambiguous_email` or `shared`.
        public var reason: String?
        /// The authentication-log evidence behind an `auth_logs` owner, or a shared device's users.
        public var evidence: OwnerEvidence?
    }

    public init(
        orgChart: OrgChart, attribution: [Identifier: (email: String, via: String)] = [:], precedence: [String] = [],
        evidence: [Identifier: OwnerEvidence] = [:]
    ) {
        self.orgChart = orgChart
        self.attribution = attribution
        self.evidence = evidence
        var rank: [String: Int] = [:]
        for (i, name) in precedence.enumerated() where rank[name] == nil { rank[name] = i }
        self.precedence = rank
    }

    /// Builds the identifier → owner map from attribution sources, in precedence order.
    public static func attributionMap(
        _ lists: [(via: String, assignments: [OwnerAssignment])],
        normalizer: IdentifierNormalizer
    ) -> [Identifier: (email: String, via: String)] {
        var map: [Identifier: (email: String, via: String)] = [:]
        for (via, assignments) in lists {
            for a in assignments where a.evidence?.isShared != true {  // a shared device is given to nobody
                guard case .success(let id) = normalizer.normalize(a.identifier) else { continue }
                if map[id] == nil { map[id] = (a.email.lowercased().trimmed, via) }
            }
        }
        return map
    }

    /// Identifier → the evidence of the first configured source that has some (`auth_logs` entries).
    public static func evidenceMap(
        _ lists: [(via: String, assignments: [OwnerAssignment])],
        normalizer: IdentifierNormalizer
    ) -> [Identifier: OwnerEvidence] {
        var map: [Identifier: OwnerEvidence] = [:]
        for (_, assignments) in lists {
            for a in assignments {
                guard let e = a.evidence, case .success(let id) = normalizer.normalize(a.identifier), map[id] == nil else { continue }
                map[id] = e
            }
        }
        return map
    }

    private func precedes(_ a: String, _ b: String) -> Bool {
        let ra = precedence[a] ?? Int.max
        let rb = precedence[b] ?? Int.max
        return ra != rb ? ra < rb : a < b
    }

    /// The owner of `group`, whose records `recs` are given most recent first.
    public func owner(of group: MergedGroup, records recs: [SourceRecord]) -> Decision {
        var owner: String?
        var method = OwnerMethod.none
        var via: String?
        var ambiguous = false
        search: for r in recs {
            for h in r.ownerHints {
                guard let email = orgChart.resolve(h) else { continue }
                if orgChart.isAmbiguous(email) {
                    ambiguous = true
                    continue
                }
                owner = email
                method = .sourceHint
                via = r.source
                break search
            }
        }
        if owner == nil {
            var best: (email: String, via: String)?
            for id in group.identifiers {
                guard let a = attribution[id], orgChart[a.email] != nil else { continue }
                if orgChart.isAmbiguous(a.email) {
                    ambiguous = true
                    continue
                }
                if let b = best, !precedes(a.via, b.via) { continue }
                best = a
            }
            if let best {
                owner = best.email
                method = .attribution
                via = best.via
            }
        }
        // Authentication-log evidence: the days behind an auth-log owner, else a shared device's users.
        var found: OwnerEvidence?
        if !evidence.isEmpty {
            for id in group.identifiers {
                guard let e = evidence[id] else { continue }
                if method == .attribution, e.via == via, !e.isShared {
                    found = e
                    method = .authLogs
                    break
                }
                if e.isShared, found == nil { found = e }
            }
            if method != .authLogs, found?.isShared != true { found = nil }
        }
        let reason = owner == nil && ambiguous ? "ambiguous_email" : owner == nil && found?.isShared == true ? "shared" : nil
        return Decision(email: owner, method: method, via: via, reason: reason, evidence: found)
    }
}
