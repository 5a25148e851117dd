import CZlib

/// PNG (ISO/IEC 15948, "PNG spec" below; section numbers from the W3C PNG 2nd/3rd edition) for
/// exporting rendered frames and importing images. Section numbers in comments refer to it.

/// Decoded or to-be-encoded pixels. Rows are stored top to bottom with no padding; samples are
/// interleaved per pixel (gray, gray+alpha, R G B, R G B A); 16-bit samples are big-endian, as in PNG.
public struct PNGImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// 8 or 16 bits per sample.
    public var bitDepth: Int
    /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, bitDepth: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.bitDepth = bitDepth
        self.channels = channels
        self.pixels = pixels
    }

    public var bytesPerPixel: Int { channels * (bitDepth / 8) }
}

public enum PNGError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first 8 bytes are not the PNG signature (PNG spec 5.2).
    case notPNG
    /// The data ends inside `context`, found at byte `offset`.
    case truncated(offset: Int, context: String)
    /// A chunk whose CRC (PNG spec 5.3) does not match its type and data.
    case badCRC(chunk: String, offset: Int, stored: UInt32, computed: UInt32)
    case unsupportedColorType(Int)
    /// A bit depth not allowed for the color type (PNG spec 11.2.2 table 11.1).
    case unsupportedBitDepth(bitDepth: Int, colorType: Int)
    /// An interlace method other than 0 (none) and 1 (Adam7).
    case unsupportedInterlace(Int)
    /// A critical chunk (uppercase first letter) this decoder does not know (PNG spec 5.4).
    case unsupportedCriticalChunk(String)
    case imageTooLarge(width: Int, height: Int, limit: Int)
    /// The structure breaks a rule of the spec (chunk order, filter type, palette index...).
    case malformed(String)
    /// The image data (IDAT) is not a valid zlib stream.
    case compression(ZlibError)
    /// The encoder was given an image it cannot represent.
    case invalidImage(String)

    public var description: String {
        switch self {
        case .notPNG:
            return "not a PNG file: the PNG signature is missing"
        case let .truncated(offset, context):
            return "truncated PNG: the data ends in \(context) (at byte \(offset))"
        case let .badCRC(chunk, offset, stored, computed):
            return "bad CRC in PNG chunk \(chunk) at byte \(offset): stored \(hex(stored)), computed \(hex(computed))"
        case let .unsupportedColorType(t):
            return "unsupported PNG color type \(t) (valid: 0, 2, 3, 4, 6)"
        case let .unsupportedBitDepth(d, t):
            return "unsupported PNG bit depth \(d) for color type \(t)"
        case let .unsupportedInterlace(m):
            return "unsupported PNG interlace method \(m) (valid: 0 none, 1 Adam7)"
        case let .unsupportedCriticalChunk(name):
            return "unsupported critical PNG chunk \(name)"
        case let .imageTooLarge(w, h, limit):
            return "PNG image too large: \(w)x\(h) exceeds the limit of \(limit) pixels"
        case let .malformed(reason):
            return "malformed PNG: \(reason)"
        case let .compression(e):
            return "PNG image data: \(e)"
        case let .invalidImage(reason):
            return "cannot encode PNG: \(reason)"
        }
    }

    private func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }
}

enum PNGFormat {
    /// PNG spec 5.2: "\x89PNG\r\n\x1A\n" catches 7-bit and line-ending mangling.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// PNG spec 5.3: lengths and dimensions are at most 2^31-1.
    static let maxUInt31 = 0x7FFF_FFFF
}

// MARK: - Encoder

