/// Pixels as indices into a palette of at most 256 RGB colors, as GIF stores them.
public struct IndexedImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// RGB triples, 1 to 256 entries.
    public var palette: [UInt8]
    /// One palette index per pixel, rows top to bottom.
    public var indices: [UInt8]

    public init(width: Int, height: Int, palette: [UInt8], indices: [UInt8]) {
        self.width = width
        self.height = height
        self.palette = palette
        self.indices = indices
    }

    /// The RGB pixels the indices stand for.
    public var rgb: [UInt8] {
        var out = [UInt8](repeating: 0, count: indices.count * 3)
        for (i, p) in indices.enumerated() {
            out[3 * i] = palette[3 * Int(p)]
            out[3 * i + 1] = palette[3 * Int(p) + 1]
            out[3 * i + 2] = palette[3 * Int(p) + 2]
        }
        return out
    }
}

/// Reduces RGB images to 256 colors for GIF.
///
/// An image with at most 256 distinct colors (a rendered gray frame, a screenshot, a color
/// overlay on gray) keeps them exactly. Otherwise Heckbert's median cut adapts the palette to the
/// image: ultrasound and secondary captures are mostly gray with a few hues, and a fixed 6×7×6 cube
/// would leave them 6 grays, while median cut gives the grays most of the entries. It works on the
/// image's distinct colors at full 8-bit precision (no 5-bit histogram, which would cap grays at
/// 32 levels); each box's color is the mean of its pixels, and each pixel takes its box's color.
/// No dithering: output is stable and compresses well with LZW.
public enum ColorQuantizer {
    public static func quantize(rgb: UnsafeBufferPointer<UInt8>, width: Int, height: Int, maxColors: Int = 256) -> IndexedImage {
        let n = width * height
        let limit = min(max(maxColors, 1), 256)
        if let exact = exactPalette(rgb, n, limit: limit) {
            return IndexedImage(width: width, height: height, palette: exact.palette, indices: exact.indices)
        }
        return medianCut(rgb, width: width, height: height, limit: limit)
    }

    public static func quantize(_ image: PNGImage, maxColors: Int = 256) -> IndexedImage {
        image.pixels.withUnsafeBufferPointer { quantize(rgb: $0, width: image.width, height: image.height, maxColors: maxColors) }
    }

