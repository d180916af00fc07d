import Foundation
import StethoscopeCore

/// The night's devices, evaluated on a thread of their own a few chunks ahead of the store's writer, which
/// takes them in group order: evaluating (pure CPU work) and writing (SQLite, one connection, one thread) then
/// use both cores instead of taking turns on one. At most `ahead` chunks wait, so memory stays a few thousand
/// devices whatever the night's size. Iterate it once.
struct EvaluateAhead: Sequence {
    let groups: [MergedGroup]
    let records: [SourceRecord]
    let evaluator: NightEvaluator
    var chunk = 2048
    var ahead = 3

    func makeIterator() -> Iterator { Iterator(self) }

    final class Iterator: IteratorProtocol {
        private let queue: Handoff
        private var current: [DeviceSnapshot] = []
        private var index = 0

        init(_ s: EvaluateAhead) {
            let queue = Handoff(limit: s.ahead)
            self.queue = queue
            let (groups, records, evaluator, chunk) = (s.groups, s.records, s.evaluator, Swift.max(s.chunk, 1))
            let thread = Thread {
                var start = 0
                while start < groups.count {
                    let end = Swift.min(start + chunk, groups.count)
                    var out: [DeviceSnapshot] = []
                    out.reserveCapacity(end - start)
                    for i in start..<end { out.append(evaluator.evaluate(groups[i], records)) }
                    guard queue.put(out) else { return }  // the writer stopped (an error): no more work
                    start = end
                }
                _ = queue.put([])  // the end
            }
            thread.stackSize = 8 << 20
            thread.start()
        }

        /// A writer that stops early (an error, a refused night) lets the evaluating thread end too.
        deinit { queue.cancel() }

        func next() -> DeviceSnapshot? {
            if index == current.count {
                current = queue.take()
                index = 0
                if current.isEmpty { return nil }
            }
            defer { index += 1 }
            return current[index]
        }
    }

    /// A bounded queue of chunks between one producer and one consumer; an empty chunk ends it.
    final class Handoff: @unchecked Sendable {
        private let condition = NSCondition()
        private var chunks: [[DeviceSnapshot]] = []
        private var head = 0
        private var cancelled = false
        private var finished = false
        private let limit: Int

        init(limit: Int) { self.limit = Swift.max(limit, 1) }

        /// Waits while `limit` chunks are waiting; `false` once the consumer has gone.
        func put(_ chunk: [DeviceSnapshot]) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            while chunks.count - head >= limit && !cancelled { condition.wait() }
            if cancelled { return false }
            chunks.append(chunk)
            condition.broadcast()
            return true
        }

        func take() -> [DeviceSnapshot] {
            condition.lock()
            defer { condition.unlock() }
            if finished { return [] }
            while chunks.count == head { condition.wait() }
            let chunk = chunks[head]
            chunks[head] = []
            head += 1
            if head > 64 {
                chunks.removeFirst(head)
                head = 0
            }
            if chunk.isEmpty { finished = true }
            condition.broadcast()
            return chunk
        }

        func cancel() {
            condition.lock()
            cancelled = true
            chunks = []
            head = 0
            condition.broadcast()
            condition.unlock()
        }
    }
}
