import Foundation
import Logging
import StethoscopeCore
import Testing

@testable import StethoscopeSources

/// The small world most tests share (built once through the cache).
let demoParameters = DemoParameters(seed: 1, people: 2000, start: "2026-10-01", nights: 60)
var demoWorld: DemoWorld { DemoWorld.shared(demoParameters) }

func allRecords(_ world: DemoWorld, night: Int) -> [SourceRecord] {
    DemoFeed.allCases.flatMap { world.records($0, night: night, source: $0.rawValue) }
}

/// A compact text of a record, to compare runs.
func fingerprint(_ r: SourceRecord) -> String {
    let ids = r.identifiers.map { "\($0.kind.rawValue)=\($0.value)" }.joined(separator: ",")
    let obs = r.observations.map { "\($0.practice)=\($0.satisfied.map(String.init) ?? "-")" }.joined(separator: ",")
    return "\(r.source)/\(r.localID)|\(ids)|\(r.osVersion ?? "")|\(obs)|\(r.lastSync?.timeIntervalSince1970 ?? 0)"
}

func context(_ asOf: String) -> PullContext {
    PullContext(asOf: asOf, now: Date(), figures: FigureCounter(kind: .device, plugin: "demo"), logger: Logger(label: "test"))
}

@Suite struct DemoWorldTests {
    @Test func sameSeedSameRecordsDifferentSeedDifferent() {
        let a = DemoWorld(DemoParameters(seed: 7, people: 300, start: "2026-10-01", nights: 30))
        let b = DemoWorld(DemoParameters(seed: 7, people: 300, start: "2026-10-01", nights: 30))
        let c = DemoWorld(DemoParameters(seed: 8, people: 300, start: "2026-10-01", nights: 30))
        let ra = allRecords(a, night: 12).map(fingerprint)
        #expect(!ra.isEmpty)
        #expect(ra == allRecords(b, night: 12).map(fingerprint))
        #expect(a.people(night: 12) == b.people(night: 12))
        let serialsA = Set(allRecords(a, night: 12).compactMap { $0.identifiers.first { $0.kind == .serial }?.value })
        let serialsC = Set(allRecords(c, night: 12).compactMap { $0.identifiers.first { $0.kind == .serial }?.value })
        #expect(serialsA.intersection(serialsC).count < serialsA.count / 10)
        #expect(a.people(night: 0).map(\.email) != c.people(night: 0).map(\.email))
    }

    @Test func treeIsSixToEightLevelsWithSpansThreeToTwelve() {
        let people = demoWorld.people(night: 0)
        #expect(people.count == 2000)
        let byEmail = Dictionary(uniqueKeysWithValues: people.map { ($0.email, $0) })
        var maxLevels = 0
        for p in people {
            var levels = 1
            var current = p
            while let m = current.managerEmail, let next = byEmail[m], levels < 50 {
                levels += 1
                current = next
            }
            maxLevels = max(maxLevels, levels)
        }
        #expect((6...8).contains(maxLevels))
        var spans: [String: Int] = [:]
        for p in people { if let m = p.managerEmail, byEmail[m] != nil { spans[m, default: 0] += 1 } }
        #expect(spans.count > 100)
        #expect(spans.values.allSatisfy { (3...12).contains($0) })
        let noManager = people.filter { $0.managerEmail == nil }
        #expect((1...4).contains(noManager.count))
        let dangling = people.filter { $0.managerEmail.map { byEmail[$0] == nil } ?? false }
        #expect(dangling.count == 1)
        #expect(Set(people.compactMap(\.organization)).count >= 7)
        // Org paths two and three levels deep ("/Engineering/Platform/Core"), each under an organization of its own.
        let orgs = Set(people.compactMap(\.organization))
        let third = orgs.filter { $0.split(separator: "/").count == 3 }
        #expect(third.count >= 3, "\(orgs.sorted())")
        #expect(third.allSatisfy { orgs.contains(String($0[..<$0.lastIndex(of: "/")!])) })
        #expect(people.allSatisfy { $0.title != nil && $0.location != nil })
    }

