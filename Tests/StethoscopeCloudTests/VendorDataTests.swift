import Foundation
import Logging
import StethoscopeCore
import StethoscopeStore
import Testing

@testable import StethoscopeApp
@testable import StethoscopeSources

/// Vendors' payloads as real tenants send them (issue 14): records missing required fields, booleans as `0`
/// and `"true"`, Google Sync ids, Android 8+, Chromebooks past their auto-update expiration.
@Suite struct VendorDataTests {
    /// One night of Google alone, against a fake tenant that strips required fields from some records and sends
    /// every boolean as a string.
    @Test func aRudeGoogleTenantStillGivesACorrectNight() async throws {
        let google = try Cloud.google([
            "--chromeos-fixture", Cloud.fixture("google", "chromeosdevices-aue.json"),
            "--drop-field", "mobile:resourceId:2", "--drop-field", "chromeos:deviceId:4",
            "--drop-field", "users:primaryEmail:10", "--booleans", "string"
        ])
        let dir = try Cloud.temporaryDirectory()
        let yaml = """
            timezone: UTC
            directory: {type: google, name: gdir, \(Cloud.googleKeys(google)), page_size: 3}
            sources:
              - {name: google, type: google, \(Cloud.googleKeys(google)), page_size: 2, chromeos_page_size: 2}
            """
        let (outcome, store) = try await Cloud.runNight(yaml, in: dir)
        #expect(outcome.status == .complete, "failed: \(outcome.failedSources)")
        let db = store.database
        func status(_ serial: String, _ practice: String) throws -> String? {
            try db.value(
                """
                SELECT r.status FROM practice_results r JOIN device_keys k ON k.device_id = r.device_id
                WHERE k.device_key = 'serial:\(serial)' AND r.practice = '\(practice)'
                """)
        }

        // Each record without its required field is rejected alone, counted and named; the rest of its page stays.
        let g = try #require(try db.rows("SELECT rejected, rejected_reasons FROM run_sources WHERE source = 'google'").first)
        #expect(g[0] == "2")
        #expect(g[1]?.contains("mobile devices page 1: record rejected: missing resourceId") == true)
        #expect(g[1]?.contains("chromeos devices page 2: record rejected: missing deviceId") == true)
        #expect(try db.value("SELECT rejected FROM run_sources WHERE source = 'gdir'") == "1")
        #expect(try db.value("SELECT count(*) FROM device_keys WHERE device_key = 'serial:ZY22CAROL7'") == "0")  // the stripped Moto
        #expect(try status("F2LZK1ABCD12", "jailbreak") == "warn")  // the iPhone on the same page as the Moto
        #expect(try db.value("SELECT count(*) FROM devices") == "9")  // 5 of 6 mobile + 4 of 5 Chromebooks
        #expect(try db.value("SELECT count(*) FROM people") == "9")  // jo was stripped of primaryEmail; IVY duplicates ivy

        // Booleans sent as "true"/"false" are read: the Pixel's ADB and developer options are off.
        #expect(try status("R58N41ABCDE", "adb") == "ok" && status("R58N41ABCDE", "developer_options") == "ok")
        // Android 8 and later: unknown sources is a per-app permission, so the practice does not apply.
        #expect(try status("R58N41ABCDE", "unknown_sources") == "na")  // Android 14, flag true
        #expect(try status("R58SHARED05", "unknown_sources") == "na")  // Android 13, flag false

        // ChromeOS: a current, verified Chromebook is green (screen lock, which no source can read there, is na).
        let green = try db.rows(
            """
            SELECT r.practice, r.status FROM practice_results r JOIN device_keys k ON k.device_id = r.device_id
            WHERE k.device_key = 'serial:5CDGREEN001' ORDER BY r.practice
            """)
        #expect(!green.isEmpty && green.allSatisfy { $0[1] == "ok" || $0[1] == "na" }, "\(green)")
        #expect(try status("5CDGREEN001", "screen_lock") == "na" && status("5CDGREEN001", "developer_options") == "ok")
        // Past the auto-update expiration, a current version is still not up to date.
        #expect(try status("5CDEXPIRED2", "os_version") == "warn")
        #expect(
            try db.value(
                """
                SELECT r.value FROM practice_results r JOIN device_keys k ON k.device_id = r.device_id
                WHERE k.device_key = 'serial:5CDEXPIRED2' AND r.practice = 'os_version'
                """) == "auto-update expired 2025-08-01")
        #expect(try status("5CDEXPIRED3", "os_version") == "warn")  // the deprecated autoUpdateExpiration (ms)
        // Developer boot mode informs developer options as well as verified boot.
        #expect(try status("5CDDEVMODE4", "developer_options") == "nudge" && status("5CDDEVMODE4", "verified_boot") == "warn")
    }

    static func mobile(_ json: String) throws -> MobileDevice {
        try JSONDecoder().decode(MobileDevice.self, from: Data(json.utf8))
    }

    @Test func aGoogleSyncDeviceIdIsKeptAsItsOwnIdentifier() throws {
        // A Google Sync record whose deviceId is not its serial: it used to be filed as a second serial, which the
        // merge drops (a record has one serial), so nothing could match on it.
        let sync = try Self.mobile(
            """
            {"resourceId": "R1", "deviceId": "5f0c2a9e-sync-device", "serialNumber": "C02SYNCMAC1", "type": "GOOGLE_SYNC",
             "os": "macOS 15.2", "lastSync": "2026-03-01T20:00:00.000Z"}
            """)
        let r = GoogleMapping.mobile(sync, source: "google")
        #expect(r.identifiers.filter { $0.kind == .serial } == [RawIdentifier(.serial, "C02SYNCMAC1")])
        #expect(r.identifiers.contains(RawIdentifier(.googleDeviceID, "5f0c2a9e-sync-device")))
        let merged = DeviceMerger().merge([r])
        #expect(merged.groups.count == 1 && merged.groups[0].key == "serial:C02SYNCMAC1")
        #expect(merged.groups[0].identifiers.contains(Identifier(.googleDeviceID, "5f0c2a9e-sync-device")))
        // Without a serial, the deviceId stands in for it (Google documents it as the serial), so Jamf's Mac merges.
        let bare = GoogleMapping.mobile(try Self.mobile(#"{"resourceId": "R2", "deviceId": "fvfxc0deq6l4", "type": "GOOGLE_SYNC"}"#), source: "google")
        #expect(Set(bare.identifiers) == [RawIdentifier(.googleDeviceID, "fvfxc0deq6l4"), RawIdentifier(.serial, "fvfxc0deq6l4")])
        // Android and iOS device ids stay vendor device ids.
        let pixel = GoogleMapping.mobile(try Self.mobile(#"{"resourceId": "R3", "deviceId": "3f2a9c1e", "type": "ANDROID"}"#), source: "google")
        #expect(pixel.identifiers == [RawIdentifier(.deviceID, "3f2a9c1e")])
    }

    @Test func bitFitSendsZeroForFalseAndTheSourceGoesOn() async throws {
        let expected: Set<OwnerAssignment> = [
            OwnerAssignment(RawIdentifier(.serial, "R58SHARED05"), email: "carol@example.com"),
            OwnerAssignment(RawIdentifier(.serial, "C02CDIAZ0001"), email: "carol@example.com"),
            OwnerAssignment(RawIdentifier(.mac, "F0:18:98:AA:BB:CC"), email: "carol@example.com"),
            OwnerAssignment(RawIdentifier(.udid, "5C1A9E2B-0000-4B8A-9C21-0D4E6F8A1B2C"), email: "carol@example.com"),
            OwnerAssignment(RawIdentifier(.serial, "KIOSK0001"), email: "dlee@example.com")
        ]
        for booleans in ["numeric", "string"] {
            let fake = try FakeServer("fake_bitfit.py", ["--fixture", Cloud.fixture("bitfit", "bitfit.json"), "--booleans", booleans])
            let bitfit = try Cloud.attribution("attribution:\n  - {type: bitfit, url: \"\(fake.url)\", api_token: bitfit-t0ken}")
            #expect(Set(try await bitfit.assignments(Cloud.context())) == expected, "\(booleans)")
        }
    }

    /// Every vendor model reads its booleans liberally: JSON booleans, 0/1, "true"/"false"; other text is absent.
    @Test func everyVendorModelReadsLooseBooleans() throws {
        let d = JSONDecoder()
        for (text, want) in [
            ("true", true), ("0", false), ("1", true), (#""false""#, false), (#""TRUE""#, true), (#""1""#, true),
            ("null", nil), (#""Unknown""#, nil), ("2", nil)
        ] as [(String, Bool?)] {
            let jamf = try d.decode(
                JamfComputer.self,
                from: Data(
                    #"{"id": "1", "security": {"firewallEnabled": \#(text), "autoLoginDisabled": \#(text)}, "diskEncryption": {"fileVault2Enabled": \#(text)}}"#
                        .utf8))
            #expect(
                jamf.security?.firewallEnabled == want && jamf.security?.autoLoginDisabled == want && jamf.diskEncryption?.fileVault2Enabled == want,
                "jamf \(text)")
            let classic = try d.decode(ClassicComputer.self, from: Data(#"{"security": {"firewall_enabled": \#(text)}}"#.utf8))
            #expect(classic.security?.firewall_enabled == want, "classic \(text)")
            let fleet = try d.decode(FleetHost.self, from: Data(#"{"id": 1, "disk_encryption_enabled": \#(text)}"#.utf8))
            #expect(fleet.disk_encryption_enabled == want, "fleet \(text)")
            let intune = try d.decode(ManagedDevice.self, from: Data(#"{"id": "x", "isEncrypted": \#(text)}"#.utf8))
            #expect(intune.isEncrypted == want, "intune \(text)")
            let entra = try d.decode(EntraUser.self, from: Data(#"{"accountEnabled": \#(text)}"#.utf8))
            #expect(entra.accountEnabled == want, "entra \(text)")
            let mobile = try d.decode(
                MobileDevice.self,
                from: Data(#"{"resourceId": "r", "adbStatus": \#(text), "developerOptionsStatus": \#(text), "unknownSourcesStatus": \#(text)}"#.utf8))
            #expect(mobile.adbStatus == want && mobile.developerOptionsStatus == want && mobile.unknownSourcesStatus == want, "google \(text)")
            let user = try d.decode(
                GoogleUser.self,
                from: Data(#"{"primaryEmail": "a@b.c", "suspended": \#(text), "archived": \#(text), "organizations": [{"primary": \#(text)}]}"#.utf8))
            #expect(user.suspended == want && user.archived == want && user.organizations?.first?.primary == want, "google user \(text)")
            let asset = try d.decode(BitFit.Asset.self, from: Data(#"{"id": 1, "is_deleted": \#(text)}"#.utf8))
            #expect(asset.is_deleted == want, "bitfit \(text)")
        }
        // Absent stays absent.
        #expect(try d.decode(FleetHost.self, from: Data(#"{"id": 1}"#.utf8)).disk_encryption_enabled == nil)
    }
}
