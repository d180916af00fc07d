import Foundation
import Logging
import StethoscopeCore
@_spi(Benchmarks) import StethoscopeSources

/// A throwaway PostgreSQL on a private unix socket, stopped when our end of the keeper's stdin closes
/// (the same scheme as Tests/StethoscopeSourcesTests/PostgresCluster.swift).
private final class BenchPostgres {
    let dir = URL(fileURLWithPath: "/tmp/stpgb-\(getpid())")
    let password = "bench-\(UInt32.random(in: 0...UInt32.max))"
    let bin: URL
    let keeper = Process()
    let input = Pipe()

    init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let v = versions.compactMap(Int.init).max() else { throw SourceError("bench", "PostgreSQL is not installed") }
        bin = URL(fileURLWithPath: "/usr/lib/postgresql/\(v)/bin")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        let pw = dir.appendingPathComponent("pw")
        try Data(password.utf8).write(to: pw)
        var owner: String?
        if getuid() == 0 {
            owner = getpwnam("postgres") != nil ? "postgres" : "stethoscope-test"
            if getpwnam(owner!) == nil { try BenchPostgres.run(["/usr/sbin/useradd", "--system", "--no-create-home", owner!]) }
            for p in [dir.path, pw.path] { try FileManager.default.setAttributes([.ownerAccountName: owner!], ofItemAtPath: p) }
        }
        let sudo = owner.map { ["/usr/sbin/runuser", "-u", $0, "--"] } ?? []
        try BenchPostgres.run(sudo + [bin.path + "/initdb", "-D", dir.path + "/data", "-U", "bench", "--pwfile=\(pw.path)",
                                      "--auth=scram-sha-256", "-E", "UTF8", "--no-locale"])
        let script = """
            "$1/pg_ctl" -D "$2/data" -o "-k $2 -p 5434 -c listen_addresses= -c fsync=off" -l "$2/log" -w start >/dev/null || exit 1
            echo ready
            read _
            "$1/pg_ctl" -D "$2/data" -m immediate stop >/dev/null 2>&1
            rm -rf "$2"
            """
        let command = sudo + ["/bin/sh", "-c", script, "keeper", bin.path, dir.path]
        keeper.executableURL = URL(fileURLWithPath: command[0])
        keeper.arguments = Array(command.dropFirst())
        let out = Pipe()
        keeper.standardInput = input
        keeper.standardOutput = out
        try keeper.run()
        guard String(decoding: out.fileHandleForReading.readData(ofLength: 6), as: UTF8.self).hasPrefix("ready") else {
            throw SourceError("bench", "postgres did not start")
        }
    }
    deinit { try? input.fileHandleForWriting.close(); keeper.waitUntilExit() }

    var psqlArgs: [String] { [bin.path + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", dir.path, "-p", "5434", "-U", "bench", "-d", "landesk"] }

    func psql(_ args: [String]) throws { try BenchPostgres.run(psqlArgs + args, environment: ["PGPASSWORD": password]) }

    static func run(_ command: [String], environment: [String: String] = [:]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw SourceError("bench", "\(command[0]) failed") }
    }
}

