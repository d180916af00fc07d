import Foundation
import StethoscopeStore
import Testing

@testable import StethoscopeApp

/// Issue 16, operators: the Prometheus textfile (checked by the real promtool), logfmt lines, per-stage progress,
/// and the `webhooks:` sink (against Tests/fakes/fake_webhook.py).
@Suite struct OperationsTests {
    struct Ran {
        var code: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` with `arguments`, stdin closed, and returns its exit code and outputs. The outputs go to
    /// files, not pipes: reading a pipe while children come and go can be interrupted (EINTR), which Foundation's
    /// `readDataToEndOfFile` turns into a crash.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Ran {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outFile = dir.appendingPathComponent("out")
        let errFile = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
        let out = try FileHandle(forWritingTo: outFile)
        let err = try FileHandle(forWritingTo: errFile)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try out.close()
        try err.close()
        return Ran(
            code: p.terminationStatus, stdout: try String(contentsOf: outFile, encoding: .utf8),
            stderr: try String(contentsOf: errFile, encoding: .utf8))
    }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["STETHOSCOPE_BIN"] { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("stethoscope")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        return ".build/debug/stethoscope"
    }

    /// `promtool check metrics` (Debian's `prometheus` package) on `file`: its exit code and what it said.
    static func promtool(_ file: URL) throws -> Ran {
        try run("/bin/sh", ["-c", "promtool check metrics < \"$0\"", file.path])
    }

    static func config(_ dir: URL, _ extra: String = "", attribution: String = "") throws -> URL {
        let file = dir.appendingPathComponent("config.yaml")
        try """
        database: \(dir.path)/s.db
        directory: {type: demo, people: 60}
        sources:
          - {name: jamf, type: demo, feed: jamf, people: 60}
          - {name: mdm, type: demo, feed: mdm, people: 60}
        \(attribution)
        \(extra)
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    static func samples(_ prom: String, _ name: String) -> [(labels: String, value: Double)] {
        prom.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), line.hasPrefix(name + " ") || line.hasPrefix(name + "{") else { return nil }
            let parts = line.split(separator: " ")
            let head = String(parts[0])
            let labels = head.firstIndex(of: "{").map { String(head[$0...]) } ?? ""
            return (labels, Double(parts[1]) ?? .nan)
        }
    }

    // MARK: metrics

    /// No per-night label; the night is a timestamp gauge; `total` spans every stage, export and webhook included;
    /// per-source status, records and seconds; sinks; and the real promtool accepts the file.
    @Test func theMetricsFileHasNoNightLabelAndPassesPromtool() throws {
        let hook = try FakeServer("fake_webhook.py")
        let dir = try Cloud.temporaryDirectory()
        let file = try Self.config(
            dir, "webhooks:\n  - {name: chat, url: \"\(hook.url)/hook\"}",
            attribution: "attribution:\n  - {name: assets, type: asset_csv, path: missing.csv}")
        let metrics = dir.appendingPathComponent("m.prom")
        let ran = try Self.run(Self.binary, ["run", "--config", file.path, "--as-of", "2026-10-02", "--metrics", metrics.path])
        #expect(ran.code == 3, "\(ran.stderr.suffix(2000))")
        let prom = try String(contentsOf: metrics, encoding: .utf8)
        #expect(!prom.contains("as_of="))
        #expect(Self.samples(prom, "stethoscope_night_timestamp_seconds").map(\.value) == [1_790_899_200])  // 2026-10-02T00:00Z
        #expect(Self.samples(prom, "stethoscope_run_status").map(\.value) == [1])
        #expect(prom.contains("stethoscope_source_failed{source=\"assets\",kind=\"attribution\"} 1"))
        #expect(prom.contains("stethoscope_source_failed{source=\"mdm\",kind=\"device\"} 0"))
        #expect(Self.samples(prom, "stethoscope_source_records").count == 4)
        #expect(Self.samples(prom, "stethoscope_source_records").contains { $0.labels == "{source=\"jamf\",kind=\"device\"}" && $0.value > 0 })
        #expect(Self.samples(prom, "stethoscope_source_seconds").count == 4)
        #expect(prom.contains("stethoscope_sink_failed{sink=\"chat\",kind=\"webhook\"} 0"))
        #expect(Self.samples(prom, "stethoscope_devices_carried_forward").count == 1)
        let stages = Self.samples(prom, "stethoscope_stage_seconds")
        #expect(stages.map(\.labels) == ["pull", "merge", "evaluate_write", "rollup", "webhook", "total"].map { "{stage=\"\($0)\"}" })
        let total = try #require(stages.last).value
        #expect(total + 0.001 * Double(stages.count) >= stages.dropLast().map(\.value).reduce(0, +))
        let check = try Self.promtool(metrics)
        #expect(check.code == 0, "promtool: \(check.stdout) \(check.stderr)")
        #expect(check.stdout.isEmpty && check.stderr.isEmpty, "promtool: \(check.stdout) \(check.stderr)")
    }

    /// An export that fails (nothing listens) is its own stage inside `total` and a failed sink; exit 4, and the
    /// file still passes promtool.
    @Test func aFailedExportIsAStageAndAFailedSink() throws {
        let dir = try Cloud.temporaryDirectory()
        let file = try Self.config(dir, "export: {elasticsearch: {url: \"http://127.0.0.1:9\", max_attempts: 1, timeout_s: 5}}")
        let metrics = dir.appendingPathComponent("m.prom")
        let ran = try Self.run(Self.binary, ["run", "--config", file.path, "--as-of", "2026-10-02", "--metrics", metrics.path])
        #expect(ran.code == 4, "\(ran.stderr.suffix(2000))")
        let prom = try String(contentsOf: metrics, encoding: .utf8)
        #expect(prom.contains("stethoscope_sink_failed{sink=\"elasticsearch\",kind=\"elasticsearch\"} 1"))
        #expect(Self.samples(prom, "stethoscope_stage_seconds").map(\.labels).suffix(2) == ["{stage=\"export\"}", "{stage=\"total\"}"])
        #expect(ran.stderr.split(separator: "\n").contains { $0.contains("msg=\"stage done\"") && $0.contains("stage=export") })
        let check = try Self.promtool(metrics)
        #expect(check.code == 0 && check.stdout.isEmpty && check.stderr.isEmpty, "promtool: \(check.stdout) \(check.stderr)")
    }

    /// Jobs/nightly's file (the run's series plus the job's own) passes promtool too.
    @Test func jobsNightlyMetricsPassPromtool() throws {
        let dir = try Cloud.temporaryDirectory()
        let file = try Self.config(dir)
        let job = FakeServer.repo.appendingPathComponent("Jobs/nightly").path
        let ran = try Self.run(
            "/bin/bash", [job, "--config", file.path, "--as-of", "2026-10-02"],
            environment: [
                "STETHOSCOPE_BIN": Self.binary, "STETHOSCOPE_STATE": dir.path,
                "STETHOSCOPE_LOG": dir.appendingPathComponent("nightly.log").path
            ])
        #expect(ran.code == 0, "\(ran.stderr)")
        let metrics = dir.appendingPathComponent("stethoscope.prom")
        let prom = try String(contentsOf: metrics, encoding: .utf8)
        #expect(!prom.contains("as_of="))
        #expect(prom.contains("stethoscope_job_exit_code 0"))
        #expect(prom.contains("stethoscope_night_timestamp_seconds 1790899200"))
        let check = try Self.promtool(metrics)
        #expect(check.code == 0 && check.stdout.isEmpty && check.stderr.isEmpty, "promtool: \(check.stdout) \(check.stderr)")
    }

    // MARK: logfmt

    /// Control characters never reach a log line raw: CR, LF, tab, a terminal escape, Unicode line separators.
    @Test func logfmtEscapesEveryControlCharacter() {
        #expect(LogfmtHandler.quote("a\r\nb") == "\"a\\r\\nb\"")
        #expect(LogfmtHandler.quote("x\u{1B}[2J\ty") == "\"x\\u001b[2J\\ty\"")
        #expect(LogfmtHandler.quote("p\u{2028}q\u{85}") == "\"p\\u2028q\\u0085\"")
        #expect(LogfmtHandler.quote("plain") == "plain")
        #expect(LogfmtHandler.quote("say \"hi\" \\") == "\"say \\\"hi\\\" \\\\\"")
    }

    /// A vendor (here bitFit behind a proxy) answering nginx's multi-line 502 page with CRLF and an escape
    /// sequence: every line on stderr is one logfmt line, with no control character in it.
    @Test func aVendorErrorPageNeverBreaksALogLine() throws {
        let bitfit = try FakeServer("fake_bitfit.py", ["--fixture", Cloud.fixture("bitfit", "bitfit.json"), "--fault", "html_502:/:1000"])
        let dir = try Cloud.temporaryDirectory()
        let file = try Self.config(
            dir,
            attribution: """
                attribution:
                  - {name: bitfit, type: bitfit, url: "\(bitfit.url)", api_token: bitfit-t0ken, retries: 0}
                """)
        let ran = try Self.run(Self.binary, ["run", "--config", file.path, "--as-of", "2026-10-02"])
        #expect(ran.code == 3, "\(ran.stderr.suffix(2000))")
        let lines = ran.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.hasPrefix("ts="), "\(line)")
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(line.debugDescription)")
        }
        #expect(lines.contains { $0.contains("msg=\"source failed\"") && $0.contains("502") && $0.contains("\\u001b") })
    }

    // MARK: progress

    /// A dry-run notify section for the progress tests: the night's messages become files under `dir`.
    static func notifyYAML(_ dir: URL) -> String {
        """
        notify:
          from: "IT <it@example.com>"
          help_url: https://intranet.example.com/help
          dry_run: {out: \(dir.path)/notify}
          cadence: {quiet_weekdays: []}
        """
    }

    /// `stage done` lines of a log, as their `stage=` values, and each line's fields.
    static func stageLines(_ log: String) -> [(stage: String, fields: [String: String])] {
        log.split(separator: "\n").filter { $0.contains("msg=\"stage done\"") }.map { line in
            var fields: [String: String] = [:]
            for part in line.split(separator: " ") {
                guard let eq = part.firstIndex(of: "=") else { continue }
                fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
            }
            return (fields["stage"] ?? "", fields)
        }
    }

    /// Under cron (stderr not a terminal) each stage, the sinks', notify's, the report's and a roll-up rebuild's
    /// included, logs exactly one `stage done` line with its count (`items`) and `seconds`.
    @Test func eachStageLogsOneLineWithoutATerminal() throws {
        let hook = try FakeServer("fake_webhook.py")
        let dir = try Cloud.temporaryDirectory()
        let file = try Self.config(dir, "webhooks:\n  - {name: chat, url: \"\(hook.url)/hook\"}\nreport: {out: \(dir.path)/report}\n" + Self.notifyYAML(dir))
        let ran = try Self.run(Self.binary, ["run", "--config", file.path, "--as-of", "2026-10-02"])
        #expect(ran.code == 0, "\(ran.stderr.suffix(2000))")
        let done = Self.stageLines(ran.stderr)
        #expect(done.map(\.stage) == ["pull", "merge", "evaluate_write", "rollup", "webhook", "notify"])
        for (stage, fields) in done {
            #expect(
                fields["items"].flatMap { Int($0) } != nil && fields["seconds"].flatMap { Double($0) } != nil
                    && fields["rate"] != nil, "\(stage): \(fields)")
        }
        // The roll-up counts the night's devices; notify the messages it wrote.
        let finished = ran.stderr.split(separator: "\n").first { $0.contains("msg=\"run finished\"") } ?? ""
        let devices = finished.split(separator: " ").first { $0.hasPrefix("devices=") }.map { String($0.dropFirst(8)) }
        #expect(devices != nil && done.first { $0.stage == "rollup" }?.fields["items"] == devices)
        let messages = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("notify").path).filter { $0.hasSuffix(".eml") }
        #expect(!messages.isEmpty && done.first { $0.stage == "notify" }?.fields["items"] == "\(messages.count)")
        #expect(!ran.stderr.contains("\u{1B}["), "no terminal control sequences in a log file")

        let report = try Self.run(Self.binary, ["report", "--config", file.path])
        #expect(report.code == 0, "\(report.stderr)")
        let written = report.stderr.split(separator: "\n").first { $0.contains("msg=\"report written\"") } ?? ""
        let pages = written.split(separator: " ").first { $0.hasPrefix("pages=") }.map { String($0.dropFirst(6)) }
        #expect(Self.stageLines(report.stderr).map(\.stage) == ["report"])
        #expect(pages != nil && Self.stageLines(report.stderr).first?.fields["items"] == pages)

        let rebuilt = try Self.run(Self.binary, ["rollup", "--config", file.path, "--rebuild"])
        #expect(rebuilt.code == 0, "\(rebuilt.stderr)")
        #expect(Self.stageLines(rebuilt.stderr).map(\.stage) == ["rollup"])
        #expect(Self.stageLines(rebuilt.stderr).first?.fields["items"] == "1", "one night rebuilt")
    }

    /// On a terminal (a pseudo-terminal from util-linux's `script`), each long stage shows a live line with its count
    /// and total as soon as it knows them: the write, the roll-ups (of the night's devices), the webhook, notify's
    /// messages, and the report's pages.
    @Test func aTerminalShowsEveryStage() throws {
        let hook = try FakeServer("fake_webhook.py")
        let dir = try Cloud.temporaryDirectory()
        let file = try Self.config(dir, "webhooks:\n  - {name: chat, url: \"\(hook.url)/hook\"}\n" + Self.notifyYAML(dir))
        let command = "\"\(Self.binary)\" run --config \"\(file.path)\" --as-of 2026-10-02"
        let ran = try Self.run("/usr/bin/script", ["-qefc", command, "/dev/null"])
        #expect(ran.code == 0, "\(ran.stdout.suffix(2000))")
        let screen = ran.stdout
        #expect(screen.contains("\r\u{1B}[2Kevaluate_write 0/"))
        #expect(screen.contains("\r\u{1B}[2Krollup 0/"), "the roll-up knows its size")
        #expect(screen.contains("\r\u{1B}[2Kwebhook 0/1 0%"))
        #expect(screen.contains("\r\u{1B}[2Knotify 0/"), "notify shows its messages once planned")
        let report = try Self.run("/usr/bin/script", ["-qefc", "\"\(Self.binary)\" report --config \"\(file.path)\" --out \"\(dir.path)/report\"", "/dev/null"])
        #expect(report.code == 0, "\(report.stdout.suffix(2000))")
        #expect(report.stdout.contains("\r\u{1B}[2Kreport 1/"), "the report counts its pages")
    }
}
