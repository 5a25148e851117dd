/// Baseline TIFF reading (TIFF Revision 6.0, Adobe 1992; "TIFF 6" below), for importing slide
/// scans and microscope images: the first image (IFD 0) of a classic little- or big-endian file,
/// in strips or tiles (TIFF 6 §15), chunky or planar (PlanarConfiguration 1/2), with no
/// compression, PackBits (§9), LZW (§13) or Deflate (Adobe's TIFF Technical Note, code 8 and the
/// old 32946), with or without horizontal differencing (Predictor 2, §14). Samples: 8- or 16-bit
/// unsigned gray (BlackIsZero, or WhiteIsZero inverted), RGB, RGB with an extra (alpha) sample,
/// gray with alpha, and 8-bit palette images (expanded to RGB through the ColorMap).
///
/// The result is a `PNGImage`: rows top to bottom, samples interleaved, 16-bit samples
/// big-endian, so it can go straight to `PNGEncoder`. JPEG-in-TIFF (compression 6/7, as in most
/// whole-slide scanner files), BigTIFF, floating-point and 1/4-bit samples are refused with a
/// `TIFFError.unsupported` saying which.
public enum TIFFDecoder {
    /// True when `bytes` start with a classic TIFF header ("II*\0" or "MM\0*", TIFF 6 §2).
    public static func isTIFF(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        return (bytes[0] == 0x49 && bytes[1] == 0x49 && bytes[2] == 42 && bytes[3] == 0)
            || (bytes[0] == 0x4D && bytes[1] == 0x4D && bytes[2] == 0 && bytes[3] == 42)
    }

    public static func decode(_ bytes: [UInt8], maxPixels: Int = 1 << 28) throws -> PNGImage {
        try bytes.withUnsafeBytes { try decode($0, maxPixels: maxPixels) }
    }

    /// Decodes IFD 0. `maxPixels` bounds memory before anything large is allocated.
    public static func decode(_ bytes: UnsafeRawBufferPointer, maxPixels: Int = 1 << 28) throws -> PNGImage {
        let layout = try TIFFLayout(bytes, maxPixels: maxPixels)
        return try layout.decode(bytes)
    }

    /// What IFD 0 says, without decoding the pixels (dimensions, samples, compression, layout).
    public static func info(_ bytes: [UInt8]) throws -> TIFFInfo {
        try bytes.withUnsafeBytes { try TIFFLayout($0, maxPixels: Int.max / 16).info }
    }
}

public struct TIFFInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var samplesPerPixel: Int
    public var bitsPerSample: Int
    /// TIFF 6 §8 Compression: 1 none, 5 LZW, 8/32946 Deflate, 32773 PackBits.
    public var compression: Int
    /// TIFF 6 §8 PhotometricInterpretation: 0 WhiteIsZero, 1 BlackIsZero, 2 RGB, 3 palette.
    public var photometric: Int
    public var isTiled: Bool
    public var isPlanar: Bool
    public var predictor: Int
}

public enum TIFFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No classic TIFF header (TIFF 6 §2).
    case notTIFF
    /// An offset or count points past the end of the file.
    case truncated(String)
    /// A field or value this reader does not handle (named in the message).
    case unsupported(String)
    /// The structure breaks a rule of TIFF 6.
    case malformed(String)
    case imageTooLarge(width: Int, height: Int, limit: Int)

    public var description: String {
        switch self {
        case .notTIFF: return "not a TIFF file: the header is neither II*\\0 nor MM\\0*"
        case .truncated(let m): return "truncated TIFF: \(m)"
        case .unsupported(let m): return "unsupported TIFF: \(m)"
        case .malformed(let m): return "malformed TIFF: \(m)"
        case let .imageTooLarge(w, h, limit): return "TIFF image too large: \(w)x\(h) exceeds the limit of \(limit) pixels"
        }
    }
}

// MARK: - File structure

/// One IFD entry (TIFF 6 §2 "Image File Directory"): tag, field type, count and the value or
/// the offset of the values.
private struct TIFFEntry {
    let tag: UInt16
    let type: UInt16
    let count: Int
    /// Where the values start in the file (inside the entry itself when they fit in 4 bytes).
    let valueOffset: Int
}

