import Foundation

/// A plugin's part of the config: its type (the plugin folder's name), its unique name, and its own keys,
/// which the plugin reads and then `finish()`es.
public struct PluginConfig: Sendable {
    public var name: String
    public var type: String
    public var section: ConfigSection
    /// `allow_empty: true` (any plugin): an empty pull is a valid answer for this source. Without it, a source,
    /// directory or attribution list that yields nothing fails for the night instead of recording an empty one.
    /// Plugins read it to accept their own "nothing there" cases (a CSV with a header only, no log files).
    public var allowEmpty: Bool = false
    /// `max_record_drop` (any plugin): this source's override of the top-level share (0...1).
    public var maxRecordDrop: Double?
}

/// The whole config file, validated. Plugin sections are handed to their plugins, which validate their own keys.
public struct StethoscopeConfig: Sendable {
    public var timeZone: TimeZone
    public var database: URL
    public var staleAfterDays: Int
    public var directory: PluginConfig?
    public var sources: [PluginConfig]
    public var attribution: [PluginConfig]
    public var practices: PracticeSet
    /// Serials that are not identifiers, beyond the built-in placeholders.
    public var extraPlaceholderSerials: [String]
    /// Identifiers many machines share (`kind:value` or a bare value), beyond `IdentifierNormalizer.builtInShared`.
    public var sharedIdentifiers: [String] = []
    public var export: ConfigSection?
    public var report: ConfigSection?
    /// `webhooks:`: where the night's summary is posted after it committed (read by the app's `WebhookConfig`).
    public var webhooks: [ConfigSection] = []
    /// `notify:` (README, "Nudges"): read by StethoscopeNotify's `NotifyConfig`, which validates its keys.
    public var notify: ConfigSection?
    public var detailRetentionNights: Int
    /// `max_record_drop`: a source whose record count falls by more than this share below its count on the last
    /// complete night is treated as failed for the night (a vendor that returns half its inventory must not
    /// look like half the fleet vanished). 1 turns the check off.
    public var maxRecordDrop: Double
    /// The line of `sources:` (or nil when absent), for the error of a config that cannot run a night.
    var sourcesLine: Int?
    /// The folder of the config file: relative paths in plugin sections resolve against it.
    public var baseDirectory: URL
    /// `safety:`: guards against losing history by mistake and against overlapping writers.
    public var safety = SafetySettings()

