import Foundation
import StethoscopeCore

/// How an export of a night ended (`exports.status`).
public enum ExportStatus: String, Sendable {
    case running
    /// Every document is in the index.
    case complete
    /// Every document was answered, but some were rejected permanently (mapping errors); see `item_errors`.
    case partial
    /// Stopped early (auth, connection, server); `resume_after` says where the next attempt starts.
    case failed
}

/// One row of the `exports` table.
public struct ExportRecord: Sendable, Equatable {
    public var asOf: String
    public var index: String
    public var status: ExportStatus
    public var documents: Int
    public var sent: Int
    public var ok: Int
    public var failed: Int
    public var resumeAfter: Int
    public var attempts: Int
    public var itemErrors: [String]
    public var failure: String?
    /// Carried by every document this export sent; documents of the night with another generation are deleted
    /// once every document was answered (`nil` in rows written before schema version 8).
    public var generation: String? = nil
    /// Documents of devices no longer in the night that this attempt deleted from the index (not stored).
    public var removed: Int = 0

    public init(
        asOf: String, index: String, status: ExportStatus, documents: Int, sent: Int, ok: Int, failed: Int,
        resumeAfter: Int, attempts: Int, itemErrors: [String], failure: String?, generation: String? = nil,
        removed: Int = 0
    ) {
        self.asOf = asOf
        self.index = index
        self.status = status
        self.documents = documents
        self.sent = sent
        self.ok = ok
        self.failed = failed
        self.resumeAfter = resumeAfter
        self.attempts = attempts
        self.itemErrors = itemErrors
        self.failure = failure
        self.generation = generation
        self.removed = removed
    }
}

/// The `exports` table: which night went where and how far, written as the export goes so a crash or a
/// failure leaves a resume point (the last device_id acknowledged together with every device before it).
public struct ExportLedger {
    static let target = "elasticsearch"
    let database: Database

    public init(database: Database) { self.database = database }

    public func record(asOf: String) throws -> ExportRecord? {
        try database.firstRow(
            """
            SELECT index_name, status, documents, sent, ok, failed, resume_after, attempts, item_errors, failure, generation
            FROM exports WHERE as_of = ?1 AND target = ?2
            """, asOf, ExportLedger.target
        ) { st in
            ExportRecord(
                asOf: asOf, index: st.string(0) ?? "", status: ExportStatus(rawValue: st.string(1) ?? "") ?? .failed,
                documents: st.int(2), sent: st.int(3), ok: st.int(4), failed: st.int(5), resumeAfter: st.int(6),
                attempts: st.int(7), itemErrors: ExportLedger.decodeErrors(st.string(8) ?? "[]"), failure: st.string(9),
                generation: st.string(10))
        }
    }

    /// Nights of the store on or after `since`, oldest first, with their export status (nil: never exported).
    public func nights(since: String) throws -> [(asOf: String, status: ExportStatus?)] {
        var out: [(String, ExportStatus?)] = []
        try database.forEachRow(
            """
            SELECT r.as_of, e.status FROM runs r LEFT JOIN exports e ON e.as_of = r.as_of AND e.target = ?2
            WHERE r.as_of >= ?1 AND r.status != 'failed' ORDER BY r.as_of
            """, since, ExportLedger.target
        ) { st in
            out.append((st.string(0) ?? "", st.string(1).flatMap(ExportStatus.init(rawValue:))))
        }
        return out
    }

    /// The documents a night exports (its devices), `nil` when the night is not in the store.
    public func documents(asOf: String) throws -> Int? {
        guard try database.firstRow("SELECT devices FROM runs WHERE as_of = ?1", asOf, map: { $0.int(0) }) != nil else { return nil }
        return try database.firstRow("SELECT COUNT(*) FROM devices WHERE as_of = ?1", asOf) { $0.int(0) }
    }

    public func write(_ r: ExportRecord, startedAt: Date?, finished: Bool) throws {
        try database.execute(
            """
            INSERT INTO exports (as_of, target, index_name, status, started_at, finished_at, documents, sent, ok, failed,
                                 resume_after, attempts, item_errors, failure, generation)
            VALUES (?1, ?2, ?3, ?4, COALESCE(?5, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
            ON CONFLICT (as_of, target) DO UPDATE SET
                index_name = excluded.index_name, status = excluded.status,
                started_at = COALESCE(?5, exports.started_at), finished_at = excluded.finished_at,
                documents = excluded.documents, sent = excluded.sent, ok = excluded.ok, failed = excluded.failed,
                resume_after = excluded.resume_after, attempts = excluded.attempts,
                item_errors = excluded.item_errors, failure = excluded.failure, generation = excluded.generation
            """,
            r.asOf, ExportLedger.target, r.index, r.status.rawValue, SQLTime(startedAt), SQLTime(finished ? Date() : nil),
            r.documents, r.sent, r.ok, r.failed, r.resumeAfter, r.attempts,
            ExportLedger.encodeErrors(r.itemErrors.map(Redactor.redact)), r.failure.map(Redactor.redact), r.generation)
    }

    static func encodeErrors(_ errors: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return String(decoding: (try? encoder.encode(errors)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decodeErrors(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}
