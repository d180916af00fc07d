import Foundation
import Logging
import StethoscopeCore
import StethoscopeReport
import StethoscopeStore
import Testing

@testable import StethoscopeApp

/// Devices from a fixture inventory file (id, platform, serial, MACs): the night's devices come from here, and the
/// owners from the auth logs.
struct FixtureInventory: DeviceSource {
    let name = "inventory"
    let file: URL
    struct Device: Decodable {
        var id: String
        var platform: String
        var serial: String
        var macs: [String]
        var name: String?
    }
    func pull(_ context: PullContext) async throws -> [SourceRecord] {
        let list = try JSONDecoder().decode([Device].self, from: Data(contentsOf: file))
        context.figures.page(records: list.count)
        return list.map { d in
            SourceRecord(
                source: name, localID: d.id, platform: Platform(lenient: d.platform), deviceName: d.name,
                identifiers: [RawIdentifier(.serial, d.serial)] + d.macs.map { RawIdentifier(.mac, $0) },
                lastSync: context.now.addingTimeInterval(-3600))
        }
    }
}

/// FreeRADIUS started by the test as the current user on a loopback port, with a config written to a temporary
/// folder: accounting requests go through its `detail` module into that folder.
final class FreeRADIUS {
    let dir: URL
    let port: Int
    let process = Process()
    let stdin = Pipe()
    var acct: URL { dir.appendingPathComponent("radacct") }

    init() throws {
        dir = try temporaryDirectory("freeradius")
        port = 20_000 + Int(getpid() % 20_000) + Int.random(in: 0..<5_000)
        try FileManager.default.createDirectory(at: acct, withIntermediateDirectories: true)
        let d = dir.path
        try """
        prefix = /usr
        name = radiusd
        confdir = \(d)
        logdir = \(d)
        run_dir = \(d)
        libdir = /usr/lib/freeradius
        pidfile = \(d)/radiusd.pid
        radacctdir = \(d)/radacct
        log {
        \tdestination = stdout
        }
        security {
        \tallow_core_dumps = no
        \tallow_vulnerable_openssl = yes
        }
        client local {
        \tipaddr = 127.0.0.1
        \tsecret = testing123
        }
        modules {
        \tdetail {
        \t\tfilename = ${radacctdir}/ap-1/detail-%Y%m%d
        \t\tescape_filenames = no
        \t\tpermissions = 0600
        \t\theader = "%t"
        \t}
        }
        server default {
        \tlisten {
        \t\ttype = acct
        \t\tipaddr = 127.0.0.1
        \t\tport = \(port)
        \t}
        \tpreacct {
        \t}
        \taccounting {
        \t\tdetail
        \t}
        }

        """.write(to: dir.appendingPathComponent("radiusd.conf"), atomically: true, encoding: .utf8)
        // Children of the test runner inherit its blocked signals: the wrapper kills the server when stdin closes.
        let log = dir.appendingPathComponent("radiusd.out")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            "-c", "\"$@\" & pid=$!; read -r _; kill -9 $pid; wait", "radiusd",
            "/usr/sbin/freeradius", "-d", d, "-n", "radiusd", "-f", "-l", "stdout"
        ]
        process.standardInput = stdin
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = process.standardOutput
        try process.run()
        for _ in 0..<100 {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("Ready to process requests") { return }
            if !process.isRunning { break }
            usleep(100_000)
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        stop()
        throw SourceError("freeradius", "did not start: \(text.suffix(800))")
    }