/// IFD 0 read and checked: everything needed to decode its pixels.
private struct TIFFLayout {
    let littleEndian: Bool
    let width: Int, height: Int
    let samplesPerPixel: Int
    let bitsPerSample: Int
    let compression: Int
    let photometric: Int
    let planar: Bool
    let predictor: Int
    /// Strips are chunks `width` wide and `rowsPerStrip` high; tiles are `chunkWidth`×`chunkHeight`.
    let tiled: Bool
    let chunkWidth: Int, chunkHeight: Int
    let offsets: [Int]
    let byteCounts: [Int]
    let colorMap: [UInt16]
    /// Samples per pixel in the output: gray 1, gray+alpha 2, RGB 3, RGBA 4.
    let outChannels: Int

    var info: TIFFInfo {
        TIFFInfo(width: width, height: height, samplesPerPixel: samplesPerPixel, bitsPerSample: bitsPerSample,
                 compression: compression, photometric: photometric, isTiled: tiled, isPlanar: planar, predictor: predictor)
    }

    init(_ b: UnsafeRawBufferPointer, maxPixels: Int) throws {
        guard b.count >= 8 else { throw b.count >= 4 && TIFFDecoder.isTIFF(b) ? TIFFError.truncated("the 8-byte header") : TIFFError.notTIFF }
        if b[0] == 0x49 && b[1] == 0x49 { littleEndian = true } else if b[0] == 0x4D && b[1] == 0x4D { littleEndian = false } else { throw TIFFError.notTIFF }
        let le = littleEndian
        let magic = Self.u16(b, 2, le)
        if magic == 43 { throw TIFFError.unsupported("BigTIFF (version 43) files") }
        guard magic == 42 else { throw TIFFError.notTIFF }
        let ifd = Int(Self.u32(b, 4, le))
        guard ifd >= 8, ifd <= b.count - 2 else { throw TIFFError.truncated("IFD 0 at byte \(ifd) is outside the file of \(b.count) bytes") }
        let n = Int(Self.u16(b, ifd, le))
        guard ifd + 2 + n * 12 <= b.count else { throw TIFFError.truncated("IFD 0 at byte \(ifd) has \(n) entries that run past the end") }

        var entries: [UInt16: TIFFEntry] = [:]
        for i in 0..<n {
            let e = ifd + 2 + i * 12
            let type = Self.u16(b, e + 2, le)
            let count = Int(Self.u32(b, e + 4, le))
            let size = Self.typeSize(type)
            guard size > 0 else { continue }  // unknown field types are skipped (TIFF 6 §2)
            let (total, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw TIFFError.malformed("tag \(Self.u16(b, e, le)) has an impossible count \(count)") }
            let valueOffset = total <= 4 ? e + 8 : Int(Self.u32(b, e + 8, le))
            guard valueOffset <= b.count, total <= b.count - valueOffset else {
                throw TIFFError.truncated("the values of tag \(Self.u16(b, e, le)) (\(total) bytes at byte \(valueOffset))")
            }
            let tag = Self.u16(b, e, le)
            entries[tag] = TIFFEntry(tag: tag, type: type, count: count, valueOffset: valueOffset)
        }

        func values(_ tag: UInt16) throws -> [Int]? {
            guard let e = entries[tag] else { return nil }
            return try (0..<e.count).map { i -> Int in
                switch e.type {
                case 1, 7: return Int(b[e.valueOffset + i])                       // BYTE, UNDEFINED
                case 3: return Int(Self.u16(b, e.valueOffset + 2 * i, le))       // SHORT
                case 4, 13: return Int(Self.u32(b, e.valueOffset + 4 * i, le))   // LONG, IFD
                default: throw TIFFError.malformed("tag \(tag) has field type \(e.type) where an unsigned integer is required")
                }
            }
        }
        func single(_ tag: UInt16, default value: Int? = nil) throws -> Int {
            if let v = try values(tag) {
                guard let first = v.first else { throw TIFFError.malformed("tag \(tag) has no value") }
                return first
            }
            guard let value else { throw TIFFError.malformed("the required tag \(tag) (\(Self.tagName(tag))) is missing") }
            return value
        }

        width = try single(256)
        height = try single(257)
        guard width > 0, height > 0 else { throw TIFFError.malformed("image size \(width)x\(height)") }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maxPixels, pixels <= Int.max / 16 else { throw TIFFError.imageTooLarge(width: width, height: height, limit: maxPixels) }

        samplesPerPixel = try single(277, default: 1)
        guard (1...8).contains(samplesPerPixel) else { throw TIFFError.unsupported("\(samplesPerPixel) samples per pixel") }
        let bits = try values(258) ?? [1]
        guard let firstBits = bits.first, bits.allSatisfy({ $0 == firstBits }) else {
            throw TIFFError.unsupported("samples of different sizes (BitsPerSample \(bits))")
        }
        bitsPerSample = firstBits
        guard bitsPerSample == 8 || bitsPerSample == 16 else { throw TIFFError.unsupported("\(bitsPerSample)-bit samples (8 and 16 are read)") }
        let format = try values(339) ?? [1]
        guard format.allSatisfy({ $0 == 1 }) else { throw TIFFError.unsupported("SampleFormat \(format) (unsigned integers only)") }

        compression = try single(259, default: 1)
        switch compression {
        case 1, 5, 8, 32946, 32773: break
        case 6, 7: throw TIFFError.unsupported("JPEG compression (Compression \(compression))")
        default: throw TIFFError.unsupported("Compression \(compression) (1 none, 5 LZW, 8 Deflate, 32773 PackBits are read)")
        }
        photometric = try single(262, default: samplesPerPixel >= 3 ? 2 : 1)
        switch photometric {
        case 0, 1: outChannels = samplesPerPixel >= 2 ? 2 : 1
        case 2:
            guard samplesPerPixel >= 3 else { throw TIFFError.malformed("RGB with \(samplesPerPixel) sample(s) per pixel") }
            outChannels = samplesPerPixel >= 4 ? 4 : 3
        case 3:
            guard samplesPerPixel == 1, bitsPerSample == 8 else { throw TIFFError.unsupported("palette images other than 8-bit, 1 sample") }
            outChannels = 3
        default: throw TIFFError.unsupported("PhotometricInterpretation \(photometric) (0, 1, 2, 3 are read)")
        }
        let planarConfiguration = try single(284, default: 1)
        guard planarConfiguration == 1 || planarConfiguration == 2 else { throw TIFFError.malformed("PlanarConfiguration \(planarConfiguration)") }
        planar = planarConfiguration == 2 && samplesPerPixel > 1
        predictor = try single(317, default: 1)
        guard predictor == 1 || predictor == 2 else { throw TIFFError.unsupported("Predictor \(predictor) (1 none and 2 horizontal differencing are read)") }
        if photometric == 3 {
            guard let map = try values(320), map.count == 3 * 256 else { throw TIFFError.malformed("a palette image needs a ColorMap of 768 values") }
            colorMap = map.map { UInt16(truncatingIfNeeded: $0) }
        } else {
            colorMap = []
        }

        let planes = planar ? samplesPerPixel : 1
        if entries[322] != nil || entries[324] != nil {
            tiled = true
            chunkWidth = try single(322)
            chunkHeight = try single(323)
            // TIFF 6 §15: tile sizes are multiples of 16.
            guard chunkWidth > 0, chunkHeight > 0, chunkWidth % 16 == 0, chunkHeight % 16 == 0 else {
                throw TIFFError.malformed("tile size \(chunkWidth)x\(chunkHeight) (must be positive multiples of 16)")
            }
            offsets = try values(324) ?? []
            byteCounts = try values(325) ?? []
        } else {
            tiled = false
            chunkWidth = width
            chunkHeight = min(try single(278, default: Int(UInt32.max)), height)
            guard chunkHeight > 0 else { throw TIFFError.malformed("RowsPerStrip 0") }
            offsets = try values(273) ?? []
            let counts = try values(279)
            // Some writers leave StripByteCounts out of an uncompressed single strip.
            if counts == nil, compression == 1, offsets.count == 1 {
                byteCounts = [width * height * samplesPerPixel * bitsPerSample / 8]
            } else {
                byteCounts = counts ?? []
            }
        }
        let across = (width + chunkWidth - 1) / chunkWidth, down = (height + chunkHeight - 1) / chunkHeight
        let expected = across * down * planes
        guard offsets.count >= expected else {
            throw TIFFError.malformed("\(offsets.count) \(tiled ? "tile" : "strip") offsets for \(expected) \(tiled ? "tiles" : "strips")")
        }
        guard byteCounts.count >= expected else {
            throw TIFFError.malformed("\(byteCounts.count) \(tiled ? "tile" : "strip") byte counts for \(expected) \(tiled ? "tiles" : "strips")")
        }
    }

