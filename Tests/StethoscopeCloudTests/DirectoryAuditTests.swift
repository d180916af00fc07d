import Foundation
import Logging
import StethoscopeCore
import StethoscopeHTTP
import StethoscopeStore
import Testing

@testable import StethoscopeApp

/// Entra / Graph and directories (issue 14): only the user properties the organization field needs, emails that two
/// directory users share, manager cycles kept in `people`, and `check` reaching every directory and attribution source.
@Suite struct DirectoryAuditTests {
    /// The query options of every Graph call the fake saw, in order.
    func graphQueries(_ fake: FakeServer) async throws -> [(path: String, query: [String: String])] {
        let r = try await HTTPClient.shared.send(HTTPRequest(url: fake.url + "/_queries", source: "fake", retry: .none))
        let object = try JSONSerialization.jsonObject(with: r.body) as? [String: Any] ?? [:]
        return ((object["queries"] as? [[String: Any]]) ?? []).map { ($0["path"] as? String ?? "", $0["query"] as? [String: String] ?? [:]) }
    }

    @Test(
        arguments: [
            ("department", "department"), ("cost_center", "employeeOrgData"), ("division", "employeeOrgData"),
            ("company_name", "companyName"), ("office_location", nil)
        ] as [(String, String?)])
    func entraAsksOnlyForTheOrganizationFieldItUses(_ field: String, _ property: String?) async throws {
        let fake = try Cloud.graph()
        let d = try Cloud.directory("directory: {type: intune, \(Cloud.graphKeys(fake)), organization_field: \(field)}")
        let people = try await d.people(Cloud.context(FigureCounter(kind: "directory", plugin: "intune")))
        #expect(people.count == 4)
        let users = try await graphQueries(fake).filter { $0.path == "/v1.0/users" }
        #expect(users.count == 1)
        let select = Set((users.first?.query["$select"] ?? "").split(separator: ",").map(String.init))
        let base: Set<String> = ["displayName", "mail", "userPrincipalName", "accountEnabled", "jobTitle", "officeLocation"]
        #expect(select == base.union(property.map { [$0] } ?? []), "organization_field \(field): $select \(select.sorted())")
    }

    /// Two Entra users with one mail, and a manager cycle, through a whole night into SQLite.
    @Test func sharedMailAndManagerCycleThroughANight() async throws {
        let dir = try Cloud.temporaryDirectory()
        func user(_ id: String, _ mail: String?, _ upn: String, _ manager: String?) -> [String: Any] {
            var u: [String: Any] = ["id": id, "displayName": upn, "userPrincipalName": upn, "accountEnabled": true, "department": "Platform"]
            if let mail { u["mail"] = mail }
            if let manager { u["manager"] = manager }
            return u
        }
        let users: [[String: Any]] = [
            user("u1", "dlee@example.com", "dlee@example.com", nil),
            user("u2", "ajones@example.com", "ajones@example.com", "dlee@example.com"),
            // A mail two accounts carry (a re-hire's old account, a shared mailbox synced twice).
            user("u3", "sam@example.com", "sam.one@example.com", "dlee@example.com"),
            user("u4", "sam@example.com", "sam.two@example.com", "ajones@example.com"),
            // A manager cycle: cy1 → cy2 → cy1.
            user("u5", "cy1@example.com", "cy1@example.com", "cy2@example.com"),
            user("u6", "cy2@example.com", "cy2@example.com", "cy1@example.com")
        ]
        func device(_ id: String, _ serial: String, _ upn: String) -> [String: Any] {
            [
                "id": id, "deviceName": serial, "operatingSystem": "Windows", "osVersion": "10.0.22631.3296", "isEncrypted": true,
                "userPrincipalName": upn, "serialNumber": serial, "lastSyncDateTime": "2026-03-01T21:47:09Z"
            ]
        }
        let devices = [
            device("d1", "PFSAM0001", "sam@example.com"), device("d2", "PFAJ00002", "ajones@example.com"),
            device("d3", "PFCY00003", "cy1@example.com")
        ]
        let usersFile = dir.appendingPathComponent("users.json")
        let devicesFile = dir.appendingPathComponent("devices.json")
        try JSONSerialization.data(withJSONObject: users).write(to: usersFile)
        try JSONSerialization.data(withJSONObject: devices).write(to: devicesFile)
        let graph = try FakeServer("fake_graph.py", ["--devices-fixture", devicesFile.path, "--users-fixture", usersFile.path])
        let file = dir.appendingPathComponent("config.yaml")
        try """
        directory: {type: intune, name: entra, \(Cloud.graphKeys(graph))}
        sources:
          - {name: intune, type: intune, \(Cloud.graphKeys(graph))}
        """.write(to: file, atomically: true, encoding: .utf8)
        let night = try NightlyRun.prepare(configFile: file, logger: Logger(label: "test"))
        let store = try SnapshotStore(path: dir.appendingPathComponent("s.db"))
        let outcome = try await night.run(asOf: "2026-03-02", now: Date(timeIntervalSince1970: 1_772_431_200), store: store)
        #expect(outcome.status == .complete)
        let db = store.database

        // The device of the shared mail has no owner, and says why; the others are attributed as usual.
        let owners = try db.rows(
            """
            SELECT k.device_key, d.owner, d.owner_method, d.owner_reason FROM devices d JOIN device_keys k USING (device_id) ORDER BY 1
            """)
        #expect(
            owners == [
                ["serial:PFAJ00002", "ajones@example.com", "source_hint", nil],
                ["serial:PFCY00003", "cy1@example.com", "source_hint", nil],
                ["serial:PFSAM0001", nil, "none", "ambiguous_email"]
            ])
        // The directory audit: counted with the directory's figures and flagged in people.
        let errors = try #require(try db.value("SELECT errors FROM run_sources WHERE source = 'entra'"))
        #expect(errors.contains("\"directory_duplicate_email\":1"))
        #expect(try db.rows("SELECT email, duplicate_email FROM people WHERE duplicate_email = 1") == [["sam@example.com", "1"]])

