import Foundation
import Testing

/// The shipped Datasette metadata, served by the real Datasette (pinned in the test venv) over a demo database:
/// every view and every view column is described, and every canned query answers with JSON.
@Suite struct DatasetteTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let metadata = repo.appendingPathComponent("Schemas/datasette/metadata.yaml")

    /// Runs a program and returns what it printed on stdout (stderr dropped) and its status.
    func output(_ tool: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readAllRetrying()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    struct Metadata: Decodable {
        struct Table: Decodable {
            var title: String?
            var description: String?
            var columns: [String: String]?
        }
        struct Query: Decodable {
            var sql: String
            var title: String?
        }
        struct DB: Decodable {
            var tables: [String: Table]
            var queries: [String: Query]
        }
        var databases: [String: DB]
    }

    @Test func servesEveryCannedQueryAndDescribesEveryView() throws {
        let dir = try temporaryDirectory()
        #expect(try runStethoscope(["demo", "--people", "120", "--nights", "5", "--out", dir.path]).code == 0)
        let db = dir.appendingPathComponent("stethoscope.db").path

        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        let socket = dir.appendingPathComponent("ds.sock").path
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/bin/bash")
        // Children of the test runner inherit its blocked signals, so SIGTERM would never arrive: the wrapper
        // kills Datasette with SIGKILL when its stdin closes (at the end of the test, or if the runner dies).
        // The default time limit (1 s) stays on: a canned query slower than Datasette allows fails here.
        server.arguments = [
            "-c", "\"$@\" & pid=$!; read -r _; kill -9 $pid; wait", "datasette",
            python, "-m", "datasette", "serve", db, "-m", Self.metadata.path, "--uds", socket,
            "--setting", "sql_time_limit_ms", "1000"
        ]
        let stdin = Pipe()
        server.standardInput = stdin
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            try? stdin.fileHandleForWriting.close()
            server.waitUntilExit()
        }

        func get(_ path: String) throws -> (Int, String) {
            let (_, out) = try output("curl", ["-s", "--unix-socket", socket, "-w", "\n%{http_code}", "http://localhost" + path])
            let status = Int(out.split(separator: "\n").last ?? "") ?? 0
            return (status, String(out.dropLast(String(status).count + 1)))
        }
        var up = false
        for _ in 0..<150 where !up {
            if FileManager.default.fileExists(atPath: socket), (try? get("/-/versions.json"))?.0 == 200 { up = true } else { usleep(100_000) }
        }
        try #require(up, "datasette did not start (is it in the venv? make test installs it)")

        // Every view and every column of every view is described, as Datasette itself read the file.
        let (mstatus, mbody) = try get("/-/metadata.json")
        #expect(mstatus == 200)
        let meta = try JSONDecoder().decode(Metadata.self, from: Data(mbody.utf8))
        let dbMeta = try #require(meta.databases["stethoscope"])
        let (_, views) = try output("sqlite3", [db, "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name"])
        let viewNames = views.split(separator: "\n").map(String.init)
        #expect(viewNames.count >= 9)
        for view in viewNames {
            let described = dbMeta.tables[view]
            #expect(described?.description?.isEmpty == false, "view \(view) has no description")
            let (_, cols) = try output("sqlite3", [db, "SELECT name FROM pragma_table_info('\(view)')"])
            for col in cols.split(separator: "\n") {
                #expect(described?.columns?[String(col)]?.isEmpty == false, "\(view).\(col) has no description")
            }
        }
        let (_, tables) = try output("sqlite3", [db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"])
        for table in tables.split(separator: "\n") {
            #expect(dbMeta.tables[String(table)]?.description?.isEmpty == false, "table \(table) has no description")
        }

        // Every canned query answers, with its parameters, within Datasette's time limit.
        let params = ["practice": "encryption", "days": "30", "email": "nobody@example.com"]
        #expect(dbMeta.queries.count >= 7)
        var rowsSeen = 0
        for (name, query) in dbMeta.queries.sorted(by: { $0.key < $1.key }) {
            let needed = params.filter { query.sql.contains(":\($0.key)") }.map { "\($0.key)=\($0.value)" }
            let (status, body) = try get("/stethoscope/\(name).json?_shape=objects&" + needed.joined(separator: "&"))
            #expect(status == 200, "\(name): HTTP \(status) \(body.prefix(300))")
            struct Answer: Decodable {
                var ok: Bool?
                var rows: [[String: JSONValue]]
            }
            let answer = try? JSONDecoder().decode(Answer.self, from: Data(body.utf8))
            #expect(answer != nil && answer?.ok != false, "\(name): \(body.prefix(300))")
            rowsSeen += answer?.rows.count ?? 0
        }
        // The demo has failing devices and organizations: the queries find real rows, not only empty answers.
        #expect(rowsSeen > 0)
        let (_, compliance) = try get("/stethoscope/compliance_by_organization.json?_shape=array&practice=encryption&days=30")
        #expect(compliance.contains("\"compliance_pct\""))
    }
}

/// Any JSON value (the canned queries' rows mix text, numbers and nulls).
enum JSONValue: Decodable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else {
            self = .string(try c.decode(String.self))
        }
    }
}
