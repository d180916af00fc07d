import Foundation
import Logging
import StethoscopeStore

extension ExitStatus: Error {}

extension Commands {
    /// Takes the database's lock for a command that writes (`run`, `export`, `notify`, `rollup`). Another holder past
    /// `waitSeconds` is exit 75, logged as "database is locked; nothing <done>"; any other failure (an unwritable
    /// folder) is `failure`, logged as "<command> failed".
    static func lockDatabase(
        _ file: URL, waitSeconds: Double, purpose: String, command: String, nothing done: String,
        failure: ExitStatus, metadata: Logger.Metadata = [:]
    ) -> Result<DatabaseLock, ExitStatus> {
        do {
            return .success(try DatabaseLock.acquire(database: file, waitSeconds: waitSeconds, purpose: purpose))
        } catch let held as DatabaseLock.Held {
            logger.error("database is locked; nothing \(done)", metadata: metadata.merging(["error": "\(held)"]) { $1 })
            return .failure(.lockHeld)
        } catch {
            logger.error("\(command) failed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            return .failure(failure)
        }
    }
}
