import Foundation
import StethoscopeApp
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeReport

/// The Nudges page against a known, random injected effect: every device fails `firewall` on the first night; the
/// nudged ones fix it with probability p1 on each later night, the held-out ones with p0 (a seeded generator).
/// The test keeps its own fix nights and computes every rate, difference and interval from them, independently
/// of the page's SQL, and checks the 95% intervals cover the injected difference.
@Suite struct NudgeEffectTests {
    static let p1 = 0.30, p0 = 0.08
    static let nights = 20
    /// Organizations: two large ones and one too small to compare.
    static let organizations = ["Sales": 340, "Engineering": 300, "Tiny": 12]

    /// SplitMix64, so the draws are the same on every platform and run.
    struct Random {
        var state: UInt64
        mutating func unit() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
    }

    struct Person { var email: String, organization: String, nudged: Bool, fix: Int? }

    /// One device per person; `fix` is the first night (index) the practice is ok, nil when never within the horizon.
    static func people(seed: UInt64) -> [Person] {
        var rng = Random(state: seed)
        var out: [Person] = []
        for (org, count) in organizations.sorted(by: { $0.key < $1.key }) {
            for i in 0..<count {
                let nudged = i % 2 == 0
                let p = nudged ? p1 : p0
                var fix: Int?
                for night in 1..<nights where rng.unit() < p {
                    fix = night
                    break
                }
                out.append(Person(email: "\(org.lowercased())\(i)@x.test", organization: org, nudged: nudged, fix: fix))
            }
        }
        return out
    }

    static func asOf(_ n: Int) -> String { AsOfDate.adding(n, to: "2026-11-01")! }

