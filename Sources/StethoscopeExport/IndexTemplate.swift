import Foundation
import StethoscopeHTTP

/// The index template of `Schemas/elasticsearch/stethoscope.template.json`, compiled in (the binary never
/// reads the repository; a test fails when this copy differs from the file). Explicit mappings under
/// `dynamic: strict`: keywords for ids and statuses, dates for times, no dynamically mapped text. The one
/// open object is `status` (one field per practice key, for Kibana's Lens, which cannot aggregate `nested`):
/// practice keys come from the config, so a dynamic template maps every `status.*` as a keyword.
public enum IndexTemplate {
    /// `_meta.version` of the template below. Raise it with every mapping change (and extend
    /// `NightExporter.addedFields`): the export refuses an index whose template is older, `check` reports it.
    /// 2: `generation`; 3: `status.*` flat per-practice keywords, `number_of_replicas`.
    public static let version = 3

    public static let json: String = #"""
        {
          "index_patterns": ["stethoscope-*"],
          "priority": 100,
          "_meta": {"description": "Stethoscope nightly device snapshots: one document per device per night, _id <as-of>:<device key>", "version": 3},
          "template": {
            "settings": {
              "number_of_shards": 1,
              "number_of_replicas": 1,
              "refresh_interval": "30s"
            },
            "mappings": {
              "dynamic": "strict",
              "dynamic_templates": [
                {"status_keywords": {"path_match": "status.*", "mapping": {"type": "keyword"}}}
              ],
              "properties": {
                "as_of": {"type": "date", "format": "strict_date"},
                "device_key": {"type": "keyword"},
                "device_id": {"type": "long"},
                "generation": {"type": "keyword"},
                "platform": {"type": "keyword"},
                "os_name": {"type": "keyword"},
                "os_version": {"type": "keyword"},
                "model": {"type": "keyword", "ignore_above": 256},
                "device_name": {"type": "keyword", "ignore_above": 256},
                "sources": {"type": "keyword"},
                "last_sync": {"type": "date"},
                "owner": {"type": "keyword"},
                "owner_name": {"type": "keyword", "ignore_above": 256},
                "organization": {"type": "keyword"},
                "managers": {"type": "keyword"},
                "owner_method": {"type": "keyword"},
                "owner_via": {"type": "keyword"},
                "stale": {"type": "boolean"},
                "virtual": {"type": "boolean"},
                "carried_forward": {"type": "boolean"},
                "carried_from": {"type": "date", "format": "strict_date"},
                "green": {"type": "boolean"},
                "critical": {"type": "boolean"},
                "status": {"type": "object", "dynamic": true},
                "practices": {
                  "type": "nested",
                  "dynamic": "strict",
                  "properties": {
                    "key": {"type": "keyword"},
                    "status": {"type": "keyword"},
                    "rating": {"type": "keyword"},
                    "value": {"type": "keyword", "ignore_above": 1024},
                    "details": {"type": "keyword", "ignore_above": 1024},
                    "observed_at": {"type": "date"},
                    "source": {"type": "keyword"}
                  }
                }
              }
            }
          }
        }
        """#

    /// The template body for `pattern`: its `index_patterns` replaced by the pattern's wildcard.
    public static func body(for pattern: IndexPattern) -> String {
        json.replacingOccurrences(
            of: #""index_patterns": ["stethoscope-*"]"#,
            with: #""index_patterns": [""# + pattern.wildcard + #""]"#)
    }

    /// The template body for `config`: its index pattern and its index settings (shards, replicas, refresh interval).
    public static func body(for config: ElasticsearchConfig) -> String {
        body(for: config.index).replacingOccurrences(
            of: #"""
                      "number_of_shards": 1,
                      "number_of_replicas": 1,
                      "refresh_interval": "30s"
                """#,
            with: """
                      "number_of_shards": \(config.settings.shards),
                      "number_of_replicas": \(config.settings.replicas),
                      "refresh_interval": "\(config.settings.refreshInterval)"
                """)
    }
}

extension NightExporter {
    /// Installs or updates the index template (`PUT _index_template/<template_name>`); throws `ExportStop`
    /// with the server's answer when it is refused.
    public func installTemplate() async throws {
        let sender = BulkSender(config: config, client: client)
        let request = try sender.request(
            method: "PUT", url: config.url + "/_index_template/" + config.templateName,
            body: Data(IndexTemplate.body(for: config).utf8), label: "index template",
            contentType: "application/json")
        let response: HTTPResponse
        do { response = try await client.send(request) } catch let error as HTTPError {
            throw ExportStop(.connection, "\(error)")
        }
        switch response.status {
        case 200..<300:
            logger.info("index template installed", metadata: ["name": "\(config.templateName)", "pattern": "\(config.index.wildcard)"])
            try await addFieldsToExistingIndices(sender)
        case 401, 403:
            throw ExportStop(.auth, "\(config.url) refused the template with HTTP \(response.status): check export.elasticsearch credentials")
        default:
            throw ExportStop(.server, "\(request.what): HTTP \(response.status)\(sender.quote(response.body))")
        }
    }
}

extension NightExporter {
    /// Fields added since version 1 of the template. A template applies only to indices created after it, and
    /// existing indices are `dynamic: strict`: without these their next document would be rejected.
    /// The dynamic template is sent with them: a mapping update replaces the index's list of dynamic templates.
    static let addedFields = #"""
        {"dynamic_templates": [{"status_keywords": {"path_match": "status.*", "mapping": {"type": "keyword"}}}],
         "properties": {"generation": {"type": "keyword"}, "status": {"type": "object", "dynamic": true}}}
        """#

    /// Adds `addedFields` to the indices that already match the pattern (none yet is fine).
    func addFieldsToExistingIndices(_ sender: BulkSender) async throws {
        let request = try sender.request(
            method: "PUT",
            url: config.url + "/" + config.index.wildcard
                + "/_mapping?ignore_unavailable=true&allow_no_indices=true",
            body: Data(NightExporter.addedFields.utf8), label: "mapping of existing indices",
            contentType: "application/json")
        let response: HTTPResponse
        do { response = try await client.send(request) } catch let error as HTTPError {
            throw ExportStop(.connection, "\(error)")
        }
        guard (200..<300).contains(response.status) || response.status == 404 else {
            throw ExportStop(.server, "\(request.what): HTTP \(response.status)\(sender.quote(response.body))")
        }
    }
}

extension NightExporter {
    /// For `stethoscope check`: the cluster answers with these credentials and holds our template, with our
    /// index pattern and strict mapping. Throws `ExportStop` saying what to fix.
    public func checkTemplate() async throws -> String {
        let sender = BulkSender(config: config, client: client)
        let request = try sender.request(
            method: "GET", url: config.url + "/_index_template/" + config.templateName,
            body: nil, label: "index template check", contentType: "application/json")
        let response: HTTPResponse
        do { response = try await client.send(request) } catch let error as HTTPError {
            throw ExportStop(.connection, "\(error)")
        }
        let body = String(decoding: response.body, as: UTF8.self)
        switch response.status {
        case 200..<300:
            guard body.contains(config.index.wildcard) else {
                throw ExportStop(
                    .server, "template '\(config.templateName)' does not cover \(config.index.wildcard): run `stethoscope export --install-template`")
            }
            let installed = (try? JSONDecoder().decode(InstalledTemplates.self, from: response.body))?.index_templates.first
            let version = installed?.index_template.version ?? 0
            guard version >= IndexTemplate.version else {
                throw ExportStop(
                    .template,
                    "template '\(config.templateName)' is outdated (version \(version), this Stethoscope writes "
                        + "version \(IndexTemplate.version)): run `stethoscope export --install-template`")
            }
            guard body.contains("strict") else {
                throw ExportStop(.server, "template '\(config.templateName)' is not strict: run `stethoscope export --install-template`")
            }
            // The index settings of the config (number_of_shards, number_of_replicas, refresh_interval) are the template's.
            let wanted = [
                "number_of_shards": "\(config.settings.shards)", "number_of_replicas": "\(config.settings.replicas)",
                "refresh_interval": config.settings.refreshInterval
            ]
            if let settings = installed?.index_template.settings {
                for (key, value) in wanted.sorted(by: { $0.key < $1.key }) where settings[key] != value {
                    throw ExportStop(
                        .template,
                        "template '\(config.templateName)' has \(key) \(settings[key] ?? "unset"), the config "
                            + "says \(value): run `stethoscope export --install-template`")
                }
            }
            return "ok: \(config.url), template '\(config.templateName)' for \(config.index.wildcard)"
        case 404:
            throw ExportStop(.server, "template '\(config.templateName)' is not installed: run `stethoscope export --install-template`")
        case 401, 403:
            throw ExportStop(.auth, "\(config.url) answered HTTP \(response.status): check export.elasticsearch credentials")
        default:
            throw ExportStop(.server, "\(request.what): HTTP \(response.status)\(sender.quote(response.body))")
        }
    }
}

/// The answer of `GET _index_template[/name]`, as far as the export reads it. Lenient: other people's templates
/// may carry any `_meta`, and `index_patterns` may be a single string.
struct InstalledTemplates: Decodable {
    var index_templates: [Entry]
    struct Entry: Decodable {
        var name: String
        var index_template: Body
    }
    struct Body: Decodable {
        var patterns: [String]
        var priority: Int
        /// `_meta.version`, when it is a number.
        var version: Int?
        /// `template.settings.index` as the server answers it (`"number_of_shards": "1"`), when readable.
        var settings: [String: String]?
        enum Keys: String, CodingKey { case index_patterns, priority, _meta, template }
        enum MetaKeys: String, CodingKey { case version }
        enum TemplateKeys: String, CodingKey { case settings }
        enum SettingsKeys: String, CodingKey { case index }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            if let list = try? c.decode([String].self, forKey: .index_patterns) {
                patterns = list
            } else {
                patterns = [try c.decode(String.self, forKey: .index_patterns)]
            }
            priority = (try? c.decode(Int.self, forKey: .priority)) ?? 0
            version = try? c.nestedContainer(keyedBy: MetaKeys.self, forKey: ._meta).decode(Int.self, forKey: .version)
            settings = try? c.nestedContainer(keyedBy: TemplateKeys.self, forKey: .template)
                .nestedContainer(keyedBy: SettingsKeys.self, forKey: .settings).decode([String: String].self, forKey: .index)
        }
    }
}

extension NightExporter {
    /// Before a night is sent: some installed index template must cover `index`, or the server would create the
    /// index by dynamic mapping (text fields, no `nested` practices, no strict checks) and every later night of
    /// that index would go into that different mapping. When the covering template is ours, it must be at least
    /// this version, or the strict mapping would reject every document's new fields. Throws `ExportStop` naming
    /// `--install-template`. (Only composable `_index_template`s count; legacy `_template`s are not consulted.)
    func requireTemplate(covering index: String) async throws {
        let sender = BulkSender(config: config, client: client)
        let request = try sender.request(
            method: "GET", url: config.url + "/_index_template", body: nil,
            label: "index templates", contentType: "application/json")
        let response: HTTPResponse
        do { response = try await client.send(request) } catch let error as HTTPError {
            throw ExportStop(.connection, "\(error)")
        }
        var templates: [InstalledTemplates.Entry] = []
        switch response.status {
        case 200..<300:
            guard let answer = try? JSONDecoder().decode(InstalledTemplates.self, from: response.body) else {
                throw ExportStop(.answer, "\(request.what): the answer is not readable JSON\(sender.quote(response.body))")
            }
            templates = answer.index_templates
        case 404: break  // no template at all
        case 401, 403:
            throw ExportStop(
                .auth,
                "\(config.url) refused \(request.what) with HTTP \(response.status): check export.elasticsearch "
                    + "credentials and the user's manage_index_templates (or read) privilege")
        default:
            throw ExportStop(.server, "\(request.what): HTTP \(response.status)\(sender.quote(response.body))")
        }
        // Elasticsearch applies the matching template of highest priority.
        let covering = templates.filter { $0.index_template.patterns.contains { IndexTemplate.matches(index, $0) } }
            .max { $0.index_template.priority < $1.index_template.priority }
        guard let covering else {
            throw ExportStop(
                .template,
                "no index template covers index '\(index)': run `stethoscope export --install-template` "
                    + "first (it installs '\(config.templateName)' for \(config.index.wildcard)); nothing was sent, so "
                    + "dynamic mapping did not build the index")
        }
        if covering.name == config.templateName, (covering.index_template.version ?? 0) < IndexTemplate.version {
            throw ExportStop(
                .template,
                "index template '\(covering.name)' is outdated (version \(covering.index_template.version ?? 0), "
                    + "this Stethoscope writes version \(IndexTemplate.version)): run `stethoscope export --install-template`")
        }
    }
}

extension IndexTemplate {
    /// Whether `index` matches an `index_patterns` entry (`*` matches any run of characters, as in Elasticsearch).
    static func matches(_ index: String, _ pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return index == pattern }
        var rest = Substring(index)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let found = rest.range(of: part) else { return false }
            rest = rest[found.upperBound...]
        }
        let last = parts[parts.count - 1]
        return rest.count >= last.count && rest.hasSuffix(last)
    }
}
