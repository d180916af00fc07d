import Foundation
import Testing

@testable import StethoscopeCore

/// The shared readers plugins use for their keys: an enum choice, an http(s) URL, a required path.
@Suite struct ConfigHelpersTests {
    enum Mode: String, CaseIterable { case pro, classic }

    func section(_ yaml: String) throws -> ConfigSection {
        try ConfigSection.parse(yaml: yaml, environment: [:], baseDirectory: URL(fileURLWithPath: "/etc/stethoscope"))
    }

    @Test func choiceReadsAnEnumAndNamesTheAllowedWords() throws {
        #expect(try section("mode: classic").choice("mode", default: Mode.pro) == .classic)
        #expect(try section("other: 1").choice("mode", default: Mode.pro) == .pro)
        let error = #expect(throws: ConfigError.self) { try section("mode: clasic").choice("mode", default: Mode.pro) }
        #expect(error?.description == "config mode (line 1): expected one of pro, classic, found 'clasic'")
        #expect(throws: ConfigError.self) { try section("other: 1").choice("mode") as Mode }
    }

    @Test func httpURLTakesHTTPAndHTTPSOnly() throws {
        #expect(try section("url: https://jamf.example.com").httpURL("url") == "https://jamf.example.com")
        #expect(try section("x: 1").httpURL("url", default: "http://localhost:8080") == "http://localhost:8080")
        let error = #expect(throws: ConfigError.self) { try section("url: ftp://jamf.example.com").httpURL("url") }
        #expect(error?.description == "config url (line 1): expected an http(s) URL")
        #expect(throws: ConfigError.self) { try section("x: 1").httpURL("url") }
    }

    @Test func requiredPathResolvesAgainstTheConfigFolderAndSaysWhatIsMissing() throws {
        #expect(try section("path: assets.csv").requiredPath("path", "the CSV file").path == "/etc/stethoscope/assets.csv")
        let error = #expect(throws: ConfigError.self) { try section("x: 1").requiredPath("path", "the CSV file") }
        #expect(error?.path == "path")
        #expect(error?.message == "is required (the CSV file)")
    }
}