    @Test func pageRecoversAnInjectedEffect() throws {
        let dir = try TempDir()
        let store = try SnapshotStore(path: dir.db)
        let people = Self.people(seed: 20_261_201)
        let directory = people.map { StethoscopeCore.Person(email: $0.email, name: $0.email, organization: $0.organization) }
        let t = Date(timeIntervalSince1970: 1_793_520_000)
        for n in 0..<Self.nights {
            let devices = people.enumerated().map { i, p in
                DeviceSnapshot(
                    key: "serial:E\(i)", platform: .mac, osName: "macOS", osVersion: "15.1", model: "M", deviceName: "d\(i)",
                    identifiers: [Identifier(.serial, "E\(i)")], sources: ["jamf"], records: ["jamf/\(i)"], lastSync: t,
                    owner: p.email, ownerMethod: .sourceHint, ownerVia: "jamf", stale: false, isVirtual: false,
                    results: [PracticeResult(practice: "firewall", status: (p.fix.map { n >= $0 } ?? false) ? .ok : .warn)])
            }
            try store.writeNight(
                NightRecord(asOf: Self.asOf(n), startedAt: t, finishedAt: t, status: .complete, people: directory),
                devices: devices)
        }
        // The ledger of night 0: a message to each nudged person, a hold-out record for the others.
        let db = store.database
        let ids = Dictionary(uniqueKeysWithValues: try db.rows("SELECT device_key, device_id FROM device_keys").map { ($0[0]!, $0[1]!) })
        let insert = try db.prepare(
            """
            INSERT INTO notifications (as_of, kind, campaign, person, state, attempts, reminder, devices, practices, items, created_at, updated_at)
            VALUES (?1, ?2, 'digest', ?3, ?4, 1, 0, ?5, 'firewall', ?6, '', '')
            """)
        for (i, p) in people.enumerated() {
            insert.bind(1, Self.asOf(0))
            insert.bind(2, p.nudged ? "person" : "holdout")
            insert.bind(3, p.email)
            insert.bind(4, p.nudged ? "sent" : "held_out")
            insert.bind(5, "serial:E\(i)")
            insert.bind(6, "\(ids["serial:E\(i)"]!):firewall")
            try insert.run()
        }

        let stats = try NudgeStats.load(store)
        let last = Self.nights - 1
        /// The test's own numbers for a set of people and a window.
        func rate(_ group: [Person], _ k: Int) -> (fixed: Int, n: Int) {
            (group.filter { $0.fix.map { $0 <= k } ?? false }.count, k <= last ? group.count : 0)
        }
        func check(_ pair: (nudged: NudgeStats.Group, heldOut: NudgeStats.Group), _ group: [Person], comparable: Bool, coverage: Bool = false) {
            let nudged = group.filter(\.nudged)
            let held = group.filter { !$0.nudged }
            #expect(pair.nudged.items == nudged.count && pair.heldOut.items == held.count)
            for k in NudgeStats.windows {
                let a = rate(nudged, k)
                let b = rate(held, k)
                #expect(pair.nudged.within[k]?.fixed == a.fixed && pair.nudged.within[k]?.eligible == a.n)
                #expect(pair.heldOut.within[k]?.fixed == b.fixed && pair.heldOut.within[k]?.eligible == b.n)
                #expect(NudgeStats.enough(pair, k) == comparable)
                let r1 = Double(a.fixed) / Double(a.n)
                let r0 = Double(b.fixed) / Double(b.n)
                let se = (r1 * (1 - r1) / Double(a.n) + r0 * (1 - r0) / Double(b.n)).squareRoot()
                let d = NudgeStats.difference(pair.nudged, pair.heldOut, k)
                #expect(d.map { abs($0.diff - (r1 - r0)) < 1e-12 } == true)
                #expect(d.map { abs($0.low - (r1 - r0 - 1.96 * se)) < 1e-12 && abs($0.high - (r1 - r0 + 1.96 * se)) < 1e-12 } == true)
                if coverage, let d {
                    // The injected difference: P(fixed within k nights) = 1 − (1 − p)^k in each group.
                    let truth = (1 - pow(1 - Self.p1, Double(k))) - (1 - pow(1 - Self.p0, Double(k)))
                    #expect(d.low <= truth && truth <= d.high, "k=\(k): \(d) does not cover \(truth)")
                    #expect(d.low > 0, "k=\(k): the effect is not measurable")
                }
            }
            let fixNights = nudged.compactMap(\.fix).sorted()
            let median =
                fixNights.count % 2 == 1
                ? Double(fixNights[fixNights.count / 2])
                : Double(fixNights[fixNights.count / 2 - 1] + fixNights[fixNights.count / 2]) / 2
            #expect(pair.nudged.median == median)
        }
        // Coverage is checked once per window on the whole group (more checks would fail 5% of the time each).
        check(try #require(stats.groups["digest"]?[""]), people, comparable: true, coverage: true)
        check(try #require(stats.groups["digest"]?["firewall"]), people, comparable: true)
        for (org, _) in Self.organizations {
            check(try #require(stats.organizations["digest"]?[org]), people.filter { $0.organization == org }, comparable: org != "Tiny")
        }
        #expect(stats.messages["digest"] == people.filter(\.nudged).count)

        // The page: the by-organization table compares the large organizations and says "too few" for the tiny one.
        let report = try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let page = try String(contentsOf: report.index.deletingLastPathComponent().appendingPathComponent("nudges.html"), encoding: .utf8)
        let rows = try #require(HTMLTable.rows(page, caption: "By organization"))
        let tiny = try #require(rows.first { $0.count > 1 && $0[1] == "Tiny" })
        #expect(tiny.last == "too few")
        #expect(tiny[6] == "–")
        let sales = try #require(rows.first { $0.count > 1 && $0[1] == "Sales" })
        #expect(sales.last == "")
        #expect(sales[2] == "170" && sales[3] == "170")
        #expect(try #require(HTMLTable.rows(page, caption: "By practice")).contains { $0.count > 1 && $0[1] == "firewall" })
    }
}

/// The demo's people respond to the messages the ledger says they were sent, and to nothing else.
@Suite struct DemoResponseTests {
    /// (device key, practice) → statuses by night, for one demo database.
    static func statuses(_ db: Database) throws -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        for row in try db.rows(
            """
            SELECT k.device_key, r.practice, r.as_of, r.status FROM practice_results r JOIN device_keys k ON k.device_id = r.device_id
            """)
        {
            out["\(row[0]!) \(row[1]!)", default: [:]][row[2]!] = row[3]!
        }
        return out
    }

    @Test func nudgedItemsFixSoonerAndNothingElseChanges() async throws {
        let on = try TempDir()
        let off = try TempDir()
        let options = { (dir: URL, responses: Bool) in
            DemoRunner.Options(people: 300, nights: 24, seed: 11, out: dir, start: "2026-11-01", responses: responses)
        }
        #expect(await DemoRunner.run(options(on.url, true)) == .complete)
        #expect(await DemoRunner.run(options(off.url, false)) == .complete)
        let store = try SnapshotStore(path: on.url.appendingPathComponent("stethoscope.db"))
        let db = store.database
        let plain = try SnapshotStore(path: off.url.appendingPathComponent("stethoscope.db")).database
        #expect(try plain.int("SELECT count(*) FROM notifications") == 0)
        // Every night but the last went to the simulated mailboxes; hold-outs were recorded too.
        #expect(try db.int("SELECT count(DISTINCT as_of) FROM notifications WHERE kind = 'person' AND state = 'sent'")! >= 15)
        #expect(try db.int("SELECT count(*) FROM notifications WHERE as_of = '2026-11-24'") == 0)
        #expect(try db.int("SELECT count(*) FROM notifications WHERE kind = 'holdout'")! > 0)

        // Items named in a sent message, by device key.
        var keyOf: [String: String] = [:]
        for row in try db.rows("SELECT device_id, device_key FROM device_keys") { keyOf[row[0]!] = row[1]! }
        var named: Set<String> = []
        for row in try db.rows("SELECT items FROM notifications WHERE kind = 'person' AND state = 'sent'") {
            for item in row[0]!.split(separator: " ") {
                let p = item.split(separator: ":", maxSplits: 1)
                named.insert("\(keyOf[String(p[0])]!) \(p[1])")
            }
        }
        let with = try Self.statuses(db)
        let without = try Self.statuses(plain)
        #expect(Set(with.keys) == Set(without.keys))
        var earlier = 0
        for (item, nights) in with {
            let base = without[item] ?? [:]
            if !named.contains(item) {
                // Never messaged (held out, or never due): exactly the world's own statuses.
                #expect(nights == base, "\(item) changed without a message")
                continue
            }
            // Messaged: never fails on a night it would have been ok; ok sooner on some nights.
            for (night, status) in nights where status != "ok" { #expect(base[night] != "ok" || status == base[night]) }
            if nights.contains(where: { $0.value == "ok" && base[$0.key] != "ok" }) { earlier += 1 }
        }
        #expect(earlier > 20)

        // The page measures it: over the digest, nudged items are fixed within 7 nights more often than held-out ones.
        let stats = try NudgeStats.load(store)
        let pair = try #require(stats.groups["digest"]?[""])
        let d = try #require(NudgeStats.difference(pair.nudged, pair.heldOut, 7))
        #expect(d.diff > 0.1, "\(d)")
    }
}