    // MARK: Pixels

    func decode(_ b: UnsafeRawBufferPointer) throws -> PNGImage {
        let bytesPerSample = bitsPerSample / 8
        // Palette images hold one index per pixel here; `expandPalette` makes them RGB afterwards.
        let outBpp = (photometric == 3 ? 1 : outChannels) * bytesPerSample
        var out = [UInt8](repeating: 0, count: width * height * outBpp)
        let across = (width + chunkWidth - 1) / chunkWidth, down = (height + chunkHeight - 1) / chunkHeight
        let planes = planar ? samplesPerPixel : 1
        let chunkSamples = planar ? 1 : samplesPerPixel
        let rowBytes = chunkWidth * chunkSamples * bytesPerSample

        try out.withUnsafeMutableBufferPointer { outBuf in
            for plane in 0..<planes {
                for cy in 0..<down {
                    for cx in 0..<across {
                        let index = plane * across * down + cy * across + cx
                        // A strip holds only the rows that exist (the last one is short); a tile is always whole (TIFF 6 §15).
                        let rows = tiled ? chunkHeight : min(chunkHeight, height - cy * chunkHeight)
                        let size = rows * rowBytes
                        let offset = offsets[index], count = byteCounts[index]
                        guard offset <= b.count, count <= b.count - offset else {
                            throw TIFFError.truncated("\(tiled ? "tile" : "strip") \(index) (\(count) bytes at byte \(offset))")
                        }
                        var chunk = try decompress(UnsafeRawBufferPointer(rebasing: b[offset..<(offset + count)]), expected: size, index: index)
                        if predictor == 2 { undoPredictor(&chunk, rows: rows, samples: chunkSamples) }
                        copy(chunk, into: outBuf.baseAddress!, x0: cx * chunkWidth, y0: cy * chunkHeight, rows: rows,
                             plane: plane, chunkSamples: chunkSamples, outBpp: outBpp)
                    }
                }
            }
        }
        if photometric == 0 { invertGray(&out) }
        if photometric == 3 { return PNGImage(width: width, height: height, bitDepth: 8, channels: 3, pixels: expandPalette(out)) }
        return PNGImage(width: width, height: height, bitDepth: bitsPerSample, channels: outChannels, pixels: out)
    }

