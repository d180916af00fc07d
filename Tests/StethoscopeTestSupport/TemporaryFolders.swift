import Foundation

/// A fresh folder under the system temp dir, removed when the value is released.
public final class TempDir: Sendable {
    public let url: URL
    public init(_ label: String = "test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("stethoscope-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    /// The store file tests open in it.
    public var db: URL { url.appendingPathComponent("test.db") }
}

/// A fresh folder under the system temp dir named after the calling test (kept afterwards, for a look at
/// what a failed test left).
public func temporaryDirectory(_ name: String = #function, label: String = "test") throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("stethoscope-\(label)-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