    @Test func joinersAndLeaversOverTheHorizon() {
        let first = demoWorld.people(night: 0)
        let last = demoWorld.people(night: 59)
        let before = Set(first.map(\.email))
        let joiners = last.filter { !before.contains($0.email) }
        #expect(joiners.count > 20)
        #expect(first.allSatisfy { $0.active })
        let leavers = last.filter { !$0.active }
        #expect(leavers.count > 20)
        #expect(leavers.allSatisfy { before.contains($0.email) })
        // Some of a leaver's devices stay enrolled under the former employee.
        let leaverEmails = Set(leavers.map(\.email))
        let lingering = allRecords(demoWorld, night: 59).filter { $0.ownerHints.contains { leaverEmails.contains($0.value) } }
        #expect(!lingering.isEmpty)
    }

    @Test func reorgMovesATeamToAnotherOrganization() {
        let w = demoWorld
        let before = Dictionary(uniqueKeysWithValues: w.people(night: w.reorgNight - 1).map { ($0.email, $0) })
        let after = w.people(night: w.reorgNight)
        let moved = after.filter { p in before[p.email].map { $0.organization != p.organization } ?? false }
        #expect(moved.count >= 3)
        #expect(Set(moved.compactMap(\.organization)).count == 1)
        let managerChanged = after.filter { p in before[p.email].map { $0.managerEmail != p.managerEmail } ?? false }
        #expect(managerChanged.count == 1)
    }

    @Test func devicesPerPersonAndPlatformMix() {
        let w = demoWorld
        let perPerson = Double(w.deviceCount) / Double(w.persons.count)
        #expect(perPerson > 2.2 && perPerson < 2.8)
        let laptops = w.devices.filter { $0.kind.isLaptop }
        let macs = Double(laptops.filter { $0.kind == .mac }.count) / Double(laptops.count)
        #expect(macs > 0.48 && macs < 0.62)
    }

    @Test func quirksAppearAtRoughRates() {
        let night = 30
        let records = allRecords(demoWorld, night: night)
        let n = Double(records.count)
        let placeholders: Set<String> = ["To be filled by O.E.M.", "System Serial Number", "0", "", "Default string"]
        let placeholder = records.filter { r in r.identifiers.contains { $0.kind == .serial && placeholders.contains($0.value) } }
        #expect(Double(placeholder.count) / n > 0.002 && Double(placeholder.count) / n < 0.03)
        let macs = records.flatMap { $0.identifiers.filter { $0.kind == .mac }.map(\.value) }
        let la = macs.filter { ReferenceMerger.macBits($0).map { $0 & 0x0200_0000_0000 != 0 } ?? false }
        #expect(Double(la.count) / Double(macs.count) > 0.03 && Double(la.count) / Double(macs.count) < 0.3)
        #expect(macs.contains { $0.count == 17 && $0.contains("-") })
        #expect(macs.contains { $0.count == 14 && $0.contains(".") })
        #expect(macs.contains { $0.count == 12 && $0.uppercased() == $0 })
        #expect(macs.contains { $0.count == 17 && $0.contains(":") && $0.lowercased() == $0 })
        let serials = records.flatMap { $0.identifiers.filter { $0.kind == .serial }.map(\.value) }
        #expect(serials.contains { $0.hasPrefix(" ") })
        #expect(serials.contains { $0.hasPrefix("c02") })
        let vms = records.filter(\.isVirtual)
        #expect(vms.count > 20 && vms.allSatisfy { $0.identifiers.contains { $0.value.lowercased().contains("vmware-") } })
        let noOwner = records.filter { $0.ownerHints.isEmpty }
        #expect(Double(noOwner.count) / n > 0.02 && Double(noOwner.count) / n < 0.2)
        let nightDate = Double(AsOfDate.parse("2026-10-01")! + night) * 86400
        let stale = records.filter { ($0.lastSync?.timeIntervalSince1970 ?? 0) < nightDate - 14 * 86400 }
        #expect(Double(stale.count) / n > 0.01 && Double(stale.count) / n < 0.1)
        // Duplicate records of one device within a feed.
        let truth = demoWorld.groundTruth(night: night)
        var perSourceDevice: [String: Int] = [:]
        for (key, device) in truth { perSourceDevice["\(key.split(separator: "/")[0])#\(device)", default: 0] += 1 }
        let duplicated = perSourceDevice.values.filter { $0 > 1 }.count
        #expect(duplicated > 10 && duplicated < records.count / 20)
        // Shared dock MACs: one valid MAC on two devices with different serials.
        var macDevices: [UInt64: Set<Int>] = [:]
        for r in records {
            for id in r.identifiers where id.kind == .mac {
                if let bits = ReferenceMerger.validMAC(id.value) { macDevices[bits, default: []].insert(truth["\(r.source)/\(r.localID)"]!) }
            }
        }
        #expect(macDevices.values.contains { $0.count == 2 })
        #expect(!macDevices.values.contains { $0.count > 2 })
    }

