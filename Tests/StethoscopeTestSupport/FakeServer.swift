import Foundation
import StethoscopeHTTP

/// A fake vendor server from Tests/fakes, run with `$PYTHON` (or python3) on a free port of 127.0.0.1.
/// It exits when its stdin closes, so a crashed test run leaves nothing behind.
public final class FakeServer: Sendable {
    public let child: ChildServer
    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    public var process: Process { child.process }

    public static let fakes: URL = TestPaths.fakes
    public static let repo: URL = TestPaths.repo

    public init(_ script: String, _ arguments: [String] = []) throws {
        child = try ChildServer(TestPaths.python, [FakeServer.fakes.appendingPathComponent(script).path] + arguments)
        guard let port = Int(child.firstLine) else {
            throw FakeServerError(message: "\(script) did not print a port")
        }
        self.port = port
    }

    /// Queues faults: `[["mode": "500", "path": "/api/", "count": 1]]`.
    public func fault(_ faults: [[String: any Sendable]]) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["faults": faults])
        _ = try await HTTPClient.shared.send(HTTPRequest(method: "POST", url: url + "/_control", body: body, source: "fake", retry: .none))
    }

    /// Requests the server saw, by path, and the most it served at once.
    public func stats() async throws -> (paths: [String: Int], maxInFlight: Int) {
        let r = try await HTTPClient.shared.send(HTTPRequest(url: url + "/_stats", source: "fake", retry: .none))
        let object = try JSONSerialization.jsonObject(with: r.body) as? [String: Any] ?? [:]
        return ((object["paths"] as? [String: Int]) ?? [:], (object["max_in_flight"] as? Int) ?? 0)
    }
}

public struct FakeServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
