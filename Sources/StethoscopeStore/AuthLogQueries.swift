import Foundation
import StethoscopeCore

extension SnapshotStore {
    /// Every identifier of the devices stored for `asOf` from a source in `sources`: on a partial night, the
    /// devices carried forward still count as managed, so auth logs do not call them unmanaged.
    public func identifiers(asOf: String, sources: Set<String>) throws -> Set<Identifier> {
        let st = try database.prepare(
            """
            SELECT d.sources, json_extract(i.value, '$.kind'), json_extract(i.value, '$.value')
            FROM devices d, json_each(d.identifiers) i WHERE d.as_of = ?1
            """)
        st.bind(1, asOf)
        var out = Set<Identifier>()
        while try st.step() {
            guard let list = st.string(0), list.split(separator: ",").contains(where: { sources.contains(String($0)) }),
                let kind = st.string(1).flatMap(IdentifierKind.init(rawValue:)), let value = st.string(2)
            else { continue }
            out.insert(Identifier(kind, value))
        }
        return out
    }
}
