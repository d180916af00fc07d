import Foundation
import StethoscopeHTTP

/// A fake vendor server from Tests/fakes, run with `$PYTHON` (or python3) on a free port of 127.0.0.1.
/// It exits when its stdin closes, so a crashed test run leaves nothing behind.
final class FakeServer: @unchecked Sendable {
    let process = Process()
    private let stdin = Pipe()
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    static let fakes: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fakes")
    static let repo: URL = fakes.deletingLastPathComponent().deletingLastPathComponent()

    init(_ script: String, _ arguments: [String] = []) throws {
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, FakeServer.fakes.appendingPathComponent(script).path] + arguments
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            throw FakeServerError(message: "\(script) did not print a port")
        }
        self.port = port
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// Queues faults: `[["mode": "500", "path": "/api/", "count": 1]]`.
    func fault(_ faults: [[String: any Sendable]]) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["faults": faults])
        _ = try await HTTPClient.shared.send(HTTPRequest(method: "POST", url: url + "/_control", body: body, source: "fake", retry: .none))
    }

    /// Requests the server saw, by path, and the most it served at once.
    func stats() async throws -> (paths: [String: Int], maxInFlight: Int) {
        let r = try await HTTPClient.shared.send(HTTPRequest(url: url + "/_stats", source: "fake", retry: .none))
        let object = try JSONSerialization.jsonObject(with: r.body) as? [String: Any] ?? [:]
        return ((object["paths"] as? [String: Int]) ?? [:], (object["max_in_flight"] as? Int) ?? 0)
    }
}

struct FakeServerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
