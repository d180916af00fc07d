import Foundation

/// Draws every person's devices: laptops (Mac 55% / Windows 35% / Linux 10%, some people with two), phones
/// (80%, iOS 60% / Android 40%), iPads, Chromebooks, VMs and mid-horizon laptop replacements, about 2.5 per person;
/// then which feeds see each device and its quirks.
enum DeviceBuilder {
    static func build(seed: UInt64, persons: [DemoPerson], nights: Int) -> [DemoDevice] {
        var devices: [DemoDevice] = []
        devices.reserveCapacity(persons.count * 5 / 2 + 16)
        var pendingDock: Int = -1
        var nextDock: Int32 = 0
        let laptopWeights: [Double] = [55, 35, 10]
        let laptopKinds: [DemoKind] = [.mac, .windows, .linux]
        for p in persons.indices {
            var rng = DemoRandom(DemoRandom.derive(seed, 0xD000_0000 &+ UInt64(p)))
            let person = persons[p]
            let joinedLater = person.join > 0
            var kinds: [DemoKind] = []
            let u = rng.unit()
            let laptops: Int = u < 0.02 ? 0 : (u < 0.87 ? 1 : 2)
            for _ in 0..<laptops { kinds.append(laptopKinds[rng.pick(laptopWeights)]) }
            if rng.chance(0.80) { kinds.append(rng.chance(0.6) ? .iPhone : .android) }
            if rng.chance(0.08) { kinds.append(rng.chance(0.5) ? .iPhone : .android) }
            if rng.chance(0.30) { kinds.append(.iPad) }
            if rng.chance(0.05) { kinds.append(.chromebook) }
            if rng.chance(0.05) { kinds.append(rng.chance(0.5) ? .windowsVM : .linuxVM) }
            let replaceNight: Int = nights > 4 && laptops > 0 && rng.chance(0.08) ? 1 + rng.int(nights - 1) : -1
            let firstDevice = devices.count
            for kind in kinds {
                let arrive: Int = joinedLater ? Int(person.join) + rng.int(3) : -(30 + rng.int(1200))
                var d = DemoDevice(
                    owner: Int32(p), kind: kind, feeds: 0, quirks: [], arrive: Int16(clamping: arrive),
                    retire: Int16.max, staleFrom: Int16.max, dock: -1)
                if rng.chance(0.03) { d.staleFrom = Int16(clamping: -40 + rng.int(nights + 40)) }
                devices.append(d)
            }
            if replaceNight > 0 {
                // The first laptop is replaced: the new one arrives, the old one retires (or lingers, stale).
                var new = devices[firstDevice]
                new.arrive = Int16(replaceNight)
                new.staleFrom = Int16.max
                if rng.chance(0.7) {
                    devices[firstDevice].retire = Int16(clamping: replaceNight + 3 + rng.int(12))
                } else {
                    devices[firstDevice].staleFrom = Int16(clamping: replaceNight + 1 + rng.int(3))
                }
                devices.append(new)
            }
            if person.leave != Int16.max {
                for i in firstDevice..<devices.count {
                    if rng.chance(0.6) {
                        devices[i].retire = Int16(clamping: min(Int(devices[i].retire), Int(person.leave) + rng.int(4)))
                    } else {
                        devices[i].quirks.insert(.lingering)
                        if rng.chance(0.5) { devices[i].staleFrom = Int16(clamping: min(Int(devices[i].staleFrom), Int(person.leave) + rng.int(5))) }
                    }
                }
            }
            for i in firstDevice..<devices.count {
                assignFeedsAndQuirks(&devices[i], &rng)
                if devices[i].kind.isLaptop && !devices[i].quirks.contains(.placeholderSerial) && rng.chance(0.004) {
                    // Shared docks come in pairs: two laptops, different serials, one USB-Ethernet MAC.
                    if pendingDock >= 0 {
                        devices[i].dock = devices[pendingDock].dock
                        pendingDock = -1
                    } else {
                        devices[i].dock = nextDock
                        nextDock += 1
                        pendingDock = i
                    }
                }
            }
        }
        if pendingDock >= 0 { devices[pendingDock].dock = -1 }
        return devices
    }

    /// Which feeds see the device (every device is seen by at least one) and its per-device quirks.
    static func assignFeedsAndQuirks(_ d: inout DemoDevice, _ rng: inout DemoRandom) {
        let jamf = DemoFeed.jamf.bit
        let mdm = DemoFeed.mdm.bit
        let google = DemoFeed.google.bit
        let fleet = DemoFeed.fleet.bit
        var f: UInt8 = 0
        switch d.kind {
        case .mac:
            f = rng.chance(0.98) ? jamf : fleet
            if rng.chance(0.80) { f |= fleet }
            if rng.chance(0.75) { f |= google }
        case .windows:
            f = rng.chance(0.97) ? mdm : fleet
            if rng.chance(0.75) { f |= fleet }
            if rng.chance(0.60) { f |= google }
        case .linux:
            f = fleet
            if rng.chance(0.5) { f |= google }
        case .linuxVM: f = fleet
        case .iPhone, .iPad:
            if rng.chance(0.85) { f |= jamf }
            if rng.chance(0.9) || f == 0 { f |= google }
        case .android, .chromebook: f = google
        case .windowsVM:
            f = mdm
            if rng.chance(0.5) { f |= fleet }
        }
        d.feeds = f
        var q = d.quirks
        if (d.kind == .windows && rng.chance(0.02)) || (d.kind == .linux && rng.chance(0.04)) { q.insert(.placeholderSerial) }
        if d.kind == .linux && q.contains(.placeholderSerial) && rng.chance(0.5) { q.insert(.noIdentifier) }
        if rng.chance(0.03) { q.insert(.noOwnerHint) }
        if rng.chance(0.012) { q.insert(.duplicate) }
        if !q.contains(.placeholderSerial) && rng.chance(0.04) { q.insert(.randomMAC) }
        // Google reports a sync device's serial as its device id too: a placeholder there would be a shared id.
        if q.contains(.placeholderSerial) { d.feeds &= ~google }
        d.quirks = q
    }
}
