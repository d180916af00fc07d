import Foundation
import Logging
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeStore

/// One `webhooks:` entry (README, "Webhooks"): where the night's summary is posted after the night committed.
///
/// The URL is read as a secret (`url: ${ENV}` or `url_file`): a Slack or Teams incoming-webhook URL *is* the
/// credential, so it is registered with the redactor and logs name the webhook and its host only.
public struct WebhookConfig: Sendable {
    public enum Format: String, Sendable { case json, slack }
    public var name: String
    public var url: Secret
    /// The host, for logs (the URL itself never is logged).
    public var host: String
    public var format: Format
    /// Sent as `Authorization: Bearer …` when given (`token: ${ENV}` or `token_file`).
    public var token: Secret?
    public var reportURL: String?
    public var timeouts: HTTPTimeouts
    public var tls: TLSOptions
    public var retry: RetryPolicy

    /// Reads every `webhooks:` entry; unknown keys and bad values are errors naming their key path.
    public static func from(_ sections: [ConfigSection]) throws -> [WebhookConfig] {
        var seen: Set<String> = []
        return try sections.enumerated().map { i, s in
            let name = try s.string("name", default: "webhook-\(i + 1)")
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                throw s.error("name", "use letters, digits, '-', '_' or '.' only")
            }
            guard seen.insert(name).inserted else { throw s.error("name", "'\(name)' is used by another webhook") }
            guard let url = try s.secret("url") else { throw s.error("url", "is required (give url or url_file)") }
            let text = url.reveal()
            guard text.hasPrefix("http://") || text.hasPrefix("https://"), let host = URLComponents(string: text)?.host, !host.isEmpty else {
                throw s.error("url", "expected an http:// or https:// URL")
            }
            // Errors quote the URL without its query (`HTTPRequest.what`): blank that form too.
            if let base = text.split(separator: "?", maxSplits: 1).first, base.count < text.count { _ = Secret(String(base)) }
            let format = Format(rawValue: try s.choice("format", ["json", "slack"], default: "json"))!
            let timeout = try s.double("timeout_s", default: 30, min: 1, max: 600)
            let config = WebhookConfig(
                name: name, url: url, host: host, format: format, token: try s.secret("token"),
                reportURL: try s.optionalString("report_url"), timeouts: HTTPTimeouts(connect: min(10, timeout), total: timeout),
                tls: TLSOptions(caFile: try s.path("ca_file")?.path),
                retry: RetryPolicy(
                    maxAttempts: try s.int("max_attempts", default: 4, min: 1, max: 20),
                    baseDelay: try s.double("retry_base_s", default: 1, min: 0, max: 600), maxDelay: 30,
                    maxTotalWait: try s.double("retry_max_wait_s", default: 120, min: 0, max: 3600)))
            try s.finish()
            return config
        }
    }
}

/// The night's summary as the webhooks post it (`format: json`; `format: slack` renders the same facts).
struct NightSummary: Encodable, Sendable {
    struct Regression: Encodable, Sendable {
        var practice: String
        /// Devices failing the practice (warn or nudge) tonight and on the previous night.
        var failing: Int
        var previousFailing: Int
        var change: Int
        /// Devices newly failing tonight.
        var newlyFailing: Int

        enum CodingKeys: String, CodingKey {
            case practice, failing
            case previousFailing = "previous_failing"
            case change
            case newlyFailing = "newly_failing"
        }
    }
    var asOf: String
    var status: String
    var devices: Int
    var carriedForward: Int
    /// Shares (0…1) of the devices that are not stale; `nil` when no device counts.
    var greenRate: Double?
    var criticalRate: Double?
    /// The previous night with roll-ups and the change of each rate since it (in share points, 0…1).
    var previousAsOf: String?
    var greenRateChange: Double?
    var criticalRateChange: Double?
    var partialSources: [String]
    var topRegressions: [Regression]
    var reportURL: String?

