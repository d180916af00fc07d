import Foundation
import StethoscopeHTTP

/// An Elasticsearch-compatible server on 127.0.0.1 the tests and benchmarks talk to directly.
public protocol SearchServer: Sendable {
    var url: String { get }
}

/// osmem-server (PyPI `osmem-server==0.1.6`, a Go server speaking the OpenSearch REST API), started on a free
/// port of 127.0.0.1. The binary ships inside the wheel; `osmem_server.resolve_binary()` finds it.
public final class OpenSearchServer: SearchServer {
    public let child: ChildServer
    public let url: String

    public init() throws {
        let python = TestPaths.python
        let resolve = Process()
        resolve.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        resolve.arguments = [python, "-c", "import osmem_server; print(osmem_server.resolve_binary())"]
        let out = Pipe()
        resolve.standardOutput = out
        try resolve.run()
        let path = String(decoding: out.fileHandleForReading.readAllRetrying(), as: UTF8.self)
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

/// noida-db (PyPI `noida-db==0.2.3`, one binary speaking several databases' protocols) with only its
/// Elasticsearch 8 persona, started on a free port by `Tests/fakes/noida_es.py`, which SIGKILLs it when
/// its stdin closes (noida-db does not watch its own stdin).
public final class NoidaServer: SearchServer {
    public let child: ChildServer
    public let url: String

    public init() throws {
        child = try ChildServer(TestPaths.python, [TestPaths.fakes.appendingPathComponent("noida_es.py").path])
        guard child.firstLine.hasPrefix("http://127.0.0.1:") else {
            throw ServerError(description: "noida-db did not start (pip install noida-db==0.2.3 into \(TestPaths.python)): \(child.firstLine.prefix(300))")
        }
        url = child.firstLine
    }
}

extension OpenSearchServer {
    public struct Fetched: Decodable, Sendable {
        public var _version: Int?
        public var found: Bool
        public var _source: Document?
    }
    public struct Document: Decodable, Sendable {
        public var as_of: String
        public var device_key: String
        public var owner: String?
        public var organization: String?
        public var managers: [String]?
        public var platform: String?
        public var sources: [String]
        public var stale: Bool
        public var carried_forward: Bool
        public var last_sync: String?
        public var practices: [Practice]
        /// The flat per-practice statuses (`status.encryption`).
        public var status: [String: String]?
    }
    public struct Practice: Decodable, Equatable, Sendable {
        public var key: String
        public var status: String
        public var rating: String?
        public var value: String?
        public var observed_at: String?

        public init(key: String, status: String, rating: String? = nil, value: String? = nil, observed_at: String? = nil) {
            self.key = key
            self.status = status
            self.rating = rating
            self.value = value
            self.observed_at = observed_at
        }
    }
}

/// The answer of `_count`.
public struct CountAnswer: Decodable, Sendable { public var count: Int }

extension SearchServer {
    public func call(_ method: String, _ path: String, json: String? = nil, contentType: String = "application/json") async throws -> (
        status: Int, body: String
    ) {
        let r = try await HTTPClient.shared.send(
            HTTPRequest(
                method: method, url: url + path, headers: ["Content-Type": contentType], body: json.map { Data($0.utf8) },
                source: "test", retry: .none))
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }

    /// Documents in indices matching `pattern`, after a refresh.
    public func count(_ pattern: String = "stethoscope-*") async throws -> Int {
        _ = try await call("POST", "/\(pattern)/_refresh")
        let (status, body) = try await call("GET", "/\(pattern)/_count")
        guard status == 200 else { throw ServerError(description: "count: HTTP \(status) \(body)") }
        return try JSONDecoder().decode(CountAnswer.self, from: Data(body.utf8)).count
    }

    public func document(_ index: String, _ id: String) async throws -> OpenSearchServer.Fetched {
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? id
        let (_, body) = try await call("GET", "/\(index)/_doc/\(escaped)")
        return try JSONDecoder().decode(OpenSearchServer.Fetched.self, from: Data(body.utf8))
    }

    /// The `_id`s of the night `asOf` in `index`, after a refresh.
    public func ids(_ index: String, asOf: String) async throws -> Set<String> {
        _ = try await call("POST", "/\(index)/_refresh")
        let (_, body) = try await call(
            "POST", "/\(index)/_search",
            json: #"{"size": 10000, "_source": false, "query": {"term": {"as_of": "\#(asOf)"}}}"#)
        return Set(try JSONDecoder().decode(SearchHits.self, from: Data(body.utf8)).hits.hits.map(\._id))
    }
}

/// The `_id`s of a `_search` answer.
struct SearchHits: Decodable {
    struct Hits: Decodable {
        struct One: Decodable { var _id: String }
        var hits: [One]
    }
    var hits: Hits
}

/// Tests/fakes/es_fault_proxy.py in front of `upstream`.
public final class FaultProxy: Sendable {
    public let child: ChildServer
    public let url: String

    public init(upstream: String) throws {
        child = try ChildServer(TestPaths.python, [TestPaths.fakes.appendingPathComponent("es_fault_proxy.py").path, "--upstream", upstream])
        guard let port = Int(child.firstLine) else { throw ServerError(description: "es_fault_proxy.py did not print a port") }
        url = "http://127.0.0.1:\(port)"
    }

    /// Queues faults, e.g. `#"[{"mode": "item_429", "every": 3, "count": 2}]"#`.
    public func fault(_ faultsJSON: String) async throws {
        _ = try await HTTPClient.shared.send(
            HTTPRequest(
                method: "POST", url: url + "/_proxy/faults", body: Data("{\"faults\": \(faultsJSON)}".utf8), source: "test", retry: .none))
    }

    public struct Stats: Decodable, Sendable {
        public var bulk_requests: Int
        public var bulk_items: Int
        public var faults_applied: [String: Int]
        public var max_in_flight: Int
        public var largest_body: Int
    }

    public func stats() async throws -> Stats {
        let r = try await HTTPClient.shared.send(HTTPRequest(url: url + "/_proxy/stats", source: "test", retry: .none))
        return try JSONDecoder().decode(Stats.self, from: r.body)
    }
}
