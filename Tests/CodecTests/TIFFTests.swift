import Foundation
import XCTest
import TestPeers
@testable import Codec

/// The baseline TIFF reader against files written by a Python TIFF writer (numpy + zlib, every
/// layout the reader claims) and by Pillow's libtiff (LZW, Deflate, PackBits), compared pixel for
/// pixel with the arrays they were written from.
final class TIFFTests: XCTestCase {
    func decodeSuite(_ command: String) throws {
        let dir = PeerTools.temporaryDirectory("tiff-\(command)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = try SlideImageScript.install(in: dir)
        let (status, out, err) = try PeerTools.run("/usr/bin/env", ["python3", script, command, dir], timeout: 60)
        guard status == 0 else { throw PeerMissing("python3 with numpy (and Pillow for the Pillow suite) is required: \(err)") }
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: out) as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(manifest.count, 5)
        for entry in manifest {
            let name = try XCTUnwrap(entry["name"] as? String)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name).tif")))
            let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name).raw")))
            let image: PNGImage
            do { image = try TIFFDecoder.decode(bytes) } catch { XCTFail("\(name): \(error)"); continue }
            XCTAssertEqual(image.width, entry["width"] as? Int, name)
            XCTAssertEqual(image.height, entry["height"] as? Int, name)
            XCTAssertEqual(image.channels, entry["channels"] as? Int, name)
            XCTAssertEqual(image.bitDepth, entry["bitDepth"] as? Int, name)
            XCTAssertTrue(image.pixels == expected, "\(name): the pixels differ from the array written")
            // Straight into a PNG and back: the decoded layout is PNG's.
            XCTAssertEqual(try PNGDecoder.decode(try PNGEncoder.encode(image)), image, name)
        }
        if command == "tiff-suite" {
            let jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/jpeg-claimed.tif")))
            XCTAssertThrowsError(try TIFFDecoder.decode(jpeg)) { error in
                XCTAssertEqual(error as? TIFFError, .unsupported("JPEG compression (Compression 7)"))
            }
            let info = try TIFFDecoder.info([UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/gray16-le-deflate-pred-tiles.tif"))))
            XCTAssertEqual(info, TIFFInfo(width: 75, height: 41, samplesPerPixel: 1, bitsPerSample: 16, compression: 8,
                                          photometric: 1, isTiled: true, isPlanar: false, predictor: 2))
        }
    }

    func testDecodesEveryLayoutOfThePythonWriter() throws { try decodeSuite("tiff-suite") }

    func testDecodesPillowLZWDeflateAndPackBits() throws { try decodeSuite("pillow-suite") }

    func testRefusesDamagedAndForeignInput() throws {
        XCTAssertThrowsError(try TIFFDecoder.decode(Array("not a tiff at all".utf8))) { XCTAssertEqual($0 as? TIFFError, .notTIFF) }
        XCTAssertThrowsError(try TIFFDecoder.decode([0x49, 0x49, 43, 0, 8, 0, 0, 0])) {
            XCTAssertEqual($0 as? TIFFError, .unsupported("BigTIFF (version 43) files"))
        }
        // A header whose IFD lies beyond the end.
        XCTAssertThrowsError(try TIFFDecoder.decode([0x4D, 0x4D, 0, 42, 0, 0, 1, 0])) {
            guard case .truncated? = $0 as? TIFFError else { return XCTFail("\($0)") }
        }
        // A strip offset past the end of the file: an error, never a read out of bounds.
        var entries: [(UInt16, UInt16, UInt32)] = [(256, 3, 4), (257, 3, 4), (258, 3, 8), (259, 3, 1), (262, 3, 1),
                                                   (273, 4, 4000), (277, 3, 1), (278, 3, 4), (279, 4, 16)]
        var file: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0, UInt8(entries.count), 0]
        for (tag, type, value) in entries {
            file += [UInt8(tag & 0xFF), UInt8(tag >> 8), UInt8(type), 0, 1, 0, 0, 0]
            file += [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
        }
        file += [0, 0, 0, 0]
        XCTAssertThrowsError(try TIFFDecoder.decode(file)) { guard case .truncated? = $0 as? TIFFError else { return XCTFail("\($0)") } }
        // The same strip in the file decodes.
        entries[5].2 = UInt32(file.count)
        var fixed: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0, UInt8(entries.count), 0]
        for (tag, type, value) in entries {
            fixed += [UInt8(tag & 0xFF), UInt8(tag >> 8), UInt8(type), 0, 1, 0, 0, 0]
            fixed += [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
        }
        fixed += [0, 0, 0, 0] + (0..<16).map { UInt8($0 * 10) }
        XCTAssertEqual(try TIFFDecoder.decode(fixed).pixels, (0..<16).map { UInt8($0 * 10) })
        // Too many pixels for the limit: refused before allocating.
        XCTAssertThrowsError(try TIFFDecoder.decode(fixed, maxPixels: 15)) {
            XCTAssertEqual($0 as? TIFFError, .imageTooLarge(width: 4, height: 4, limit: 15))
        }
    }

    /// LZW (TIFF 6 §13) on a hand-made code stream: Clear, literal codes, a KwKwK code, EOI.
    func testLZWCodeStream() throws {
        // Codes (9 bits, MSB first): 256 Clear, 65 'A', 258 (= "AA", the KwKwK case), 66 'B', 257 EOI.
        let out = try Self.pack([256, 65, 258, 66, 257]).withUnsafeBytes { try TIFFLZW.decode($0, expected: 4) }
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "AAAB")
        // Code 300 when the next free code is 259: refused.
        XCTAssertThrowsError(try Self.pack([256, 65, 66, 300, 257]).withUnsafeBytes { try TIFFLZW.decode($0, expected: 10) })
    }

    /// 9-bit codes MSB first, padded to whole bytes.
    static func pack(_ codes: [Int]) -> [UInt8] {
        var bits = codes.map { c -> String in let b = String(c, radix: 2); return String(repeating: "0", count: 9 - b.count) + b }.joined()
        while bits.count % 8 != 0 { bits += "0" }
        let chars = Array(bits)
        return stride(from: 0, to: chars.count, by: 8).map { UInt8(String(chars[$0..<$0 + 8]), radix: 2)! }
    }
}
