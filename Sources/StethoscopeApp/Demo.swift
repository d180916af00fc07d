import Foundation
import Logging
import StethoscopeCore
import StethoscopeNotify
import StethoscopeReport
import StethoscopeSources
import StethoscopeStore

/// `stethoscope demo`: writes a demo config for the built-in company and runs it night after night, through
/// exactly the path a real config takes (plugins → merge → evaluate → SQLite).
public enum DemoRunner {
    public struct Options: Sendable {
        public var people: Int, nights: Int, seed: Int
        public var out: URL
        /// The first night; default: so that the last night is today (UTC).
        public var start: String?
        /// Deliver each night's messages (but the last night's) to the simulated people, who respond (see
        /// `DemoNudges`). `stethoscope demo` does by default; off here, so a caller gets an empty ledger.
        public var responses: Bool
        public init(people: Int = 2000, nights: Int = 60, seed: Int = 1, out: URL, start: String? = nil, responses: Bool = false) {
            self.people = people
            self.nights = nights
            self.seed = seed
            self.out = out
            self.start = start
            self.responses = responses
        }
    }

    public static func run(_ o: Options) async -> ExitStatus {
        LogfmtHandler.bootstrap()
        let logger = Logger(label: "stethoscope")
        let today = AsOfDate.parse(AsOfDate.of(Date(), in: TimeZone(identifier: "UTC")!))!
        let start = o.start ?? AsOfDate.format(today - (o.nights - 1))
        do {
            try FileManager.default.createDirectory(at: o.out, withIntermediateDirectories: true)
            let db = o.out.appendingPathComponent("stethoscope.db")
            let configFile = o.out.appendingPathComponent("demo.yaml")
            // The wireless network's accounting for the whole horizon, read by the `wifi` auth_logs entry.
            try DemoWorld.shared(DemoParameters(seed: o.seed, people: o.people, start: start, nights: o.nights))
                .writeAuthLogs(to: o.out.appendingPathComponent("radacct"))
            let yaml =
                DemoPlugin.demoConfigYAML(
                    seed: o.seed, people: o.people, start: start, nights: o.nights,
                    database: db.path, authLogs: "radacct/*/detail-*") + notifyYAML
            try yaml.write(to: configFile, atomically: true, encoding: .utf8)
            let nightly = try NightlyRun.prepare(configFile: configFile, logger: logger)
            let store = try SnapshotStore(path: db)
            let notifyConfig = try NotifyConfig.from(section: nightly.config.notify)
            // The simulated mailboxes of the world the demo plugin builds from the same parameters: every run starts
            // with none (an earlier run in this process may have filled them), and, since the demo re-runs every
            // night from night 0, with an empty ledger.
            let world = DemoWorld.shared(DemoParameters(seed: o.seed, people: o.people, start: start, nights: o.nights))
            try DemoNudges.reset(store, world: world)
            var mailboxes: (NotifyConfig, DemoWorld)?
            if o.responses, let notifyConfig { mailboxes = (notifyConfig, world) }
            var worst = ExitStatus.complete
            var first: String?
            var last: String?
            for n in 0..<o.nights {
                let asOf = AsOfDate.format(AsOfDate.parse(start)! + n)
                let now = AsOfDate.endOfDay(asOf, in: nightly.config.timeZone)!
                let outcome = try await nightly.run(asOf: asOf, now: now, store: store)
                if outcome.status != .failed {
                    first = first ?? asOf
                    last = asOf
                }
                if outcome.exitCode != .complete && worst == .complete { worst = outcome.exitCode }
                // The last night's messages are the dry-run preview below instead.
                if let m = mailboxes, n < o.nights - 1, outcome.status != .failed {
                    try await DemoNudges.deliver(m.0, asOf: asOf, store: store, world: m.1, now: now)
                }
            }
            guard let first, let last else { return .failed }
            print(try summary(store, first: first, last: last, practices: nightly.config.practices))
            print("database: \(db.path)")
            print("config:   \(configFile.path)")
            let stage = StageProgress("report")
            let report = try Report.generate(store: store, options: ReportOptions(out: o.out.appendingPathComponent("report"))) {
                stage.update(done: $0, total: $1)
            }
            stage.end(logger, items: report.pages)
            print("report:   \(report.index.path)")
            // Nudges in dry-run mode: the last night's messages (and the weekly manager digests) as files.
            if let notify = notifyConfig, case .dryRun(let dir) = notify.delivery {
                _ = await Commands.notifyNight(notify, asOf: last, store: store, dryRunOut: dir, forceManagerDigest: true)
                print("messages: \(dir.appendingPathComponent("index.html").path)")
            }
            // Partial nights are part of the demo (a source is down one night): the demo itself succeeded.
            return worst == .failed ? .failed : .complete
        } catch {
            logger.error("demo failed", metadata: ["error": "\(error)"])
            return error is ConfigError ? .config : .failed
        }
    }

    /// The demo's `notify:` section: dry-run delivery into `notify/` next to the config, one campaign.
    public static let notifyYAML = """
        notify:
          from: "IT Security <it-security@example.com>"
          help_url: https://intranet.example.com/device-security
          dry_run: {out: notify}
          cadence: {quiet_weekdays: []}
          manager_digest: {weekday: monday, include_people: true}
          campaigns:
            - name: filevault-push
              practices: [encryption]
              platforms: [Mac]
              subject: "FileVault push: encrypt your Mac this week"
              intro: "This week IT is helping everyone turn on FileVault. It takes two minutes and runs in the background."

        """

    /// Per practice: counts by status on the last night, and compliance then against the first night.
    public static func summary(_ store: SnapshotStore, first: String, last: String, practices: PracticeSet) throws -> String {
        let counts = try store.statusCounts(asOf: last)
        let before = try store.statusCounts(asOf: first)
        let devices = try store.deviceCount(asOf: last) ?? 0
        var out = "Stethoscope demo: \(devices) devices on \(last); compliance change since \(first)\n"
        out += "practice".padding(toLength: 18, withPad: " ", startingAt: 0)
        for s in Status.allCases { out += s.rawValue.leftPad(9) }
        out += "compliance".leftPad(12) + "change".leftPad(9) + "\n"
        func rate(_ c: [Status: Int]) -> Double? {
            let applicable = c.filter { $0.key != .na }.values.reduce(0, +)
            return applicable == 0 ? nil : Double(c[.ok] ?? 0) / Double(applicable) * 100
        }
        for p in practices.enabled {
            let c = counts[p.key] ?? [:]
            out += p.key.padding(toLength: 18, withPad: " ", startingAt: 0)
            for s in Status.allCases { out += String(c[s] ?? 0).leftPad(9) }
            let now = rate(c)
            let then = rate(before[p.key] ?? [:])
            out += (now.map { String(format: "%.1f%%", $0) } ?? "-").leftPad(12)
            if let now, let then { out += String(format: "%+.1f", now - then).leftPad(9) } else { out += "-".leftPad(9) }
            out += "\n"
        }
        return out
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? " " + self : String(repeating: " ", count: n - count) + self }
}
