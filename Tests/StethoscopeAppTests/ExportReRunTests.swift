import Foundation
import StethoscopeHTTP
import StethoscopeStore
import Testing

/// Issue 13, "Elasticsearch stays in step with SQLite", through the real binary and osmem-server: `run` exports
/// the night, a re-run of the night with fewer devices exports again, and the index then holds exactly the
/// devices of the night's snapshot in SQLite, counted by `_id`.
@Suite struct ExportReRunTests {
    func stethoscope(_ arguments: [String]) throws -> Int32 { try runStethoscope(arguments).code }

    @Test func reRunningANightWithFewerDevicesLeavesOnlyItsDevicesInTheIndex() async throws {
        let server = try OpenSearchServer()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("c.yaml")
        let db = dir.appendingPathComponent("s.db")
        func write(people: Int) throws {
            try """
            database: \(db.path)
            directory: {type: demo, people: \(people)}
            sources:
              - {name: jamf, type: demo, feed: jamf, people: \(people)}
            export:
              elasticsearch: {url: "\(server.url)", chunk_documents: 20}
            """.write(to: config, atomically: true, encoding: .utf8)
        }
        func snapshot(_ asOf: String) throws -> Set<String> {
            let rows = try Database(path: db).rows(
                """
                SELECT k.device_key FROM devices d JOIN device_keys k USING (device_id) WHERE d.as_of = '\(asOf)'
                """)
            return Set(rows.map { "\(asOf):" + ($0[0] ?? "") })
        }
        try write(people: 80)
        #expect(try stethoscope(["export", "--config", config.path, "--install-template"]) == 0)
        #expect(try stethoscope(["run", "--config", config.path, "--as-of", "2026-12-01"]) == 0)
        #expect(try stethoscope(["run", "--config", config.path, "--as-of", "2026-12-02"]) == 0)
        let before = try snapshot("2026-12-01")
        #expect(try await server.ids("stethoscope-2026.12", asOf: "2026-12-01") == before)

        // The night is re-run with a smaller fleet: its snapshot, and then its documents, shrink.
        try write(people: 50)
        #expect(try stethoscope(["run", "--config", config.path, "--as-of", "2026-12-01"]) == 0)
        let after = try snapshot("2026-12-01")
        #expect(after.count < before.count && !after.isEmpty)
        #expect(try await server.ids("stethoscope-2026.12", asOf: "2026-12-01") == after)
        // The other night of the same index is untouched; a repeated export changes nothing.
        #expect(try await server.ids("stethoscope-2026.12", asOf: "2026-12-02") == (try snapshot("2026-12-02")))
        #expect(try stethoscope(["export", "--config", config.path, "--as-of", "2026-12-01"]) == 0)
        #expect(try await server.ids("stethoscope-2026.12", asOf: "2026-12-01") == after)
    }

    /// Issue 16: `export` (and `run`) into an index no installed template covers exits 4 with a message naming
    /// `--install-template`, and sends nothing (no index built by dynamic mapping); after installing, it exports.
    @Test func exportingWithoutTheTemplateExitsFourNamingInstallTemplate() async throws {
        let server = try OpenSearchServer()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("c.yaml")
        try """
        database: \(dir.appendingPathComponent("s.db").path)
        directory: {type: demo, people: 30}
        sources:
          - {name: jamf, type: demo, feed: jamf, people: 30}
        export:
          elasticsearch: {url: "\(server.url)", number_of_replicas: 0}
        """.write(to: config, atomically: true, encoding: .utf8)
        func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
            let r = try runStethoscope(arguments)
            return (r.code, r.stderr)
        }
        #expect(try run(["run", "--config", config.path, "--as-of", "2026-12-01"]).status == 4)
        let export = try run(["export", "--config", config.path, "--as-of", "2026-12-01"])
        #expect(export.status == 4)
        #expect(export.stderr.contains("no index template covers index 'stethoscope-2026.12'") && export.stderr.contains("--install-template"))
        let index = try await HTTPClient.shared.send(HTTPRequest(url: "\(server.url)/stethoscope-2026.12", source: "test", retry: .none))
        #expect(index.status == 404)

        #expect(try run(["export", "--config", config.path, "--install-template", "--as-of", "2026-12-01"]).status == 0)
        #expect(try await !server.ids("stethoscope-2026.12", asOf: "2026-12-01").isEmpty)
    }
}
