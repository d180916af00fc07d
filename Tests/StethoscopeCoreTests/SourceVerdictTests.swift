import Foundation
import Testing

@testable import StethoscopeCore

/// What a source can say beyond ok / not ok (issue 14): "does not apply to this device", and "this OS gets no
/// more updates" for the up-to-date practice.
@Suite struct SourceVerdictTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000 + 86400)
    func evaluate(_ records: [SourceRecord]) -> DeviceSnapshot {
        let e = NightEvaluator(practices: .defaults, asOf: "2026-11-01", now: now, staleAfterDays: 14, orgChart: OrgChart([]))
        let r = DeviceMerger().merge(records)
        return e.evaluate(r.groups[0], records)
    }
    func result(_ d: DeviceSnapshot, _ key: String) -> PracticeResult? { d.results.first { $0.practice == key } }

    @Test func aNotApplicableObservationIsNA() {
        let phone = evaluate([
            record(
                "google", "p", [(.serial, "R58N41ABCDE")], platform: .android, os: "14",
                observations: [.notApplicable("unknown_sources", value: "per-app on Android 14")])
        ])
        #expect(result(phone, "unknown_sources")?.status == .na)
        #expect(result(phone, "unknown_sources")?.value == "per-app on Android 14")
        #expect(result(phone, "adb")?.status == .unknown)  // nothing said: still unknown
    }

    @Test func aFailingOSVersionObservationBeatsTheVersionNumber() {
        let expired = Observation("os_version", satisfied: false, value: "auto-update expired 2025-08-01")
        let cros = evaluate([
            record(
                "google", "c", [(.serial, "5CDEXPIRED2")], platform: .chromeOS, os: "131.0.6778.191",
                observations: [expired])
        ])
        #expect(result(cros, "os_version")?.status == .warn && result(cros, "os_version")?.value == "auto-update expired 2025-08-01")
        // A satisfied one does not lift a version below the rules.
        let old = evaluate([
            record(
                "google", "c", [(.serial, "5CDOLD00001")], platform: .chromeOS, os: "110.0",
                observations: [Observation("os_version", satisfied: true, value: "updates until 2031-06-01")])
        ])
        #expect(result(old, "os_version")?.status == .warn && result(old, "os_version")?.details?.contains("below required") == true)
        // ChromeOS by default: screen lock does not apply, developer mode does.
        #expect(result(cros, "screen_lock")?.status == .na && result(cros, "developer_options")?.status == .unknown)
    }

    @Test func googleDeviceIDsAreIdentifiersOfTheirOwnKind() throws {
        #expect(try IdentifierNormalizer().normalize(RawIdentifier(.googleDeviceID, " 5f0c2a9e ")).get() == Identifier(.googleDeviceID, "5f0c2a9e"))
        #expect(Identifier(.googleDeviceID, "x").description == "google_device_id:x")
        // Not a second serial: a record with a serial and a Google Sync id keeps both.
        let r = DeviceMerger().merge([record("google", "s", [(.serial, "C02SYNCMAC1"), (.googleDeviceID, "5f0c2a9e")])])
        #expect(r.groups[0].identifiers == [Identifier(.serial, "C02SYNCMAC1"), Identifier(.googleDeviceID, "5f0c2a9e")])
    }
}