    @Test func groundTruthCoversEveryRecord() {
        for night in [0, 25, 59] {
            let records = allRecords(demoWorld, night: night)
            let truth = demoWorld.groundTruth(night: night)
            #expect(truth.count == records.count)
            #expect(records.allSatisfy { truth["\($0.source)/\($0.localID)"] != nil })
        }
        let renamed = demoWorld.groundTruth(night: 3, sourceNames: [.jamf: "jamf-prod"])
        #expect(renamed.keys.contains { $0.hasPrefix("jamf-prod/") })
        #expect(!renamed.keys.contains { $0.hasPrefix("jamf/") })
    }

    @Test func correctMergerReachesPrecisionAndRecall() {
        for night in [0, 40] {
            let records = allRecords(demoWorld, night: night)
            let truth = demoWorld.groundTruth(night: night)
            let clusters = ReferenceMerger.merge(records)
            let quality = ReferenceMerger.pairwise(clusters: clusters, truth: records.map { truth["\($0.source)/\($0.localID)"]! })
            #expect(quality.precision >= 0.995, "night \(night): precision \(quality.precision)")
            #expect(quality.recall >= 0.99, "night \(night): recall \(quality.recall)")
            let noIdentifier = records.filter { ReferenceMerger.identifiers($0).isEmpty }
            #expect(Double(noIdentifier.count) / Double(records.count) < 0.005)
            #expect(!noIdentifier.isEmpty)
            // The noise is real: without normalization, validation and conflict checks both figures drop.
            let naive = ReferenceMerger.pairwise(
                clusters: ReferenceMerger.merge(records, strict: false),
                truth: records.map { truth["\($0.source)/\($0.localID)"]! })
            #expect(naive.precision < 0.9 && naive.recall < 0.98, "naive \(naive)")
        }
    }

    @Test func newDevicesArriveUnencryptedAndPostureVariesByOrganization() {
        let w = demoWorld
        let arrivals = w.devices.indices.filter { w.devices[$0].arrive > 0 && Int(w.devices[$0].arrive) < 50 }
        #expect(arrivals.count > 100)
        let atArrival = arrivals.filter { w.failing($0, .encryption, Int(w.devices[$0].arrive)) }.count
        let weekLater = arrivals.filter { w.failing($0, .encryption, Int(w.devices[$0].arrive) + 7) }.count
        #expect(Double(atArrival) / Double(arrivals.count) > 0.4)
        #expect(Double(weekLater) / Double(arrivals.count) < 0.2)
        // Some regress: fine on night 5, failing on night 55.
        let regressed = w.devices.indices.filter { !w.failing($0, .firewall, 5) && w.failing($0, .firewall, 55) }
        #expect(!regressed.isEmpty)
        // Organizations differ.
        var failing: [String: (bad: Int, all: Int)] = [:]
        let people = Dictionary(uniqueKeysWithValues: w.people(night: 0).map { ($0.email, $0.organization ?? "") })
        for r in w.records(.mdm, night: 0, source: "mdm") + w.records(.jamf, night: 0, source: "jamf") {
            guard let email = r.ownerHints.first?.value, let org = people[email],
                let o = r.observations.first(where: { $0.practice == "firewall" })
            else { continue }
            failing[org, default: (0, 0)].all += 1
            if o.satisfied == false { failing[org, default: (0, 0)].bad += 1 }
        }
        let shares = failing.values.filter { $0.all >= 40 }.map { Double($0.bad) / Double($0.all) }
        #expect(shares.count >= 5)
        #expect((shares.max() ?? 0) - (shares.min() ?? 0) > 0.08)
    }

