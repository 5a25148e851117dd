/// Splitting Pixel Data into frames: native data by the frame size the Image Pixel module implies
/// (PS3.5 8.1), encapsulated data by the offset tables or the codestream markers (PS3.5 A.4).
public enum PixelFrames {
    /// Every frame of `ds`. Native frames come back as little-endian sample bytes (big-endian input
    /// is put right whatever the VR it was swapped by); 1-bit frames are repacked to start on a byte.
    /// Encapsulated frames are the compressed bytes, the fragments of one frame concatenated.
    public static func frames(of ds: DataSet, transferSyntax: TransferSyntax) throws -> [Bytes] {
        switch try source(ds, transferSyntax) {
        case let .native(data, vr, _):
            let d = try PixelDescription(ds)
            let bytes = try data.load()
            return try nativeFrames(normalizedByteOrder(bytes, vr: vr, bitsAllocated: d.bitsAllocated,
                                                        bigEndian: !transferSyntax.isLittleEndian), description: d)
        case let .encapsulated(e):
            return try encapsulatedFrames(ds, e)
        }
    }

    /// Frame `index` (from 0) of `ds`. For a deferred native value only that frame is read from the file.
    public static func frame(_ index: Int, of ds: DataSet, transferSyntax: TransferSyntax) throws -> Bytes {
        switch try source(ds, transferSyntax) {
        case let .native(data, vr, _):
            let d = try PixelDescription(ds)
            guard index >= 0, index < d.numberOfFrames else { throw PixelError.frameOutOfRange(index: index, count: d.numberOfFrames) }
            let bigEndian = !transferSyntax.isLittleEndian
            if case let .deferred(v) = data, d.bitsPerFrame % 8 == 0 {
                // Read just this frame, when its bounds fall on whole units of the stored byte swap.
                let start = index * d.frameLength
                if start % v.swapUnit == 0, d.frameLength % v.swapUnit == 0 {
                    guard Int(v.length) >= start + d.frameLength else {
                        throw PixelError.pixelDataTooShort(expected: d.numberOfFrames * d.frameLength, actual: Int(v.length))
                    }
                    let part = DeferredValue(path: v.path, offset: v.offset + UInt64(start), length: UInt32(d.frameLength), swapUnit: v.swapUnit)
                    return normalizedByteOrder(try part.load(), vr: vr, bitsAllocated: d.bitsAllocated, bigEndian: bigEndian)
                }
            }
            let bytes = normalizedByteOrder(try data.load(), vr: vr, bitsAllocated: d.bitsAllocated, bigEndian: bigEndian)
            return try nativeFrame(index, of: bytes, description: d)
        case let .encapsulated(e):
            let all = try encapsulatedFrames(ds, e)
            guard index >= 0, index < all.count else { throw PixelError.frameOutOfRange(index: index, count: all.count) }
            return all[index]
        }
    }

    // MARK: native (PS3.5 8.1)

    /// Splits native pixel data of `description.numberOfFrames` frames. Bytes past the last frame
    /// (the pad byte of an odd length, PS3.5 8.1.1) are ignored; too few bytes throw.
    public static func nativeFrames(_ data: Bytes, description d: PixelDescription) throws -> [Bytes] {
        try checkLength(data, d)
        return try (0..<d.numberOfFrames).map { try nativeFrame($0, of: data, description: d) }
    }

    static func nativeFrame(_ index: Int, of data: Bytes, description d: PixelDescription) throws -> Bytes {
        try checkLength(data, d)
        guard index >= 0, index < d.numberOfFrames else { throw PixelError.frameOutOfRange(index: index, count: d.numberOfFrames) }
        let bits = d.bitsPerFrame
        if bits % 8 == 0 {
            let start = data.startIndex + index * (bits / 8)
            return data[start..<start + bits / 8]
        }
        // 1-bit frames follow each other without padding (PS3.5 8.1.1, Annex D): frame `index`
        // starts at bit index × bits, pixel k being bit k % 8 (least significant first) of byte k / 8.
        let firstBit = index * bits
        var out = [UInt8](repeating: 0, count: d.frameLength)
        data.withUnsafeBufferPointer { src in
            for k in 0..<bits {
                let b = firstBit + k
                if src[b >> 3] >> (b & 7) & 1 == 1 { out[k >> 3] |= 1 << (k & 7) }
            }
        }
        return out[...]
    }

    static func checkLength(_ data: Bytes, _ d: PixelDescription) throws {
        let (totalBits, overflow) = d.bitsPerFrame.multipliedReportingOverflow(by: d.numberOfFrames)
        let needed = overflow ? Int.max : (totalBits + 7) / 8
        guard data.count >= needed else { throw PixelError.pixelDataTooShort(expected: needed, actual: data.count) }
    }

