import Foundation
import StethoscopeCore

/// The `notify:` section (README, "Nudges"), validated key by key like every other section.
public struct NotifyConfig: Sendable {
    /// Which device/practice results need action for the person digest.
    public struct Selection: Sendable, Equatable {
        /// Statuses that need action in any practice (default `warn`).
        public var statuses: Set<Status> = [.warn]
        /// `nudge` needs action only in practices of these ratings (default critical and high).
        public var nudgeRatings: Set<Rating> = [.critical, .high]
        public init() {}

        public func selects(status: Status, rating: Rating) -> Bool {
            statuses.contains(status) || (status == .nudge && nudgeRatings.contains(rating))
        }
    }

    /// First message, reminders and the manager copy (nights counted from `failing_since`).
    public struct Cadence: Sendable, Equatable {
        /// First message once an item has been failing this many nights (1: the first failing night).
        public var firstAfterNights = 1
        /// A reminder when the last message is at least this many nights old.
        public var remindEveryNights = 7
        /// Reminders after the first message, per failing streak.
        public var maxReminders = 3
        /// The person's manager is copied once an item has been failing this many nights.
        public var copyManagerAfterNights = 21
        /// Weekdays (0 Sunday … 6 Saturday) on which no person message is sent; due ones go out the next night.
        public var quietWeekdays: Set<Int> = [0, 6]
        /// At most this many messages per run; the longest-failing people go first, the rest the next night.
        public var maxPerRun = 5000
        public init() {}
    }

    /// A named, dated push: its own selection, subject and intro, combined with the digest.
    public struct Campaign: Sendable, Equatable {
        public var name: String
        public var from: String?
        public var until: String?
        public var practices: Set<String> = []
        public var statuses: Set<Status> = [.warn, .nudge]
        public var ratings: Set<Rating> = []
        public var platforms: Set<Platform> = []
        public var organizations: Set<String> = []
        /// Manager emails: the campaign selects everyone below each of them, transitively.
        public var managers: Set<String> = []
        public var minNightsFailing = 1
        public var subject: String
        public var intro: String
        /// This campaign's hold-out share (default: `notify.holdout`).
        public var holdout: Double?

        public func isActive(on asOf: String) -> Bool {
            (from.map { $0 <= asOf } ?? true) && (until.map { asOf <= $0 } ?? true)
        }
    }

    public struct ManagerDigest: Sendable, Equatable {
        public var enabled = true
        /// 0 Sunday … 6 Saturday.
        public var weekday = 1
        /// Name the people whose devices fail longest (off: counts only).
        public var includePeople = false
        /// Practices and people listed.
        public var top = 5
        public init() {}
    }

    /// `notify.smtp`: the keys the SMTP transport reads (the transport itself is in StethoscopeHTTP).
    public struct SMTPSettings: Sendable {
        public var url: String
        /// `required` (default) or `optional`; ignored for `smtps://`.
        public var startTLS: String
        public var username: String?
        public var password: Secret?
        public var maxConnections: Int
        public var ratePerMinute: Int
        public var timeoutSeconds: Double
        public var caFile: URL?
    }

    public enum Delivery: Sendable {
        /// Writes `.eml` files and an `index.html` preview into the folder; sends nothing, records nothing.
        case dryRun(out: URL)
        case smtp(SMTPSettings)
    }

    public var delivery: Delivery
    /// The sender, `Name <address>` or `address`.
    public var from: MailAddress
    public var replyTo: MailAddress?
    /// Shown at the top of every message, e.g. "IT Security".
    public var senderName: String
    /// Link to a page that explains the programme (in every message's footer), optional.
    public var helpURL: String?
    public var selection = Selection()
    public var cadence = Cadence()
    public var holdout = 0.1
    public var exclude: Set<String> = []
    public var campaigns: [Campaign] = []
    public var managerDigest = ManagerDigest()
    /// Practice key → platform (or `all`) → steps that replace the shipped ones.
    public var instructions: [String: [String: [String]]] = [:]
    /// The digest subject.
    public var subject = "Your devices: what to fix to turn green"

