import Foundation
import StethoscopeCore
import StethoscopeStore

/// What one notify run did.
public struct NotifyOutcome: Sendable, Equatable {
    public var asOf: String
    public var planned = 0
    public var sent = 0
    public var deferred = 0
    public var failed = 0
    public var unconfirmed = 0
    /// Messages of this night already in the ledger as sent (a re-run): not sent again.
    public var alreadySent = 0
    /// Rows a crashed run left in 'sending': not re-sent (at-most-once); see README, "Nudges".
    public var leftSending = 0
    public var heldOut = 0
    public var managerDigests = 0
    public var deferredByCap = 0
    public var quiet = false
    /// Recipients refused permanently while the message went to the others (e.g. the manager copied).
    public var refusedRecipients = 0

    /// Every message went out (nothing deferred, failed or unconfirmed).
    public var succeeded: Bool { deferred == 0 && failed == 0 && unconfirmed == 0 && refusedRecipients == 0 }
}

/// Plans a night's messages, records them in the ledger and hands them to a transport (README, "Nudges").
public struct Notifier: Sendable {
    public var config: NotifyConfig
    /// Messages handed to the transport at a time: a crash leaves at most this many rows unconfirmed.
    public var batchSize = 50

    public init(config: NotifyConfig) { self.config = config }

    struct Built {
        var entry: LedgerEntry
        var mail: OutgoingMail
        var subject: String
        var to: String
        var html: String
    }

    /// The newest night that can be notified (complete or partial, with its detail).
    public static func latestNight(_ db: Database) throws -> String? {
        let st = try db.prepare("SELECT MAX(as_of) FROM runs WHERE status <> 'failed' AND detail_pruned = 0")
        return try st.step() ? st.string(0) : nil
    }

    /// Notifies `asOf`. With `dryRun`, writes the messages and an `index.html` there and records nothing.
    /// `progress` gets the messages handed over so far and the messages to send (a terminal's live line).
    public func run(
        database db: Database, asOf: String, transport: any MailTransport, now: Date = Date(),
        dryRun: URL? = nil, forceManagerDigest: Bool = false,
        progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) async throws -> NotifyOutcome {
        let ledger = Ledger(database: db)
        var stages = Stages()
        let (plan, managers, built) = try planAndBuild(db, asOf: asOf, now: now, forceManagerDigest: forceManagerDigest, stages: &stages)
        var outcome = NotifyOutcome(asOf: asOf, heldOut: plan.holdouts.count, deferredByCap: plan.deferredByCap, quiet: plan.quiet)
        outcome.managerDigests = managers.count
        let tonight = try ledger.night(asOf)
        var existing: [String: LedgerEntry] = [:]
        for e in tonight where e.kind != .holdout { existing["\(e.kind.rawValue) \(e.person)"] = e }
        outcome.planned = built.count
        // A message of this night already handed over (sent, unconfirmed, failed, or 'sending' from a crash) is never
        // sent again; a deferred one is retried with its Message-ID.
        var toSend: [Built] = []
        for var b in built {
            guard let e = existing["\(b.entry.kind.rawValue) \(b.entry.person)"] else {
                toSend.append(b)
                continue
            }
            switch e.state {
            case .deferred where e.attempts < Ledger.maxAttempts:
                b.entry.attempts = e.attempts
                b.entry.messageID = e.messageID
                toSend.append(b)
            case .sending: outcome.leftSending += 1
            case .sent: outcome.alreadySent += 1
            default: break
            }
        }
        progress(0, toSend.count)
        if let dir = dryRun {
            try await writePreview(toSend, transport: transport, out: dir, asOf: asOf)
            outcome.sent = toSend.count
            progress(toSend.count, toSend.count)
            return outcome
        }
        try ledger.insert(plan.holdouts, now: now)
        var start = 0
        while start < toSend.count {
            let chunk = Array(toSend[start..<min(start + batchSize, toSend.count)])
            start += chunk.count
            // Recorded as 'sending' and committed before the transport sees it: after a crash the row says "maybe sent".
            try ledger.insert(
                chunk.filter { existing["\($0.entry.kind.rawValue) \($0.entry.person)"] == nil }.map {
                    var e = $0.entry
                    e.state = .sending
                    e.attempts = 1
                    return e
                }, now: now)
            try ledger.update(
                chunk.filter { existing["\($0.entry.kind.rawValue) \($0.entry.person)"] != nil }.map {
                    ($0.entry.asOf, $0.entry.kind, $0.entry.person, LedgerEntry.State.sending, $0.entry.attempts + 1, nil)
                }, now: now)
            let answers = await transport.send(chunk.map(\.mail))
            var updates: [(asOf: String, kind: LedgerEntry.Kind, person: String, state: LedgerEntry.State, attempts: Int, error: String?)] = []
            for (i, b) in chunk.enumerated() {
                let attempts = existing["\(b.entry.kind.rawValue) \(b.entry.person)"] == nil ? 1 : b.entry.attempts + 1
                let answer = i < answers.count ? answers[i] : .unconfirmed(reason: "the transport gave no answer for this message")
                let (state, error): (LedgerEntry.State, String?)
                switch answer {
                case .sent(let refused):
                    state = .sent
                    outcome.sent += 1
                    outcome.refusedRecipients += refused.count
                    error = refused.isEmpty ? nil : refused.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
                case .temporaryFailure(let reason):
                    state = attempts < Ledger.maxAttempts ? .deferred : .failed
                    if state == .deferred { outcome.deferred += 1 } else { outcome.failed += 1 }
                    error = reason
                case .permanentFailure(let reason):
                    state = .failed
                    outcome.failed += 1
                    error = reason
                case .unconfirmed(let reason):
                    state = .unconfirmed
                    outcome.unconfirmed += 1
                    error = reason
                }
                updates.append((b.entry.asOf, b.entry.kind, b.entry.person, state, attempts, error.map(Redactor.redact)))
            }
            try ledger.update(updates, now: now)
            progress(start, toSend.count)
        }
        return outcome
    }