    /// The chunk's bytes, exactly `expected` of them. Data that decodes short is padded with
    /// zeros (libtiff reads such files too, reporting the short chunk), longer data is cut.
    func decompress(_ data: UnsafeRawBufferPointer, expected: Int, index: Int) throws -> [UInt8] {
        var result: [UInt8]
        switch compression {
        case 1:
            result = Array(data.prefix(expected))
        case 32773:
            result = try TIFFPackBits.decode(data, expected: expected)
        case 5:
            result = try TIFFLZW.decode(data, expected: expected)
        default:  // 8, 32946: a zlib stream (RFC 1950)
            do {
                result = try Zlib.inflatePrefix(data, maxOutput: expected).output
            } catch ZlibError.outputLimitExceeded {
                throw TIFFError.malformed("Deflate data of \(tiled ? "tile" : "strip") \(index) inflates to more than its \(expected) bytes")
            } catch {
                throw TIFFError.malformed("Deflate data of \(tiled ? "tile" : "strip") \(index): \(error)")
            }
        }
        if result.count < expected {
            result.append(contentsOf: repeatElement(0, count: expected - result.count))
        } else if result.count > expected {
            result.removeSubrange(expected...)
        }
        return result
    }

    /// Predictor 2 (TIFF 6 §14): each sample was stored as the difference to the same sample of
    /// the pixel on its left; 16-bit samples in the file's byte order.
    func undoPredictor(_ chunk: inout [UInt8], rows: Int, samples: Int) {
        let rowSamples = chunkWidth * samples
        chunk.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            if bitsPerSample == 8 {
                for r in 0..<rows {
                    let row = base + r * rowSamples
                    var i = samples
                    while i < rowSamples { row[i] = row[i] &+ row[i - samples]; i += 1 }
                }
            } else {
                let le = littleEndian
                for r in 0..<rows {
                    let row = base + r * rowSamples * 2
                    var i = samples
                    while i < rowSamples {
                        let prev = le ? UInt16(row[2 * (i - samples)]) | UInt16(row[2 * (i - samples) + 1]) << 8
                                      : UInt16(row[2 * (i - samples)]) << 8 | UInt16(row[2 * (i - samples) + 1])
                        let cur = le ? UInt16(row[2 * i]) | UInt16(row[2 * i + 1]) << 8 : UInt16(row[2 * i]) << 8 | UInt16(row[2 * i + 1])
                        let v = cur &+ prev
                        if le { row[2 * i] = UInt8(truncatingIfNeeded: v); row[2 * i + 1] = UInt8(v >> 8) } else { row[2 * i] = UInt8(v >> 8); row[2 * i + 1] = UInt8(truncatingIfNeeded: v) }
                        i += 1
                    }
                }
            }
        }
    }

    /// Copies the visible part of one chunk into the output, samples interleaved and 16-bit
    /// samples big-endian. Extra samples beyond the output channels are dropped.
    func copy(_ chunk: [UInt8], into out: UnsafeMutablePointer<UInt8>, x0: Int, y0: Int, rows: Int, plane: Int, chunkSamples: Int, outBpp: Int) {
        let bytesPerSample = bitsPerSample / 8
        let visibleWidth = min(chunkWidth, width - x0)
        let visibleRows = min(rows, height - y0)
        guard visibleWidth > 0, visibleRows > 0 else { return }
        let inPixel = chunkSamples * bytesPerSample
        let rowBytes = chunkWidth * inPixel
        let swap = bytesPerSample == 2 && littleEndian
        chunk.withUnsafeBufferPointer { c in
            let src = c.baseAddress!
            for r in 0..<visibleRows {
                let inRow = src + r * rowBytes
                let outRow = out + ((y0 + r) * width + x0) * outBpp
                if !planar && inPixel == outBpp && !swap {
                    outRow.update(from: inRow, count: visibleWidth * outBpp)
                    continue
                }
                let firstChannel = planar ? plane : 0
                let channels = planar ? (plane < outChannels ? 1 : 0) : min(chunkSamples, outChannels)
                guard channels > 0 else { continue }
                for x in 0..<visibleWidth {
                    let s = inRow + x * inPixel
                    let d = outRow + x * outBpp + firstChannel * bytesPerSample
                    if bytesPerSample == 1 {
                        for k in 0..<channels { d[k] = s[k] }
                    } else if swap {
                        for k in 0..<channels { d[2 * k] = s[2 * k + 1]; d[2 * k + 1] = s[2 * k] }
                    } else {
                        for k in 0..<channels { d[2 * k] = s[2 * k]; d[2 * k + 1] = s[2 * k + 1] }
                    }
                }
            }
        }
    }

    /// WhiteIsZero (TIFF 6 §8): 0 is white; the output is BlackIsZero. Alpha is left alone.
    func invertGray(_ pixels: inout [UInt8]) {
        let bytesPerSample = bitsPerSample / 8
        let step = outChannels * bytesPerSample
        pixels.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                for k in 0..<bytesPerSample { p[i + k] = ~p[i + k] }
                i += step
            }
        }
    }

    /// Palette indices to RGB through the ColorMap (TIFF 6 §5: red, green, blue tables of 16-bit values).
    func expandPalette(_ indices: [UInt8]) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: indices.count * 3)
        let lut = (0..<256).flatMap { i in (0..<3).map { UInt8(colorMap[$0 * 256 + i] >> 8) } }
        for (i, v) in indices.enumerated() {
            rgb[3 * i] = lut[3 * Int(v)]; rgb[3 * i + 1] = lut[3 * Int(v) + 1]; rgb[3 * i + 2] = lut[3 * Int(v) + 2]
        }
        return rgb
    }

    // MARK: Helpers

    static func u16(_ b: UnsafeRawBufferPointer, _ i: Int, _ le: Bool) -> UInt16 {
        le ? UInt16(b[i]) | UInt16(b[i + 1]) << 8 : UInt16(b[i]) << 8 | UInt16(b[i + 1])
    }

    static func u32(_ b: UnsafeRawBufferPointer, _ i: Int, _ le: Bool) -> UInt32 {
        le ? UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
           : UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// Bytes per value of each field type (TIFF 6 §2); 0 for types this reader skips.
    static func typeSize(_ type: UInt16) -> Int {
        switch type {
        case 1, 2, 6, 7: return 1
        case 3, 8: return 2
        case 4, 9, 11, 13: return 4
        case 5, 10, 12: return 8
        default: return 0
        }
    }

    static func tagName(_ tag: UInt16) -> String {
        [256: "ImageWidth", 257: "ImageLength", 273: "StripOffsets", 322: "TileWidth", 323: "TileLength", 324: "TileOffsets"][tag] ?? "tag"
    }
}

