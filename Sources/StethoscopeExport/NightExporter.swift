import Foundation
import Logging
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeStore

/// Exports nights of the SQLite store to Elasticsearch/OpenSearch `_bulk`, one document per device with
/// `_id = <as-of>:<device key>`, so sending a night again overwrites instead of duplicating.
///
/// SQLite stays the source of truth: the export only reads the snapshot and records its progress in the
/// `exports` table. Chunks are built one after another from a streaming cursor and up to `max_connections`
/// are in flight; the resume point moves only over chunks whose every item was answered, so a failed export
/// picks up where the acknowledged prefix ends.
///
/// The index holds exactly the night's devices: every document carries the export's `generation`, and once
/// every document of the night was answered the night's documents of any other generation are deleted
/// (`_delete_by_query`) — those of devices a re-run of the night no longer has.
public struct NightExporter: Sendable {
    public var config: ElasticsearchConfig
    public var client: HTTPClient
    public var logger: Logger

    public init(
        config: ElasticsearchConfig, client: HTTPClient = .shared,
        logger: Logger = Logger(label: "stethoscope.export")
    ) {
        self.config = config
        self.client = client
        self.logger = logger
    }

    public struct NoSuchNight: Error, CustomStringConvertible, Sendable {
        public var asOf: String
        public var description: String { "no snapshot for night \(asOf) in the database" }
    }

    /// Exports the night `asOf`. A night whose last export stopped part-way is resumed after its
    /// acknowledged prefix; a complete (or partial) one is sent again whole, unless `resume` is false,
    /// which always starts from the first device. Returns the record as written to `exports`. `progress` gets the
    /// documents acknowledged so far and the night's documents (a terminal's live line).
    @discardableResult
    public func export(
        asOf: String, store: SnapshotStore, resume: Bool = true,
        progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) async throws -> ExportRecord {
        let ledger = ExportLedger(database: store.database)
        guard let documents = try ledger.documents(asOf: asOf) else { throw NoSuchNight(asOf: asOf) }
        let index = config.index.name(asOf: asOf)
        let previous = try ledger.record(asOf: asOf)
        var record = ExportRecord(
            asOf: asOf, index: index, status: .running, documents: documents, sent: 0, ok: 0,
            failed: 0, resumeAfter: 0, attempts: (previous?.attempts ?? 0) + 1, itemErrors: [],
            failure: nil)
        // An export stopped by a version without generations starts over: its documents carry none, and the
        // clean-up at the end would delete the acknowledged prefix it did not send again.
        let resuming =
            resume && previous.map { $0.status == .failed || $0.status == .running } == true && previous?.index == index
            && previous?.generation != nil
        // A fresh export starts a generation; a resumed one keeps its own, so the documents it already sent count.
        record.generation = NightExporter.newGeneration()
        if resuming, let previous {
            record.sent = previous.sent
            record.ok = previous.ok
            record.failed = previous.failed
            record.resumeAfter = previous.resumeAfter
            record.itemErrors = previous.itemErrors
            if let generation = previous.generation { record.generation = generation }
        }
        var log = logger
        log[metadataKey: "as_of"] = "\(asOf)"
        log.info(
            "export started",
            metadata: [
                "index": "\(index)", "documents": "\(documents)",
                "resume_after": "\(record.resumeAfter)"
            ])
        try ledger.write(record, startedAt: resuming ? nil : Date(), finished: false)

        let started = ContinuousClock.now
        var stop: ExportStop?
        do { try await requireTemplate(covering: index) } catch let s as ExportStop { stop = s }
        progress(record.ok + record.failed, documents)
        if stop == nil {
            stop = try await sendAll(asOf: asOf, index: index, store: store, ledger: ledger, record: &record) {
                progress($0, documents)
            }
        }
        if stop == nil {
            do { record.removed = try await removeOtherGenerations(asOf: asOf, index: index, generation: record.generation ?? "") } catch let s as ExportStop {
                stop = s
            }
        }
        if let stop {
            record.status = .failed
            record.failure = String(Redactor.redact(stop.description).prefix(500))
            log.error("export failed", metadata: ["error": "\(stop.description)", "resume_after": "\(record.resumeAfter)"])
        } else {
            record.status = record.failed > 0 ? .partial : .complete
        }
        try ledger.write(record, startedAt: nil, finished: true)
        let seconds = (ContinuousClock.now - started).seconds
        log.info(
            "export finished",
            metadata: [
                "status": "\(record.status.rawValue)", "ok": "\(record.ok)", "failed": "\(record.failed)",
                "sent": "\(record.sent)", "removed": "\(record.removed)", "seconds": "\(String(format: "%.2f", seconds))"
            ])
        for error in record.itemErrors.prefix(5) { log.warning("document rejected", metadata: ["error": "\(error)"]) }
        return record
    }

