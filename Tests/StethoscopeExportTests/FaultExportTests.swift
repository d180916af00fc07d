import Foundation
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeStore
import Testing

@testable import StethoscopeExport

/// Exports through Tests/fakes/es_fault_proxy.py in front of osmem-server: whatever the faults, every
/// document ends up in the index exactly once, or the export stops with a clear reason and resumes later.
@Suite struct FaultExportTests {
    let asOf = "2026-12-01"

    @Test func afterItem429sThrottlingSlowAnswersAndDroppedConnectionsEveryDocumentIsThereOnce() async throws {
        let server = try OpenSearchServer()
        let proxy = try FaultProxy(upstream: server.url)
        let temp = try TempStore()
        try temp.night(asOf, devices: 300)
        try await NightExporter(config: testConfig(server.url)).installTemplate()
        try await proxy.fault(
            """
            [{"mode": "item_429", "every": 3, "count": 3}, {"mode": "item_503", "every": 5, "count": 1},
             {"mode": "429", "count": 2}, {"mode": "503", "count": 1}, {"mode": "slow", "delay_s": 1.0, "count": 1},
             {"mode": "drop", "count": 1}, {"mode": "drop_after", "count": 2}]
            """)
        let record = try await NightExporter(config: testConfig(proxy.url, chunkDocuments: 20, maxConnections: 3))
            .export(asOf: asOf, store: temp.store)

        #expect(record.status == .complete, "\(record.failure ?? "")")
        #expect(record.ok == 300 && record.failed == 0)
        #expect(try await server.count() == 300)
        let stats = try await proxy.stats()
        for mode in ["item_429", "item_503", "429", "503", "slow", "drop", "drop_after"] {
            #expect(stats.faults_applied[mode] != nil, "fault \(mode) was never applied")
        }
        // Resent items and retried requests went through again; no document went missing or twice.
        #expect(stats.bulk_items > 300)
        #expect(stats.max_in_flight >= 2)
        let doc = try await server.document("stethoscope-2026.12", "2026-12-01:serial:SER00000")
        #expect(doc.found)
    }