public enum PNGEncoder {
    /// Non-interlaced PNG with one IHDR, IDAT chunk(s) and IEND. Each row gets the filter whose
    /// output has the smallest sum of absolute values (as signed bytes): the heuristic of PNG spec 12.8.
    /// `level` is zlib's 0 (stored) to 9, or -1 for its default; see `strategy` for how it is used.
    /// `filter` `.adaptive` (the default) is that heuristic; a fixed filter (`PNGRowFilter`) trades
    /// some size for speed.
    public static func encode(_ image: PNGImage, level: Int32 = 6, filter: PNGRowFilter = .adaptive) throws -> [UInt8] {
        let (w, h) = (image.width, image.height)
        guard (1...PNGFormat.maxUInt31).contains(w), (1...PNGFormat.maxUInt31).contains(h) else {
            throw PNGError.invalidImage("width and height must be 1 to 2^31-1, not \(w)x\(h)")
        }
        guard image.bitDepth == 8 || image.bitDepth == 16 else {
            throw PNGError.invalidImage("bit depth must be 8 or 16, not \(image.bitDepth)")
        }
        guard (1...4).contains(image.channels) else {
            throw PNGError.invalidImage("channels must be 1 to 4, not \(image.channels)")
        }
        let bpp = image.bytesPerPixel
        let (rowBytes, o1) = w.multipliedReportingOverflow(by: bpp)
        let (total, o2) = rowBytes.multipliedReportingOverflow(by: h)
        let (filteredSize, o3) = (rowBytes + 1).multipliedReportingOverflow(by: h)
        guard !o1, !o2, !o3 else { throw PNGError.invalidImage("\(w)x\(h) is too large") }
        guard image.pixels.count == total else {
            throw PNGError.invalidImage("\(w)x\(h)x\(image.channels) at \(image.bitDepth) bits needs \(total) bytes of pixels, got \(image.pixels.count)")
        }

        var filtered = [UInt8](repeating: 0, count: filteredSize)
        image.pixels.withUnsafeBufferPointer { src in
            filtered.withUnsafeMutableBufferPointer { dst in
                if filter == .adaptive {
                    filterRows(src.baseAddress!, dst.baseAddress!, rowBytes: rowBytes, rows: h, bpp: bpp)
                } else {
                    filterRows(src.baseAddress!, dst.baseAddress!, rowBytes: rowBytes, rows: h, bpp: bpp, fixed: filter)
                }
            }
        }
        let compressed = try filtered.withUnsafeBytes {
            try Zlib.deflate($0, format: .zlib, level: level, strategy: strategy(bitDepth: image.bitDepth, level: level))
        }

        var out = [UInt8]()
        out.reserveCapacity(compressed.count + 64)
        out += PNGFormat.signature
        // IHDR (PNG spec 11.2.2): color type 0 gray, 4 gray+alpha, 2 RGB, 6 RGBA; compression,
        // filter method 0; interlace 0.
        let colorType: UInt8 = [0, 4, 2, 6][image.channels - 1]
        var ihdr = [UInt8]()
        appendUInt32(&ihdr, UInt32(w))
        appendUInt32(&ihdr, UInt32(h))
        ihdr += [UInt8(image.bitDepth), colorType, 0, 0, 0]
        ihdr.withUnsafeBytes { appendChunk(&out, "IHDR", $0) }
        // IDAT may be split anywhere (PNG spec 11.2.4); slices keep each below the 2^31-1 length limit.
        compressed.withUnsafeBytes { all in
            var offset = 0
            repeat {
                let n = min(all.count - offset, 1 << 30)
                appendChunk(&out, "IDAT", UnsafeRawBufferPointer(rebasing: all[offset..<offset + n]))
                offset += n
            } while offset < all.count
        }
        appendChunk(&out, "IEND", UnsafeRawBufferPointer(start: nil, count: 0))
        return out
    }

    /// zlib strategy for filtered rows. 8-bit: Z_FILTERED (libpng's choice), which favours the short
    /// matches of filter residuals. 16-bit: the residuals' high bytes are mostly 00/FF, which gives
    /// zlib's LZ77 hash chains pathological lengths (512x512 CT-like frame: 37-64 ms at level 6);
    /// Z_RLE (distance-1 matches only) takes ~4 ms and comes within 0.2% of the size. Levels 7-9
    /// still get full LZ77 for callers who ask for size over speed.
    static func strategy(bitDepth: Int, level: Int32) -> Int32 {
        bitDepth == 16 && level < 7 ? Z_RLE : Z_FILTERED
    }

    /// Writes each row as filter byte + filtered bytes (PNG spec 9.2), choosing per row.
    static func filterRows(_ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<UInt8>,
                           rowBytes n: Int, rows: Int, bpp: Int) {
        // One scratch row per filter type 1-4; type 0 is the row itself.
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 4 * n)
        defer { scratch.deallocate() }
        let zero = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
        zero.initialize(repeating: 0, count: n)
        defer { zero.deallocate() }
        let lead = min(bpp, n)

