import Foundation
import Logging
import StethoscopeCore
@_spi(Benchmarks) import StethoscopeSources
import StethoscopeTestSupport

/// 100,000 mobile devices (page size 100), 20,000 Chromebooks (300), 50,000 Intune devices (1,000) and 50,000
/// Directory users (500) from the fakes with 50 ms latency per request, every list concurrently. Token-paged
/// lists are sequential chains, so the floor is the longest chain (1,000 mobile pages) x 50 ms.
func benchCloud() async throws {
    let mobile = 100_000
    let chromeos = 20_000
    let intune = 50_000
    let users = 50_000
    let latency = 0.05
    let (mobilePage, chromePage, intunePage, userPage) = (100, 300, 1000, 500)
    // Both fakes pre-render their pages before printing the port; start them side by side.
    async let googleFake = Task.detached {
        try FakeServer(
            "fake_google.py",
            [
                "--generate-mobile", "\(mobile)", "--generate-chromeos", "\(chromeos)", "--generate-users", "\(users)",
                "--latency-ms", "\(Int(latency * 1000))",
                "--warm", "mobile:\(mobilePage),chromeos:\(chromePage),users:\(userPage)"
            ])
    }.value
    async let graphFake = Task.detached {
        try FakeServer(
            "fake_graph.py",
            [
                "--generate-devices", "\(intune)", "--latency-ms", "\(Int(latency * 1000))",
                "--warm", "devices:\(intunePage)", "--warm-select-devices", IntuneSelect.devices
            ])
    }.value
    let google = try await googleFake
    let graph = try await graphFake
    let key = TestPaths.fakes.appendingPathComponent("keys/test-service-account.json").path
    let g = "key_file: \(key), subject: admin@example.com, url: \"\(google.url)\", token_url: \"\(google.url)/token\""
    let yaml = """
        directory: {type: google, \(g), page_size: \(userPage)}
        sources:
          - {name: google, type: google, \(g), page_size: \(mobilePage), chromeos_page_size: \(chromePage)}
          - {name: intune, type: intune, tenant: contoso.onmicrosoft.com, client_id: 11111111-2222-3333-4444-555555555555,
             client_secret: graph-s3cret, url: "\(graph.url)/v1.0", token_url: "\(graph.url)/contoso.onmicrosoft.com/oauth2/v2.0/token",
             page_size: \(intunePage)}
        """
    let config = try StethoscopeConfig.parse(yaml: yaml)
    let env = PluginEnvironment(logger: Logger(label: "bench"))
    let directory = try PluginRegistry.plugin(for: config.directory!).directory(config.directory!, env)
    let devices = try config.sources.map { try PluginRegistry.plugin(for: $0).deviceSource($0, env) }
    let figures = [
        FigureCounter(kind: "directory", plugin: "google"), FigureCounter(kind: "device", plugin: "google"),
        FigureCounter(kind: "device", plugin: "intune")
    ]
    let contexts = figures.map { PullContext(asOf: "2026-03-02", now: Date(), figures: $0, logger: Logger(label: "bench")) }

    let clock = ContinuousClock()
    let start = clock.now
    @Sendable func timed(_ work: @Sendable () async throws -> Int) async throws -> (count: Int, seconds: Double) {
        let n = try await work()
        return (n, (clock.now - start).seconds)
    }
    async let people = timed { try await directory.people(contexts[0]).count }
    async let googleRecords = timed { try await devices[0].pull(contexts[1]).count }
    async let intuneRecords = timed { try await devices[1].pull(contexts[2]).count }
    let results = [try await people, try await googleRecords, try await intuneRecords]
    let seconds = (clock.now - start).seconds
    let counts = results.map(\.count)
    let chains = [
        ("mobile", (mobile + mobilePage - 1) / mobilePage), ("chromeos", (chromeos + chromePage - 1) / chromePage),
        ("intune", (intune + intunePage - 1) / intunePage), ("users", (users + userPage - 1) / userPage)
    ]
    let longest = chains.map(\.1).max()!
    let floor = Double(longest) * latency
    let pages = chains.reduce(0) { $0 + $1.1 }
    let f = figures.map { $0.snapshot() }
    let requests = f.reduce(0) { $0 + $1.requests }
    let retries = f.reduce(0) { $0 + $1.retries }
    print(String(format: "cloud.pull_s=%.3f floor_s=%.3f ratio=%.3f longest_chain_pages=%d", seconds, floor, seconds / floor, longest))
    print("cloud.requests=\(requests) pages=\(pages) auth=3 retries=\(retries) expected=\(pages + 3)")
    print("cloud.records users=\(counts[0]) google_devices=\(counts[1]) intune_devices=\(counts[2]) expected=\(users),\(mobile + chromeos),\(intune)")
    print(String(format: "cloud.done_at_s directory=%.3f google=%.3f intune=%.3f", results[0].seconds, results[1].seconds, results[2].seconds))
}
