import Foundation
import StethoscopeCore

/// The demo company's wireless network: FreeRADIUS accounting detail files, as the `detail` module writes them,
/// for its people's Macs, PCs, iPhones and iPads on the days they are in the office, plus personal phones no
/// inventory knows (BYOD), a few iPads two colleagues share, some `CORP\user` names, randomized MACs and a
/// contractor the directory does not list; the `auth_logs` plugin reads them (`make demo`: auth-log owners and
/// the unmanaged devices on the data-quality page).
extension DemoWorld {
    /// Days of accounting written before night 0, so the first nights already have a window.
    static let authLogDaysBefore = 10

    /// Writes `folder/ap-<n>/detail-YYYYMMDD` for every day from `authLogDaysBefore` days before night 0 to the
    /// last night; returns the records written. The same world always writes the same files.
    @discardableResult
    public func writeAuthLogs(to folder: URL) throws -> Int {
        var files: [String: [UInt8]] = [:]
        var records = 0
        let header = DateFormatter()
        let event = DateFormatter()
        for f in [header, event] {
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
        }
        header.dateFormat = "EEE MMM d HH:mm:ss yyyy"
        event.dateFormat = "MMM dd yyyy HH:mm:ss 'UTC'"
        func emit(day: Int, user: String, mac: UInt64, _ rng: inout DemoRandom, ap: Int) {
            let t = Double((startDay + day) * 86_400 + 7 * 3600 + rng.int(11 * 3600))
            let at = Date(timeIntervalSince1970: t)
            let name = "ap-\(ap)/detail-\(AsOfDate.format(startDay + day).replacingOccurrences(of: "-", with: ""))"
            let text =
                "\(header.string(from: at))\n\tUser-Name = \"\(user.replacingOccurrences(of: "\\", with: "\\\\"))\"\n"
                + "\tAcct-Status-Type = \(rng.chance(0.5) ? "Start" : "Interim-Update")\n"
                + "\tCalling-Station-Id = \"\(DemoWorld.format(mac, .dash))\"\n\tCalled-Station-Id = \"B4-FB-E4-00-00-0\(ap):corp-wifi\"\n"
                + "\tNAS-Port-Type = Wireless-802.11\n\tAcct-Session-Id = \"\(String(rng.next() & 0xFFFF_FFFF, radix: 16))\"\n"
                + "\tEvent-Timestamp = \"\(event.string(from: at))\"\n\tTimestamp = \(Int(t))\n\n"
            files[name, default: []].append(contentsOf: text.utf8)
            records += 1
        }
        let domain = "CORP\\"
        for day in -Self.authLogDaysBefore..<nights {
            let weekday = (startDay + day + 4) % 7  // 1970-01-01 was a Thursday: 0 = Sunday
            let office = weekday != 0 && weekday != 6 ? 0.55 : 0.08
            var rng = DemoRandom(DemoRandom.derive(seed ^ 0xA17_0000, UInt64(day + 1000)))
            for (d, dev) in devices.enumerated() {
                // Devices whose inventory (Jamf, the PC management tool) reports the Wi-Fi MAC the network sees.
                let inventory = dev.kind == .windows ? DemoFeed.mdm.bit : DemoFeed.jamf.bit
                guard exists(d, max(day, 0)), [.mac, .windows, .iPhone, .iPad].contains(dev.kind), dev.feeds & inventory != 0 else { continue }
                let p = Int(dev.owner)
                guard Int(persons[p].join) <= day, day < Int(persons[p].leave), rng.chance(office) else { continue }
                // The MAC the network sees is the one the device's inventory reports (randomized where it is).
                let mac = wifiOrRandom(d, salt: dev.kind == .windows ? 2 : 1)
                let user = rng.chance(0.1) ? domain + usernames[p] : emails[p]
                emit(day: day, user: user, mac: mac, &rng, ap: 1 + p % 3)
                // One iPad in ten is a team device a colleague uses as often.
                if dev.kind == .iPad, d % 10 == 0 {
                    let other = Int(persons[p].manager) >= 0 ? Int(persons[p].manager) : (p + 1) % persons.count
                    emit(day: day, user: emails[other], mac: mac, &rng, ap: 1 + p % 3)
                }
            }
            // Personal phones no inventory knows: about one person in eight brings one.
            for p in persons.indices where DemoRandom.derive(seed, UInt64(p) &+ 0xB10D) % 8 == 0 {
                guard Int(persons[p].join) <= day, day < Int(persons[p].leave), rng.chance(office * 0.8) else { continue }
                let mac = UInt64(0x5C497D) << 24 | DemoRandom.derive(seed, UInt64(p)) & 0xFF_FFFF
                emit(day: day, user: emails[p], mac: mac, &rng, ap: 1 + p % 3)
            }
            // Two contractors the directory does not list, on their own laptops.
            for c in 0..<2 where rng.chance(office) {
                emit(day: day, user: "contractor\(c + 1)@partner.example", mac: UInt64(0x3C0754) << 24 | UInt64(0xC0_0000 + c), &rng, ap: 1)
            }
        }
        for (name, bytes) in files {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        return records
    }
}