        for r in 0..<rows {
            let cur = src + r * n
            // The row above; zeros for the first row (PNG spec 9.2).
            let up = r == 0 ? UnsafePointer(zero) : cur - n
            let sub = scratch, upF = scratch + n, avg = scratch + 2 * n, paeth = scratch + 3 * n
            // Costs of the five candidates, summed while they are computed (one pass over the row).
            var c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0
            // Bytes before the first pixel have a = c = 0; Paeth then predicts b.
            for i in 0..<lead {
                let x = cur[i], b = up[i]
                sub[i] = x; upF[i] = x &- b; avg[i] = x &- (b >> 1); paeth[i] = x &- b
                c0 &+= signedMagnitude(x); c1 &+= signedMagnitude(x); c2 &+= signedMagnitude(x &- b)
                c3 &+= signedMagnitude(x &- (b >> 1)); c4 &+= signedMagnitude(x &- b)
            }
            for i in lead..<n {
                let x = cur[i], a = cur[i - bpp], b = up[i], c = up[i - bpp]
                let f1 = x &- a, f2 = x &- b
                let f3 = x &- UInt8((UInt16(a) &+ UInt16(b)) >> 1)
                let f4 = x &- paethPredictor(a, b, c)
                sub[i] = f1; upF[i] = f2; avg[i] = f3; paeth[i] = f4
                c0 &+= signedMagnitude(x); c1 &+= signedMagnitude(f1); c2 &+= signedMagnitude(f2)
                c3 &+= signedMagnitude(f3); c4 &+= signedMagnitude(f4)
            }
            var best = c0, bestFilter = 0
            for (f, c) in [(1, c1), (2, c2), (3, c3), (4, c4)] where c < best { best = c; bestFilter = f }
            let out = dst + r * (n + 1)
            out[0] = UInt8(bestFilter)
            (out + 1).update(from: bestFilter == 0 ? cur : UnsafePointer(scratch + (bestFilter - 1) * n), count: n)
        }
    }

    /// |byte| reading the byte as signed, the cost measure of PNG spec 12.8.
    @inline(__always)
    static func signedMagnitude(_ v: UInt8) -> Int { Int(Int8(bitPattern: v).magnitude) }

    static func appendUInt32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// Length, type, data, CRC-32 of type + data (PNG spec 5.3).
    static func appendChunk(_ out: inout [UInt8], _ type: String, _ data: UnsafeRawBufferPointer) {
        let typeBytes = Array(type.utf8)
        appendUInt32(&out, UInt32(data.count))
        out += typeBytes
        if !data.isEmpty { out.append(contentsOf: data) }
        let crc = typeBytes.withUnsafeBytes { Zlib.crc32(data, initial: Zlib.crc32($0)) }
        appendUInt32(&out, crc)
    }
}

/// PNG spec 9.4: the neighbour (a left, b above, c above-left) closest to a + b - c, ties in that order.
@inline(__always)
func paethPredictor(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
    // |p - a| = |b - c|, |p - b| = |a - c|, |p - c| = |a + b - 2c|; selects rather than branches
    // so the row loops vectorize.
    let ia = Int16(a), ib = Int16(b), ic = Int16(c)
    let pa = abs(ib &- ic), pb = abs(ia &- ic), pc = abs(ia &+ ib &- 2 &* ic)
    let bc = pb <= pc ? b : c
    return pa <= pb && pa <= pc ? a : bc
}

// MARK: - Decoder