    /// Sends Accounting-Request packets (radclient's input format: attribute lines, packets separated by blank lines).
    func send(_ packets: [String]) throws {
        let file = dir.appendingPathComponent("packets-\(UUID().uuidString.prefix(6)).txt")
        try packets.joined(separator: "\n\n").appending("\n").write(to: file, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/radclient")
        p.arguments = ["-q", "-r", "3", "-t", "2", "-f", file.path, "127.0.0.1:\(port)", "acct", "testing123"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readAllRetrying(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw SourceError("radclient", "exit \(p.terminationStatus): \(text.suffix(600))") }
    }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

@Suite struct AuthLogsTests {
    static let fixtures = TestPaths.plugins.appendingPathComponent("auth_logs/fixtures")
    static let asOf = "2026-11-30"
    static let now = ISO8601DateFormatter().date(from: "2026-11-30T23:59:59Z")!
    /// Noon UTC, `ago` days before the night.
    static func day(_ ago: Int, hour: Int = 12) -> Int { Int(now.timeIntervalSince1970) - 86_399 + hour * 3600 - ago * 86_400 }

    static func packet(_ user: String, _ mac: String, _ time: Int, status: String = "Interim-Update") -> String {
        """
        User-Name = "\(user)"
        Acct-Status-Type = \(status)
        Calling-Station-Id = "\(mac)"
        Called-Station-Id = "AC-DE-48-00-11-22:corp-wifi"
        Acct-Session-Id = "\(UUID().uuidString.prefix(12))"
        NAS-IP-Address = 127.0.0.1
        Event-Timestamp = \(time)
        """
    }

    /// Runs the night of `asOf` with devices from the fixture inventory, the fixture directory and `attribution`.
    func night(
        _ dir: URL, attribution: String, db: URL? = nil, inventory: URL? = nil, asOf: String = Self.asOf,
        now: Date = Self.now
    ) async throws -> (RunOutcome, Database) {
        let config = dir.appendingPathComponent("config.yaml")
        try """
        timezone: UTC
        directory: {type: csv_directory, path: \(Self.fixtures.path)/people.csv, organization_field: Department,
                    columns: {email: Work Email, name: Full Name, manager: Manager Email}}
        sources:
          - {name: inventory, type: osquery, paths: [unused.log], queries: {q: encryption}}
        attribution:
        \(attribution)
        """.write(to: config, atomically: true, encoding: .utf8)
        var nightly = try NightlyRun.prepare(configFile: config, logger: Logger(label: "test"))
        nightly.plugins.sources = [("fixture", FixtureInventory(file: inventory ?? Self.fixtures.appendingPathComponent("inventory.json")))]
        let store = try SnapshotStore(path: db ?? dir.appendingPathComponent("s.db"))
        let outcome = try await nightly.run(asOf: asOf, now: now, store: store)
        return (outcome, store.database)
    }

    @Test func ownersSharedDevicesRejectedMACsAndUnmanagedFromARealFreeRADIUS() async throws {
        let radius = try FreeRADIUS()
        var packets: [String] = []
        // M1: alice 5 days, bob 1 day (17%, below the shared share): alice's.
        for ago in 1...5 { packets.append(Self.packet("alice@example.com", "3C-22-FB-00-00-01", Self.day(ago))) }
        packets.append(Self.packet("alice@example.com", "3C-22-FB-00-00-01", Self.day(3, hour: 18), status: "Stop"))
        packets.append(Self.packet("bob@example.com", "3C-22-FB-00-00-01", Self.day(6)))
        // M2: alice and carol 3 days each: shared, given to neither.
        for ago in [2, 4, 6] { packets.append(Self.packet("alice@example.com", "3c:22:fb:00:00:02", Self.day(ago))) }
        for ago in [1, 3, 5] { packets.append(Self.packet("carol@example.com", "3c:22:fb:00:00:02", Self.day(ago))) }
        // M3 in Cisco notation, by a DOMAIN\user name: dave through the directory's usernames.
        for ago in [7, 8] { packets.append(Self.packet(#"EXAMPLE\\dave"#, "3c22.fb00.0003", Self.day(ago))) }
        // A randomized (locally administered) MAC: rejected.
        packets.append(Self.packet("alice@example.com", "DA-A1-19-00-00-04", Self.day(1)))
        // An unknown user on a device no inventory has, and on one it has.
        packets.append(Self.packet("mallory@example.com", "3C-22-FB-00-00-05", Self.day(2)))
        packets.append(Self.packet("mallory@example.com", "3C-22-FB-00-00-06", Self.day(2)))
        // BYOD devices known only to the network: bob's and carol's phones.
        for ago in [1, 2, 9] { packets.append(Self.packet("bob@example.com", "3C-22-FB-00-00-07", Self.day(ago))) }
        packets.append(Self.packet("carol@example.com", "3C-22-FB-00-00-08", Self.day(4)))
        // Outside the 30-day window: not seen.
        packets.append(Self.packet("bob@example.com", "3C-22-FB-00-00-09", Self.day(40)))
        // Four users one day each (25% each, none above the share): the most recent one, dave.
        for (ago, user) in [(4, "alice"), (3, "bob"), (2, "carol"), (1, "dave")] {
            packets.append(Self.packet("\(user)@example.com", "3C-22-FB-00-00-10", Self.day(ago)))
        }
        // The access point's own restart: no user, no device.
        packets.append("Acct-Status-Type = Accounting-On\nNAS-IP-Address = 127.0.0.1\nEvent-Timestamp = \(Self.day(1))")
        defer { radius.stop() }
        try radius.send(packets)
        radius.stop()
        let written = try FileManager.default.contentsOfDirectory(atPath: radius.acct.appendingPathComponent("ap-1").path)
        #expect(written.count == 1 && written[0].hasPrefix("detail-"))

        let (outcome, db) = try await night(
            radius.dir,
            attribution: """
                  - {name: wifi, type: auth_logs, paths: ["\(radius.acct.path)/*/detail-*"]}
                """)
        #expect(outcome.status == .complete)
        let owners = try db.rows(
            """
            SELECT k.device_key, d.owner, d.owner_method, d.owner_via, d.owner_reason FROM devices d
            JOIN device_keys k USING (device_id) ORDER BY 1
            """)
        #expect(
            owners == [
                ["serial:C02BYOD00001", "alice@example.com", "auth_logs", "wifi", nil],
                ["serial:C02DOMAIN003", "dave@example.com", "auth_logs", "wifi", nil],
                ["serial:C02NOMACS011", nil, "none", nil, nil],
                ["serial:C02TIEDEV010", "dave@example.com", "auth_logs", "wifi", nil],
                ["serial:LNXUNKNOWN06", nil, "none", nil, nil],
                ["serial:PF2SHARED002", nil, "none", nil, "shared"]
            ])
        let evidence = try db.rows(
            """
            SELECT device_key, via, owner_method, days, user_days, last_seen, shared, shared_with FROM owner_evidence ORDER BY 1
            """)
        func iso(_ t: Int) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(t))) }
        #expect(
            evidence == [
                ["serial:C02BYOD00001", "wifi", "auth_logs", "5", "6", iso(Self.day(1)), "0", nil],
                ["serial:C02DOMAIN003", "wifi", "auth_logs", "2", "2", iso(Self.day(7)), "0", nil],
                ["serial:C02TIEDEV010", "wifi", "auth_logs", "1", "4", iso(Self.day(1)), "0", nil],
                ["serial:PF2SHARED002", "wifi", "none", "3", "6", iso(Self.day(1)), "1", #"["carol@example.com","alice@example.com"]"#]
            ])
        // The randomized MAC is rejected and counted; it is neither an owner nor an unmanaged device.
        let source = try db.rows("SELECT status, errors, rejected FROM run_sources WHERE source = 'wifi'")
        #expect(source.first?[0] == "ok")
        #expect(source.first?[1]?.contains(#""locally_administered_mac":1"#) == true)
        #expect(source.first?[2] == "1")
        let unmanaged = try db.rows("SELECT identifier, user, person, organization, days FROM unmanaged_devices ORDER BY 1")
        #expect(
            unmanaged == [
                ["mac:3C:22:FB:00:00:05", "mallory@example.com", nil, nil, "1"],
                ["mac:3C:22:FB:00:00:07", "bob@example.com", "bob@example.com", "Sales", "3"],
                ["mac:3C:22:FB:00:00:08", "carol@example.com", "carol@example.com", "Sales", "1"]
            ])
        // Not devices: the night has the inventory's six.
        #expect(try db.count("SELECT devices FROM runs") == 6)
        #expect(
            try db.rows("SELECT owner_method, devices FROM daily_ownership ORDER BY 1")
                == [["auth_logs", "3"], ["none", "3"]])

        // The data-quality page counts them per organization; only --include-people lists people and identifiers.
        let store = try SnapshotStore(path: radius.dir.appendingPathComponent("s.db"))
        let out = radius.dir.appendingPathComponent("report")
        try Report.generate(store: store, options: ReportOptions(out: out, nights: 7))
        let json = try String(contentsOf: out.appendingPathComponent("quality.unmanaged.json"), encoding: .utf8)
        #expect(json.contains(#"["Sales",2,2]"#) && json.contains(#"["(not in the directory)",1,1]"#))
        let page = try String(contentsOf: out.appendingPathComponent("quality.html"), encoding: .utf8)
        #expect(page.contains("Devices on the network that no inventory manages") && !page.contains("3C:22:FB:00:00:07"))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("quality.unmanaged-people.json").path))
        let withPeople = radius.dir.appendingPathComponent("report-people")
        try Report.generate(store: store, options: ReportOptions(out: withPeople, nights: 7, includePeople: true))
        let people = try String(contentsOf: withPeople.appendingPathComponent("quality.unmanaged-people.json"), encoding: .utf8)
        #expect(people.contains(#""bob@example.com","Sales","mac:3C:22:FB:00:00:07",3"#))
        #expect(people.contains("mallory@example.com (not in the directory)"))
    }

