import Foundation
import Logging
import StethoscopeCore

/// Plain, parseable log lines (logfmt) on stderr: `ts=… level=info msg="…" key=value`. Under cron these are
/// what lands in the log file; on a terminal the progress display adds a live line above them.
public struct LogfmtHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // Every value is redacted before quoting (quoting would escape a secret holding `"` or `\`).
        var line = "ts=\(Timestamp.iso(Date())) level=\(event.level.rawValue) msg=\(Self.quote(Redactor.redact(event.message.description)))"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() { line += " \(key)=\(Self.quote(Redactor.redact(merged[key]!.description)))" }
        Terminal.shared.log(line)
    }

    /// A logfmt value: bare when it is plain ASCII without space, `"` or `=`; otherwise quoted, with `\\`, `"` and
    /// every control character escaped (`\n`, `\r`, `\t`, `\u001b`, …), and the Unicode line breaks too. A vendor's
    /// error page (`\r\n` line ends, a terminal escape) therefore stays inside one line and cannot forge another.
    static func quote(_ s: String) -> String {
        if !s.isEmpty, s.utf8.allSatisfy({ $0 > 32 && $0 != 34 && $0 != 61 && $0 < 127 }) { return s }
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _
            where scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Installs the handler once per process.
    public static func bootstrap(level: Logger.Level = .info) {
        Bootstrap.once.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var h = LogfmtHandler(label: label)
                h.logLevel = level
                return h
            }
        }
    }
}

private enum Bootstrap {
    static let once = Locked(false)
}

enum Timestamp {
    static func iso(_ d: Date) -> String {
        var t = time_t(d.timeIntervalSince1970.rounded(.down))
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1,
            Int(tm.tm_mday), Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
    }
}

/// Owns stderr: log lines, and on a terminal one live progress line that log lines scroll above.
final class Terminal: Sendable {
    static let shared = Terminal()
    let isTTY = isatty(2) == 1
    /// The live line; writes happen under its lock so lines never interleave.
    private let status = Locked("")

    func log(_ line: String) {
        status.withLock { status in
            if isTTY && !status.isEmpty { write("\r\u{1B}[2K") }
            write(line + "\n")
            if isTTY && !status.isEmpty { write(status) }
        }
    }

    /// Replaces the live line (terminal only).
    func progress(_ line: String) {
        guard isTTY else { return }
        status.withLock { status in
            status = String(line.prefix(200))
            write("\r\u{1B}[2K" + status)
        }
    }

    func clearProgress() {
        guard isTTY else { return }
        status.withLock { status in
            if !status.isEmpty { write("\r\u{1B}[2K") }
            status = ""
        }
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
