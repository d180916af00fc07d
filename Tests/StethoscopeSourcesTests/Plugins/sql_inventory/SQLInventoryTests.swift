import Foundation
import Logging
import StethoscopeCore
import Testing

@testable import StethoscopeSources

/// The SQL inventory source against a real PostgreSQL through unixODBC and psqlodbc.
@Suite struct SQLInventoryTests {
    let cluster: PostgresCluster

    init() throws { cluster = try PostgresCluster.shared.get() }

    func source(_ database: String, _ extra: String, password: String? = nil, fetch: Int = 2) throws -> any DeviceSource {
        let yaml = """
            sources:
              - name: epm
                type: sql_inventory
                connection_string: "\(cluster.connectionString(database, fetch: fetch))"
                username: \(PostgresCluster.user)
                password: "${PG_TEST_PASSWORD}"
            \(extra.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """
        let config = try StethoscopeConfig.parse(yaml: yaml, environment: ["PG_TEST_PASSWORD": password ?? cluster.password])
        return try PluginRegistry.plugin(for: config.sources[0]).deviceSource(config.sources[0], PluginEnvironment(logger: Logger(label: "test")))
    }

    func pullContext(_ figures: FigureCounter = FigureCounter(kind: "device", plugin: "sql_inventory")) -> PullContext {
        PullContext(asOf: "2026-03-02", now: Date(timeIntervalSince1970: 1_772_450_000), figures: figures, logger: Logger(label: "test"))
    }

    func observation(_ r: SourceRecord, _ practice: String) -> Observation? { r.observations.first { $0.practice == practice } }
    func ids(_ r: SourceRecord, _ kind: IdentifierKind) -> [String] { r.identifiers.filter { $0.kind == kind }.map(\.value) }

    /// Merges and evaluates like the nightly run, with the shipped practices (Carbon Black included).
    func evaluate(_ records: [SourceRecord]) -> [DeviceSnapshot] {
        let merged = DeviceMerger().merge(records)
        let people = OrgChart([Person(email: "kwong@example.com", name: "K Wong"), Person(email: "asa.lindqvist@example.com", name: "Åsa")])
        let e = NightEvaluator(
            practices: .defaults, asOf: "2026-03-02", now: Date(timeIntervalSince1970: 1_772_450_000),
            staleAfterDays: 14, orgChart: people)
        return merged.groups.map { e.evaluate($0, records) }
    }

    func result(_ devices: [DeviceSnapshot], _ name: String, _ practice: String) -> PracticeResult? {
        devices.first { $0.deviceName == name }?.results.first { $0.practice == practice }
    }

