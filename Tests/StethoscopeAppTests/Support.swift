import Foundation
import StethoscopeStore

func temporaryDirectory(_ name: String = #function) throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("stethoscope-app-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

extension Database {
    func rows(_ sql: String) throws -> [[String?]] {
        let st = try prepare(sql)
        var out: [[String?]] = []
        while try st.step() { out.append((0..<st.columnCount).map { st.string($0) }) }
        return out
    }
    func count(_ sql: String) throws -> Int { try int(sql) ?? -1 }
}

/// The built `stethoscope` executable (set by `make test`; found next to the test bundle otherwise).
func stethoscopeBinary() -> URL {
    if let path = ProcessInfo.processInfo.environment["STETHOSCOPE_BIN"] { return URL(fileURLWithPath: path) }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("stethoscope")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: ".build/debug/stethoscope")
}
