import Foundation
import Logging
import StethoscopeApp
import StethoscopeCore
import StethoscopeSources
import StethoscopeStore
// The launchers, folders and helpers every test target shares (FakeServer, TestPaths …), for every file here.
@_exported import StethoscopeTestSupport
import Testing

/// The fixtures and fakes of the cloud sources, started the way the tests need them.
enum Cloud {
    static func fixture(_ plugin: String, _ file: String) -> String { TestPaths.fixture(plugin, file).path }
    static let keyFile = FakeServer.fakes.appendingPathComponent("keys/test-service-account.json").path

    static func google(_ extra: [String] = []) throws -> FakeServer {
        try FakeServer(
            "fake_google.py",
            [
                "--mobile-fixture", fixture("google", "mobiledevices.json"),
                "--chromeos-fixture", fixture("google", "chromeosdevices.json"),
                "--users-fixture", fixture("google", "users.json")
            ] + extra)
    }
    static func graph(_ extra: [String] = []) throws -> FakeServer {
        try FakeServer(
            "fake_graph.py",
            [
                "--devices-fixture", fixture("intune", "managedDevices.json"),
                "--users-fixture", fixture("intune", "users.json")
            ] + extra)
    }

    /// Config keys of a google section pointing at `fake` (token URL included).
    static func googleKeys(_ fake: FakeServer, key: String = keyFile) -> String {
        "key_file: \(key), subject: admin@example.com, url: \"\(fake.url)\", token_url: \"\(fake.url)/token\", retry_base_s: 0.01"
    }
    static func graphKeys(_ fake: FakeServer, secret: String = "graph-s3cret") -> String {
        "tenant: contoso.onmicrosoft.com, client_id: 11111111-2222-3333-4444-555555555555, client_secret: \"\(secret)\", "
            + "url: \"\(fake.url)/v1.0\", token_url: \"\(fake.url)/contoso.onmicrosoft.com/oauth2/v2.0/token\", retry_base_s: 0.01"
    }

    static func config(_ yaml: String) throws -> StethoscopeConfig {
        try StethoscopeConfig.parse(yaml: yaml, environment: [:], baseDirectory: FakeServer.repo)
    }
    static func env() -> PluginEnvironment { PluginEnvironment(logger: Logger(label: "test")) }

    static func deviceSource(_ yaml: String) throws -> any DeviceSource {
        let c = try config(yaml)
        return try PluginRegistry.plugin(for: c.sources[0]).deviceSource(c.sources[0], env())
    }
    static func directory(_ yaml: String) throws -> any DirectorySource {
        let c = try config(yaml)
        return try PluginRegistry.plugin(for: c.directory!).directory(c.directory!, env())
    }
    static func attribution(_ yaml: String) throws -> any AttributionSource {
        let c = try config(yaml)
        return try PluginRegistry.plugin(for: c.attribution[0]).attribution(c.attribution[0], env())
    }

    /// Runs the night 2026-03-02 of `yaml` (written to `dir`/config.yaml) into `dir`/s.db, as `stethoscope run` does.
    static func runNight(_ yaml: String, in dir: URL) async throws -> (outcome: RunOutcome, store: SnapshotStore) {
        let file = dir.appendingPathComponent("config.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let night = try NightlyRun.prepare(configFile: file, logger: Logger(label: "test"))
        let store = try SnapshotStore(path: dir.appendingPathComponent("s.db"))
        return (try await night.run(asOf: "2026-03-02", now: Date(timeIntervalSince1970: 1_772_431_200), store: store), store)
    }

    static func context(_ figures: FigureCounter = FigureCounter(kind: "device", plugin: "test")) -> PullContext {
        PullContext(asOf: "2026-03-02", now: Date(timeIntervalSince1970: 1_772_431_200), figures: figures, logger: Logger(label: "test"))
    }

    static func temporaryDirectory(_ name: String = #function) throws -> URL {
        try StethoscopeTestSupport.temporaryDirectory(name, label: "cloud")
    }
}
