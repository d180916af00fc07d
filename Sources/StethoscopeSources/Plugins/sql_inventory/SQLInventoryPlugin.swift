import Foundation
import StethoscopeCore

/// Windows inventory from a device manager's SQL database over ODBC (LANDESK / Ivanti EPM, MECM, or any
/// query with a column mapping).
public enum SQLInventoryPlugin: SourcePlugin {
    public static let type = "sql_inventory"
    public static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource {
        try SQLInventorySource(config)
    }
}

/// One database. Each pull opens its own connection on its own thread (ODBC calls block) and streams
/// every query's rows straight into devices.
struct SQLInventorySource: DeviceSource {
    let name: String
    let preset: String
    let connectionString: String
    let password: Secret?
    let queries: [SQLQuery]
    let sessionSQL: [String]
    let interpretation: SQLInterpretation
    let loginTimeout: Int
    let queryTimeout: Int
    /// `nil`: chosen by driver (`ODBCText.native`).
    let textEncoding: ODBCText?

    init(_ config: PluginConfig) throws {
        let s = config.section
        name = config.name
        preset = try s.choice("preset", ["landesk", "mecm", "custom"])
        let direct = try s.optionalString("connection_string")
        let dsn = try s.optionalString("dsn")
        var cs: String
        switch (direct, dsn) {
        case (.some(let c), nil): cs = c
        case (nil, .some(let d)): cs = "DSN=\(d)"
        case (.some, .some): throw s.error("dsn", "give either connection_string or dsn, not both")
        case (nil, nil): throw s.error("connection_string", "is required (or dsn)")
        }
        if cs.range(of: "PWD=", options: .caseInsensitive) != nil {
            throw s.error("connection_string", "must not hold the password: give password (\"${ENV}\") or password_file")
        }
        if !cs.hasSuffix(";") { cs += ";" }
        if let user = try s.optionalString("username") { cs += "UID=\(SQLInventorySource.braced(user));" }
        connectionString = cs
        password = try s.secret("password")
        sessionSQL = try s.stringList("session_sql") ?? []
        loginTimeout = try s.int("login_timeout_s", default: 30, min: 1, max: 3600)
        queryTimeout = try s.int("query_timeout_s", default: 1800, min: 0, max: 604_800)
        switch try s.choice("text_encoding", ["auto", "utf8", "utf16"], default: "auto") {
        case "utf8": textEncoding = .utf8
        case "utf16": textEncoding = .utf16
        default: textEncoding = nil
        }

        var how = SQLInterpretation()
        if let p = try s.optionalString("platform") {
            guard let platform = Platform(rawValue: p) ?? Platform(lenient: p) else { throw s.error("platform", "unknown platform '\(p.prefix(40))'") }
            how.platform = platform
        }
        if let zone = try s.optionalString("database_timezone") {
            guard let tz = TimeZone(identifier: zone) else { throw s.error("database_timezone", "unknown time zone '\(zone.prefix(40))'") }
            how.timestamps = SQLTimestamp(timeZone: tz)
        }
        how.screenLockFindings = try s.stringList("screen_lock_findings") ?? how.screenLockFindings
        how.autoUpdatesFindings = try s.stringList("auto_updates_findings") ?? how.autoUpdatesFindings
        interpretation = how
        queries = try SQLInventorySource.readQueries(s, preset: preset, findings: how.screenLockFindings + how.autoUpdatesFindings)
        try s.finish()
    }