    @Test func postureImprovesAndOSReleaseIsAdopted() {
        let w = demoWorld
        func failingShare(_ night: Int, _ key: String) -> Double {
            let obs = allRecords(w, night: night).flatMap { $0.observations.filter { $0.practice == key } }
            return Double(obs.filter { $0.satisfied == false }.count) / Double(obs.count)
        }
        #expect(failingShare(59, "firewall") < failingShare(0, "firewall"))
        #expect(failingShare(59, "screen_lock") < failingShare(0, "screen_lock"))
        let observed = Set(allRecords(w, night: 10).flatMap { $0.observations.map(\.practice) })
        #expect(
            observed == [
                "encryption", "screen_lock", "firewall", "auto_updates", "remote_login", "jailbreak",
                "unknown_sources", "adb", "developer_options", "verified_boot"
            ])
        func macShare(_ night: Int, _ version: String) -> Double {
            let macs = w.records(.jamf, night: night, source: "jamf").filter { $0.platform == .mac }
            return Double(macs.filter { $0.osVersion == version }.count) / Double(macs.count)
        }
        #expect(macShare(w.releaseNight - 1, "15.2") == 0)
        #expect(macShare(w.releaseNight + 21, "15.2") > 0.6)
        #expect(macShare(59, "15.2") < 1)
        let software = w.records(.mdm, night: 5, source: "mdm").compactMap { $0.software?.first { $0.name == "Carbon Black" }?.version }
        #expect(software.contains("3.5.2") && software.contains("3.7.1"))
    }
}

@Suite struct DemoConfigTests {
    @Test func demoConfigParsesAndEveryRoleBuilds() async throws {
        let yaml = DemoPlugin.demoConfigYAML(seed: 1, people: 2000, start: "2026-10-01", nights: 60, database: "/tmp/demo.db")
        let config = try StethoscopeConfig.parse(yaml: yaml, environment: [:])
        #expect(config.timeZone.secondsFromGMT() == 0)
        #expect(config.sources.map(\.name) == ["jamf", "mdm", "google", "fleet"])
        guard case .osVersion(let rules) = config.practices["os_version"]?.check else {
            Issue.record("no os_version")
            return
        }
        #expect(
            rules[.mac] == [
                VersionRule(required: "14.0", recommended: "15.1"),
                VersionRule(from: "2026-10-21", required: "14.0", recommended: "15.2"),
                VersionRule(from: "2026-11-11", required: "15.2", recommended: "15.2")
            ])
        let env = PluginEnvironment(logger: Logger(label: "test"))
        let directory = try PluginRegistry.plugin(for: config.directory!).directory(config.directory!, env)
        #expect(try await directory.people(context("2026-10-01")).count == 2000)
        let sources = try config.sources.map { try PluginRegistry.plugin(for: $0).deviceSource($0, env) }
        let attribution = try PluginRegistry.plugin(for: config.attribution[0]).attribution(config.attribution[0], env)
        #expect(try await attribution.assignments(context("2026-10-05")).count > 1000)
        let down = AsOfDate.adding(40, to: "2026-10-01")!
        for s in sources {
            if s.name == "google" {
                await #expect(throws: SourceError.self) { try await s.pull(context(down)) }
            } else {
                #expect(try await s.pull(context(down)).count > 100)
            }
        }
        let ctx = context("2026-10-03")
        #expect(try await sources[2].pull(ctx).count == demoWorld.records(.google, night: 2, source: "google").count)
        #expect(ctx.figures.snapshot().pages > 1)
    }

    @Test(arguments: [
        "directory: {type: demo, seed: 1, feeed: jamf}",
        "sources:\n  - {name: x, type: demo, feed: jamf, feeed: 1}",
        "attribution:\n  - {type: demo, feed: assets, feeed: 1}",
        "sources:\n  - {name: x, type: demo, feed: nope}",
        "sources:\n  - {name: x, type: demo, feed: jamf, start: \"2026-13-01\"}",
        "sources:\n  - {name: x, type: demo, feed: jamf, down_nights: [soon]}"
    ])
    func badPluginSectionsAreRejected(_ yaml: String) throws {
        let config = try StethoscopeConfig.parse(yaml: yaml, environment: [:])
        let env = PluginEnvironment(logger: Logger(label: "test"))
        #expect(throws: ConfigError.self) {
            if let d = config.directory { _ = try PluginRegistry.plugin(for: d).directory(d, env) }
            for s in config.sources { _ = try PluginRegistry.plugin(for: s).deviceSource(s, env) }
            for a in config.attribution { _ = try PluginRegistry.plugin(for: a).attribution(a, env) }
        }
    }

    @Test func sampleFragmentParsesAndBuilds() throws {
        let url = TestPaths.plugins.appendingPathComponent("demo/sample.yaml")
        let config = try StethoscopeConfig.parse(yaml: try String(contentsOf: url, encoding: .utf8), environment: [:])
        let env = PluginEnvironment(logger: Logger(label: "test"))
        #expect(try PluginRegistry.plugin(for: config.directory!).directory(config.directory!, env).name == "directory")
        #expect(try config.sources.map { try PluginRegistry.plugin(for: $0).deviceSource($0, env).name } == ["jamf", "mdm", "google", "fleet"])
        #expect(try PluginRegistry.plugin(for: config.attribution[0]).attribution(config.attribution[0], env).name == "assets")
    }

    @Test func nightIsClampedToTheHorizon() throws {
        #expect(try DemoPlugin.night("2026-09-01", demoParameters, source: "x") == 0)
        #expect(try DemoPlugin.night("2026-10-11", demoParameters, source: "x") == 10)
        #expect(try DemoPlugin.night("2027-10-11", demoParameters, source: "x") == 59)
        #expect(throws: SourceError.self) { try DemoPlugin.night("soon", demoParameters, source: "x") }
    }
}

