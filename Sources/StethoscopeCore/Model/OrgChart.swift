/// The directory of one night, checked: duplicate emails, dangling managers and manager cycles are found and
/// reported, and every walk up the chain stops, so bad HR data can never hang a run or a report.
public struct OrgChart: Sendable {
    public private(set) var people: [String: Person] = [:]
    /// Emails in directory order (first occurrence wins for duplicates).
    public private(set) var order: [String] = []
    public private(set) var duplicates: [String] = []
    /// Emails that more than one directory user has (`duplicates`, once each).
    public private(set) var ambiguous: Set<String> = []
    /// People whose manager is not in the directory.
    public private(set) var dangling: [String] = []
    /// People on a manager cycle (their manager links are cut where the cycle closes).
    public private(set) var inCycles: [String] = []
    /// Manager links cut to break cycles: person → the manager the directory named. Only the chart used for
    /// roll-ups and chains is cut; `directoryPeople` gives the people as the directory said.
    public private(set) var cutManagers: [String: String] = [:]
    private var byUsername: [String: String] = [:]
    private var ambiguousUsernames: Set<String> = []

    public init(_ list: [Person]) {
        for p in list {
            if people[p.email] != nil {
                duplicates.append(p.email)
                ambiguous.insert(p.email)
                continue
            }
            people[p.email] = p
            order.append(p.email)
            let user = String(p.email.split(separator: "@", maxSplits: 1).first ?? "")
            if byUsername[user] != nil { ambiguousUsernames.insert(user) } else { byUsername[user] = p.email }
        }
        for u in ambiguousUsernames { byUsername[u] = nil }
        for email in order {
            guard let m = people[email]?.managerEmail else { continue }
            if m == email {
                people[email]?.managerEmail = nil
                cutManagers[email] = m
                inCycles.append(email)
                continue
            }
            if people[m] == nil { dangling.append(email) }
        }
        // Cycle detection: walk each chain with colouring; cut the link that closes a cycle.
        var state: [String: UInt8] = [:]  // 1 visiting, 2 done
        for start in order where state[start] == nil {
            var path: [String] = []
            var cur: String? = start
            while let c = cur, state[c] == nil, people[c] != nil {
                state[c] = 1
                path.append(c)
                cur = people[c]?.managerEmail
            }
            if let c = cur, state[c] == 1, let at = path.firstIndex(of: c) {
                inCycles.append(contentsOf: path[at...])
                cutManagers[path.last!] = people[path.last!]?.managerEmail
                people[path.last!]?.managerEmail = nil
            }
            for p in path { state[p] = 2 }
        }
    }

    public subscript(email: String) -> Person? { people[email] }

    /// Whether `email` belongs to more than one directory user: no device is attributed to it (which person is meant?).
    public func isAmbiguous(_ email: String) -> Bool { !ambiguous.isEmpty && ambiguous.contains(email) }

    /// The people in directory order as the directory gave them: manager links cut to break a cycle are restored.
    public var directoryPeople: [Person] {
        order.compactMap { email in
            guard var p = people[email] else { return nil }
            if let m = cutManagers[email] { p.managerEmail = m }
            return p
        }
    }

    /// Resolves an owner hint to a person's email: emails and UPNs case-insensitively, usernames by the
    /// local part of a unique email. An ambiguous email (see `isAmbiguous`) is returned too; callers decide.
    public func resolve(_ hint: OwnerHint) -> String? {
        let v = hint.value.lowercased().trimmed
        switch hint.kind {
        case .email, .upn:
            if people[v] != nil { return v }
            return nil
        case .username:
            if people[v] != nil { return v }
            let user = v.split(separator: "\\").last.map(String.init) ?? v
            return byUsername[user]
        }
    }

    /// Managers above a person, nearest first (never loops: cycles were cut at load).
    public func chain(of email: String) -> [String] {
        var out: [String] = []
        var cur = people[email]?.managerEmail
        while let m = cur, out.count <= people.count {
            out.append(m)
            cur = people[m]?.managerEmail
        }
        return out
    }

    public var problems: [String] {
        duplicates.map { "duplicate person \($0) (devices are not attributed to this email)" } + dangling.map { "manager of \($0) is not in the directory" }
            + inCycles.map { "\($0) is on a manager cycle" }
    }
}