    /// Text read as the driver's UTF-8 (`auto` picks it for psqlodbcw) and as UTF-16 gives the same devices.
    @Test(arguments: ["text_encoding: auto", "text_encoding: utf8", "text_encoding: utf16"])
    func landeskPresetStreamsDevicesWithNullsDuplicatesAndUnicode(_ encoding: String) async throws {
        let figures = FigureCounter(kind: "device", plugin: "sql_inventory")
        let records = try await source("landesk", "preset: landesk\ndatabase_timezone: America/Los_Angeles\n\(encoding)").pull(pullContext(figures))
        #expect(records.map(\.localID).sorted() == ["4411", "4412", "4413", "4414", "4415", "4416", "4417"])  // orphan adapter 9999 left out
        #expect(figures.snapshot().records == 7)
        #expect(figures.snapshot().requests == 4)

        let kwong = try #require(records.first { $0.localID == "4411" })
        #expect(kwong.deviceName == "LGWL-KWONG" && kwong.model == "ThinkPad T14 Gen 3" && kwong.platform == .windows)
        #expect(ids(kwong, .serial) == ["PF3XYZ12"] && ids(kwong, .deviceID) == ["{1A2B3C4D-5E6F-7081-92A3-B4C5D6E7F809}"])
        #expect(Set(ids(kwong, .mac)) == ["5C879C112233", "0A0027000012"])
        #expect(kwong.ownerHints == [OwnerHint(.email, "kwong@example.com")])
        #expect(kwong.osVersion == "10.0.22631" && kwong.osName == "Microsoft Windows 11 Enterprise Edition, 64-bit")
        // 17:22:05 Pacific (naive in the database) is 01:22:05 UTC the next day.
        #expect(kwong.lastSync == ISO8601DateFormatter().date(from: "2026-03-02T01:22:05Z"))
        #expect(observation(kwong, "encryption")?.satisfied == true)
        #expect(observation(kwong, "firewall")?.satisfied == true)  // "Not Installed" adapters are no reading
        #expect(observation(kwong, "screen_lock")?.satisfied == true)
        #expect(kwong.software?.count == 2)  // the duplicate suite row counted once

        let zoe = try #require(records.first { $0.localID == "4412" })
        #expect(zoe.deviceName == "ZOË-MÜLLER-東京")
        #expect(ids(zoe, .serial) == ["8HJK2L3"])  // CHAR padding and spaces trimmed
        #expect(zoe.ownerHints.count == 1)  // duplicate LDAP rows
        #expect(zoe.osVersion == "10.0.19045")
        #expect(observation(zoe, "encryption")?.satisfied == false)
        #expect(observation(zoe, "firewall")?.satisfied == false)
        let lock = try #require(observation(zoe, "screen_lock"))
        #expect(lock.satisfied == false && lock.value == "finding ST000202")
        #expect(lock.details?.hasPrefix("zoe: screensaver off; øøø") == true)
        #expect(zoe.software?.first?.name == "Microsoft Office 365 – Ελληνικά")

        let empty = try #require(records.first { $0.localID == "4413" })
        #expect(empty.deviceName == nil && empty.osVersion == nil && empty.identifiers.isEmpty && empty.lastSync == nil)
        #expect(observation(empty, "encryption") == nil)

        let win7 = try #require(records.first { $0.localID == "4414" })
        #expect(win7.osVersion == "6.1.7601" && observation(win7, "auto_updates")?.satisfied == false)
        #expect(records.first { $0.localID == "4415" }?.osVersion == "10.0.18363")  // release id 1909 only
        #expect(observation(try #require(records.first { $0.localID == "4415" }), "encryption")?.satisfied == false)  // D: at 50.5 %
        #expect(records.first { $0.localID == "4416" }?.osVersion == "10.0.26100.2605")
        #expect(observation(try #require(records.first { $0.localID == "4417" }), "encryption")?.satisfied == nil)  // "2 - unknown"

        let devices = evaluate(records)
        #expect(devices.count == 6)  // 4415 and 4416 share a serial: one device
        #expect(result(devices, "LGWL-KWONG", "encryption")?.status == .ok)
        #expect(result(devices, "LGWL-KWONG", "os_version")?.status == .ok)
        #expect(result(devices, "LGWL-KWONG", "carbon_black")?.status == .ok)
        #expect(devices.first { $0.deviceName == "LGWL-KWONG" }?.owner == "kwong@example.com")
        #expect(result(devices, "ZOË-MÜLLER-東京", "encryption")?.status == .warn)
        #expect(result(devices, "ZOË-MÜLLER-東京", "os_version")?.status == .nudge)
        #expect(result(devices, "ZOË-MÜLLER-東京", "os_version")?.details == "below recommended 10.0.22631 (Windows 11 23H2)")
        #expect(result(devices, "ZOË-MÜLLER-東京", "screen_lock")?.status == .warn)
        #expect(result(devices, "ZOË-MÜLLER-東京", "carbon_black")?.status == .warn)
        #expect(result(devices, "OLD-WIN7", "os_version")?.status == .warn)
        #expect(result(devices, "OLD-WIN7", "os_version")?.details?.hasPrefix("unsupported Windows: Windows 7 (6.1.7601)") == true)
        #expect(result(devices, "OLD-WIN7", "auto_updates")?.status == .nudge)
        #expect(result(devices, "REIMAGED-B", "os_version")?.status == .ok)
        #expect(result(devices, "OLD-SENSOR", "carbon_black")?.details == "below minimum 3.6")
        #expect(result(devices, "OLD-SENSOR", "encryption")?.status == .unknown)
    }