/// 200,000 LANDESK devices (the preset's six-table join) streamed through unixODBC + psqlodbc into source
/// records, beside `psql -c "COPY (same query) TO STDOUT"` of the same rows in the same run.
func benchODBC() throws {
    let rows = 200_000
    let pg = try BenchPostgres()
    try BenchPostgres.run(pg.psqlArgs.map { $0 == "landesk" ? "postgres" : $0 } + ["-c", "CREATE DATABASE landesk"],
                          environment: ["PGPASSWORD": pg.password])
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/StethoscopeSources/Plugins/sql_inventory/fixtures/landesk.sql")
    try pg.psql(["-f", fixtures.path])
    let n = rows - 7   // the fixture's own devices
    try pg.psql(["-c", """
        INSERT INTO "Computer" SELECT 100000 + g, '{' || md5(g::text) || '}', 'WS-' || g, 'Workstation',
          TIMESTAMP '2026-03-01 00:00:00' + g * INTERVAL '1 second', TIMESTAMP '2026-03-01 00:00:00', TIMESTAMP '2026-02-28 00:00:00'
          FROM generate_series(1, \(n)) g;
        INSERT INTO "LDAPUserAttrV" SELECT 100000 + g, 'user' || g || '@example.com' FROM generate_series(1, \(n)) g;
        INSERT INTO "CompSystem" SELECT 100000 + g, 'Latitude 7440', 'Dell Inc.', 'SN' || g, NULL FROM generate_series(1, \(n)) g;
        INSERT INTO "BitLocker" SELECT 100000 + g, 'C:', CASE WHEN g % 10 = 0 THEN '0 - off' ELSE '1 - on' END,
          '1 - fully encrypted', 100, '7 - XTS-AES 128' FROM generate_series(1, \(n)) g;
        INSERT INTO "OSNT" SELECT 100000 + g, CASE WHEN g % 3 = 0 THEN '19045' ELSE '22631' END, '6.3', '2009' FROM generate_series(1, \(n)) g;
        INSERT INTO "Operating_System" SELECT 100000 + g, 'Microsoft Windows 11 Enterprise Edition, 64-bit' FROM generate_series(1, \(n)) g;
        ANALYZE;
        """])
    let sql = try require(SQLInventoryPresets.sql("landesk", query: "devices"))
    let connection = "Driver=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so;Servername=\(pg.dir.path);Port=5434;Database=landesk;UseDeclareFetch=1;Fetch=10000;ConnSettings=SET cursor_tuple_fraction = 1;"
    let yaml = """
        sources:
          - name: epm
            type: sql_inventory
            preset: landesk
            connection_string: "\(connection)"
            username: bench
            password: "${BENCH_PG_PASSWORD}"
            skip: [adapters, software, findings]
        """
    let config = try StethoscopeConfig.parse(yaml: yaml, environment: ["BENCH_PG_PASSWORD": pg.password])
    let source = try PluginRegistry.plugin(for: config.sources[0]).deviceSource(config.sources[0], PluginEnvironment(logger: Logger(label: "bench")))
    let context = PullContext(asOf: "2026-03-02", now: Date(), figures: FigureCounter(kind: "device", plugin: "sql_inventory"), logger: Logger(label: "bench"))

    let clock = ContinuousClock()
    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    // psql first (warms the server's cache for both), then the source, in turns; best of five each (a shared
    // machine's speed drifts from second to second, and turns expose both to the same drift).
    let bareConnection = connection + "UID=bench;PWD=\(pg.password);"
    var copy = Double.infinity, odbc = Double.infinity, bare = Double.infinity
    var records = 0, bareRows = 0
    for _ in 0..<5 {
        copy = min(copy, seconds(try clock.measure { try pg.psql(["-c", "COPY (\(sql)) TO STDOUT"]) }))
        odbc = min(odbc, seconds(try clock.measure { records = try SQLInventoryPresets.pull(source, context).count }))
        bare = min(bare, seconds(try clock.measure { bareRows = try SQLInventoryPresets.bareFetch(connectionString: bareConnection, sql: sql) }))
    }
    let odbcRate = Double(records) / odbc, copyRate = Double(rows) / copy, bareRate = Double(bareRows) / bare
    print(String(format: "odbc.landesk_rows_per_s=%.0f psql_copy_rows_per_s=%.0f ratio=%.2f rows=%d", odbcRate, copyRate, odbcRate / copyRate, records))
    print(String(format: "odbc.bare_fetch_rows_per_s=%.0f psql_copy_rows_per_s=%.0f ratio=%.2f (driver and server alone)", bareRate, copyRate, bareRate / copyRate))
    let fold = (0..<3).map { _ in SQLInventoryPresets.foldRate(rows: rows) }.max()!
    print(String(format: "odbc.fold_rows_per_s=%.0f (rows into devices and records alone, no driver)", fold))
}

private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw SourceError("bench", "missing value") }
    return value
}
