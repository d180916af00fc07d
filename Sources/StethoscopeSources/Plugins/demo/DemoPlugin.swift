import Foundation
import StethoscopeCore

/// The built-in demo company (`type: demo`): directory, four device feeds and an asset list generated from one
/// seeded world, so the quick start exercises normalize → merge → evaluate → report without any vendor.
public enum DemoPlugin: SourcePlugin {
    public static let type = "demo"

    public static func directory(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DirectorySource {
        let p = try parameters(config.section)
        try config.section.finish()
        return DemoDirectory(name: config.name, parameters: p)
    }

    public static func deviceSource(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any DeviceSource {
        let s = config.section
        let p = try parameters(s)
        let feed = DemoFeed(rawValue: try s.choice("feed", DemoFeed.allCases.map(\.rawValue)))!
        var down: Set<Int> = []
        for text in try s.stringList("down_nights") ?? [] {
            guard let n = Int(text), n >= 0 else { throw s.error("down_nights", "'\(text.prefix(20))' is not a night index") }
            down.insert(n)
        }
        try s.finish()
        return DemoDeviceSource(name: config.name, parameters: p, feed: feed, downNights: down)
    }

    public static func attribution(_ config: PluginConfig, _ env: PluginEnvironment) throws -> any AttributionSource {
        let s = config.section
        let p = try parameters(s)
        _ = try s.choice("feed", ["assets"], default: "assets")
        try s.finish()
        return DemoAssets(name: config.name, parameters: p)
    }

    /// The keys every role shares: they pick the world.
    static func parameters(_ s: ConfigSection) throws -> DemoParameters {
        let seed = try s.int("seed", default: 1)
        let people = try s.int("people", default: 2000, min: 20, max: 2_000_000)
        let start = try s.string("start", default: "2026-10-01")
        guard AsOfDate.isValid(start) else { throw s.error("start", "'\(start.prefix(20))' is not a YYYY-MM-DD date") }
        let nights = try s.int("nights", default: 60, min: 1, max: 3650)
        return DemoParameters(seed: seed, people: people, start: start, nights: nights)
    }

    /// The night index of an as-of date: days since `start`, clamped to the horizon.
    static func night(_ asOf: String, _ p: DemoParameters, source: String) throws -> Int {
        guard let day = AsOfDate.parse(asOf), let start = AsOfDate.parse(p.start) else {
            throw SourceError(source, "as-of date '\(asOf.prefix(20))' is not YYYY-MM-DD")
        }
        return min(max(day - start, 0), p.nights - 1)
    }

    /// What the shared world answers for the night of `context.asOf`, served as one page of one request.
    static func onePage<Item>(
        _ context: PullContext, _ p: DemoParameters, source: String,
        _ read: (DemoWorld, Int) -> [Item]
    ) throws -> [Item] {
        let night = try DemoPlugin.night(context.asOf, p, source: source)
        let items = read(DemoWorld.shared(p), night)
        context.figures.request()
        context.figures.page(records: items.count)
        return items
    }

    /// The `practices:` fragment whose dated os_version rules follow the demo's release: the old version is
    /// recommended from the start, the new one from the release night, and required three weeks later.
    public static func practicesYAML(start: String, nights: Int) -> String {
        let release = max(nights, 1) / 3
        let released = AsOfDate.adding(release, to: start) ?? start
        let enforced = AsOfDate.adding(release + 21, to: start) ?? start
        var lines = ["practices:", "  os_version:", "    versions:"]
        for platform in [Platform.mac, .windows, .iOS, .android, .chromeOS] {
            let line = DemoOSLine.of(platform)
            let next = platform == .chromeOS ? "130" : line.next
            let current = platform == .chromeOS ? "129" : line.current
            lines.append("      \(platform.rawValue):")
            lines.append("        - {required: \"\(line.floor)\", recommended: \"\(current)\"}")
            lines.append("        - {from: \"\(released)\", required: \"\(line.floor)\", recommended: \"\(next)\"}")
            lines.append("        - {from: \"\(enforced)\", required: \"\(next)\", recommended: \"\(next)\"}")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A complete config for the demo: UTC, the directory, the four feeds (Google down one night around
    /// two thirds of the horizon), the asset list and the dated version rules. Source names equal feed names.
    /// `authLogs`: a glob of the demo's wireless accounting files, read by an `auth_logs` entry named `wifi`.
    public static func demoConfigYAML(
        seed: Int = 1, people: Int = 2000, start: String = "2026-10-01", nights: Int = 60,
        database: String = "stethoscope-demo.db", authLogs: String? = nil
    ) -> String {
        let world = "seed: \(seed), people: \(people), start: \"\(start)\", nights: \(nights)"
        let down = max(nights * 2 / 3, 0)
        var lines = [
            "# The demo company: every section below is generated by the `demo` plugin from one seeded world.",
            "timezone: UTC",
            "database: \"\(database)\"",
            "directory: {type: demo, \(world)}",
            "sources:"
        ]
        for feed in DemoFeed.allCases {
            let outage = feed == .google ? ", down_nights: [\(down)]" : ""
            lines.append("  - {name: \(feed.rawValue), type: demo, feed: \(feed.rawValue), \(world)\(outage)}")
        }
        lines.append("attribution:")
        lines.append("  - {name: assets, type: demo, feed: assets, \(world)}")
        // The wireless network's accounting (`DemoWorld.writeAuthLogs`), after the asset list: registers win.
        if let authLogs {
            lines.append("  - {name: wifi, type: auth_logs, paths: [\"\(authLogs)\"], email_template: \"{user}@\(DemoWorld.domain)\"}")
        }
        return lines.joined(separator: "\n") + "\n" + practicesYAML(start: start, nights: nights)
    }
}

/// The demo directory: everyone who has joined by the night; leavers inactive.
struct DemoDirectory: DirectorySource {
    let name: String
    let parameters: DemoParameters

    func people(_ context: PullContext) async throws -> [Person] {
        try DemoPlugin.onePage(context, parameters, source: name) { world, night in world.people(night: night) }
    }
}

/// One demo device feed; throws on its `down_nights` to simulate a vendor outage.
struct DemoDeviceSource: DeviceSource {
    let name: String
    let parameters: DemoParameters
    let feed: DemoFeed
    let downNights: Set<Int>

    func pull(_ context: PullContext) async throws -> [SourceRecord] {
        let night = try DemoPlugin.night(context.asOf, parameters, source: name)
        if downNights.contains(night) {
            context.figures.error("outage")
            throw SourceError(name, "demo outage: the \(feed.rawValue) feed is down on night \(night)")
        }
        let records = DemoWorld.shared(parameters).records(feed, night: night, source: name)
        // Count pages as a real vendor would serve them (500 per page).
        let pageSize = 500
        var left = records.count
        repeat {
            let n = min(left, pageSize)
            context.figures.request()
            context.figures.page(records: n)
            left -= n
        } while left > 0
        return records
    }

    func check(_ context: PullContext) async throws -> String {
        "demo feed \(feed.rawValue) (seed \(parameters.seed), \(parameters.people) people, no remote endpoint)"
    }
}

/// The demo asset list: serial → owner for most laptops and for many devices that carry no owner hint.
struct DemoAssets: AttributionSource {
    let name: String
    let parameters: DemoParameters

    func assignments(_ context: PullContext) async throws -> [OwnerAssignment] {
        try DemoPlugin.onePage(context, parameters, source: name) { world, night in world.assets(night: night) }
    }
}

extension DemoWorld {
    /// The asset register on `night`: ~70% of laptops, ~60% of devices without owner hints, a few phones.
    public func assets(night: Int) -> [OwnerAssignment] {
        var out: [OwnerAssignment] = []
        for d in devices.indices where exists(d, night) {
            let dev = devices[d]
            guard !dev.quirks.contains(.placeholderSerial), dev.kind != .windowsVM, dev.kind != .linuxVM else { continue }
            var rng = DemoRandom(DemoRandom.derive(deviceSeed(d), 0xA55E7))
            let p: Double = dev.quirks.contains(.noOwnerHint) ? 0.6 : (dev.kind.isLaptop ? 0.7 : 0.15)
            guard rng.chance(p) else { continue }
            let s = rng.chance(0.1) ? serial(d).lowercased() : serial(d)
            out.append(OwnerAssignment(RawIdentifier(.serial, s), email: emails[Int(dev.owner)]))
        }
        return out
    }

    /// The `practices:` fragment matching this world's OS release timeline.
    public var practicesYAML: String { DemoPlugin.practicesYAML(start: parameters.start, nights: nights) }
}
