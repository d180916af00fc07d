import Foundation

/// The one lock type of the project: a value that is only reached under its lock.
///
/// A class holding mutable state shared between threads keeps that state in a `Locked` and is then plainly
/// `Sendable`; the unchecked promise is made here once. (Synchronization's `Mutex` needs newer deployment targets
/// on Apple platforms.)
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` with the value, holding the lock; keep it short and never call back into code that locks it.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
