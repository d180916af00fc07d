import Foundation
import StethoscopeCore
import StethoscopeHTTP
import Testing

@testable import StethoscopeSources

@Suite struct GoogleSourceTests {
    func source(_ fake: FakeServer, _ extra: String = "", key: String = Cloud.keyFile) throws -> any DeviceSource {
        try Cloud.deviceSource("sources:\n  - {name: google, type: google, \(Cloud.googleKeys(fake, key: key))\(extra)}")
    }

    @Test func pagesEveryListWithOneCachedTokenAndRenewsItBeforeExpiry() async throws {
        let fake = try Cloud.google()
        let s = try source(fake, ", page_size: 1, chromeos_page_size: 1")
        let figures = FigureCounter(kind: "device", plugin: "google")
        let records = try await s.pull(Cloud.context(figures))
        #expect(records.count == 8)  // 6 mobile + 2 ChromeOS (the deprovisioned one is left out)
        #expect(figures.snapshot().pages == 9)
        #expect(figures.snapshot().requests == 10)  // 9 pages + 1 token for both concurrent lists
        #expect(try await fake.stats().paths["/token"] == 1)
        // A 6 s token is replaced at 80% of its life, before any page could be refused with it (no 401). Six
        // seconds, not three: the second pull must finish within the new token's life on a loaded CI machine.
        let short = try Cloud.google(["--token-ttl", "6"])
        let t = try source(short, ", devices: [mobile]")
        _ = try await t.pull(Cloud.context())
        try await Task.sleep(nanoseconds: 5_000_000_000)
        let again = FigureCounter(kind: "device", plugin: "google")
        #expect(try await t.pull(Cloud.context(again)).count == 6)
        #expect(try await short.stats().paths["/token"] ?? 0 >= 2)
        #expect(again.snapshot().errors.isEmpty)
    }

    @Test func mapsMobileAndChromeOSFields() async throws {
        let fake = try Cloud.google()
        let records = try await source(fake).pull(Cloud.context())
        let sync = try #require(records.first { $0.localID == "AFiQxQ8x1Example04" })
        #expect(sync.platform == .mac && sync.osName == "macOS" && sync.osVersion == "14.4.1")
        #expect(sync.identifiers.contains(RawIdentifier(.serial, "fvfxc0deq6l4")))  // Google Sync: deviceId is the serial
        let pixel = try #require(records.first { $0.localID == "AFiQxQ8x1Example01" })
        #expect(pixel.identifiers.contains(RawIdentifier(.deviceID, "3f2a9c1e7b0d4e55")))
        #expect(pixel.observations.first { $0.practice == "unknown_sources" }?.notApplicable == true)  // Android 14: na
        #expect(pixel.lastSync == ISODate.parse("2026-03-01T21:47:09.902Z"))
        let cros = try #require(records.first { $0.localID == "8a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" })
        #expect(cros.ownerHints == [OwnerHint(.email, "carol@example.com"), OwnerHint(.email, "someone-else@example.com")])
        #expect(cros.observations.first { $0.practice == "auto_updates" }?.satisfied == true)
        #expect(try await source(fake).check(Cloud.context()) == "ok: mobile devices readable, ChromeOS devices readable")
    }

