import Foundation
import Testing

/// Every fenced `sql` block in the README runs, with the sqlite3 shell analysts use, against a demo database.
@Suite struct ReadmeSQLTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    /// The text of each ```sql … ``` block, in order.
    static func sqlBlocks() throws -> [String] {
        var blocks: [String] = []
        var current: [Substring]? = nil
        for line in try String(contentsOf: readme, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current == nil, trimmed == "```sql" {
                current = []
            } else if current != nil, trimmed == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    @Test func everyExampleQueryRuns() throws {
        let blocks = try Self.sqlBlocks()
        #expect(!blocks.isEmpty)
        let dir = try temporaryDirectory()
        #expect(try runStethoscope(["demo", "--people", "120", "--nights", "4", "--out", dir.path]).code == 0)

        for block in blocks {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            p.arguments = ["-bail", "-readonly", dir.appendingPathComponent("stethoscope.db").path]
            let input = Pipe()
            let output = Pipe()
            let errors = Pipe()
            p.standardInput = input
            p.standardOutput = output
            p.standardError = errors
            try p.run()
            input.fileHandleForWriting.write(Data(block.utf8))
            try input.fileHandleForWriting.close()
            _ = output.fileHandleForReading.readAllRetrying()
            let err = String(decoding: errors.fileHandleForReading.readAllRetrying(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0 && err.isEmpty, "README query failed: \(err)\n\(block)")
        }
    }
}
