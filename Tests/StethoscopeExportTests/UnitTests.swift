import Foundation
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeExport

@Suite struct JSONWriterTests {
    @Test func stringsAreEscapedSoAnyTextRoundTrips() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t cr \r nul \u{0} bell \u{7} unit \u{1F} é 日本 🙂 /"
        var w = JSONWriter()
        w.beginObject()
        w.field("a", nasty)
        w.field("n", 12345)
        w.field("b", false)
        w.key("list")
        w.beginArray()
        w.comma()
        w.string("x")
        w.comma()
        w.string("y")
        w.endArray()
        w.endObject()
        struct Back: Decodable {
            var a: String
            var n: Int
            var b: Bool
            var list: [String]
        }
        let back = try JSONDecoder().decode(Back.self, from: Data(w.bytes))
        #expect(back.a == nasty && back.n == 12345 && back.b == false && back.list == ["x", "y"])
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(text.contains(#"\u0000"#) && text.contains(#"\u001f"#) && !text.contains("\n"))
    }

    @Test func absentFieldsAreLeftOut() {
        var w = JSONWriter()
        w.beginObject()
        w.field("a", nil as String?)
        w.field("b", "x")
        w.field("c", nil as String?)
        w.endObject()
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"b":"x"}"#)
    }
}

@Suite struct IndexPatternTests {
    @Test func namesComeFromTheAsOfDate() throws {
        #expect(IndexPattern.default.name(asOf: "2026-12-01") == "stethoscope-2026.12")
        #expect(try IndexPattern("devices-{yyyy.MM.dd}").name(asOf: "2026-02-09") == "devices-2026.02.09")
        #expect(try IndexPattern("st-{yyyy}-{MM}").name(asOf: "2026-02-09") == "st-2026-02")
        #expect(try IndexPattern("st-{yyyy}-{MM}").wildcard == "st-*-*")
        #expect(IndexPattern.default.wildcard == "stethoscope-*")
    }

    @Test func invalidPatternsAreRefused() {
        #expect(throws: IndexPattern.Invalid.self) { try IndexPattern("Stethoscope-{yyyy}") }
        #expect(throws: IndexPattern.Invalid.self) { try IndexPattern("st-{week}") }
        #expect(throws: IndexPattern.Invalid.self) { try IndexPattern("st {yyyy}") }
        #expect(throws: IndexPattern.Invalid.self) { try IndexPattern("st-{yyyy") }
    }
}

@Suite struct ExportConfigTests {
    func parse(_ yaml: String, env: [String: String] = [:]) throws -> ElasticsearchConfig? {
        try ElasticsearchConfig.from(exportSection: StethoscopeConfig.parse(yaml: yaml, environment: env).export)
    }

    @Test func defaultsAndAuthHeaders() throws {
        let plain = try #require(try parse("export: {elasticsearch: {url: 'http://es:9200/'}}"))
        #expect(plain.url == "http://es:9200" && plain.index == .default && plain.authorization == nil)
        #expect(plain.chunkBytes == 5_000_000 && plain.maxConnections == 4 && !plain.gzip)

        let basic = try #require(
            try parse(
                "export: {elasticsearch: {url: 'https://es', username: elastic, password: '${ES_PW}'}}",
                env: ["ES_PW": "pw"]))
        #expect(basic.authorization?.reveal() == "Basic " + Data("elastic:pw".utf8).base64EncodedString())
        let key = try #require(
            try parse(
                "export: {elasticsearch: {url: 'https://es', api_key: '${K}', gzip: true, ca_file: /etc/ca.pem}}",
                env: ["K": "abc=="]))
        #expect(key.authorization?.reveal() == "ApiKey abc==" && key.gzip && key.tls.caFile == "/etc/ca.pem")
        #expect(try parse("timezone: UTC") == nil)
    }

    @Test func mistakesNameTheKeyPath() {
        func message(_ yaml: String) -> String {
            do {
                _ = try parse(yaml, env: ["K": "k"])
                return ""
            } catch { return "\(error)" }
        }
        #expect(message("export: {elasticsearch: {url: 'http://es', chunk_byts: 5}}").contains("export.elasticsearch.chunk_byts"))
        #expect(
            message("export: {elasticsearch: {url: 'http://es', api_key: '${K}', username: u, password: p}}")
                .contains("export.elasticsearch.api_key"))
        #expect(message("export: {elasticsearch: {url: 'http://es', username: u}}").contains("export.elasticsearch.password"))
        #expect(message("export: {elasticsearch: {url: 'http://es', index: 'A-{yyyy}'}}").contains("export.elasticsearch.index"))
        #expect(message("export: {elasticsearch: {url: 'es:9200'}}").contains("export.elasticsearch.url"))
        #expect(message("export: {elasticsearch: {url: 'http://es'}, kafka: {}}").contains("export.kafka"))
    }
}

@Suite struct TemplateAndDocumentTests {
    @Test func theEmbeddedTemplateIsTheFileInSchemas() throws {
        let file = try String(contentsOf: TestPaths.repo.appendingPathComponent("Schemas/elasticsearch/stethoscope.template.json"), encoding: .utf8)
        #expect(IndexTemplate.json == file.trimmingCharacters(in: .newlines), "update IndexTemplate.swift from the schema file")
        let body = IndexTemplate.body(for: try IndexPattern("devices-{yyyy}"))
        #expect(body.contains(#""index_patterns": ["devices-*"]"#))
        // The template is valid JSON with a strict mapping.
        struct Template: Decodable {
            struct T: Decodable {
                struct M: Decodable { var dynamic: String }
                var mappings: M
            }
            var template: T
        }
        #expect(try JSONDecoder().decode(Template.self, from: Data(body.utf8)).template.mappings.dynamic == "strict")
    }

    @Test func documentsStreamInDeviceOrderWithTheirOwnPracticesAndResumeAfterAnID() throws {
        let temp = try TempStore()
        try temp.night("2026-12-01", devices: 30)
        try temp.night("2026-11-30", devices: 5)  // another night's rows must not leak in
        let after = try temp.deviceID("2026-12-01", nth: 10)
        let reader = try NightDocuments(database: temp.store.database, asOf: "2026-12-01", index: "ix", generation: "g1", after: after)
        var writer = JSONWriter()
        var ids: [Int] = []
        while let id = try reader.next(into: &writer) { ids.append(id) }
        #expect(ids.count == 20 && ids == ids.sorted() && ids.first! > after)
        let lines = String(decoding: writer.bytes, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 40)
        struct Action: Decodable {
            struct I: Decodable {
                var _index: String
                var _id: String
            }
            var index: I
        }
        struct Doc: Decodable {
            var device_key: String
            var model: String
            var practices: [[String: String]]
        }
        for pair in stride(from: 0, to: lines.count, by: 2) {
            let action = try JSONDecoder().decode(Action.self, from: Data(lines[pair].utf8))
            let doc = try JSONDecoder().decode(Doc.self, from: Data(lines[pair + 1].utf8))
            #expect(action.index._index == "ix" && action.index._id == "2026-12-01:" + doc.device_key)
            #expect(doc.model == "Mac\\Book \"Pro\"\t")
            #expect(doc.practices.map { $0["key"] } == ["encryption", "firewall"])
            #expect(doc.practices[0]["details"] == "line one\nline two")
        }
    }
}