    /// Nights on or after `since` whose export is missing or did not complete, oldest first (catching up
    /// after an outage). Partial nights are not retried: their rejected documents need a mapping fix first.
    public func pendingNights(since: String, store: SnapshotStore) throws -> [String] {
        try ExportLedger(database: store.database).nights(since: since)
            .filter { $0.status == nil || $0.status == .failed || $0.status == .running }.map(\.asOf)
    }

    /// The export record of a night, if it was ever exported.
    public func record(asOf: String, store: SnapshotStore) throws -> ExportRecord? {
        try ExportLedger(database: store.database).record(asOf: asOf)
    }

    /// A new export generation: unique per export (a re-run and re-export within one second still differs).
    static func newGeneration() -> String {
        String(UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(20))
    }

    /// Deletes the night's documents of other generations from `index` once this generation's are all answered:
    /// devices of an earlier snapshot of the night that the current one no longer has (and documents of older
    /// exports, already overwritten by this one when their device is still there). Refreshes first, since the
    /// index refreshes only every 30 s and `_delete_by_query` sees only refreshed documents. Returns the count.
    func removeOtherGenerations(asOf: String, index: String, generation: String) async throws -> Int {
        let sender = BulkSender(config: config, client: client)
        let options = "ignore_unavailable=true&allow_no_indices=true"
        _ = try await post(index + "/_refresh?" + options, nil, "refresh before removing stale documents", index: index)
        // Both values are plain: a YYYY-MM-DD night of the store and a hex generation.
        let query = #"{"query":{"bool":{"filter":[{"term":{"as_of":"\#(asOf)"}}],"must_not":[{"term":{"generation":"\#(generation)"}}]}}}"#
        let response = try await post(
            index + "/_delete_by_query?conflicts=proceed&refresh=true&" + options,
            query, "removing documents of devices no longer in the night", index: index)
        struct Answer: Decodable {
            var deleted: Int?
            var failures: [Failure]?
            struct Failure: Decodable {}
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: response.body) else {
            throw ExportStop(.answer, "the _delete_by_query answer is not readable JSON\(sender.quote(response.body))")
        }
        guard (answer.failures ?? []).isEmpty else {
            throw ExportStop(
                .server,
                "\((answer.failures ?? []).count) documents of devices no longer in the night could not be deleted"
                    + sender.quote(response.body))
        }
        return answer.deleted ?? 0
    }

    /// POSTs to `path` of the cluster; 2xx or an `ExportStop` saying what to check.
    private func post(_ path: String, _ body: String?, _ label: String, index: String) async throws -> HTTPResponse {
        let sender = BulkSender(config: config, client: client)
        let request = try sender.request(
            method: "POST", url: config.url + "/" + path, body: body.map { Data($0.utf8) },
            label: label, contentType: "application/json")
        let response: HTTPResponse
        do { response = try await client.send(request) } catch let error as HTTPError {
            throw ExportStop(.connection, "\(error)")
        }
        switch response.status {
        case 200..<300: return response
        case 401, 403:
            throw ExportStop(
                .auth,
                "\(config.url) refused \(label) with HTTP \(response.status): check export.elasticsearch "
                    + "credentials and the user's delete privilege on \(index)")
        default:
            throw ExportStop(
                RetryPolicy.isRetryable(status: response.status) ? .server : .answer,
                "\(request.what): HTTP \(response.status)\(sender.quote(response.body))")
        }
    }

