/// Chroma upsampling and YCbCr→RGB conversion after decoding, as libjpeg does them by default
/// (jdsample.c "fancy" upsampling, jdcolor.c fixed-point tables), so results match libjpeg's.
enum JPEGUpsampling {
    /// Fills `out` (width × height, tightly packed) from the subsampled plane of `c`.
    /// 2:1 horizontally and/or vertically use libjpeg's triangular ("fancy") filters — 3/4 of the
    /// nearer and 1/4 of the farther sample, edges replicated; other ratios repeat samples.
    static func upsample(_ c: JPEGComponentState, hmax: Int, vmax: Int,
                         into out: UnsafeMutablePointer<UInt16>, width: Int, height: Int) {
        let hr = hmax / c.h, vr = vmax / c.v
        let integral = hmax % c.h == 0 && vmax % c.v == 0
        let cw = c.width, ch = c.height, src = c.plane, stride = c.stride
        // libjpeg uses the horizontal filters only for planes wider than 2 samples (jdsample.c).
        if integral && hr == 2 && vr == 1 && cw > 2 {
            for y in 0..<height {
                let row = src + y * stride, o = out + y * width
                for x in 0..<cw {
                    let cur = 3 * Int(row[x])
                    let left = Int(row[x > 0 ? x - 1 : 0]), right = Int(row[x + 1 < cw ? x + 1 : x])
                    if 2 * x < width { o[2 * x] = UInt16((cur + left + 1) >> 2) }
                    if 2 * x + 1 < width { o[2 * x + 1] = UInt16((cur + right + 2) >> 2) }
                }
            }
        } else if integral && hr == 2 && vr == 2 && cw > 2 {
            // Each output row mixes its nearer input row (×3) with the farther one; then columns likewise.
            let sums = UnsafeMutablePointer<Int>.allocate(capacity: cw)
            defer { sums.deallocate() }
            for y in 0..<height {
                let inRow = y >> 1
                let other = y & 1 == 0 ? max(inRow - 1, 0) : min(inRow + 1, ch - 1)
                let near = src + inRow * stride, far = src + other * stride
                for x in 0..<cw { sums[x] = 3 * Int(near[x]) + Int(far[x]) }
                let o = out + y * width
                for x in 0..<cw {
                    let cur = 3 * sums[x]
                    let left = sums[x > 0 ? x - 1 : 0], right = sums[x + 1 < cw ? x + 1 : x]
                    if 2 * x < width { o[2 * x] = UInt16((cur + left + 8) >> 4) }
                    if 2 * x + 1 < width { o[2 * x + 1] = UInt16((cur + right + 7) >> 4) }
                }
            }
        } else if integral && hr == 1 && vr == 2 {
            // libjpeg-turbo's h1v2 filter (IJG libjpeg 6b repeats rows instead).
            for y in 0..<height {
                let inRow = y >> 1
                let (other, bias) = y & 1 == 0 ? (max(inRow - 1, 0), 1) : (min(inRow + 1, ch - 1), 2)
                let near = src + inRow * stride, far = src + other * stride, o = out + y * width
                for x in 0..<width { o[x] = UInt16((3 * Int(near[x]) + Int(far[x]) + bias) >> 2) }
            }
        } else {
            // Nearest sample: replication for integral ratios (jdsample.c int_upsample).
            for y in 0..<height {
                let row = src + min(y * c.v / vmax, c.rows - 1) * stride, o = out + y * width
                for x in 0..<width { o[x] = row[min(x * c.h / hmax, stride - 1)] }
            }
        }
    }
}

enum JPEGColorConversion {
    @inline(__always) static func clamp8(_ v: Int) -> UInt8 { UInt8(truncatingIfNeeded: v < 0 ? 0 : (v > 255 ? 255 : v)) }

    /// Writes three full-resolution planes as interleaved pixels (8-bit: bytes; 12-bit: 16-bit
    /// little endian), converting YCbCr to RGB when `ycbcr` (T.871 section 7, in libjpeg's
    /// 16-bit fixed point: R = Y + 1.402 Cr, G = Y - 0.34414 Cb - 0.71414 Cr, B = Y + 1.772 Cb).
    static func interleave(_ planes: [(UnsafeMutablePointer<UInt16>, Int)], width: Int, height: Int, precision: Int,
                           ycbcr: Bool, into out: UnsafeMutablePointer<UInt8>) {
        let maxSample = (1 << precision) - 1, center = 1 << (precision - 1)
        let (p0, s0) = planes[0], (p1, s1) = planes[1], (p2, s2) = planes[2]
        let twoBytes = precision > 8
        @inline(__always) func put(_ i: Int, _ v: Int) {
            let c = v < 0 ? 0 : (v > maxSample ? maxSample : v)
            if twoBytes {
                out[2 * i] = UInt8(truncatingIfNeeded: c)
                out[2 * i + 1] = UInt8(truncatingIfNeeded: c >> 8)
            } else {
                out[i] = UInt8(truncatingIfNeeded: c)
            }
        }
        if !ycbcr {
            for y in 0..<height {
                for x in 0..<width {
                    let i = 3 * (y * width + x)
                    put(i, Int(p0[y * s0 + x])); put(i + 1, Int(p1[y * s1 + x])); put(i + 2, Int(p2[y * s2 + x]))
                }
            }
            return
        }
        // jdcolor.c build_ycc_rgb_table: SCALEBITS 16, FIX(x) = round(x × 2^16).
        let scaleBits = 16, half = 1 << 15
        let fixCrR = 91881, fixCbB = 116130, fixCrG = 46802, fixCbG = 22554
        let n = maxSample + 1
        var crR = [Int](repeating: 0, count: n), cbB = [Int](repeating: 0, count: n)
        var crG = [Int](repeating: 0, count: n), cbG = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let x = i - center
            crR[i] = (fixCrR * x + half) >> scaleBits
            cbB[i] = (fixCbB * x + half) >> scaleBits
            crG[i] = -fixCrG * x
            cbG[i] = -fixCbG * x + half
        }
        crR.withUnsafeBufferPointer { crR in
            cbB.withUnsafeBufferPointer { cbB in
                crG.withUnsafeBufferPointer { crG in
                    cbG.withUnsafeBufferPointer { cbG in
                        for y in 0..<height {
                            let r0 = p0 + y * s0, r1 = p1 + y * s1, r2 = p2 + y * s2
                            if twoBytes {
                                for x in 0..<width {
                                    let lum = Int(r0[x]), cb = Int(r1[x]), cr = Int(r2[x])
                                    let i = 3 * (y * width + x)
                                    put(i, lum + crR[cr])
                                    put(i + 1, lum + ((cbG[cb] + crG[cr]) >> scaleBits))
                                    put(i + 2, lum + cbB[cb])
                                }
                            } else {
                                let o = out + 3 * y * width
                                for x in 0..<width {
                                    let lum = Int(r0[x]), cb = Int(r1[x]), cr = Int(r2[x])
                                    o[3 * x] = clamp8(lum + crR[cr])
                                    o[3 * x + 1] = clamp8(lum + ((cbG[cb] + crG[cr]) >> scaleBits))
                                    o[3 * x + 2] = clamp8(lum + cbB[cb])
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
