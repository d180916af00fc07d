import Foundation
import StethoscopeApp
import Testing

/// `stethoscope check` against the strict fakes: one line per source, the failure's reason, no secret printed.
@Suite struct CheckCommandTests {
    @Test func reportsEachSourceAndFailsWithoutLeakingSecrets() async throws {
        let token = "fleet-api-token-0123456789"
        let fleet = try FakeServer(
            "fake_fleet.py",
            [
                "--fixture", FakeServer.repo.appendingPathComponent("Sources/StethoscopeSources/Plugins/fleet/fixtures/hosts.json").path,
                "--token", token
            ])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let wrong = "wrong-token-that-must-not-print"
        try wrong.write(to: dir.appendingPathComponent("bad.token"), atomically: true, encoding: .utf8)
        try token.write(to: dir.appendingPathComponent("good.token"), atomically: true, encoding: .utf8)
        let config = dir.appendingPathComponent("c.yaml")
        try """
        database: \(dir.path)/s.db
        sources:
          - {name: fleet-good, type: fleet, url: "\(fleet.url)", token_file: good.token, retries: 1}
          - {name: fleet-bad, type: fleet, url: "\(fleet.url)", token_file: bad.token, retries: 1}
          - {name: fleet-down, type: fleet, url: "http://127.0.0.1:9", token_file: good.token, retries: 1}
          - {name: demo, type: demo, feed: jamf, people: 40}
        """.write(to: config, atomically: true, encoding: .utf8)

        let (code, lines) = await Check.run(configFile: config, database: nil, timeoutSeconds: 20)
        #expect(code == .failed)
        #expect(lines.map(\.name) == ["fleet-good", "fleet-bad", "fleet-down", "demo", "database"])
        #expect(lines.map(\.ok) == [true, false, false, true, true])
        let text = lines.map(Check.format).joined(separator: "\n")
        #expect(!text.contains(wrong) && !text.contains(token))
        #expect(lines[1].detail.contains("401") || lines[1].detail.lowercased().contains("auth"))
        #expect(lines[2].detail.contains("fleet-down"))

        // All good: exit 0. A config error: 78, with the key path.
        try """
        database: \(dir.path)/s.db
        sources:
          - {name: fleet-good, type: fleet, url: "\(fleet.url)", token_file: good.token}
        """.write(to: config, atomically: true, encoding: .utf8)
        #expect(await Check.run(configFile: config, database: nil).0 == .complete)
        try "sources:\n  - {name: f, type: fleet, url: \"http://127.0.0.1:1\", token: y, pagesize: 3}\n".write(to: config, atomically: true, encoding: .utf8)
        let (bad, badLines) = await Check.run(configFile: config, database: nil)
        #expect(bad == .config)
        #expect(badLines.first?.detail.contains("sources[0].pagesize") == true)
    }
}
