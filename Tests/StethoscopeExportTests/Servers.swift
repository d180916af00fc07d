import Foundation
import StethoscopeHTTP
import Testing

/// The `$PYTHON` of `make test` (a venv with osmem-server), else python3 from the PATH.
let python: String = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
let fakes: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("fakes")
let repoRoot: URL = fakes.deletingLastPathComponent().deletingLastPathComponent()

struct ServerError: Error, CustomStringConvertible { var description: String }

/// A child process that prints its address on its first stdout line and exits when its stdin closes.
final class ChildServer: @unchecked Sendable {
    let process = Process()
    private let stdin = Pipe()
    let firstLine: String

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
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
        firstLine = String(decoding: line, as: UTF8.self)
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// osmem-server (PyPI `osmem-server==0.1.6`, a Go server speaking the OpenSearch REST API), started on a free
/// port of 127.0.0.1. The binary ships inside the wheel; `osmem_server.resolve_binary()` finds it.
final class OpenSearchServer: Sendable {
    let child: ChildServer
    let url: String

    init() throws {
        let resolve = Process()
        resolve.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        resolve.arguments = [python, "-c", "import osmem_server; print(osmem_server.resolve_binary())"]
        let out = Pipe()
        resolve.standardOutput = out
        try resolve.run()
        let path = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        resolve.waitUntilExit()
        guard resolve.terminationStatus == 0, !path.isEmpty else {
            throw ServerError(description: "osmem-server is not installed for \(python): run `make test` (pip install osmem-server==0.1.6)")
        }
        child = try ChildServer(path, ["--addr", "127.0.0.1:0", "--no-ja"])
        // {"url":"http://127.0.0.1:PORT","pid":...}
        struct Ready: Decodable { var url: String }
        guard let ready = try? JSONDecoder().decode(Ready.self, from: Data(child.firstLine.utf8)) else {
            throw ServerError(description: "osmem-server did not print its URL: \(child.firstLine.prefix(200))")
        }
        url = ready.url
    }
}

/// An Elasticsearch-compatible server on 127.0.0.1 the tests talk to directly.
protocol SearchServer: Sendable {
    var url: String { get }
}

/// noida-db (PyPI `noida-db==0.2.3`, one binary speaking several databases' protocols) with only its
/// Elasticsearch 8 persona, started on a free port by `Tests/fakes/noida_es.py`, which SIGKILLs it when
/// its stdin closes (noida-db does not watch its own stdin).
final class NoidaServer: SearchServer {
    let child: ChildServer
    let url: String

    init() throws {
        child = try ChildServer(python, [fakes.appendingPathComponent("noida_es.py").path])
        guard child.firstLine.hasPrefix("http://127.0.0.1:") else {
            throw ServerError(description: "noida-db did not start (pip install noida-db==0.2.3 into \(python)): \(child.firstLine.prefix(300))")
        }
        url = child.firstLine
    }
}

extension OpenSearchServer: SearchServer {
    struct Fetched: Decodable {
        var _version: Int?
        var found: Bool
        var _source: Document?
    }
    struct Document: Decodable {
        var as_of: String
        var device_key: String
        var owner: String?
        var organization: String?
        var managers: [String]?
        var platform: String?
        var sources: [String]
        var stale: Bool
        var carried_forward: Bool
        var last_sync: String?
        var practices: [Practice]
        /// The flat per-practice statuses (`status.encryption`).
        var status: [String: String]?
    }
    struct Practice: Decodable, Equatable {
        var key: String
        var status: String
        var rating: String?
        var value: String?
        var observed_at: String?
    }
}

/// The server kinds the Kibana tests run against.
enum ServerKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case osmem, noida
    func start() throws -> any SearchServer {
        switch self {
        case .osmem: return try OpenSearchServer()
        case .noida: return try NoidaServer()
        }
    }
    var testDescription: String { rawValue }
}

/// The answer of `_count`.
struct CountAnswer: Decodable { var count: Int }

extension SearchServer {
    func call(_ method: String, _ path: String, json: String? = nil, contentType: String = "application/json") async throws -> (status: Int, body: String) {
        let r = try await HTTPClient.shared.send(HTTPRequest(
            method: method, url: url + path, headers: ["Content-Type": contentType], body: json.map { Data($0.utf8) },
            source: "test", retry: .none))
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }

    /// Documents in indices matching `pattern`, after a refresh.
    func count(_ pattern: String = "stethoscope-*") async throws -> Int {
        _ = try await call("POST", "/\(pattern)/_refresh")
        let (status, body) = try await call("GET", "/\(pattern)/_count")
        guard status == 200 else { throw ServerError(description: "count: HTTP \(status) \(body)") }
        return try JSONDecoder().decode(CountAnswer.self, from: Data(body.utf8)).count
    }

    func document(_ index: String, _ id: String) async throws -> OpenSearchServer.Fetched {
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? id
        let (_, body) = try await call("GET", "/\(index)/_doc/\(escaped)")
        return try JSONDecoder().decode(OpenSearchServer.Fetched.self, from: Data(body.utf8))
    }
}

/// Tests/fakes/es_fault_proxy.py in front of `upstream`.
final class FaultProxy: Sendable {
    let child: ChildServer
    let url: String

    init(upstream: String) throws {
        child = try ChildServer(python, [fakes.appendingPathComponent("es_fault_proxy.py").path, "--upstream", upstream])
        guard let port = Int(child.firstLine) else { throw ServerError(description: "es_fault_proxy.py did not print a port") }
        url = "http://127.0.0.1:\(port)"
    }

    /// Queues faults, e.g. `#"[{"mode": "item_429", "every": 3, "count": 2}]"#`.
    func fault(_ faultsJSON: String) async throws {
        _ = try await HTTPClient.shared.send(HTTPRequest(
            method: "POST", url: url + "/_proxy/faults", body: Data("{\"faults\": \(faultsJSON)}".utf8), source: "test", retry: .none))
    }

    struct Stats: Decodable {
        var bulk_requests: Int
        var bulk_items: Int
        var faults_applied: [String: Int]
        var max_in_flight: Int
        var largest_body: Int
    }

    func stats() async throws -> Stats {
        let r = try await HTTPClient.shared.send(HTTPRequest(url: url + "/_proxy/stats", source: "test", retry: .none))
        return try JSONDecoder().decode(Stats.self, from: r.body)
    }
}
