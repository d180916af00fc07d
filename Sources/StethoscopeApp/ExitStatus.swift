/// Process exit codes, documented in the README; Jobs/nightly passes them on to cron/systemd.
public enum ExitStatus: Int32, Sendable {
    case complete = 0
    /// Something unexpected (a bug, the database unwritable): see the log.
    case internalError = 1
    /// The run wrote nothing: every device source failed, or the snapshot could not be written.
    case failed = 2
    /// The night was written, but some source failed (its devices were carried forward).
    case partial = 3
    /// The snapshot is safe, but exporting it failed.
    case exportFailed = 4
    /// Bad command-line usage.
    case usage = 64
    /// The config file is invalid (the message names the key path).
    case config = 78
}