    /// Everything a run does before the ledger and the transport: the night read, the plan (from the ledger's
    /// history) and every message rendered.
    func planAndBuild(_ db: Database, asOf: String, now: Date, forceManagerDigest: Bool, stages: inout Stages)
        throws -> (plan: NotifyPlan, managers: [ManagerMessage], built: [Built])
    {
        let clock = ContinuousClock()
        var mark = clock.now
        func lap(_ stage: WritableKeyPath<Stages, Duration>) {
            let t = clock.now
            stages[keyPath: stage] = t - mark
            mark = t
        }
        let (plan, managers): (NotifyPlan, [ManagerMessage]) = try {
            // The night is released at the end of this closure, inside the `plan` stage (a large night's rows take a
            // while to free).
            let night = try NightData.load(db, asOf: asOf)
            lap(\.read)
            let ledger = Ledger(database: db)
            let planner = Planner(config: config)
            let plan = planner.plan(
                night, history: try ledger.history(kind: .person, before: asOf),
                holdoutHistory: try ledger.history(kind: .holdout, before: asOf))
            return (plan, try planner.managerDigests(db, night: night, force: forceManagerDigest))
        }()
        lap(\.plan)
        var built = render(plan.people, asOf: asOf, now: now)
        built.reserveCapacity(plan.people.count + managers.count)
        for m in managers { built.append(build(m, asOf: asOf, now: now)) }
        lap(\.render)
        return (plan, managers, built)
    }

    /// Where `prepare` spent its time (`make bench` prints the split).
    public struct Stages: Sendable {
        /// The night read (`NightData.load`).
        public var read: Duration = .zero
        /// Who gets what (the plan and the manager digests, from the ledger's history), the night's rows freed.
        public var plan: Duration = .zero
        /// Every message's text, HTML and MIME.
        public var render: Duration = .zero
        public init() {}
    }

