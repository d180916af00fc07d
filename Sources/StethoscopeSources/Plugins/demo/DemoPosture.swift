import Foundation
import StethoscopeCore

/// The practices the demo observes (keys of `PracticeSet.defaults`) with their base failure rates.
enum DemoPractice: Int, CaseIterable {
    case encryption, screenLock, firewall, autoUpdates, remoteLogin, jailbreak, unknownSources, adb, developerOptions,
        verifiedBoot

    var key: String {
        switch self {
        case .encryption: return "encryption"
        case .screenLock: return "screen_lock"
        case .firewall: return "firewall"
        case .autoUpdates: return "auto_updates"
        case .remoteLogin: return "remote_login"
        case .jailbreak: return "jailbreak"
        case .unknownSources: return "unknown_sources"
        case .adb: return "adb"
        case .developerOptions: return "developer_options"
        case .verifiedBoot: return "verified_boot"
        }
    }

    /// Share of devices failing the practice at the start of the horizon (before organization culture).
    var baseRate: Double {
        switch self {
        case .encryption: return 0.07
        case .screenLock: return 0.10
        case .firewall: return 0.18
        case .autoUpdates: return 0.14
        case .remoteLogin: return 0.10
        case .jailbreak: return 0.006
        case .unknownSources: return 0.06
        case .adb: return 0.04
        case .developerOptions: return 0.08
        case .verifiedBoot: return 0.015
        }
    }
}

/// One platform's OS timeline: most devices run `current`, some `older`; `next` ships at the release night.
struct DemoOSLine {
    var name: String
    var older: String
    var current: String
    var next: String
    /// The required floor before the release (kept from the shipped defaults).
    var floor: String

    static func of(_ platform: Platform) -> DemoOSLine {
        switch platform {
        case .mac: return DemoOSLine(name: "macOS", older: "14.7.1", current: "15.1", next: "15.2", floor: "14.0")
        case .windows:
            return DemoOSLine(name: "Windows", older: "10.0.19045", current: "10.0.22631", next: "10.0.26100", floor: "10.0.19045")
        case .linux: return DemoOSLine(name: "Ubuntu", older: "22.04", current: "24.04", next: "24.04", floor: "")
        case .iOS: return DemoOSLine(name: "iOS", older: "17.7", current: "18.1", next: "18.2", floor: "17.0")
        case .android: return DemoOSLine(name: "Android", older: "13", current: "14", next: "15", floor: "13")
        case .chromeOS:
            return DemoOSLine(name: "ChromeOS", older: "128.0.6613.133", current: "129.0.6668.110", next: "130.0.6723.84", floor: "120")
        }
    }
    static let all: [Platform: DemoOSLine] = Dictionary(uniqueKeysWithValues: Platform.allCases.map { ($0, of($0)) })
}

/// Posture, closed form: whether device `d` fails a practice on a night depends only on per-device draws
/// (initially failing, fix night, regression night), scaled by the owner's organization culture.
extension DemoWorld {
    /// The night whose state a record shows: stale devices stopped reporting at `staleFrom`.
    func effectiveNight(_ d: Int, _ night: Int) -> Int {
        max(min(night, Int(devices[d].staleFrom) - 1), Int(devices[d].arrive))
    }

    func culture(of d: Int) -> Double {
        culture[Int(persons[Int(devices[d].owner)].orgBefore)]
    }

    func failing(_ d: Int, _ practice: DemoPractice, _ night: Int) -> Bool {
        let dev = devices[d]
        var rng = DemoRandom(DemoRandom.derive(deviceSeed(d), 0x5000 &+ UInt64(practice.rawValue)))
        let c = culture(of: d)
        let arrivedInHorizon = dev.arrive > 0
        var fix = Int.min
        if arrivedInHorizon && practice == .encryption {
            // New machines often come out of the box unencrypted; most are fixed within days.
            if rng.chance(0.6) { fix = rng.chance(0.92) ? Int(dev.arrive) + 1 + rng.int(5) : Int.max }
        } else if rng.chance(min(practice.baseRate * c, 0.9)) {
            // Sloppier organizations (culture > 1) fix less often and more slowly.
            fix = rng.chance(0.75 / c) ? Int(rng.exponential(mean: 14 * c)) : Int.max
        }
        // A message about a failing item may make its owner fix it sooner (DemoResponses.swift).
        if night < fix { return !fixedAfterMessage(d, practice, night, since: Int.min) }
        // A few regress (someone turns the firewall off for a demo), half of them fix it again.
        if rng.chance(0.03) {
            let at = rng.int(max(nights, 1))
            let back: Int = rng.chance(0.5) ? at + 3 + rng.int(18) : Int.max
            return night >= at && night < back && !fixedAfterMessage(d, practice, night, since: at)
        }
        return false
    }

    /// The OS version device `d` runs on `night`: adopt the release after a per-device delay (most within three
    /// weeks, some much later, some never).
    func osVersion(_ d: Int, _ night: Int) -> String { respondedOSVersion(d, night, own: ownOSVersion(d, night)) }

    /// The OS version without any message's effect.
    func ownOSVersion(_ d: Int, _ night: Int) -> String {
        let line = DemoOSLine.all[devices[d].kind.platform]!
        var rng = DemoRandom(DemoRandom.derive(deviceSeed(d), 0x05))
        let base: String = rng.chance(0.1) ? line.older : line.current
        let u = rng.unit()
        let delay: Int
        if u < 0.8 {
            delay = min(Int(rng.exponential(mean: 6)), 20)
        } else if u < 0.92 {
            delay = 21 + rng.int(40)
        } else {
            return base
        }
        return night >= releaseNight + delay ? line.next : base
    }

    /// Carbon Black on a Mac or Windows machine: absent on some, 3.5 upgraded to 3.7 over time on others.
    func carbonBlack(_ d: Int, _ night: Int) -> String? { respondedCarbonBlack(d, night, own: ownCarbonBlack(d, night)) }

    /// Carbon Black without any message's effect.
    func ownCarbonBlack(_ d: Int, _ night: Int) -> String? {
        var rng = DemoRandom(DemoRandom.derive(deviceSeed(d), 0xCB))
        guard rng.chance(0.92) else { return nil }
        if rng.chance(0.35) {
            let upgrade = rng.int(max(nights * 3 / 2, 1))
            return night >= upgrade ? "3.7.1" : "3.5.2"
        }
        return "3.7.1"
    }
}
