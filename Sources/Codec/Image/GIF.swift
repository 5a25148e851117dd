/// GIF89a encoding ("GIF89a spec" below: the CompuServe Graphics Interchange Format 89a
/// specification, section numbers as there) of rendered frames: 8-bit gray with a 256-gray palette
/// (lossless), RGB through `ColorQuantizer` (exact up to 256 colors, else median cut).
public enum GIFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The encoder was given an image it cannot represent.
    case invalidImage(String)

    public var description: String {
        switch self {
        case let .invalidImage(reason): return "cannot encode GIF: \(reason)"
        }
    }
}

public enum GIFEncoder {
    /// One image: gray (1 channel, 8-bit) keeps every value; RGB (3 channels) is quantized.
    public static func encode(_ image: PNGImage) throws -> [UInt8] {
        try encodeAnimation([image], delayCentiseconds: 0, loopCount: nil)
    }

    /// Several frames of the same size as one animated GIF: each frame shows for
    /// `delayCentiseconds` (GIF89a spec 23, Graphic Control Extension); `loopCount` 0 repeats
    /// forever, nil plays once (the NETSCAPE2.0 application extension browsers honour).
    /// Gray frames share a global 256-gray palette; RGB frames get their own local palettes.
    public static func encodeAnimation(_ frames: [PNGImage], delayCentiseconds: Int = 10, loopCount: Int? = 0) throws -> [UInt8] {
        guard let first = frames.first else { throw GIFError.invalidImage("no frames") }
        let (w, h) = (first.width, first.height)
        guard (1...65535).contains(w), (1...65535).contains(h) else {
            throw GIFError.invalidImage("width and height must be 1 to 65535, not \(w)x\(h)")
        }
        guard (0...65535).contains(delayCentiseconds) else { throw GIFError.invalidImage("delay must be 0 to 65535 centiseconds") }
        if let loops = loopCount, !(0...65535).contains(loops) { throw GIFError.invalidImage("loop count must be 0 to 65535") }
        for (i, f) in frames.enumerated() {
            guard f.width == w, f.height == h else { throw GIFError.invalidImage("frame \(i) is \(f.width)x\(f.height), frame 0 is \(w)x\(h)") }
            guard f.bitDepth == 8, f.channels == 1 || f.channels == 3 else {
                throw GIFError.invalidImage("frame \(i) has \(f.channels) channel(s) of \(f.bitDepth) bits: give 8-bit gray or RGB")
            }
            guard f.pixels.count == w * h * f.channels else {
                throw GIFError.invalidImage("frame \(i): \(w)x\(h)x\(f.channels) needs \(w * h * f.channels) bytes of pixels, got \(f.pixels.count)")
            }
        }
        let allGray = frames.allSatisfy { $0.channels == 1 }

        var out: [UInt8] = Array("GIF89a".utf8)
        // Logical Screen Descriptor (spec 18): global color table of 2^(7+1) entries when gray.
        appendLE16(&out, w)
        appendLE16(&out, h)
        out += [allGray ? 0xF7 : 0x70, 0, 0]
        if allGray { for v in 0..<256 { out += [UInt8(v), UInt8(v), UInt8(v)] } }
        if frames.count > 1, let loops = loopCount {
            // Application Extension (spec 26) "NETSCAPE2.0": sub-block 1 = loop count.
            out += [0x21, 0xFF, 11] + Array("NETSCAPE2.0".utf8) + [3, 1]
            appendLE16(&out, loops)
            out.append(0)
        }
        for f in frames {
            if frames.count > 1 {
                // Graphic Control Extension (spec 23): disposal 1 (leave in place), the delay, no transparency.
                out += [0x21, 0xF9, 4, 0x04]
                appendLE16(&out, delayCentiseconds)
                out += [0, 0]
            }
            let indexed: IndexedImage
            if f.channels == 1 {
                indexed = IndexedImage(width: w, height: h, palette: [], indices: f.pixels)
            } else {
                indexed = ColorQuantizer.quantize(f)
            }
            // Image Descriptor (spec 20), with a local color table for RGB frames (spec 21).
            out.append(0x2C)
            appendLE16(&out, 0)
            appendLE16(&out, 0)
            appendLE16(&out, w)
            appendLE16(&out, h)
            if f.channels == 1 && allGray {
                out.append(0)
            } else if f.channels == 1 {
                out.append(0x87)
                for v in 0..<256 { out += [UInt8(v), UInt8(v), UInt8(v)] }
            } else {
                let entries = indexed.palette.count / 3
                var bits = 1
                while 1 << bits < entries { bits += 1 }
                out.append(0x80 | UInt8(bits - 1))
                out += indexed.palette
                out += [UInt8](repeating: 0, count: 3 * ((1 << bits) - entries))
            }
            indexed.indices.withUnsafeBufferPointer { GIFLZW.compress($0, minimumCodeSize: 8, into: &out) }
        }
        out.append(0x3B)  // Trailer (spec 27)
        return out
    }

