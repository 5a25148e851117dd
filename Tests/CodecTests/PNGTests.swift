import Foundation
import XCTest
@testable import Codec

final class PNGTests: XCTestCase {
    // MARK: Round trips

    func testEncodeDecodeRoundTrip() throws {
        var rng = ZlibTestRNG(seed: 11)
        for bitDepth in [8, 16] {
            for channels in 1...4 {
                for (w, h) in [(1, 1), (17, 5), (64, 48), (3, 100)] {
                    for content in ["random", "gradient"] {
                        let image = Self.makeImage(w, h, bitDepth: bitDepth, channels: channels, content: content, rng: &rng)
                        let png = try PNGEncoder.encode(image)
                        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
                        let back = try PNGDecoder.decode(png)
                        XCTAssertEqual(back, image, "\(w)x\(h) \(channels) channel(s) \(bitDepth)-bit \(content)")
                    }
                }
            }
        }
    }

    func testCompressionLevelsAllDecode() throws {
        var rng = ZlibTestRNG(seed: 5)
        let image = Self.makeImage(120, 80, bitDepth: 16, channels: 1, content: "gradient", rng: &rng)
        var sizes: [Int32: Int] = [:]
        for level: Int32 in [0, 1, 6, 9] {
            let png = try PNGEncoder.encode(image, level: level)
            sizes[level] = png.count
            XCTAssertEqual(try PNGDecoder.decode(png), image, "level \(level)")
        }
        XCTAssertLessThan(sizes[9]!, sizes[0]! / 2, "a smooth image must compress")
    }

    /// Our encoder's files, decoded by an independent PNG reader written in Python (zlib + struct).
    func testEncoderOutputDecodesWithPython() throws {
        let dir = TestSupport.temporaryDirectory("png-enc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tool = try Self.writeTool(dir)
        var rng = ZlibTestRNG(seed: 21)
        var images: [(String, PNGImage)] = []
        for (bitDepth, channels, w, h) in [(8, 1, 97, 61), (16, 1, 64, 64), (8, 3, 50, 33), (16, 3, 31, 20),
                                            (8, 2, 9, 9), (16, 4, 12, 7), (8, 4, 1, 1), (8, 1, 300, 2)] {
            for content in ["random", "gradient"] {
                let name = "enc-\(bitDepth)-\(channels)-\(w)x\(h)-\(content)"
                let image = Self.makeImage(w, h, bitDepth: bitDepth, channels: channels, content: content, rng: &rng)
                try Data(try PNGEncoder.encode(image)).write(to: URL(fileURLWithPath: "\(dir)/\(name).png"))
                images.append((name, image))
            }
        }
        let (status, out, err) = try TestSupport.run("python3", [tool, "decode", dir] + images.map { $0.0 })
        XCTAssertEqual(status, 0, "python3 (required) failed or is missing: \(err)")
        guard status == 0 else { return }
        let report = try JSONSerialization.jsonObject(with: out) as! [String: Any]
        var filterTypesUsed = Set<Int>()
        for (name, image) in images {
            guard let info = report[name] as? [String: Any] else { XCTFail("python did not decode \(name): \(report)"); continue }
            XCTAssertEqual(info["width"] as? Int, image.width, name)
            XCTAssertEqual(info["height"] as? Int, image.height, name)
            XCTAssertEqual(info["bitDepth"] as? Int, image.bitDepth, name)
            XCTAssertEqual(info["channels"] as? Int, image.channels, name)
            for f in info["filters"] as? [Int] ?? [] { filterTypesUsed.insert(f) }
            let pixels = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name).raw")))
            XCTAssertEqual(pixels, image.pixels, "python decodes other pixels from our \(name)")
        }
        XCTAssertGreaterThanOrEqual(filterTypesUsed.count, 3, "the adaptive filter should pick several filter types: \(filterTypesUsed)")
    }