    public static func from(section: ConfigSection?) throws -> NotifyConfig? {
        guard let s = section else { return nil }
        let from = try MailAddress.parse(s.string("from"), at: s, key: "from")
        let replyTo = try s.optionalString("reply_to").map { try MailAddress.parse($0, at: s, key: "reply_to") }
        let dry = try s.section("dry_run")
        let smtp = try s.section("smtp")
        let delivery: Delivery
        switch (dry, smtp) {
        case (.some, .some): throw s.error("dry_run", "give either dry_run or smtp, not both")
        case (.some(let d), nil):
            let out = try d.requiredPath("out", "the folder for .eml files")
            try d.finish()
            delivery = .dryRun(out: out)
        case (nil, .some(let m)):
            delivery = .smtp(try smtpSettings(m))
        case (nil, nil): throw s.error("smtp", "is required (or dry_run: {out: DIR} to write messages to files)")
        }
        var config = NotifyConfig(
            delivery: delivery, from: from, replyTo: replyTo,
            senderName: try s.string("sender_name", default: from.name ?? "IT Security"),
            helpURL: try s.optionalString("help_url"))
        config.subject = try s.string("subject", default: config.subject)
        if let sel = try s.section("selection") {
            config.selection.statuses = try statuses(sel, "statuses") ?? config.selection.statuses
            config.selection.nudgeRatings = try ratings(sel, "nudge_ratings") ?? config.selection.nudgeRatings
            try sel.finish()
        }
        if let c = try s.section("cadence") {
            config.cadence.firstAfterNights = try c.int("first_after_nights", default: 1, min: 1, max: 3650)
            config.cadence.remindEveryNights = try c.int("remind_every_nights", default: 7, min: 1, max: 3650)
            config.cadence.maxReminders = try c.int("max_reminders", default: 3, min: 0, max: 1000)
            config.cadence.copyManagerAfterNights = try c.int("copy_manager_after_nights", default: 21, min: 1, max: 3650)
            if let days = try c.stringList("quiet_weekdays") {
                config.cadence.quietWeekdays = Set(try days.map { try weekday($0, c, "quiet_weekdays") })
            }
            config.cadence.maxPerRun = try c.int("max_per_run", default: 5000, min: 0, max: 10_000_000)
            try c.finish()
        }
        config.holdout = try s.double("holdout", default: 0.1, min: 0, max: 0.9)
        config.exclude = Set((try s.stringList("exclude") ?? []).map { $0.lowercased() })
        var names: Set<String> = ["digest"]
        for c in try s.sections("campaigns") {
            let name = try c.string("name")
            guard !name.isEmpty, name.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "_" }) else {
                throw c.error("name", "use ASCII letters, digits, '-' or '_' only (it becomes the List-Id)")
            }
            guard names.insert(name).inserted else { throw c.error("name", "'\(name)' is used twice (or is the reserved 'digest')") }
            var campaign = Campaign(name: name, subject: try c.string("subject"), intro: try c.string("intro", default: ""))
            for key in ["from", "until"] {
                if let d = try c.optionalString(key), !AsOfDate.isValid(d) { throw c.error(key, "'\(d.prefix(40))' is not a YYYY-MM-DD date") }
            }
            campaign.from = try c.optionalString("from")
            campaign.until = try c.optionalString("until")
            if let f = campaign.from, let u = campaign.until, u < f { throw c.error("until", "is before from") }
            campaign.practices = Set(try c.stringList("practices") ?? [])
            campaign.statuses = try statuses(c, "statuses") ?? campaign.statuses
            campaign.ratings = try ratings(c, "ratings") ?? []
            campaign.platforms = Set(
                try (c.stringList("platforms") ?? []).map { text in
                    guard let p = Platform(rawValue: text) ?? Platform(lenient: text) else {
                        throw c.error("platforms", "unknown platform '\(text.prefix(40))'")
                    }
                    return p
                })
            campaign.organizations = Set(try c.stringList("organizations") ?? [])
            campaign.managers = Set((try c.stringList("managers") ?? []).map { $0.lowercased() })
            campaign.minNightsFailing = try c.int("min_nights_failing", default: 1, min: 1, max: 3650)
            campaign.holdout = c.has("holdout") ? try c.double("holdout", default: 0.1, min: 0, max: 0.9) : nil
            try c.finish()
            config.campaigns.append(campaign)
        }
        if let m = try s.section("manager_digest") {
            config.managerDigest.enabled = try m.bool("enabled", default: true)
            if m.has("weekday") { config.managerDigest.weekday = try weekday(try m.string("weekday"), m, "weekday") }
            config.managerDigest.includePeople = try m.bool("include_people", default: false)
            config.managerDigest.top = try m.int("top", default: 5, min: 1, max: 100)
            try m.finish()
        }
        if let i = try s.section("instructions") {
            for practice in i.keys {
                guard let p = try i.section(practice) else { continue }
                var byPlatform: [String: [String]] = [:]
                for key in p.keys {
                    let platform = key == "all" ? "all" : (Platform(rawValue: key) ?? Platform(lenient: key))?.rawValue
                    guard let platform else { throw p.error(key, "unknown platform '\(key.prefix(40))' (or 'all')") }
                    byPlatform[platform] = try p.stringList(key) ?? []
                }
                try p.finish()
                config.instructions[practice] = byPlatform
            }
            try i.finish()
        }
        try s.finish()
        return config
    }

    static func smtpSettings(_ m: ConfigSection) throws -> SMTPSettings {
        let url = try m.string("url")
        guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://"), URL(string: url)?.host?.isEmpty == false else {
            throw m.error("url", "expected smtp://host:port or smtps://host:port")
        }
        let settings = SMTPSettings(
            url: url, startTLS: try m.choice("starttls", ["required", "optional"], default: "required"),
            username: try m.optionalString("username"), password: try m.secret("password"),
            maxConnections: try m.int("max_connections", default: 2, min: 1, max: 32),
            ratePerMinute: try m.int("rate_per_minute", default: 600, min: 1, max: 1_000_000),
            timeoutSeconds: try m.double("timeout_s", default: 60, min: 1, max: 3600), caFile: try m.path("ca_file"))
        if settings.password != nil && settings.username == nil { throw m.error("username", "is required with a password") }
        try m.finish()
        return settings
    }

    static func statuses(_ s: ConfigSection, _ key: String) throws -> Set<Status>? {
        guard let list = try s.stringList(key) else { return nil }
        return Set(
            try list.map { text in
                guard let st = Status(rawValue: text), st != .ok, st != .na else {
                    throw s.error(key, "expected warn, nudge or unknown, found '\(text.prefix(40))'")
                }
                return st
            })
    }

    static func ratings(_ s: ConfigSection, _ key: String) throws -> Set<Rating>? {
        guard let list = try s.stringList(key) else { return nil }
        return Set(
            try list.map { text in
                guard let r = Rating(rawValue: text) else {
                    throw s.error(key, "expected critical, high, medium or low, found '\(text.prefix(40))'")
                }
                return r
            })
    }

    static let weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    static func weekday(_ text: String, _ s: ConfigSection, _ key: String) throws -> Int {
        let t = text.lowercased()
        guard let i = weekdays.firstIndex(where: { $0 == t || $0.prefix(3) == t }) else {
            throw s.error(key, "expected a weekday (monday … sunday), found '\(text.prefix(40))'")
        }
        return i
    }

    /// 0 Sunday … 6 Saturday of an as-of date (1970-01-01 was a Thursday).
    public static func weekday(of asOf: String) -> Int? {
        AsOfDate.parse(asOf).map { (($0 % 7) + 7 + 4) % 7 }
    }
}

