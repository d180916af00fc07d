import Foundation
import StethoscopeStore
import Testing

/// A run killed with SIGKILL in the middle of writing leaves the previous snapshot intact (one transaction, WAL).
@Suite struct CrashTests {
    @Test func sigkillDuringTheWriteLeavesThePreviousNightIntact() async throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("s.db")
        let config = dir.appendingPathComponent("c.yaml")
        let common = "seed: 5, people: 20000, start: \"2026-11-01\", nights: 5"
        try """
        directory: {type: demo, \(common)}
        sources:
          - {name: jamf, type: demo, feed: jamf, \(common)}
          - {name: mdm, type: demo, feed: mdm, \(common)}
          - {name: google, type: demo, feed: google, \(common)}
          - {name: fleet, type: demo, feed: fleet, \(common)}
        """.write(to: config, atomically: true, encoding: .utf8)

        func run(_ asOf: String, killAfterMerge: Bool) throws -> Int32 {
            let p = Process()
            p.executableURL = stethoscopeBinary()
            p.arguments = ["run", "--config", config.path, "--as-of", asOf, "--db", db.path]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            if killAfterMerge {
                // The write starts right after the "merged" line; kill a little into it.
                var seen = ""
                while !seen.contains("msg=merged") {
                    let chunk = err.fileHandleForReading.readSomeRetrying(upTo: 65_536)
                    if chunk.isEmpty { break }
                    seen += String(decoding: chunk, as: UTF8.self)
                }
                usleep(300_000)
                kill(p.processIdentifier, SIGKILL)
            }
            p.waitUntilExit()
            return p.terminationStatus
        }

        #expect(try run("2026-11-01", killAfterMerge: false) == 0)
        let store = try SnapshotStore(path: db)
        let before = try store.database.rows("SELECT as_of, devices, started_at FROM runs")
        let rows = try store.database.count("SELECT count(*) FROM practice_results")
        #expect(rows > 100_000)

        // Re-run the same night and a new one, killing each mid-write.
        for night in ["2026-11-01", "2026-11-02"] {
            let status = try run(night, killAfterMerge: true)
            #expect(status == SIGKILL, "the run finished before it could be killed; make the company larger")
            let check = try SnapshotStore(path: db)
            #expect(try check.database.rows("PRAGMA integrity_check") == [["ok"]])
            #expect(try check.database.rows("SELECT as_of, devices, started_at FROM runs") == before)
            #expect(try check.database.count("SELECT count(*) FROM practice_results") == rows)
        }
    }
}