// MARK: - Compression schemes

/// PackBits (TIFF 6 §9): a signed header byte n; 0…127 copies the next n+1 bytes, -127…-1
/// repeats the next byte 1-n times, -128 is a no-op.
enum TIFFPackBits {
    static func decode(_ data: UnsafeRawBufferPointer, expected: Int) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(expected)
        var i = 0
        while i < data.count && out.count < expected {
            let n = Int(Int8(bitPattern: data[i]))
            i += 1
            if n >= 0 {
                let end = min(i + n + 1, data.count)
                out.append(contentsOf: data[i..<end])
                i = end
            } else if n != -128 {
                guard i < data.count else { break }
                out.append(contentsOf: repeatElement(data[i], count: 1 - n))
                i += 1
            }
        }
        return out
    }
}

/// LZW as TIFF 6 §13 defines it: codes MSB-first, 9 to 12 bits, ClearCode 256, EndOfInformation
/// 257, and the width growing one code early (at 511, 1023, 2047), as every TIFF writer does.
/// The pre-6.0 "old-style" LSB-first variant is refused.
enum TIFFLZW {
    static let clear = 256, eoi = 257

    static func decode(_ data: UnsafeRawBufferPointer, expected: Int) throws -> [UInt8] {
        if data.count >= 2 && data[0] == 0 && data[1] & 0x01 != 0 {
            throw TIFFError.unsupported("old-style (pre-TIFF 6.0) LZW data")
        }
        var out = [UInt8]()
        out.reserveCapacity(expected)
        // The table: each code is its prefix code plus one byte; `first` and `length` let a code's
        // string be written back to front without recursion.
        var prefix = [Int](repeating: -1, count: 4096)
        var suffix = [UInt8](repeating: 0, count: 4096)
        var first = [UInt8](repeating: 0, count: 4096)
        var length = [Int](repeating: 1, count: 4096)
        for i in 0..<256 { suffix[i] = UInt8(i); first[i] = UInt8(i) }
        var next = 258, width = 9
        var old = -1
        var bitBuffer: UInt32 = 0, bitCount = 0, pos = 0

        func emit(_ code: Int) {
            let n = length[code]
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: n))
            var c = code, i = start + n - 1
            while i >= start { out[i] = suffix[c]; c = prefix[c]; i -= 1 }
        }

        func add(_ p: Int, _ byte: UInt8) {
            prefix[next] = p
            suffix[next] = byte
            first[next] = first[p]
            length[next] = length[p] + 1
            next += 1
        }

        while out.count < expected {
            while bitCount < width && pos < data.count {
                bitBuffer = bitBuffer << 8 | UInt32(data[pos])
                pos += 1
                bitCount += 8
            }
            if bitCount < width { break }  // the data ends without EndOfInformation: keep what it gave
            let code = Int((bitBuffer >> UInt32(bitCount - width)) & ((1 << UInt32(width)) - 1))
            bitCount -= width
            if code == eoi { break }
            if code == clear {
                next = 258; width = 9; old = -1
                continue
            }
            if old == -1 {
                guard code < 256 else { throw TIFFError.malformed("LZW code \(code) right after a ClearCode") }
                emit(code)
                old = code
                continue
            }
            if code < next {
                emit(code)
                if next < 4096 { add(old, first[code]) }
            } else if code == next {
                // The KwKwK case: the new string is old's string plus its own first byte.
                if next < 4096 { add(old, first[old]) }
                emit(code)
            } else {
                throw TIFFError.malformed("LZW code \(code) before it is defined (next is \(next))")
            }
            old = code
            if next >= (1 << width) - 1 && width < 12 { width += 1 }
        }

        return out
    }
}
