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
    /// The night committed (complete), but the `--metrics` file could not be written: a warning, the night is safe.
    case metricsNotWritten = 5
    /// Nothing written: the re-run would have replaced a stored night with far fewer devices (`--force` replaces it).
    case rerunRefused = 6
    /// The snapshot is safe, but notify failed or some message was not sent (README, "Nudges").
    case notifyFailed = 7
    /// The night committed complete (and exported, if configured), but a `webhooks:` post failed after its retries.
    case webhookFailed = 8
    /// Bad command-line usage.
    case usage = 64
    /// Another process held the database's lock for longer than `safety.lock_wait_s` (EX_TEMPFAIL).
    case lockHeld = 75
    /// The config file is invalid (the message names the key path).
    case config = 78
}