        // people keeps both links of the cycle as the directory gave them, flagged; roll-ups still end.
        let people = try db.rows("SELECT email, manager_email, manager_cycle FROM people ORDER BY email")
        #expect(people.contains(["cy1@example.com", "cy2@example.com", "1"]))
        #expect(people.contains(["cy2@example.com", "cy1@example.com", "1"]))
        #expect(people.contains(["ajones@example.com", "dlee@example.com", "0"]))
        #expect(try db.value("SELECT COUNT(*) FROM rollup_groups WHERE as_of = '2026-03-02' AND group_kind = 'manager'") != "0")
        // A re-read of the night's people knows the ambiguous email again (reports, a failed directory's fallback).
        #expect(OrgChart(try store.people(asOf: "2026-03-02")).isAmbiguous("sam@example.com"))
    }

    /// `check` reaches the directory and attribution sources too, with a token and one small request each.
    @Test func checkContactsDirectoryAndAttributionSources() async throws {
        let graph = try Cloud.graph()
        let bitfit = try FakeServer("fake_bitfit.py", ["--fixture", Cloud.fixture("bitfit", "bitfit.json")])
        let dir = try Cloud.temporaryDirectory()
        let config = dir.appendingPathComponent("c.yaml")
        let demo = "sources: [{name: demo, type: demo, feed: jamf, people: 40}]\n"
        try """
        database: \(dir.path)/s.db
        directory: {type: intune, name: entra, \(Cloud.graphKeys(graph, secret: "wrong-graph-secret"))}
        sources: [{name: demo, type: demo, feed: jamf, people: 40}]
        attribution:
          - {name: bitfit-bad, type: bitfit, url: "\(bitfit.url)", api_token: wrong-bitfit-token, retries: 1}
          - {name: bitfit-good, type: bitfit, url: "\(bitfit.url)", api_token: bitfit-t0ken}
          - {name: assets-missing, type: asset_csv, path: \(dir.path)/no-such-assets.csv}
        """.write(to: config, atomically: true, encoding: .utf8)
        let (code, lines) = await Check.run(configFile: config, database: nil, timeoutSeconds: 30)
        #expect(code == .failed)
        #expect(lines.map(\.name) == ["entra", "demo", "bitfit-bad", "bitfit-good", "assets-missing", "database"])
        #expect(lines.map(\.ok) == [false, true, false, true, false, true])
        let text = lines.map(Check.format).joined(separator: "\n")
        #expect(!text.contains("wrong-graph-secret") && !text.contains("wrong-bitfit-token") && !text.contains("bitfit-t0ken"))
        let bitfitStats = try await bitfit.stats()
        #expect(Set(bitfitStats.paths.keys) == ["/users"])  // a small request each, no crawl of assets

        // With good credentials the directory check reads one user; an unreadable CSV directory fails.
        try """
        database: \(dir.path)/s.db
        directory: {type: intune, name: entra, \(Cloud.graphKeys(graph))}
        sources: [{name: demo, type: demo, feed: jamf, people: 40}]
        """.write(to: config, atomically: true, encoding: .utf8)
        let (good, goodLines) = await Check.run(configFile: config, database: nil, timeoutSeconds: 30)
        #expect(good == .complete && goodLines.first?.detail == "ok: directory users readable")
        #expect(try await graphQueries(graph).last.map { $0.path == "/v1.0/users" && $0.query["$top"] == "1" } == true)
        try ("database: \(dir.path)/s.db\ndirectory: {type: csv_directory, path: \(dir.path)/missing.csv}\n" + demo)
            .write(to: config, atomically: true, encoding: .utf8)
        #expect(await Check.run(configFile: config, database: nil, timeoutSeconds: 30).0 == .failed)

        // A Google service account without the directory scope delegated: devices would pass, the directory does not.
        let google = try Cloud.google(["--granted-scopes", "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly"])
        try """
        database: \(dir.path)/s.db
        directory: {type: google, name: gdir, \(Cloud.googleKeys(google))}
        sources: [{name: demo, type: demo, feed: jamf, people: 40}]
        """.write(to: config, atomically: true, encoding: .utf8)
        let (denied, deniedLines) = await Check.run(configFile: config, database: nil, timeoutSeconds: 30)
        #expect(denied == .failed && deniedLines.first?.ok == false)
        let delegated = try Cloud.google()
        try """
        database: \(dir.path)/s.db
        directory: {type: google, name: gdir, \(Cloud.googleKeys(delegated))}
        sources: [{name: demo, type: demo, feed: jamf, people: 40}]
        """.write(to: config, atomically: true, encoding: .utf8)
        let (allowed, allowedLines) = await Check.run(configFile: config, database: nil, timeoutSeconds: 30)
        #expect(allowed == .complete && allowedLines.first?.detail == "ok: directory users readable")
        #expect(try await delegated.stats().paths["/admin/directory/v1/users"] == 1)
    }
}