    /// PNGs written by an independent Python encoder: every color type and bit depth, palettes with and
    /// without tRNS, Adam7, all five filter types, split IDAT, ancillary chunks.
    func testDecodesPythonWrittenPNGs() throws {
        let dir = TestSupport.temporaryDirectory("png-dec")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tool = try Self.writeTool(dir)
        let (status, out, err) = try TestSupport.run("python3", [tool, "make", dir])
        XCTAssertEqual(status, 0, "python3 (required) failed or is missing: \(err)")
        guard status == 0 else { return }
        let manifest = try JSONSerialization.jsonObject(with: out) as! [[String: Any]]
        XCTAssertGreaterThan(manifest.count, 100)
        var interlaced = 0
        for entry in manifest {
            let name = entry["name"] as! String
            let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name).png")))
            let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name).expected")))
            do {
                let image = try PNGDecoder.decode(png)
                XCTAssertEqual(image.width, entry["width"] as? Int, name)
                XCTAssertEqual(image.height, entry["height"] as? Int, name)
                XCTAssertEqual(image.bitDepth, entry["bitDepth"] as? Int, name)
                XCTAssertEqual(image.channels, entry["channels"] as? Int, name)
                XCTAssertEqual(image.pixels, expected, "\(name): pixels differ from the Python encoder's source image")
                if entry["interlace"] as? Int == 1 { interlaced += 1 }
            } catch {
                XCTFail("\(name): \(error)")
            }
        }
        XCTAssertGreaterThan(interlaced, 40)
    }

    // MARK: Errors

    func testRejectsNonPNG() {
        for bytes: [UInt8] in [[], [0x89, 0x50, 0x4E], [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0x4A, 0x46, 0x49, 0x46], Array("DICM not a png file".utf8)] {
            XCTAssertThrowsError(try PNGDecoder.decode(bytes)) { XCTAssertEqual($0 as? PNGError, .notPNG) }
        }
        XCTAssertTrue("\(PNGError.notPNG)".contains("not a PNG"))
    }

    func testBadCRCNamesTheChunk() throws {
        let png = try PNGEncoder.encode(PNGImage(width: 4, height: 4, bitDepth: 8, channels: 1, pixels: Array(0..<16)))
        var bad = png
        bad[8 + 8 + 2] ^= 0x01  // inside IHDR's data (width)
        XCTAssertThrowsError(try PNGDecoder.decode(bad)) { error in
            guard case .badCRC("IHDR", 8, _, _)? = error as? PNGError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("bad CRC in PNG chunk IHDR"), "\(error)")
        }
        bad = png
        bad[33 + 9] ^= 0x40  // inside the first IDAT's data
        XCTAssertThrowsError(try PNGDecoder.decode(bad)) { error in
            guard case .badCRC("IDAT", 33, _, _)? = error as? PNGError else { return XCTFail("\(error)") }
        }
        bad = png
        bad[bad.count - 1] ^= 0xFF  // IEND's CRC itself
        XCTAssertThrowsError(try PNGDecoder.decode(bad)) { error in
            guard case .badCRC("IEND", _, _, _)? = error as? PNGError else { return XCTFail("\(error)") }
        }
    }

    func testTruncatedFilesThrow() throws {
        var rng = ZlibTestRNG(seed: 1)
        let png = try PNGEncoder.encode(Self.makeImage(20, 20, bitDepth: 8, channels: 3, content: "random", rng: &rng))
        for cut in 8..<png.count {
            XCTAssertThrowsError(try PNGDecoder.decode(Array(png.prefix(cut))), "cut at \(cut)") { error in
                guard case .truncated? = error as? PNGError else { return XCTFail("cut at \(cut): \(error)") }
            }
        }
        XCTAssertThrowsError(try PNGDecoder.decode(Array(png.dropLast(12)))) { error in
            XCTAssertTrue("\(error)".contains("no IEND"), "\(error)")
        }
    }

    func testIDATShorterOrLongerThanTheImage() throws {
        // 4x2 gray 8-bit needs 2 * (1 + 4) = 10 bytes.
        let short = Self.png(ihdr: Self.ihdr(4, 2, depth: 8, color: 0), idat: try Zlib.deflate([UInt8](repeating: 0, count: 9)))
        XCTAssertThrowsError(try PNGDecoder.decode(short)) { error in
            guard case .truncated? = error as? PNGError else { return XCTFail("\(error)") }
        }
        let long = Self.png(ihdr: Self.ihdr(4, 2, depth: 8, color: 0), idat: try Zlib.deflate([UInt8](repeating: 0, count: 11)))
        XCTAssertThrowsError(try PNGDecoder.decode(long)) { error in
            guard case .malformed(let reason)? = error as? PNGError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("more than the 10 bytes"), reason)
        }
        let corrupt = Self.png(ihdr: Self.ihdr(4, 2, depth: 8, color: 0), idat: [0x78, 0x9C, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try PNGDecoder.decode(corrupt)) { error in
            guard case .compression? = error as? PNGError else { return XCTFail("\(error)") }
        }
    }

    func testUnsupportedHeaders() throws {
        let idat = try Zlib.deflate([UInt8](repeating: 0, count: 100))
        let cases: [([UInt8], PNGError)] = [
            (Self.ihdr(2, 2, depth: 4, color: 2), .unsupportedBitDepth(bitDepth: 4, colorType: 2)),
            (Self.ihdr(2, 2, depth: 16, color: 3), .unsupportedBitDepth(bitDepth: 16, colorType: 3)),
            (Self.ihdr(2, 2, depth: 3, color: 0), .unsupportedBitDepth(bitDepth: 3, colorType: 0)),
            (Self.ihdr(2, 2, depth: 8, color: 5), .unsupportedColorType(5)),
            (Self.ihdr(2, 2, depth: 8, color: 0, interlace: 2), .unsupportedInterlace(2)),
            (Self.ihdr(0, 2, depth: 8, color: 0), .malformed("invalid dimensions 0x2")),
        ]
        for (ihdr, expected) in cases {
            XCTAssertThrowsError(try PNGDecoder.decode(Self.png(ihdr: ihdr, idat: idat))) { XCTAssertEqual($0 as? PNGError, expected) }
        }
        XCTAssertEqual("\(PNGError.unsupportedBitDepth(bitDepth: 4, colorType: 2))", "unsupported PNG bit depth 4 for color type 2")
    }

    func testImageTooLarge() throws {
        // Refused from the header alone: nothing near 10^10 bytes is allocated.
        let huge = Self.png(ihdr: Self.ihdr(100_000, 100_000, depth: 16, color: 6), idat: try Zlib.deflate([0]))
        XCTAssertThrowsError(try PNGDecoder.decode(huge)) {
            XCTAssertEqual($0 as? PNGError, .imageTooLarge(width: 100_000, height: 100_000, limit: 1 << 28))
        }
        let png = try PNGEncoder.encode(PNGImage(width: 11, height: 10, bitDepth: 8, channels: 1, pixels: [UInt8](repeating: 9, count: 110)))
        XCTAssertThrowsError(try PNGDecoder.decode(png, maxPixels: 109)) { XCTAssertEqual($0 as? PNGError, .imageTooLarge(width: 11, height: 10, limit: 109)) }
        XCTAssertEqual(try PNGDecoder.decode(png, maxPixels: 110).pixels.count, 110)
    }

    func testInvalidFilterTypeAndPaletteIndex() throws {
        // Row 1 has filter type 5.
        let rows: [UInt8] = [0, 1, 2, 3, 5, 1, 2, 3]
        let bad = Self.png(ihdr: Self.ihdr(3, 2, depth: 8, color: 0), idat: try Zlib.deflate(rows))
        XCTAssertThrowsError(try PNGDecoder.decode(bad)) { XCTAssertEqual($0 as? PNGError, .malformed("invalid filter type 5 in row 1")) }
        // Index 2 with a two-entry palette.
        let indexed = Self.png(ihdr: Self.ihdr(3, 1, depth: 8, color: 3), idat: try Zlib.deflate([0, 0, 1, 2]),
                               before: [("PLTE", [255, 0, 0, 0, 255, 0])])
        XCTAssertThrowsError(try PNGDecoder.decode(indexed)) { error in
            XCTAssertTrue("\(error)".contains("palette index 2"), "\(error)")
        }
        let noPalette = Self.png(ihdr: Self.ihdr(3, 1, depth: 8, color: 3), idat: try Zlib.deflate([0, 0, 1, 1]))
        XCTAssertThrowsError(try PNGDecoder.decode(noPalette)) { error in
            XCTAssertTrue("\(error)".contains("without PLTE"), "\(error)")
        }
    }

    func testChunkRules() throws {
        let idat = try Zlib.deflate([0, 7, 0, 8])
        let ihdr = Self.ihdr(1, 2, depth: 8, color: 0)
        // Unknown ancillary chunks are skipped; unknown critical ones refused (PNG spec 5.4).
        XCTAssertEqual(try PNGDecoder.decode(Self.png(ihdr: ihdr, idat: idat, before: [("abCd", [1, 2, 3])])).pixels, [7, 8])
        XCTAssertThrowsError(try PNGDecoder.decode(Self.png(ihdr: ihdr, idat: idat, before: [("ABCD", [1])]))) {
            XCTAssertEqual($0 as? PNGError, .unsupportedCriticalChunk("ABCD"))
        }
        // IDAT split in two consecutive chunks is fine; separated by another chunk it is not (PNG spec 5.6).
        let split = Self.png(ihdr: ihdr, idat: Array(idat.prefix(3)), before: [], after: [("IDAT", Array(idat.dropFirst(3)))])
        XCTAssertEqual(try PNGDecoder.decode(split).pixels, [7, 8])
        let separated = Self.png(ihdr: ihdr, idat: Array(idat.prefix(3)), before: [], after: [("tEXt", Array("a\0b".utf8)), ("IDAT", Array(idat.dropFirst(3)))])
        XCTAssertThrowsError(try PNGDecoder.decode(separated)) { XCTAssertEqual($0 as? PNGError, .malformed("IDAT chunks are not consecutive")) }
        // IHDR must come first.
        var noHeaderFirst = PNGFormat.signature
        Self.appendChunk(&noHeaderFirst, "tEXt", [])
        Self.appendChunk(&noHeaderFirst, "IHDR", ihdr)
        XCTAssertThrowsError(try PNGDecoder.decode(noHeaderFirst)) { XCTAssertEqual($0 as? PNGError, .malformed("the first chunk is tEXt, not IHDR")) }
    }

    func testEncoderRejectsInvalidImages() {
        let cases: [PNGImage] = [
            PNGImage(width: 2, height: 2, bitDepth: 8, channels: 1, pixels: [1, 2, 3]),
            PNGImage(width: 2, height: 2, bitDepth: 12, channels: 1, pixels: [UInt8](repeating: 0, count: 8)),
            PNGImage(width: 2, height: 2, bitDepth: 8, channels: 5, pixels: [UInt8](repeating: 0, count: 20)),
            PNGImage(width: 0, height: 2, bitDepth: 8, channels: 1, pixels: []),
            PNGImage(width: 1 << 40, height: 1 << 40, bitDepth: 8, channels: 1, pixels: []),
        ]
        for image in cases {
            XCTAssertThrowsError(try PNGEncoder.encode(image)) { error in
                guard case .invalidImage? = error as? PNGError else { return XCTFail("\(error)") }
            }
        }
    }

    // MARK: Helpers

    static func makeImage(_ w: Int, _ h: Int, bitDepth: Int, channels: Int, content: String, rng: inout ZlibTestRNG) -> PNGImage {
        let bps = bitDepth / 8
        var pixels = [UInt8](repeating: 0, count: w * h * channels * bps)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<channels {
                    let v: Int
                    if content == "random" {
                        v = Int(truncatingIfNeeded: rng.next() & 0xFFFF)
                    } else {
                        // Smooth in both directions plus a little noise: what CT/MR frames look like.
                        v = (x * 211 + y * 97 + c * 4000 + Int(rng.next() % 8)) & (bitDepth == 8 ? 0xFF : 0xFFFF)
                    }
                    let i = ((y * w + x) * channels + c) * bps
                    if bps == 1 { pixels[i] = UInt8(v & 0xFF) } else { pixels[i] = UInt8(v >> 8); pixels[i + 1] = UInt8(v & 0xFF) }
                }
            }
        }
        return PNGImage(width: w, height: h, bitDepth: bitDepth, channels: channels, pixels: pixels)
    }

    static func ihdr(_ w: UInt32, _ h: UInt32, depth: UInt8, color: UInt8, interlace: UInt8 = 0) -> [UInt8] {
        be32(w) + be32(h) + [depth, color, 0, 0, interlace]
    }

    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    /// A test-made chunk with its CRC computed independently of the encoder's chunk writer.
    static func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        let body = Array(type.utf8) + data
        out += be32(UInt32(data.count)) + body + be32(Zlib.crc32(body))
    }

    static func png(ihdr: [UInt8], idat: [UInt8], before: [(String, [UInt8])] = [], after: [(String, [UInt8])] = []) -> [UInt8] {
        var out = PNGFormat.signature
        appendChunk(&out, "IHDR", ihdr)
        for (t, d) in before { appendChunk(&out, t, d) }
        appendChunk(&out, "IDAT", idat)
        for (t, d) in after { appendChunk(&out, t, d) }
        appendChunk(&out, "IEND", [])
        return out
    }

    static func writeTool(_ dir: String) throws -> String {
        let path = dir + "/png_tool.py"
        try pythonTool.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// An independent PNG writer and reader in plain Python (zlib + struct), following the PNG spec
    /// directly: it shares no code with ours.
    static let pythonTool = #"""
    import json, os, random, struct, sys, zlib

    SIG = b'\x89PNG\r\n\x1a\n'
    ADAM7 = [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]
    SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}

    def chunk(t, data):
        return struct.pack('>I', len(data)) + t + data + struct.pack('>I', zlib.crc32(t + data) & 0xffffffff)

    def paeth(a, b, c):
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        if pa <= pb and pa <= pc:
            return a
        return b if pb <= pc else c

    def predict(f, a, b, c):
        return [0, a, b, (a + b) // 2, paeth(a, b, c)][f]

    def filter_row(f, row, prev, bpp):
        out = bytearray([f])
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            out.append((x - predict(f, a, prev[i], c)) & 0xff)
        return out

    def pack(samples, depth):
        if depth == 8:
            return bytes(samples)
        if depth == 16:
            return b''.join(struct.pack('>H', s) for s in samples)
        out, acc, bits = bytearray(), 0, 0
        for s in samples:
            acc, bits = (acc << depth) | s, bits + depth
            if bits == 8:
                out.append(acc)
                acc, bits = 0, 0
        if bits:
            out.append(acc << (8 - bits))
        return bytes(out)

    def make_png(d, name, w, h, color, depth, interlace, seed, trns=False):
        rnd = random.Random(seed)
        spp = SAMPLES[color]
        top = (1 << depth) - 1
        palette, alpha = None, b''
        if color == 3:
            palette = [bytes(rnd.randrange(256) for _ in range(3)) for _ in range(rnd.randint(2, 1 << depth))]
            top = len(palette) - 1
            if trns:
                alpha = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, len(palette))))
        sx, sy = rnd.randint(1, 9), rnd.randint(1, 9)
        mul = 257 if depth == 16 else 1  # reach the high byte of 16-bit samples
        if seed % 2:  # smooth: the predictors matter
            img = [[[((x * sx + y * sy + ch * 37) * mul + rnd.randint(0, 2)) % (top + 1) for ch in range(spp)]
                    for x in range(w)] for y in range(h)]
        else:  # noise: every byte value, and the Paeth ties that only noise produces
            img = [[[rnd.randint(0, top) for ch in range(spp)] for x in range(w)] for y in range(h)]
        bpp = max(1, spp * depth // 8)
        raw = bytearray()
        f = rnd.randrange(5)
        for (r0, c0, rs, cs) in (ADAM7 if interlace else [(0, 0, 1, 1)]):
            xs, ys = range(c0, w, cs), range(r0, h, rs)
            if not xs or not ys:
                continue
            prev = bytes(len(pack([0] * (len(xs) * spp), depth)))
            for y in ys:
                row = pack([s for x in xs for s in img[y][x]], depth)
                raw += filter_row(f % 5, row, prev, bpp)
                f += 1
                prev = row
        comp = zlib.compress(bytes(raw), 9)
        png = SIG + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, color, 0, 0, interlace))
        png += chunk(b'tEXt', b'Comment\x00independent test encoder')
        if palette:
            png += chunk(b'PLTE', b''.join(palette))
        if trns:
            png += chunk(b'tRNS', alpha)
        cuts = sorted(rnd.randint(0, len(comp)) for _ in range(rnd.randint(0, 3)))
        for a, b in zip([0] + cuts, cuts + [len(comp)]):
            png += chunk(b'IDAT', comp[a:b])
        png += chunk(b'IEND', b'')
        open(os.path.join(d, name + '.png'), 'wb').write(png)
        # What the decoder must return: 8-bit for depths <= 8 (gray scaled by 255/(2^depth-1)),
        # palette expanded to RGB (RGBA with tRNS), 16-bit big-endian.
        exp = bytearray()
        for y in range(h):
            for x in range(w):
                if color == 3:
                    i = img[y][x][0]
                    exp += palette[i]
                    if trns:
                        exp.append(alpha[i] if i < len(alpha) else 255)
                else:
                    for s in img[y][x]:
                        exp += struct.pack('>H', s) if depth == 16 else bytes([s * 255 // top])
        open(os.path.join(d, name + '.expected'), 'wb').write(exp)
        channels = (4 if trns else 3) if color == 3 else spp
        return dict(name=name, width=w, height=h, bitDepth=16 if depth == 16 else 8, channels=channels,
                    interlace=interlace)

    def make(d):
        out, seed = [], 0
        depths = {0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]}
        for color, ds in depths.items():
            for depth in ds:
                for interlace in (0, 1):
                    for (w, h) in [(1, 1), (13, 7), (37, 29), (3, 10)]:
                        for trns in ([False, True] if color == 3 else [False]):
                            seed += 1
                            name = 'c%d-d%d-i%d-%dx%d%s' % (color, depth, interlace, w, h, '-trns' if trns else '')
                            out.append(make_png(d, name, w, h, color, depth, interlace, seed, trns))
        print(json.dumps(out))

    def decode(path):
        data = open(path, 'rb').read()
        assert data[:8] == SIG, 'signature'
        pos, idat, hdr, seen = 8, b'', None, []
        while True:
            (n,) = struct.unpack('>I', data[pos:pos + 4])
            t = data[pos + 4:pos + 8]
            body = data[pos + 8:pos + 8 + n]
            (crc,) = struct.unpack('>I', data[pos + 8 + n:pos + 12 + n])
            assert crc == zlib.crc32(t + body) & 0xffffffff, 'CRC of ' + t.decode()
            seen.append(t.decode())
            if t == b'IHDR':
                hdr = struct.unpack('>IIBBBBB', body)
            elif t == b'IDAT':
                idat += body
            elif t == b'IEND':
                assert pos + 12 + n == len(data), 'bytes after IEND'
                break
            pos += 12 + n
        assert seen[0] == 'IHDR', seen
        w, h, depth, color, comp, filt, inter = hdr
        assert (comp, filt, inter) == (0, 0, 0) and depth in (8, 16) and color in (0, 2, 4, 6), hdr
        z = zlib.decompressobj()
        raw = z.decompress(idat)
        assert z.eof and not z.unused_data, 'zlib stream must end exactly at the end of IDAT'
        spp = SAMPLES[color]
        bpp = spp * depth // 8
        n = w * bpp
        assert len(raw) == h * (n + 1), 'image data size'
        prev, pixels, filters = bytearray(n), bytearray(), []
        for y in range(h):
            f = raw[y * (n + 1)]
            filters.append(f)
            row = bytearray(raw[y * (n + 1) + 1:(y + 1) * (n + 1)])
            for i in range(n):
                a = row[i - bpp] if i >= bpp else 0
                c = prev[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + predict(f, a, prev[i], c)) & 0xff
            pixels += row
            prev = row
        return dict(width=w, height=h, bitDepth=depth, channels=spp, filters=sorted(set(filters))), pixels

    if __name__ == '__main__':
        if sys.argv[1] == 'make':
            make(sys.argv[2])
        else:
            d, report = sys.argv[2], {}
            for name in sys.argv[3:]:
                info, pixels = decode(os.path.join(d, name + '.png'))
                open(os.path.join(d, name + '.raw'), 'wb').write(pixels)
                report[name] = info
            print(json.dumps(report))
    """#
}
