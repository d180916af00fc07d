import CZlib
import Foundation

/// gzip (RFC 1952) of a whole request body through zlib, for `Content-Encoding: gzip` bulk requests.
enum Gzip {
    struct Failure: Error, CustomStringConvertible {
        var code: Int32
        var description: String { "gzip failed (zlib \(code))" }
    }

    static func compress(_ input: Data, level: Int32 = 1) throws -> Data {
        var stream = z_stream()
        var rc = czlib_deflate_init_gzip(&stream, level)
        guard rc == Z_OK else { throw Failure(code: rc) }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 32
        var output = Data(count: bound)
        let produced: Int = try input.withUnsafeBytes { (source: UnsafeRawBufferPointer) -> Int in
            try output.withUnsafeMutableBytes { (target: UnsafeMutableRawBufferPointer) -> Int in
                stream.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = target.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(bound)
                rc = deflate(&stream, Z_FINISH)
                guard rc == Z_STREAM_END else { throw Failure(code: rc) }
                return bound - Int(stream.avail_out)
            }
        }
        output.count = produced
        return output
    }
}
