import XCTest
import Foundation
import TestPeers
@testable import Codec

/// Incremental inflation (and the gzip format of `DeflateStream`), against Python's zlib and gzip.
final class InflateStreamTests: XCTestCase {
    /// Compressible but not trivial: text-like runs and noise.
    static let sample: [UInt8] = {
        var x: UInt64 = 0x2545F4914F6CDD1D
        return (0..<300_000).map { i in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return i % 1000 < 700 ? UInt8(65 + i % 26) : UInt8(truncatingIfNeeded: x)
        }
    }()

    static func deflate(_ bytes: [UInt8], _ format: Zlib.Format) throws -> [UInt8] {
        var out: [UInt8] = []
        let s = try DeflateStream(format: format)
        try s.write(bytes) { out.append(contentsOf: $0) }
        try s.finish { out.append(contentsOf: $0) }
        return out
    }

    static func inflate(_ stream: InflateStream, _ bytes: [UInt8], pieces: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(pieces, bytes.count - i)
            try stream.write(Array(bytes[i..<(i + n)])) { out.append(contentsOf: $0) }
            i += n
        }
        try stream.finish()
        return out
    }

    func testRoundTripsInEveryFormatAndPieceSize() throws {
        for format in [Zlib.Format.raw, .zlib, .gzip] {
            let compressed = try Self.deflate(Self.sample, format)
            for pieces in [1, 7, 4096, compressed.count] where pieces > 1 || format == .gzip {
                let s = try InflateStream(format: format, bufferSize: 1024)
                XCTAssertEqual(try Self.inflate(s, compressed, pieces: pieces), Self.sample, "\(format) in pieces of \(pieces)")
                XCTAssertTrue(s.isComplete)
                XCTAssertEqual(s.totalIn, compressed.count)
                XCTAssertEqual(s.totalOut, Self.sample.count)
            }
            XCTAssertEqual(try compressed.withUnsafeBytes { try Zlib.inflatePrefix($0, format: format, maxOutput: .max).output }, Self.sample, "one-shot \(format)")
        }
        for format in [Zlib.Format.zlib, .gzip] {
            let s = try InflateStream(zlibOrGzip: .max)
            XCTAssertEqual(try Self.inflate(s, try Self.deflate(Self.sample, format), pieces: 999), Self.sample, "\(format) detected")
        }
        // An empty input compresses to a valid stream that inflates to nothing.
        XCTAssertEqual(try Self.inflate(try InflateStream(format: .gzip), try Self.deflate([], .gzip), pieces: 3), [])
    }

    func testDamageIsRefused() throws {
        let gzip = try Self.deflate(Self.sample, .gzip)
        XCTAssertThrowsError(try Self.inflate(try InflateStream(format: .gzip), Array(gzip.dropLast(5)), pieces: 100)) {
            guard case ZlibError.truncated = $0 else { return XCTFail("\($0)") }
        }
        var crc = gzip
        crc[crc.count - 6] ^= 0x01  // the CRC-32 of the trailer
        XCTAssertThrowsError(try Self.inflate(try InflateStream(format: .gzip), crc, pieces: 100)) {
            guard case ZlibError.corrupt = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Self.inflate(try InflateStream(format: .gzip), gzip + [0], pieces: 100), "data after the end")
        XCTAssertThrowsError(try Self.inflate(try InflateStream(format: .zlib), gzip, pieces: 100), "a gzip stream is not zlib")
        XCTAssertThrowsError(try Self.inflate(try InflateStream(format: .gzip, maxOutput: 1000), gzip, pieces: 100)) {
            guard case ZlibError.outputLimitExceeded = $0 else { return XCTFail("\($0)") }
        }
        // After a failure the stream refuses more input.
        let s = try InflateStream(format: .gzip)
        XCTAssertThrowsError(try s.write(Array(repeating: 0xFF, count: 20)) { _ in })
        XCTAssertThrowsError(try s.write(gzip) { _ in })
    }

    func testInteroperatesWithPython() throws {
        let dir = PeerTools.temporaryDirectory("inflate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(Self.sample).write(to: URL(fileURLWithPath: dir + "/plain"))
        try Data(try Self.deflate(Self.sample, .gzip)).write(to: URL(fileURLWithPath: dir + "/ours.gz"))
        let script = """
        import gzip, zlib, sys
        d = sys.argv[1]
        plain = open(d + '/plain', 'rb').read()
        assert gzip.decompress(open(d + '/ours.gz', 'rb').read()) == plain, 'python cannot read our gzip'
        open(d + '/theirs.gz', 'wb').write(gzip.compress(plain, 9))
        open(d + '/theirs.zlib', 'wb').write(zlib.compress(plain, 1))
        """
        let (status, _, err) = try PeerTools.run("/usr/bin/env", ["python3", "-c", script, dir])
        XCTAssertEqual(status, 0, err)
        for (name, format) in [("theirs.gz", Zlib.Format.gzip), ("theirs.zlib", .zlib)] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            XCTAssertEqual(try Self.inflate(try InflateStream(format: format), bytes, pieces: 513), Self.sample, name)
        }
    }
}
