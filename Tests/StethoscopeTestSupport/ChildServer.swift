import Foundation

/// A child process that prints its address on its first stdout line and exits when its stdin closes, so a
/// crashed test or bench run leaves nothing behind: the one launcher of every fake and real server.
public final class ChildServer: @unchecked Sendable {
    public let process = Process()
    private let stdin = Pipe()
    /// The first line the child printed (without the newline): its port or URL.
    public let firstLine: String

    /// Runs `executable` (a path, or a name looked up on the PATH) with `arguments`.
    public init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readRetrying(count: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        firstLine = String(decoding: line, as: UTF8.self)
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
