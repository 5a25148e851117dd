/// The 8×8 DCTs of T.81 A.3.3, as separable row/column passes.
enum JPEGDCT {
    // MARK: forward (encoder): AAN, floating point

    /// AAN scale factors: the forward transform below leaves row/column k scaled by
    /// `aanScale[k]` × √8 … folded into the quantization divisors (`divisors`).
    static let aanScale: [Float] = [1.0, 1.387039845, 1.306562965, 1.175875602, 1.0, 0.785694958, 0.541196100, 0.275899379]

    /// 1 / (quantizer × scale) in natural order: multiplying the AAN output by these quantizes.
    static func divisors(_ quantization: [Int]) -> [Float] {
        (0..<64).map { i in 1 / (Float(quantization[i]) * aanScale[i >> 3] * aanScale[i & 7] * 8) }
    }

    /// In-place forward DCT of 64 level-shifted samples (row-major): the Arai–Agui–Nakajima
    /// factorization (5 multiplications per 8 points), as libjpeg's jfdctflt.c arranges it.
    /// The outputs are scaled by the AAN factors, which `divisors` removes.
    @inline(__always)
    static func forward(_ d: UnsafeMutablePointer<Float>) {
        for pass in 0..<2 {
            // Pass 0: rows (stride 1 within a row, rows 8 apart); pass 1: columns.
            let step = pass == 0 ? 1 : 8, next = pass == 0 ? 8 : 1
            for line in 0..<8 {
                let p = d + line * next
                let tmp0 = p[0] + p[7 * step], tmp7 = p[0] - p[7 * step]
                let tmp1 = p[step] + p[6 * step], tmp6 = p[step] - p[6 * step]
                let tmp2 = p[2 * step] + p[5 * step], tmp5 = p[2 * step] - p[5 * step]
                let tmp3 = p[3 * step] + p[4 * step], tmp4 = p[3 * step] - p[4 * step]
                // Even part
                let tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3
                let tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2
                p[0] = tmp10 + tmp11
                p[4 * step] = tmp10 - tmp11
                let z1 = (tmp12 + tmp13) * 0.707106781
                p[2 * step] = tmp13 + z1
                p[6 * step] = tmp13 - z1
                // Odd part
                let o10 = tmp4 + tmp5, o11 = tmp5 + tmp6, o12 = tmp6 + tmp7
                let z5 = (o10 - o12) * 0.382683433
                let z2 = 0.541196100 * o10 + z5
                let z4 = 1.306562965 * o12 + z5
                let z3 = o11 * 0.707106781
                let z11 = tmp7 + z3, z13 = tmp7 - z3
                p[5 * step] = z13 + z2
                p[3 * step] = z13 - z2
                p[step] = z11 + z4
                p[7 * step] = z11 - z4
            }
        }
    }

    // MARK: inverse (decoder): libjpeg's "islow" integer IDCT

    // 13-bit fixed-point constants of jidctint.c (FIX(x) = round(x × 2^13)).
    static let fix_0_298631336 = 2446, fix_0_390180644 = 3196, fix_0_541196100 = 4433, fix_0_765366865 = 6270
    static let fix_0_899976223 = 7373, fix_1_175875602 = 9633, fix_1_501321110 = 12299, fix_1_847759065 = 15137
    static let fix_1_961570560 = 16069, fix_2_053119869 = 16819, fix_2_562915447 = 20995, fix_3_072711026 = 25172
    static let constBits = 13

