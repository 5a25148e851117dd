import Foundation
import XCTest
import TestPeers
@testable import Codec

/// PNG encoding with one fixed row filter: the same pixels back from our decoder and from
/// Pillow's, each row carrying the filter type asked for.
final class PNGRowFilterTests: XCTestCase {
    func testFixedFiltersRoundTrip() throws {
        var rng = ZlibTestRNG(seed: 41)
        for filter in [PNGRowFilter.none, .sub, .up] {
            for (bitDepth, channels, w, h) in [(8, 3, 37, 21), (16, 1, 20, 9), (8, 4, 1, 1), (16, 2, 5, 40), (8, 1, 300, 2)] {
                let image = PNGTests.makeImage(w, h, bitDepth: bitDepth, channels: channels, content: "gradient", rng: &rng)
                let png = try PNGEncoder.encode(image, level: 1, filter: filter)
                XCTAssertEqual(try PNGDecoder.decode(png), image, "\(filter) \(w)x\(h)x\(channels) \(bitDepth)-bit")
                // The filter bytes of the rows (PNG spec 9.2), from the inflated IDAT.
                let rowBytes = w * channels * bitDepth / 8
                let idat = Self.idat(png)
                let raw = try Zlib.inflate(idat, maxOutput: (rowBytes + 1) * h)
                let types = Set((0..<h).filter { $0 > 0 }.map { raw[$0 * (rowBytes + 1)] })
                if h > 1 { XCTAssertEqual(types, [filter == .none ? 0 : filter == .sub ? 1 : 2]) }
            }
        }
    }

    func testPillowReadsUpFilteredTiles() throws {
        var rng = ZlibTestRNG(seed: 42)
        let dir = PeerTools.temporaryDirectory("png-up")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = PNGTests.makeImage(64, 48, bitDepth: 8, channels: 3, content: "random", rng: &rng)
        try Data(try PNGEncoder.encode(image, level: 1, filter: .up)).write(to: URL(fileURLWithPath: dir + "/up.png"))
        let (status, out, err) = try PeerTools.run("/usr/bin/env", ["python3", "-c", """
            import sys
            from PIL import Image
            im = Image.open(sys.argv[1]); sys.stdout.buffer.write(im.tobytes())
            """, dir + "/up.png"])
        guard status == 0 else { throw PeerMissing("python3 with Pillow is required: \(err)") }
        XCTAssertEqual([UInt8](out), image.pixels)
    }

    static func idat(_ png: [UInt8]) -> [UInt8] {
        var pos = 8, out: [UInt8] = []
        while pos + 8 <= png.count {
            let length = Int(png[pos]) << 24 | Int(png[pos + 1]) << 16 | Int(png[pos + 2]) << 8 | Int(png[pos + 3])
            if String(decoding: png[(pos + 4)..<(pos + 8)], as: UTF8.self) == "IDAT" { out += png[(pos + 8)..<(pos + 8 + length)] }
            pos += length + 12
        }
        return out
    }
}