    @Test func theTokenEndpointRejectsWrongSubjectKeyAndScopes() async throws {
        let fake = try Cloud.google(["--granted-scopes", GooglePlugin.mobileScope])
        // Only the mobile scope is delegated: asking for ChromeOS too is refused, mobile alone works.
        await #expect(throws: HTTPError.self) { try await source(fake).pull(Cloud.context()) }
        #expect(try await source(fake, ", devices: [mobile]").pull(Cloud.context()).count == 6)
        // Another admin to impersonate.
        let wrongSubject = try Cloud.deviceSource(
            "sources:\n  - {name: google, type: google, \(Cloud.googleKeys(fake).replacingOccurrences(of: "admin@example.com", with: "intruder@example.com")), devices: [mobile]}"
        )
        let e1 = await #expect(throws: HTTPError.self) { try await wrongSubject.pull(Cloud.context()) }
        #expect(e1?.kind == .auth && e1?.description.hasPrefix("google:") == true)
        // A key the fake does not know signs the JWT: the signature check fails. The error shows no key material.
        let dir = try Cloud.temporaryDirectory()
        var key = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: URL(fileURLWithPath: Cloud.keyFile)))
        key["private_key"] = try String(contentsOfFile: FakeServer.fakes.appendingPathComponent("keys/wrong-private.pem").path, encoding: .utf8)
        let wrongKey = dir.appendingPathComponent("wrong.json")
        try JSONEncoder().encode(key).write(to: wrongKey)
        let e2 = await #expect(throws: HTTPError.self) { try await source(fake, ", devices: [mobile]", key: wrongKey.path).pull(Cloud.context()) }
        #expect(e2?.kind == .auth && e2?.description.contains("PRIVATE") == false)
        // The good pull's one page; no refused token reached the API.
        #expect(try await fake.stats().paths["/admin/directory/v1/customer/my_customer/devices/mobile"] == 1)
    }

    @Test func expiredOrOverlongJWTsAreRefused() async throws {
        let fake = try Cloud.google()
        let keyText = try String(contentsOfFile: Cloud.keyFile, encoding: .utf8)
        let key = try GoogleServiceAccountKey.parse(Secret(keyText), where: "key_file")
        func post(_ auth: GoogleServiceAccountAuth, at now: Date) async throws -> Int {
            let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + (try auth.assertion(now: now))
            return try await HTTPClient.shared.send(
                HTTPRequest(
                    method: "POST", url: fake.url + "/token",
                    headers: ["Content-Type": "application/x-www-form-urlencoded"],
                    body: Data(body.utf8), source: "t", retry: .none)
            ).status
        }
        let auth = try GoogleServiceAccountAuth(key: key, subject: "admin@example.com", scopes: [GooglePlugin.userScope], tokenURL: nil, keyPath: "k")
        #expect(try await post(auth, at: Date()) == 200)
        #expect(try await post(auth, at: Date().addingTimeInterval(-3700)) == 400)  // expired an hour ago
        #expect(try await post(auth, at: Date().addingTimeInterval(600)) == 400)  // issued in the future
    }

    @Test func quotaAnswersAreRetriedUntilThePolicyGivesUp() async throws {
        let fake = try Cloud.google()
        let path = "/admin/directory/v1/customer/my_customer/devices/mobile"
        try await fake.fault([["mode": "403_quota", "path": path, "page": 0, "count": 2]])
        let figures = FigureCounter(kind: "device", plugin: "google")
        #expect(try await source(fake, ", devices: [mobile]").pull(Cloud.context(figures)).count == 6)
        #expect(figures.snapshot().retries == 2)
        try await fake.fault([["mode": "403_rate_limit", "path": path, "page": 0, "count": 10]])
        let error = await #expect(throws: HTTPError.self) { try await source(fake, ", devices: [mobile], retries: 2").pull(Cloud.context()) }
        #expect(error?.status == 403 && error?.description.contains("userRateLimitExceeded") == true)
        #expect(error?.description.contains("mobile devices page 0") == true)
    }

    @Test func malformedPagesAreFetchedAgainThenNameTheSourceAndPage() async throws {
        let fake = try Cloud.google()
        let path = "/admin/directory/v1/customer/my_customer/devices/chromeos"
        // A corrupt 200 and a truncated one: each page is fetched again, and the pull completes.
        try await fake.fault([["mode": "malformed", "path": path, "page": 1, "count": 1], ["mode": "truncated", "path": path, "page": 0, "count": 1]])
        let figures = FigureCounter(kind: "device", plugin: "google")
        let all = try await source(fake, ", chromeos_page_size: 2").pull(Cloud.context(figures))
        #expect(all.filter { $0.platform == .chromeOS }.count == 2)
        #expect(figures.snapshot().retries == 2)
        // Past the budget the page fails, named.
        try await fake.fault([["mode": "malformed", "path": path, "page": 1, "count": 10]])
        let error = await #expect(throws: HTTPError.self) { try await source(fake, ", chromeos_page_size: 2, retries: 2").pull(Cloud.context()) }
        #expect(error?.description.hasPrefix("google: chromeos devices page 1: malformed JSON") == true)
    }

    @Test func directoryOrganizationFieldIsConfigurable() async throws {
        let fake = try Cloud.google()
        func people(_ field: String) async throws -> [String: Person] {
            let d = try Cloud.directory("directory: {type: google, \(Cloud.googleKeys(fake)), organization_field: \"\(field)\"}")
            return Dictionary(try await d.people(Cloud.context()).map { ($0.email, $0) }, uniquingKeysWith: { a, _ in a })
        }
        #expect(try await people("cost_center")["ajones@example.com"]?.organization == "CC-1042")
        #expect(try await people("org_unit_path")["carol@example.com"]?.organization == "/Support")
        #expect(try await people("custom:HR.team")["ajones@example.com"]?.organization == "Infra")
        let byDepartment = try await people("department")
        #expect(byDepartment["carol@example.com"]?.title == "Support Lead" && byDepartment["eve@example.com"]?.active == false)
    }

    @Test func configMistakesNameTheKey() throws {
        let base = "sources:\n  - {name: g, type: google, key_file: \(Cloud.keyFile), subject: admin@example.com"
        #expect(throws: ConfigError.self) { try Cloud.deviceSource(base + ", page_size: 101}") }
        #expect(throws: ConfigError.self) { try Cloud.deviceSource(base + ", chromeos_page_size: 301}") }
        #expect(throws: ConfigError.self) { try Cloud.deviceSource(base + ", devices: [tablets]}") }
        #expect(throws: ConfigError.self) { try Cloud.deviceSource("sources:\n  - {name: g, type: google, key_file: \(Cloud.keyFile)}") }
        #expect(throws: ConfigError.self) {
            try Cloud.directory("directory: {type: google, key_file: \(Cloud.keyFile), subject: a@b.c, organization_field: team}")
        }
        #expect(throws: ConfigError.self) {
            try Cloud.deviceSource(
                base.replacingOccurrences(of: Cloud.keyFile, with: FakeServer.fakes.appendingPathComponent("keys/test-sa-public.json").path) + "}")
        }
    }
}

