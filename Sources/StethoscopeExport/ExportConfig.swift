import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// The `export.elasticsearch` config section, validated (keys in README.md next to this file).
public struct ElasticsearchConfig: Sendable {
    /// Base URL of the cluster, without a trailing slash.
    public var url: String
    public var index: IndexPattern
    /// Name of the index template `--install-template` installs.
    public var templateName: String
    /// The `Authorization` header value (`Basic …` or `ApiKey …`), `nil` for none.
    public var authorization: Secret?
    public var tls: TLSOptions
    public var timeouts: HTTPTimeouts
    /// Bulk requests in flight at once.
    public var maxConnections: Int
    /// A chunk closes before it would pass either limit (a single larger document goes alone).
    public var chunkBytes: Int
    public var chunkDocuments: Int
    public var gzip: Bool
    /// Request-level retries (connection errors, 429, 5xx) and item-level retries (429/5xx items) alike.
    public var retry: RetryPolicy
    /// Settings of the indices the template creates.
    public var settings: IndexSettings = IndexSettings()

    /// `number_of_shards`, `number_of_replicas`, `refresh_interval` of the template: they apply to indices created
    /// after `--install-template` (shards cannot change on an existing index).
    public struct IndexSettings: Sendable, Equatable {
        public var shards = 1
        public var replicas = 1
        /// An Elasticsearch time value (`30s`, `500ms`, `1m`) or `-1` (refresh only when the export asks).
        public var refreshInterval = "30s"
        public init(shards: Int = 1, replicas: Int = 1, refreshInterval: String = "30s") {
            self.shards = shards
            self.replicas = replicas
            self.refreshInterval = refreshInterval
        }

        /// Whether `text` is a time value Elasticsearch takes for `refresh_interval`.
        static func isInterval(_ text: String) -> Bool {
            if text == "-1" { return true }
            let digits = text.prefix { $0.isASCII && $0.isNumber }
            return !digits.isEmpty && digits.count <= 9 && ["ms", "s", "m", "h", "d"].contains(text.dropFirst(digits.count))
        }
    }

    public init(
        url: String, index: IndexPattern = IndexPattern.default, templateName: String = "stethoscope",
        authorization: Secret? = nil, tls: TLSOptions = TLSOptions(), timeouts: HTTPTimeouts = HTTPTimeouts(),
        maxConnections: Int = 4, chunkBytes: Int = 5_000_000, chunkDocuments: Int = 10_000, gzip: Bool = false,
        retry: RetryPolicy = RetryPolicy(maxAttempts: 6, baseDelay: 0.5, maxDelay: 30, maxTotalWait: 300)
    ) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.index = index
        self.templateName = templateName
        self.authorization = authorization
        self.tls = tls
        self.timeouts = timeouts
        self.maxConnections = maxConnections
        self.chunkBytes = chunkBytes
        self.chunkDocuments = chunkDocuments
        self.gzip = gzip
        self.retry = retry
    }

    /// Reads `export.elasticsearch` from the config's `export` section; `nil` when it is not configured.
    /// Unknown keys are errors naming their path.
    public static func from(exportSection export: ConfigSection?) throws -> ElasticsearchConfig? {
        guard let export else { return nil }
        let es = try export.section("elasticsearch")
        try export.finish()
        guard let es else { return nil }
        let url = try es.string("url")
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw es.error("url", "expected an http:// or https:// URL")
        }
        let pattern = try es.string("index", default: IndexPattern.default.pattern)
        let index: IndexPattern
        do { index = try IndexPattern(pattern) } catch let problem as IndexPattern.Invalid {
            throw es.error("index", problem.description)
        }
        let templateName = try es.string("template_name", default: "stethoscope")

        let user = try es.optionalString("username")
        let password = try es.secret("password")
        let apiKey = try es.secret("api_key")
        var authorization: Secret?
        switch (user, password, apiKey) {
        case (nil, nil, nil): authorization = nil
        case (let user?, let password?, nil):
            authorization = Secret("Basic " + Data("\(user):\(password.reveal())".utf8).base64EncodedString())
        case (nil, nil, let key?): authorization = Secret("ApiKey " + key.reveal())
        case (_, _, .some): throw es.error("api_key", "give either api_key or username and password, not both")
        case (nil, .some, nil): throw es.error("username", "is required with password")
        case (.some, nil, nil): throw es.error("password", "is required with username (give password or password_file)")
        }
        let tls = TLSOptions(caFile: try es.path("ca_file")?.path)
        let timeout = try es.double("timeout_s", default: 120, min: 1, max: 86_400)
        var config = ElasticsearchConfig(
            url: url, index: index, templateName: templateName, authorization: authorization, tls: tls,
            timeouts: HTTPTimeouts(connect: min(10, timeout), total: timeout),
            maxConnections: try es.int("max_connections", default: 4, min: 1, max: 64),
            chunkBytes: try es.int("chunk_bytes", default: 5_000_000, min: 1024, max: 100_000_000),
            chunkDocuments: try es.int("chunk_documents", default: 10_000, min: 1, max: 1_000_000),
            gzip: try es.bool("gzip", default: false),
            retry: RetryPolicy(
                maxAttempts: try es.int("max_attempts", default: 6, min: 1, max: 100),
                baseDelay: try es.double("retry_base_s", default: 0.5, min: 0, max: 600),
                maxDelay: 30, maxTotalWait: try es.double("retry_max_wait_s", default: 300, min: 0, max: 86_400)))
        let settings = ElasticsearchConfig.IndexSettings(
            shards: try es.int("number_of_shards", default: 1, min: 1, max: 1024),
            replicas: try es.int("number_of_replicas", default: 1, min: 0, max: 100),
            refreshInterval: try es.string("refresh_interval", default: "30s"))
        guard IndexSettings.isInterval(settings.refreshInterval) else {
            throw es.error("refresh_interval", "expected a time value such as 30s, 500ms, 1m, or -1 (no periodic refresh)")
        }
        config.settings = settings
        try es.finish()
        return config
    }
}

