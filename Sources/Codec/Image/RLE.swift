/// RLE Lossless decoding (PS3.5 Annex G; transfer syntax 1.2.840.10008.1.2.5).
///
/// A frame is a 64-byte header (segment count, then 15 segment offsets, all 32-bit little endian)
/// followed by PackBits-compressed segments. Each segment is one byte plane of one sample: for
/// samples of N bytes, segment order is sample 0 most significant byte … least significant byte,
/// then sample 1, and so on (PS3.5 G.2).
public enum RLEDecoder {
    /// The frame as native little-endian sample bytes, laid out interleaved (Planar Configuration 0:
    /// R G B R G B…) or, with `planarConfiguration` 1, plane by plane.
    public static func decode(_ frame: Bytes, rows: Int, columns: Int, samplesPerPixel: Int, bitsAllocated: Int,
                              planarConfiguration: Int = 0) throws -> [UInt8] {
        guard bitsAllocated % 8 == 0, (8...64).contains(bitsAllocated) else {
            throw PixelError.unsupported("RLE Lossless with Bits Allocated \(bitsAllocated) (8, 16, 24, 32 or 64 are decoded)")
        }
        guard rows > 0, columns > 0, (1...4).contains(samplesPerPixel) else {
            throw PixelError.malformedRLE("cannot decode \(rows)×\(columns) pixels of \(samplesPerPixel) samples")
        }
        let bytesPerSample = bitsAllocated / 8
        let segmentCount = samplesPerPixel * bytesPerSample
        let pixels = rows * columns
        guard segmentCount <= 15 else {
            throw PixelError.unsupported("RLE Lossless needs \(segmentCount) segments for \(samplesPerPixel) samples of \(bitsAllocated) bits; at most 15 exist (PS3.5 G.5)")
        }
        guard frame.count >= 64 else {
            throw PixelError.malformedRLE("the frame is \(frame.count) bytes, shorter than the 64-byte RLE header")
        }
        let (total, overflow) = pixels.multipliedReportingOverflow(by: segmentCount)
        guard !overflow, total < 1 << 40 else { throw PixelError.malformedRLE("\(rows)×\(columns) is too large") }
        // PackBits turns 2 bytes into at most 128: refuse before allocating for an image the data cannot fill.
        guard pixels <= (frame.count - 64) * 64 + 128 else {
            throw PixelError.malformedRLE("\(frame.count) bytes cannot hold \(rows)×\(columns) pixels")
        }

        return try frame.withUnsafeBufferPointer { src -> [UInt8] in
            func header(_ i: Int) -> Int {
                let p = 4 * i
                return Int(UInt32(src[p]) | UInt32(src[p + 1]) << 8 | UInt32(src[p + 2]) << 16 | UInt32(src[p + 3]) << 24)
            }
            let count = header(0)
            guard count == segmentCount else {
                throw PixelError.malformedRLE("the header lists \(count) segment(s); \(samplesPerPixel) sample(s) of \(bitsAllocated) bits need \(segmentCount)")
            }
            var offsets = (1...count).map(header)
            guard offsets[0] == 64 else { throw PixelError.malformedRLE("the first segment starts at byte \(offsets[0]), not 64") }
            for k in 1..<offsets.count where offsets[k] < offsets[k - 1] || offsets[k] > src.count {
                throw PixelError.malformedRLE("segment \(k) offset \(offsets[k]) is out of order or past the end of the \(src.count)-byte frame")
            }
            offsets.append(src.count)

            var out = [UInt8](repeating: 0, count: total)
            try out.withUnsafeMutableBufferPointer { dst in
                for seg in 0..<count {
                    let sample = seg / bytesPerSample
                    // Segments run from the most significant byte; little endian puts it last.
                    let byteIndex = bytesPerSample - 1 - seg % bytesPerSample
                    let (base, stride) = planarConfiguration == 1
                        ? (sample * pixels * bytesPerSample + byteIndex, bytesPerSample)
                        : (sample * bytesPerSample + byteIndex, segmentCount)
                    let produced = unpackBits(src, from: offsets[seg], to: offsets[seg + 1],
                                              into: dst.baseAddress! + base, stride: stride, count: pixels)
                    guard produced == pixels else {
                        throw PixelError.malformedRLE("segment \(seg + 1) of \(count) decodes to \(produced) byte(s), expected \(pixels)")
                    }
                }
            }
            return out
        }
    }

    /// Decodes with the attributes of `description`, interleaved (Planar Configuration 0): the
    /// layout of the native equivalent that the renderer expects.
    public static func decode(_ frame: Bytes, description d: PixelDescription) throws -> [UInt8] {
        try decode(frame, rows: d.rows, columns: d.columns, samplesPerPixel: d.samplesPerPixel,
                   bitsAllocated: d.bitsAllocated, planarConfiguration: 0)
    }

    /// PackBits (PS3.5 G.3.1): a header byte n in 0…127 copies the next n + 1 bytes, -127…-1 repeats
    /// the next byte 1 - n times, -128 does nothing. Writes at most `count` bytes `stride` apart and
    /// returns how many were written; stops at the end of the segment or when `count` is reached
    /// (output past it, e.g. an encoder's row padding, is dropped).
    static func unpackBits(_ src: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int,
                           into dst: UnsafeMutablePointer<UInt8>, stride: Int, count: Int) -> Int {
        var i = start, o = 0
        while o < count && i < end {
            let n = Int(Int8(bitPattern: src[i]))
            i += 1
            if n >= 0 {
                // A literal run cut off by the segment end keeps what is there; the count check reports it.
                let run = min(n + 1, end - i, count - o)
                for k in 0..<run { dst[(o + k) * stride] = src[i + k] }
                i += n + 1
                o += run
            } else if n != -128 {
                guard i < end else { break }
                let v = src[i]
                i += 1
                let run = min(1 - n, count - o)
                for k in 0..<run { dst[(o + k) * stride] = v }
                o += run
            }
        }
        return o
    }
}