    /// The preset's queries with the config's overrides: `query`/`columns` for `devices`, `queries.<name>`
    /// for the others (new names add queries), `skip` to leave preset queries out.
    static func readQueries(_ s: ConfigSection, preset: String, findings: [String]) throws -> [SQLQuery] {
        var list = SQLPresets.queries(preset)
        func columns(_ section: ConfigSection, _ key: String, base: [SQLField: String]) throws -> [SQLField: String] {
            guard let m = try section.section(key) else { return base }
            var out = base
            for k in m.keys {
                guard let field = SQLField(rawValue: k) else {
                    throw m.error(k, "unknown field (known: \(SQLField.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                let column = try m.string(k)
                out[field] = column == "-" ? nil : column
            }
            try m.finish()
            return out
        }
        func upsert(_ name: String, sql: String?, section: ConfigSection, columnsKey: String, path: String) throws {
            let i = list.firstIndex { $0.name == name }
            let base = i.map { list[$0] } ?? SQLQuery(name: name, sql: "", columns: [:])
            var q = base
            q.sql = sql ?? base.sql
            q.columns = try columns(section, columnsKey, base: base.columns)
            guard !q.sql.isEmpty else { throw section.error(path, "needs sql") }
            guard q.columns[.id] != nil else { throw section.error(columnsKey, "must map id (the column that names the device)") }
            if let i { list[i] = q } else { list.append(q) }
        }
        let query = try s.optionalString("query")
        if preset == "custom" && query == nil { throw s.error("query", "is required for preset custom") }
        if query != nil || s.has("columns") {
            try upsert("devices", sql: query, section: s, columnsKey: "columns", path: "query")
        }
        if let more = try s.section("queries") {
            for key in more.keys {
                guard let q = try more.section(key) else { throw more.error(key, "expected {sql, columns}") }
                try upsert(key, sql: try q.optionalString("sql"), section: q, columnsKey: "columns", path: "sql")
                try q.finish()
            }
            try more.finish()
        }
        for skip in try s.stringList("skip") ?? [] {
            guard skip != "devices", list.contains(where: { $0.name == skip }) else {
                throw s.error(
                    "skip", "'\(skip.prefix(40))' is not a query that can be skipped (\(list.map(\.name).filter { $0 != "devices" }.joined(separator: ", ")))")
            }
            list.removeAll { $0.name == skip }
        }
        // `devices` creates the devices, so it runs first.
        list.sort { ($0.name == "devices" ? 0 : 1) < ($1.name == "devices" ? 0 : 1) }
        let literals = findings.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ", ")
        return list.map { q in
            var q = q
            q.sql = q.sql.replacingOccurrences(of: "$findings", with: literals.isEmpty ? "NULL" : literals)
            return q
        }
    }

    /// An ODBC attribute value, in braces (`}` doubled) only when `;`, braces or edge spaces need them:
    /// some drivers (psqlodbc for UID) take braces literally.
    static func braced(_ value: String) -> String {
        let special = value.contains(";") || value.contains("{") || value.contains("}") || value.first == " " || value.last == " "
        return special ? "{" + value.replacingOccurrences(of: "}", with: "}}") + "}" : value
    }

    func connect() throws -> ODBCConnection {
        var cs = connectionString
        if let password { cs += "PWD=\(SQLInventorySource.braced(password.reveal()));" }
        do {
            let c = try ODBCConnection(connectionString: cs, loginTimeout: loginTimeout, redact: password?.reveal(), text: textEncoding)
            for statement in sessionSQL {
                do { try c.query(statement, timeout: queryTimeout) { _ in } } catch let e as ODBCError {
                    throw SourceError(name, "session_sql '\(statement.prefix(60))' failed: \(e.diagnostics)")
                }
            }
            return c
        } catch let e as ODBCError {
            throw SourceError(name, "\(e.what): \(e.diagnostics)")
        }
    }

    func pull(_ context: PullContext) async throws -> [SourceRecord] {
        try await Self.onThread { try pullNow(context) }
    }

    /// Runs blocking ODBC work on its own thread, so the cooperative pool keeps serving other sources.
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let thread = Thread { c.resume(with: Result { try work() }) }
            thread.name = "odbc"
            thread.start()
        }
    }

    func pullNow(_ context: PullContext) throws -> [SourceRecord] {
        let figures = context.figures
        let connection: ODBCConnection
        do { connection = try connect() } catch {
            figures.error("connect")
            throw error
        }
        var devices = SQLDeviceSet(fields: queries.flatMap(\.columns.keys))
        devices.softwareInventoried = queries.contains { $0.columns[.softwareName] != nil }
        devices.findingsQueried = queries.contains { $0.columns[.findingID] != nil }
        for (n, q) in queries.enumerated() {
            figures.request()
            var plan: [(column: Int, fields: [SQLField])] = []
            var unreported = 0
            let creates = q.name == "devices"
            let last = n == queries.count - 1
            var truncated = 0
            var values: [(SQLField, String?)] = []
            values.reserveCapacity(q.columns.count)
            do {
                let readColumns: ([String]) throws -> Void = { names in plan = try self.plan(q, names) }
                truncated = try connection.query(q.sql, timeout: queryTimeout, columns: readColumns) { row in
                    values.removeAll(keepingCapacity: true)
                    for step in plan {
                        let text = try row.text(step.column).map(SQLInventorySource.clean)
                        for f in step.fields { values.append((f, text)) }
                    }
                    switch devices.add(values, creates: creates) {
                    case .noID: figures.reject("\(q.name): row \(row.fetched) has no id")
                    case .orphan: break
                    case .device(let slot): if last { devices.streamed(slot, source: name, interpretation) }
                    }
                    if creates {
                        unreported += 1
                        if unreported == 1000 {
                            figures.page(records: unreported)
                            unreported = 0
                        }
                    }
                }
            } catch let e as ODBCError {
                figures.error("query")
                throw SourceError(name, "query '\(q.name)' \(e.what): \(e.diagnostics)")
            }
            if creates { figures.page(records: unreported) }
            if truncated > 0 { figures.reject("\(q.name): \(truncated) values longer than the driver's declared column size were cut") }
            context.logger.debug("query done", metadata: ["source": "\(name)", "query": "\(q.name)", "devices": "\(devices.devices.count)"])
        }
        if devices.orphanRows > 0 {
            context.logger.info("rows for devices the devices query did not return", metadata: ["source": "\(name)", "rows": "\(devices.orphanRows)"])
        }
        let records = devices.takeRecords(source: name, interpretation)
        figures.setRecords(records.count)
        return records
    }

    /// Which result columns to read, in increasing order (drivers such as FreeTDS require it).
    func plan(_ q: SQLQuery, _ names: [String]) throws -> [(column: Int, fields: [SQLField])] {
        var byColumn: [Int: [SQLField]] = [:]
        for (field, column) in q.columns.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard let i = names.firstIndex(where: { $0.caseInsensitiveCompare(column) == .orderedSame }) else {
                throw ODBCError(
                    what: "has no column \(column) (for \(field.rawValue))",
                    diagnostics: "result columns: \(names.joined(separator: ", "))")
            }
            byColumn[i, default: []].append(field)
        }
        return byColumn.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Trims padding of `CHAR(n)` columns (checked on the edge bytes first: most values need nothing).
    static func clean(_ text: String) -> String {
        let u = text.utf8
        guard let first = u.first, let last = u.last, first <= 32 || last <= 32 else { return text }
        guard let start = u.firstIndex(where: { $0 > 32 }), let end = u.lastIndex(where: { $0 > 32 }) else { return "" }
        return String(Substring(u[start...end]))
    }

    func check(_ context: PullContext) async throws -> String {
        try await Self.onThread {
            let c = try connect()
            let dbms = "\(c.info(17)) \(c.info(18))"  // SQL_DBMS_NAME, SQL_DBMS_VER
            guard let sql = SQLPresets.check(preset) else { return "ok: connected to \(dbms)" }
            var count = "?"
            do { try c.query(sql, timeout: queryTimeout) { row in count = try row.text(0) ?? "0" } } catch let e as ODBCError {
                throw SourceError(name, "check query \(e.what): \(e.diagnostics)")
            }
            return "ok: \(count) devices (\(preset) on \(dbms))"
        }
    }
}
