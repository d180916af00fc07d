import Testing

@testable import StethoscopeCore

@Suite struct IdentifierTests {
    let n = IdentifierNormalizer(extraPlaceholders: ["  chassis-001 "])

    func id(_ kind: IdentifierKind, _ v: String) -> Identifier? {
        if case .success(let i) = n.normalize(RawIdentifier(kind, v)) { return i }
        return nil
    }
    func why(_ kind: IdentifierKind, _ v: String) -> IdentifierNormalizer.Rejection? {
        if case .failure(let r) = n.normalize(RawIdentifier(kind, v)) { return r }
        return nil
    }

    @Test func serialsAreTrimmedAndUpperCased() {
        #expect(id(.serial, "  c02xk1abjg5h \t")?.value == "C02XK1ABJG5H")
    }

    @Test(arguments: [
        "", "0", "000000", "To be filled by O.E.M.", "System Serial Number", "Default string",
        "123456789", "not available", "CHASSIS-001", "ab"
    ])
    func placeholderSerialsAreRejected(_ s: String) {
        #expect(why(.serial, s) == .placeholderSerial)
    }

    @Test(arguments: ["a4:83:e7:12:34:56", "A4-83-E7-12-34-56", "a483.e712.3456", "A483E7123456", " a4:83:e7:12:34:56 "])
    func macNotationsNormalize(_ s: String) {
        #expect(id(.mac, s)?.value == "A4:83:E7:12:34:56")
    }

    @Test func badMACsAreRejectedWithReasons() {
        #expect(why(.mac, "01:00:5e:00:00:fb") == .multicastMAC)
        #expect(why(.mac, "02:42:ac:11:00:02") == .localMAC)  // Docker bridge: locally administered
        #expect(why(.mac, "da:a1:19:00:11:22") == .localMAC)  // randomized Wi-Fi MAC
        #expect(why(.mac, "00:00:00:00:00:00") == .nullMAC)
        #expect(why(.mac, "ff:ff:ff:ff:ff:ff") == .multicastMAC || why(.mac, "ff:ff:ff:ff:ff:ff") == .nullMAC)
        #expect(why(.mac, "a4:83:e7:12:34") == .malformedMAC)
        #expect(why(.mac, "a4:83:e7:12:34:zz") == .malformedMAC)
        #expect(why(.mac, "a4:83:e7:12:34:56:78") == .malformedMAC)
    }

    @Test func imeiAndMeidKeepDigits() {
        #expect(id(.imei, "35 209900 176148 1")?.value == "352099001761481")
        #expect(why(.imei, "12345") == .malformedNumber)
        #expect(why(.imei, "000000000000000") == .malformedNumber)
        #expect(id(.meid, "a0-000012-345678")?.value == "A0000012345678")
    }
}
