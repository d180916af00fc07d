import Foundation
import StethoscopeCore

#if canImport(Glibc)
    import Glibc
#endif

/// The configured `paths` of a log-reading plugin (osquery, auth_logs): each a file, a folder or a shell glob.
enum LogPaths {
    static func isGlob(_ path: String) -> Bool { path.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

    /// The paths a glob matches, sorted (none when it matches nothing).
    static func expand(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    /// What one configured path names: a glob's matches, or the path itself. A plain path that does not exist
    /// fails the source `source` (a typo or a missing mount, never an empty night).
    static func matches(_ path: URL, source: String) throws -> [String] {
        if isGlob(path.path) { return expand(path.path) }
        guard FileManager.default.fileExists(atPath: path.path) else { throw SourceError(source, "log path \(path.path) does not exist") }
        return [path.path]
    }
}