    /// Big-endian values were swapped on read by the VR's unit (2 for OW, 1 for OB). That is right
    /// for samples no larger than the unit (8-bit samples packed in OW words, PS3.5 8.1.1); larger
    /// samples (32-bit in OW, 16-bit in OB) are returned to file order and swapped by the sample size.
    static func normalizedByteOrder(_ bytes: Bytes, vr: VR, bitsAllocated: Int, bigEndian: Bool) -> Bytes {
        guard bigEndian, bitsAllocated >= 8 else { return bytes }
        let unit = vr.unitSize, sample = bitsAllocated / 8
        guard sample > unit else { return bytes }
        var a = Array(bytes)
        ByteSwap.inPlace(&a, unit: unit)   // back to the file's byte order
        ByteSwap.inPlace(&a, unit: sample) // then little endian per sample
        return a[...]
    }

    // MARK: encapsulated (PS3.5 A.4)

    /// Assigns fragments to frames: the Extended Offset Table (7FE0,0001/0002) if present, else a
    /// valid Basic Offset Table, else one frame per fragment when the counts agree, else all fragments
    /// for a single frame, else frame starts found by codestream markers (JPEG SOI, JPEG 2000 SOC+SIZ,
    /// JP2 signature) or, failing that, frame ends (JPEG EOI).
    public static func encapsulatedFrames(_ pixels: EncapsulatedPixelData, numberOfFrames: Int,
                                          extendedOffsets: [UInt64]? = nil, extendedLengths: [UInt64]? = nil) throws -> [Bytes] {
        let fragments = pixels.fragments
        guard !fragments.isEmpty else { throw PixelError.malformedEncapsulation("there are no fragments") }
        guard numberOfFrames >= 1 else { throw PixelError.malformedEncapsulation("Number of Frames is \(numberOfFrames)") }

        // Offsets in both tables count from the first byte of the first fragment's item tag,
        // including each item's 8-byte header.
        var itemStart: [Int: Int] = [:]
        var position = 0
        for (i, f) in fragments.enumerated() {
            itemStart[position] = i
            position += 8 + f.count
        }

        if let offsets = extendedOffsets, !offsets.isEmpty {
            guard offsets.count < Int.max / 2, let groups = group(offsets.map { Int(clamping: $0) }, itemStart, fragments.count) else {
                throw PixelError.malformedEncapsulation("the Extended Offset Table does not point at fragment starts in increasing order")
            }
            var frames = groups.map { concatenate(fragments[$0]) }
            if let lengths = extendedLengths, lengths.count == frames.count {
                // Lengths exclude the pad byte of an odd-length frame.
                for i in frames.indices where lengths[i] < UInt64(frames[i].count) {
                    frames[i] = frames[i].prefix(Int(lengths[i]))
                }
            }
            return frames
        }
        let bot = pixels.offsets
        if !bot.isEmpty, let groups = group(bot.map(Int.init), itemStart, fragments.count) {
            return groups.map { concatenate(fragments[$0]) }
        }
        if fragments.count == numberOfFrames { return fragments }
        if numberOfFrames == 1 { return [concatenate(fragments[...])] }
        guard fragments.count > numberOfFrames else {
            throw PixelError.malformedEncapsulation("\(numberOfFrames) frames but only \(fragments.count) fragment(s)")
        }

        let starts = fragments.indices.filter { isCodestreamStart(fragments[$0]) }
        if starts.count == numberOfFrames, starts.first == 0 {
            let bounds = starts + [fragments.count]
            return (0..<numberOfFrames).map { concatenate(fragments[bounds[$0]..<bounds[$0 + 1]]) }
        }
        let ends = fragments.indices.filter { endsWithEOI(fragments[$0]) }
        if ends.count == numberOfFrames, ends.last == fragments.count - 1 {
            let bounds = [-1] + ends
            return (0..<numberOfFrames).map { concatenate(fragments[bounds[$0] + 1...bounds[$0 + 1]]) }
        }
        throw PixelError.malformedEncapsulation("\(fragments.count) fragments for \(numberOfFrames) frames, no usable offset table, and \(starts.count) codestream start(s) / \(ends.count) end marker(s)")
    }

    /// Fragment index ranges for frames starting at `offsets`; nil unless every offset starts an item,
    /// the first is 0 and they increase.
    static func group(_ offsets: [Int], _ itemStart: [Int: Int], _ count: Int) -> [Range<Int>]? {
        guard offsets.first == 0 else { return nil }
        var firsts: [Int] = []
        for o in offsets {
            guard let i = itemStart[o], firsts.last.map({ i > $0 }) ?? true else { return nil }
            firsts.append(i)
        }
        return firsts.indices.map { firsts[$0]..<(($0 + 1 < firsts.count) ? firsts[$0 + 1] : count) }
    }

    static func concatenate(_ fragments: ArraySlice<Bytes>) -> Bytes {
        if fragments.count == 1 { return fragments.first! }
        var out: [UInt8] = []
        out.reserveCapacity(fragments.reduce(0) { $0 + $1.count })
        for f in fragments { out += f }
        return out[...]
    }

