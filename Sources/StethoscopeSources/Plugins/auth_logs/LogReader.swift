import CZlib
import Foundation
import StethoscopeCore

/// Reads a log file in fixed-size chunks of whole lines, plain or gzip-compressed (logrotate's `detail.2.gz`):
/// zlib reads an uncompressed file as it is. Memory stays at one buffer whatever the file's size.
enum LogReader {
    static let chunk = 4 << 20

    /// Calls `body` with successive buffers of complete lines (each ending in `\n`). A file whose last line has no
    /// newline (a writer cut off mid-record) has that line left out, and the result says `truncated`.
    /// `lastLineWhole`: a last line without its newline is whole (CSV and JSON-lines exports often end so).
    static func read(
        _ url: URL, source: String, lastLineWhole: Bool = false,
        _ body: (UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws -> (bytes: Int, truncated: Bool) {
        guard let file = gzopen(url.path, "rb") else {
            let why = String(cString: strerror(errno))
            throw SourceError(source, "cannot read \(url.path): \(why)")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 20)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var kept = 0
        var total = 0
        while true {
            let n = gzread(file, buffer + kept, UInt32(chunk - kept))
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                throw SourceError(source, "cannot read \(url.path): \(code == Z_ERRNO ? String(cString: strerror(errno)) : message)")
            }
            total += Int(n)
            let filled = kept + Int(n)
            if n == 0 {
                // A last line without its newline was cut off while being written: it is left out, not misread.
                if lastLineWhole, filled > 0, buffer[filled - 1] != 10 {
                    buffer[filled] = 10  // filled < chunk here: a full buffer without a newline threw above
                    try body(UnsafeBufferPointer(start: buffer, count: filled + 1))
                    return (total, false)
                }
                var end = filled
                while end > 0 && buffer[end - 1] != 10 { end -= 1 }
                if end > 0 { try body(UnsafeBufferPointer(start: buffer, count: end)) }
                return (total, end < filled)
            }
            // Hand over up to the last newline; keep the partial line for the next read.
            var end = filled
            while end > 0 && buffer[end - 1] != 10 { end -= 1 }
            if end == 0 {
                guard filled < chunk else { throw SourceError(source, "\(url.path): a line longer than \(chunk >> 20) MiB") }
                kept = filled
                continue
            }
            try body(UnsafeBufferPointer(start: buffer, count: end))
            kept = filled - end
            if kept > 0 { memmove(buffer, buffer + end, kept) }
        }
    }
}
