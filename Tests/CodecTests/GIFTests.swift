import Foundation
import XCTest
@testable import Codec

/// GIF encoding checked by decoding our files with Pillow at test time (a missing peer fails).
final class GIFTests: XCTestCase {

    /// Gray images keep every value: Pillow reads back the source exactly. Sizes and contents
    /// exercise every LZW code width, table resets (noise fills the 4096 codes quickly) and long
    /// runs (constant images).
    func testGrayDecodesExactlyInPillow() throws {
        var images: [(String, PNGImage)] = []
        var rng = ZlibTestRNG(seed: 3)
        for (w, h) in [(1, 1), (2, 1), (97, 61), (512, 512), (300, 7), (64, 64)] {
            for content in ["noise", "ramp", "flat", "few"] {
                var pixels = [UInt8](repeating: 0, count: w * h)
                for i in pixels.indices {
                    switch content {
                    case "noise": pixels[i] = UInt8(truncatingIfNeeded: rng.next())
                    case "ramp": pixels[i] = UInt8((i % w) * 255 / max(w - 1, 1))
                    case "flat": pixels[i] = 77
                    default: pixels[i] = UInt8(truncatingIfNeeded: rng.next() % 3) * 100
                    }
                }
                images.append(("g\(w)x\(h)-\(content)", PNGImage(width: w, height: h, bitDepth: 8, channels: 1, pixels: pixels)))
            }
        }
        // Lengths around the points where the code width grows and the table fills (258 + 254 = 512 codes ...).
        for n in [254, 255, 256, 257, 510, 511, 512, 513, 3837, 3838, 3839, 3840, 7700] {
            var pixels = [UInt8](repeating: 0, count: n)
            for i in 0..<n { pixels[i] = UInt8(truncatingIfNeeded: rng.next()) }
            images.append(("len\(n)", PNGImage(width: n, height: 1, bitDepth: 8, channels: 1, pixels: pixels)))
        }
        let report = try Self.decodeWithPillow(images.map { ($0.0, try GIFEncoder.encode($0.1)) })
        for (name, image) in images {
            guard let info = report[name] as? [String: Any], info["error"] == nil else { XCTFail("\(name): \(report[name] ?? "missing")"); continue }
            XCTAssertEqual(info["size"] as? [Int], [image.width, image.height], name)
            XCTAssertEqual(info["frames"] as? Int, 1, name)
            XCTAssertEqual(try Self.read(report, name, frame: 0, channels: 1), image.pixels, "\(name): Pillow reads other gray values")
        }
    }

