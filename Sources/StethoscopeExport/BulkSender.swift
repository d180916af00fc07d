import Foundation
import StethoscopeCore
import StethoscopeHTTP

/// A run of consecutive documents of a night, as one `_bulk` body. `starts[i]` is where item i (its action and
/// document lines) begins, so any subset of items can be re-sent without re-reading SQLite.
struct BulkChunk: Sendable {
    var seq: Int
    var body: Data
    var starts: [Int]
    var lastDeviceID: Int
    var count: Int { starts.count }

    func item(_ i: Int) -> Range<Int> { starts[i]..<(i + 1 < starts.count ? starts[i + 1] : body.count) }

    func body(of items: [Int]) -> Data {
        if items.count == count { return body }
        var out = Data()
        out.reserveCapacity(items.reduce(0) { $0 + item($1).count })
        for i in items { out.append(body[item(i)]) }
        return out
    }
}

/// Why an export stopped early; the text is for operators and never holds a credential.
public struct ExportStop: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case auth, connection, server
        case retriesExhausted = "retries_exhausted"
        case answer, database, template
    }
    public var kind: Kind
    public var description: String
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

/// What became of one chunk.
struct ChunkOutcome: Sendable {
    var seq: Int
    var lastDeviceID: Int
    var ok = 0
    var failed = 0
    /// The first permanent item errors (`<_id>: <type>: <reason>`).
    var errors: [String] = []
    /// Set when a 413 showed the server takes fewer bytes per request: later chunks should stay below it.
    var byteLimit: Int?
    var requests = 0
    var retriedItems = 0
    var stop: ExportStop?
}

/// Sends chunks to `_bulk` and reads every item's result: 2xx items are done; 429/5xx items are re-sent
/// alone after a jittered exponential wait; other 4xx items (mapping errors) are permanent and recorded;
/// a 413 splits the request in halves; 401/403 stops the export. Connection errors, 429 and 5xx answers to
/// the whole request are retried by `HTTPClient` under the same policy.
struct BulkSender: Sendable {
    var config: ElasticsearchConfig
    var client: HTTPClient
    static let maxRecordedErrors = 20

    /// `filter_path` keeps the answer to what is read: about 60 bytes per item instead of 250.
    var bulkURL: String { config.url + "/_bulk?filter_path=errors,items.*.status,items.*._id,items.*.error.type,items.*.error.reason" }

    func request(method: String, url: String, body: Data?, label: String, contentType: String) throws -> HTTPRequest {
        var headers = ["Content-Type": contentType, "Accept": "application/json"]
        if let authorization = config.authorization { headers["Authorization"] = authorization.reveal() }
        var payload = body
        if config.gzip, let plain = body {
            payload = try Gzip.compress(plain)
            headers["Content-Encoding"] = "gzip"
        }
        return HTTPRequest(
            method: method, url: url, headers: headers, body: payload, source: "export", label: label,
            limiter: nil, timeouts: config.timeouts, tls: config.tls, retry: config.retry)
    }

    func send(_ chunk: BulkChunk) async -> ChunkOutcome {
        var outcome = ChunkOutcome(seq: chunk.seq, lastDeviceID: chunk.lastDeviceID)
        var queue: [(items: [Int], attempt: Int)] = [(Array(0..<chunk.count), 1)]
        while let (items, attempt) = queue.popLast() {
            do {
                try await post(items, attempt: attempt, of: chunk, queue: &queue, outcome: &outcome)
            } catch let stop as ExportStop {
                outcome.stop = stop
                return outcome
            } catch is CancellationError {
                outcome.stop = ExportStop(.connection, "cancelled")
                return outcome
            } catch {
                outcome.stop = ExportStop(.connection, "\(error)")
                return outcome
            }
        }
        return outcome
    }

    private func post(
        _ items: [Int], attempt: Int, of chunk: BulkChunk, queue: inout [(items: [Int], attempt: Int)],
        outcome: inout ChunkOutcome
    ) async throws {
        let body = chunk.body(of: items)
        let label = "chunk \(chunk.seq), \(items.count) documents"
        let request = try request(method: "POST", url: bulkURL, body: body, label: label, contentType: "application/x-ndjson")
        outcome.requests += 1
        let response: HTTPResponse
        do { response = try await client.send(request) } catch let error as HTTPError {
            throw ExportStop(.connection, "\(error)")
        }
        switch response.status {
        case 200..<300:
            break
        case 401, 403:
            throw ExportStop(
                .auth,
                "\(config.url) refused the export with HTTP \(response.status): check "
                    + "export.elasticsearch credentials (username/password or api_key) and the user's index privileges")
        case 413:
            if items.count == 1 {
                outcome.failed += 1
                record("\(documentID(chunk, items[0])): HTTP 413: document larger than the server accepts", &outcome)
                return
            }
            // Halve: both halves go back on the queue (first half on top), and later chunks stay below this size.
            let half = items.count / 2
            queue.append((Array(items[half...]), attempt))
            queue.append((Array(items[..<half]), attempt))
            outcome.byteLimit = min(outcome.byteLimit ?? Int.max, max(1024, body.count / 2))
            return
        default:
            throw ExportStop(
                RetryPolicy.isRetryable(status: response.status) ? .server : .answer,
                "\(request.what): HTTP \(response.status)\(quote(response.body))"
                    + (response.attempts > 1 ? " (after \(response.attempts) attempts)" : ""))
        }
        let answer: BulkAnswer
        do { answer = try JSONDecoder().decode(BulkAnswer.self, from: response.body) } catch {
            throw ExportStop(.answer, "\(request.what): the _bulk answer is not readable JSON\(quote(response.body))")
        }
        guard answer.items.count == items.count else {
            throw ExportStop(.answer, "\(request.what): sent \(items.count) documents, the answer has \(answer.items.count) items")
        }
        var retry: [Int] = []
        for (position, item) in answer.items.enumerated() {
            switch item.status {
            case 200..<300: outcome.ok += 1
            case 429, 500..<600: retry.append(items[position])
            default:
                outcome.failed += 1
                let id = item.id ?? documentID(chunk, items[position])
                record("\(id): \(item.error?.text ?? "HTTP \(item.status)")", &outcome)
            }
        }
        guard !retry.isEmpty else { return }
        guard attempt < config.retry.maxAttempts else {
            throw ExportStop(.retriesExhausted, "\(retry.count) documents were still refused (429/5xx) after \(attempt) attempts")
        }
        outcome.retriedItems += retry.count
        let delay = config.retry.delay(afterAttempt: attempt, retryAfter: nil)
        try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        queue.append((retry, attempt + 1))
    }

    private func record(_ error: String, _ outcome: inout ChunkOutcome) {
        if outcome.errors.count < BulkSender.maxRecordedErrors { outcome.errors.append(String(Redactor.redact(error).prefix(300))) }
    }

    /// The `_id` of an item, read back from its action line (for errors the server gave without one).
    private func documentID(_ chunk: BulkChunk, _ item: Int) -> String {
        let range = chunk.item(item)
        let line = chunk.body[range].prefix { $0 != UInt8(ascii: "\n") }
        let text = String(decoding: line, as: UTF8.self)
        guard let at = text.range(of: "\"_id\":\"") else { return "item \(item)" }
        return String(text[at.upperBound...].prefix { $0 != "\"" })
    }

    /// A short, single-line piece of an error body, with the credential blanked should a server echo it.
    func quote(_ body: Data) -> String {
        guard !body.isEmpty else { return "" }
        // The authorization is a registered `Secret`: `excerpt` blanks it (and every other secret) before the cut.
        return ": " + Redactor.excerpt(body)
    }
}