    /// Streams the night in chunks with up to `maxConnections` in flight; returns why it stopped, if it did.
    private func sendAll(
        asOf: String, index: String, store: SnapshotStore, ledger: ExportLedger,
        record: inout ExportRecord, progress: (Int) -> Void
    ) async throws -> ExportStop? {
        // The night is read through a connection of its own, so the ledger's progress writes never meet its snapshot.
        let reader = try NightDocuments(
            database: try store.readConnection(), asOf: asOf, index: index,
            generation: record.generation ?? "",
            after: record.resumeAfter)
        var chunks = ChunkBuilder(reader: reader, byteLimit: config.chunkBytes, maxDocuments: config.chunkDocuments)
        let sender = BulkSender(config: config, client: client)
        var stop: ExportStop?
        // Chunks done out of order wait here until every chunk before them is done too.
        var done: [Int: ChunkOutcome] = [:]
        var nextToAcknowledge = 0

        try await withThrowingTaskGroup(of: ChunkOutcome.self) { group in
            var inFlight = 0
            func absorb(_ outcome: ChunkOutcome) throws {
                if let limit = outcome.byteLimit, limit < chunks.byteLimit { chunks.byteLimit = limit }
                if let s = outcome.stop, stop == nil {
                    stop = s
                    group.cancelAll()
                }
                guard outcome.stop == nil else { return }
                done[outcome.seq] = outcome
                var advanced = false
                while let next = done.removeValue(forKey: nextToAcknowledge) {
                    record.ok += next.ok
                    record.failed += next.failed
                    for e in next.errors where record.itemErrors.count < BulkSender.maxRecordedErrors { record.itemErrors.append(e) }
                    record.resumeAfter = next.lastDeviceID
                    nextToAcknowledge += 1
                    advanced = true
                }
                if advanced {
                    try ledger.write(record, startedAt: nil, finished: false)
                    progress(record.ok + record.failed)
                }
            }
            while stop == nil, let chunk = try chunks.next() {
                // Chunk numbers restart per attempt; the resume point is a device id, so that is fine.
                record.sent += chunk.count
                group.addTask { await sender.send(chunk) }
                inFlight += 1
                if inFlight >= config.maxConnections, let outcome = try await group.next() {
                    inFlight -= 1
                    try absorb(outcome)
                }
            }
            while let outcome = try await group.next() { try absorb(outcome) }
        }
        return stop
    }
}

/// Cuts the document stream into chunks that stay under `byteLimit` bytes (a single larger document goes
/// alone) and `maxDocuments` documents. Holds one chunk's bytes at a time.
struct ChunkBuilder {
    let reader: NightDocuments
    var byteLimit: Int
    let maxDocuments: Int
    private var writer: JSONWriter
    private var starts: [Int] = []
    private var lastID = 0
    private var seq = 0
    private var exhausted = false

    init(reader: NightDocuments, byteLimit: Int, maxDocuments: Int) {
        self.reader = reader
        self.byteLimit = byteLimit
        self.maxDocuments = maxDocuments
        writer = JSONWriter(capacity: byteLimit + 64 * 1024)
    }

    /// The next chunk, `nil` when the night is done.
    mutating func next() throws -> BulkChunk? {
        while !exhausted {
            let start = writer.bytes.count
            guard let id = try reader.next(into: &writer) else {
                exhausted = true
                break
            }
            if writer.bytes.count > byteLimit && !starts.isEmpty {
                // This document would overflow the chunk: send the chunk without it, start the next with it.
                let carried = Array(writer.bytes[start...])
                writer.bytes.removeSubrange(start...)
                let chunk = cut()
                writer.bytes.append(contentsOf: carried)
                starts.append(0)
                lastID = id
                return chunk
            }
            starts.append(start)
            lastID = id
            if starts.count >= maxDocuments || writer.bytes.count >= byteLimit { return cut() }
        }
        return cut()
    }

    private mutating func cut() -> BulkChunk? {
        guard !starts.isEmpty else { return nil }
        let chunk = BulkChunk(seq: seq, body: Data(writer.bytes), starts: starts, lastDeviceID: lastID)
        seq += 1
        writer.bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        return chunk
    }
}
