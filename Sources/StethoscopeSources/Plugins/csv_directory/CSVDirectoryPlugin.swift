import Foundation
import StethoscopeCore

/// The directory from a CSV/HR export with configurable column names. Rows whose `active` column holds an
/// inactive word (terminated, false, ...) are kept as inactive people, so their devices show as a former
/// employee's rather than as no one's.
public enum CSVDirectoryPlugin: SourcePlugin {
    public static let type = "csv_directory"
    public static func directory(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DirectorySource {
        try CSVDirectory(config)
    }
}

struct CSVDirectory: DirectorySource {
    let name: String
    let file: URL
    let columns: [String: String]
    let inactive: Set<String>
    /// `allow_empty`: a file with a header only (or no valid row) is a valid, empty directory.
    let allowEmpty: Bool
    /// `organization_separator`: the organization column holds a path ("Engineering > Platform" with ">"), written
    /// as an org path ("/Engineering/Platform") so the report rolls it up into every ancestor.
    let separator: String?
    /// `organization_parent_field`: a column naming each row's organization's parent organization; paths are built
    /// across rows ("/Engineering/Platform" when Platform's parent is Engineering, which has none).
    let parentColumn: String?
    static let defaults = [
        "email": "email", "name": "name", "manager": "manager_email", "title": "title",
        "location": "location", "active": "active"
    ]

    init(_ config: PluginConfig) throws {
        let s = config.section
        name = config.name
        allowEmpty = config.allowEmpty
        file = try s.requiredPath("path", "the CSV file")
        var columns = Self.defaults
        if let c = try s.section("columns") {
            for key in Self.defaults.keys.sorted() { columns[key] = try c.string(key, default: columns[key]!) }
            try c.finish()
        }
        // The organization is the column the config names (department, cost center, org unit, any other).
        columns["organization"] = try s.string("organization_field", default: "department")
        self.columns = columns
        separator = try s.optionalString("organization_separator")
        if separator?.isEmpty == true { throw s.error("organization_separator", "must not be empty") }
        parentColumn = try s.optionalString("organization_parent_field")
        inactive = Set(
            (try s.stringList("inactive_values") ?? ["false", "no", "0", "inactive", "terminated", "suspended", "disabled", "leaver"])
                .map { $0.lowercased() })
        try s.finish()
    }

    /// "Engineering > Platform" (separator ">") → "/Engineering/Platform"; parts are trimmed, empty ones dropped,
    /// and a "/" inside a part becomes "-" so it cannot add a level.
    static func path(_ value: String, separator: String) -> String {
        let parts = value.components(separatedBy: separator).map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "/", with: "-") }
            .filter { !$0.isEmpty }
        return parts.isEmpty ? value : "/" + parts.joined(separator: "/")
    }

    /// An organization's path through its parents ("/Engineering/Platform"); a cycle is cut where it closes.
    static func path(_ org: String, parents: [String: String]) -> String {
        var chain = [org]
        var seen: Set<String> = [org]
        while let up = parents[chain[chain.count - 1]], seen.insert(up).inserted { chain.append(up) }
        return "/" + chain.reversed().map { $0.replacingOccurrences(of: "/", with: "-") }.joined(separator: "/")
    }

    /// Reads the file and checks its email and organization columns, as a pull would.
    func check(_ context: PullContext) async throws -> String {
        let (table, _) = try read()
        return "ok: \(file.lastPathComponent), \(table.rows.count) rows"
    }

    private func read() throws -> (CSVTable, Int) {
        let table: CSVTable
        do { table = try CSVTable.read(file) } catch { throw SourceError(name, "\(file.lastPathComponent): \(error)") }
        guard let emailColumn = table.column(columns["email"]!) else {
            throw SourceError(
                name, "\(file.lastPathComponent) has no column '\(columns["email"]!)' (columns: \(table.header.prefix(20).joined(separator: ", ")))")
        }
        if table.column(columns["organization"]!) == nil {
            throw SourceError(name, "\(file.lastPathComponent) has no organization column '\(columns["organization"]!)'")
        }
        return (table, emailColumn)
    }

    func people(_ context: PullContext) async throws -> [Person] {
        let (table, emailColumn) = try read()
        let index = columns.mapValues { table.column($0) }
        var people: [Person] = []
        var raw: [(email: String, manager: String?)] = []
        for (i, row) in table.rows.enumerated() {
            guard let email = row.value(emailColumn), email.contains("@") else {
                context.figures.reject("row \(i + 2): no email")
                continue
            }
            let manager = row.value(index["manager"] ?? nil)
            let active = row.value(index["active"] ?? nil).map { !inactive.contains($0.lowercased()) } ?? true
            people.append(
                Person(
                    email: email, name: row.value(index["name"] ?? nil) ?? email, managerEmail: manager,
                    organization: row.value(index["organization"] ?? nil), title: row.value(index["title"] ?? nil),
                    location: row.value(index["location"] ?? nil), active: active))
            raw.append((email, manager))
        }
        // An export cut short (header only) or with every row unreadable is a broken input, not a company
        // with nobody in it: failing keeps last night's people instead of orphaning every device.
        if people.isEmpty && !allowEmpty {
            let why =
                table.rows.isEmpty
                ? "has a header but no rows"
                : "has no valid rows (\(table.rows.count) rejected; first: \(context.figures.snapshot().rejectedReasons.first ?? "?"))"
            throw SourceError(name, "\(file.lastPathComponent) \(why) (set allow_empty: true if an empty directory is expected)")
        }
        if let separator {
            for i in people.indices { people[i].organization = people[i].organization.map { Self.path($0, separator: separator) } }
        } else if let parentColumn {
            guard let column = table.column(parentColumn) else {
                throw SourceError(name, "\(file.lastPathComponent) has no organization parent column '\(parentColumn)'")
            }
            var parent: [String: String] = [:]
            for row in table.rows {
                if let org = row.value(index["organization"] ?? nil), let up = row.value(column), up != org { parent[org] = up }
            }
            for i in people.indices { people[i].organization = people[i].organization.map { Self.path($0, parents: parent) } }
        }
        context.figures.page(records: people.count)
        _ = DirectoryAudit.report(raw: raw, people: people, context)
        return people
    }
}
