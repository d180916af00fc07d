import Foundation
import StethoscopeCore

/// What decides a demo world: every role built from the same four values sees the same company.
public struct DemoParameters: Sendable, Hashable {
    public var seed: Int
    public var people: Int
    public var start: String
    public var nights: Int
    public init(seed: Int = 1, people: Int = 2000, start: String = "2026-10-01", nights: Int = 60) {
        self.seed = seed
        self.people = people
        self.start = start
        self.nights = nights
    }
}

/// The kinds of demo device; each maps to one platform and decides which feeds see it.
enum DemoKind: UInt8, CaseIterable {
    case mac, windows, linux, iPhone, iPad, android, chromebook, windowsVM, linuxVM

    var platform: Platform {
        switch self {
        case .mac: return .mac
        case .windows, .windowsVM: return .windows
        case .linux, .linuxVM: return .linux
        case .iPhone, .iPad: return .iOS
        case .android: return .android
        case .chromebook: return .chromeOS
        }
    }
    var isLaptop: Bool { self == .mac || self == .windows || self == .linux }
}

/// The four demo device feeds, each shaped like one real vendor (see the plugin README).
public enum DemoFeed: String, Sendable, CaseIterable {
    case jamf, mdm, google, fleet
    var bit: UInt8 {
        switch self {
        case .jamf: return 1
        case .mdm: return 2
        case .google: return 4
        case .fleet: return 8
        }
    }
}

/// Per-device noise, drawn once when the world is built.
struct DemoQuirk: OptionSet {
    let rawValue: UInt16
    /// The hardware reports a placeholder serial (`To be filled by O.E.M.`...) in every feed.
    static let placeholderSerial = DemoQuirk(rawValue: 1)
    /// Records carry no owner hint (shared or mis-enrolled devices).
    static let noOwnerHint = DemoQuirk(rawValue: 2)
    /// The device's main feed holds a second, older record of it (re-enrolment) under another local id.
    static let duplicate = DemoQuirk(rawValue: 4)
    /// No usable identifier at all: placeholder serial, no UUID, only a container MAC.
    static let noIdentifier = DemoQuirk(rawValue: 8)
    /// Reports a randomized (locally administered) Wi-Fi MAC instead of the burned-in one.
    static let randomMAC = DemoQuirk(rawValue: 16)
    /// A leaver's device that stays enrolled under the former employee.
    static let lingering = DemoQuirk(rawValue: 32)
}

/// One physical device. Everything else (serial, MACs, posture) is derived from its index and the seed.
struct DemoDevice {
    var owner: Int32
    var kind: DemoKind
    var feeds: UInt8
    var quirks: DemoQuirk
    /// First night the device exists (negative: it existed before the horizon).
    var arrive: Int16
    /// First night it no longer exists (`Int16.max`: never retires).
    var retire: Int16
    /// From this night on it stops syncing; its records keep the last sync time and posture.
    var staleFrom: Int16
    /// A shared dock / USB-Ethernet adapter id (two laptops share one), or -1.
    var dock: Int32
}

/// One person; names, emails and titles live in parallel arrays of the world.
struct DemoPerson {
    var manager: Int32
    var level: Int8
    var join: Int16
    var leave: Int16
    var orgBefore: Int16
    var orgAfter: Int16
    var location: UInt8
}

/// The demo company: people, org tree, devices. Built once per parameters (see `shared`), then every night is
/// computed directly from per-entity draws, with no day-by-day simulation.
public final class DemoWorld: Sendable {
    public let parameters: DemoParameters
    let seed: UInt64
    let startDay: Int
    public let nights: Int
    /// The night a new OS version ships on every platform.
    public let releaseNight: Int
    /// The night one team moves under another VP.
    public let reorgNight: Int
    let persons: [DemoPerson]
    let emails: [String]
    let usernames: [String]
    let names: [String]
    let titles: [String]
    let organizations: [String]
    let devices: [DemoDevice]
    /// Per-organization posture culture: multiplies failure rates (some orgs are sloppier).
    let culture: [Double]
    /// The team moved at the reorg: its root and its manager after the move.
    let reorgRoot: Int
    let reorgNewManager: Int
    /// A person whose manager is not in the directory, and that manager's email.
    let danglingPerson: Int
    let danglingManagerEmail = "departed.director@example.com"

    static let domain = "example.com"

    // MARK: Cache

    private static let cache = Locked<[DemoParameters: DemoWorld]>([:])

    /// The world for these parameters, built on first use. Several sources ask in one run; they share it.
    public static func shared(_ p: DemoParameters) -> DemoWorld {
        cache.withLock { worlds in
            if let w = worlds[p] { return w }
            let w = DemoWorld(p)
            worlds[p] = w
            return w
        }
    }

    /// The night index of an as-of date, clamped to the horizon; nil when the date is not `YYYY-MM-DD`.
    public func night(of asOf: String) -> Int? {
        guard let day = AsOfDate.parse(asOf) else { return nil }
        return min(max(day - startDay, 0), nights - 1)
    }

    public var deviceCount: Int { devices.count }

    // MARK: Build

    public init(_ p: DemoParameters) {
        parameters = p
        seed = DemoRandom.derive(UInt64(bitPattern: Int64(p.seed)), 0x5EED)
        startDay = AsOfDate.parse(p.start) ?? AsOfDate.parse("2026-10-01")!
        nights = max(p.nights, 1)
        releaseNight = nights / 3
        reorgNight = nights / 2
        var b = PeopleBuilder(seed: seed, people: max(p.people, 20), nights: nights)
        b.build()
        persons = b.persons
        emails = b.emails
        usernames = b.usernames
        names = b.names
        titles = b.titles
        organizations = b.organizations
        reorgRoot = b.reorgRoot
        reorgNewManager = b.reorgNewManager
        danglingPerson = b.dangling
        var rng = DemoRandom(DemoRandom.derive(seed, 0xC0C0))
        // A sub-team shares its team's culture (and draws nothing), so the third org level changed no posture.
        var culture: [Double] = []
        for o in organizations.indices { culture.append(b.subTeamParent[o].map { culture[$0] } ?? 0.5 + rng.unit() * 1.2) }
        self.culture = culture
        devices = DeviceBuilder.build(seed: seed, persons: persons, nights: nights)
    }

    // MARK: Directory

    /// Everyone who has joined by `night`; leavers stay, inactive.
    public func people(night: Int) -> [Person] {
        var out: [Person] = []
        out.reserveCapacity(persons.count)
        for i in persons.indices {
            let p = persons[i]
            guard Int(p.join) <= night else { continue }
            var managerEmail: String? = nil
            let m = managerIndex(i, night: night)
            if i == danglingPerson { managerEmail = danglingManagerEmail } else if m >= 0 { managerEmail = emails[m] }
            let org = night >= reorgNight ? p.orgAfter : p.orgBefore
            out.append(
                Person(
                    email: emails[i], name: names[i], managerEmail: managerEmail, organization: organizations[Int(org)],
                    title: titles[i], location: PeopleBuilder.locations[Int(p.location)], active: night < Int(p.leave)))
        }
        return out
    }

    func managerIndex(_ i: Int, night: Int) -> Int {
        if i == reorgRoot && night >= reorgNight { return reorgNewManager }
        return Int(persons[i].manager)
    }

    /// Whether device `d` exists on `night`.
    func exists(_ d: Int, _ night: Int) -> Bool {
        let dev = devices[d]
        return Int(dev.arrive) <= night && night < Int(dev.retire)
    }
}