    /// The image's own colors (in order of first appearance) when there are at most `limit`.
    static func exactPalette(_ rgb: UnsafeBufferPointer<UInt8>, _ n: Int, limit: Int) -> (palette: [UInt8], indices: [UInt8])? {
        // Open addressing over 1024 slots, keys are 24-bit colors + 1 (0 = empty).
        let slots = 1024
        var keys = [UInt32](repeating: 0, count: slots), values = [UInt8](repeating: 0, count: slots)
        var palette: [UInt8] = []
        var indices = [UInt8](repeating: 0, count: n)
        var count = 0
        let ok = keys.withUnsafeMutableBufferPointer { keys in
            values.withUnsafeMutableBufferPointer { values in
                indices.withUnsafeMutableBufferPointer { out in
                    var lastKey: UInt32 = 0, lastIndex: UInt8 = 0
                    for i in 0..<n {
                        let key = (UInt32(rgb[3 * i]) << 16 | UInt32(rgb[3 * i + 1]) << 8 | UInt32(rgb[3 * i + 2])) + 1
                        if key == lastKey { out[i] = lastIndex; continue }
                        var slot = Int((key &* 2_654_435_761) >> 22) & (slots - 1)
                        while keys[slot] != 0 && keys[slot] != key { slot = (slot + 1) & (slots - 1) }
                        if keys[slot] == 0 {
                            guard count < limit else { return false }
                            keys[slot] = key
                            values[slot] = UInt8(count)
                            count += 1
                            palette += [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]]
                        }
                        out[i] = values[slot]
                        lastKey = key
                        lastIndex = values[slot]
                    }
                    return true
                }
            }
        }
        return ok ? (palette, indices) : nil
    }

    /// One distinct color of the image: its 24-bit value, how many pixels have it, its number.
    struct Entry {
        var color: UInt32
        var count: Int
        var id: Int32
        @inline(__always) func channel(_ c: Int) -> Int { Int(color >> UInt32(16 - 8 * c)) & 0xFF }
    }

    /// A run of `entries` (lo..<hi) and the pixels it covers.
    struct Box {
        var lo: Int, hi: Int
        var count: Int
        var longestAxis: Int, longestSide: Int
    }

    static func medianCut(_ rgb: UnsafeBufferPointer<UInt8>, width: Int, height: Int, limit: Int) -> IndexedImage {
        let n = width * height
        // The distinct colors: radix sort of (color << 32 | pixel), 3 passes of 8 bits.
        var keys = [UInt64](repeating: 0, count: n), scratch = [UInt64](repeating: 0, count: n)
        for i in 0..<n {
            let color = UInt64(rgb[3 * i]) << 16 | UInt64(rgb[3 * i + 1]) << 8 | UInt64(rgb[3 * i + 2])
            keys[i] = color << 32 | UInt64(i)
        }
        for pass in 0..<3 {
            let shift = UInt64(32 + 8 * pass)
            var offsets = [Int](repeating: 0, count: 257)
            for k in keys { offsets[Int((k >> shift) & 0xFF) + 1] += 1 }
            for b in 0..<256 { offsets[b + 1] += offsets[b] }
            for k in keys {
                let b = Int((k >> shift) & 0xFF)
                scratch[offsets[b]] = k
                offsets[b] += 1
            }
            swap(&keys, &scratch)
        }
        var entries: [Entry] = []
        var colorOfPixel = [Int32](repeating: 0, count: n)
        var previous = UInt64.max
        for k in keys {
            let color = k >> 32
            if color != previous {
                entries.append(Entry(color: UInt32(color), count: 0, id: Int32(entries.count)))
                previous = color
            }
            entries[entries.count - 1].count += 1
            colorOfPixel[Int(k & 0xFFFF_FFFF)] = Int32(entries.count - 1)
        }
        keys = []
        scratch = []

        let (palette, paletteIndex) = entries.withUnsafeMutableBufferPointer { split($0, limit: limit) }
        var indices = [UInt8](repeating: 0, count: n)
        for i in 0..<n { indices[i] = paletteIndex[Int(colorOfPixel[i])] }
        return IndexedImage(width: width, height: height, palette: palette, indices: indices)
    }

    static func makeBox(_ entries: UnsafeMutableBufferPointer<Entry>, _ lo: Int, _ hi: Int) -> Box {
        var r0 = 255, r1 = 0, g0 = 255, g1 = 0, b0 = 255, b1 = 0, count = 0
        for j in lo..<hi {
            let e = entries[j]
            count += e.count
            let r = e.channel(0), g = e.channel(1), b = e.channel(2)
            r0 = min(r0, r); r1 = max(r1, r); g0 = min(g0, g); g1 = max(g1, g); b0 = min(b0, b); b1 = max(b1, b)
        }
        let (rs, gs, bs) = (r1 - r0, g1 - g0, b1 - b0)
        let (axis, side) = rs >= gs && rs >= bs ? (0, rs) : (gs >= bs ? (1, gs) : (2, bs))
        return Box(lo: lo, hi: hi, count: count, longestAxis: axis, longestSide: side)
    }

    /// Median cut of the distinct colors into at most `limit` boxes: the palette (box means) and,
    /// for each color id, its palette index.
    static func split(_ entries: UnsafeMutableBufferPointer<Entry>, limit: Int) -> ([UInt8], [UInt8]) {
        // Split the box with the most pixels × widest extent, across that extent, where half of
        // its pixels lie on each side. Population alone would spend every entry on the gray bulk
        // of a frame; extent alone on rare outliers.
        var boxes = [makeBox(entries, 0, entries.count)]
        var histogram = [Int](repeating: 0, count: 256)
        while boxes.count < limit {
            var best = -1, bestScore = -1
            for (k, b) in boxes.enumerated() where b.hi - b.lo > 1 && b.count * b.longestSide > bestScore {
                best = k
                bestScore = b.count * b.longestSide
            }
            guard best >= 0 else { break }
            let box = boxes[best], axis = box.longestAxis
            // The median value along the axis, from a histogram of the box's pixels; values up to
            // it go first (a partition, not a sort: linear in the box's colors).
            for v in 0..<256 { histogram[v] = 0 }
            var top = 0
            for j in box.lo..<box.hi {
                let v = entries[j].channel(axis)
                histogram[v] += entries[j].count
                top = max(top, v)
            }
            var median = 0, running = histogram[0]
            while running * 2 < box.count { median += 1; running += histogram[median] }
            median = min(median, top - 1)  // the longest side is > 0: both parts keep colors
            var cut = box.lo
            for j in box.lo..<box.hi where entries[j].channel(axis) <= median {
                entries.swapAt(j, cut)
                cut += 1
            }
            boxes[best] = makeBox(entries, box.lo, cut)
            boxes.append(makeBox(entries, cut, box.hi))
        }

        // Each box's color is the mean of its pixels; each color takes its box's entry.
        var palette: [UInt8] = []
        var paletteIndex = [UInt8](repeating: 0, count: entries.count)
        for (b, box) in boxes.enumerated() {
            var r = 0, g = 0, bl = 0
            for j in box.lo..<box.hi {
                let e = entries[j]
                r += e.channel(0) * e.count; g += e.channel(1) * e.count; bl += e.channel(2) * e.count
                paletteIndex[Int(e.id)] = UInt8(b)
            }
            let c = max(box.count, 1)
            palette += [UInt8((r + c / 2) / c), UInt8((g + c / 2) / c), UInt8((bl + c / 2) / c)]
        }
        return (palette, paletteIndex)
    }
}
