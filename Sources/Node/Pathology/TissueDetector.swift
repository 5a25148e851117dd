import Foundation
import Codec

/// Tissue on a bright-field slide: darker than the glass around it. The image is reduced by an
/// integer factor (mean luminance per block, transparent pixels counted as white glass) until its
/// longer side fits `maxSide`; Otsu's threshold (Otsu 1979, "A threshold selection method from
/// gray-level histograms") on that copy's 256-bin histogram splits tissue (darker) from
/// background; connected tissue areas below `minimumRegionPercent` of the image are dropped as
/// dust. Areas are scaled back to full-resolution pixels.
struct TissueMap: Sendable {
    let fullWidth: Int, fullHeight: Int
    /// The reduced copy: `width`×`height`, one cell per `factor`×`factor` block of the image.
    let width: Int, height: Int
    let factor: Int
    /// The threshold on the 0–255 luminance scale; nil when the image has no contrast at all.
    let threshold: Double?
    /// 1 for tissue, per cell of the reduced copy.
    var mask: [UInt8]
    /// Component label per cell (0 background), and the kept components.
    var regions: [TissueRegion]

    /// Tissue cells, weighted by how much of the image each (edge) cell covers.
    var areaPixels: Int64 {
        var total: Int64 = 0
        for y in 0..<height {
            let h = Int64(min(factor, fullHeight - y * factor))
            for x in 0..<width where mask[y * width + x] != 0 { total += h * Int64(min(factor, fullWidth - x * factor)) }
        }
        return total
    }

    var percent: Double { Double(areaPixels) * 100 / Double(fullWidth * fullHeight) }

    /// The share of tissue in a rectangle of the full image (for the tile index).
    func fraction(x: Int, y: Int, w: Int, h: Int) -> Double {
        let x0 = x / factor, x1 = min(width, (x + w + factor - 1) / factor)
        let y0 = y / factor, y1 = min(height, (y + h + factor - 1) / factor)
        guard x1 > x0, y1 > y0 else { return 0 }
        var n = 0
        for cy in y0..<y1 { for cx in x0..<x1 where mask[cy * width + cx] != 0 { n += 1 } }
        return Double(n) / Double((x1 - x0) * (y1 - y0))
    }
}

/// One connected tissue area: its outline in full-resolution pixel coordinates and its size.
struct TissueRegion: Sendable {
    var outline: [(x: Double, y: Double)]
    var areaPixels: Int64
    var perimeter: Double {
        guard outline.count > 1 else { return 0 }
        var p = 0.0
        for i in 0..<outline.count {
            let a = outline[i], b = outline[(i + 1) % outline.count]
            p += ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()
        }
        return p
    }
}

enum TissueDetector {
    static func detect(_ image: PNGImage, maxSide: Int, minimumRegionPercent: Double) -> TissueMap {
        let factor = max(1, (max(image.width, image.height) + maxSide - 1) / maxSide)
        let (luminance, w, h) = reduce(image, factor: factor)
        let threshold = otsu(luminance)
        var mask = [UInt8](repeating: 0, count: w * h)
        if let t = threshold {
            for i in 0..<luminance.count where luminance[i] < Float(t) { mask[i] = 1 }
        }
        let minimumCells = Int((Double(w * h) * minimumRegionPercent / 100).rounded(.up))
        let regions = TissueContours.regions(mask: &mask, width: w, height: h, minimumCells: max(1, minimumCells),
                                             factor: factor, fullWidth: image.width, fullHeight: image.height)
        return TissueMap(fullWidth: image.width, fullHeight: image.height, width: w, height: h, factor: factor,
                         threshold: threshold, mask: mask, regions: regions)
    }

