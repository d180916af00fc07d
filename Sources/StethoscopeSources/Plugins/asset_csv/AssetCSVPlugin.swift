import Foundation
import StethoscopeCore

/// Ownership from a generic asset export: each row names a device (serial and/or MACs, optionally IMEI)
/// and its owner's email. Column names are configurable.
public enum AssetCSVPlugin: SourcePlugin {
    public static let type = "asset_csv"
    public static func attribution(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any AttributionSource {
        try AssetCSV(config)
    }
}

struct AssetCSV: AttributionSource {
    let name: String
    let file: URL
    let email: String
    let identifiers: [(IdentifierKind, String)]
    /// `allow_empty`: a register with no usable row is a valid, empty list.
    let allowEmpty: Bool

    init(_ config: PluginConfig) throws {
        let s = config.section
        name = config.name
        allowEmpty = config.allowEmpty
        file = try s.requiredPath("path", "the CSV file")
        var email = "owner_email"
        var ids: [(IdentifierKind, String)] = [(.serial, "serial"), (.mac, "mac")]
        if let c = try s.section("columns") {
            email = try c.string("email", default: email)
            ids = []
            if let serial = try c.optionalString("serial") { ids.append((.serial, serial)) }
            for mac in try c.stringList("mac") ?? [] { ids.append((.mac, mac)) }
            if let imei = try c.optionalString("imei") { ids.append((.imei, imei)) }
            if let udid = try c.optionalString("udid") { ids.append((.udid, udid)) }
            guard !ids.isEmpty else { throw c.error("serial", "name at least one identifier column (serial, mac, imei, udid)") }
            try c.finish()
        }
        self.email = email
        identifiers = ids
        try s.finish()
    }

    /// Reads the file and checks its owner and identifier columns, as a pull would.
    func check(_ context: PullContext) async throws -> String {
        let (table, _, _) = try read()
        return "ok: \(file.lastPathComponent), \(table.rows.count) rows"
    }

    private func read() throws -> (CSVTable, Int, [(IdentifierKind, Int)]) {
        let table: CSVTable
        do { table = try CSVTable.read(file) } catch { throw SourceError(name, "\(file.lastPathComponent): \(error)") }
        guard let emailColumn = table.column(email) else { throw SourceError(name, "\(file.lastPathComponent) has no column '\(email)'") }
        let columns = identifiers.compactMap { kind, header in table.column(header).map { (kind, $0) } }
        guard !columns.isEmpty else { throw SourceError(name, "\(file.lastPathComponent) has none of the identifier columns") }
        return (table, emailColumn, columns)
    }

    func assignments(_ context: PullContext) async throws -> [OwnerAssignment] {
        let (table, emailColumn, columns) = try read()
        var out: [OwnerAssignment] = []
        for (i, row) in table.rows.enumerated() {
            guard let owner = row.value(emailColumn), owner.contains("@") else {
                context.figures.reject("row \(i + 2): no owner email")
                continue
            }
            for (kind, column) in columns {
                if let v = row.value(column) { out.append(OwnerAssignment(RawIdentifier(kind, v), email: owner)) }
            }
        }
        // An empty register would silently strip every device of the owners it gave: fail the source instead.
        if out.isEmpty && !allowEmpty {
            let why =
                table.rows.isEmpty
                ? "has a header but no rows"
                : "has no row with an owner email and an identifier (\(table.rows.count) rows)"
            throw SourceError(name, "\(file.lastPathComponent) \(why) (set allow_empty: true if an empty list is expected)")
        }
        context.figures.page(records: out.count)
        return out
    }
}
