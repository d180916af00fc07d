import Foundation
import StethoscopeApp
import StethoscopeStore
import Testing

@testable import StethoscopeReport

/// The Nudges page's arithmetic against a known injected effect: nudged items are made to turn ok two nights after
/// their message, held-out items keep the demo's own fix times.
@Suite struct NudgesPageTests {
    @Test func fixRatesMedianAndDifferenceFollowTheLedger() async throws {
        let dir = try TempDir()
        #expect(await DemoRunner.run(.init(people: 60, nights: 10, seed: 7, out: dir.url, start: "2026-11-01")) == .complete)
        let store = try SnapshotStore(path: dir.url.appendingPathComponent("stethoscope.db"))
        let db = store.database
        let t0 = "2026-11-02"
        let last = 10
        let failing = try db.rows(
            """
            SELECT device_id, practice FROM practice_results WHERE as_of = ?1 AND status IN ('warn', 'nudge') ORDER BY device_id, practice
            """, [t0])
        #expect(failing.count > 40)
        let items = failing.map { "\($0[0]!):\($0[1]!)" }
        let nudged = items.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let held = items.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        func insert(_ kind: String, _ person: String, _ list: [String]) throws {
            let st = try db.prepare(
                """
                INSERT INTO notifications (as_of, kind, campaign, person, state, attempts, reminder, devices, practices, items, created_at, updated_at)
                VALUES (?1, ?2, 'digest', ?3, ?4, 1, 0, '', '', ?5, '', '')
                """)
            st.bind(1, t0)
            st.bind(2, kind)
            st.bind(3, person)
            st.bind(4, kind == "holdout" ? "held_out" : "sent")
            st.bind(5, list.joined(separator: " "))
            try st.run()
        }
        for (i, chunk) in stride(from: 0, to: nudged.count, by: 5).map({ Array(nudged[$0..<min($0 + 5, nudged.count)]) }).enumerated() {
            try insert("person", "n\(i)@example.com", chunk)
        }
        for (i, chunk) in stride(from: 0, to: held.count, by: 5).map({ Array(held[$0..<min($0 + 5, held.count)]) }).enumerated() {
            try insert("holdout", "h\(i)@example.com", chunk)
        }
        // The injected effect: every nudged item is ok from two nights after the message on.
        for item in nudged {
            let p = item.split(separator: ":")
            try db.exec("UPDATE practice_results SET status = 'ok' WHERE device_id = \(p[0]) AND practice = '\(p[1])' AND as_of >= '2026-11-04'")
        }
        // The held-out truth, straight from SQL.
        var heldFix: [Int?] = []
        for item in held {
            let p = item.split(separator: ":")
            let fix =
                try db.rows(
                    """
                    SELECT MIN(as_of) FROM practice_results WHERE device_id = \(p[0]) AND practice = '\(p[1])' AND as_of > ?1 AND status = 'ok'
                    """, [t0]
                ).first?[0] ?? nil
            heldFix.append(fix.map { Int($0.suffix(2))! - 2 })
        }
        let stats = try NudgeStats.load(store)
        let pair = try #require(stats.groups["digest"]?[""])
        #expect(pair.nudged.items == nudged.count)
        #expect(pair.heldOut.items == held.count)
        #expect(pair.nudged.rate(3) == 1.0)
        #expect(pair.nudged.rate(1) ?? 1 < 1.0 || pair.nudged.fixNights.allSatisfy { $0 <= 1 })
        #expect(pair.nudged.median! <= 2)
        for k in NudgeStats.windows {
            let eligible = 2 + k <= last ? held.count : 0
            #expect(pair.heldOut.within[k]?.eligible ?? 0 == eligible)
            if eligible > 0 {
                let fixed = heldFix.filter { $0 != nil && $0! <= k }.count
                #expect(pair.heldOut.within[k]?.fixed == fixed)
            }
        }
        let p1 = 1.0
        let p2 = Double(heldFix.filter { $0 != nil && $0! <= 7 }.count) / Double(held.count)
        let d = try #require(NudgeStats.difference(pair.nudged, pair.heldOut, 7))
        #expect(abs(d.diff - (p1 - p2)) < 1e-12)
        let se = (p2 * (1 - p2) / Double(held.count)).squareRoot()
        #expect(abs(d.low - (p1 - p2 - 1.96 * se)) < 1e-12 && abs(d.high - (p1 - p2 + 1.96 * se)) < 1e-12)
        #expect(d.diff > 0)
        // The page: written with its tables.
        let report = try Report.generate(store: store, options: ReportOptions(out: dir.out))
        let page = try String(contentsOf: report.index.deletingLastPathComponent().appendingPathComponent("nudges.html"), encoding: .utf8)
        #expect(page.contains("Difference in fix rate"))
        #expect(page.contains("<td>digest</td>"))
        #expect(stats.messages["digest"] == (nudged.count + 4) / 5)
    }
}