    @Test func mecmPresetReadsTheDocumentedViews() async throws {
        let records = try await source("mecm", "preset: mecm").pull(pullContext())
        #expect(records.map(\.localID).sorted() == ["16777220", "16777221", "16777223"])  // obsolete 16777222 left out
        let asa = try #require(records.first { $0.localID == "16777220" })
        #expect(asa.deviceName == "WS-ÅSA" && asa.model == "HP EliteBook 840 G10" && ids(asa, .serial) == ["MXL1234ABC"])
        #expect(asa.ownerHints == [OwnerHint(.email, "asa.lindqvist@example.com"), OwnerHint(.upn, "asa@corp.example.com"), OwnerHint(.username, "asa")])
        #expect(ids(asa, .mac) == ["00:1A:2B:3C:4D:5E"] && ids(asa, .deviceID) == ["GUID:5D4C3B2A-0000-4000-8000-000000000001"])
        #expect(asa.osVersion == "10.0.22631")
        #expect(observation(asa, "encryption")?.satisfied == true)  // only C: counts
        #expect(observation(asa, "firewall")?.satisfied == true)  // productState 0x41000
        #expect(asa.software?.contains { $0.name == "SentinelOne Agent" && $0.version == "23.4.2.14" } == true)
        let legacy = try #require(records.first { $0.localID == "16777221" })
        #expect(ids(legacy, .mac).count == 2 && legacy.ownerHints.count == 3)  // duplicate v_R_User rows fold
        #expect(observation(legacy, "encryption")?.satisfied == false && observation(legacy, "firewall")?.satisfied == false)
        let noinv = try #require(records.first { $0.localID == "16777223" })
        #expect(noinv.osVersion == nil && observation(noinv, "encryption")?.satisfied == nil && noinv.software == [])

        let devices = evaluate(records)
        #expect(result(devices, "WS-ÅSA", "os_version")?.status == .ok)
        #expect(result(devices, "WS-LEGACY", "os_version")?.status == .warn)
        #expect(result(devices, "WS-LEGACY", "os_version")?.details == "below required 10.0.19045 (Windows 10 22H2)")
        #expect(result(devices, "WS-LEGACY", "firewall")?.status == .warn)
        #expect(result(devices, "WS-NOINV", "encryption")?.status == .unknown)
        #expect(result(devices, "WS-NOINV", "os_version")?.status == .unknown)
    }

    @Test func customQueryWithLongValuesAndOddTypes() async throws {
        let records = try await source(
            "landesk",
            """
            preset: custom
            platform: Windows
            query: "SELECT 7 AS id, repeat('ø', 3000) || 'END' AS name, CAST(12.50 AS numeric(6,2)) AS n, TRUE AS fw, CAST('2026-03-01 10:00:00+02' AS timestamptz) AS seen, CAST(NULL AS text) AS nothing, '\\\\x00ff'::bytea AS raw"
            columns: {id: id, name: name, model: n, firewall: fw, last_sync: seen, serial: nothing, manufacturer: raw}
            """
        ).pull(pullContext())
        let r = try #require(records.first)
        #expect(r.deviceName?.count == 3003 && r.deviceName?.hasSuffix("øEND") == true)  // read in growing pieces
        #expect(r.model == "12.50" && observation(r, "firewall")?.satisfied == true)
        #expect(r.lastSync == ISO8601DateFormatter().date(from: "2026-03-01T08:00:00Z"))
        #expect(r.identifiers.isEmpty && r.software == nil)
        #expect(r.platform == .windows)
    }

    /// Unbounded varchar is declared with a nominal size by psqlodbc: a longer value is still read whole.
    @Test(arguments: ["utf8", "utf16"])
    func valuesLongerThanTheDeclaredSizeAreReadWhole(_ encoding: String) async throws {
        let figures = FigureCounter(kind: "device", plugin: "sql_inventory")
        let records = try await source(
            "landesk",
            """
            preset: custom
            text_encoding: \(encoding)
            query: "SELECT g AS id, CAST(repeat('aé', 600 + g) AS varchar) AS name, CAST(NULL AS varchar(20)) AS serial FROM generate_series(1, 900) AS g"
            columns: {id: id, name: name, serial: serial}
            """
        ).pull(pullContext(figures))
        #expect(records.count == 900)
        #expect(records.allSatisfy { $0.deviceName == String(repeating: "aé", count: 600 + Int($0.localID)!) && $0.identifiers.isEmpty })
        #expect(figures.snapshot().rejected == 0)
    }