    /// The person messages rendered, in order, on up to four cores: each message stands alone, and rendering
    /// (text, HTML, MIME) is a third of planning a large night.
    func render(_ people: [PersonMessage], asOf: String, now: Date) -> [Built] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4, people.count / 512))
        guard workers > 1 else { return people.map { build($0, asOf: asOf, now: now) } }
        let slots = Slots<[Built]>(count: workers)
        let chunk = (people.count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            slots[w] = people[min(w * chunk, people.count)..<min((w + 1) * chunk, people.count)].map { build($0, asOf: asOf, now: now) }
        }
        return slots.values.flatMap { $0 }
    }

    /// The night's messages as a run would hand them to the transport, recording and sending nothing
    /// (`make bench` times it: planning, not delivery).
    public func prepare(
        database db: Database, asOf: String, now: Date = Date(),
        forceManagerDigest: Bool = false
    ) throws -> (plan: NotifyPlan, mails: [OutgoingMail], stages: Stages) {
        var stages = Stages()
        let (plan, _, built) = try planAndBuild(db, asOf: asOf, now: now, forceManagerDigest: forceManagerDigest, stages: &stages)
        return (plan, built.map(\.mail), stages)
    }

    func messageID(asOf: String, kind: LedgerEntry.Kind, person: String) -> String {
        "stethoscope.\(asOf).\(kind.rawValue).\(String(Planner.stableHash(person), radix: 16))@\(config.from.domain)"
    }

    func build(_ m: PersonMessage, asOf: String, now: Date) -> Built {
        let id = messageID(asOf: asOf, kind: .person, person: m.person)
        let (text, html) = Content.person(m, config: config)
        let campaign = m.selections.first { $0 != "digest" }
        let list = (
            name: campaign.map { "Stethoscope: \($0)" } ?? "Stethoscope device digest",
            id: "\(campaign ?? "digest").stethoscope.\(config.from.domain)"
        )
        let to = MailAddress(name: m.name.isEmpty ? nil : m.name, address: m.person)
        let data = MIME.render(
            .init(
                from: config.from, replyTo: config.replyTo, to: [to], cc: m.cc.map { [$0] } ?? [],
                subject: m.subject, date: now, messageID: id, listID: list, text: text, html: html))
        let ids = Set(m.items.compactMap { Int($0.split(separator: ":").first ?? "") })
        let entry = LedgerEntry(
            asOf: asOf, kind: .person, campaign: m.selections.joined(separator: ","), person: m.person, cc: m.cc?.address,
            messageID: id, subject: m.subject, state: .sending, attempts: 0, reminder: m.reminder,
            devices: m.devices.filter { ids.contains($0.id) }.map(\.key),
            practices: Set(m.items.map { String($0.split(separator: ":").last ?? "") }).sorted(), items: m.items)
        return Built(
            entry: entry,
            mail: OutgoingMail(
                messageID: id, from: config.from.address,
                recipients: [m.person] + (m.cc.map { [$0.address] } ?? []), data: data),
            subject: m.subject, to: m.person, html: html)
    }

    func build(_ m: ManagerMessage, asOf: String, now: Date) -> Built {
        let id = messageID(asOf: asOf, kind: .manager, person: m.manager)
        let (text, html) = Content.manager(m, asOf: asOf, config: config)
        let subject = "Weekly device security digest for your organization"
        let data = MIME.render(
            .init(
                from: config.from, replyTo: config.replyTo, to: [MailAddress(name: m.name.isEmpty ? nil : m.name, address: m.manager)],
                subject: subject, date: now, messageID: id,
                listID: ("Stethoscope manager digest", "managers.stethoscope.\(config.from.domain)"), text: text, html: html))
        let entry = LedgerEntry(
            asOf: asOf, kind: .manager, campaign: "", person: m.manager, messageID: id, subject: subject,
            state: .sending, attempts: 0, reminder: 0, devices: [], practices: m.topPractices.map(\.practice),
            items: [])
        return Built(
            entry: entry, mail: OutgoingMail(messageID: id, from: config.from.address, recipients: [m.manager], data: data),
            subject: subject, to: m.manager, html: html)
    }

    /// The dry run: every message through `transport` (which writes `.eml` files), each HTML part as its own
    /// page, and an `index.html` listing them.
    func writePreview(_ built: [Built], transport: any MailTransport, out: URL, asOf: String) async throws {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        _ = await transport.send(built.map(\.mail))
        let files = (transport as? DryRunTransport)?.files ?? []
        var rows = ""
        for (i, b) in built.enumerated() {
            let page = String(format: "%04d.html", i + 1)
            try b.html.write(to: out.appendingPathComponent(page), atomically: true, encoding: .utf8)
            let eml = i < files.count ? files[i].lastPathComponent : ""
            rows +=
                "<tr><td>\(Content.escape(b.entry.kind.rawValue))</td><td>\(Content.escape(b.entry.campaign))</td>"
                + "<td>\(Content.escape(b.to))</td><td>\(Content.escape(b.entry.cc ?? ""))</td>"
                + "<td><a href=\"\(Content.escape(page))\">\(Content.escape(b.subject))</a></td>"
                + "<td>\(eml.isEmpty ? "" : "<a href=\"\(Content.escape(eml))\">.eml</a>")</td></tr>\n"
        }
        let body = """
            <h1 style="font-size:22px">Messages for \(Content.escape(asOf)) (dry run: nothing was sent)</h1>
            <p>\(built.count) message\(built.count == 1 ? "" : "s"). Each links to its HTML part and its full <code>.eml</code> file.</p>
            <table style="border-collapse:collapse;font-size:13px">
            <thead><tr><th style="text-align:left">kind</th><th style="text-align:left">selections</th><th style="text-align:left">to</th><th style="text-align:left">cc</th><th style="text-align:left">subject</th><th style="text-align:left">file</th></tr></thead>
            <tbody>
            \(rows)</tbody>
            </table>
            """
        try Content.page(title: "Stethoscope messages \(asOf)", body: body)
            .replacingOccurrences(of: "max-width:680px", with: "max-width:1200px")
            .write(to: out.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
    }
}

/// One result per worker of `concurrentPerform`: each worker writes only its own slot, and the slots are read after
/// every worker has returned.
final class Slots<T>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<T?>
    let count: Int
    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil, count: count)
    }
    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }
    subscript(i: Int) -> T? {
        get { storage[i] }
        set { storage[i] = newValue }
    }
    var values: [T] { (0..<count).compactMap { storage[$0] } }
}
