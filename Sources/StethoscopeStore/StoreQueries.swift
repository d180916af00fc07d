import Foundation
import StethoscopeCore

extension SnapshotStore {
    /// The directory as stored for a night (empty when that night does not exist), as the directory gave it: manager
    /// links on a cycle included (`OrgChart` cuts them again). An email that several directory users had
    /// (`duplicate_email`) comes twice, so an `OrgChart` of these people knows it is ambiguous, as the run did.
    public func people(asOf: String) throws -> [Person] {
        let st = try database.prepare("""
            SELECT email, name, manager_email, organization, title, location, active, duplicate_email FROM people
            WHERE as_of = ?1 ORDER BY email
            """)
        st.bind(1, asOf)
        var out: [Person] = []
        while try st.step() {
            let person = Person(email: st.string(0) ?? "", name: st.string(1) ?? "", managerEmail: st.string(2),
                                organization: st.string(3), title: st.string(4), location: st.string(5), active: st.int(6) != 0)
            out.append(person)
            if st.int(7) != 0 { out.append(person) }
        }
        return out
    }

    /// Records per source that succeeded on a night (`run_sources`), the baseline of the record-drop check.
    public func sourceRecords(asOf: String) throws -> [String: Int] {
        let st = try database.prepare("SELECT source, records FROM run_sources WHERE as_of = ?1 AND status = 'ok'")
        st.bind(1, asOf)
        var out: [String: Int] = [:]
        while try st.step() { out[st.string(0) ?? ""] = st.int(1) }
        return out
    }

    /// Device key → owner of the devices whose owner the attribution entry `via` decided on a night: what a
    /// failed attribution source said last time, so its devices keep their owners through an outage.
    public func attributedOwners(asOf: String, via: String) throws -> [(deviceKey: String, owner: String)] {
        let st = try database.prepare("""
            SELECT k.device_key, d.owner FROM devices d JOIN device_keys k ON k.device_id = d.device_id
            WHERE d.as_of = ?1 AND d.owner_method IN ('attribution', 'auth_logs') AND d.owner_via = ?2 AND d.owner IS NOT NULL
            ORDER BY k.device_key
            """)
        st.bind(1, asOf)
        st.bind(2, via)
        var out: [(deviceKey: String, owner: String)] = []
        while try st.step() { out.append((st.string(0) ?? "", st.string(1) ?? "")) }
        return out
    }
}
