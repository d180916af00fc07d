import Foundation
import StethoscopeCore

/// On a terminal, one live line with each source's pages, records and rate, refreshed twice a second.
/// Under cron (no terminal) it prints nothing: the per-source "source done" log lines carry the same figures.
final class ProgressDisplay: @unchecked Sendable {
    private let counters: [(String, FigureCounter)]
    private var timer: DispatchSourceTimer?

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
        timer = t
    }

    func stop() {
        timer?.cancel()
        timer = nil
        Terminal.shared.clearProgress()
    }
}