    public static func load(file: URL, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StethoscopeConfig {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw ConfigError(path: "", message: "cannot read config file \(file.path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(path: "", message: "config file \(file.path) is not UTF-8")
        }
        return try parse(yaml: text, environment: environment, baseDirectory: file.deletingLastPathComponent())
    }

    public static func parse(
        yaml: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    ) throws -> StethoscopeConfig {
        let root = try ConfigSection.parse(yaml: yaml, environment: environment, baseDirectory: baseDirectory)
        let tzName = try root.string("timezone", default: "UTC")
        guard let tz = TimeZone(identifier: tzName) else { throw root.error("timezone", "unknown time zone '\(tzName)'") }
        let database = try root.path("database") ?? baseDirectory.appendingPathComponent("stethoscope.db")
        let stale = try root.int("stale_after_days", default: 14, min: 1, max: 3650)

        let directory = try root.section("directory").map { try plugin($0, defaultName: "directory") }
        let sources = try root.sections("sources").map { try plugin($0, defaultName: nil) }
        let attribution = try root.sections("attribution").enumerated().map { i, s in
            try plugin(s, defaultName: "attribution-\(i + 1)")
        }
        // One name, one entry: run_sources, carry-forward, logs and `--accept-drop` all key on it.
        var owners: [String: ConfigSection] = [:]
        for p in [directory].compactMap({ $0 }) + sources + attribution {
            if let first = owners[p.name] {
                throw p.section.error(
                    "name",
                    "'\(p.name)' is used twice: it is already the name of \(first.path) "
                        + "(sources, the directory and attribution entries each need their own name)")
            }
            owners[p.name] = p.section
        }
        let maxDrop = try root.double("max_record_drop", default: 0.3, min: 0, max: 1)
        let practicesSection = try root.section("practices")
        var practices = try PracticeOverrides.apply(practicesSection, to: .defaults)
        // A source's `extra_practices` (Jamf: sip, gatekeeper, auto_login) turns those shipped-but-off practices on
        // for the run, so listing them there is enough; an explicit `practices: <key>: enabled:` still wins.
        // The plugin itself rejects names it does not know.
        for source in sources {
            for key in try source.section.peekStringList("extra_practices") ?? [] {
                guard let i = practices.definitions.firstIndex(where: { $0.key == key }) else { continue }
                if try practicesSection?.section(key)?.has("enabled") == true { continue }
                practices.definitions[i].enabled = true
            }
        }
        let placeholders = try root.stringList("placeholder_serials") ?? []
        let shared = try root.stringList("shared_identifiers") ?? []
        if let bad = IdentifierNormalizer.unknownKind(in: shared) {
            throw root.error(
                "shared_identifiers[\(bad)]",
                "'\(shared[bad].prefix(60))' names no identifier kind (use \(IdentifierKind.allCases.map(\.rawValue).joined(separator: ", ")), or a bare value)"
            )
        }
        let export = try root.section("export")
        let report = try root.section("report")
        let webhooks = try root.sections("webhooks")
        let notify = try root.section("notify")
        var retention = 120
        if let r = try root.section("retention") {
            retention = try r.int("detail_nights", default: 120, min: 1, max: 36_500)
            try r.finish()
        }
        let safety = try SafetySettings(root.section("safety"))
        try root.finish()
        var config = StethoscopeConfig(
            timeZone: tz, database: database, staleAfterDays: stale, directory: directory, sources: sources,
            attribution: attribution, practices: practices, extraPlaceholderSerials: placeholders, export: export,
            report: report, notify: notify, detailRetentionNights: retention, maxRecordDrop: maxDrop,
            sourcesLine: root.has("sources") ? root.error("sources", "").line : nil, baseDirectory: baseDirectory,
            safety: safety)
        config.sharedIdentifiers = shared
        config.webhooks = webhooks
        return config
    }

    /// What a config needs to run a night (`run`, `check`, `demo`), beyond being valid: at least one device
    /// source. Without one a run would record a "complete" night of 0 devices over a good one. `report`,
    /// `rollup` and `export` only read the database, so they accept such a config.
    public func validateForRun() throws {
        guard !sources.isEmpty else {
            throw ConfigError(
                path: "sources",
                message: sourcesLine == nil
                    ? "is required to run a night (at least one device source)"
                    : "is empty: at least one device source is required to run a night", line: sourcesLine)
        }
    }

    /// The record-drop share in force for the source named `name`.
    public func maxRecordDrop(for name: String) -> Double {
        let all = [directory].compactMap { $0 } + sources + attribution
        return all.first { $0.name == name }?.maxRecordDrop ?? maxRecordDrop
    }

    private static func plugin(_ s: ConfigSection, defaultName: String?) throws -> PluginConfig {
        let type = try s.string("type")
        let name: String
        if let n = try s.optionalString("name") {
            name = n
        } else if let defaultName {
            name = defaultName
        } else {
            throw s.error("name", "is required (a unique source name)")
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw s.error("name", "use letters, digits, '-', '_' or '.' only")
        }
        return PluginConfig(
            name: name, type: type, section: s, allowEmpty: try s.bool("allow_empty", default: false),
            maxRecordDrop: s.has("max_record_drop") ? try s.double("max_record_drop", default: 0.3, min: 0, max: 1) : nil)
    }
}

/// `safety: {min_rerun_share, lock_wait_s}` (README, "Configuration").
public struct SafetySettings: Sendable {
    /// Re-running a stored night is refused (unless `--force`) when it would hold fewer than this share of the
    /// stored night's devices; 0 turns the check off.
    public var minRerunShare: Double = 0.5
    /// How long `run`, `export` and `rollup` wait for another process's lock on the database before exiting 75.
    public var lockWaitSeconds: Double = 600

    public init() {}

    init(_ section: ConfigSection?) throws {
        guard let section else { return }
        minRerunShare = try section.double("min_rerun_share", default: minRerunShare, min: 0, max: 1)
        lockWaitSeconds = try section.double("lock_wait_s", default: lockWaitSeconds, min: 0, max: 86_400)
        try section.finish()
    }
}

/// Reads `practices:` overrides: a mapping from practice key to changed fields, or a new practice.
enum PracticeOverrides {
    static func apply(_ section: ConfigSection?, to base: PracticeSet) throws -> PracticeSet {
        guard let section else { return base }
        var set = base
        for key in section.keys {
            guard let s = try section.section(key) else { continue }
            if let i = set.definitions.firstIndex(where: { $0.key == key }) {
                set.definitions[i] = try override(set.definitions[i], with: s)
            } else {
                // A new practice: a software check when it names software, else an observation check.
                var d = PracticeDefinition(key: key, title: key, description: "", rating: .medium, platforms: PracticeSet.all)
                if s.has("software") { d.check = .software(SoftwareRule(names: [])) }
                d = try override(d, with: s)
                if case .software(let rule) = d.check, rule.names.isEmpty {
                    throw s.error("software", "a new software practice needs software names")
                }
                set.definitions.append(d)
            }
        }
        try section.finish()
        return set
    }

