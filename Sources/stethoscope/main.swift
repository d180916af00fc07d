import ArgumentParser
import Foundation
import StethoscopeApp

/// The command line: argument parsing only; every command's logic lives in StethoscopeApp.
@main
struct Stethoscope: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stethoscope",
        abstract: "Nightly device-posture snapshots and trend reports.",
        discussion: """
            Exit codes: 0 complete; 2 failed (nothing written); 3 partial (a source failed, its devices were
            carried forward); 4 export failed; 5 night written but the metrics file not; 6 re-run refused (far fewer
            devices, nothing written); 7 notify failed or a message was not sent (the night is safe); 64 usage error (including --as-of after tomorrow); 75 database locked by another
            process; 78 invalid config; 1 unexpected error.
            """,
        version: StethoscopeVersion.description,
        subcommands: [Run.self, Demo.self, Check.self, Export.self, Notify.self, Report.self, Rollup.self, Migrate.self])

    /// Before anything else: files the process creates (database, WAL, report, metrics) get no world access,
    /// whatever umask cron or a shell gave it (a stricter one is kept).
    static func main() async {
        let inherited = umask(0)
        umask(inherited | 0o027)
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand { try await async.run() } else { try command.run() }
        } catch {
            exit(withError: error)
        }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one night: pull every source, merge, evaluate and write the snapshot to SQLite.")

    @Option(name: .long, help: "The YAML config file.")
    var config: String

    @Option(name: .customLong("as-of"), help: "The night to (re)build, YYYY-MM-DD. Default: today in the config's time zone.")
    var asOf: String?

    @Option(name: .long, help: "The SQLite database. Default: the config's `database`.")
    var db: String?

    @Option(name: .long, help: "Write Prometheus textfile metrics here after the run (atomically when a regular file; exit 5 if it cannot be written).")
    var metrics: String?

    @Flag(name: .customLong("allow-future"), help: "Accept an --as-of after tomorrow (tests; refused with exit 64 otherwise).")
    var allowFuture = false

    @Flag(help: "Replace a stored night even when the re-run found far fewer devices (safety.min_rerun_share).")
    var force = false

    @OptionGroup var lock: LockWait

    @Option(
        name: .customLong("accept-drop"),
        help: "A source whose record count really fell more than max_record_drop since the last complete night (repeatable).")
    var acceptDrop: [String] = []

    func run() async throws {
        let code = await Commands.run(
            configFile: URL(fileURLWithPath: config), asOf: asOf, database: db.map { URL(fileURLWithPath: $0) },
            metricsFile: metrics.map { URL(fileURLWithPath: $0) }, allowFuture: allowFuture, force: force, lockWait: lock.seconds,
            acceptDrop: acceptDrop)
        throw ExitCode(code.rawValue)
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate the built-in demo company and run it for several nights.",
        discussion: "Writes DIR/demo.yaml and DIR/stethoscope.db, then prints per-practice status counts.")

    @Option(help: "People in the demo company.") var people: Int = 2000
    @Option(help: "Nights to run, ending today.") var nights: Int = 60
    @Option(help: "Random seed: the same seed gives the same company.") var seed: Int = 1
    @Option(help: "Output folder.") var out: String = "var/demo"
    @Option(help: "First night (YYYY-MM-DD). Default: so that the last night is today.") var start: String?
    @Flag(inversion: .prefixedNo, help: "Deliver each night's messages to the simulated people, who respond (recorded in the ledger as sent).")
    var responses = true

    func validate() throws {
        guard people >= 20 else { throw ValidationError("--people must be at least 20") }
        guard (1...3650).contains(nights) else { throw ValidationError("--nights must be 1 to 3650") }
    }

    func run() async throws {
        let code = await DemoRunner.run(
            .init(
                people: people, nights: nights, seed: seed,
                out: URL(fileURLWithPath: out), start: start, responses: responses))
        throw ExitCode(code.rawValue)
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade a database to the current schema.")
    @Option(help: "The SQLite database.") var db: String
    func run() throws { throw ExitCode(Commands.migrate(database: URL(fileURLWithPath: db)).rawValue) }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Test connectivity and authentication of every configured source and sink.",
        discussion: "One line per source with the reason on failure; exit 0 when all pass, 2 when any fails, 78 for an invalid config.")

    @Option(help: "The YAML config file.") var config: String
    @Option(help: "The SQLite database. Default: the config's `database`.") var db: String?
    @Option(help: "Seconds to wait for each source.") var timeout: Double = 60

    func validate() throws {
        // Converted to nanoseconds for the wait: out of range it would trap, not time out.
        guard timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be more than 0 and at most 86400 seconds") }
    }

    func run() async throws {
        let (code, lines) = await StethoscopeApp.Check.run(
            configFile: URL(fileURLWithPath: config), database: db.map { URL(fileURLWithPath: $0) }, timeoutSeconds: timeout)
        for line in lines { print(StethoscopeApp.Check.format(line)) }
        throw ExitCode(code.rawValue)
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the static HTML trend report (with CSV and JSON of every table) from the roll-ups.",
        discussion: "Prints the path of the report's index.html. Individual employees appear only with --include-people.")

    @Option(help: "The YAML config file.") var config: String
    @Option(help: "The SQLite database. Default: the config's `database`.") var db: String?
    @Option(help: "Output folder. Default: the config's `report.out`, else `report/` next to the config.") var out: String?
    @Option(help: "Nights shown, ending with --as-of. Default: the config's `report.nights`, else 90.") var nights: Int?
    @Option(name: .customLong("as-of"), help: "The last night shown, YYYY-MM-DD. Default: the newest night.") var asOf: String?
    @Flag(name: .customLong("include-people"), help: "List individual employees' devices (off: managers and organizations only).")
    var includePeople = false
    @Option(name: .customLong("org-chart"), help: "night: each night under its own org chart; current: history under today's.")
    var orgChart: String = "night"

    func validate() throws {
        if let nights, !(1...3650).contains(nights) { throw ValidationError("--nights must be 1 to 3650") }
    }

    func run() throws {
        let code = Commands.report(
            configFile: URL(fileURLWithPath: config), database: db.map { URL(fileURLWithPath: $0) },
            out: out.map { URL(fileURLWithPath: $0) }, nights: nights, asOf: asOf, includePeople: includePeople, chart: orgChart)
        throw ExitCode(code.rawValue)
    }
}

