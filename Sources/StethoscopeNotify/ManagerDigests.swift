import Foundation
import StethoscopeCore
import StethoscopeStore

extension Planner {
    /// The weekly manager digests of `night` (on `manager_digest.weekday` only): every active manager with a chain
    /// (roll-up group kind `manager`), from the roll-up tables, so the cost grows with managers, not devices.
    public func managerDigests(_ db: Database, night: NightData, force: Bool = false) throws -> [ManagerMessage] {
        let md = config.managerDigest
        guard md.enabled, force || NotifyConfig.weekday(of: night.asOf) == md.weekday else { return [] }
        func groups(_ asOf: String) throws -> [String: (devices: Int, rate: Double?)] {
            let st = try db.prepare(
                """
                SELECT group_id, devices, stale, green FROM rollup_groups
                WHERE chart = 'night' AND as_of = ?1 AND group_kind = 'manager'
                """)
            st.bind(1, asOf)
            var out: [String: (devices: Int, rate: Double?)] = [:]
            while try st.step() {
                let counted = st.int(1) - st.int(2)
                out[(st.string(0) ?? "").lowercased()] = (devices: st.int(1), rate: counted > 0 ? Double(st.int(3)) / Double(counted) : nil)
            }
            return out
        }
        let now = try groups(night.asOf)
        // The trend: the newest roll-up night at least a week before.
        let weekAgo = AsOfDate.adding(-7, to: night.asOf) ?? night.asOf
        let prev = try db.prepare("SELECT MAX(as_of) FROM rollup_groups WHERE chart = 'night' AND as_of <= ?1")
        prev.bind(1, weekAgo)
        let previousAsOf = try prev.step() ? prev.string(0) : nil
        let before = try previousAsOf.map(groups) ?? [:]

        let practices = try db.prepare(
            """
            SELECT group_id, practice, warn + nudge FROM rollup_practices
            WHERE chart = 'night' AND as_of = ?1 AND group_kind = 'manager' AND warn + nudge > 0
            """)
        practices.bind(1, night.asOf)
        var failing: [String: [ManagerMessage.PracticeCount]] = [:]
        while try practices.step() {
            let key = practices.string(1) ?? ""
            failing[(practices.string(0) ?? "").lowercased(), default: []].append(
                .init(practice: key, title: night.practices[key]?.title ?? key, failing: practices.int(2)))
        }
        // The longest failing streak per person (devices that are not stale).
        var longest: [String: (devices: Int, nights: Int)] = [:]
        for (owner, devices) in night.devicesByOwner {
            var n = 0
            var count = 0
            for d in devices where !d.stale {
                let nights = d.failing.filter { $0.status == .warn || $0.status == .nudge }.map(night.nightsFailing).max()
                if let nights {
                    n = max(n, nights)
                    count += 1
                }
            }
            if count > 0 { longest[owner] = (count, n) }
        }
        var out: [ManagerMessage] = []
        for (manager, g) in now.sorted(by: { $0.key < $1.key }) {
            guard let person = night.people[manager], person.active, !config.exclude.contains(manager), MailAddress.isValid(manager)
            else { continue }
            let chain = night.chain(of: manager)
            let people = chain.compactMap { e in longest[e].map { (e, $0) } }
            var m = ManagerMessage(
                manager: manager, name: person.name, devices: g.devices, greenRate: g.rate, previousRate: before[manager]?.rate,
                previousAsOf: before[manager] == nil ? nil : previousAsOf,
                topPractices: Array((failing[manager] ?? []).sorted { ($0.failing, $1.practice) > ($1.failing, $0.practice) }.prefix(md.top)),
                longest: [], peopleFailing: people.count)
            if md.includePeople {
                m.longest = people.sorted { ($0.1.nights, $1.0) > ($1.1.nights, $0.0) }.prefix(md.top).map { e, v in
                    .init(name: night.people[e]?.name ?? e, email: e, devices: v.devices, nights: v.nights)
                }
            }
            out.append(m)
        }
        return out
    }
}