    /// Mean luminance (ITU-R BT.601 weights, 0–255) of each `factor`×`factor` block, from a
    /// regular grid of samples in it: every `step`-th pixel of every `step`-th row, `step` being
    /// half the factor (2×2 samples per block at least, all pixels up to factor 3). Texture and
    /// noise average out as in a full box filter, at a quarter of the reads or less. Without alpha
    /// the channels are summed per block first (luminance is linear in them); with alpha each
    /// sample is composited on white glass before it is summed.
    static func reduce(_ image: PNGImage, factor f: Int) -> (luminance: [Float], width: Int, height: Int) {
        let w = (image.width + f - 1) / f, h = (image.height + f - 1) / f
        let step = max(1, f / 2)
        let channels = image.channels, wide = image.bitDepth == 16, bpp = image.bytesPerPixel
        let color = channels >= 3, alpha = channels == 2 || channels == 4
        let cc = color ? 3 : 1
        // Per block and colour channel: integer sums (in the samples' own scale) and sample counts.
        var sums = [UInt64](repeating: 0, count: w * h * cc)
        var counts = [UInt64](repeating: 0, count: w * h)
        let top: UInt64 = wide ? 65535 : 255
        image.pixels.withUnsafeBufferPointer { p in
            sums.withUnsafeMutableBufferPointer { acc in
                counts.withUnsafeMutableBufferPointer { n in
                    let base = p.baseAddress!
                    var y = 0
                    while y < image.height {
                        let row = base + y * image.width * bpp
                        let blockRow = (y / f) * w
                        var x = 0
                        while x < image.width {
                            let px = row + x * bpp
                            let block = blockRow + x / f
                            let a: UInt64 = alpha ? (wide ? UInt64(px[bpp - 2]) << 8 | UInt64(px[bpp - 1]) : UInt64(px[bpp - 1])) : top
                            var c = 0
                            while c < cc {
                                var v = wide ? UInt64(px[2 * c]) << 8 | UInt64(px[2 * c + 1]) : UInt64(px[c])
                                if alpha { v = (v &* a &+ top &* (top &- a)) / top }
                                acc[block &* cc &+ c] &+= v
                                c &+= 1
                            }
                            n[block] &+= 1
                            x &+= step
                        }
                        y &+= step
                    }
                }
            }
        }
        let scale = wide ? 1.0 / 257 : 1.0
        var luminance = [Float](repeating: 255, count: w * h)
        for i in 0..<(w * h) where counts[i] > 0 {
            let n = Double(counts[i])
            luminance[i] = color
                ? Float((0.299 * Double(sums[3 * i]) + 0.587 * Double(sums[3 * i + 1]) + 0.114 * Double(sums[3 * i + 2])) * scale / n)
                : Float(Double(sums[i]) * scale / n)
        }
        return (luminance, w, h)
    }

    /// Otsu's threshold over a 256-bin histogram between the darkest and brightest value; nil
    /// when they are less than 8 levels apart (a blank or uniform image: no tissue to find).
    static func otsu(_ values: [Float]) -> Double? {
        guard let lo = values.min(), let hi = values.max(), hi - lo >= 8 else { return nil }
        let scale = 255 / (hi - lo)
        var histogram = [Double](repeating: 0, count: 256)
        for v in values { histogram[min(255, Int((v - lo) * scale))] += 1 }
        let total = Double(values.count)
        var sumAll = 0.0
        for i in 0..<256 { sumAll += Double(i) * histogram[i] }
        var weightBelow = 0.0, sumBelow = 0.0, best = -1.0, bestIndex = 0
        for i in 0..<255 {
            weightBelow += histogram[i]
            sumBelow += Double(i) * histogram[i]
            let weightAbove = total - weightBelow
            guard weightBelow > 0, weightAbove > 0 else { continue }
            let meanBelow = sumBelow / weightBelow, meanAbove = (sumAll - sumBelow) / weightAbove
            let between = weightBelow * weightAbove * (meanBelow - meanAbove) * (meanBelow - meanAbove)
            if between > best { best = between; bestIndex = i }
        }
        // Bin `bestIndex` and below are the darker class: its upper edge in luminance.
        return Double(lo) + Double(bestIndex + 1) / Double(scale)
    }
}
