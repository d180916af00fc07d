import Foundation
import Logging
import StethoscopeCore
@_spi(Benchmarks) import StethoscopeSources
import StethoscopeTestSupport

/// 200,000 LANDESK devices (the preset's six-table join) streamed through unixODBC + psqlodbc into source
/// records, beside `psql -c "COPY (same query) TO STDOUT"` of the same rows in the same run.
func benchODBC() throws {
    let rows = 200_000
    // The tests' cluster (Tests/StethoscopeTestSupport), with a password a bare connection string can carry.
    let pg = try PostgresCluster(password: "bench-\(UInt32.random(in: 0...UInt32.max))")
    try pg.psql("CREATE DATABASE landesk", database: "postgres")
    try pg.psql(file: TestPaths.fixture("sql_inventory", "landesk.sql"), database: "landesk")
    let n = rows - 7  // the fixture's own devices
    try pg.psql(
        """
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
        """, database: "landesk")
    let sql = try require(SQLInventoryPresets.sql("landesk", query: "devices"))
    let connection = pg.connectionString("landesk", fetch: 10000) + ";ConnSettings=SET cursor_tuple_fraction = 1;"
    let yaml = """
        sources:
          - name: epm
            type: sql_inventory
            preset: landesk
            connection_string: "\(connection)"
            username: \(PostgresCluster.user)
            password: "${BENCH_PG_PASSWORD}"
            skip: [adapters, software, findings]
        """
    let config = try StethoscopeConfig.parse(yaml: yaml, environment: ["BENCH_PG_PASSWORD": pg.password])
    let source = try PluginRegistry.plugin(for: config.sources[0]).deviceSource(config.sources[0], PluginEnvironment(logger: Logger(label: "bench")))
    let context = PullContext(asOf: "2026-03-02", now: Date(), figures: FigureCounter(kind: "device", plugin: "sql_inventory"), logger: Logger(label: "bench"))

    let clock = ContinuousClock()
    func seconds(_ d: Duration) -> Double { d.seconds }
    // psql first (warms the server's cache for both), then the source, in turns; best of five each (a shared
    // machine's speed drifts from second to second, and turns expose both to the same drift).
    let bareConnection = connection + "UID=\(PostgresCluster.user);PWD=\(pg.password);"
    var copy = Double.infinity
    var odbc = Double.infinity
    var bare = Double.infinity
    var records = 0
    var bareRows = 0
    for _ in 0..<5 {
        copy = min(copy, seconds(try clock.measure { try pg.psql("COPY (\(sql)) TO STDOUT", database: "landesk", discardingOutput: true) }))
        odbc = min(odbc, seconds(try clock.measure { records = try SQLInventoryPresets.pull(source, context).count }))
        bare = min(bare, seconds(try clock.measure { bareRows = try SQLInventoryPresets.bareFetch(connectionString: bareConnection, sql: sql) }))
    }
    let odbcRate = Double(records) / odbc
    let copyRate = Double(rows) / copy
    let bareRate = Double(bareRows) / bare
    print(String(format: "odbc.landesk_rows_per_s=%.0f psql_copy_rows_per_s=%.0f ratio=%.2f rows=%d", odbcRate, copyRate, odbcRate / copyRate, records))
    print(
        String(
            format: "odbc.bare_fetch_rows_per_s=%.0f psql_copy_rows_per_s=%.0f ratio=%.2f (driver and server alone)", bareRate, copyRate, bareRate / copyRate))
    let fold = (0..<3).map { _ in SQLInventoryPresets.foldRate(rows: rows) }.max()!
    print(String(format: "odbc.fold_rows_per_s=%.0f (rows into devices and records alone, no driver)", fold))
}

private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw SourceError("bench", "missing value") }
    return value
}
