import Foundation

/// Where the tests and benchmarks find the repository, the fake servers and the Python that runs them.
public enum TestPaths {
    /// Tests/fakes: the Python fake servers, their keys and certificates.
    public static let fakes: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fakes")
    /// The repository's root folder.
    public static let repo: URL = fakes.deletingLastPathComponent().deletingLastPathComponent()
    /// The plugin folders (their fixtures, READMEs and samples).
    public static let plugins: URL = repo.appendingPathComponent("Sources/StethoscopeSources/Plugins")
    /// The `$PYTHON` of `make test` and `make bench` (the venv with the servers' packages), else python3 from the PATH.
    public static let python: String = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"

    /// A file of a plugin's fixtures folder.
    public static func fixture(_ plugin: String, _ file: String) -> URL {
        plugins.appendingPathComponent(plugin).appendingPathComponent("fixtures").appendingPathComponent(file)
    }
}

/// A helper server or tool did not start or answered nonsense.
public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
