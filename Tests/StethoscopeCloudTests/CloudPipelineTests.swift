import Foundation
import Logging
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeApp

/// One night with Jamf, Google (mobile, ChromeOS, Directory users), Intune and two attribution sources, all
/// against strict fakes with injected quota errors, a bare 429 and expired tokens, written to SQLite.
@Suite struct CloudPipelineTests {
    @Test func aNightOfEveryPlatformLandsInSQLite() async throws {
        let google = try Cloud.google()
        let graph = try Cloud.graph()
        let jamf = try FakeServer("fake_jamf.py", ["--fixture", Cloud.fixture("jamf", "computers.json")])
        let bitfit = try FakeServer("fake_bitfit.py", ["--fixture", Cloud.fixture("bitfit", "bitfit.json")])
        try await google.fault([
            ["mode": "403_rate_limit", "path": "/admin/directory/v1/customer/my_customer/devices/mobile", "page": 1, "count": 1],
            ["mode": "429_no_retry_after", "path": "/admin/directory/v1/customer/my_customer/devices/chromeos", "page": 0, "count": 1],
            ["mode": "403_quota", "path": "/admin/directory/v1/users", "page": 1, "count": 2]
        ])
        try await graph.fault([
            ["mode": "expire_tokens", "path": "/v1.0/deviceManagement/managedDevices", "page": 1, "count": 1],
            ["mode": "429_no_retry_after", "path": "/v1.0/deviceManagement/managedDevices", "page": 0, "count": 1]
        ])
        let dir = try Cloud.temporaryDirectory()
        let yaml = """
            timezone: UTC
            directory: {type: google, name: gdir, \(Cloud.googleKeys(google)), page_size: 3}
            sources:
              - {name: jamf, type: jamf, url: "\(jamf.url)", username: batch, password: hunter2-password}
              - {name: google, type: google, \(Cloud.googleKeys(google)), page_size: 2, chromeos_page_size: 2}
              - {name: intune, type: intune, \(Cloud.graphKeys(graph)), page_size: 2}
            attribution:
              - {name: zz-assets, type: asset_csv, path: "\(Cloud.fixture("asset_csv", "assets.csv"))",
                 columns: {serial: Serial Number, mac: [Wi-Fi MAC, Ethernet MAC], email: Assigned To}}
              - {name: bitfit, type: bitfit, url: "\(bitfit.url)", api_token: bitfit-t0ken}
            practices:
              intune_compliance: {title: Intune compliance, rating: medium, platforms: [Windows, iOS, Android, Mac]}
            """
        let (outcome, store) = try await Cloud.runNight(yaml, in: dir)
        #expect(outcome.status == .complete, "failed: \(outcome.failedSources)")
        let db = store.database

        func device(_ serial: String) throws -> [String?] {
            try #require(
                try db.rows(
                    """
                    SELECT d.platform, d.sources, d.owner, d.owner_method, d.owner_via, d.os_version, d.identifiers
                    FROM devices d JOIN device_keys k ON k.device_id = d.device_id WHERE k.device_key = 'serial:\(serial)'
                    """
                ).first, "no device serial:\(serial)")
        }
        func status(_ serial: String, _ practice: String) throws -> String? {
            try db.value(
                """
                SELECT r.status FROM practice_results r JOIN device_keys k ON k.device_id = r.device_id
                WHERE k.device_key = 'serial:\(serial)' AND r.practice = '\(practice)'
                """)
        }
        // 5 Macs + 6 mobile (one is the Mac's Google Sync record, one Intune's iPhone) + 2 Chromebooks (one was
        // deprovisioned) + 4 Intune devices (the iPhone merged) = 15 devices.
        #expect(try db.value("SELECT devices FROM runs") == "15")

        // Mac: Jamf and Google Sync (deviceId = serial in lower case, same Wi-Fi MAC) are one device.
        let mac = try device("FVFXC0DEQ6L4")
        #expect(mac[0] == "Mac" && mac[1] == "google,jamf" && mac[2] == "ajones@example.com")
        #expect(try status("FVFXC0DEQ6L4", "encryption") == "ok")

        // iOS: Google (newer) says compromised, Intune (older) says not jailbroken; Intune alone knows encryption.
        let phone = try device("F2LZK1ABCD12")
        #expect(phone[0] == "iOS" && phone[1] == "google,intune" && phone[2] == "bchan@example.com" && phone[4] == "google")
        #expect(try status("F2LZK1ABCD12", "jailbreak") == "warn")
        #expect(try status("F2LZK1ABCD12", "encryption") == "ok")
        #expect(try status("F2LZK1ABCD12", "screen_lock") == "unknown")
        #expect(try status("F2LZK1ABCD12", "intune_compliance") == "warn")
        #expect(try status("F2LZK1ABCD12", "os_version") == "nudge")  // 17.3 < recommended 18.2