    @Test func wrongPasswordNamesTheSourceAndHidesThePassword() async throws {
        let wrong = "not-the;password}"
        let error = try await #require(throws: SourceError.self) {
            try await source("landesk", "preset: landesk", password: wrong).pull(pullContext())
        }
        #expect(error.source == "epm")
        #expect(error.message.contains("password authentication failed"))
        #expect(!error.message.contains(wrong) && !error.message.contains(cluster.password))
    }

    @Test func queryErrorCarriesTheDatabaseDiagnostic() async throws {
        let figures = FigureCounter(kind: "device", plugin: "sql_inventory")
        let error = try await #require(throws: SourceError.self) {
            try await source("landesk", "preset: custom\nquery: SELECT \"Computer_Idn\" FROM \"NoSuchTable\"\ncolumns: {id: Computer_Idn}").pull(
                pullContext(figures))
        }
        #expect(error.description.hasPrefix("epm: query 'devices' query failed: [42P01]"))
        #expect(error.message.contains("NoSuchTable"))
        #expect(figures.snapshot().errors["query"] == 1)
    }

    @Test func aMissingColumnIsNamed() async throws {
        let error = try await #require(throws: SourceError.self) {
            try await source("landesk", "preset: landesk\ncolumns: {serial: SERIAL_NUMBER}").pull(pullContext())
        }
        #expect(error.message.contains("has no column SERIAL_NUMBER (for serial)"))
    }

    /// The backend is terminated from a second connection while rows are still being fetched: the rows
    /// before the stall had already arrived (so the source streams), and the pull fails naming the fetch.
    @Test func droppedConnectionMidStream() async throws {
        let figures = FigureCounter(kind: "device", plugin: "sql_inventory")
        let source = try source(
            "landesk",
            """
            preset: custom
            query: "SELECT g AS id, CASE WHEN g = 3000 THEN CAST(pg_sleep(60) AS text) ELSE 'x' END AS name FROM generate_series(1, 5000) AS g"
            columns: {id: id, name: name}
            """, fetch: 100)
        let context = pullContext(figures)
        let pull = Task { try await source.pull(context) }
        let deadline = Date().addingTimeInterval(120)  // generous: CI runs every suite at once on 2 cores
        var terminated = ""
        while Date() < deadline {
            if figures.snapshot().records >= 2000 {
                terminated = try cluster.psql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = 'landesk'", database: "postgres")
                if terminated == "1" { break }
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(terminated == "1")
        let error = try await #require(throws: SourceError.self) { try await pull.value }
        #expect(error.message.hasPrefix("query 'devices' fetch failed after 2"))
        #expect(error.message.contains("terminating connection") || error.message.contains("connection"))
    }

    /// A caller that stops reading mid-result (its row handler threw) stops the fetching thread too, and the
    /// connection serves the next query.
    @Test func stoppingMidResultStopsTheFetcher() throws {
        struct Enough: Error {}
        let c = try ODBCConnection(
            connectionString: cluster.connectionString("landesk") + ";UID=\(PostgresCluster.user);PWD=\(SQLInventorySource.braced(cluster.password));",
            loginTimeout: 30, redact: nil)
        var seen = 0
        #expect(throws: Enough.self) {
            try c.query("SELECT g AS id, 'x' AS name FROM generate_series(1, 200000) AS g", timeout: 0) { _ in
                seen += 1
                if seen == 1000 { throw Enough() }
            }
        }
        #expect(seen == 1000)
        var count = ""
        try c.query(#"SELECT COUNT(*) FROM "Computer""#, timeout: 0) { count = try $0.text(0) ?? "" }
        #expect(count == "7")
    }

    @Test func configMistakesAreRejected() throws {
        #expect(throws: ConfigError.self) { try source("landesk", "preset: custom") }  // no query
        #expect(throws: ConfigError.self) { try source("landesk", "preset: landesk\ncolumns: {colour: X}") }  // unknown field
        #expect(throws: ConfigError.self) { try source("landesk", "preset: landesk\nskip: [devices]") }
        #expect(throws: ConfigError.self) { try source("landesk", "preset: landesk\ntext_encoding: latin1") }
        #expect(throws: ConfigError.self) { try source("landesk", "preset: landesk\nqueries: {extra: {sql: SELECT 1}}") }  // no id
        let yaml = """
            sources:
              - {name: x, type: sql_inventory, preset: mecm, connection_string: "DSN=cm;PWD=oops"}
            """
        #expect(throws: ConfigError.self) {
            let c = try StethoscopeConfig.parse(yaml: yaml, environment: [:])
            _ = try PluginRegistry.plugin(for: c.sources[0]).deviceSource(c.sources[0], PluginEnvironment(logger: Logger(label: "t")))
        }
    }

    @Test func checkCountsTheMainTable() async throws {
        let summary = try await source("mecm", "preset: mecm").check(pullContext())
        #expect(summary.hasPrefix("ok: 4 devices (mecm on PostgreSQL"))
    }
}
