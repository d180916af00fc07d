import Foundation
import Logging
import StethoscopeCore
import StethoscopeHTTP
@_spi(Benchmarks) import StethoscopeSources
import StethoscopeTestSupport

/// 20,000 computers from the fake Jamf server with 100 ms latency per request and 5 connections:
/// wall time against the latency floor, decode throughput against a bare JSONDecoder, requests per page.
func benchJamf() async throws {
    let computers = 20_000
    let pageSize = 100
    let connections = 5
    let latency = 0.1
    let sections = JamfPageDecoding.defaultSections
    let fake = try FakeServer(
        "fake_jamf.py",
        [
            "--generate", "\(computers)", "--latency-ms", "\(Int(latency * 1000))",
            "--warm-sections", sections.joined(separator: ",")
        ])
    let url = "http://127.0.0.1:\(fake.port)"
    let yaml = """
        sources:
          - {name: jamf, type: jamf, url: "\(url)", username: batch, password: hunter2-password,
             page_size: \(pageSize), max_connections: \(connections)}
        """
    let config = try StethoscopeConfig.parse(yaml: yaml)
    let plugin = try PluginRegistry.plugin(for: config.sources[0])
    let source = try plugin.deviceSource(config.sources[0], PluginEnvironment(logger: Logger(label: "bench")))
    let figures = FigureCounter(kind: "device", plugin: "jamf")
    let context = PullContext(asOf: "2026-03-02", now: Date(), figures: figures, logger: Logger(label: "bench"))

    let clock = ContinuousClock()
    var records: [SourceRecord] = []
    let wall = try await clock.measure { records = try await source.pull(context) }
    let seconds = wall.seconds
    let pages = (computers + pageSize - 1) / pageSize
    let floor = Double(pages) * latency / Double(connections)
    let f = figures.snapshot()
    print(String(format: "http.jamf_pull_s=%.3f floor_s=%.3f ratio=%.3f records=%d", seconds, floor, seconds / floor, records.count))
    print("http.jamf_requests=\(f.requests) pages=\(pages) auth=1 retries=\(f.retries) expected=\(pages + 1)")

    // Decode throughput over the very bytes the pull got: the source's decode + mapping vs a bare JSONDecoder.
    var o = HTTPOptions()
    o.maxConnections = connections
    let http = SourceHTTP(
        client: HTTPClient.shared, source: "jamf-bytes", baseURL: url,
        auth: JamfUserAuth(user: "batch", password: Secret("hunter2-password")), options: o)
    let query = sections.map { "section=\($0)" }.joined(separator: "&")
    var bodies: [Data] = []
    for page in 0..<20 {
        bodies.append(try await http.get("/api/v3/computers-inventory?\(query)&page=\(page)&page-size=\(pageSize)&sort=id:asc", figures: nil).body)
    }
    let bytes = bodies.reduce(0) { $0 + $1.count }
    func best(_ body: (Data) throws -> Int) throws -> Double {
        var fastest = Double.infinity
        for _ in 0..<5 {
            let start = clock.now
            for b in bodies { _ = try body(b) }
            let d = clock.now - start
            fastest = min(fastest, d.seconds)
        }
        return Double(bytes) / fastest / 1e6
    }
    let bare = try best(JamfPageDecoding.bare)
    let sourceRate = try best(JamfPageDecoding.source)
    print(String(format: "http.jamf_decode_mb_per_s=%.1f bare_jsondecoder_mb_per_s=%.1f ratio=%.2f", sourceRate, bare, sourceRate / bare))
}