    /// Inverse DCT of 64 dequantized coefficients (natural order) into samples `stride` apart,
    /// level-shifted by `center` and clamped to 0…`maxSample`. This is libjpeg's jidctint.c
    /// (the Loeffler–Ligtenberg–Moschytz factorization in 13-bit fixed point, its default "islow"
    /// method, which DCMTK and libjpeg-turbo share bit for bit), so output matches theirs exactly.
    /// `pass1Bits` is 2 for 8-bit samples, 1 for 12-bit. `ws` is 64 Ints of scratch.
    @inline(__always)
    static func inverse(_ coef: UnsafePointer<Int32>, _ ws: UnsafeMutablePointer<Int>,
                        _ out: UnsafeMutablePointer<UInt16>, stride: Int, pass1Bits: Int, center: Int, maxSample: Int) {
        let cb = constBits
        // Pass 1: columns from the input into the workspace, scaled up by 2^pass1Bits.
        for c in 0..<8 {
            let i = coef + c
            if i[8] == 0 && i[16] == 0 && i[24] == 0 && i[32] == 0 && i[40] == 0 && i[48] == 0 && i[56] == 0 {
                let dc = Int(i[0]) << pass1Bits
                for k in 0..<8 { ws[c + 8 * k] = dc }
                continue
            }
            var z2 = Int(i[16]), z3 = Int(i[48])
            var z1 = (z2 + z3) * fix_0_541196100
            var tmp2 = z1 + z3 * -fix_1_847759065
            var tmp3 = z1 + z2 * fix_0_765366865
            z2 = Int(i[0]); z3 = Int(i[32])
            var tmp0 = (z2 + z3) << cb
            var tmp1 = (z2 - z3) << cb
            let tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3
            let tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2

            tmp0 = Int(i[56]); tmp1 = Int(i[40]); tmp2 = Int(i[24]); tmp3 = Int(i[8])
            z1 = tmp0 + tmp3; z2 = tmp1 + tmp2; z3 = tmp0 + tmp2
            var z4 = tmp1 + tmp3
            let z5 = (z3 + z4) * fix_1_175875602
            tmp0 *= fix_0_298631336; tmp1 *= fix_2_053119869; tmp2 *= fix_3_072711026; tmp3 *= fix_1_501321110
            z1 *= -fix_0_899976223; z2 *= -fix_2_562915447; z3 *= -fix_1_961570560; z4 *= -fix_0_390180644
            z3 += z5; z4 += z5
            tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4

            let s = cb - pass1Bits, r = 1 << (s - 1)
            ws[c] = (tmp10 + tmp3 + r) >> s
            ws[c + 56] = (tmp10 - tmp3 + r) >> s
            ws[c + 8] = (tmp11 + tmp2 + r) >> s
            ws[c + 48] = (tmp11 - tmp2 + r) >> s
            ws[c + 16] = (tmp12 + tmp1 + r) >> s
            ws[c + 40] = (tmp12 - tmp1 + r) >> s
            ws[c + 24] = (tmp13 + tmp0 + r) >> s
            ws[c + 32] = (tmp13 - tmp0 + r) >> s
        }
        // Pass 2: rows from the workspace to the output, removing 2^pass1Bits and the DCT's 8.
        let s = cb + pass1Bits + 3, r = 1 << (s - 1)
        let dcShift = pass1Bits + 3, dcRound = 1 << (dcShift - 1)
        @inline(__always) func clamp(_ v: Int) -> UInt16 {
            let x = v + center
            return UInt16(x < 0 ? 0 : (x > maxSample ? maxSample : x))
        }
        for row in 0..<8 {
            let w = ws + 8 * row
            let o = out + row * stride
            if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
                let v = clamp((w[0] + dcRound) >> dcShift)
                for k in 0..<8 { o[k] = v }
                continue
            }
            var z2 = w[2], z3 = w[6]
            var z1 = (z2 + z3) * fix_0_541196100
            var tmp2 = z1 + z3 * -fix_1_847759065
            var tmp3 = z1 + z2 * fix_0_765366865
            var tmp0 = (w[0] + w[4]) << cb
            var tmp1 = (w[0] - w[4]) << cb
            let tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3
            let tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2

            tmp0 = w[7]; tmp1 = w[5]; tmp2 = w[3]; tmp3 = w[1]
            z1 = tmp0 + tmp3; z2 = tmp1 + tmp2; z3 = tmp0 + tmp2
            var z4 = tmp1 + tmp3
            let z5 = (z3 + z4) * fix_1_175875602
            tmp0 *= fix_0_298631336; tmp1 *= fix_2_053119869; tmp2 *= fix_3_072711026; tmp3 *= fix_1_501321110
            z1 *= -fix_0_899976223; z2 *= -fix_2_562915447; z3 *= -fix_1_961570560; z4 *= -fix_0_390180644
            z3 += z5; z4 += z5
            tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4

            o[0] = clamp((tmp10 + tmp3 + r) >> s)
            o[7] = clamp((tmp10 - tmp3 + r) >> s)
            o[1] = clamp((tmp11 + tmp2 + r) >> s)
            o[6] = clamp((tmp11 - tmp2 + r) >> s)
            o[2] = clamp((tmp12 + tmp1 + r) >> s)
            o[5] = clamp((tmp12 - tmp1 + r) >> s)
            o[3] = clamp((tmp13 + tmp0 + r) >> s)
            o[4] = clamp((tmp13 - tmp0 + r) >> s)
        }
    }
}
