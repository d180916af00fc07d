import Foundation
import StethoscopeStore
import Testing

@testable import StethoscopeApp

/// An unreachable SQL inventory database makes the night partial, with the driver's diagnostic in the run's figures.
@Suite struct SQLInventoryPipelineTests {
    @Test func anUnreachableDatabaseMakesTheNightPartialWithItsDiagnostic() async throws {
        let dir = try temporaryDirectory()
        let common = "seed: 7, people: 60, start: \"2026-11-01\", nights: 3"
        let yaml = """
            timezone: UTC
            directory: {type: demo, \(common)}
            sources:
              - {name: jamf, type: demo, feed: jamf, \(common)}
              - name: epm
                type: sql_inventory
                preset: landesk
                connection_string: "Driver=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so;Servername=/tmp/no-server-\(getpid());Port=5999;Database=landesk"
                username: stethoscope
                password: "${EPM_TEST_PASSWORD}"
                login_timeout_s: 5
            """
        let file = dir.appendingPathComponent("config.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        setenv("EPM_TEST_PASSWORD", "never-printed-pw", 1)
        let db = dir.appendingPathComponent("s.db")
        #expect(await Commands.run(configFile: file, asOf: "2026-11-01", database: db, metricsFile: nil) == .partial)
        let store = try SnapshotStore(path: db)
        let failure: String? = try store.database.rows("SELECT failure FROM run_sources WHERE as_of = '2026-11-01' AND source = 'epm'").first?[0] ?? nil
        #expect(failure?.hasPrefix("epm: cannot connect: [08001]") == true)
        #expect(failure?.contains("no-server") == true)
        #expect(failure?.contains("never-printed-pw") == false)
        #expect(try store.database.count("SELECT count(*) FROM devices WHERE as_of = '2026-11-01'") > 0)
    }
}
