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

    /// Every file the configured `paths` name, each once, in order: a match that is a folder gives
    /// `inFolder(folder)`, a file gives `forFile(file)`. A path that gives none fails the source unless
    /// `allowEmpty`, saying it `matches nothing` (a glob) or `noneFound`.
    static func files(
        _ paths: [URL], source: String, allowEmpty: Bool, noneFound: String, inFolder: (URL) -> [URL], forFile: (URL) -> [URL] = { [$0] }
    ) throws -> [URL] {
        var out: [URL] = []
        var seen = Set<String>()
        for path in paths {
            let matches = try Self.matches(path, source: source)
            var found = 0
            for match in matches {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: match, isDirectory: &isDir) else { continue }
                let url = URL(fileURLWithPath: match)
                for file in isDir.boolValue ? inFolder(url) : forFile(url) {
                    found += 1
                    if seen.insert(file.standardizedFileURL.path).inserted { out.append(file) }
                }
            }
            if found == 0 && !allowEmpty {
                throw SourceError(
                    source, "log path \(path.path) \(matches.isEmpty ? "matches nothing" : noneFound) (set allow_empty: true if that is expected)")
            }
        }
        return out
    }
}
