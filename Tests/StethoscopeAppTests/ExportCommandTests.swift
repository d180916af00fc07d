import Foundation
import StethoscopeStore
import Testing

/// `stethoscope run` exports after the snapshot commits; an export failure keeps the snapshot and exits 4.
@Suite struct ExportCommandTests {
    func stethoscope(_ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = stethoscopeBinary()
        p.arguments = arguments
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func aFailedExportKeepsTheSnapshotAndExitsFour() throws {
        let dir = try temporaryDirectory()
        let config = dir.appendingPathComponent("c.yaml")
        let db = dir.appendingPathComponent("s.db")
        // Port 9 (discard) has nobody listening on 127.0.0.1: every request fails to connect.
        try """
        database: \(db.path)
        directory: {type: demo, people: 60}
        sources:
          - {name: jamf, type: demo, feed: jamf, people: 60}
        export:
          elasticsearch: {url: "http://127.0.0.1:9", max_attempts: 1, timeout_s: 2}
        """.write(to: config, atomically: true, encoding: .utf8)
        #expect(try stethoscope(["run", "--config", config.path, "--as-of", "2026-10-02"]) == 4)
        let database = try Database(path: db)
        #expect(try database.rows("SELECT status FROM runs WHERE as_of = '2026-10-02'") == [["complete"]])
        #expect(try database.count("SELECT COUNT(*) FROM devices WHERE as_of = '2026-10-02'") > 0)
        #expect(try database.rows("SELECT status, resume_after FROM exports WHERE as_of = '2026-10-02'") == [["failed", "0"]])
        // The catch-up command fails the same way; a night that does not exist is a failed export too.
        #expect(try stethoscope(["export", "--config", config.path, "--since", "2026-10-01"]) == 4)
        #expect(try stethoscope(["export", "--config", config.path, "--as-of", "2026-09-01"]) == 4)
        #expect(try stethoscope(["export", "--config", config.path]) == 64)
    }

    @Test func exportWithoutAnElasticsearchSectionIsAConfigError() throws {
        let dir = try temporaryDirectory()
        let config = dir.appendingPathComponent("c.yaml")
        try "database: \(dir.path)/s.db\n".write(to: config, atomically: true, encoding: .utf8)
        #expect(try stethoscope(["export", "--config", config.path, "--as-of", "2026-10-02"]) == 78)
        try "database: \(dir.path)/s.db\nexport: {elasticsearch: {url: 'http://x', shards: 2}}\n".write(to: config, atomically: true, encoding: .utf8)
        #expect(try stethoscope(["run", "--config", config.path]) == 78)
    }
}