    @Test func a413HalvesTheChunkUntilItFits() async throws {
        let server = try OpenSearchServer()
        let proxy = try FaultProxy(upstream: server.url)
        let temp = try TempStore()
        try temp.night(asOf, devices: 160)
        try await NightExporter(config: testConfig(server.url)).installTemplate()
        // Bodies above 20 kB are refused (about 25 documents); chunks of 80 documents must be split.
        try await proxy.fault(#"[{"mode": "413", "max_bytes": 20000, "count": 1000}]"#)
        let record = try await NightExporter(config: testConfig(proxy.url, chunkDocuments: 80, maxConnections: 2, gzip: true))
            .export(asOf: asOf, store: temp.store)

        #expect(record.status == .complete, "\(record.failure ?? "")")
        #expect(try await server.count() == 160)
        let stats = try await proxy.stats()
        #expect((stats.faults_applied["413"] ?? 0) >= 2)
        #expect(stats.bulk_items == 160)  // every accepted request was small enough; nothing sent twice
    }

    @Test func a401StopsTheExportWithoutTheSecretAndTheNextAttemptResumes() async throws {
        let server = try OpenSearchServer()
        let proxy = try FaultProxy(upstream: server.url)
        let temp = try TempStore()
        try temp.night(asOf, devices: 100)
        try await NightExporter(config: testConfig(server.url)).installTemplate()
        // Three chunks of 10 go through, then the credentials are refused.
        try await proxy.fault(#"[{"mode": "401", "skip": 3, "count": 1}]"#)
        let config = testConfig(proxy.url, chunkDocuments: 10, maxConnections: 1, authorization: "ApiKey c2VrcmV0LWtleQ==")
        let exporter = NightExporter(config: config)
        let first = try await exporter.export(asOf: asOf, store: temp.store)

        #expect(first.status == .failed)
        let failure = try #require(first.failure)
        #expect(failure.contains("HTTP 401") && failure.contains("credentials"))
        #expect(!failure.contains("c2VrcmV0LWtleQ"))
        let thirtieth = try temp.deviceID(asOf, nth: 30)
        #expect(first.ok == 30 && first.resumeAfter == thirtieth)
        #expect(try exporter.pendingNights(since: asOf, store: temp.store) == [asOf])

        let second = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(second.status == .complete && second.ok == 100 && second.attempts == 2)
        #expect(try await server.count() == 100)
        // The resumed export sent only what was not acknowledged: 30 + 70 documents reached the server.
        #expect(try await proxy.stats().bulk_items == 100)
    }

    @Test func itemsStillThrottledAfterTheLastAttemptFailTheExportAtTheChunkBefore() async throws {
        let server = try OpenSearchServer()
        let proxy = try FaultProxy(upstream: server.url)
        let temp = try TempStore()
        try temp.night(asOf, devices: 40)
        try await NightExporter(config: testConfig(server.url)).installTemplate()
        try await proxy.fault(#"[{"mode": "item_429", "every": 1, "skip": 1, "count": 100}]"#)
        let record = try await NightExporter(config: testConfig(proxy.url, chunkDocuments: 20, maxConnections: 1, maxAttempts: 3))
            .export(asOf: asOf, store: temp.store)
        #expect(record.status == .failed)
        #expect(record.failure?.contains("after 3 attempts") == true)
        let twentieth = try temp.deviceID(asOf, nth: 20)
        #expect(record.ok == 20 && record.resumeAfter == twentieth)
        #expect(try await server.count() == 20)
    }

    @Test func anUnreachableClusterFailsTheExportAndLeavesTheSnapshotAlone() async throws {
        let temp = try TempStore()
        try temp.night(asOf, devices: 10)
        let before = try temp.store.database.int("SELECT COUNT(*) FROM devices")
        var config = testConfig("http://127.0.0.1:9", maxAttempts: 2)
        config.timeouts = HTTPTimeouts(connect: 1, total: 2)
        let record = try await NightExporter(config: config).export(asOf: asOf, store: temp.store)
        #expect(record.status == .failed && record.ok == 0 && record.resumeAfter == 0)
        #expect(try temp.store.database.int("SELECT COUNT(*) FROM devices") == before)
        await #expect(throws: NightExporter.NoSuchNight.self) {
            try await NightExporter(config: config).export(asOf: "2026-11-02", store: temp.store)
        }
    }

    /// Another process commits to the database while the export is part-way (an analyst's write, a tool that
    /// does not take the lock): the export's progress writes wait their turn instead of failing with SQLite
    /// error 517 (SQLITE_BUSY_SNAPSHOT), and every document arrives.
    @Test func aConcurrentCommitMidExportDoesNotFailIt() async throws {
        let server = try OpenSearchServer()
        let proxy = try FaultProxy(upstream: server.url)
        let temp = try TempStore()
        try temp.night(asOf, devices: 120)
        try await NightExporter(config: testConfig(server.url)).installTemplate()
        let db = temp.dir.appendingPathComponent("test.db").path
        let sql = "CREATE TABLE IF NOT EXISTS concurrent_writer (x); INSERT INTO concurrent_writer VALUES (1);"
        let fault = "[{\"mode\": \"commit_sql\", \"db\": \"\(db)\", \"sql\": \"\(sql)\", \"count\": 2}]"
        try await proxy.fault(fault)
        let record = try await NightExporter(config: testConfig(proxy.url, chunkDocuments: 20, maxConnections: 1))
            .export(asOf: asOf, store: temp.store)
        #expect(try await proxy.stats().faults_applied["commit_sql"] == 2)
        #expect(record.status == .complete, "\(record.failure ?? "")")
        #expect(record.ok == 120 && record.failed == 0)
        #expect(try await server.count() == 120)
        #expect(try temp.store.database.int("SELECT COUNT(*) FROM concurrent_writer") == 2)
    }
}
