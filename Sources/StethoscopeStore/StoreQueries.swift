import Foundation
import StethoscopeCore

extension SnapshotStore {
    /// The directory as stored for a night (empty when that night does not exist).
    public func people(asOf: String) throws -> [Person] {
        let st = try database.prepare("""
            SELECT email, name, manager_email, organization, title, location, active FROM people WHERE as_of = ?1 ORDER BY email
            """)
        st.bind(1, asOf)
        var out: [Person] = []
        while try st.step() {
            out.append(Person(email: st.string(0) ?? "", name: st.string(1) ?? "", managerEmail: st.string(2),
                              organization: st.string(3), title: st.string(4), location: st.string(5), active: st.int(6) != 0))
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
}
