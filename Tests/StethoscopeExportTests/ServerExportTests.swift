import Foundation
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeStore
import Testing

@testable import StethoscopeExport

/// Exports against a real OpenSearch-compatible server (osmem-server), one server per test.
@Suite struct ServerExportTests {
    let asOf = "2026-12-01"

    @Test func everyDeviceBecomesOneDocumentWithOwnerChainAndPractices() async throws {
        let server = try OpenSearchServer()
        let temp = try TempStore()
        try temp.night(asOf, devices: 120)
        let exporter = NightExporter(config: testConfig(server.url, gzip: true))
        try await exporter.installTemplate()
        let record = try await exporter.export(asOf: asOf, store: temp.store)

        #expect(record.status == .complete)
        #expect(record.documents == 120 && record.ok == 120 && record.failed == 0 && record.sent == 120)
        #expect(record.resumeAfter == (try temp.deviceID(asOf, nth: 120)))
        #expect(try await server.count() == 120)
        #expect(try await server.count("stethoscope-2026.12") == 120)

        // Device 3: owner dev@ (managers lead, vp, ceo), encryption warn (odd), firewall unknown.
        let fetched = try await server.document("stethoscope-2026.12", "2026-12-01:serial:SER00003")
        let doc = try #require(fetched._source)
        #expect(doc.as_of == asOf && doc.device_key == "serial:SER00003")
        #expect(doc.owner == "dev@example.com" && doc.organization == "Engineering")
        #expect(doc.managers == ["lead@example.com", "vp@example.com", "ceo@example.com"])
        #expect(doc.sources == ["fleet", "jamf"])
        #expect(doc.last_sync == "2026-12-01T05:00:00Z")
        #expect(
            doc.practices == [
                .init(key: "encryption", status: "warn", rating: "critical", value: "FileVault off", observed_at: "2026-12-01T04:00:00Z"),
                .init(key: "firewall", status: "unknown", rating: "medium", value: nil, observed_at: nil)
            ])
        // Device 4 has no owner: no owner fields at all.
        let ownerless = try #require(try await server.document("stethoscope-2026.12", "2026-12-01:serial:SER00004")._source)
        #expect(ownerless.owner == nil && ownerless.managers == nil)
        // Device 7 is stale.
        #expect(try await server.document("stethoscope-2026.12", "2026-12-01:serial:SER00007")._source?.stale == true)
    }

    @Test func exportingANightAgainOverwritesInsteadOfDuplicating() async throws {
        let server = try OpenSearchServer()
        let temp = try TempStore()
        try temp.night(asOf, devices: 60)
        try temp.night("2026-11-30", devices: 40)
        // One connection: chunks are acknowledged one by one, in order.
        let exporter = NightExporter(config: testConfig(server.url, maxConnections: 1))
        try await exporter.installTemplate()
        // Progress (a terminal's live line): acknowledged documents of the night's 60, chunk by chunk of 25.
        var steps: [[Int]] = []
        try await exporter.export(asOf: asOf, store: temp.store) { steps.append([$0, $1]) }
        #expect(steps == [[0, 60], [25, 60], [50, 60], [60, 60]])
        #expect(try await server.document("stethoscope-2026.12", "2026-12-01:serial:SER00010")._version == 1)
        let again = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(again.status == .complete && again.ok == 60 && again.attempts == 2)
        #expect(try await server.count("stethoscope-2026.12") == 60)
        #expect(try await server.document("stethoscope-2026.12", "2026-12-01:serial:SER00010")._version == 2)
        // Another night goes to its own month's index, next to it.
        #expect(try exporter.pendingNights(since: "2026-11-01", store: temp.store) == ["2026-11-30"])
        try await exporter.export(asOf: "2026-11-30", store: temp.store)
        #expect(try await server.count("stethoscope-2026.11") == 40)
        #expect(try await server.count() == 100)
        #expect(try exporter.pendingNights(since: "2026-11-01", store: temp.store).isEmpty)
    }

    /// The `_id`s of the night `asOf` in `index`, after a refresh.
    func ids(_ server: OpenSearchServer, _ index: String, asOf: String) async throws -> Set<String> {
        _ = try await server.call("POST", "/\(index)/_refresh")
        let (status, body) = try await server.call(
            "POST", "/\(index)/_search",
            json: """
                {"size": 10000, "_source": false, "query": {"term": {"as_of": "\(asOf)"}}}
                """)
        guard status == 200 else { throw ServerError(description: "search: HTTP \(status) \(body)") }
        struct Hits: Decodable {
            struct H: Decodable {
                struct One: Decodable { var _id: String }
                var hits: [One]
            }
            var hits: H
        }
        return Set(try JSONDecoder().decode(Hits.self, from: Data(body.utf8)).hits.hits.map(\._id))
    }

    func expectedIDs(_ asOf: String, _ devices: Int) -> Set<String> {
        Set((0..<devices).map { asOf + ":serial:" + String(format: "SER%05d", $0) })
    }

    @Test func reExportingAReRunNightRemovesTheDevicesItNoLongerHas() async throws {
        let server = try OpenSearchServer()
        let temp = try TempStore()
        try temp.night(asOf, devices: 60)
        try temp.night("2026-12-02", devices: 30)  // another night in the same monthly index stays as it is
        let exporter = NightExporter(config: testConfig(server.url))
        try await exporter.installTemplate()
        try await exporter.export(asOf: asOf, store: temp.store)
        try await exporter.export(asOf: "2026-12-02", store: temp.store)
        #expect(try await ids(server, "stethoscope-2026.12", asOf: asOf) == expectedIDs(asOf, 60))

        // The night is re-run with fewer devices (a source recovered its duplicates, or a source was dropped).
        try temp.night(asOf, devices: 25)
        let again = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(again.status == .complete && again.ok == 25 && again.removed == 35)
        #expect(try await ids(server, "stethoscope-2026.12", asOf: asOf) == expectedIDs(asOf, 25))
        #expect(try await ids(server, "stethoscope-2026.12", asOf: "2026-12-02") == expectedIDs("2026-12-02", 30))
        #expect(try await server.count("stethoscope-2026.12") == 55)
        #expect(try await server.document("stethoscope-2026.12", "2026-12-01:serial:SER00040").found == false)

        // Exporting the same snapshot again removes nothing and keeps every document.
        let same = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(same.status == .complete && same.removed == 0)
        #expect(try await ids(server, "stethoscope-2026.12", asOf: asOf) == expectedIDs(asOf, 25))
    }

    @Test func anExportStoppedBeforeGenerationsExistedStartsOverInsteadOfResuming() async throws {
        let server = try OpenSearchServer()
        let temp = try TempStore()
        try temp.night(asOf, devices: 30)
        let exporter = NightExporter(config: testConfig(server.url))
        try await exporter.installTemplate()
        // A failed export row of the version before: 10 devices acknowledged, no generation.
        let ledger = ExportLedger(database: temp.store.database)
        try ledger.write(
            ExportRecord(
                asOf: asOf, index: "stethoscope-2026.12", status: .failed, documents: 30, sent: 10, ok: 10,
                failed: 0, resumeAfter: try temp.deviceID(asOf, nth: 10), attempts: 1, itemErrors: [],
                failure: "connection refused"), startedAt: Date(), finished: true)
        let record = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(record.status == .complete && record.ok == 30 && record.sent == 30 && record.generation != nil)
        #expect(try await ids(server, "stethoscope-2026.12", asOf: asOf) == expectedIDs(asOf, 30))
    }

    @Test func installingTheTemplateUpgradesIndicesMadeByTheFirstTemplate() async throws {
        let server = try OpenSearchServer()
        let temp = try TempStore()
        try temp.night(asOf, devices: 10)
        // An index made under version 1 of the template (strict, no generation field) before the upgrade.
        let old = templateVersion1()
        #expect(old != IndexTemplate.json)
        #expect(try await server.call("PUT", "/_index_template/stethoscope", json: old).status == 200)
        #expect(try await server.call("PUT", "/stethoscope-2026.12/_doc/x1", json: #"{"as_of": "2026-11-01"}"#).status < 300)
        let exporter = NightExporter(config: testConfig(server.url))
        #expect(try await server.call("PUT", "/stethoscope-2026.12/_doc/x2", json: #"{"as_of": "2026-11-01", "generation": "g"}"#).status == 400)
        try await exporter.installTemplate()
        let record = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(record.status == .complete && record.ok == 10)
        #expect(try await ids(server, "stethoscope-2026.12", asOf: asOf) == expectedIDs(asOf, 10))
    }

    @Test func templateIsAppliedAndItsStrictMappingRejectsAStrayField() async throws {
        let server = try OpenSearchServer()
        let exporter = NightExporter(config: testConfig(server.url))
        try await exporter.installTemplate()
        let template = try await server.call("GET", "/_index_template/stethoscope")
        #expect(template.status == 200 && template.body.contains("stethoscope-*"))

        let good = try await server.call("PUT", "/stethoscope-2026.12/_doc/x1", json: #"{"as_of": "2026-12-01", "device_key": "serial:A", "stale": false}"#)
        #expect(good.status == 201 || good.status == 200)
        let stray = try await server.call("PUT", "/stethoscope-2026.12/_doc/x2", json: #"{"as_of": "2026-12-01", "colour": "red"}"#)
        #expect(stray.status == 400)
        #expect(stray.body.contains("strict_dynamic_mapping_exception"))
        let strayPractice = try await server.call(
            "PUT", "/stethoscope-2026.12/_doc/x3",
            json: #"{"as_of": "2026-12-01", "practices": [{"key": "firewall", "shade": 1}]}"#)
        #expect(strayPractice.status == 400)
        let mapping = try await server.call("GET", "/stethoscope-2026.12/_mapping")
        #expect(mapping.body.contains(#""device_key":{"type":"keyword"}"#))
        #expect(mapping.body.contains(#""practices":{"#) && mapping.body.contains(#""type":"nested""#))
    }

    @Test func aMappingErrorIsRecordedAsPermanentAndTheRestIsIndexed() async throws {
        let server = try OpenSearchServer()
        let temp = try TempStore()
        try temp.night(asOf, devices: 50)
        // A last_sync the date mapping cannot parse: the server rejects that one document with a 400.
        let bad = try temp.deviceID(asOf, nth: 17)
        try temp.store.database.exec("UPDATE devices SET last_sync = 'last tuesday' WHERE device_id = \(bad)")
        let exporter = NightExporter(config: testConfig(server.url))
        try await exporter.installTemplate()
        let record = try await exporter.export(asOf: asOf, store: temp.store)

        #expect(record.status == .partial)
        #expect(record.ok == 49 && record.failed == 1)
        #expect(record.resumeAfter == (try temp.deviceID(asOf, nth: 50)))  // permanent: nothing left to resume
        #expect(record.itemErrors.count == 1)
        #expect(record.itemErrors.first?.hasPrefix("2026-12-01:serial:SER00016: mapper_parsing_exception") == true)
        #expect(try await server.count() == 49)
        // The row in SQLite says the same.
        let stored = try #require(try exporter.record(asOf: asOf, store: temp.store))
        #expect(stored == record)
        // A partial night is not retried by --since (it needs a mapping fix, not another attempt).
        #expect(try exporter.pendingNights(since: asOf, store: temp.store).isEmpty)
    }
}

@Suite struct CheckTemplateTests {
    @Test func checkSaysWhetherTheTemplateIsInstalled() async throws {
        let server = try OpenSearchServer()
        let exporter = NightExporter(config: testConfig(server.url))
        await #expect(throws: ExportStop.self) { try await exporter.checkTemplate() }
        do { _ = try await exporter.checkTemplate() } catch { #expect("\(error)".contains("--install-template")) }
        try await exporter.installTemplate()
        let ok = try await exporter.checkTemplate()
        #expect(ok.contains("stethoscope-*"))
        // A template from before the generation field: check says to install it again.
        let old = templateVersion1()
        #expect(try await server.call("PUT", "/_index_template/stethoscope", json: old).status == 200)
        do {
            _ = try await exporter.checkTemplate()
            Issue.record("an outdated template passed the check")
        } catch {
            #expect("\(error)".contains("outdated") && "\(error)".contains("--install-template"))
        }
    }
}
