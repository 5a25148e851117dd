/// Huffman decoding of entropy-coded segments (T.81 F.2.2, Annex C) for the sequential DCT decoder.

/// A decoding table built from a DHT segment (T.81 C.2, F.2.2.3 Figure F.15/F.16), with a 9-bit
/// lookahead table so that most codes are found in one step.
final class JPEGHuffmanTable {
    static let lookaheadBits = 9
    /// The table's pointers, for the decoding loop (no reference counting per symbol).
    struct Raw {
        let lookahead: UnsafeMutablePointer<UInt16>
        let maxCode: UnsafeMutablePointer<Int>
        let valueOffset: UnsafeMutablePointer<Int>
        let symbols: UnsafeMutablePointer<UInt8>
    }
    var raw: Raw { Raw(lookahead: lookahead, maxCode: maxCode, valueOffset: valueOffset, symbols: symbols) }
    /// Indexed by the next 9 bits: (code length << 8 | symbol) for codes of up to 9 bits, else 0.
    let lookahead: UnsafeMutablePointer<UInt16>
    /// Largest code of each length 1–16 (index = length), -1 when there is none (T.81 F.2.2.3).
    let maxCode: UnsafeMutablePointer<Int>
    /// symbols[code + valueOffset[length]] is the symbol of a code of that length.
    let valueOffset: UnsafeMutablePointer<Int>
    let symbols: UnsafeMutablePointer<UInt8>

    /// `counts`: 16 numbers of codes per length; `values`: the symbols (T.81 B.2.4.2).
    init(counts: [Int], values: [UInt8]) throws {
        lookahead = .allocate(capacity: 1 << Self.lookaheadBits)
        lookahead.initialize(repeating: 0, count: 1 << Self.lookaheadBits)
        maxCode = .allocate(capacity: 18)
        maxCode.initialize(repeating: -1, count: 18)
        valueOffset = .allocate(capacity: 18)
        valueOffset.initialize(repeating: 0, count: 18)
        symbols = .allocate(capacity: 256)
        symbols.initialize(repeating: 0, count: 256)
        values.withUnsafeBufferPointer { symbols.update(from: $0.baseAddress!, count: min(values.count, 256)) }

        // Codes are assigned in order of length, each length's first code being the previous
        // length's last + 1, shifted left (T.81 C.2 Figure C.2). A code space overflow is invalid.
        var code = 0, k = 0
        for length in 1...16 {
            let n = counts[length - 1]
            if n > 0 {
                valueOffset[length] = k - code
                for _ in 0..<n {
                    guard code < 1 << length else {
                        throw JPEGError.malformed("a Huffman table (DHT) defines more codes of length \(length) than fit")
                    }
                    if length <= Self.lookaheadBits {
                        let shift = Self.lookaheadBits - length
                        let entry = UInt16(length << 8) | UInt16(values[k])
                        for i in (code << shift)..<((code + 1) << shift) { lookahead[i] = entry }
                    }
                    code += 1
                    k += 1
                }
                maxCode[length] = code - 1
            }
            code <<= 1
        }
    }

    deinit {
        lookahead.deallocate()
        maxCode.deallocate()
        valueOffset.deallocate()
        symbols.deallocate()
    }
}

/// Reads the bits of an entropy-coded segment (T.81 F.2.2.5): a byte FF is followed by a stuffed
/// 00 (removed), or by a marker, where the segment ends. Past a marker or the end of the data it
/// supplies zero bytes and counts them, so that decoding past the real data is detected
/// (`overran`) instead of reading out of bounds.
struct JPEGBitReader {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos: Int
    var buffer: UInt64 = 0
    /// Valid bits at the bottom of `buffer`.
    var bits = 0
    /// Zero bytes appended since a marker or the end of the data was reached.
    var padBytes = 0
    var atMarker = false

    init(_ bytes: UnsafeRawBufferPointer, at pos: Int) {
        base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        end = bytes.count
        self.pos = pos
    }

    /// Tops the buffer up to at least 57 bits.
    @inline(__always)
    mutating func fill() {
        while bits <= 56 {
            var byte: UInt64 = 0
            if !atMarker && pos < end {
                let b = base[pos]
                if b != 0xFF {
                    byte = UInt64(b)
                    pos += 1
                } else {
                    // FF, any fill FFs, then 00 = a data byte FF; anything else is a marker (left unread).
                    var p = pos + 1
                    while p < end && base[p] == 0xFF { p += 1 }
                    if p < end && base[p] == 0 {
                        byte = 0xFF
                        pos = p + 1
                    } else {
                        atMarker = true
                        padBytes += 1
                    }
                }
            } else {
                padBytes += 1
            }
            buffer = buffer << 8 | byte
            bits += 8
        }
    }

    /// Bits beyond the data were consumed: the segment was shorter than its MCUs need.
    var overran: Bool { padBytes * 8 > bits }

    /// The next Huffman-coded symbol (T.81 F.2.2.3 DECODE).
    @inline(__always)
    mutating func decode(_ t: JPEGHuffmanTable.Raw) throws -> Int {
        if bits < 16 { fill() }
        let look = Int(truncatingIfNeeded: buffer >> UInt64(bits - JPEGHuffmanTable.lookaheadBits)) & ((1 << JPEGHuffmanTable.lookaheadBits) - 1)
        let e = Int(t.lookahead[look])
        if e != 0 {
            bits -= e >> 8
            return e & 0xFF
        }
        let peek = Int(truncatingIfNeeded: buffer >> UInt64(bits - 16)) & 0xFFFF
        var length = JPEGHuffmanTable.lookaheadBits + 1
        var code = peek >> (16 - length)
        while code > t.maxCode[length] {
            length += 1
            if length > 16 { throw JPEGError.malformed("invalid Huffman code in the entropy-coded data near byte \(pos)") }
            code = peek >> (16 - length)
        }
        bits -= length
        return Int(t.symbols[(code + t.valueOffset[length]) & 0xFF])
    }

    /// RECEIVE(s) then EXTEND (T.81 F.2.2.1, Figure F.12): s bits as a signed difference.
    @inline(__always)
    mutating func receiveExtend(_ s: Int) -> Int {
        if s == 0 { return 0 }
        if bits < s { fill() }
        let v = Int(truncatingIfNeeded: buffer >> UInt64(bits - s)) & ((1 << s) - 1)
        bits -= s
        return v < 1 << (s - 1) ? v - (1 << s) + 1 : v
    }

    /// At a restart interval's end (T.81 F.2.1.3.1, E.2.4): drops the remaining bits of the last
    /// byte and steps over the RSTn marker. Garbage before it is skipped as libjpeg does.
    mutating func restart(index: Int) throws {
        guard !overran else { throw JPEGError.malformed("restart interval \(index) ends before its MCUs are complete") }
        buffer = 0
        bits = 0
        padBytes = 0
        atMarker = false
        while pos + 1 < end {
            if base[pos] == 0xFF {
                let m = base[pos + 1]
                if (JPEGMarker.rst0...JPEGMarker.rst7).contains(m) {
                    pos += 2
                    return
                }
                if m != 0 && m != 0xFF {
                    throw JPEGError.malformed("expected restart marker RST\(index & 7) at byte \(pos), found marker FF \(hexByte(m))")
                }
            }
            pos += 1
        }
        throw JPEGError.truncated(offset: end, context: "the entropy-coded data (restart marker RST\(index & 7) missing)")
    }
}
