import Foundation
import Logging
import StethoscopeCore

/// On a terminal, one live line with each source's pages, records and rate, refreshed twice a second.
/// Under cron (no terminal) it prints nothing: the per-source "source done" log lines carry the same figures.
final class ProgressDisplay: Sendable {
    private let counters: [(String, FigureCounter)]
    private let timer = Locked<(any DispatchSourceTimer)?>(nil)

    init(counters: [(String, FigureCounter)]) { self.counters = counters }

    func start() {
        guard Terminal.shared.isTTY, !counters.isEmpty else { return }
        let t = DispatchSource.makeTimerSource(queue: .global())
        t.schedule(deadline: .now() + 0.5, repeating: 0.5)
        t.setEventHandler { [counters] in
            let line = counters.map { name, c in
                let f = c.snapshot()
                let rate = f.seconds > 0 ? Int(Double(f.records) / f.seconds) : 0
                return "\(name) p\(f.pages) \(f.records)rec \(rate)/s"
            }.joined(separator: " | ")
            Terminal.shared.progress(line)
        }
        t.resume()
        timer.withLock { $0 = t }
    }

    func stop() {
        timer.withLock {
            $0?.cancel()
            $0 = nil
        }
        Terminal.shared.clearProgress()
    }
}

/// One stage of a run or command (pull, merge, evaluate_write, rollup, export, webhook, notify, report). On a
/// terminal it keeps a live line with the count, rate and ETA when the stage knows its size (elapsed time
/// otherwise); on every output, cron's log file included, it ends with one `stage done` log line: stage, items,
/// seconds and rate.
final class StageProgress: Sendable {
    let name: String
    let started = Date()
    private let done = Locked(0)
    private let size: Locked<Int?>
    private let live: Bool
    private let timer = Locked<(any DispatchSourceTimer)?>(nil)

    /// `live: false` for a stage that has its own live line (the pull's per-source display).
    init(_ name: String, total: Int? = nil, live: Bool = true) {
        self.name = name
        size = Locked(total)
        self.live = live && Terminal.shared.isTTY
        guard self.live else { return }
        let t = DispatchSource.makeTimerSource(queue: .global())
        t.schedule(deadline: .now() + 0.5, repeating: 0.5)
        t.setEventHandler { [weak self] in
            guard let self else { return }
            Terminal.shared.progress(self.line(now: Date()))
        }
        t.resume()
        timer.withLock { $0 = t }
        // Shown at once: a stage shorter than the refresh still says it ran.
        Terminal.shared.progress(line(now: started))
    }

    /// A stage left by an error: its live line goes too.
    deinit {
        guard let t = timer.withLock({ $0 }) else { return }
        t.cancel()
        Terminal.shared.clearProgress()
    }

    func advance(_ n: Int = 1) { done.withLock { $0 += n } }

    /// The stage's size, once known (a notify learns it after planning, a report after loading).
    var total: Int? {
        get { size.withLock { $0 } }
        set { size.withLock { $0 = newValue } }
    }

    /// Where a library reports `done` of `total` (the roll-up's devices, the export's documents, the report's
    /// pages, notify's messages).
    /// The line is redrawn at once when the size first becomes known, so even a stage shorter than the refresh
    /// shows its count and total.
    func update(done count: Int, total: Int?) {
        done.withLock { $0 = count }
        guard let total else { return }
        let learned = size.withLock { old in
            defer { old = total }
            return old == nil
        }
        if learned && live { Terminal.shared.progress(line(now: Date())) }
    }

    /// `evaluate_write 1200/5000 24% 400/s ETA 9s`, or `rollup 3.2s` for a stage of unknown size.
    func line(now: Date) -> String {
        let count = done.withLock { $0 }
        let total = self.total
        let seconds = now.timeIntervalSince(started)
        guard count > 0 || total != nil else { return "\(name) \(String(format: "%.1f", seconds))s" }
        let rate = seconds > 0 ? Double(count) / seconds : 0
        var text = "\(name) \(count)"
        if let total, total > 0 {
            text += "/\(total) \(min(100, count * 100 / total))%"
            if rate > 0 { text += " \(Int(rate))/s ETA \(Int((Double(max(0, total - count)) / rate).rounded(.up)))s" }
        } else if rate > 0 {
            text += " \(Int(rate))/s"
        }
        return text
    }

    /// Stops the live line and logs the stage's one line. `items` overrides the advanced count.
    @discardableResult
    func end(_ logger: Logger, items: Int? = nil, metadata: Logger.Metadata = [:]) -> Double {
        timer.withLock {
            $0?.cancel()
            $0 = nil
        }
        if Terminal.shared.isTTY { Terminal.shared.clearProgress() }
        let seconds = Date().timeIntervalSince(started)
        let count = items ?? done.withLock { $0 }
        var fields: Logger.Metadata = ["stage": "\(name)", "seconds": "\(String(format: "%.2f", seconds))"]
        if items != nil || count > 0 || total != nil {
            fields["items"] = "\(count)"
            fields["rate"] = "\(seconds > 0 ? Int(Double(count) / seconds) : count)/s"
        }
        logger.info("stage done", metadata: fields.merging(metadata) { $1 })
        return seconds
    }
}
