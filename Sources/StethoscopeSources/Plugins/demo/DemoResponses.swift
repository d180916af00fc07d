import Foundation
import StethoscopeCore

/// How the demo's people respond to the messages they were actually sent (README, "Responses to nudges").
///
/// The only input is what notify recorded: `stethoscope demo` reads each night's person messages from the
/// `notifications` ledger, maps every item they named (`device_id:practice`) to the physical demo device through
/// the ground truth of that night's records, and hands the world `(device, practice, night)` here. People in a
/// hold-out group were never sent anything, so they keep the world's own fix times: the difference the Nudges page
/// measures is the one the messages made. Each message is a separate chance (reminders too), drawn from the item's
/// own stream, so a world with the same messages gives the same records every time.
public struct DemoMessage: Sendable, Hashable {
    /// The physical device index (see `groundTruth`).
    public var device: Int
    /// The practice key (`encryption`, `firewall`, `os_version`, `carbon_black` …); others are ignored.
    public var practice: String
    /// The night index the message went out after.
    public var night: Int
    public init(device: Int, practice: String, night: Int) {
        self.device = device
        self.practice = practice
        self.night = night
    }
}

extension DemoWorld {
    /// The messages each world's people have received: item (device × slots + slot) → message nights.
    private static let inbox = Locked<[DemoParameters: [Int: [Int]]]>([:])

    /// What a message can be about: the observed practices, then the OS version and Carbon Black.
    static let responseSlots: [String: Int] = {
        var slots = Dictionary(uniqueKeysWithValues: DemoPractice.allCases.map { ($0.key, $0.rawValue) })
        slots["os_version"] = DemoPractice.allCases.count
        slots["carbon_black"] = DemoPractice.allCases.count + 1
        return slots
    }()
    static let osVersionSlot = DemoPractice.allCases.count
    static let carbonBlackSlot = DemoPractice.allCases.count + 1

    /// Share of messages that make their recipient act, before organization culture (sloppier ones act less).
    static let responseRate = 0.6
    /// Mean nights from a message to the fix, when the recipient acts (times the culture).
    static let responseDelay = 2.0

    /// Adds messages the world's people received (`stethoscope demo` calls it after each night's notify).
    public func receive(_ messages: [DemoMessage]) {
        let count = DemoWorld.responseSlots.count
        DemoWorld.inbox.withLock { received in
            var box = received[parameters] ?? [:]
            for m in messages where devices.indices.contains(m.device) {
                guard let slot = DemoWorld.responseSlots[m.practice] else { continue }
                let item = m.device * count + slot
                if !(box[item] ?? []).contains(m.night) { box[item, default: []].append(m.night) }
            }
            received[parameters] = box
        }
    }

    /// Forgets every message (the demo starts its simulated mailboxes afresh from night 0).
    public func forgetMessages() {
        _ = DemoWorld.inbox.withLock { $0.removeValue(forKey: parameters) }
    }

    /// Whether a message about this item, sent on a night in `since ..< night`, made its owner fix it by `night`.
    func fixedAfterMessage(_ d: Int, _ practice: DemoPractice, _ night: Int, since: Int) -> Bool {
        fixedAfterMessage(d, slot: practice.rawValue, night, since: since)
    }

    func fixedAfterMessage(_ d: Int, slot: Int, _ night: Int, since: Int) -> Bool {
        let item = d * DemoWorld.responseSlots.count + slot
        guard let nights = DemoWorld.inbox.withLock({ $0[parameters]?[item] }) else { return false }
        let c = culture(of: d)
        for t in nights where t >= since && t < night {
            var rng = DemoRandom(DemoRandom.derive(deviceSeed(d), 0x6000_0000 &+ (UInt64(slot) << 20) &+ UInt64(max(t, 0))))
            guard rng.chance(min(0.9, DemoWorld.responseRate / c)) else { continue }
            // The fix shows on a later night: at least the next one.
            if t + 1 + Int(rng.exponential(mean: DemoWorld.responseDelay * c)) <= night { return true }
        }
        return false
    }

    /// The OS version after messages: a person who acts updates to the newest version out on that night.
    func respondedOSVersion(_ d: Int, _ night: Int, own: String) -> String {
        let line = DemoOSLine.all[devices[d].kind.platform]!
        let newest = night >= releaseNight ? line.next : line.current
        guard own != newest, fixedAfterMessage(d, slot: DemoWorld.osVersionSlot, night, since: Int.min) else { return own }
        return newest
    }

    /// Carbon Black after messages: a person who acts installs (or upgrades to) the current version.
    func respondedCarbonBlack(_ d: Int, _ night: Int, own: String?) -> String? {
        guard own != "3.7.1", fixedAfterMessage(d, slot: DemoWorld.carbonBlackSlot, night, since: Int.min) else { return own }
        return "3.7.1"
    }
}