        // Android: a good Pixel and an old, open Moto.
        for p in ["jailbreak", "encryption", "adb", "developer_options", "screen_lock", "os_version"] {
            #expect(try status("R58N41ABCDE", p) == "ok", "pixel \(p)")
        }
        #expect(try status("R58N41ABCDE", "unknown_sources") == "na")  // not a device-wide setting on Android 14
        #expect(try device("R58N41ABCDE")[6]?.contains(#"{"kind":"imei","value":"356938035643809"}"#) == true)
        let moto = try device("ZY22CAROL7")
        #expect(moto[0] == "Android" && moto[2] == "carol@example.com")  // "Carol@Example.com" resolved
        #expect(moto[6]?.contains(#"{"kind":"imei","value":"352099001761481"}"#) == true)
        for (p, s) in [
            ("unknown_sources", "warn"), ("adb", "nudge"), ("developer_options", "nudge"), ("encryption", "warn"),
            ("screen_lock", "warn"), ("os_version", "warn")
        ] {
            #expect(try status("ZY22CAROL7", p) == s, "moto \(p)")
        }
        #expect(try status("R58EVE0006", "jailbreak") == "unknown")  // "Undetected"
        let rooted = try device("RZ8JOROOT1")
        #expect(rooted[2] == "jo@example.com" && rooted[4] == "intune")  // UPN in upper case
        #expect(try status("RZ8JOROOT1", "jailbreak") == "warn")

        // ChromeOS: the recent managed user beats the annotated user; developer mode fails verified boot.
        let cros = try device("5CD1234XYZ")
        #expect(cros[0] == "ChromeOS" && cros[2] == "carol@example.com" && cros[5] == "122.0.6261.132")
        #expect(cros[6]?.contains(#"{"kind":"mac","value":"3C:5A:B4:F0:A1:B2"}"#) == true)
        #expect(try status("5CD1234XYZ", "verified_boot") == "ok")
        #expect(try status("5CD1234XYZ", "encryption") == "ok")
        let dev = try device("5CDDEVMODE2")
        #expect(dev[2] == "dlee@example.com" && dev[6]?.contains("00:E0:4C:68:00:01") == false)  // no dock MAC
        #expect(try status("5CDDEVMODE2", "verified_boot") == "warn")
        #expect(try db.value("SELECT count(*) FROM device_keys WHERE device_key = 'serial:5CDRETIRED3'") == "0")

        // The documentation's sample IMEI sits on both a Pixel and Intune's iPhone: two serials, kept apart, audited.
        #expect(try db.rows("SELECT shared, conflicting FROM merge_audit") == [["imei:356938035643809", "serial:F2LZK1ABCD12 serial:R58N41ABCDE"]])

        // Windows from Intune.
        let laptop = try device("PF3ABCDE")
        #expect(laptop[0] == "Windows" && laptop[2] == "ajones@example.com" && laptop[3] == "source_hint")
        #expect(try status("PF3ABCDE", "encryption") == "ok" && status("PF3ABCDE", "intune_compliance") == "ok")

        // Attribution: the first configured source wins across a device's identifiers (zz-assets by MAC over
        // bitFit by serial), bitFit fills what the CSV leaves blank, and a former employee stays the owner.
        #expect(try device("R58SHARED05")[2...4] == ["frank@example.com", "attribution", "zz-assets"])
        #expect(try device("KIOSK0001")[2...4] == ["eve@example.com", "attribution", "zz-assets"])
        #expect(try device("C02CDIAZ0001")[2...4] == ["carol@example.com", "attribution", "bitfit"])
        let owners = try db.rows("SELECT owner_method, owner_via, devices, no_owner, former_employee_owner FROM daily_ownership ORDER BY 1, 2")
        #expect(owners.contains(["attribution", "zz-assets", "2", "0", "1"]))
        #expect(owners.contains(["attribution", "bitfit", "1", "0", "0"]))
        #expect(try db.value("SELECT SUM(former_employee_owner) FROM daily_ownership") == "2")  // kiosk + eve's Pixel
        #expect(try db.value("SELECT SUM(no_owner) FROM daily_ownership") == db.value("SELECT count(*) FROM devices WHERE owner IS NULL"))

        // People: managers, organizations (department), inactive kept, directory problems counted.
        let people = try db.rows("SELECT email, manager_email, organization, active FROM people ORDER BY email")
        #expect(people.count == 10)  // IVY@example.com duplicates ivy@example.com
        #expect(people.contains(["ajones@example.com", "dlee@example.com", "Platform", "1"]))
        #expect(people.contains(["carol@example.com", "ajones@example.com", "Support", "1"]))
        #expect(people.contains(["eve@example.com", "dlee@example.com", "Platform", "0"]))
        #expect(people.contains(["jo@example.com", "dlee@example.com", "Mobile", "1"]))
        let errors = try #require(try db.value("SELECT errors FROM run_sources WHERE source = 'gdir'"))
        for kind in ["directory_duplicate_email_case\":1", "directory_manager_case\":1", "directory_dangling_manager\":1", "directory_manager_cycle\":2"] {
            #expect(errors.contains(kind), "\(kind) in \(errors)")
        }
        #expect(try db.value("SELECT organization FROM latest_devices WHERE device_key = 'serial:ZY22CAROL7'") == "Support")

        // Figures: quota answers and the bare 429 were retried; the expired Graph token was replaced once.
        let g = try db.rows("SELECT pages, requests, retries FROM run_sources WHERE source = 'google'").first
        #expect(g == ["5", "8", "2"])  // 3 mobile + 2 ChromeOS pages, 1 token, 2 retries
        #expect(try db.value("SELECT retries FROM run_sources WHERE source = 'gdir'") == "2")
        #expect(try await graph.stats().paths["/contoso.onmicrosoft.com/oauth2/v2.0/token"] == 2)
        // The bare 429's retry and the re-send after the 401 (a re-authentication is a retry too); requests are
        // what Graph saw: 2 tokens, page 0 twice, page 1 twice.
        #expect(try db.rows("SELECT requests, retries FROM run_sources WHERE source = 'intune'").first == ["6", "2"])
    }
}
