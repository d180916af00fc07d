import Foundation
import StethoscopeStore

/// One row of the `notifications` ledger (Schemas/sqlite/0008_notifications.sql).
public struct LedgerEntry: Sendable, Equatable {
    public enum Kind: String, Sendable { case person, manager, holdout }
    public enum State: String, Sendable {
        case sending, sent, deferred, failed, unconfirmed
        case heldOut = "held_out"
    }

    public var asOf: String
    public var kind: Kind
    public var campaign: String
    public var person: String
    public var cc: String?
    public var messageID: String?
    public var subject: String?
    public var state: State
    public var attempts: Int
    public var error: String?
    public var reminder: Int
    public var devices: [String]
    public var practices: [String]
    /// `device_id:practice`.
    public var items: Set<String>

    /// A message that counts as delivered for the cadence (and is never sent again).
    public var counts: Bool { state == .sent || state == .sending || state == .unconfirmed }
}

/// The ledger: reads history for the cadence, and records each message before and after the transport.
struct Ledger {
    let database: Database
    /// A deferred message is retried by later runs this many times in all, then marked failed.
    static let maxAttempts = 5

    /// Every row of kind `kind` on nights before `asOf` (the cadence's history), by person.
    func history(kind: LedgerEntry.Kind, before asOf: String) throws -> [String: [LedgerEntry]] {
        var out: [String: [LedgerEntry]] = [:]
        for e in try rows("WHERE kind = ?1 AND as_of < ?2 ORDER BY as_of", kind.rawValue, asOf) { out[e.person, default: []].append(e) }
        return out
    }

    /// The rows of one night.
    func night(_ asOf: String) throws -> [LedgerEntry] { try rows("WHERE as_of = ?1 ORDER BY kind, person, campaign", asOf) }

    private func rows(_ whereClause: String, _ args: String...) throws -> [LedgerEntry] {
        let st = try database.cached(
            """
            SELECT as_of, kind, campaign, person, cc, message_id, subject, state, attempts, error, reminder, devices, practices, items
            FROM notifications \(whereClause)
            """)
        st.bind(args)
        defer { st.reset() }
        var out: [LedgerEntry] = []
        while try st.step() {
            func words(_ c: Int) -> [String] { (st.string(c) ?? "").split(separator: " ").map(String.init) }
            out.append(
                LedgerEntry(
                    asOf: st.string(0) ?? "", kind: .init(rawValue: st.string(1) ?? "") ?? .person, campaign: st.string(2) ?? "",
                    person: st.string(3) ?? "", cc: st.string(4), messageID: st.string(5), subject: st.string(6),
                    state: .init(rawValue: st.string(7) ?? "") ?? .failed, attempts: st.int(8), error: st.string(9), reminder: st.int(10),
                    devices: words(11), practices: words(12), items: Set(words(13))))
        }
        return out
    }

    /// Inserts new rows (a message about to be handed over, or a hold-out) in one transaction; a row already
    /// there for the same night, kind and person is left alone.
    func insert(_ entries: [LedgerEntry], now: Date) throws {
        guard !entries.isEmpty else { return }
        try database.transaction {
            for e in entries {
                try database.execute(
                    """
                    INSERT OR IGNORE INTO notifications (as_of, kind, campaign, person, cc, message_id, subject, state, attempts, error,
                        reminder, devices, practices, items, created_at, updated_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)
                    """,
                    e.asOf, e.kind.rawValue, e.campaign, e.person, e.cc, e.messageID, e.subject, e.state.rawValue, e.attempts,
                    e.error, e.reminder, e.devices.joined(separator: " "), e.practices.joined(separator: " "),
                    e.items.sorted().joined(separator: " "), SQLTime(now))
            }
        }
    }

    /// Marks a row (found by night, kind and person) with a new state, attempt count and error.
    func update(
        _ entries: [(asOf: String, kind: LedgerEntry.Kind, person: String, state: LedgerEntry.State, attempts: Int, error: String?)],
        now: Date
    ) throws {
        guard !entries.isEmpty else { return }
        try database.transaction {
            for e in entries {
                try database.execute(
                    """
                    UPDATE notifications SET state = ?4, attempts = ?5, error = ?6, updated_at = ?7
                    WHERE as_of = ?1 AND kind = ?2 AND person = ?3
                    """,
                    e.asOf, e.kind.rawValue, e.person, e.state.rawValue, e.attempts, e.error.map { String($0.prefix(500)) }, SQLTime(now))
            }
        }
    }
}