/// The index a night goes to: a pattern with `{yyyy}`, `{MM}`, `{dd}` placeholders (also combined, as in
/// `{yyyy.MM}`) filled from the as-of date. Monthly by default, so old months can be dropped whole.
public struct IndexPattern: Sendable, Hashable {
    public let pattern: String
    public static let `default` = try! IndexPattern("stethoscope-{yyyy.MM}")

    public struct Invalid: Error, CustomStringConvertible, Sendable { public var description: String }

    public init(_ pattern: String) throws {
        self.pattern = pattern
        let sample = try IndexPattern.fill(pattern, year: "2026", month: "12", day: "01")
        // Elasticsearch's rules for index names.
        guard !sample.isEmpty, sample == sample.lowercased(), !sample.hasPrefix("-"), !sample.hasPrefix("_"),
            !sample.contains(where: { " \"*\\<|,>/?#:".contains($0) })
        else {
            throw Invalid(description: "'\(pattern.prefix(60))' does not give a valid index name (lower case, no spaces or \\/*?\"<>|,#:)")
        }
    }

    /// The index name of the night `asOf` (`YYYY-MM-DD`).
    public func name(asOf: String) -> String {
        let parts = asOf.split(separator: "-").map(String.init)
        guard parts.count == 3 else { return pattern }
        return (try? IndexPattern.fill(pattern, year: parts[0], month: parts[1], day: parts[2])) ?? pattern
    }

    /// The wildcard the index template matches: every placeholder becomes `*`.
    public var wildcard: String {
        var out = ""
        var inside = false
        for c in pattern {
            if c == "{" {
                inside = true
                out += "*"
            } else if c == "}" {
                inside = false
            } else if !inside {
                out.append(c)
            }
        }
        return out
    }

    static func fill(_ pattern: String, year: String, month: String, day: String) throws -> String {
        var out = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { throw Invalid(description: "unclosed '{' in '\(pattern)'") }
            var token = String(rest[rest.index(after: open)..<close])
            guard !token.isEmpty else { throw Invalid(description: "empty {} in '\(pattern)'") }
            for (name, value) in [("yyyy", year), ("MM", month), ("dd", day)] {
                token = token.replacingOccurrences(of: name, with: value)
            }
            guard token.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" }) else {
                throw Invalid(description: "unknown placeholder in '\(pattern)': use {yyyy}, {MM}, {dd} (e.g. {yyyy.MM})")
            }
            out += token
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}