@Suite struct IntuneAndDirectoryTests {
    @Test func intunePagesByNextLinkAndRetriesBare429s() async throws {
        let fake = try Cloud.graph()
        try await fake.fault([["mode": "429_no_retry_after", "path": "/v1.0/deviceManagement/managedDevices", "page": 1, "count": 2]])
        let s = try Cloud.deviceSource("sources:\n  - {name: intune, type: intune, \(Cloud.graphKeys(fake)), page_size: 1}")
        let figures = FigureCounter(kind: "device", plugin: "intune")
        let records = try await s.pull(Cloud.context(figures))
        #expect(records.map(\.localID).count == 4 && figures.snapshot().pages == 4 && figures.snapshot().retries == 2)
        let laptop = try #require(records.first { $0.deviceName == "LAPTOP-7Q2M" })
        #expect(!laptop.identifiers.contains { $0.value.lowercased() == "5c879c112299" })  // ethernetMacAddress is null in lists
        #expect(laptop.identifiers.contains(RawIdentifier(.mac, "5c879c112233")))
        let kiosk = try #require(records.first { $0.deviceName == "kiosk-01" })
        #expect(kiosk.lastSync == nil && kiosk.ownerHints.isEmpty)  // "0001-01-01" is never
        let rooted = try #require(records.first { $0.deviceName == "jo-android" })
        #expect(rooted.observations.first { $0.practice == "threat_state" }?.satisfied == false)
        #expect(try await s.check(Cloud.context()) == "ok: managed devices readable")
    }

    @Test func intuneRefetchesAPageThatDoesNotParse() async throws {
        let fake = try Cloud.graph()
        try await fake.fault([["mode": "malformed", "path": "/v1.0/deviceManagement/managedDevices", "page": 1, "count": 1]])
        let s = try Cloud.deviceSource("sources:\n  - {name: intune, type: intune, \(Cloud.graphKeys(fake)), page_size: 1}")
        let figures = FigureCounter(kind: "device", plugin: "intune")
        #expect(try await s.pull(Cloud.context(figures)).count == 4)
        #expect(figures.snapshot().retries == 1)
        #expect(figures.snapshot().requests == (try await fake.stats().paths.values.reduce(0, +)))
    }

    @Test func badClientSecretFailsWithoutShowingIt() async throws {
        let fake = try Cloud.graph()
        let s = try Cloud.deviceSource("sources:\n  - {name: intune, type: intune, \(Cloud.graphKeys(fake, secret: "LEAKY-secret-value"))}")
        let error = await #expect(throws: HTTPError.self) { try await s.pull(Cloud.context()) }
        #expect(error?.kind == .auth && error?.description.contains("LEAKY") == false)
    }

    @Test func entraUsersWithManagersAndOrganizations() async throws {
        let fake = try Cloud.graph()
        let figures = FigureCounter(kind: "directory", plugin: "intune")
        let d = try Cloud.directory("directory: {type: intune, \(Cloud.graphKeys(fake)), page_size: 2, organization_field: cost_center}")
        let people = try await d.people(Cloud.context(figures))
        #expect(people.map(\.email) == ["dlee@example.com", "ajones@example.com", "bchan@example.com", "eve@example.com"])
        #expect(people[1].managerEmail == "dlee@example.com" && people[1].organization == "CC-1042" && people[1].title == "Senior Engineer")
        #expect(people[2].managerEmail == "dlee@example.com")  // mail missing: the UPN is the email
        #expect(people[3].active == false)
        #expect(figures.snapshot().rejected == 1 && figures.snapshot().pages == 3)
    }

