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
    static func reset(_ store: SnapshotStore, world: DemoWorld) throws {
        world.forgetMessages()
        try store.forgetNotifications()
    }

    /// Notifies `asOf` into the mailboxes (recorded in the ledger as sent) and hands the world what it named.
    @discardableResult
    static func deliver(
        _ notify: NotifyConfig, asOf: String, store: SnapshotStore, world: DemoWorld,
        now: Date
    ) async throws -> NotifyOutcome {
        let outcome = try await Notifier(config: notify).run(database: store.database, asOf: asOf, transport: Mailbox(), now: now)
        world.receive(try messages(store, asOf: asOf, world: world))
        return outcome
    }

    /// The items of `asOf`'s person messages that count as delivered, as (physical device, practice, night).
    static func messages(_ store: SnapshotStore, asOf: String, world: DemoWorld) throws -> [DemoMessage] {
        guard let night = world.night(of: asOf) else { return [] }
        let items = try store.deliveredItems(asOf: asOf).map { (id: $0.device, practice: $0.practice) }
        guard !items.isEmpty else { return [] }
        // The records each stored device merged ('source/local_id'), then the physical device behind them.
        let wanted = Set(items.map(\.id))
        let records = try store.mergedRecords(asOf: asOf, of: wanted)
        let truth = world.groundTruth(night: night)
        var physical: [Int: Int] = [:]
        for id in wanted {
            for record in (records[id] ?? "").split(separator: " ") {
                if let d = truth[String(record)] {
                    physical[id] = d
                    break
                }
            }
        }
        return items.compactMap { item in physical[item.id].map { DemoMessage(device: $0, practice: item.practice, night: night) } }
    }
}
