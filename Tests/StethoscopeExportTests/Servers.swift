// The launchers, folders and helpers every test target shares (OpenSearchServer, NoidaServer, FaultProxy,
// TestPaths …) live in Tests/StethoscopeTestSupport; this makes them visible to every file here.
@_exported import StethoscopeTestSupport
import Testing

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