/// A straightforward merger following DESIGN.md's rules, to measure the demo's noise against.
enum ReferenceMerger {
    static let placeholders: Set<String> = [
        "", "0", "NOT AVAILABLE", "TO BE FILLED BY O.E.M.", "SYSTEM SERIAL NUMBER",
        "DEFAULT STRING", "123456789"
    ]

    static func macBits(_ text: String) -> UInt64? {
        let hex = text.filter(\.isHexDigit)
        guard hex.count == 12, let v = UInt64(hex, radix: 16) else { return nil }
        return v
    }

    static func validMAC(_ text: String) -> UInt64? {
        guard let v = macBits(text), v != 0, v != 0xFFFF_FFFF_FFFF else { return nil }
        let first = v >> 40
        return first & 0x01 != 0 || first & 0x02 != 0 ? nil : v
    }

    static func identifiers(_ r: SourceRecord, strict: Bool = true) -> [Identifier] {
        guard strict else { return r.identifiers.filter { !$0.value.isEmpty }.map { Identifier($0.kind, $0.value) } }
        return r.identifiers.compactMap { id -> Identifier? in
            switch id.kind {
            case .serial, .udid:
                let v = id.value.trimmingCharacters(in: .whitespaces).uppercased()
                return id.kind == .serial && placeholders.contains(v) ? nil : Identifier(id.kind, v)
            case .imei, .meid:
                let v = id.value.filter(\.isNumber)
                return v.isEmpty ? nil : Identifier(id.kind, v)
            case .deviceID, .googleDeviceID: return id.value.isEmpty ? nil : Identifier(id.kind, id.value)
            case .mac: return validMAC(id.value).map { Identifier(.mac, String($0, radix: 16)) }
            case .hostname: return nil  // the demo's feeds never give one
            }
        }
    }

    /// Cluster index per record.
    static func merge(_ records: [SourceRecord], strict: Bool = true) -> [Int] {
        var parent = Array(records.indices)
        var serial = [String?](repeating: nil, count: records.count)
        var udid = [String?](repeating: nil, count: records.count)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x {
                parent[x] = parent[parent[x]]
                x = parent[x]
            }
            return x
        }
        var byIdentifier: [Identifier: [Int]] = [:]
        for (i, r) in records.enumerated() {
            for id in identifiers(r, strict: strict) {
                byIdentifier[id, default: []].append(i)
                if id.kind == .serial { serial[i] = id.value }
                if id.kind == .udid { udid[i] = id.value }
            }
        }
        for id in byIdentifier.keys.sorted() {
            let members = byIdentifier[id]!
            for m in members.dropFirst() {
                let a = find(members[0])
                let b = find(m)
                guard a != b else { continue }
                if strict, let x = serial[a], let y = serial[b], x != y { continue }
                if strict, let x = udid[a], let y = udid[b], x != y { continue }
                parent[b] = a
                serial[a] = serial[a] ?? serial[b]
                udid[a] = udid[a] ?? udid[b]
            }
        }
        return records.indices.map(find)
    }

    static func pairwise(clusters: [Int], truth: [Int]) -> (precision: Double, recall: Double) {
        func pairs(_ counts: [Int: Int]) -> Double { counts.values.reduce(0) { $0 + Double($1 * ($1 - 1) / 2) } }
        var predicted: [Int: Int] = [:]
        var actual: [Int: Int] = [:]
        var both: [Int: Int] = [:]
        for i in clusters.indices {
            predicted[clusters[i], default: 0] += 1
            actual[truth[i], default: 0] += 1
            both[clusters[i] &* 10_000_019 &+ truth[i], default: 0] += 1
        }
        let tp = pairs(both)
        return (tp / max(pairs(predicted), 1), tp / max(pairs(actual), 1))
    }
}
