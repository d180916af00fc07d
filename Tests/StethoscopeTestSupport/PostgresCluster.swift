import Foundation

/// A throwaway PostgreSQL cluster owned by the test process: `initdb` into a private temp folder, a server
/// listening only on a unix socket in that folder, password (SCRAM) authentication.
///
/// The server is started by a small shell "keeper" whose stdin is a pipe of this process: when the test
/// process exits, however it exits, the pipe closes and the keeper stops the server and removes the folder.
/// As root the cluster runs as the `postgres` user (created by the postgresql package), or `stethoscope-test`.
/// The tests and the ODBC benchmark use it alike.
public final class PostgresCluster: @unchecked Sendable {
    public static let user = "stethoscope"
    public static let port = 5433
    public static let driver = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so"
    public static let fixtures = TestPaths.plugins.appendingPathComponent("sql_inventory/fixtures")

    /// One cluster per test process, with the LANDESK- and MECM-shaped databases loaded.
    public static let shared: Result<PostgresCluster, any Error> = Result {
        let c = try PostgresCluster()
        for db in ["landesk", "mecm"] {
            try c.psql("CREATE DATABASE \(db)", database: "postgres")
            try c.psql(file: fixtures.appendingPathComponent("\(db).sql"), database: db)
        }
        return c
    }

    public let dir: URL
    public let password: String
    public let bin: URL
    private let keeper = Process()
    private let keeperInput = Pipe()

    /// `password` defaults to one with `;` and `}` in it, which connection strings must carry quoted; a
    /// benchmark that writes it into a bare connection string passes a plain one.
    public init(password: String? = nil) throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else {
            throw ClusterError("PostgreSQL is not installed (make test installs postgresql and odbc-postgresql)")
        }
        bin = URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin")
        // Short path: a unix socket path must stay under ~100 bytes.
        dir = URL(fileURLWithPath: "/tmp/stpg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        self.password = password ?? "pw;\(UUID().uuidString.prefix(8))}x"
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        let pwfile = dir.appendingPathComponent("pw")
        try Data(self.password.utf8).write(to: pwfile)
        let owner = try PostgresCluster.serverUser()
        if let owner {
            for path in [dir.path, pwfile.path] {
                try FileManager.default.setAttributes([.ownerAccountName: owner], ofItemAtPath: path)
            }
        }
        try PostgresCluster.run(
            PostgresCluster.asUser(
                owner,
                [
                    bin.appendingPathComponent("initdb").path, "-D", dir.path + "/data",
                    "-U", PostgresCluster.user, "--pwfile=\(pwfile.path)", "--auth=scram-sha-256", "-E", "UTF8", "--no-locale"
                ]))
        let script = """
            "$1/pg_ctl" -D "$2/data" -o "-k $2 -p \(PostgresCluster.port) -c listen_addresses= -c fsync=off" -l "$2/log" -w start >/dev/null || exit 1
            echo ready
            read _
            "$1/pg_ctl" -D "$2/data" -m immediate stop >/dev/null 2>&1
            rm -rf "$2"
            """
        let command = PostgresCluster.asUser(owner, ["/bin/sh", "-c", script, "keeper", bin.path, dir.path])
        keeper.executableURL = URL(fileURLWithPath: command[0])
        keeper.arguments = Array(command.dropFirst())
        let out = Pipe()
        keeper.standardInput = keeperInput
        keeper.standardOutput = out
        try keeper.run()
        let line = String(decoding: out.fileHandleForReading.readRetrying(count: 6), as: UTF8.self)
        guard line.hasPrefix("ready") else {
            let log = (try? String(contentsOf: dir.appendingPathComponent("log"), encoding: .utf8)) ?? ""
            throw ClusterError("postgres did not start: \(log.suffix(800))")
        }
    }

    deinit { stop() }

    /// Stops the server and removes its folder (also happens when the test process exits).
    public func stop() {
        try? keeperInput.fileHandleForWriting.close()
        keeper.waitUntilExit()
    }

    /// An ODBC connection string for psqlodbc straight from its driver path (no odbcinst.ini needed).
    /// `UseDeclareFetch=1` makes psqlodbc read through a cursor, `Fetch` rows at a time, instead of
    /// loading the whole result on execute.
    public func connectionString(_ database: String, fetch: Int = 100) -> String {
        "Driver=\(PostgresCluster.driver);Servername=\(dir.path);Port=\(PostgresCluster.port);Database=\(database);UseDeclareFetch=1;Fetch=\(fetch)"
    }

    /// Runs SQL with psql (as the test user over the socket) and returns its unaligned output (nothing when
    /// `discardingOutput`, as a benchmark timing psql's own speed wants).
    @discardableResult
    public func psql(_ sql: String? = nil, file: URL? = nil, database: String, discardingOutput: Bool = false) throws -> String {
        var args = [
            "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", dir.path, "-p", String(PostgresCluster.port),
            "-U", PostgresCluster.user, "-d", database
        ]
        if let sql { args += ["-c", sql] }
        if let file { args += ["-f", file.path] }
        return try PostgresCluster.run(
            [bin.appendingPathComponent("psql").path] + args, environment: ["PGPASSWORD": password],
            discardingOutput: discardingOutput)
    }

    public static func serverUser() throws -> String? {
        guard getuid() == 0 else { return nil }
        if getpwnam("postgres") != nil { return "postgres" }
        if getpwnam("stethoscope-test") == nil {
            try run(["/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "stethoscope-test"])
        }
        return "stethoscope-test"
    }

    public static func asUser(_ user: String?, _ command: [String]) -> [String] {
        guard let user else { return command }
        return ["/usr/sbin/runuser", "-u", user, "--"] + command
    }

    @discardableResult
    public static func run(_ command: [String], environment: [String: String] = [:], discardingOutput: Bool = false) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = discardingOutput ? FileHandle.nullDevice : out
        p.standardError = err
        try p.run()
        let data = discardingOutput ? Data() : out.fileHandleForReading.readAllRetrying()
        let errors = err.fileHandleForReading.readAllRetrying()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ClusterError("\(URL(fileURLWithPath: command[0]).lastPathComponent) failed: \(String(decoding: errors, as: UTF8.self).prefix(800))")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct ClusterError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
