import Foundation
import StethoscopeCore
import StethoscopeStore

/// Streams one night's devices out of SQLite as `_bulk` items (action line + document line), in device_id
/// order so a resume point is a single number, from a `NightDetailCursor` (one device in memory at a time).
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
    private let cursor: NightDetailCursor
    private let people: OrgChart
    /// The current device's (practice, status) pairs, written again as the flat `status` object after `practices`.
    private var statuses: [(key: String, status: String)] = []

    init(database: Database, asOf: String, index: String, generation: String, after: Int) throws {
        self.asOf = asOf
        self.index = index
        self.generation = generation
        cursor = try NightDetailCursor(database, asOf: asOf, after: after)
        people = OrgChart(cursor.directory)
    }

    /// Appends the next device's action and document lines to `out`; returns its device_id, `nil` when done.
    func next(into out: inout JSONWriter) throws -> Int? {
        let d = cursor
        guard try d.nextDevice() else { return nil }
        let id = d.deviceID
        let key = d.deviceKey
        out.beginObject()
        out.key("index")
        out.beginObject()
        out.field("_index", index)
        out.field("_id", asOf + ":" + key)
        out.endObject()
        out.endObject()
        out.newline()

        out.beginObject()
        out.field("as_of", asOf)
        out.field("device_key", key)
        out.field("device_id", id)
        out.field("generation", generation)
        out.field("platform", d.platform)
        out.field("os_name", d.osName)
        out.field("os_version", d.osVersion)
        out.field("model", d.model)
        out.field("device_name", d.deviceName)
        out.stringArray("sources", d.sources.split(separator: ","))
        out.field("last_sync", d.lastSync)
        if let owner = d.owner {
            out.field("owner", owner)
            let person = people[owner]
            out.field("owner_name", person?.name)
            out.field("organization", person?.organization)
            out.stringArray("managers", people.chain(of: owner))
        }
        out.field("owner_method", d.ownerMethod)
        out.field("owner_via", d.ownerVia)
        out.field("stale", d.stale)
        out.field("virtual", d.isVirtual)
        out.field("carried_forward", d.carriedForward)
        out.field("carried_from", d.carriedFrom)
        out.field("green", d.green)
        out.field("critical", d.critical)
        out.key("practices")
        out.beginArray()
        statuses.removeAll(keepingCapacity: true)
        try d.forEachPractice { r in
            let practice = r.practice
            let status = r.status
            if let status { statuses.append((practice, status)) }
            out.comma()
            out.beginObject()
            out.field("key", practice)
            out.field("status", status)
            out.field("rating", d.ratings[practice])
            out.field("value", r.value)
            out.field("details", r.details)
            out.field("observed_at", r.observedAt)
            out.field("source", r.source)
            out.endObject()
        }
        out.endArray()
        out.key("status")
        out.beginObject()
        for (key, status) in statuses {
            out.key(escaping: key)
            out.string(status)
        }
        out.endObject()
        out.endObject()
        out.newline()
        return id
    }
}
