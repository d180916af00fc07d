import Foundation
import StethoscopeCore
import StethoscopeStore

/// Streams one night's devices out of SQLite as `_bulk` items (action line + document line), in device_id
/// order so a resume point is a single number. Two cursors walk `devices` and `practice_results` side by side
/// (both are stored in that order), so memory holds one device at a time, never the night; only the night's
/// directory (for owner organization and manager chain) and practice ratings are loaded up front.
///
/// Document fields (README.md, "Document"): as_of, device_key, device_id, generation, platform, os_name, os_version, model,
/// device_name, sources, last_sync, owner, owner_name, organization, managers, owner_method, owner_via, stale,
/// virtual, carried_forward, carried_from, green, critical, practices[{key, status, rating, value, details,
/// observed_at, source}], status{<practice key>: <status>}. `status` repeats each practice's status as a flat
/// keyword field (`status.encryption`), because Kibana's Lens cannot aggregate fields of `nested` objects.
final class NightDocuments {
    let asOf: String
    let index: String
    /// The export's generation, written into every document (see `NightExporter.removeOtherGenerations`).
    let generation: String
    private let devices: Statement
    private let practices: Statement
    private let people: OrgChart
    private let ratings: [String: String]
    /// Whether `practices` is on a row not yet written (it runs one row ahead of the device being written).
    private var practicePending = false
    private var practicesDone = false
    /// The current device's (practice, status) pairs, written again as the flat `status` object after `practices`.
    private var statuses: [(key: String, status: String)] = []

    init(database: Database, asOf: String, index: String, generation: String, after: Int) throws {
        self.asOf = asOf
        self.index = index
        self.generation = generation
        let store = try NightDocuments.people(database, asOf)
        people = OrgChart(store)
        var ratings: [String: String] = [:]
        let defs = try database.prepare("SELECT practice, rating FROM practice_definitions WHERE as_of = ?1")
        defs.bind(1, asOf)
        while try defs.step() { ratings[defs.string(0) ?? ""] = defs.string(1) }
        self.ratings = ratings
        devices = try database.prepare("""
            SELECT d.device_id, k.device_key, d.platform, d.os_name, d.os_version, d.model, d.device_name, d.sources,
                   d.last_sync, d.owner, d.owner_method, d.owner_via, d.stale, d.virtual, d.carried_forward,
                   d.carried_from, d.green, d.critical
            FROM devices d JOIN device_keys k ON k.device_id = d.device_id
            WHERE d.as_of = ?1 AND d.device_id > ?2 ORDER BY d.device_id
            """)
        devices.bind(1, asOf)
        devices.bind(2, after)
        practices = try database.prepare("""
            SELECT device_id, practice, status, value, details, observed_at, source FROM practice_results
            WHERE as_of = ?1 AND device_id > ?2 ORDER BY device_id, practice
            """)
        practices.bind(1, asOf)
        practices.bind(2, after)
    }

    private static func people(_ database: Database, _ asOf: String) throws -> [Person] {
        let st = try database.prepare("SELECT email, name, manager_email, organization FROM people WHERE as_of = ?1")
        st.bind(1, asOf)
        var out: [Person] = []
        while try st.step() {
            out.append(Person(email: st.string(0) ?? "", name: st.string(1) ?? "", managerEmail: st.string(2),
                              organization: st.string(3)))
        }
        return out
    }

    /// Appends the next device's action and document lines to `out`; returns its device_id, `nil` when done.
    func next(into out: inout JSONWriter) throws -> Int? {
        guard try devices.step() else { return nil }
        let id = devices.int(0)
        let key = devices.string(1) ?? ""
        out.beginObject(); out.key("index"); out.beginObject()
        out.field("_index", index)
        out.field("_id", asOf + ":" + key)
        out.endObject(); out.endObject(); out.newline()

        out.beginObject()
        out.field("as_of", asOf)
        out.field("device_key", key)
        out.field("device_id", id)
        out.field("generation", generation)
        out.field("platform", devices.string(2))
        out.field("os_name", devices.string(3))
        out.field("os_version", devices.string(4))
        out.field("model", devices.string(5))
        out.field("device_name", devices.string(6))
        out.key("sources"); out.beginArray()
        for source in (devices.string(7) ?? "").split(separator: ",") { out.comma(); out.string(String(source)) }
        out.endArray()
        out.field("last_sync", devices.string(8))
        if let owner = devices.string(9) {
            out.field("owner", owner)
            let person = people[owner]
            out.field("owner_name", person?.name)
            out.field("organization", person?.organization)
            out.key("managers"); out.beginArray()
            for manager in people.chain(of: owner) { out.comma(); out.string(manager) }
            out.endArray()
        }
        out.field("owner_method", devices.string(10))
        out.field("owner_via", devices.string(11))
        out.field("stale", devices.int(12) != 0)
        out.field("virtual", devices.int(13) != 0)
        out.field("carried_forward", devices.int(14) != 0)
        out.field("carried_from", devices.string(15))
        out.field("green", devices.int(16) != 0)
        out.field("critical", devices.int(17) != 0)
        out.key("practices"); out.beginArray()
        statuses.removeAll(keepingCapacity: true)
        try writePractices(of: id, into: &out)
        out.endArray()
        out.key("status"); out.beginObject()
        for (key, status) in statuses { out.key(escaping: key); out.string(status) }
        out.endObject()
        out.endObject(); out.newline()
        return id
    }

    private func writePractices(of id: Int, into out: inout JSONWriter) throws {
        while !practicesDone {
            if !practicePending {
                guard try practices.step() else { practicesDone = true; return }
                practicePending = true
            }
            let owner = practices.int(0)
            if owner > id { return }
            practicePending = false
            if owner < id { continue }   // a result without its device row (cannot happen under the foreign key)
            let practice = practices.string(1) ?? ""
            let status = practices.string(2)
            if let status { statuses.append((practice, status)) }
            out.comma(); out.beginObject()
            out.field("key", practice)
            out.field("status", status)
            out.field("rating", ratings[practice])
            out.field("value", practices.string(3))
            out.field("details", practices.string(4))
            out.field("observed_at", practices.string(5))
            out.field("source", practices.string(6))
            out.endObject()
        }
    }
}
