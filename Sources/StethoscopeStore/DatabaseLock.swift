import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on a database, held by every command that writes it (`run`, `export`, `rollup`), so two of
/// them never interleave: a `flock` on `<database>.lock` next to the database. The kernel drops it when the process
/// dies, so a crashed run never leaves a stale lock behind; the file itself stays (removing it would race).
public final class DatabaseLock: Sendable {
    /// Another process held the lock for longer than the wait.
    public struct Held: Error, CustomStringConvertible, Sendable {
        public var lockFile: String
        public var waitedSeconds: Double
        /// What the holder wrote into the lock file (`pid=… command=… since=…`), if anything.
        public var holder: String?
        public var description: String {
            "another stethoscope process holds the database lock \(lockFile)"
                + (holder.map { " (\($0))" } ?? "")
                + "; gave up after waiting \(Int(waitedSeconds.rounded())) s (safety.lock_wait_s or --lock-wait)"
        }
    }

    /// The lock file could not be opened or locked (a missing or unwritable folder).
    public struct Unavailable: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public let lockFile: URL
    private let descriptor: Int32

    private init(lockFile: URL, descriptor: Int32) {
        self.lockFile = lockFile
        self.descriptor = descriptor
    }

    /// The lock file of a database: the database's path with `.lock` appended.
    public static func lockFile(for database: URL) -> URL {
        URL(fileURLWithPath: database.path + ".lock")
    }

    /// Takes the lock, polling until `waitSeconds` have passed; throws `Held` then. `purpose` (e.g. "run 2026-12-03")
    /// is written into the lock file so that a process that gives up can say who holds it.
    public static func acquire(database: URL, waitSeconds: Double, purpose: String) throws -> DatabaseLock {
        let file = lockFile(for: database)
        let fd = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw Unavailable(description: "cannot open the database lock \(file.path): \(String(cString: strerror(errno)))")
        }
        let started = Date()
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            guard error == EWOULDBLOCK || error == EINTR else {
                close(fd)
                throw Unavailable(description: "cannot lock \(file.path): \(String(cString: strerror(error)))")
            }
            let waited = Date().timeIntervalSince(started)
            if waited >= waitSeconds {
                let text = (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                close(fd)
                throw Held(
                    lockFile: file.path, waitedSeconds: waited,
                    holder: text.flatMap { $0.isEmpty ? nil : String($0.prefix(200)) })
            }
            Thread.sleep(forTimeInterval: min(0.2, max(0.01, waitSeconds - waited)))
        }
        let note = "pid=\(getpid()) command=\(purpose) since=\(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
        return DatabaseLock(lockFile: file, descriptor: fd)
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
