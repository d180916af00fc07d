import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads from pipes with `read(2)`, retrying a read a signal interrupted (EINTR). Foundation's
/// `readDataToEndOfFile`, `readData(ofLength:)` and `availableData` end in `try!` and crash the whole test
/// process on EINTR, which happens while other tests' child processes come and go (SIGCHLD).
extension FileHandle {
    /// Everything until end of file.
    public func readAllRetrying() -> Data {
        var out = Data()
        while true {
            let chunk = readSomeRetrying(upTo: 65_536)
            if chunk.isEmpty { return out }
            out.append(chunk)
        }
    }

    /// Exactly `count` bytes, fewer only at end of file.
    public func readRetrying(count: Int) -> Data {
        var out = Data()
        while out.count < count {
            let chunk = readSomeRetrying(upTo: count - out.count)
            if chunk.isEmpty { break }
            out.append(chunk)
        }
        return out
    }

    /// What one successful `read(2)` returns (blocking until some data or end of file): empty at end of file.
    public func readSomeRetrying(upTo limit: Int) -> Data {
        var buffer = [UInt8](repeating: 0, count: max(1, limit))
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fileDescriptor, $0.baseAddress, $0.count) }
            if n >= 0 { return Data(buffer[0..<n]) }
            if errno != EINTR { return Data() }
        }
    }
}
