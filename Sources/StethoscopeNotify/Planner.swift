import Foundation
import StethoscopeCore

/// One failing practice of a device, as a message names it.
public struct FailingItem: Sendable, Equatable {
    public var practice: String
    public var title: String
    public var status: Status
    public var rating: Rating
    public var link: String?
    public var description: String
    public var steps: [String]
    public var nightsFailing: Int
}

/// One device of a person's message.
public struct DeviceSummary: Sendable, Equatable {
    public var id: Int
    public var key: String
    public var name: String
    public var model: String?
    public var platform: String?
    public var os: String?
    public var lastSeen: String?
    public var sources: String
    public var stale: Bool
    public var green: Bool
    public var failing: [FailingItem]
}

/// A person's message: the digest and any campaigns, combined.
public struct PersonMessage: Sendable, Equatable {
    public var person: String
    public var name: String
    public var cc: MailAddress?
    /// `digest` and/or campaign names, in config order.
    public var selections: [String]
    public var subject: String
    /// The intro paragraphs of the campaigns in the message.
    public var intros: [String]
    /// Devices needing action first, then the other non-green ones, then the green ones (named briefly).
    public var devices: [DeviceSummary]
    /// `device_id:practice` that needed action.
    public var items: Set<String>
    public var reminder: Int
    /// The longest failing streak among the items (orders the per-run cap).
    public var maxNights: Int
}

/// A manager's weekly digest.
public struct ManagerMessage: Sendable, Equatable {
    public struct PracticeCount: Sendable, Equatable { public var practice: String, title: String, failing: Int }
    public struct LongestFailing: Sendable, Equatable { public var name: String, email: String, devices: Int, nights: Int }
    public var manager: String
    public var name: String
    public var devices: Int
    public var greenRate: Double?
    /// The green rate about a week earlier (nil: no roll-up that far back).
    public var previousRate: Double?
    public var previousAsOf: String?
    public var topPractices: [PracticeCount]
    /// Empty unless `manager_digest.include_people`.
    public var longest: [LongestFailing]
    public var peopleFailing: Int
}

/// What notify will do tonight.
public struct NotifyPlan: Sendable {
    public var asOf: String
    public var people: [PersonMessage] = []
    public var managers: [ManagerMessage] = []
    public var holdouts: [LedgerEntry] = []
    /// Due people left for the next night by the per-run cap.
    public var deferredByCap = 0
    /// Tonight is a quiet weekday: no person message.
    public var quiet = false
}

/// Decides who gets what (README, "Nudges"): the selection, the cadence, campaigns, hold-outs and exclusions.
public struct Planner: Sendable {
    public var config: NotifyConfig

    public init(config: NotifyConfig) { self.config = config }

    /// Whether `email` is in the hold-out group of `selection` ('digest' or a campaign name): a stable hash of
    /// both, so a person stays in (or out of) a group night after night.
    public static func isHeldOut(_ email: String, selection: String, share: Double) -> Bool {
        guard share > 0 else { return false }
        // The hash of `email + "\n" + selection`, without building that string for every person and selection.
        var h = fnv(NightData.lower(email).utf8)
        h = fnv(CollectionOfOne(UInt8(ascii: "\n")), h)
        return Double(finish(fnv(selection.utf8, h)) >> 11) / Double(1 << 53) < share
    }

    /// FNV-1a 64 with a SplitMix64 finish: the same on every platform and release (Swift's `hashValue` is seeded per process).
    public static func stableHash(_ text: String) -> UInt64 { finish(fnv(text.utf8)) }