    /// RGB images: with at most 256 colors they are exact; otherwise Pillow shows exactly the
    /// palette colors our quantizer chose, and those are close to the source.
    func testColorDecodesToThePaletteMappedPixels() throws {
        var rng = ZlibTestRNG(seed: 9)
        var images: [(String, PNGImage)] = []
        // Few colors: a gray frame with a red and a green annotation.
        for (w, h) in [(1, 1), (80, 50)] {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for p in 0..<(w * h) {
                let v = UInt8(p / 20 % 254)  // 254 grays + red + green: 256 colors
                px[3 * p] = v; px[3 * p + 1] = v; px[3 * p + 2] = v
                if p % 17 == 0 { px[3 * p] = 255; px[3 * p + 1] = 0; px[3 * p + 2] = 0 }
                if p % 23 == 0 { px[3 * p] = 0; px[3 * p + 1] = 200; px[3 * p + 2] = 0 }
            }
            images.append(("few\(w)x\(h)", PNGImage(width: w, height: h, bitDepth: 8, channels: 3, pixels: px)))
        }
        // Many colors: a photo-like image, and mostly-gray ultrasound-like with a Doppler patch.
        images.append(("photo", JPEGTests.photo(160, 120, channels: 3)))
        var us = [UInt8](repeating: 0, count: 200 * 150 * 3)
        for y in 0..<150 {
            for x in 0..<200 {
                let i = 3 * (y * 200 + x)
                let g = UInt8((x + y + Int(rng.next() % 20)) * 255 / 370)
                us[i] = g; us[i + 1] = g; us[i + 2] = g
                if (80..<120).contains(x) && (50..<90).contains(y) {
                    us[i] = UInt8(100 + (x - 80) * 3); us[i + 1] = 0; us[i + 2] = UInt8(200 - (y - 50) * 4)
                }
            }
        }
        images.append(("ultrasound", PNGImage(width: 200, height: 150, bitDepth: 8, channels: 3, pixels: us)))
        var noise = [UInt8](repeating: 0, count: 64 * 64 * 3)
        for i in noise.indices { noise[i] = UInt8(truncatingIfNeeded: rng.next()) }
        images.append(("noise", PNGImage(width: 64, height: 64, bitDepth: 8, channels: 3, pixels: noise)))

        let report = try Self.decodeWithPillow(images.map { ($0.0, try GIFEncoder.encode($0.1)) })
        for (name, image) in images {
            guard let info = report[name] as? [String: Any], info["error"] == nil else { XCTFail("\(name): \(report[name] ?? "missing")"); continue }
            XCTAssertEqual(info["size"] as? [Int], [image.width, image.height], name)
            let indexed = GIFEncoder.indexedImage(image)
            XCTAssertLessThanOrEqual(indexed.palette.count, 768, name)
            let pillow = try Self.read(report, name, frame: 0, channels: 3)
            XCTAssertEqual(pillow, indexed.rgb, "\(name): Pillow shows other colors than our palette mapping")
            var totalError = 0
            for (a, b) in zip(pillow, image.pixels) { totalError += abs(Int(a) - Int(b)) }
            let meanError = Double(totalError) / Double(max(pillow.count, 1))
            switch name {
            case "few1x1", "few80x50":
                XCTAssertEqual(pillow, image.pixels, "\(name): at most 256 colors must be exact")
            case "photo":
                XCTAssertLessThan(meanError, 3, name)
            case "ultrasound":
                // Median cut gives the grays most entries: they stay within a level or two.
                XCTAssertLessThan(meanError, 1, name)
                let p = indexed.palette
                let grays = stride(from: 0, to: p.count, by: 3).filter { (i: Int) -> Bool in p[i] == p[i + 1] && p[i + 1] == p[i + 2] }
                XCTAssertGreaterThan(grays.count, 100, name)
            default:
                XCTAssertLessThan(meanError, 16, name)
            }
        }
    }

    /// Several frames: Pillow sees the frames, the delay, the loop count and each frame's pixels.
    func testAnimationDecodesInPillow() throws {
        let gray = (0..<3).map { k in
            PNGImage(width: 40, height: 30, bitDepth: 8, channels: 1, pixels: (0..<1200).map { UInt8(truncatingIfNeeded: $0 * (k + 1)) })
        }
        let color = [JPEGTests.photo(40, 30, channels: 3), JPEGTests.photo(40, 30, channels: 1).expandedToRGB()]
        let report = try Self.decodeWithPillow([
            ("gray", try GIFEncoder.encodeAnimation(gray, delayCentiseconds: 7, loopCount: 0)),
            ("color", try GIFEncoder.encodeAnimation(color, delayCentiseconds: 20, loopCount: 3)),
            ("once", try GIFEncoder.encodeAnimation(gray, delayCentiseconds: 5, loopCount: nil)),
        ])
        let g = report["gray"] as! [String: Any], c = report["color"] as! [String: Any], o = report["once"] as! [String: Any]
        XCTAssertEqual(g["frames"] as? Int, 3)
        XCTAssertEqual(g["duration"] as? Int, 70)
        XCTAssertEqual(g["loop"] as? Int, 0)
        XCTAssertEqual(c["loop"] as? Int, 3)
        XCTAssertEqual(c["duration"] as? Int, 200)
        XCTAssertEqual(o["frames"] as? Int, 3)
        XCTAssertNil(o["loop"] as? Int, "no NETSCAPE2.0 loop extension when playing once")
        for k in 0..<3 { XCTAssertEqual(try Self.read(report, "gray", frame: k, channels: 1), gray[k].pixels, "gray frame \(k)") }
        for k in 0..<2 { XCTAssertEqual(try Self.read(report, "color", frame: k, channels: 3), GIFEncoder.indexedImage(color[k]).rgb, "color frame \(k)") }
    }

