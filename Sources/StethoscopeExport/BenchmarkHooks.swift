import Foundation
import StethoscopeStore

// The one seam between the export and `Benchmarks/`, behind `@_spi(Benchmarks)`: only `stethoscope-bench`
// imports it (ExportBench posts these very bodies with curl as its baseline).

@_spi(Benchmarks) extension NightExporter {
    /// Calls `body` with each `_bulk` body of the night, as the export would send them (the benchmark's curl baseline).
    public func bulkBodies(asOf: String, store: SnapshotStore, _ body: (Data) throws -> Void) throws {
        let reader = try NightDocuments(
            database: store.database, asOf: asOf, index: config.index.name(asOf: asOf),
            generation: "dry-run", after: 0)
        var chunks = ChunkBuilder(reader: reader, byteLimit: config.chunkBytes, maxDocuments: config.chunkDocuments)
        while let chunk = try chunks.next() { try body(chunk.body) }
    }

    /// The `_bulk` URL the export posts to (with its `filter_path`).
    public var bulkURL: String { BulkSender(config: config, client: client).bulkURL }
}
