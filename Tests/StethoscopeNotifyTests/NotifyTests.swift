import Foundation
import StethoscopeApp
import StethoscopeCore
import StethoscopeNotify
import StethoscopeStore
import Testing

/// A transport that records what it was given; `answer` decides each outcome (default: sent).
final class RecordingTransport: MailTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var mails: [OutgoingMail] = []
    let answer: @Sendable (Int, OutgoingMail) -> MailOutcome
    init(answer: @escaping @Sendable (Int, OutgoingMail) -> MailOutcome = { _, _ in .sent(refused: [:]) }) { self.answer = answer }
    var sent: [OutgoingMail] { lock.withLock { mails } }
    func send(_ batch: [OutgoingMail]) async -> [MailOutcome] {
        batch.map { m in
            lock.withLock {
                let n = mails.count
                mails.append(m)
                return answer(n, m)
            }
        }
    }
}

/// A small demo company, 8 nights from 2026-11-01 (a Sunday).
func demoStore(_ name: String = #function) async throws -> (URL, SnapshotStore) {
    let dir = try temporaryDirectory(name)
    let code = await DemoRunner.run(.init(people: 80, nights: 8, seed: 5, out: dir, start: "2026-11-01"))
    #expect(code == .complete)
    return (dir, try SnapshotStore(path: dir.appendingPathComponent("stethoscope.db")))
}

func notifyConfig(
    _ extra: String = "", holdout: Double = 0,
    cadence: String = "{quiet_weekdays: [], remind_every_nights: 3, max_reminders: 1}"
) throws -> NotifyConfig {
    let yaml = """
        notify:
          from: "IT Security <it@example.com>"
          dry_run: {out: /tmp/unused}
          holdout: \(holdout)
          cadence: \(cadence)
        \(extra)
        """
    let root = try ConfigSection.parse(yaml: yaml)
    return try NotifyConfig.from(section: try root.section("notify"))!
}

func recipients(_ m: OutgoingMail) -> String { m.recipients.first ?? "" }

