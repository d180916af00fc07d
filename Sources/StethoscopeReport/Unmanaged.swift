import Foundation
import StethoscopeStore

extension ReportData {
    /// Devices on the network that no inventory manages (`unmanaged_devices`, from `auth_logs` entries), for the
    /// data-quality page: counted per organization (and, with --include-people, listed per person).
    mutating func loadUnmanaged(_ store: SnapshotStore) throws {
        unmanaged = try store.unmanagedDevices(asOf: nights[nights.count - 1].asOf)
    }
}

extension Site {
    /// The "Devices on the network that no inventory manages" section: per organization (people not in the
    /// directory on a row of their own); with --include-people, per person and each identifier.
    func unmanagedSection(asOf: String) -> (html: String, tables: [Table]) {
        guard !d.unmanaged.isEmpty else {
            return ("<h2>Devices on the network that no inventory manages</h2><p>None on \(asOf) (or no auth_logs attribution is configured).</p>", [])
        }
        var byOrg: [String: (devices: Int, people: Set<String>)] = [:]
        for u in d.unmanaged {
            let org = u.person == nil ? "(not in the directory)" : (u.organization ?? "(no organization)")
            byOrg[org, default: (0, [])].devices += 1
            byOrg[org]!.people.insert(u.person ?? u.user)
        }
        let orgs = Table(
            name: "unmanaged",
            caption: "Devices on the network that no inventory manages on \(asOf), per organization (seen in authentication logs, matched by no source)",
            columns: ["Organization", "Devices", "People"],
            rows: byOrg.sorted { $0.value.devices != $1.value.devices ? $0.value.devices > $1.value.devices : $0.key < $1.key }
                .map { [.text($0.key), .int($0.value.devices), .int($0.value.people.count)] })
        var html =
            "<h2>Devices on the network that no inventory manages</h2>"
            + "<p>\(d.unmanaged.count) devices authenticated on the network in the window but are in no device source; they are not counted in any compliance figure.</p>"
            + orgs.html(page: "quality")
        var tables = [orgs]
        if includePeople {
            let people = Table(
                name: "unmanaged-people", caption: "Unmanaged devices per person on \(asOf) (--include-people)",
                columns: ["Person", "Organization", "Identifier", "Days", "Last seen", "Shared", "Log"],
                rows: d.unmanaged.map { u in
                    [
                        .text(u.person ?? "\(u.user) (not in the directory)"), .text(u.organization ?? ""), .text(u.identifier),
                        .int(u.days), .text(u.lastSeen), .text(u.shared ? "yes" : ""), .text(u.via)
                    ]
                }, shownLimit: 500)
            html += people.html(page: "quality")
            tables.append(people)
        }
        return (html, tables)
    }
}