public enum PNGDecoder {
    /// Decodes any standard PNG: color types 0, 2, 3, 4, 6; bit depths 1-16; Adam7 or not.
    /// Output: 1-, 2- and 4-bit gray scaled to 8 bits; palette images expanded to RGB, or RGBA when a
    /// tRNS chunk gives palette alpha; 16-bit kept. tRNS color keys of gray/RGB images, gamma and
    /// color-space chunks are ignored. Every chunk's CRC is checked. `maxPixels` bounds memory
    /// before anything large is allocated.
    public static func decode(_ bytes: [UInt8], maxPixels: Int = 1 << 28) throws -> PNGImage {
        try bytes.withUnsafeBytes { try decode($0, maxPixels: maxPixels) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, maxPixels: Int = 1 << 28) throws -> PNGImage {
        guard bytes.count >= 8, bytes.prefix(8).elementsEqual(PNGFormat.signature) else { throw PNGError.notPNG }

        var header: Header?
        var palette: [UInt8] = []       // RGB triples
        var paletteAlpha: [UInt8] = []  // tRNS for color type 3
        var idat: [UInt8] = []
        var idatState = 0               // 0 none yet, 1 in the IDAT run, 2 after it
        var pos = 8

        chunks: while true {
            guard pos + 8 <= bytes.count else {
                throw PNGError.truncated(offset: pos, context: pos == bytes.count ? "the chunk list (no IEND chunk)" : "a chunk header")
            }
            let length = Int(be32(bytes, pos))
            let typeBytes = bytes[(pos + 4)..<(pos + 8)]
            guard typeBytes.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw PNGError.malformed("invalid chunk type bytes at byte \(pos + 4)")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= PNGFormat.maxUInt31 else {
                throw PNGError.malformed("chunk \(type) at byte \(pos) claims \(length) bytes (limit 2^31-1)")
            }
            guard length + 12 <= bytes.count - pos else {
                throw PNGError.truncated(offset: pos, context: "chunk \(type) of \(length) bytes")
            }
            let data = UnsafeRawBufferPointer(rebasing: bytes[(pos + 8)..<(pos + 8 + length)])
            let stored = be32(bytes, pos + 8 + length)
            let computed = Zlib.crc32(UnsafeRawBufferPointer(rebasing: bytes[(pos + 4)..<(pos + 8 + length)]))
            guard stored == computed else {
                throw PNGError.badCRC(chunk: type, offset: pos, stored: stored, computed: computed)
            }
            if header == nil && type != "IHDR" {
                throw PNGError.malformed("the first chunk is \(type), not IHDR")
            }
            if idatState == 1 && type != "IDAT" { idatState = 2 }

            switch type {
            case "IHDR":
                guard header == nil else { throw PNGError.malformed("more than one IHDR chunk") }
                header = try Header(data, maxPixels: maxPixels)
            case "PLTE":
                // PNG spec 11.2.3: 1-256 RGB entries, before IDAT. Only used for color type 3;
                // for 2 and 6 it is a quantization hint.
                guard header!.colorType == 3 else { break }
                guard idatState == 0 else { throw PNGError.malformed("PLTE after IDAT") }
                guard length % 3 == 0, (3...768).contains(length) else {
                    throw PNGError.malformed("PLTE of \(length) bytes (must be 3 to 768, a multiple of 3)")
                }
                palette = Array(data)
            case "tRNS":
                // PNG spec 11.3.2.1: for palette images, one alpha per entry (missing ones opaque).
                if header!.colorType == 3 { paletteAlpha = Array(data) }
            case "IDAT":
                // PNG spec 5.6: IDAT chunks are consecutive.
                guard idatState != 2 else { throw PNGError.malformed("IDAT chunks are not consecutive") }
                idatState = 1
                idat.append(contentsOf: data)
            case "IEND":
                break chunks
            default:
                // Bit 5 of the first byte clear = critical (PNG spec 5.4): we must not ignore it.
                if typeBytes.first! & 0x20 == 0 { throw PNGError.unsupportedCriticalChunk(type) }
            }
            pos += length + 12
        }

        let h = header!
        guard idatState != 0 else { throw PNGError.malformed("no IDAT chunk") }
        if h.colorType == 3 && palette.isEmpty { throw PNGError.malformed("palette image (color type 3) without PLTE chunk") }
        return try h.decodeImage(idat, palette: palette, paletteAlpha: paletteAlpha)
    }

    static func be32(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// Adam7 passes (PNG spec 8.2): first row, first column, row step, column step.
    static let adam7: [(row: Int, col: Int, rowStep: Int, colStep: Int)] = [
        (0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1),
    ]

    struct Header {
        let width: Int, height: Int, bitDepth: Int, colorType: Int, interlaced: Bool

        init(_ d: UnsafeRawBufferPointer, maxPixels: Int) throws {
            guard d.count == 13 else { throw PNGError.malformed("IHDR has \(d.count) bytes, not 13") }
            width = Int(PNGDecoder.be32(d, 0))
            height = Int(PNGDecoder.be32(d, 4))
            bitDepth = Int(d[8])
            colorType = Int(d[9])
            guard (1...PNGFormat.maxUInt31).contains(width), (1...PNGFormat.maxUInt31).contains(height) else {
                throw PNGError.malformed("invalid dimensions \(width)x\(height)")
            }
            let allowed: [Int]
            switch colorType {
            case 0: allowed = [1, 2, 4, 8, 16]
            case 3: allowed = [1, 2, 4, 8]
            case 2, 4, 6: allowed = [8, 16]
            default: throw PNGError.unsupportedColorType(colorType)
            }
            guard allowed.contains(bitDepth) else { throw PNGError.unsupportedBitDepth(bitDepth: bitDepth, colorType: colorType) }
            guard d[10] == 0 else { throw PNGError.malformed("unknown compression method \(d[10])") }
            guard d[11] == 0 else { throw PNGError.malformed("unknown filter method \(d[11])") }
            guard d[12] <= 1 else { throw PNGError.unsupportedInterlace(Int(d[12])) }
            interlaced = d[12] == 1
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            // 8 output bytes per pixel at most: keeps every later size computation far from overflow.
            guard !overflow, pixels <= maxPixels, pixels <= Int.max / 16 else {
                throw PNGError.imageTooLarge(width: width, height: height, limit: maxPixels)
            }
        }

        /// Samples per pixel as stored (PNG spec 11.2.2).
        var storedSamples: Int { [1, 0, 3, 1, 2, 0, 4][colorType] }
        var bitsPerPixel: Int { storedSamples * bitDepth }
        /// Bytes of one stored row of `w` pixels, without the filter byte.
        func rowBytes(_ w: Int) -> Int { (w * bitsPerPixel + 7) / 8 }

        /// (width, height) of each pass: one for non-interlaced images, seven (some maybe empty) for Adam7.
        var passes: [(row: Int, col: Int, rowStep: Int, colStep: Int, w: Int, h: Int)] {
            guard interlaced else { return [(0, 0, 1, 1, width, height)] }
            return PNGDecoder.adam7.map { p in
                let w = width > p.col ? (width - p.col + p.colStep - 1) / p.colStep : 0
                let h = height > p.row ? (height - p.row + p.rowStep - 1) / p.rowStep : 0
                return (p.row, p.col, p.rowStep, p.colStep, w, h)
            }
        }

        func decodeImage(_ idat: [UInt8], palette: [UInt8], paletteAlpha: [UInt8]) throws -> PNGImage {
            let passes = self.passes
            // Each non-empty pass row is a filter byte + packed samples (PNG spec 7.3, 8.2: empty passes have no bytes).
            let expected = passes.reduce(0) { $0 + ($1.w == 0 ? 0 : $1.h * (1 + rowBytes($1.w))) }
            var data: [UInt8]
            do {
                data = try Zlib.inflate(idat, maxOutput: expected)
            } catch ZlibError.outputLimitExceeded {
                throw PNGError.malformed("image data inflates to more than the \(expected) bytes that \(width)x\(height) needs")
            } catch ZlibError.truncated(_, _, let produced) {
                throw PNGError.truncated(offset: produced, context: "the compressed image data (IDAT): \(produced) of \(expected) bytes inflated")
            } catch let e as ZlibError {
                throw PNGError.compression(e)
            }
            guard data.count == expected else {
                throw PNGError.truncated(offset: data.count, context: "the image data: \(data.count) of \(expected) bytes")
            }

            let isPalette = colorType == 3
            let hasAlpha = isPalette && !paletteAlpha.isEmpty
            let outChannels = isPalette ? (hasAlpha ? 4 : 3) : storedSamples
            let outBitDepth = bitDepth == 16 ? 16 : 8
            let outBpp = outChannels * outBitDepth / 8
            // Palette as RGBA (alpha 255 where tRNS has no entry); 256 entries so any 8-bit index is in the table.
            var lut = [UInt8](repeating: 0, count: 256 * 4)
            let entries = palette.count / 3
            for i in 0..<entries {
                lut[4 * i] = palette[3 * i]; lut[4 * i + 1] = palette[3 * i + 1]; lut[4 * i + 2] = palette[3 * i + 2]
                lut[4 * i + 3] = i < paletteAlpha.count ? paletteAlpha[i] : 255
            }

            var pixels = [UInt8](repeating: 0, count: width * height * outBpp)
            let filterBpp = max(1, bitsPerPixel / 8)  // PNG spec 9.2: bytes per complete pixel, at least 1
            try data.withUnsafeMutableBufferPointer { dataBuf in
                try pixels.withUnsafeMutableBufferPointer { outBuf in
                    try lut.withUnsafeBufferPointer { lutBuf in
                        var offset = 0
                        for (index, p) in passes.enumerated() where p.w > 0 && p.h > 0 {
                            let rb = rowBytes(p.w)
                            let base = dataBuf.baseAddress! + offset
                            try unfilter(base, rows: p.h, rowBytes: rb, bpp: filterBpp, pass: interlaced ? index + 1 : nil)
                            for j in 0..<p.h {
                                let y = p.row + j * p.rowStep
                                try convertRow(base + j * (rb + 1) + 1, count: p.w,
                                               to: outBuf.baseAddress! + (y * width + p.col) * outBpp,
                                               stride: p.colStep * outBpp, outBpp: outBpp,
                                               lut: lutBuf.baseAddress!, entries: entries, alpha: hasAlpha, row: y)
                            }
                            offset += p.h * (rb + 1)
                        }
                    }
                }
            }
            return PNGImage(width: width, height: height, bitDepth: outBitDepth, channels: outChannels, pixels: pixels)
        }

        /// Reverses the per-row filters in place (PNG spec 9.2-9.4). Row r starts at r * (rowBytes + 1)
        /// with its filter type byte. The row above the first is all zeros.
        func unfilter(_ base: UnsafeMutablePointer<UInt8>, rows: Int, rowBytes n: Int, bpp: Int, pass: Int?) throws {
            let zero = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
            zero.initialize(repeating: 0, count: n)
            defer { zero.deallocate() }
            let lead = min(bpp, n)
            for r in 0..<rows {
                let row = base + r * (n + 1)
                let cur = row + 1
                let up = r == 0 ? zero : cur - (n + 1)
                switch row[0] {
                case 0:
                    break
                case 1:  // Sub
                    for i in lead..<n { cur[i] &+= cur[i - bpp] }
                case 2:  // Up
                    for i in 0..<n { cur[i] &+= up[i] }
                case 3:  // Average: floor((a + b) / 2) without overflow
                    for i in 0..<lead { cur[i] &+= up[i] >> 1 }
                    for i in lead..<n { cur[i] &+= UInt8((UInt16(cur[i - bpp]) + UInt16(up[i])) >> 1) }
                case 4:  // Paeth; with a = c = 0 the predictor is b
                    for i in 0..<lead { cur[i] &+= up[i] }
                    for i in lead..<n { cur[i] &+= paethPredictor(cur[i - bpp], up[i], up[i - bpp]) }
                default:
                    throw PNGError.malformed("invalid filter type \(row[0]) in row \(r)\(pass.map { " of Adam7 pass \($0)" } ?? "")")
                }
            }
        }

        /// Unpacks `count` stored pixels into output pixels `stride` bytes apart.
        func convertRow(_ src: UnsafeMutablePointer<UInt8>, count: Int, to dst: UnsafeMutablePointer<UInt8>,
                        stride: Int, outBpp: Int, lut: UnsafePointer<UInt8>, entries: Int, alpha: Bool, row: Int) throws {
            if colorType == 3 {
                let lutBytes = alpha ? 4 : 3
                for i in 0..<count {
                    let index = sample(src, i)
                    // PNG spec 11.2.3: indices past the palette are an error.
                    guard index < entries else {
                        throw PNGError.malformed("palette index \(index) at row \(row) is past the \(entries)-entry palette")
                    }
                    (dst + i * stride).update(from: lut + 4 * index, count: lutBytes)
                }
            } else if bitDepth < 8 {
                // Gray 1/2/4 bits to 8 by v * 255 / (2^depth - 1), i.e. bit replication (PNG spec 12.5).
                let scale = UInt8(255 / ((1 << bitDepth) - 1))
                for i in 0..<count { dst[i * stride] = UInt8(sample(src, i)) &* scale }
            } else if stride == outBpp {
                dst.update(from: src, count: count * outBpp)
            } else {
                for i in 0..<count { (dst + i * stride).update(from: src + i * outBpp, count: outBpp) }
            }
        }

        /// The i-th sample of a row of 1-8 bit samples, packed from the most significant bit (PNG spec 7.2).
        @inline(__always)
        func sample(_ src: UnsafeMutablePointer<UInt8>, _ i: Int) -> Int {
            if bitDepth == 8 { return Int(src[i]) }
            let bit = i * bitDepth
            return Int(src[bit >> 3] >> UInt8(8 - bitDepth - (bit & 7))) & ((1 << bitDepth) - 1)
        }
    }
}
