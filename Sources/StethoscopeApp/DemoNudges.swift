import Foundation
import StethoscopeCore
import StethoscopeNotify
import StethoscopeSources
import StethoscopeStore

/// The demo's simulated mailboxes: after each night but the last, `stethoscope demo` runs notify for real into a
/// transport that delivers to the simulated people, so the ledger records what was sent, and the people named
/// respond (demo plugin README, "Responses to nudges"). The response is driven by the ledger alone: the items of
/// the night's person messages that count as delivered, mapped to physical demo devices by the ground truth.
enum DemoNudges {
    /// Accepts every message: the recipients are simulated people, nothing leaves the process.
    struct Mailbox: MailTransport {
        func send(_ mails: [OutgoingMail]) async -> [MailOutcome] { mails.map { _ in .sent(refused: [:]) } }
    }

    /// Starts the simulated mailboxes afresh: the demo re-runs every night from night 0, so an earlier demo's
    /// ledger (other dates, or the same dates of another world) must not decide who is due or who responds.
    static func reset(_ db: Database, world: DemoWorld) throws {
        world.forgetMessages()
        if try db.int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'notifications'") == 1 {
            try db.exec("DELETE FROM notifications")
        }
    }

    /// Notifies `asOf` into the mailboxes (recorded in the ledger as sent) and hands the world what it named.
    @discardableResult
    static func deliver(_ notify: NotifyConfig, asOf: String, store: SnapshotStore, world: DemoWorld,
                        now: Date) async throws -> NotifyOutcome {
        let outcome = try await Notifier(config: notify).run(database: store.database, asOf: asOf, transport: Mailbox(), now: now)
        world.receive(try messages(store.database, asOf: asOf, world: world))
        return outcome
    }

    /// The items of `asOf`'s person messages that count as delivered, as (physical device, practice, night).
    static func messages(_ db: Database, asOf: String, world: DemoWorld) throws -> [DemoMessage] {
        guard let night = world.night(of: asOf) else { return [] }
        let rows = try db.prepare("""
            SELECT items FROM notifications
            WHERE as_of = ?1 AND kind = 'person' AND state IN ('sent', 'sending', 'unconfirmed')
            """)
        rows.bind(1, asOf)
        var items: [(id: Int, practice: String)] = []
        while try rows.step() {
            for item in (rows.string(0) ?? "").split(separator: " ") {
                let parts = item.split(separator: ":", maxSplits: 1)
                if parts.count == 2, let id = Int(parts[0]) { items.append((id, String(parts[1]))) }
            }
        }
        guard !items.isEmpty else { return [] }
        // The records each stored device merged ('source/local_id'), then the physical device behind them.
        let wanted = Set(items.map(\.id))
        let devices = try db.prepare("SELECT device_id, records FROM devices WHERE as_of = ?1")
        devices.bind(1, asOf)
        var records: [Int: String] = [:]
        while try devices.step() {
            let id = devices.int(0)
            if wanted.contains(id) { records[id] = devices.string(1) ?? "" }
        }
        let truth = world.groundTruth(night: night)
        var physical: [Int: Int] = [:]
        for id in wanted {
            for record in (records[id] ?? "").split(separator: " ") {
                if let d = truth[String(record)] { physical[id] = d; break }
            }
        }
        return items.compactMap { item in physical[item.id].map { DemoMessage(device: $0, practice: item.practice, night: night) } }
    }
}