    func testRefusesWhatGIFCannotHold() {
        let ok = PNGImage(width: 2, height: 2, bitDepth: 8, channels: 1, pixels: [1, 2, 3, 4])
        let cases: [([PNGImage], String)] = [
            ([], "no frames"),
            ([PNGImage(width: 2, height: 2, bitDepth: 16, channels: 1, pixels: [UInt8](repeating: 0, count: 8))], "16 bits"),
            ([PNGImage(width: 2, height: 2, bitDepth: 8, channels: 4, pixels: [UInt8](repeating: 0, count: 16))], "4 channel"),
            ([PNGImage(width: 2, height: 2, bitDepth: 8, channels: 1, pixels: [1])], "bytes of pixels"),
            ([PNGImage(width: 70000, height: 1, bitDepth: 8, channels: 1, pixels: [UInt8](repeating: 0, count: 70000))], "65535"),
            ([ok, PNGImage(width: 3, height: 2, bitDepth: 8, channels: 1, pixels: [UInt8](repeating: 0, count: 6))], "frame 1 is 3x2"),
        ]
        for (frames, words) in cases {
            XCTAssertThrowsError(try GIFEncoder.encodeAnimation(frames)) { error in
                guard case .invalidImage = error as? GIFError else { return XCTFail("\(error)") }
                XCTAssert("\(error)".contains(words), "\(error) should mention \(words)")
            }
        }
    }

    // MARK: helpers

    /// Writes the GIFs, has Pillow decode every frame (as L or RGB raw files), returns its report.
    static func decodeWithPillow(_ gifs: [(String, [UInt8])]) throws -> [String: Any] {
        let dir = TestSupport.temporaryDirectory("gif")
        for (name, bytes) in gifs { try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name).gif")) }
        let tool = dir + "/gif_tool.py"
        try pythonTool.write(toFile: tool, atomically: true, encoding: .utf8)
        let (status, out, err) = try TestSupport.run("python3", [tool, dir] + gifs.map(\.0))
        guard status == 0 else { throw XCTSkipFailure("python3 with Pillow and numpy is required (scripts/install-test-peers.sh): \(err)") }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var report = try JSONSerialization.jsonObject(with: out) as! [String: Any]
        // The decoded frames, kept in the report as "file:<name>.<frame>.<L|RGB>".
        for file in try FileManager.default.contentsOfDirectory(atPath: dir) where file.hasSuffix(".L") || file.hasSuffix(".RGB") {
            report["file:" + file] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(file)")))
        }
        return report
    }

    static func read(_ report: [String: Any], _ name: String, frame: Int, channels: Int) throws -> [UInt8] {
        guard let bytes = report["file:\(name).\(frame).\(channels == 1 ? "L" : "RGB")"] as? [UInt8] else {
            throw XCTSkipFailure("Pillow did not decode frame \(frame) of \(name)")
        }
        return bytes
    }

    static let pythonTool = #"""
    import json, os, sys
    import numpy as np
    from PIL import Image, ImageSequence

    out, names = sys.argv[1], sys.argv[2:]
    report = {}
    for name in names:
        try:
            im = Image.open(os.path.join(out, name + ".gif"))
            info = {"size": list(im.size), "frames": getattr(im, "n_frames", 1), "format": im.format}
            if "loop" in im.info:
                info["loop"] = im.info["loop"]
            if "duration" in im.info:
                info["duration"] = im.info["duration"]
            for k, frame in enumerate(ImageSequence.Iterator(im)):
                np.asarray(frame.convert("L")).tofile(os.path.join(out, "%s.%d.L" % (name, k)))
                np.asarray(frame.convert("RGB")).tofile(os.path.join(out, "%s.%d.RGB" % (name, k)))
            report[name] = info
        except Exception as e:
            report[name] = {"error": "%s: %s" % (type(e).__name__, e)}
    json.dump(report, sys.stdout)
    """#
}

extension PNGImage {
    /// A gray image as RGB with equal channels.
    func expandedToRGB() -> PNGImage {
        PNGImage(width: width, height: height, bitDepth: 8, channels: 3, pixels: pixels.flatMap { [$0, $0, $0] })
    }
}