/// An address with an optional display name. Only ASCII addresses: an internationalized one needs SMTPUTF8,
/// which the messages do not ask for.
public struct MailAddress: Sendable, Equatable {
    public var name: String?
    public var address: String

    public init(name: String?, address: String) {
        self.name = name
        self.address = address
    }

    /// Whether `address` can go into a header and an SMTP envelope as it is.
    public static func isValid(_ address: String) -> Bool {
        // One pass over the bytes (notify checks every person of a night): printable ASCII without the specials,
        // exactly one "@" after a non-empty local part, a "." after it, at most 254 octets.
        var at = -1
        var count = 0
        var dot = false
        for b in address.utf8 {
            guard b > 32, b < 127 else { return false }
            switch b {
            case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"),
                UInt8(ascii: "\\"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "\""):
                return false
            case UInt8(ascii: "@"):
                guard at < 0 else { return false }
                at = count
            case UInt8(ascii: "."):
                if at >= 0 { dot = true }
            default: break
            }
            count += 1
        }
        return at > 0 && dot && count <= 254
    }

    static func parse(_ text: String, at s: ConfigSection, key: String) throws -> MailAddress {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let open = trimmed.lastIndex(of: "<"), trimmed.hasSuffix(">") {
            let address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            let name = trimmed[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard isValid(address) else { throw s.error(key, "'\(address.prefix(60))' is not an ASCII email address") }
            return MailAddress(name: name.isEmpty ? nil : name, address: address)
        }
        guard isValid(trimmed) else { throw s.error(key, "'\(trimmed.prefix(60))' is not an email address (or Name <address>)") }
        return MailAddress(name: nil, address: trimmed)
    }

    /// The domain, for Message-ID and List-Id.
    public var domain: String { String(address.split(separator: "@").last ?? "localhost") }
}