@Suite struct NotifyPlannerTests {
    @Test func cadenceHoldOutAndExclusionsOverSeveralNights() async throws {
        let (_, store) = try await demoStore()
        let db = store.database
        let excluded =
            try db.rows(
                """
                SELECT owner FROM devices d JOIN practice_results r ON r.as_of = d.as_of AND r.device_id = d.device_id
                WHERE d.as_of = '2026-11-01' AND r.status = 'warn' AND d.owner IS NOT NULL AND d.stale = 0 ORDER BY owner LIMIT 1
                """
            ).first?[0] ?? nil
        let exclude = try #require(excluded)
        let config = try notifyConfig("  exclude: [\"\(exclude.uppercased())\"]", holdout: 0.3)
        var perNight: [String: [String]] = [:]
        for day in 1...8 {
            let asOf = String(format: "2026-11-%02d", day)
            let t = RecordingTransport()
            let o = try await Notifier(config: config).run(database: db, asOf: asOf, transport: t)
            #expect(o.succeeded)
            perNight[asOf] = t.sent.filter { $0.messageID.contains(".person.") }.map(recipients)
        }
        let people = try db.rows("SELECT email, active FROM people WHERE as_of = '2026-11-08'")
        // Inactive on the night of the message (leavers become inactive during the horizon).
        var inactiveOn: [String: Set<String>] = [:]
        for row in try db.rows("SELECT as_of, email FROM people WHERE active = 0") { inactiveOn[row[0]!, default: []].insert(row[1]!) }
        #expect(!inactiveOn.isEmpty)
        var nightsSent: [String: [Int]] = [:]
        for (asOf, list) in perNight {
            // One person message per person and night.
            #expect(Set(list).count == list.count)
            for p in list {
                #expect(p != exclude)
                #expect(inactiveOn[asOf]?.contains(p) != true)
                // Held out of the digest (no campaign here): never nudged.
                #expect(!Planner.isHeldOut(p, selection: "digest", share: 0.3))
                nightsSent[p, default: []].append(Int(asOf.suffix(2))!)
            }
        }
        #expect(!nightsSent.isEmpty)
        // The cadence: a repeat message is a reminder ≥ 3 nights later or names an item the earlier ones did not.
        let ledger = try db.rows("SELECT person, as_of, reminder, items FROM notifications WHERE kind = 'person' ORDER BY person, as_of")
        var seen: [String: (day: Int, items: Set<String>, count: Int)] = [:]
        for row in ledger {
            let (p, day, items) = (row[0]!, Int(row[1]!.suffix(2))!, Set(row[3]!.split(separator: " ").map(String.init)))
            if let prev = seen[p] {
                // (or it is the first message of a new failing streak, reminder 0)
                #expect(
                    day - prev.day >= 3 || !items.isSubset(of: prev.items) || row[2] == "0",
                    "\(p) messaged again on night \(day) too soon")
                #expect(Int(row[2]!)! <= prev.count)
                #expect(day > prev.day)
            } else {
                #expect(row[2] == "0")
            }
            seen[p] = (day, (seen[p]?.items ?? []).union(items), (seen[p]?.count ?? 0) + 1)
        }
        // Held-out people who needed action are recorded, and none of them got a message.
        let held = try db.rows("SELECT DISTINCT person FROM notifications WHERE kind = 'holdout'").compactMap { $0[0] }
        #expect(!held.isEmpty)
        for p in held {
            #expect(Planner.isHeldOut(p, selection: "digest", share: 0.3))
            #expect(nightsSent[p] == nil)
        }
        // Roughly the configured share, and stable.
        let share = Double(people.filter { Planner.isHeldOut($0[0]!, selection: "digest", share: 0.3) }.count) / Double(people.count)
        #expect(share > 0.15 && share < 0.45)
    }

    @Test func unknownResultsWithoutAFailingStreakAreNotMessagedEveryNight() async throws {
        let (_, store) = try await demoStore()
        let db = store.database
        let config = try notifyConfig(
            "  selection: {statuses: [unknown], nudge_ratings: []}",
            cadence: "{quiet_weekdays: [], remind_every_nights: 7}")
        for day in 1...4 {
            _ = try await Notifier(config: config).run(database: db, asOf: String(format: "2026-11-%02d", day), transport: RecordingTransport())
        }
        let rows = try db.rows("SELECT person, items FROM notifications WHERE kind = 'person' ORDER BY person, as_of")
        #expect(!rows.isEmpty)
        var told: [String: Set<String>] = [:]
        for row in rows {
            let items = Set(row[1]!.split(separator: " ").map(String.init))
            // A repeat within the reminder interval must name something new.
            if let before = told[row[0]!] { #expect(!items.isSubset(of: before), "\(row[0]!) messaged again for the same unknowns") }
            told[row[0]!, default: []].formUnion(items)
        }
    }

    @Test func campaignsCombineWithTheDigestIntoOneMessage() async throws {
        let (_, store) = try await demoStore()
        let db = store.database
        // Everyone failing anything on a Mac is in the campaign; the digest also selects warn everywhere.
        let config = try notifyConfig(
            """
              campaigns:
                - {name: mac-push, platforms: [Mac], statuses: [warn, nudge, unknown], subject: "Mac push", intro: "Mac week."}
                - {name: later, from: "2027-01-01", subject: "Not yet"}
            """)
        let t = RecordingTransport()
        _ = try await Notifier(config: config).run(database: db, asOf: "2026-11-03", transport: t)
        let rows = try db.rows("SELECT person, campaign, subject FROM notifications WHERE as_of = '2026-11-03' AND kind = 'person'")
        #expect(Set(rows.map { $0[0]! }).count == rows.count)
        #expect(rows.contains { $0[1] == "digest,mac-push" && $0[2] == "Mac push" })
        #expect(rows.contains { $0[1] == "mac-push" } || rows.contains { $0[1] == "digest" })
        #expect(!rows.contains { ($0[1] ?? "").contains("later") })
        #expect(t.sent.count == rows.count)
        let both = try #require(t.sent.first { String(decoding: $0.data, as: UTF8.self).contains("List-Id: \"Stethoscope: mac-push\"") })
        #expect(String(decoding: both.data, as: UTF8.self).contains("<mac-push.stethoscope.example.com>"))
    }

    @Test func aCrashAndARerunNeverSendTwice() async throws {
        let (_, store) = try await demoStore()
        let db = store.database
        let config = try notifyConfig()
        var notifier = Notifier(config: config)
        notifier.batchSize = 4
        // The server drops the connection after 5 messages: 5 sent, the rest refused for now.
        let first = RecordingTransport { n, _ in n < 5 ? .sent(refused: [:]) : .temporaryFailure(reason: "421 closing connection") }
        let o1 = try await notifier.run(database: db, asOf: "2026-11-02", transport: first)
        #expect(o1.sent == 5)
        #expect(o1.deferred == o1.planned - 5)
        #expect(!o1.succeeded)
        // A crash: the next attempt's first batch is handed over but never answered (rows stay 'sending').
        let crashed = try db.rows(
            """
            SELECT message_id FROM notifications WHERE as_of = '2026-11-02' AND state = 'deferred' ORDER BY person LIMIT 2
            """
        ).compactMap { $0[0] }
        #expect(crashed.count == 2)
        try db.exec("UPDATE notifications SET state = 'sending' WHERE message_id IN (\(crashed.map { "'\($0)'" }.joined(separator: ",")))")
        let second = RecordingTransport()
        let o2 = try await notifier.run(database: db, asOf: "2026-11-02", transport: second)
        #expect(o2.leftSending == 2)
        #expect(o2.alreadySent == 5)
        let third = RecordingTransport()
        let o3 = try await notifier.run(database: db, asOf: "2026-11-02", transport: third)
        #expect(third.sent.isEmpty)
        #expect(o3.alreadySent == o1.planned - 2)
        // Per message (one per person and kind): exactly one accepted, none doubled, the unconfirmed ones not resent.
        var accepted: [String: Int] = [:]
        for (i, m) in first.sent.enumerated() where i < 5 { accepted[m.messageID, default: 0] += 1 }
        for m in second.sent { accepted[m.messageID, default: 0] += 1 }
        #expect(accepted.values.allSatisfy { $0 == 1 })
        #expect(accepted.count == o1.planned - 2)
        for id in crashed { #expect(accepted[id] == nil) }
        #expect(Set(first.sent.map(\.messageID)).count == first.sent.count)
        // A re-run of the night (same snapshot rewritten) sends nothing new either.
        #expect(try db.rows("SELECT count(*) FROM notifications WHERE as_of = '2026-11-02' AND state = 'sent'").first?[0] == String(o1.planned - 2))
    }

    @Test func permanentFailuresAreNotRetriedAndRefusedCopiesRecorded() async throws {
        let (_, store) = try await demoStore()
        let db = store.database
        let t = RecordingTransport { n, m in
            n == 0 ? .permanentFailure(reason: "550 no such user") : .sent(refused: m.recipients.count > 1 ? [m.recipients[1]: "550 no"] : [:])
        }
        let o = try await Notifier(config: try notifyConfig()).run(database: db, asOf: "2026-11-04", transport: t)
        #expect(o.failed == 1)
        let again = RecordingTransport()
        _ = try await Notifier(config: try notifyConfig()).run(database: db, asOf: "2026-11-04", transport: again)
        #expect(again.sent.isEmpty)
        #expect(try db.rows("SELECT error FROM notifications WHERE state = 'failed'").first?[0] == "550 no such user")
    }
}

@Suite struct NotifyLimitsTests {
    @Test func capQuietDayAndManagerDigests() async throws {
        let (_, store) = try await demoStore()
        let db = store.database
        let night = try NightData.load(db, asOf: "2026-11-06")
        // The per-run cap keeps the longest-failing people and leaves the rest for the next night.
        let all = Planner(config: try notifyConfig()).plan(night, history: [:], holdoutHistory: [:])
        var capped = try notifyConfig(cadence: "{quiet_weekdays: [], max_per_run: 3}")
        let plan = Planner(config: capped).plan(night, history: [:], holdoutHistory: [:])
        #expect(all.people.count > 3)
        #expect(plan.people.count == 3)
        #expect(plan.deferredByCap == all.people.count - 3)
        let floor = plan.people.map(\.maxNights).min()!
        #expect(all.people.filter { $0.maxNights > floor }.allSatisfy { p in plan.people.contains { $0.person == p.person } })

        // 2026-11-01 is a Sunday: a quiet day sends nothing and records no hold-out either.
        capped = try notifyConfig(holdout: 0.5, cadence: "{quiet_weekdays: [sunday, sat]}")
        let t = RecordingTransport()
        let quiet = try await Notifier(config: capped).run(database: db, asOf: "2026-11-01", transport: t)
        #expect(quiet.quiet && t.sent.isEmpty && quiet.heldOut == 0)
        #expect(NotifyConfig.weekday(of: "2026-11-01") == 0 && NotifyConfig.weekday(of: "2026-12-03") == 4)

        // Manager digests come from the roll-ups; names only with include_people.
        let planner = Planner(config: try notifyConfig())
        #expect(try planner.managerDigests(db, night: night).isEmpty)  // a Friday, the digest goes out on Mondays
        let digests = try planner.managerDigests(db, night: night, force: true)
        #expect(!digests.isEmpty)
        for m in digests {
            let row = try db.rows(
                """
                SELECT devices, stale, green FROM rollup_groups WHERE chart = 'night' AND as_of = '2026-11-06'
                AND group_kind = 'manager' AND group_id = '\(m.manager)'
                """
            ).first!
            let counted = Int(row[0]!)! - Int(row[1]!)!
            if counted > 0 { #expect(abs(m.greenRate! - Double(Int(row[2]!)!) / Double(counted)) < 1e-12) }
            #expect(m.longest.isEmpty)
            #expect(m.previousAsOf == nil)  // no night a week before the demo's sixth
        }
        let named = try Planner(config: try notifyConfig("  manager_digest: {include_people: true, top: 3}"))
            .managerDigests(db, night: night, force: true)
        let withPeople = try #require(named.first { !$0.longest.isEmpty })
        let chain = night.chain(of: withPeople.manager)
        #expect(withPeople.longest.count <= 3)
        #expect(withPeople.longest.allSatisfy { chain.contains($0.email) })
        #expect(withPeople.longest.map(\.nights) == withPeople.longest.map(\.nights).sorted(by: >))
    }
}
