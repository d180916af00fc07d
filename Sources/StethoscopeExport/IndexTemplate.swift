import Foundation
import StethoscopeHTTP

/// The index template of `Schemas/elasticsearch/stethoscope.template.json`, compiled in (the binary never
/// reads the repository; a test fails when this copy differs from the file). Explicit mappings under
/// `dynamic: strict`: keywords for ids and statuses, dates for times, no dynamically mapped text.
public enum IndexTemplate {
    public static let json: String = #"""
{
  "index_patterns": ["stethoscope-*"],
  "priority": 100,
  "_meta": {"description": "Stethoscope nightly device snapshots: one document per device per night, _id <as-of>:<device key>", "version": 2},
  "template": {
    "settings": {
      "number_of_shards": 1,
      "refresh_interval": "30s"
    },
    "mappings": {
      "dynamic": "strict",
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
        json.replacingOccurrences(of: #""index_patterns": ["stethoscope-*"]"#,
                                  with: #""index_patterns": [""# + pattern.wildcard + #""]"#)
    }
}

extension NightExporter {
    /// Installs or updates the index template (`PUT _index_template/<template_name>`); throws `ExportStop`
    /// with the server's answer when it is refused.
    public func installTemplate() async throws {
        let sender = BulkSender(config: config, client: client)
        let request = try sender.request(method: "PUT", url: config.url + "/_index_template/" + config.templateName,
                                         body: Data(IndexTemplate.body(for: config.index).utf8), label: "index template",
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
    static let addedFields = #"{"properties": {"generation": {"type": "keyword"}}}"#

    /// Adds `addedFields` to the indices that already match the pattern (none yet is fine).
    func addFieldsToExistingIndices(_ sender: BulkSender) async throws {
        let request = try sender.request(method: "PUT", url: config.url + "/" + config.index.wildcard
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
        let request = try sender.request(method: "GET", url: config.url + "/_index_template/" + config.templateName,
                                         body: nil, label: "index template check", contentType: "application/json")
        let response: HTTPResponse
        do { response = try await client.send(request) } catch let error as HTTPError {
            throw ExportStop(.connection, "\(error)")
        }
        let body = String(decoding: response.body, as: UTF8.self)
        switch response.status {
        case 200..<300:
            guard body.contains(config.index.wildcard) else {
                throw ExportStop(.server, "template '\(config.templateName)' does not cover \(config.index.wildcard): run `stethoscope export --install-template`")
            }
            guard body.contains("\"generation\"") else {
                throw ExportStop(.server, "template '\(config.templateName)' is outdated (no generation field): run `stethoscope export --install-template`")
            }
            guard body.contains("strict") else {
                throw ExportStop(.server, "template '\(config.templateName)' is not strict: run `stethoscope export --install-template`")
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
