import Foundation
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeStore
import Testing

@testable import StethoscopeExport

/// The template as version 2 had it (before the flat `status` fields), to stand for an installed older template.
func templateVersion2() -> String {
    let old = IndexTemplate.json
        .replacingOccurrences(of: #""version": 3}"#, with: #""version": 2}"#)
        .replacingOccurrences(
            of: """
                      "dynamic_templates": [
                        {"status_keywords": {"path_match": "status.*", "mapping": {"type": "keyword"}}}
                      ],

                """, with: ""
        )
        .replacingOccurrences(of: "        \"status\": {\"type\": \"object\", \"dynamic\": true},\n", with: "")
    precondition(!old.contains("status_keywords") && !old.contains(#""status": {"type": "object""#) && old.contains(#""version": 2}"#))
    return old
}

/// The first template (version 1): neither `generation` nor the flat fields.
func templateVersion1() -> String {
    let old = templateVersion2().replacingOccurrences(of: "        \"generation\": {\"type\": \"keyword\"},\n", with: "")
        .replacingOccurrences(of: #""version": 2}"#, with: #""version": 1}"#)
    precondition(!old.contains("generation") && old.contains(#""version": 1}"#))
    return old
}

/// Kibana's Lens aggregates only non-nested keyword fields: each document repeats its practices' statuses as
/// `status.<practice>`; index settings come from the config; no export goes into an index no template covers.
@Suite struct KibanaDocumentTests {
    @Test func everyDocumentCarriesItsPracticeStatusesAsFlatFields() throws {
        let temp = try TempStore()
        try temp.night("2026-12-01", devices: 6)
        let reader = try NightDocuments(database: temp.store.database, asOf: "2026-12-01", index: "ix", generation: "g", after: 0)
        var writer = JSONWriter()
        while try reader.next(into: &writer) != nil {}
        let lines = String(decoding: writer.bytes, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 12)
        struct Doc: Decodable {
            var device_key: String
            var practices: [[String: String]]
            var status: [String: String]
        }
        for (n, line) in stride(from: 1, to: lines.count, by: 2).map({ lines[$0] }).enumerated() {
            let doc = try JSONDecoder().decode(Doc.self, from: Data(line.utf8))
            #expect(doc.status == ["encryption": n % 2 == 0 ? "ok" : "warn", "firewall": "unknown"], "\(doc.device_key)")
            // The nested practices stay, and say the same.
            #expect(Dictionary(uniqueKeysWithValues: doc.practices.map { ($0["key"]!, $0["status"]!) }) == doc.status)
        }
    }

    @Test func aPracticeKeyIsEscapedAsAFieldName() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key(escaping: #"odd "key"\"#)
        writer.string("ok")
        writer.key(escaping: "b")
        writer.string("na")
        writer.endObject()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"odd \"key\"\\":"ok","b":"na"}"#)
    }

    @Test func theTemplateIsVersion3WithAKeywordMappingForTheFlatFields() throws {
        struct Template: Decodable {
            struct Meta: Decodable { var version: Int }
            struct T: Decodable {
                struct M: Decodable {
                    var dynamic: String
                    var dynamic_templates: [[String: DynamicTemplate]]
                    var properties: [String: Property]
                }
                var mappings: M
            }
            struct DynamicTemplate: Decodable {
                var path_match: String
                var mapping: [String: String]
            }
            struct Property: Decodable { var type: String? }
            var _meta: Meta
            var template: T
        }
        let template = try JSONDecoder().decode(Template.self, from: Data(IndexTemplate.json.utf8))
        #expect(template._meta.version == IndexTemplate.version && IndexTemplate.version == 3)
        #expect(template.template.mappings.dynamic == "strict")
        #expect(template.template.mappings.properties["status"]?.type == "object")
        let flat = try #require(template.template.mappings.dynamic_templates.first?["status_keywords"])
        #expect(flat.path_match == "status.*" && flat.mapping == ["type": "keyword"])
        // Indices made by an older template get the same through `PUT _mapping` on --install-template.
        #expect(NightExporter.addedFields.contains(#""status": {"type": "object", "dynamic": true}"#))
        #expect(NightExporter.addedFields.contains(#""path_match": "status.*""#))
    }

    func parse(_ yaml: String) throws -> ElasticsearchConfig? {
        try ElasticsearchConfig.from(exportSection: StethoscopeConfig.parse(yaml: yaml, environment: [:]).export)
    }

    func message(_ yaml: String) -> String {
        do {
            _ = try parse(yaml)
            return ""
        } catch { return "\(error)" }
    }

    @Test func indexSettingsAreConfigKeysAndGoIntoTheTemplate() throws {
        let plain = try #require(try parse("export: {elasticsearch: {url: 'http://es'}}"))
        #expect(plain.settings == ElasticsearchConfig.IndexSettings(shards: 1, replicas: 1, refreshInterval: "30s"))
        let tuned = try #require(
            try parse(
                """
                export: {elasticsearch: {url: 'http://es', index: 'fleet-{yyyy}', number_of_shards: 3, number_of_replicas: 0, refresh_interval: -1}}
                """))
        #expect(tuned.settings == ElasticsearchConfig.IndexSettings(shards: 3, replicas: 0, refreshInterval: "-1"))
        struct Body: Decodable {
            var index_patterns: [String]
            struct T: Decodable { var settings: [String: Setting] }
            var template: T
            enum Setting: Decodable, Equatable {
                case int(Int)
                case string(String)
                init(from decoder: any Decoder) throws {
                    let c = try decoder.singleValueContainer()
                    if let i = try? c.decode(Int.self) { self = .int(i) } else { self = .string(try c.decode(String.self)) }
                }
            }
        }
        let body = try JSONDecoder().decode(Body.self, from: Data(IndexTemplate.body(for: tuned).utf8))
        #expect(body.index_patterns == ["fleet-*"])
        #expect(body.template.settings == ["number_of_shards": .int(3), "number_of_replicas": .int(0), "refresh_interval": .string("-1")])
        #expect(IndexTemplate.body(for: plain) == IndexTemplate.json)

        #expect(message("export: {elasticsearch: {url: 'http://es', refresh_interval: soon}}").contains("export.elasticsearch.refresh_interval"))
        #expect(message("export: {elasticsearch: {url: 'http://es', refresh_interval: 5x}}").contains("export.elasticsearch.refresh_interval"))
        #expect(message("export: {elasticsearch: {url: 'http://es', number_of_shards: 0}}").contains("export.elasticsearch.number_of_shards"))
        #expect(message("export: {elasticsearch: {url: 'http://es', number_of_replicas: -1}}").contains("export.elasticsearch.number_of_replicas"))
    }

    @Test func indexPatternsMatchLikeElasticsearch() {
        #expect(IndexTemplate.matches("stethoscope-2026.12", "stethoscope-*"))
        #expect(IndexTemplate.matches("stethoscope-2026.12", "*"))
        #expect(IndexTemplate.matches("stethoscope-2026.12", "steth*-*.12"))
        #expect(IndexTemplate.matches("stethoscope-2026.12", "stethoscope-2026.12"))
        #expect(!IndexTemplate.matches("stethoscope-2026.12", "logs-*"))
        #expect(!IndexTemplate.matches("stethoscope-2026.12", "stethoscope-*.11"))
        #expect(!IndexTemplate.matches("stethoscope", "stethoscope-*"))
        #expect(!IndexTemplate.matches("x-stethoscope-1", "stethoscope-*"))
    }
}

/// Against osmem-server (OpenSearch API) and noida-db (Elasticsearch 8 persona), one server per test.
@Suite struct KibanaServerTests {
    let asOf = "2026-12-01"
    let index = "stethoscope-2026.12"

    @Test(arguments: ServerKind.allCases)
    func flatStatusFieldsAreKeywordsThatATermsAggregationByOrganizationCounts(_ kind: ServerKind) async throws {
        let server = try kind.start()
        let temp = try TempStore()
        try temp.night(asOf, devices: 120)
        var config = testConfig(server.url)
        config.settings = .init(shards: 2, replicas: 0, refreshInterval: "5s")
        let exporter = NightExporter(config: config)
        try await exporter.installTemplate()
        #expect(try await exporter.checkTemplate().hasPrefix("ok:"))
        let record = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(record.status == .complete && record.ok == 120)

        // Device 3: encryption warn, firewall unknown, both flat and nested.
        let doc = try #require(try await server.document(index, "2026-12-01:serial:SER00003")._source)
        #expect(doc.status == ["encryption": "warn", "firewall": "unknown"])
        #expect(doc.practices.map(\.status) == ["warn", "unknown"])

        // The flat fields are keywords (aggregatable), the index has the config's settings.
        let mapping = try await server.call("GET", "/\(index)/_mapping")
        let mappings = try #require(try JSONSerialization.jsonObject(with: Data(mapping.body.utf8)) as? [String: Any])
        let properties = ((mappings[index] as? [String: Any])?["mappings"] as? [String: Any])?["properties"] as? [String: Any]
        let status = (properties?["status"] as? [String: Any])?["properties"] as? [String: [String: Any]]
        #expect(status?["encryption"]?["type"] as? String == "keyword" && status?["firewall"]?["type"] as? String == "keyword")
        let settings = try await server.call("GET", "/\(index)/_settings")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(settings.body.utf8)) as? [String: Any])
        let indexSettings = ((parsed[index] as? [String: Any])?["settings"] as? [String: Any])?["index"] as? [String: Any]
        #expect(indexSettings?["number_of_shards"] as? String == "2" && indexSettings?["number_of_replicas"] as? String == "0")
        #expect(indexSettings?["refresh_interval"] as? String == "5s")

        // Lens' "top values of organization, broken down by status.encryption" is this terms aggregation.
        _ = try await server.call("POST", "/\(index)/_refresh")
        let search = try await server.call(
            "POST", "/\(index)/_search",
            json: """
                {"size": 0, "query": {"term": {"as_of": "\(asOf)"}},
                 "aggs": {"organization": {"terms": {"field": "organization"},
                          "aggs": {"encryption": {"terms": {"field": "status.encryption"}}}}}}
                """)
        #expect(search.status == 200, "\(search.body.prefix(300))")
        struct Answer: Decodable {
            struct Aggs: Decodable { var organization: Terms }
            struct Terms: Decodable { var buckets: [Bucket] }
            struct Bucket: Decodable {
                var key: String
                var doc_count: Int
                var encryption: Terms?
            }
            var aggregations: Aggs
        }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(search.body.utf8))
        var got: [String: [String: Int]] = [:]
        for org in answer.aggregations.organization.buckets {
            for status in org.encryption?.buckets ?? [] { got[org.key, default: [:]][status.key] = status.doc_count }
        }
        // The fixture: device i has no owner when i % 5 == 4, else owner i % 4 (0: the CEO in Office, else
        // Engineering); encryption ok for even i, warn for odd.
        var expected: [String: [String: Int]] = [:]
        for i in 0..<120 where i % 5 != 4 {
            expected[i % 4 == 0 ? "Office" : "Engineering", default: [:]][i % 2 == 0 ? "ok" : "warn", default: 0] += 1
        }
        #expect(got == expected)
        #expect(got["Office"]?["warn"] == nil && (got["Engineering"]?["warn"] ?? 0) > 0)

        // The strict mapping still rejects a stray top-level field.
        let stray = try await server.call("PUT", "/\(index)/_doc/x1", json: #"{"as_of": "2026-12-01", "colour": "red"}"#)
        #expect(stray.status == 400)
    }

    @Test(arguments: ServerKind.allCases)
    func exportingIntoAnIndexNoTemplateCoversFailsNamingInstallTemplate(_ kind: ServerKind) async throws {
        let server = try kind.start()
        let temp = try TempStore()
        try temp.night(asOf, devices: 30)
        let exporter = NightExporter(config: testConfig(server.url))
        // A template for other indices does not count.
        #expect(try await server.call("PUT", "/_index_template/other", json: #"{"index_patterns": ["other-*"]}"#).status == 200)
        let record = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(record.status == .failed && record.sent == 0 && record.ok == 0)
        #expect(record.failure?.contains("no index template covers index 'stethoscope-2026.12'") == true)
        #expect(record.failure?.contains("--install-template") == true)
        // Nothing was sent, so no index was built by dynamic mapping.
        #expect(try await server.call("GET", "/\(index)").status == 404)

        // An older template of ours: the new fields would be rejected, so the export stops before sending.
        #expect(try await server.call("PUT", "/_index_template/stethoscope", json: templateVersion2()).status == 200)
        let outdated = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(outdated.status == .failed && outdated.sent == 0)
        #expect(outdated.failure?.contains("outdated (version 2") == true && outdated.failure?.contains("--install-template") == true)
        await #expect(throws: ExportStop.self) { try await exporter.checkTemplate() }

        try await exporter.installTemplate()
        let fine = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(fine.status == .complete && fine.ok == 30)
        #expect(try await server.count(index) == 30)
    }

    @Test(arguments: ServerKind.allCases)
    func installingUpgradesAnIndexOfTheVersion2TemplateForTheFlatFields(_ kind: ServerKind) async throws {
        let server = try kind.start()
        let temp = try TempStore()
        try temp.night(asOf, devices: 10)
        #expect(try await server.call("PUT", "/_index_template/stethoscope", json: templateVersion2()).status == 200)
        #expect(try await server.call("PUT", "/\(index)/_doc/x1", json: #"{"as_of": "2026-11-01", "generation": "g"}"#).status < 300)
        // Strict, and no status object yet.
        #expect(try await server.call("PUT", "/\(index)/_doc/x2", json: #"{"as_of": "2026-11-01", "status": {"a": "ok"}}"#).status == 400)
        let exporter = NightExporter(config: testConfig(server.url))
        try await exporter.installTemplate()
        let record = try await exporter.export(asOf: asOf, store: temp.store)
        #expect(record.status == .complete && record.ok == 10 && record.failed == 0)
        let doc = try #require(try await server.document(index, "2026-12-01:serial:SER00001")._source)
        #expect(doc.status == ["encryption": "warn", "firewall": "unknown"])
    }

    @Test func checkSaysWhenTheTemplatesSettingsDifferFromTheConfig() async throws {
        let server = try OpenSearchServer()
        try await NightExporter(config: testConfig(server.url)).installTemplate()
        var config = testConfig(server.url)
        config.settings.replicas = 0
        do {
            _ = try await NightExporter(config: config).checkTemplate()
            Issue.record("a template with other settings passed")
        } catch {
            #expect("\(error)".contains("number_of_replicas 1, the config says 0") && "\(error)".contains("--install-template"))
        }
        try await NightExporter(config: config).installTemplate()
        #expect(try await NightExporter(config: config).checkTemplate().hasPrefix("ok:"))
    }
}
