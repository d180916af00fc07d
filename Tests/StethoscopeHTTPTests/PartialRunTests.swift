import Foundation
import Logging
import StethoscopeApp
import StethoscopeStore
import Testing

/// A real source that finally fails (500 on every retry) makes the night partial; the other real source's
/// devices are all written, and the failure and retry counts are stored with the run.
@Suite struct PartialRunTests {
    @Test func aSourceThatFinallyFailsMakesThePartialNight() async throws {
        let jamf = try FakeServer("fake_jamf.py", ["--fixture", FakeServer.repo.appendingPathComponent(JamfSourceTests.fixture).path])
        let fleet = try FakeServer(
            "fake_fleet.py",
            [
                "--fixture", FakeServer.repo.appendingPathComponent("Sources/StethoscopeSources/Plugins/fleet/fixtures/hosts.json").path,
                "--token", FleetSourceTests.token
            ])
        try await fleet.fault([["mode": "500", "path": "/api/v1/fleet/hosts", "count": 50]])
        let dir = try temporaryDirectory()
        let config = dir.appendingPathComponent("c.yaml")
        try """
        database: \(dir.path)/s.db
        sources:
          - {name: jamf, type: jamf, url: "\(jamf.url)", username: batch, password: "${JAMF_PASSWORD}", page_size: 2, retry_base_s: 0.01}
          - {name: fleet, type: fleet, url: "\(fleet.url)", token: "${FLEET_TOKEN}", retries: 3, retry_base_s: 0.01}
        """.write(to: config, atomically: true, encoding: .utf8)
        setenv("JAMF_PASSWORD", "hunter2-password", 1)
        setenv("FLEET_TOKEN", FleetSourceTests.token, 1)

        let code = await Commands.run(configFile: config, asOf: "2026-03-02", database: nil, metricsFile: nil)
        #expect(code == .partial)
        let db = try SnapshotStore(path: dir.appendingPathComponent("s.db")).database
        let st = try db.prepare("SELECT status FROM runs WHERE as_of = '2026-03-02'")
        #expect(try st.step() && st.string(0) == "partial")
        #expect(try db.int("SELECT count(*) FROM devices WHERE sources LIKE '%jamf%'") == 5)
        let src = try db.prepare("SELECT status, retries, failure FROM run_sources WHERE as_of = '2026-03-02' AND source = 'fleet'")
        #expect(try src.step())
        #expect(src.string(0) == "failed")
        #expect(src.int(1) >= 2)
        #expect(src.string(2)?.contains("500") == true)
        #expect(src.string(2)?.contains(FleetSourceTests.token) == false)
    }
}
