import Foundation
import Logging
import StethoscopeCore
import StethoscopeExport
import StethoscopeNotify
import StethoscopeStore

/// `stethoscope check`: proves every configured source and sink is reachable and accepts its credentials,
/// one line each, without pulling inventories. Errors are the plugins' own texts, which never hold a secret.
public enum Check {
    public struct Line: Sendable, Equatable {
        public var name: String
        public var kind: String
        public var ok: Bool
        public var detail: String
    }

    public static func run(configFile: URL, database: URL?, timeoutSeconds: Double = 60) async -> (ExitStatus, [Line]) {
        LogfmtHandler.bootstrap(level: .warning)
        let logger = Logger(label: "stethoscope.check")
        let nightly: NightlyRun
        let es: ElasticsearchConfig?
        let notify: NotifyConfig?
        do {
            (nightly, es) = try Commands.prepare(configFile, logger: logger)
            notify = try NotifyConfig.from(section: nightly.config.notify)
        } catch {
            return (.config, [Line(name: "config", kind: "config", ok: false, detail: "\(error)")])
        }
        let asOf = AsOfDate.of(Date(), in: nightly.config.timeZone)
        @Sendable func context(_ kind: SourceKind) -> PullContext {
            PullContext(asOf: asOf, now: Date(), figures: FigureCounter(kind: kind, plugin: "check"), logger: logger)
        }
        typealias Probe = @Sendable () async throws -> String
        var probes: [(String, String, Probe)] = []
        let p = nightly.plugins
        if let d = p.directory { probes.append((d.name, "directory", { try await d.check(context(.directory)) })) }
        for s in p.sources { probes.append((s.source.name, "source", { try await s.source.check(context(.device)) })) }
        for a in p.attribution { probes.append((a.source.name, "attribution", { try await a.source.check(context(.attribution)) })) }
        if let es {
            probes.append(("elasticsearch", "sink", { try await NightExporter(config: es, logger: logger).checkTemplate() }))
        }
        if case .smtp(let settings)? = notify?.delivery {
            // Connect, STARTTLS and AUTH; no message is sent.
            probes.append(
                (
                    "smtp", "sink",
                    {
                        try await SMTPMailTransport(settings).transport.check()
                        return "ok: \(settings.url) accepts the login"
                    }
                ))
        }
        let db = database ?? nightly.config.database
        probes.append(
            (
                "database", "sink",
                {
                    let store = try SnapshotStore(path: db)
                    let nights = try store.nights()
                    return "ok: \(db.path), schema current, \(nights.count) nights"
                }
            ))

        var lines: [Line] = []
        await withTaskGroup(of: (Int, Line).self) { group in
            for (i, probe) in probes.enumerated() {
                group.addTask {
                    do {
                        let detail = try await withTimeout(timeoutSeconds) { try await probe.2() }
                        return (i, Line(name: probe.0, kind: probe.1, ok: true, detail: detail))
                    } catch {
                        return (i, Line(name: probe.0, kind: probe.1, ok: false, detail: Redactor.redact("\(error)")))
                    }
                }
            }
            var byIndex: [Int: Line] = [:]
            for await (i, line) in group { byIndex[i] = line }
            lines = probes.indices.compactMap { byIndex[$0] }
        }
        return (lines.allSatisfy(\.ok) ? .complete : .failed, lines)
    }

    public static func format(_ line: Line) -> String {
        "\(line.ok ? "ok  " : "FAIL") \(line.kind.padding(toLength: 11, withPad: " ", startingAt: 0)) \(line.name): \(Redactor.redact(line.detail))"
    }

    struct TimedOut: Error, CustomStringConvertible {
        var seconds: Double
        var description: String { "no answer within \(Int(seconds)) s" }
    }

    static func withTimeout<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                throw TimedOut(seconds: seconds)
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }
}