    enum CodingKeys: String, CodingKey {
        case asOf = "as_of"
        case status, devices
        case carriedForward = "carried_forward"
        case greenRate = "green_rate"
        case criticalRate = "critical_rate"
        case previousAsOf = "previous_as_of"
        case greenRateChange = "green_rate_change"
        case criticalRateChange = "critical_rate_change"
        case partialSources = "partial_sources"
        case topRegressions = "top_regressions"
        case reportURL = "report_url"
    }

    /// Every key always present: an unknown value is `null`, not a missing key (receivers template on the keys).
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(asOf, forKey: .asOf)
        try c.encode(status, forKey: .status)
        try c.encode(devices, forKey: .devices)
        try c.encode(carriedForward, forKey: .carriedForward)
        try c.encode(greenRate, forKey: .greenRate)
        try c.encode(criticalRate, forKey: .criticalRate)
        try c.encode(previousAsOf, forKey: .previousAsOf)
        try c.encode(greenRateChange, forKey: .greenRateChange)
        try c.encode(criticalRateChange, forKey: .criticalRateChange)
        try c.encode(partialSources, forKey: .partialSources)
        try c.encode(topRegressions, forKey: .topRegressions)
        try c.encode(reportURL, forKey: .reportURL)
    }

    /// Reads the summary of night `asOf` from the committed snapshot and its company roll-ups.
    static func load(_ store: SnapshotStore, asOf: String, reportURL: String?, top: Int = 5) throws -> NightSummary {
        guard let run = try store.runTotals(asOf: asOf) else { throw SummaryError(description: "night \(asOf) is not in the database") }
        var s = NightSummary(
            asOf: asOf, status: run.status, devices: run.devices, carriedForward: run.carriedForward,
            partialSources: try store.failedSources(asOf: asOf), topRegressions: [], reportURL: reportURL)
        func rates(_ night: String) throws -> (green: Double, critical: Double)? {
            guard let t = try store.companyTotals(asOf: night), t.counted > 0 else { return nil }
            return (Double(t.green) / Double(t.counted), Double(t.critical) / Double(t.counted))
        }
        s.previousAsOf = try store.previousRolledUpNight(before: asOf)
        let tonight = try rates(asOf)
        s.greenRate = tonight.map { round4($0.green) }
        s.criticalRate = tonight.map { round4($0.critical) }
        if let tonight, let p = s.previousAsOf, let before = try rates(p) {
            s.greenRateChange = round4(tonight.green - before.green)
            s.criticalRateChange = round4(tonight.critical - before.critical)
        }
        // Regressions: practices whose failing devices rose most since the previous night (company-wide).
        var previousFailing: [String: Int] = [:]
        if let p = s.previousAsOf {
            for row in try store.companyFailing(asOf: p) { previousFailing[row.practice] = row.failing }
        }
        var all: [Regression] = []
        for row in try store.companyFailing(asOf: asOf) {
            let before = s.previousAsOf == nil ? row.failing : previousFailing[row.practice] ?? 0
            all.append(
                Regression(
                    practice: row.practice, failing: row.failing, previousFailing: before,
                    change: row.failing - before, newlyFailing: row.newlyFailing))
        }
        s.topRegressions = Array(
            all.filter { $0.change > 0 || $0.newlyFailing > 0 }
                .sorted { ($0.change, $0.newlyFailing, $1.practice) > ($1.change, $1.newlyFailing, $0.practice) }.prefix(top))
        return s
    }

    private static func round4(_ x: Double) -> Double { (x * 10_000).rounded() / 10_000 }

    struct SummaryError: Error, CustomStringConvertible { var description: String }

    /// `format: json`: the summary itself.
    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// `format: slack`: Slack's incoming-webhook payload, a `text` fallback (notifications, clients without
    /// blocks) and `blocks` (section blocks in mrkdwn).
    func slack() throws -> Data {
        struct Text: Encodable {
            var type = "mrkdwn"
            var text: String
        }
        struct Block: Encodable {
            var type = "section"
            var text: Text
        }
        struct Payload: Encodable {
            var text: String
            var blocks: [Block]
        }
        func percent(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a" }
        func points(_ x: Double?) -> String { x.map { String(format: "%+.1f pts", $0 * 100) } ?? "no previous night" }
        let headline =
            "Stethoscope \(asOf): \(status), \(devices) devices, green \(percent(greenRate)) (\(points(greenRateChange))), "
            + "critical \(percent(criticalRate)) (\(points(criticalRateChange)))"
        var blocks = [
            Block(
                text: Text(
                    text: "*Stethoscope \(asOf)*: \(status), \(devices) devices"
                        + (carriedForward > 0 ? " (\(carriedForward) carried forward)" : "")
                        + "\nGreen: \(percent(greenRate)) (\(points(greenRateChange)))\nCritical: \(percent(criticalRate)) (\(points(criticalRateChange)))"))
        ]
        if !partialSources.isEmpty {
            blocks.append(Block(text: Text(text: "*Partial*: failed sources: " + partialSources.joined(separator: ", "))))
        }
        if !topRegressions.isEmpty {
            blocks.append(
                Block(
                    text: Text(
                        text: "*Top regressions*\n"
                            + topRegressions.map {
                                "• \($0.practice): \($0.failing) failing (\(String(format: "%+d", $0.change))), \($0.newlyFailing) newly"
                            }.joined(separator: "\n"))))
        }
        if let reportURL { blocks.append(Block(text: Text(text: "<\(reportURL)|Open the report>"))) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Payload(text: headline + (reportURL.map { " \($0)" } ?? ""), blocks: blocks))
    }
}

