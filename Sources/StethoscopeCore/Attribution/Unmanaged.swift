import Foundation

/// An identifier that authenticated on the network in an `auth_logs` window but matches no device of any
/// source: a device on the network that no inventory manages. Counted per person and organization on the
/// report's data-quality page; never a device in the compliance numbers.
public struct UnmanagedDevice: Sendable, Hashable {
    public var identifier: Identifier
    /// The `auth_logs` entry whose logs saw it.
    public var via: String
    /// The user with the most days, as the logs named them (after the entry's user mapping).
    public var user: String
    /// That user's directory email, `nil` when the directory does not know them.
    public var person: String?
    public var organization: String?
    public var days: Int
    public var lastSeen: Date
    public var shared: Bool

    public init(
        identifier: Identifier, via: String, user: String, person: String?, organization: String?,
        days: Int, lastSeen: Date, shared: Bool
    ) {
        self.identifier = identifier
        self.via = via
        self.user = user
        self.person = person
        self.organization = organization
        self.days = days
        self.lastSeen = lastSeen
        self.shared = shared
    }

    /// The evidence-carrying assignments (auth logs) whose identifier is in none of `known` (every identifier of
    /// tonight's devices, and of the devices carried forward): one entry per identifier, the first configured
    /// entry's. Identifiers the normalizer rejects (randomized MACs) are not devices at all and are left out.
    public static func find(
        _ lists: [(via: String, assignments: [OwnerAssignment])], known: Set<Identifier>,
        normalizer: IdentifierNormalizer, orgChart: OrgChart
    ) -> [UnmanagedDevice] {
        var seen = Set<Identifier>()
        var out: [UnmanagedDevice] = []
        for (via, assignments) in lists {
            for a in assignments {
                guard let e = a.evidence, case .success(let id) = normalizer.normalize(a.identifier),
                    !known.contains(id), seen.insert(id).inserted
                else { continue }
                let email = a.email.lowercased().trimmed
                let person = orgChart[email] != nil && !orgChart.isAmbiguous(email) ? email : nil
                out.append(
                    UnmanagedDevice(
                        identifier: id, via: via, user: email, person: person,
                        organization: person.flatMap { orgChart[$0]?.organization },
                        days: e.days, lastSeen: e.lastSeen, shared: e.isShared))
            }
        }
        return out.sorted { $0.identifier < $1.identifier }
    }

    /// Auth-log users named by a bare username (`CORP\alice` without an `email_template`) become the directory
    /// person whose email has that local part, when exactly one has; others are left as the logs named them.
    public static func resolveUsernames(
        _ lists: [(via: String, assignments: [OwnerAssignment])],
        orgChart: OrgChart
    ) -> [(via: String, assignments: [OwnerAssignment])] {
        func resolve(_ user: String) -> String {
            user.contains("@") ? user : orgChart.resolve(OwnerHint(.username, user)) ?? user
        }
        return lists.map { via, assignments in
            guard assignments.contains(where: { $0.evidence != nil && !$0.email.contains("@") }) else { return (via, assignments) }
            return (
                via,
                assignments.map { a in
                    guard var e = a.evidence else { return a }
                    // Two names of one person (`alice@…` and `CORP\alice`) are not two users of a shared device.
                    var seen = Set<String>()
                    e.sharedWith = e.sharedWith.map(resolve).filter { seen.insert($0).inserted }
                    if e.sharedWith.count < 2 { e.sharedWith = [] }
                    return OwnerAssignment(a.identifier, email: resolve(a.email), evidence: e)
                }
            )
        }
    }
}
