import Foundation
import XCTest
@testable import Codec

final class ZlibTests: XCTestCase {
    /// Inputs that exercise stored, fixed and dynamic blocks, and sizes around zero.
    static func samples() -> [(String, [UInt8])] {
        var rng = ZlibTestRNG(seed: 7)
        let random = (0..<100_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let text = Array(String(repeating: "(0010,0010) PN [Doe^Jane] # patient name\n", count: 30_000).utf8)
        let ramp = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 / 7) }
        return [("empty", []), ("one byte", [42]), ("random 100 KB", random), ("text 1.2 MB", text), ("ramp", ramp)]
    }

    func testRawRoundTrip() throws {
        for (name, input) in Self.samples() {
            for level: Int32 in [0, 1, 6, 9, -1] {
                let compressed = try Zlib.deflateRaw(input, level: level)
                let back = try Zlib.inflateRaw(compressed, maxOutput: input.count)
                XCTAssertEqual(back, input, "\(name) at level \(level)")
            }
        }
        let text = Self.samples()[3].1
        XCTAssertLessThan(try Zlib.deflateRaw(text).count, text.count / 50, "repetitive text must compress")
    }

    func testZlibRoundTrip() throws {
        for (name, input) in Self.samples() {
            let compressed = try Zlib.deflate(input, level: 6)
            XCTAssertEqual(compressed.first, 0x78, "RFC 1950 header: CM 8, 32K window")
            XCTAssertEqual(try Zlib.inflate(compressed, maxOutput: input.count), input, name)
        }
    }

    func testInflateRefusesOutputBeyondMaxOutput() throws {
        let big = [UInt8](repeating: 0, count: 10 << 20)
        let raw = try Zlib.deflateRaw(big)
        XCTAssertLessThan(raw.count, 20_000)
        XCTAssertThrowsError(try Zlib.inflateRaw(raw, maxOutput: 1 << 20)) { error in
            XCTAssertEqual(error as? ZlibError, .outputLimitExceeded(operation: "inflating a raw DEFLATE stream", limit: 1 << 20))
            XCTAssertTrue("\(error)".contains("exceeds the limit of 1048576 bytes"), "\(error)")
        }
        // The limit is inclusive: exactly the output size passes, one byte less fails.
        XCTAssertEqual(try Zlib.inflateRaw(raw, maxOutput: big.count).count, big.count)
        XCTAssertThrowsError(try Zlib.inflateRaw(raw, maxOutput: big.count - 1))
        XCTAssertThrowsError(try Zlib.inflateRaw(raw, maxOutput: 0))
        XCTAssertEqual(try Zlib.inflateRaw(try Zlib.deflateRaw([]), maxOutput: 0), [])
        let wrapped = try Zlib.deflate(big)
        XCTAssertThrowsError(try Zlib.inflate(wrapped, maxOutput: 4096)) { error in
            guard case .outputLimitExceeded(_, 4096)? = error as? ZlibError else { return XCTFail("\(error)") }
        }
        // A huge limit must not be allocated up front.
        XCTAssertEqual(try Zlib.inflateRaw(try Zlib.deflateRaw([1, 2, 3]), maxOutput: Int.max), [1, 2, 3])
    }

    func testCorruptInputThrows() throws {
        // BFINAL=1 with the reserved block type 11 (RFC 1951 3.2.3).
        XCTAssertThrowsError(try Zlib.inflateRaw([0xFF, 0xFF, 0xFF, 0xFF], maxOutput: 1000)) { error in
            guard case .corrupt(let op, let code, let message, _)? = error as? ZlibError else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "inflating a raw DEFLATE stream")
            XCTAssertEqual(code, -3)  // Z_DATA_ERROR
            XCTAssertFalse(message.isEmpty, "zlib's own message is kept")
        }
        // Header check bits wrong (RFC 1950 2.2: CMF*256+FLG must be a multiple of 31).
        XCTAssertThrowsError(try Zlib.inflate([0x78, 0x00, 0x01, 0x02], maxOutput: 1000)) { error in
            XCTAssertTrue("\(error)".contains("header"), "\(error)")
        }
        // A flipped bit in a zlib stream is caught, by the DEFLATE decoder or the Adler-32; except in
        // the padding bits after the end-of-block code, which the byte before the Adler-32 may hold.
        let input = Array("a zlib stream protects its data with an Adler-32 checksum".utf8)
        let good = try Zlib.deflate(input)
        for i in 0..<good.count where i != good.count - 5 {
            for bit in [0, 3, 7] {
                var bad = good
                bad[i] ^= UInt8(1 << bit)
                XCTAssertThrowsError(try Zlib.inflate(bad, maxOutput: 10_000), "flip of bit \(bit) in byte \(i) not detected")
            }
        }
        // Garbage that is not DEFLATE at all.
        var rng = ZlibTestRNG(seed: 99)
        var failures = 0
        for _ in 0..<50 {
            let junk = (0..<200).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if (try? Zlib.inflate(junk, maxOutput: 1 << 20)) == nil { failures += 1 }
        }
        XCTAssertEqual(failures, 50)
    }

    func testTruncatedStreamThrows() throws {
        let input = Array((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) })
        let raw = try Zlib.deflateRaw(input)
        for cut in [0, 1, raw.count / 2, raw.count - 1] {
            XCTAssertThrowsError(try Zlib.inflateRaw(Array(raw.prefix(cut)), maxOutput: 1 << 20), "cut at \(cut)") { error in
                guard case .truncated(_, let size, _)? = error as? ZlibError else { return XCTFail("\(error)") }
                XCTAssertEqual(size, cut)
            }
        }
        let wrapped = try Zlib.deflate(input)
        XCTAssertThrowsError(try Zlib.inflate(Array(wrapped.dropLast(2)), maxOutput: 1 << 20), "missing half the Adler-32")
    }

    func testConsumedCountWithTrailingBytes() throws {
        let input = Array("PS3.5 A.5: an odd-length deflated stream is padded with one NUL byte".utf8)
        let raw = try Zlib.deflateRaw(input)
        let padded = raw + [0x00, 0xDE, 0xAD]
        let (output, consumed) = try Zlib.inflateRawPrefix(padded, maxOutput: 1000)
        XCTAssertEqual(output, input)
        XCTAssertEqual(consumed, raw.count)
        XCTAssertEqual(try Zlib.inflateRaw(padded, maxOutput: 1000), input, "trailing bytes are ignored")
        XCTAssertEqual(try Zlib.inflateRawPrefix(raw, maxOutput: 1000).consumed, raw.count)
        let wrapped = try Zlib.deflate(input)
        XCTAssertEqual(try Zlib.inflatePrefix(wrapped + [1, 2], maxOutput: 1000).consumed, wrapped.count)
    }

    func testCRC32() {
        // The standard check value of CRC-32/ISO-HDLC.
        XCTAssertEqual(Zlib.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(Zlib.crc32([]), 0)
        XCTAssertEqual(Zlib.crc32([], initial: 0x1234), 0x1234)
        let data = Array("The quick brown fox jumps over the lazy dog".utf8)
        XCTAssertEqual(Zlib.crc32(data), 0x414F_A339)
        XCTAssertEqual(Zlib.crc32(Array(data[10...]), initial: Zlib.crc32(Array(data[..<10]))), 0x414F_A339)
        // PNG spec 5.3: the CRC of an IEND chunk covers just its type.
        XCTAssertEqual(Zlib.crc32(Array("IEND".utf8)), 0xAE42_6082)
    }

    func testDeflateStreamInPieces() throws {
        var rng = ZlibTestRNG(seed: 3)
        // 3 MB: text-like runs with noise, so output is produced before finish.
        let input: [UInt8] = (0..<3_000_000).map { (i: Int) -> UInt8 in
            i % 1000 < 900 ? UInt8(65 + (i / 13) % 26) : UInt8(truncatingIfNeeded: rng.next())
        }
        for format in [Zlib.Format.raw, .zlib] {
            let stream = try DeflateStream(level: 6, format: format, bufferSize: 16 << 10)
            var out = [UInt8]()
            var calls = 0
            var largest = 0
            let sink: (UnsafeRawBufferPointer) throws -> Void = { piece in
                calls += 1
                largest = max(largest, piece.count)
                out.append(contentsOf: piece)
            }
            var offset = 0
            for size in [1, 0, 100, 65_537, 1_000_000, 7, 2_000_000] where offset < input.count {
                let end = min(offset + size, input.count)
                try input[offset..<end].withUnsafeBytes { try stream.write($0, to: sink) }
                offset = end
            }
            try Array(input[offset...]).withUnsafeBytes { try stream.write($0, to: sink) }
            let callsBeforeFinish = calls
            try stream.finish(to: sink)
            XCTAssertGreaterThan(callsBeforeFinish, 3, "output must flow out while writing, not only at finish")
            XCTAssertLessThanOrEqual(largest, 16 << 10)
            XCTAssertEqual(stream.totalIn, input.count)
            XCTAssertEqual(stream.totalOut, out.count)
            let back = format == .raw ? try Zlib.inflateRaw(out, maxOutput: input.count) : try Zlib.inflate(out, maxOutput: input.count)
            XCTAssertEqual(back, input)
            XCTAssertThrowsError(try stream.write([1], to: sink), "no writes after finish")
        }
    }

    func testDeflateStreamStopsAfterSinkError() throws {
        struct DiskFull: Error {}
        let stream = try DeflateStream()
        let input = [UInt8](repeating: 7, count: 1000)
        try stream.write(input) { _ in throw DiskFull() }
        XCTAssertThrowsError(try stream.finish { _ in throw DiskFull() }) { XCTAssertTrue($0 is DiskFull) }
        XCTAssertThrowsError(try stream.finish { _ in }) { error in
            XCTAssertTrue("\(error)".contains("earlier error"), "\(error)")
        }
    }

    func testInvalidLevelThrows() {
        XCTAssertThrowsError(try Zlib.deflateRaw([1, 2, 3], level: 42)) { error in
            guard case .initFailed(let op, _, let message)? = error as? ZlibError else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "deflating a raw DEFLATE stream")
            XCTAssertTrue(message.contains("42"))
        }
    }

    /// Our streams against Python's zlib module, both ways, for both framings.
    func testInteroperatesWithPython() throws {
        let dir = TestSupport.temporaryDirectory("zlib")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = Self.samples()[3].1 + Self.samples()[2].1
        try Data(input).write(to: URL(fileURLWithPath: dir + "/plain"))
        try Data(try Zlib.deflateRaw(input, level: 9)).write(to: URL(fileURLWithPath: dir + "/ours.raw"))
        try Data(try Zlib.deflate(input, level: 1)).write(to: URL(fileURLWithPath: dir + "/ours.zlib"))
        let script = """
        import sys, zlib
        d = sys.argv[1]
        plain = open(d + '/plain', 'rb').read()
        assert zlib.decompress(open(d + '/ours.raw', 'rb').read(), -15) == plain, 'raw stream differs'
        assert zlib.decompress(open(d + '/ours.zlib', 'rb').read()) == plain, 'zlib stream differs'
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        open(d + '/py.raw', 'wb').write(c.compress(plain) + c.flush() + b'\\x00')
        open(d + '/py.zlib', 'wb').write(zlib.compress(plain, 9))
        print('ok')
        """
        let (status, out, err) = try TestSupport.run("python3", ["-c", script, dir])
        XCTAssertEqual(status, 0, "python3 (required) failed or is missing: \(err)")
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "ok\n")
        let pyRaw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/py.raw")))
        let (fromRaw, consumed) = try Zlib.inflateRawPrefix(pyRaw, maxOutput: input.count)
        XCTAssertEqual(fromRaw, input)
        XCTAssertEqual(consumed, pyRaw.count - 1, "the NUL pad is not part of the stream")
        let pyZlib = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/py.zlib")))
        XCTAssertEqual(try Zlib.inflate(pyZlib, maxOutput: input.count), input)
    }
}

/// Small deterministic generator so failures reproduce.
struct ZlibTestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