    @Test func csvDirectoryWithConfiguredColumns() async throws {
        let figures = FigureCounter(kind: "directory", plugin: "csv_directory")
        let d = try Cloud.directory(
            """
            directory:
              type: csv_directory
              path: \(Cloud.fixture("csv_directory", "people.csv"))
              organization_field: Cost Center
              columns: {email: Work Email, name: Full Name, manager: Manager Email, title: Title, location: Office, active: Employment Status}
            """)
        let people = try await d.people(Cloud.context(figures))
        #expect(people.count == 5)
        let alex = try #require(people.first { $0.email == "ajones@example.com" })
        #expect(alex.name == "Jones, Alex" && alex.title == "Senior \"Staff\" Engineer" && alex.organization == "CC-1042")
        #expect(people.first { $0.email == "eve@example.com" }?.active == false)
        #expect(people.first { $0.name == "Frank Ghost" }?.location == "Remote\nUS")
        let f = figures.snapshot()
        #expect(f.rejected == 1 && f.errors["directory_duplicate_email_case"] == 1 && f.errors["directory_dangling_manager"] == 1)
        #expect(throws: ConfigError.self) { try Cloud.directory("directory: {type: csv_directory, path: x.csv, columns: {mail: E}}") }
    }

    @Test func assetCSVAndBitFitAssignments() async throws {
        let csv = try Cloud.attribution(
            """
            attribution:
              - {type: asset_csv, path: "\(Cloud.fixture("asset_csv", "assets.csv"))", columns: {serial: Serial Number, mac: [Wi-Fi MAC, Ethernet MAC], email: Assigned To}}
            """)
        let a = try await csv.assignments(Cloud.context())
        #expect(
            Set(a) == [
                OwnerAssignment(RawIdentifier(.mac, "a0:cc:2b:55:55:05"), email: "frank@example.com"),
                OwnerAssignment(RawIdentifier(.serial, "KIOSK0001"), email: "eve@example.com"),
                OwnerAssignment(RawIdentifier(.serial, "NOTHERE01"), email: "ajones@example.com"),
                OwnerAssignment(RawIdentifier(.mac, "00:1b:21:3a:4b:5c"), email: "ajones@example.com")
            ])
        let fake = try FakeServer("fake_bitfit.py", ["--fixture", Cloud.fixture("bitfit", "bitfit.json")])
        let bitfit = try Cloud.attribution("attribution:\n  - {type: bitfit, url: \"\(fake.url)\", api_token: bitfit-t0ken}")
        let b = try await bitfit.assignments(Cloud.context())
        #expect(
            Set(b) == [
                OwnerAssignment(RawIdentifier(.serial, "R58SHARED05"), email: "carol@example.com"),
                OwnerAssignment(RawIdentifier(.serial, "C02CDIAZ0001"), email: "carol@example.com"),
                OwnerAssignment(RawIdentifier(.mac, "F0:18:98:AA:BB:CC"), email: "carol@example.com"),
                OwnerAssignment(RawIdentifier(.udid, "5C1A9E2B-0000-4B8A-9C21-0D4E6F8A1B2C"), email: "carol@example.com"),
                OwnerAssignment(RawIdentifier(.serial, "KIOSK0001"), email: "dlee@example.com")
            ])
        let wrong = try Cloud.attribution("attribution:\n  - {type: bitfit, url: \"\(fake.url)\", api_token: WRONG-t0ken-x}")
        let error = await #expect(throws: HTTPError.self) { try await wrong.assignments(Cloud.context()) }
        #expect(error?.status == 401 && error?.description.contains("WRONG") == false)
    }
}

@Suite struct JSONScanTests {
    @Test func findsOnlyTopLevelUnescapedStrings() {
        func scan(_ json: String) -> String? { JSONScan.topLevelString("nextPageToken", in: Data(json.utf8)) }
        #expect(scan(#"{"etag":"\"x\"","items":[{"nextPageToken":"inner"}],"nextPageToken" : "abc-_1"}"#) == "abc-_1")
        #expect(scan(#"{"items":[{"nextPageToken":"inner"}]}"#) == nil)
        #expect(scan(#"{"note":"\"nextPageToken\":\"fake\"","kind":"x"}"#) == nil)
        #expect(scan(#"{"nextPageToken":"a\/b"}"#) == nil)  // escaped: left to the decoder
        #expect(scan(#"{"nextPageToken":12}"#) == nil)
        #expect(scan(#"{"nextPageToken":"trunc"#) == nil)
    }
}
