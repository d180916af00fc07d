import Foundation
import Logging
import StethoscopeCore
@_spi(Benchmarks) import StethoscopeExport
import StethoscopeHTTP
import StethoscopeStore
import StethoscopeTestSupport

/// Issue 6: export 100,000 device documents of one night (13 practices each) to osmem-server, against
/// `curl --data-binary` posting the very same `_bulk` chunks to the same server, with as many in flight;
/// and the export's peak RSS growth for 25,000 vs 100,000 documents: streamed, it is bounded by the chunks in
/// flight (each held twice: for item retries and by curl) plus the one being built, not by the night.
/// `EXPORT_BENCH_DOCS` overrides the document count (the server indexes at a few thousand documents a second).
func benchExport() async throws {
    let documents = Int(ProcessInfo.processInfo.environment["EXPORT_BENCH_DOCS"] ?? "") ?? 100_000
    let small = max(1, documents / 4)
    let connections = 4
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-exportbench-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }

    let store = try SnapshotStore(path: dir.appendingPathComponent("s.db"))
    for (asOf, count) in [("2026-12-01", documents), ("2026-11-02", small)] {
        let night = BenchNight(count: count)
        var record = night.record
        record.asOf = asOf
        try store.writeNight(record, devices: night.devices)
    }
    let server = try OpenSearchServer()
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let config = ElasticsearchConfig(url: server.url, maxConnections: connections)
    let exporter = NightExporter(config: config, logger: logger)
    try await exporter.installTemplate()

    // The export's memory: RSS sampled during each export, minus RSS just before it. Small night first, so
    // memory freed by the big one cannot hide growth.
    let smallGrowth = try await RSSSampler.growth { try await exporter.export(asOf: "2026-11-02", store: store) }

    // curl: the same chunks from files, `--parallel-max` as many as the export keeps in flight.
    var curlConfig = ""
    var bytes = 0
    var chunkCount = 0
    try exporter.bulkBodies(asOf: "2026-12-01", store: store) { body in
        let file = dir.appendingPathComponent("chunk-\(chunkCount).ndjson")
        try body.write(to: file)
        bytes += body.count
        curlConfig +=
            (chunkCount == 0 ? "" : "next\n") + "url = \"\(exporter.bulkURL)\"\n"
            + "header = \"Content-Type: application/x-ndjson\"\ndata-binary = \"@\(file.path)\"\noutput = \"/dev/null\"\n"
        chunkCount += 1
    }
    let curlFile = dir.appendingPathComponent("curl.cfg")
    try curlConfig.write(to: curlFile, atomically: true, encoding: .utf8)
    let index = config.index.name(asOf: "2026-12-01")
    let clock = ContinuousClock()
    let curlTime = try clock.measure {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = ["curl", "-sS", "--no-progress-meter", "-Z", "--parallel-max", "\(connections)", "-K", curlFile.path]
        try curl.run()
        curl.waitUntilExit()
        guard curl.terminationStatus == 0 else { throw BenchError(description: "curl exited \(curl.terminationStatus)") }
    }
    let curlCount = try await server.count(index)
    guard curlCount == documents else { throw BenchError(description: "curl indexed \(curlCount) of \(documents)") }
    _ = try await server.call("DELETE", "/\(index)")  // the export creates the same documents afresh, like curl did

    var record: ExportRecord?
    let start = clock.now
    let bigGrowth = try await RSSSampler.growth { record = try await exporter.export(asOf: "2026-12-01", store: store) }
    let exportTime = clock.now - start
    let exportCount = try await server.count(index)
    guard record?.status == .complete, exportCount == documents else {
        throw BenchError(description: "export: \(record?.status.rawValue ?? "?"), \(exportCount) of \(documents) indexed")
    }
    func secs(_ d: Duration) -> Double { d.seconds }
    let exportRate = Double(documents) / secs(exportTime)
    let curlRate = Double(documents) / secs(curlTime)
    print(
        String(
            format: "export.docs_per_s=%.0f curl_docs_per_s=%.0f ratio=%.2f limit=0.7 documents=%d chunks=%d mb=%.1f in_flight=%d",
            exportRate, curlRate, exportRate / curlRate, documents, chunkCount, Double(bytes) / 1e6, connections))
    let boundMB: Double = Double((2 * connections + 2) * config.chunkBytes) / 1_048_576
    print(
        String(
            format: "export.rss_growth_mb_%dk=%.1f rss_growth_mb_%dk=%.1f ratio=%.2f chunk_bound_mb=%.0f ndjson_mb=%.0f",
            small / 1000, smallGrowth, documents / 1000, bigGrowth, bigGrowth / max(smallGrowth, 1), boundMB,
            Double(bytes) / 1_048_576))
}

/// Resident memory of this process (from /proc/self/statm), sampled every 10 ms while `body` runs.
enum RSSSampler {
    static func currentMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = Double(text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0)
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    /// Peak RSS during `body` minus RSS before it, in MB.
    static func growth(_ body: () async throws -> Void) async throws -> Double {
        let before = currentMB()
        let peak = Peak()
        let sampler = Task.detached {
            while !Task.isCancelled {
                peak.note(currentMB())
                try? await Task.sleep(nanoseconds: 10_000_000)
            }
        }
        try await body()
        sampler.cancel()
        _ = await sampler.value
        peak.note(currentMB())
        return max(0, peak.value - before)
    }

    final class Peak: @unchecked Sendable {
        private let lock = NSLock()
        private var highest = 0.0
        func note(_ v: Double) { lock.withLock { highest = max(highest, v) } }
        var value: Double { lock.withLock { highest } }
    }
}
