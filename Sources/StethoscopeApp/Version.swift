import StethoscopeHTTP
import StethoscopeStore

/// What `stethoscope --version` prints: our version and the C libraries it runs with, the first things an
/// operator is asked for in a bug report.
public enum StethoscopeVersion {
    /// Bumped with each release; the CHANGELOG says what changed.
    public static let number = "0.3.0"

    public static var description: String {
        "stethoscope \(number)\nSQLite \(Database.libraryVersion)\nlibcurl \(CurlVersion.library)"
    }
}