    /// The palette and indices `encode` writes for `image`: what a GIF decoder shows.
    public static func indexedImage(_ image: PNGImage) -> IndexedImage {
        if image.channels == 1 {
            return IndexedImage(width: image.width, height: image.height, palette: (0..<768).map { UInt8($0 / 3) }, indices: image.pixels)
        }
        return ColorQuantizer.quantize(image)
    }

    static func appendLE16(_ out: inout [UInt8], _ v: Int) {
        out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)]
    }
}

/// Variable-length-code LZW as GIF uses it (GIF89a spec Appendix F): codes of 9 to 12 bits
/// (for 8-bit data) packed least significant bit first, a clear code first and whenever the
/// 4096-entry table is full, an end-of-information code last; written as data sub-blocks of at
/// most 255 bytes (spec 15) after the minimum code size byte.
enum GIFLZW {
    static func compress(_ data: UnsafeBufferPointer<UInt8>, minimumCodeSize: Int, into out: inout [UInt8]) {
        out.append(UInt8(minimumCodeSize))
        let clear = 1 << minimumCodeSize, eoi = clear + 1
        let maxCode = 4095
        // (prefix code << 8 | byte) → code; open addressing, entries hold key << 12 | code, 0 = empty.
        let tableSize = 1 << 14, tableMask = tableSize - 1
        var table = [UInt32](repeating: 0, count: tableSize)
        var block = [UInt8](), acc: UInt32 = 0, accBits = 0
        block.reserveCapacity(255)

        @inline(__always) func flushBlock() {
            out.append(UInt8(block.count))
            out += block
            block.removeAll(keepingCapacity: true)
        }
        @inline(__always) func write(_ code: Int, _ width: Int) {
            acc |= UInt32(code) << UInt32(accBits)
            accBits += width
            while accBits >= 8 {
                block.append(UInt8(truncatingIfNeeded: acc))
                if block.count == 255 { flushBlock() }
                acc >>= 8
                accBits -= 8
            }
        }

        // `hi` is the last code assigned; the decoder reads one entry behind the encoder, so the
        // width grows once `hi` reaches 2^width (the ordering Go's compress/lzw and giflib use).
        var width = minimumCodeSize + 1, hi = eoi, overflow = 1 << width
        write(clear, width)
        guard !data.isEmpty else {
            write(eoi, width)
            if accBits > 0 { block.append(UInt8(truncatingIfNeeded: acc)) }
            if !block.isEmpty { flushBlock() }
            out.append(0)
            return
        }
        table.withUnsafeMutableBufferPointer { table in
            var saved = Int(data[0])
            for i in 1..<data.count {
                let x = Int(data[i])
                let key = UInt32(saved << 8 | x)
                var slot = Int((key >> 12 ^ key) & UInt32(tableMask))
                var found = -1
                while table[slot] != 0 {
                    if table[slot] >> 12 == key { found = Int(table[slot] & 0xFFF); break }
                    slot = (slot + 1) & tableMask
                }
                if found >= 0 {
                    saved = found
                    continue
                }
                write(saved, width)
                saved = x
                hi += 1
                if hi == overflow {
                    width += 1
                    overflow <<= 1
                }
                if hi == maxCode {
                    write(clear, width)
                    width = minimumCodeSize + 1
                    hi = eoi
                    overflow = 1 << width
                    for k in 0..<tableSize { table[k] = 0 }
                } else {
                    table[slot] = key << 12 | UInt32(hi)
                }
            }
            write(saved, width)
            hi += 1
            if hi == overflow {
                width += 1
                overflow <<= 1
            }
            if hi == maxCode {
                write(clear, width)
                width = minimumCodeSize + 1
            }
            write(eoi, width)
        }
        if accBits > 0 { block.append(UInt8(truncatingIfNeeded: acc)) }
        if !block.isEmpty { flushBlock() }
        out.append(0)  // block terminator
    }
}