    /// JPEG SOI (ITU T.81 B.1.1.3) followed by a marker, a JPEG 2000 codestream's SOC + SIZ
    /// (ISO 15444-1 A.4.1), or a JP2 file's signature box (ISO 15444-1 I.5.1).
    static func isCodestreamStart(_ f: Bytes) -> Bool {
        let b = Array(f.prefix(8))
        if b.count >= 3, b[0] == 0xFF, b[1] == 0xD8, b[2] == 0xFF { return true }
        if b.count >= 4, b[0] == 0xFF, b[1] == 0x4F, b[2] == 0xFF, b[3] == 0x51 { return true }
        if b.count >= 8, b[0..<8].elementsEqual([0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) { return true }
        return false
    }

    /// JPEG EOI (FF D9) at the end, possibly followed by the NUL that pads an odd-length fragment.
    static func endsWithEOI(_ f: Bytes) -> Bool {
        var tail = f[...]
        while let last = tail.last, last == 0, tail.count > 2 { tail = tail.dropLast() }
        return tail.count >= 2 && tail[tail.endIndex - 2] == 0xFF && tail[tail.endIndex - 1] == 0xD9
    }

    // MARK: locating the pixel data

    enum Source {
        case native(Stored, VR, Tag)
        case encapsulated(EncapsulatedPixelData)
    }

    /// A native value in memory or left in its file.
    enum Stored {
        case bytes(Bytes)
        case deferred(DeferredValue)
        func load() throws -> Bytes {
            switch self {
            case .bytes(let b): return b
            case .deferred(let d): return try d.load()
            }
        }
    }

    static func source(_ ds: DataSet, _ ts: TransferSyntax) throws -> Source {
        guard let e = ds[.pixelData] ?? ds[.floatPixelData] ?? ds[.doubleFloatPixelData] else { throw PixelError.noPixelData }
        switch e.value {
        case .encapsulated(let p):
            return .encapsulated(p)
        case .bytes(let b):
            // Encapsulated syntaxes require undefined length; a defined-length value holding items
            // (seen in the wild) is parsed as the same item sequence.
            if ts.isEncapsulated && e.tag == .pixelData { return .encapsulated(try parseItems(b)) }
            return .native(.bytes(b), e.vr, e.tag)
        case .deferred(let d):
            if ts.isEncapsulated && e.tag == .pixelData { return .encapsulated(try parseItems(try d.load())) }
            return .native(.deferred(d), e.vr, e.tag)
        case .sequence:
            throw PixelError.malformedEncapsulation("\(e.tag) holds a sequence")
        }
    }

    /// Items (FFFE,E000) of encapsulated pixel data held in one value: offset table then fragments.
    static func parseItems(_ b: Bytes) throws -> EncapsulatedPixelData {
        var items: [Bytes] = []
        var i = b.startIndex
        while b.endIndex - i >= 8 {
            let group = UInt16(b[i]) | UInt16(b[i + 1]) << 8, element = UInt16(b[i + 2]) | UInt16(b[i + 3]) << 8
            let length = Int(UInt32(b[i + 4]) | UInt32(b[i + 5]) << 8 | UInt32(b[i + 6]) << 16 | UInt32(b[i + 7]) << 24)
            let tag = Tag(group: group, element: element)
            if tag == .sequenceDelimitationItem { break }
            guard tag == .item, length <= b.endIndex - i - 8 else {
                throw PixelError.malformedEncapsulation("expected a fragment item at byte \(i - b.startIndex) of Pixel Data, found \(tag) with length \(length)")
            }
            items.append(b[i + 8..<i + 8 + length])
            i += 8 + length
        }
        guard let table = items.first else { throw PixelError.malformedEncapsulation("Pixel Data holds no items") }
        return EncapsulatedPixelData(offsetTable: table, fragments: Array(items.dropFirst()))
    }

    static func encapsulatedFrames(_ ds: DataSet, _ e: EncapsulatedPixelData) throws -> [Bytes] {
        var n = 1
        if let v = PixelAttributes.numbers(ds, .numberOfFrames)?.first {
            guard v >= 1, v.rounded() == v, v < 1e9 else {
                throw PixelError.invalidAttribute(.numberOfFrames, name: "Number of Frames", reason: "\(v) is not a positive integer")
            }
            n = Int(v)
        }
        return try encapsulatedFrames(e, numberOfFrames: n,
                                      extendedOffsets: uint64s(ds[PixelAttributes.extendedOffsetTable]),
                                      extendedLengths: uint64s(ds[PixelAttributes.extendedOffsetTableLengths]))
    }

    /// OV values (64-bit little endian in memory), also when read as UN/OB.
    static func uint64s(_ e: DataElement?) -> [UInt64]? {
        guard let e, !e.isEmpty else { return nil }
        return e.bytes.withUnsafeBytes { raw in
            (0..<raw.count / 8).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
    }
}