    static func fnv<S: Sequence<UInt8>>(_ bytes: S, _ start: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var h = start
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    static func finish(_ hash: UInt64) -> UInt64 {
        var h = hash
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }

    /// The cadence over one track's history (messages sent to the person, or hold-out rows of one selection):
    /// `nil` when not due, else the reminder number (0 = the first message of the streak).
    func due(items: [String: Int], since streakStart: String, history: [LedgerEntry], asOf: String) -> Int? {
        let earlier = history.filter { $0.counts || $0.state == .heldOut }.filter { $0.asOf >= streakStart }
        guard let last = earlier.last else { return 0 }
        // A problem the person was never told about since it started: tell them now.
        let named = earlier.reduce(into: Set<String>()) { $0.formUnion($1.items) }
        if items.keys.contains(where: { !named.contains($0) }) { return earlier.count }
        guard let a = AsOfDate.parse(asOf), let l = AsOfDate.parse(last.asOf), a - l >= config.cadence.remindEveryNights,
            earlier.count - 1 < config.cadence.maxReminders
        else { return nil }
        return earlier.count
    }

    public func plan(_ night: NightData, history: [String: [LedgerEntry]], holdoutHistory: [String: [LedgerEntry]]) -> NotifyPlan {
        var plan = NotifyPlan(asOf: night.asOf)
        let asOf = night.asOf
        let campaigns = config.campaigns.filter { $0.isActive(on: asOf) }
        let chains = Dictionary(uniqueKeysWithValues: Set(campaigns.flatMap(\.managers)).map { ($0, night.chain(of: $0)) })
        plan.quiet = NotifyConfig.weekday(of: asOf).map { config.cadence.quietWeekdays.contains($0) } ?? false
        // Who is due, and why; the messages themselves are built only for those the per-run cap lets through.
        struct Due {
            var person: NightData.PersonRow, devices: [NightData.DeviceRow]
            var included: [(name: String, items: [String: Int])], all: [String: Int], reminder: Int, maxNights: Int
        }
        var dueMessages: [Due] = []

        var streakStarts: [Int: String] = [:]
        // People in any order: the messages are sorted below and the hold-out records at the end, so no sort of the
        // whole night's owners is needed.
        for (email, devices) in night.devicesByOwner {
            guard let person = night.people[email], person.active, config.exclude.isEmpty || !config.exclude.contains(email),
                MailAddress.isValid(email)
            else { continue }
            // Items per selection: device id:practice → nights failing (stale devices are out of compliance and
            // never need action; they are mentioned in a message sent for other reasons). Each failing result's
            // practice, nights and key are worked out once for all the selections.
            var candidates: [(device: Int, result: NightData.Result, rating: Rating, nights: Int)] = []
            for (i, d) in devices.enumerated() where !d.stale {
                for r in d.failing {
                    guard let p = night.practices[r.practice] else { continue }
                    candidates.append((i, r, p.rating, night.nightsFailing(r)))
                }
            }
            var keys = [String?](repeating: nil, count: candidates.count)
            var sinceUnknown: Set<String> = []
            func items(_ select: (NightData.DeviceRow, NightData.Result, Rating) -> Bool, min: Int) -> [String: Int] {
                var out: [String: Int] = [:]
                for (i, c) in candidates.enumerated() where select(devices[c.device], c.result, c.rating) {
                    let key = keys[i] ?? "\(devices[c.device].id):\(c.result.practice)"
                    keys[i] = key
                    if c.nights >= min { out[key] = c.nights }
                    if c.result.since == nil { sinceUnknown.insert(key) }
                }
                return out
            }
            var selections: [(name: String, items: [String: Int])] = []
            let digest = items(
                { _, r, rating in config.selection.selects(status: r.status, rating: rating) },
                min: config.cadence.firstAfterNights)
            if !digest.isEmpty { selections.append(("digest", digest)) }
            for c in campaigns {
                if !c.organizations.isEmpty && !c.organizations.contains(person.organization ?? "") { continue }
                if !c.managers.isEmpty && !c.managers.contains(where: { chains[$0]?.contains(email) == true }) { continue }
                let picked = items(
                    { d, r, rating in
                        (c.practices.isEmpty || c.practices.contains(r.practice)) && c.statuses.contains(r.status)
                            && (c.ratings.isEmpty || c.ratings.contains(rating))
                            && (c.platforms.isEmpty || d.platform.flatMap(Platform.init(rawValue:)).map { c.platforms.contains($0) } == true)
                    }, min: max(c.minNightsFailing, config.cadence.firstAfterNights))
                if !picked.isEmpty { selections.append((c.name, picked)) }
            }
            guard !selections.isEmpty else { continue }

            func streakStart(_ items: [String: Int]) -> String {
                let longest = items.values.max() ?? 1
                let start =
                    streakStarts[longest]
                    ?? {
                        let day = AsOfDate.adding(-(longest - 1), to: asOf) ?? asOf
                        streakStarts[longest] = day
                        return day
                    }()
                // `unknown` has no failing_since: without a look-back over a whole reminder cycle it would look like a
                // new streak, and be messaged, every night.
                guard items.keys.contains(where: sinceUnknown.contains) else { return start }
                let cycle = config.cadence.remindEveryNights * (config.cadence.maxReminders + 1)
                return min(start, AsOfDate.adding(-cycle, to: asOf) ?? start)
            }
            var included: [(name: String, items: [String: Int])] = []
            for s in selections {
                let share = s.name == "digest" ? config.holdout : (campaigns.first { $0.name == s.name }?.holdout ?? config.holdout)
                guard Planner.isHeldOut(email, selection: s.name, share: share) else {
                    included.append(s)
                    continue
                }
                // Held out: recorded whenever the person would have been due, so effectiveness has a first
                // "would-have-been message" night to compare against.
                let track = (holdoutHistory[email] ?? []).filter { $0.campaign == s.name }
                if let reminder = due(items: s.items, since: streakStart(s.items), history: track, asOf: asOf) {
                    let ids = Set(s.items.keys.compactMap { Int($0.split(separator: ":").first ?? "") })
                    plan.holdouts.append(
                        LedgerEntry(
                            asOf: asOf, kind: .holdout, campaign: s.name, person: email, state: .heldOut, attempts: 0, reminder: reminder,
                            devices: devices.filter { ids.contains($0.id) }.map(\.key),
                            practices: Set(s.items.keys.map { String($0.split(separator: ":").last ?? "") }).sorted(), items: Set(s.items.keys)))
                }
            }
            guard !included.isEmpty else { continue }
            var all: [String: Int] = [:]
            for s in included { all.merge(s.items) { max($0, $1) } }
            guard let reminder = due(items: all, since: streakStart(all), history: history[email] ?? [], asOf: asOf) else { continue }
            dueMessages.append(
                Due(
                    person: person, devices: devices, included: included, all: all, reminder: reminder,
                    maxNights: all.values.max() ?? 1))
        }
        if plan.quiet {
            // Nobody is nudged tonight, so nobody is held out either: both groups start on the same night.
            plan.holdouts = []
        } else {
            // By person, then selection in config order (the digest first).
            let rank = Dictionary(uniqueKeysWithValues: [("digest", 0)] + campaigns.enumerated().map { ($1.name, $0 + 1) })
            plan.holdouts.sort { $0.person != $1.person ? $0.person < $1.person : (rank[$0.campaign] ?? 0) < (rank[$1.campaign] ?? 0) }
            // Longest failing first, then by email.
            dueMessages.sort { $0.maxNights != $1.maxNights ? $0.maxNights > $1.maxNights : $0.person.email < $1.person.email }
            plan.people = dueMessages.prefix(config.cadence.maxPerRun).map {
                message(
                    person: $0.person, devices: $0.devices, night: night, included: $0.included, all: $0.all,
                    reminder: $0.reminder, campaigns: campaigns)
            }
            plan.deferredByCap = dueMessages.count - plan.people.count
        }
        return plan
    }

    private func message(
        person: NightData.PersonRow, devices: [NightData.DeviceRow], night: NightData,
        included: [(name: String, items: [String: Int])], all: [String: Int], reminder: Int,
        campaigns: [NotifyConfig.Campaign]
    ) -> PersonMessage {
        let withDigest = included.contains { $0.name == "digest" }
        var summaries: [DeviceSummary] = []
        for d in devices {
            let named = d.failing.filter { all["\(d.id):\($0.practice)"] != nil }
            // The digest lists every device that is not green (and the green ones briefly); a campaign-only
            // message (the person is held out of the digest) names only the campaign's devices.
            guard withDigest || !named.isEmpty else { continue }
            let shown = withDigest ? d.failing : named
            let failing = shown.compactMap { r -> FailingItem? in
                guard let p = night.practices[r.practice] else { return nil }
                return FailingItem(
                    practice: r.practice, title: p.title, status: r.status, rating: p.rating, link: p.link,
                    description: p.description,
                    steps: Instructions.steps(practice: r.practice, platform: d.platform, overrides: config.instructions),
                    nightsFailing: night.nightsFailing(r))
            }
            let os = [d.osName, d.osVersion].compactMap { $0 }.joined(separator: " ")
            summaries.append(
                DeviceSummary(
                    id: d.id, key: d.key, name: d.name ?? d.model ?? d.key, model: d.model, platform: d.platform, os: os.isEmpty ? nil : os,
                    lastSeen: d.lastSync, sources: d.sources.split(separator: ",", omittingEmptySubsequences: false).joined(separator: ", "), stale: d.stale,
                    green: d.green && failing.isEmpty, failing: failing))
        }
        let needs = Set(all.keys.compactMap { Int($0.split(separator: ":").first ?? "") })
        summaries.sort { a, b in
            func rank(_ s: DeviceSummary) -> Int { needs.contains(s.id) ? 0 : s.green ? 2 : 1 }
            return (rank(a), a.key) < (rank(b), b.key)
        }
        let maxNights = all.values.max() ?? 1
        var cc: MailAddress?
        if maxNights >= config.cadence.copyManagerAfterNights, let m = person.manager, let manager = night.people[m], manager.active,
            !config.exclude.contains(m), MailAddress.isValid(m), m != person.email
        {
            cc = MailAddress(name: manager.name, address: m)
        }
        let used = included.map(\.name)
        let firstCampaign = campaigns.first { used.contains($0.name) }
        let intros = campaigns.filter { used.contains($0.name) }.map(\.intro).filter { !$0.isEmpty }
        var subject = firstCampaign?.subject ?? config.subject
        if reminder > 0 { subject = "Reminder: " + subject }
        return PersonMessage(
            person: person.email, name: person.name, cc: cc, selections: used, subject: subject, intros: intros,
            devices: summaries, items: Set(all.keys), reminder: reminder, maxNights: maxNights)
    }
}
