import Foundation
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeApp

/// Issue 13: a bitFit that refuses the run (wrong token: 401 on every call) must not leave a `complete` night
/// whose devices silently lost the owners bitFit gave them.
@Suite struct FailedAttributionTests {
    @Test func aFailedBitFitMakesThePartialNight() async throws {
        let bitfit = try FakeServer("fake_bitfit.py", ["--fixture", Cloud.fixture("bitfit", "bitfit.json")])
        let dir = try Cloud.temporaryDirectory()
        let file = dir.appendingPathComponent("config.yaml")
        try """
        directory: {type: demo, people: 60}
        sources:
          - {name: jamf, type: demo, feed: jamf, people: 60}
        attribution:
          - {name: bitfit, type: bitfit, url: "\(bitfit.url)", api_token: WRONG-t0ken-x, retries: 0}
        """.write(to: file, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("s.db")
        let metrics = dir.appendingPathComponent("m.prom")
        #expect(await Commands.run(configFile: file, asOf: "2026-03-02", database: db, metricsFile: metrics) == .partial)
        let d = try SnapshotStore(path: db).database
        let st = try d.prepare("SELECT r.status, s.status, s.failure FROM runs r JOIN run_sources s USING (as_of) WHERE s.source = 'bitfit'")
        #expect(try st.step())
        #expect(st.string(0) == "partial")
        #expect(st.string(1) == "failed")
        #expect(st.string(2)?.contains("401") == true)
        #expect(st.string(2)?.contains("WRONG-t0ken-x") == false)
        let prom = try String(contentsOf: metrics, encoding: .utf8)
        #expect(prom.contains("stethoscope_source_failed{source=\"bitfit\",kind=\"attribution\"} 1"))
    }
}