/// Posts the night's summary to each webhook. A webhook that fails is logged (URL and token never appear) and
/// reported back; the snapshot, the export and the other webhooks are untouched.
enum WebhookSink {
    static func post(
        _ hooks: [WebhookConfig], asOf: String, store: SnapshotStore, logger: Logger,
        client: HTTPClient = .shared, posted: () -> Void = {}
    ) async -> [(name: String, ok: Bool)] {
        var results: [(name: String, ok: Bool)] = []
        for hook in hooks {
            defer { posted() }
            var log = logger
            log[metadataKey: "webhook"] = "\(hook.name)"
            log[metadataKey: "host"] = "\(hook.host)"
            do {
                let summary = try NightSummary.load(store, asOf: asOf, reportURL: hook.reportURL)
                var headers = ["Content-Type": "application/json", "Accept": "*/*"]
                if let token = hook.token { headers["Authorization"] = "Bearer " + token.reveal() }
                let body = try hook.format == .slack ? summary.slack() : summary.json()
                let request = HTTPRequest(
                    method: "POST", url: hook.url.reveal(), headers: headers, body: body, source: "webhook \(hook.name)",
                    timeouts: hook.timeouts, tls: hook.tls, maxResponseBytes: 1 << 20, retry: hook.retry)
                let response = try await client.send(request)
                guard response.isSuccess else {
                    let excerpt = Redactor.excerpt(response.body, also: [hook.url.reveal()] + (hook.token.map { [$0.reveal()] } ?? []))
                    throw SinkError(
                        description: "HTTP \(response.status)" + (excerpt.isEmpty ? "" : ": \(excerpt)")
                            + (response.attempts > 1 ? " (after \(response.attempts) attempts)" : ""))
                }
                log.info(
                    "webhook posted",
                    metadata: [
                        "as_of": "\(asOf)", "format": "\(hook.format.rawValue)",
                        "attempts": "\(response.attempts)"
                    ])
                results.append((hook.name, true))
            } catch {
                log.error("webhook failed; the night is committed", metadata: ["as_of": "\(asOf)", "error": "\(error)"])
                results.append((hook.name, false))
            }
        }
        return results
    }

    struct SinkError: Error, CustomStringConvertible { var description: String }
}
