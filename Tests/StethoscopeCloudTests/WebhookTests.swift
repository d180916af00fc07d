import Foundation
import StethoscopeStore
import Testing

@testable import StethoscopeApp

/// Issue 16: the `webhooks:` sink posts the night's summary after the night committed (fake_webhook.py).
@Suite struct WebhookTests {
    typealias Ops = OperationsTests

    static func received(_ hook: FakeServer) throws -> [[String: Any]] {
        let ran = try Ops.run("/usr/bin/curl", ["-sf", hook.url + "/_received"])
        return try JSONSerialization.jsonObject(with: Data(ran.stdout.utf8)) as? [[String: Any]] ?? []
    }

    static func body(_ item: [String: Any]) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data((item["body"] as? String ?? "").utf8)) as? [String: Any] ?? [:]
    }

    /// `format: json`, a bearer token from a file, a partial night: the plain summary with its rates, their change
    /// since the previous night, the failed sources and the report link; neither token nor URL in the log.
    @Test func jsonSummaryWithChangeAndPartialSources() throws {
        let hook = try FakeServer("fake_webhook.py", ["--token", "hook-t0ken-secret"])
        let dir = try Cloud.temporaryDirectory()
        try "hook-t0ken-secret\n".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let hooks = """
            webhooks:
              - {name: ops, url: "\(hook.url)/services/T0SECRET/B0SECRET", token_file: token, report_url: "https://reports.example.com/stethoscope/"}
            """
        let good = try Ops.config(dir, hooks)
        let first = try Ops.run(Ops.binary, ["run", "--config", good.path, "--as-of", "2026-10-01"])
        #expect(first.code == 0, "\(first.stderr.suffix(2000))")
        let partial = try Ops.config(dir, hooks, attribution: "attribution:\n  - {name: assets, type: asset_csv, path: missing.csv}")
        let second = try Ops.run(Ops.binary, ["run", "--config", partial.path, "--as-of", "2026-10-10"])
        #expect(second.code == 3, "\(second.stderr.suffix(2000))")

        let got = try Self.received(hook)
        try #require(got.count == 2)
        #expect(got.allSatisfy { $0["authorization"] as? String == "Bearer hook-t0ken-secret" })
        #expect(got.allSatisfy { $0["path"] as? String == "/services/T0SECRET/B0SECRET" })
        let one = try Self.body(got[0])
        let two = try Self.body(got[1])
        #expect(one["as_of"] as? String == "2026-10-01")
        #expect(one["status"] as? String == "complete")
        #expect(one["previous_as_of"] is NSNull && one["green_rate_change"] is NSNull && one["report_url"] is String)
        #expect(two["as_of"] as? String == "2026-10-10")
        #expect(two["status"] as? String == "partial")
        #expect(two["previous_as_of"] as? String == "2026-10-01")
        #expect(
            Set(two.keys) == [
                "as_of", "status", "devices", "carried_forward", "green_rate", "critical_rate", "previous_as_of",
                "green_rate_change", "critical_rate_change", "partial_sources", "top_regressions", "report_url"
            ])
        #expect(two["partial_sources"] as? [String] == ["assets"])
        #expect(two["report_url"] as? String == "https://reports.example.com/stethoscope/")
        let devices = two["devices"] as? Int ?? 0
        #expect(devices > 0)
        let green = try #require(two["green_rate"] as? Double)
        let critical = try #require(two["critical_rate"] as? Double)
        #expect((0...1).contains(green) && (0...1).contains(critical))
        #expect(two["green_rate_change"] is Double && two["critical_rate_change"] is Double)
        // The summary agrees with the stored roll-ups.
        let db = try SnapshotStore(path: dir.appendingPathComponent("s.db")).database
        func company(_ sql: String, _ night: String) throws -> [Int] {
            let st = try db.prepare(sql + " WHERE chart = 'night' AND as_of = '\(night)' AND group_kind = 'company' AND group_id = ''")
            return try st.step() ? (0..<st.columnCount).map { st.int($0) } : []
        }
        let tonight = try company("SELECT green, critical, devices - stale FROM rollup_groups", "2026-10-10")
        let before = try company("SELECT green, critical, devices - stale FROM rollup_groups", "2026-10-01")
        try #require(tonight.count == 3 && before.count == 3)
        #expect(abs(green - Double(tonight[0]) / Double(tonight[2])) < 0.0001)
        #expect(abs(critical - Double(tonight[1]) / Double(tonight[2])) < 0.0001)
        let change = try #require(two["critical_rate_change"] as? Double)
        #expect(abs(change - (Double(tonight[1]) / Double(tonight[2]) - Double(before[1]) / Double(before[2]))) < 0.0002)
        // Regressions: practices whose failing (warn + nudge) devices rose, or that have newly failing ones, biggest first.
        let regressions = try #require(two["top_regressions"] as? [[String: Any]])
        #expect(!regressions.isEmpty && regressions.count <= 5)
        var last = Int.max
        for r in regressions {
            let practice = try #require(r["practice"] as? String)
            let failing = try #require(r["failing"] as? Int)
            let previous = try #require(r["previous_failing"] as? Int)
            let changed = try #require(r["change"] as? Int)
            let newly = try #require(r["newly_failing"] as? Int)
            #expect(changed == failing - previous && (changed > 0 || newly > 0) && changed <= last)
            last = changed
            let sql = "SELECT warn + nudge, newly_failing FROM rollup_practices"
            let rowTonight = try db.prepare("\(sql) WHERE chart = 'night' AND as_of = '2026-10-10' AND group_kind = 'company' AND practice = ?")
            rowTonight.bind(1, practice)
            #expect(try rowTonight.step())
            #expect(rowTonight.int(0) == failing && rowTonight.int(1) == newly)
        }
        for log in [first.stderr, second.stderr] {
            #expect(log.contains("msg=\"webhook posted\""))
            #expect(!log.contains("T0SECRET") && !log.contains("hook-t0ken-secret"))
        }
    }

    /// `format: slack` against a server that fails twice with 500: retried, then Slack's `text` and `blocks`.
    @Test func slackPayloadIsRetriedAfter500s() throws {
        let hook = try FakeServer("fake_webhook.py", ["--slack", "--fault", "500:/hook:2"])
        let dir = try Cloud.temporaryDirectory()
        let file = try Ops.config(
            dir,
            """
            webhooks:
              - {name: slack, url: "\(hook.url)/hook", format: slack, retry_base_s: 0.01, report_url: "https://r.example.com/"}
            """)
        let ran = try Ops.run(Ops.binary, ["run", "--config", file.path, "--as-of", "2026-10-02"])
        #expect(ran.code == 0, "\(ran.stderr.suffix(2000))")
        let got = try Self.received(hook)
        #expect(got.count == 1)
        let payload = try Self.body(try #require(got.first))
        let text = try #require(payload["text"] as? String)
        #expect(text.contains("2026-10-02") && text.contains("complete") && text.contains("green"))
        let blocks = try #require(payload["blocks"] as? [[String: Any]])
        #expect(!blocks.isEmpty && blocks.allSatisfy { $0["type"] as? String == "section" })
        #expect(blocks.contains { (($0["text"] as? [String: Any])?["text"] as? String)?.contains("<https://r.example.com/|") == true })
        #expect(ran.stderr.split(separator: "\n").contains { $0.contains("msg=\"webhook posted\"") && $0.contains("attempts=3") })
    }

    /// A webhook that keeps failing (a proxy's HTML 502): the snapshot stays committed, the metrics say which sink
    /// failed, the exit code is 8 for a complete night and stays 3 for a partial one; the URL's secret is not logged.
    @Test func aFailingWebhookNeverTouchesTheNight() throws {
        let hook = try FakeServer("fake_webhook.py", ["--fault", "html_502:/:1000"])
        let dir = try Cloud.temporaryDirectory()
        let hooks = """
            webhooks:
              - {name: chat, url: "\(hook.url)/hook/T0SECRET", max_attempts: 2, retry_base_s: 0.01}
            """
        let file = try Ops.config(dir, hooks)
        let metrics = dir.appendingPathComponent("m.prom")
        let ran = try Ops.run(Ops.binary, ["run", "--config", file.path, "--as-of", "2026-10-02", "--metrics", metrics.path])
        #expect(ran.code == 8, "\(ran.stderr.suffix(2000))")
        let db = try SnapshotStore(path: dir.appendingPathComponent("s.db")).database
        #expect(try db.int("SELECT count(*) FROM runs WHERE as_of = '2026-10-02' AND status = 'complete'") == 1)
        #expect(try (db.int("SELECT count(*) FROM devices WHERE as_of = '2026-10-02'") ?? 0) > 0)
        let prom = try String(contentsOf: metrics, encoding: .utf8)
        #expect(prom.contains("stethoscope_sink_failed{sink=\"chat\",kind=\"webhook\"} 1"))
        #expect(prom.contains("stethoscope_run_status 0"))
        let failed = ran.stderr.split(separator: "\n").filter { $0.contains("msg=\"webhook failed; the night is committed\"") }
        #expect(failed.count == 1)
        #expect(failed.first?.contains("HTTP 502") == true && failed.first?.contains("webhook=chat") == true)
        #expect(!ran.stderr.contains("T0SECRET"))

        let partial = try Ops.config(dir, hooks, attribution: "attribution:\n  - {name: assets, type: asset_csv, path: missing.csv}")
        #expect(try Ops.run(Ops.binary, ["run", "--config", partial.path, "--as-of", "2026-10-03"]).code == 3)
    }

    /// A webhook that hangs is cut at `timeout_s` and retried; then it is a failed sink, exit 8.
    @Test func aHangingWebhookTimesOutAndIsRetried() async throws {
        let hook = try FakeServer("fake_webhook.py", ["--fault", "slow:/hook:5"])
        let dir = try Cloud.temporaryDirectory()
        let file = try Ops.config(
            dir,
            """
            webhooks:
              - {name: chat, url: "\(hook.url)/hook", timeout_s: 1, max_attempts: 2, retry_base_s: 0.01}
            """)
        let ran = try Ops.run(Ops.binary, ["run", "--config", file.path, "--as-of", "2026-10-02"])
        #expect(ran.code == 8, "\(ran.stderr.suffix(2000))")
        #expect(
            ran.stderr.split(separator: "\n").contains {
                $0.contains("msg=\"webhook failed; the night is committed\"") && $0.contains("no complete answer within 1.0 s (after 2 attempts)")
            })
        #expect(try await hook.stats().paths["/hook"] == 2)
    }

    /// Jobs/nightly passes exit 8 on, and counts the night (it is in the database) as its last success.
    @Test func jobsNightlyPassesExit8OnAndKeepsTheSuccessTime() throws {
        let hook = try FakeServer("fake_webhook.py", ["--fault", "500:/hook:100"])
        let dir = try Cloud.temporaryDirectory()
        let file = try Ops.config(dir, "webhooks:\n  - {name: chat, url: \"\(hook.url)/hook\", max_attempts: 1}")
        let job = FakeServer.repo.appendingPathComponent("Jobs/nightly").path
        let ran = try Ops.run(
            "/bin/bash", [job, "--config", file.path, "--as-of", "2026-10-02"],
            environment: [
                "STETHOSCOPE_BIN": Ops.binary, "STETHOSCOPE_STATE": dir.path,
                "STETHOSCOPE_LOG": dir.appendingPathComponent("nightly.log").path
            ])
        #expect(ran.code == 8)
        let prom = try String(contentsOf: dir.appendingPathComponent("stethoscope.prom"), encoding: .utf8)
        #expect(prom.contains("stethoscope_job_exit_code 8"))
        #expect(prom.contains("stethoscope_last_success_timestamp_seconds "))
        #expect(prom.contains("stethoscope_sink_failed{sink=\"chat\",kind=\"webhook\"} 1"))
    }

    /// Bad webhook config is exit 78 naming the key path, before anything runs.
    @Test func badWebhookConfigNamesTheKey() throws {
        let dir = try Cloud.temporaryDirectory()
        let file = try Ops.config(dir, "webhooks:\n  - {name: chat, url: \"ftp://x/hook\"}")
        let ran = try Ops.run(Ops.binary, ["run", "--config", file.path, "--as-of", "2026-10-02"])
        #expect(ran.code == 78)
        #expect(ran.stderr.contains("webhooks[0].url"))
        let typo = try Ops.config(dir, "webhooks:\n  - {name: chat, url: \"http://x/hook\", fromat: slack}")
        let again = try Ops.run(Ops.binary, ["run", "--config", typo.path, "--as-of", "2026-10-02"])
        #expect(again.code == 78 && again.stderr.contains("webhooks[0].fromat"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("s.db").path))
    }
}