    static func status(_ s: ConfigSection, _ key: String, _ current: Status) throws -> Status {
        Status(rawValue: try s.choice(key, ["warn", "nudge", "unknown", "ok", "na"], default: current.rawValue))!
    }

    static func platform(_ text: String, _ s: ConfigSection, _ key: String) throws -> Platform {
        guard let p = Platform(rawValue: text) ?? Platform(lenient: text) else {
            throw s.error(key, "unknown platform '\(text.prefix(40))' (expected one of \(Platform.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return p
    }

    /// One platform's rules: a mapping (`{required, recommended}`, one rule for all nights) or a dated list whose
    /// first entry has no `from` and whose later entries start on strictly increasing `from` as-of dates.
    static func versionRules(_ versions: ConfigSection, _ key: String, platform: Platform? = nil) throws -> [VersionRule] {
        let entries: [ConfigSection]
        if versions.isList(key) {
            entries = try versions.sections(key)
        } else if let one = try versions.section(key) {
            entries = [one]
        } else {
            entries = []
        }
        var rules: [VersionRule] = []
        for (i, v) in entries.enumerated() {
            var rule = VersionRule()
            rule.from = try v.optionalString("from")
            if let from = rule.from {
                guard i > 0 else { throw v.error("from", "the first rule has no 'from' (it applies before every dated rule)") }
                guard AsOfDate.isValid(from) else { throw v.error("from", "'\(from.prefix(40))' is not a YYYY-MM-DD date") }
                if let previous = rules.last?.from, previous >= from { throw v.error("from", "dates must increase") }
            } else if i > 0 {
                throw v.error("from", "is required on every rule after the first")
            }
            rule.required = try v.optionalString("required")
            rule.recommended = try v.optionalString("recommended")
            for (name, value) in [("required", rule.required), ("recommended", rule.recommended)] {
                let parsed = platform == .windows ? WindowsVersion.number(value ?? "") : VersionNumber(value ?? "")
                if let value, parsed == nil { throw v.error(name, "'\(value.prefix(40))' is not a version") }
            }
            try v.finish()
            rules.append(rule)
        }
        return rules
    }

    static func override(_ base: PracticeDefinition, with s: ConfigSection) throws -> PracticeDefinition {
        var d = base
        d.title = try s.string("title", default: d.title)
        d.description = try s.string("description", default: d.description)
        d.link = try s.optionalString("link") ?? d.link
        d.rating = Rating(rawValue: try s.choice("rating", Rating.allCases.map(\.rawValue), default: d.rating.rawValue))!
        d.enabled = try s.bool("enabled", default: d.enabled)
        if let list = try s.stringList("platforms") {
            d.platforms = Set(try list.map { try platform($0, s, "platforms") })
        }
        d.onFail = try status(s, "on_fail", d.onFail)
        d.onMissing = try status(s, "on_missing", d.onMissing)
        if let byPlatform = try s.section("on_fail_by_platform") {
            for k in byPlatform.keys {
                d.onFailByPlatform[try platform(k, byPlatform, k)] = try status(byPlatform, k, d.onFail)
            }
            try byPlatform.finish()
        }
        if let versions = try s.section("versions") {
            guard case .osVersion(var rules) = d.check else { throw s.error("versions", "only the os_version practice takes versions") }
            for k in versions.keys {
                let p = try platform(k, versions, k)
                rules[p] = try versionRules(versions, k, platform: p)
            }
            try versions.finish()
            d.check = .osVersion(rules)
        }
        if s.has("software") || s.has("minimum_version") {
            guard case .software(var rule) = d.check else {
                throw s.error("software", "only software practices take software names")
            }
            rule.names = try s.stringList("software") ?? rule.names
            rule.minimumVersion = try s.optionalString("minimum_version") ?? rule.minimumVersion
            d.check = .software(rule)
        }
        try s.finish()
        return d
    }
}