    /// One record as the detail module writes it (FreeRADIUS 3).
    static func record(_ user: String, _ mac: String, _ time: Int) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "MMM dd yyyy HH:mm:ss 'UTC'"
        let event = f.string(from: Date(timeIntervalSince1970: Double(time)))
        f.dateFormat = "EEE MMM d HH:mm:ss yyyy"
        return "\(f.string(from: Date(timeIntervalSince1970: Double(time))))\n\tUser-Name = \"\(user)\"\n\tAcct-Status-Type = Interim-Update\n"
            + "\tCalling-Station-Id = \"\(mac)\"\n\tEvent-Timestamp = \"\(event)\"\n\tTimestamp = \(time)\n\n"
    }

    @Test func truncatedFilesAndWindowsLineEndingsAreReadWithTheCutRecordLeftOut() async throws {
        let dir = try temporaryDirectory()
        let logs = dir.appendingPathComponent("radacct")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        // Windows line endings throughout.
        let crlf = (1...4).map { Self.record("alice@example.com", "3C-22-FB-00-00-01", Self.day($0)) }.joined()
            .replacingOccurrences(of: "\n", with: "\r\n")
        try crlf.write(to: logs.appendingPathComponent("detail-20261128"), atomically: true, encoding: .utf8)
        // Cut off in the middle of a record's Calling-Station-Id: that record is left out, the earlier ones count.
        let whole = Self.record("bob@example.com", "3C-22-FB-00-00-07", Self.day(2)) + Self.record("bob@example.com", "3C-22-FB-00-00-07", Self.day(1))
        let cut = whole + Self.record("carol@example.com", "3C-22-FB-00-00-08", Self.day(1))
        let at = cut.range(of: "3C-22-FB-00-00-08")!.lowerBound
        try String(cut[..<cut.index(at, offsetBy: 5)]).write(to: logs.appendingPathComponent("detail-20261129"), atomically: true, encoding: .utf8)
        let (outcome, db) = try await night(dir, attribution: "  - {name: wifi, type: auth_logs, paths: [radacct]}")
        #expect(outcome.status == .complete)
        #expect(try db.rows("SELECT device_key, days FROM owner_evidence") == [["serial:C02BYOD00001", "4"]])
        #expect(try db.rows("SELECT identifier, days FROM unmanaged_devices") == [["mac:3C:22:FB:00:00:07", "2"]])
        let source = try db.rows("SELECT status, errors, rejected_reasons FROM run_sources WHERE source = 'wifi'")
        #expect(source.first?[0] == "ok")
        #expect(source.first?[1] == #"{"no_calling_station_id":1,"truncated_record":1}"#)
        #expect(source.first?[2]?.contains("detail-20261129 record ending at line") == true)
    }

    @Test func anUnreadableFileMakesThePartialNightNamingTheFileAndKeepsLastNightsOwners() async throws {
        let dir = try temporaryDirectory()
        let logs = dir.appendingPathComponent("radacct")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try (1...3).map { Self.record("alice@example.com", "3C-22-FB-00-00-01", Self.day($0 + 1)) }.joined()
            .write(to: logs.appendingPathComponent("detail-20261128"), atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("s.db")
        // The night before, complete: alice owns M1.
        let config = "  - {name: wifi, type: auth_logs, paths: [\"radacct/detail-*\"]}"
        do {
            let (first, _) = try await nightBefore(dir, attribution: config, db: db)
            #expect(first.status == .complete)
        }
        // Tonight a file cannot be read. Root reads any mode, so for root the file is one the kernel refuses to read.
        let bad = logs.appendingPathComponent("detail-20261130")
        if getuid() == 0 {
            try FileManager.default.createSymbolicLink(atPath: bad.path, withDestinationPath: "/proc/self/mem")
        } else {
            try "x".write(to: bad, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: bad.path)
        }
        let (outcome, d) = try await night(dir, attribution: config, db: db)
        #expect(outcome.status == .partial)
        #expect(outcome.failedSources == ["wifi"])
        let failure = try d.rows("SELECT status, failure FROM run_sources WHERE source = 'wifi' AND as_of = '\(Self.asOf)'")
        #expect(failure.first?[0] == "failed")
        #expect(failure.first?[1]?.contains("cannot read \(bad.path)") == true)
        // The owner it gave on the last complete night is kept.
        #expect(
            try d.rows(
                "SELECT owner, owner_via FROM devices d JOIN device_keys k USING (device_id) WHERE as_of = '\(Self.asOf)' AND k.device_key = 'serial:C02BYOD00001'"
            )
                == [["alice@example.com", "wifi"]])
    }

    /// The night before `asOf`, with the same inputs.
    func nightBefore(_ dir: URL, attribution: String, db: URL) async throws -> (RunOutcome, Database) {
        try await night(dir, attribution: attribution, db: db, asOf: "2026-11-29", now: Self.now.addingTimeInterval(-86_400))
    }

    @Test func aWindowWithNoEventsFailsTheEntryUnlessAllowEmpty() async throws {
        let dir = try temporaryDirectory()
        let logs = dir.appendingPathComponent("radacct")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try Self.record("alice@example.com", "3C-22-FB-00-00-01", Self.day(45))
            .write(to: logs.appendingPathComponent("detail-20261016"), atomically: true, encoding: .utf8)
        let (strict, d1) = try await night(
            dir, attribution: "  - {name: wifi, type: auth_logs, paths: [\"radacct/*\"]}",
            db: dir.appendingPathComponent("a.db"))
        #expect(strict.status == .partial)
        let failure = try d1.rows("SELECT failure FROM run_sources WHERE source = 'wifi'").first?[0] ?? nil
        #expect(failure?.contains("no authentication in the 30-day window (1 files read, 1 events outside it") == true)
        #expect(failure?.contains("allow_empty") == true)
        let (allowed, d2) = try await night(
            dir, attribution: "  - {name: wifi, type: auth_logs, paths: [\"radacct/*\"], allow_empty: true}",
            db: dir.appendingPathComponent("b.db"))
        #expect(allowed.status == .complete)
        #expect(try d2.count("SELECT count(*) FROM owner_evidence") == 0)
        #expect(try d2.count("SELECT count(*) FROM devices WHERE owner IS NOT NULL") == 0)
        // A glob that matches nothing is the same "nothing there": allowed only with allow_empty.
        let (none, _) = try await night(
            dir, attribution: "  - {name: wifi, type: auth_logs, paths: [\"nowhere/*\"], allow_empty: true}",
            db: dir.appendingPathComponent("c.db"))
        #expect(none.status == .complete)
    }

    @Test func jsonLinesAndCSVEventsAndGzipRotationsAttributeByTheirConfiguredFields() async throws {
        let dir = try temporaryDirectory()
        let iso = ISO8601DateFormatter()
        func t(_ ago: Int) -> String { iso.string(from: Date(timeIntervalSince1970: Double(Self.day(ago)))) }
        // VPN: JSON lines with a millisecond epoch and an ISO time; one line is not JSON.
        try """
        {"ts": "\(t(1))", "login": "EXAMPLE\\\\dave", "client_mac": "3c22fb000003", "vpn": "gw1"}
        {"ts": \(Int64(Self.day(2)) * 1000), "login": "dave@example.com", "client_mac": "3C:22:FB:00:00:03"}
        not json
        {"ts": "\(t(3))", "login": "carol@example.com", "serial": "C02TIEDEV010"}
        """.write(to: dir.appendingPathComponent("vpn.jsonl"), atomically: true, encoding: .utf8)
        // SSO export as CSV.
        try """
        when,who,device
        \(t(1)),bob@example.com,C02NOMACS011
        \(t(2)),bob@example.com,C02NOMACS011
        """.write(to: dir.appendingPathComponent("sso.csv"), atomically: true, encoding: .utf8)
        // A logrotate-compressed detail file.
        let gz = dir.appendingPathComponent("detail.2")
        try Self.record("alice@example.com", "3C-22-FB-00-00-01", Self.day(5)).write(to: gz, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = [gz.path]
        try p.run()
        p.waitUntilExit()
        let (outcome, db) = try await night(
            dir,
            attribution: """
                  - {name: vpn, type: auth_logs, format: json_lines, paths: [vpn.jsonl], email_template: "{user}@example.com",
                     fields: {time: ts, user: login, mac: client_mac, serial: serial}}
                  - {name: sso, type: auth_logs, format: csv, paths: [sso.csv], fields: {time: when, user: who, serial: device}}
                  - {name: wifi, type: auth_logs, paths: ["detail*"]}
                """)
        #expect(outcome.status == .complete)
        #expect(
            try db.rows(
                """
                SELECT k.device_key, d.owner, e.via, e.days FROM devices d JOIN device_keys k USING (device_id)
                JOIN owner_evidence e ON e.as_of = d.as_of AND e.device_key = k.device_key ORDER BY 1
                """) == [
                    ["serial:C02BYOD00001", "alice@example.com", "wifi", "1"],
                    ["serial:C02DOMAIN003", "dave@example.com", "vpn", "2"],
                    ["serial:C02NOMACS011", "bob@example.com", "sso", "2"],
                    ["serial:C02TIEDEV010", "carol@example.com", "vpn", "1"]
                ])
        #expect(try db.rows("SELECT errors FROM run_sources WHERE source = 'vpn'").first?[0] == #"{"not_a_json_object":1}"#)
    }

    /// VPN events that name the machine only by host name: the one device of tonight with that name gets the
    /// owner (any case, any domain suffix); a name two devices share names neither; a name no device has is an
    /// unmanaged device.
    @Test func hostNamesStandForTheOneDeviceOfThatName() async throws {
        let dir = try temporaryDirectory()
        let inventory = dir.appendingPathComponent("inventory.json")
        try """
        [{"id": "h1", "platform": "Linux", "serial": "LNXHOST00001", "macs": [], "name": "build-01"},
         {"id": "h2", "platform": "Mac", "serial": "C02HOST00002", "macs": [], "name": "dup-name"},
         {"id": "h3", "platform": "Mac", "serial": "C02HOST00003", "macs": [], "name": "DUP-NAME.corp.example.com"},
         {"id": "h4", "platform": "Mac", "serial": "C02HOST00004", "macs": []}]
        """.write(to: inventory, atomically: true, encoding: .utf8)
        let iso = ISO8601DateFormatter()
        func t(_ ago: Int) -> String { iso.string(from: Date(timeIntervalSince1970: Double(Self.day(ago)))) }
        try """
        {"ts": "\(t(1))", "login": "carol@example.com", "host": "BUILD-01.corp.example.com"}
        {"ts": "\(t(2))", "login": "carol@example.com", "host": "build-01"}
        {"ts": "\(t(1))", "login": "bob@example.com", "host": "dup-name"}
        {"ts": "\(t(1))", "login": "dave@example.com", "host": "ghost-pc.corp.example.com"}
        {"ts": "\(t(3))", "login": "dave@example.com", "host": "GHOST-PC"}
        """.write(to: dir.appendingPathComponent("vpn.jsonl"), atomically: true, encoding: .utf8)
        let (outcome, db) = try await night(
            dir,
            attribution: """
                  - {name: vpn, type: auth_logs, format: json_lines, paths: [vpn.jsonl], fields: {time: ts, user: login, hostname: host}}
                """, inventory: inventory)
        #expect(outcome.status == .complete)
        #expect(
            try db.rows(
                """
                SELECT k.device_key, d.owner, d.owner_method, d.owner_via FROM devices d JOIN device_keys k USING (device_id) ORDER BY 1
                """) == [
                    ["serial:C02HOST00002", nil, "none", nil],
                    ["serial:C02HOST00003", nil, "none", nil],
                    ["serial:C02HOST00004", nil, "none", nil],
                    ["serial:LNXHOST00001", "carol@example.com", "auth_logs", "vpn"]
                ])
        #expect(try db.rows("SELECT device_key, days FROM owner_evidence") == [["serial:LNXHOST00001", "2"]])
        #expect(try db.rows("SELECT identifier, person, days FROM unmanaged_devices") == [["hostname:ghost-pc", "dave@example.com", "2"]])
    }

    @Test func configErrorsNameTheKey() throws {
        func error(_ entry: String) -> String {
            do {
                let c = try StethoscopeConfig.parse(
                    yaml: "sources: [{name: d, type: demo, feed: jamf}]\nattribution:\n  - \(entry)", baseDirectory: URL(fileURLWithPath: "/tmp"))
                _ = try ConfiguredPlugins(c, environment: .init(logger: Logger(label: "t")))
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(error("{type: auth_logs}").contains("attribution[0].paths"))
        #expect(error("{type: auth_logs, paths: [x], window_days: 0}").contains("attribution[0].window_days"))
        #expect(error("{type: auth_logs, paths: [x], format: csv}").contains("attribution[0].fields"))
        #expect(error("{type: auth_logs, paths: [x], format: csv, fields: {time: t}}").contains("attribution[0].fields.mac"))
        #expect(error("{type: auth_logs, paths: [x], email_template: example.com}").contains("attribution[0].email_template"))
        #expect(error("{type: auth_logs, paths: [x], shared_share: 2}").contains("attribution[0].shared_share"))
    }
}