struct Rollup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute the roll-ups of every night that still has per-device detail.")

    @Flag(help: "Rebuild all nights (required: roll-ups of single nights are computed by `run`).") var rebuild = false
    @Option(help: "The YAML config file.") var config: String
    @Option(help: "The SQLite database. Default: the config's `database`.") var db: String?
    @Option(name: .customLong("org-chart"), help: "night: each night under its own org chart; current: history under today's.")
    var orgChart: String = "night"

    func validate() throws {
        guard rebuild else { throw ValidationError("nothing to do: pass --rebuild") }
    }

    func run() throws {
        let code = Commands.rollup(
            configFile: URL(fileURLWithPath: config), database: db.map { URL(fileURLWithPath: $0) },
            chart: orgChart)
        throw ExitCode(code.rawValue)
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send nights from SQLite to Elasticsearch/OpenSearch (_bulk), resuming where an export stopped.",
        discussion: """
            --as-of re-sends a night (or resumes it when its last export stopped part-way); --since exports every
            night from DATE on whose export is missing or failed. Exit 4 when an export failed or documents were rejected.
            """)

    @Option(name: .long, help: "The YAML config file (its export.elasticsearch section).")
    var config: String

    @Option(name: .long, help: "The SQLite database. Default: the config's `database`.")
    var db: String?

    @Option(name: .customLong("as-of"), help: "The night to export, YYYY-MM-DD.")
    var asOf: String?

    @Option(name: .long, help: "Export every night on or after this date (YYYY-MM-DD) not yet exported.")
    var since: String?

    @Flag(name: .customLong("install-template"), help: "Install or update the index template first.")
    var installTemplate = false

    @OptionGroup var lock: LockWait

    func validate() throws {
        if asOf != nil && since != nil { throw ValidationError("give --as-of or --since, not both") }
        if asOf == nil && since == nil && !installTemplate {
            throw ValidationError("give --as-of DATE, --since DATE or --install-template")
        }
    }

    func run() async throws {
        let code = await Commands.export(
            configFile: URL(fileURLWithPath: config), database: db.map { URL(fileURLWithPath: $0) }, asOf: asOf,
            since: since, installTemplate: installTemplate, lockWait: lock.seconds)
        throw ExitCode(code.rawValue)
    }
}

struct Notify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Email each person what to fix on their devices, run campaigns and weekly manager digests (notify:).",
        discussion: """
            Reads a committed night and never changes it. The notifications ledger makes it idempotent: a re-run never
            sends a message twice. --dry-run --out DIR writes .eml files and an index.html preview and sends nothing.
            Exit 7 when a message was not sent or notify failed; 78 invalid config; 75 database locked.
            """)

    @Option(help: "The YAML config file (its notify section).") var config: String
    @Option(help: "The SQLite database. Default: the config's `database`.") var db: String?
    @Option(name: .customLong("as-of"), help: "The night to notify, YYYY-MM-DD. Default: the newest night.") var asOf: String?
    @Flag(name: .customLong("dry-run"), help: "Send nothing and record nothing: write the messages to --out.") var dryRun = false
    @Option(help: "With --dry-run: the folder for the .eml files and index.html.") var out: String?
    @OptionGroup var lock: LockWait

    func validate() throws {
        if dryRun != (out != nil) { throw ValidationError("--dry-run and --out DIR go together") }
    }

    func run() async throws {
        let code = await Commands.notify(
            configFile: URL(fileURLWithPath: config), database: db.map { URL(fileURLWithPath: $0) }, asOf: asOf,
            dryRunOut: out.map { URL(fileURLWithPath: $0) }, lockWait: lock.seconds)
        throw ExitCode(code.rawValue)
    }
}

/// `--lock-wait`, shared by the commands that write the database.
struct LockWait: ParsableArguments {
    @Option(
        name: .customLong("lock-wait"),
        help: "Seconds to wait for another process's lock on the database, then exit 75. Default: the config's safety.lock_wait_s, else 600.")
    var seconds: Double?

    func validate() throws {
        if let seconds, !(0...86_400).contains(seconds) { throw ValidationError("--lock-wait must be 0 to 86400 seconds") }
    }
}
