import Foundation

/// How to turn a frame into display values.
public struct RenderOptions: Sendable, Hashable {
    /// Window Center and Width in modality units (e.g. HU), overriding the data set's (both or neither).
    public var windowCenter: Double?
    public var windowWidth: Double?
    /// Frame index, from 0.
    public var frame: Int
    /// Overrides VOI LUT Function (0028,1056) for the window.
    public var voiLUTFunction: VOILUTFunction?

    public init(windowCenter: Double? = nil, windowWidth: Double? = nil, frame: Int = 0,
                voiLUTFunction: VOILUTFunction? = nil) {
        self.windowCenter = windowCenter
        self.windowWidth = windowWidth
        self.frame = frame
        self.voiLUTFunction = voiLUTFunction
    }
}

/// Renders one frame to 8-bit gray or RGB, following the grayscale pipeline of PS3.3 C.11
/// (stored values → Modality LUT → VOI LUT → MONOCHROME1 inversion) and the color models of
/// PS3.3 C.7.6.3.1.2 (RGB, YBR_FULL, YBR_FULL_422, PALETTE COLOR).
/// Decodes native, RLE Lossless and JPEG Baseline / Extended (8- and 12-bit) pixel data; other
/// compressed syntaxes throw `unsupportedCompression`.
public enum FrameRenderer {
    public static func render(_ ds: DataSet, transferSyntax: TransferSyntax, options: RenderOptions = .init()) throws -> PNGImage {
        let (d, bytes) = try decodedFrame(ds, transferSyntax: transferSyntax, frame: options.frame)
        switch d.photometricInterpretation {
        case "MONOCHROME1", "MONOCHROME2":
            return try renderMonochrome(bytes, d, options)
        case "RGB", "YBR_FULL", "YBR_FULL_422":
            return try renderColor(bytes, d)
        case "PALETTE COLOR":
            return try renderPalette(bytes, d)
        default:
            throw PixelError.unsupportedPhotometricInterpretation(d.photometricInterpretation)
        }
    }

    /// The rendered frame encoded as PNG.
    public static func png(_ ds: DataSet, transferSyntax: TransferSyntax, options: RenderOptions = .init(),
                           compressionLevel: Int32 = 6) throws -> [UInt8] {
        try PNGEncoder.encode(render(ds, transferSyntax: transferSyntax, options: options), level: compressionLevel)
    }

    /// The rendered frame encoded as baseline JPEG (JFIF), `quality` 1–100 as libjpeg's.
    public static func jpeg(_ ds: DataSet, transferSyntax: TransferSyntax, options: RenderOptions = .init(),
                            quality: Int = 90) throws -> [UInt8] {
        try JPEGEncoder.encode(render(ds, transferSyntax: transferSyntax, options: options), quality: quality)
    }

    /// The rendered frame encoded as GIF: gray exactly, color quantized to 256 colors.
    public static func gif(_ ds: DataSet, transferSyntax: TransferSyntax, options: RenderOptions = .init()) throws -> [UInt8] {
        try GIFEncoder.encode(render(ds, transferSyntax: transferSyntax, options: options))
    }

    /// The stored sample values of a frame (before any LUT), interleaved per pixel (R G B R G B… for
    /// color whatever the Planar Configuration; YBR_FULL_422 expanded to one Y Cb Cr per pixel).
    /// Bits outside Bits Stored are masked off and signed values sign-extended. Float pixel data gives its floats.
    public static func samples(_ ds: DataSet, transferSyntax: TransferSyntax, frame: Int = 0) throws -> [Double] {
        let (d, bytes) = try decodedFrame(ds, transferSyntax: transferSyntax, frame: frame)
        if d.isFloat { return floatSamples(bytes, d) }
        return integerSamples(bytes, d).map(Double.init)
    }

    /// Like `samples` for integer pixel data, exactly (32- and 64-bit values included).
    public static func storedValues(_ ds: DataSet, transferSyntax: TransferSyntax, frame: Int = 0) throws -> [Int] {
        let (d, bytes) = try decodedFrame(ds, transferSyntax: transferSyntax, frame: frame)
        guard !d.isFloat else { throw PixelError.unsupported("storedValues of float pixel data; use samples") }
        return integerSamples(bytes, d)
    }

    /// The description that applies to `frame` and the frame as native little-endian bytes
    /// (RLE or JPEG decoded; the description then says Planar Configuration 0, and RGB for JPEG
    /// frames whose YCbCr was converted).
    public static func decodedFrame(_ ds: DataSet, transferSyntax: TransferSyntax, frame: Int) throws -> (PixelDescription, Bytes) {
        var d = try PixelDescription(ds).forFrame(frame, in: ds)
        let isEncapsulated = !d.isFloat
            && (transferSyntax.isEncapsulated || (ds[.pixelData]?.value.isEncapsulatedValue ?? false))
        // Refuse what cannot be decoded before splitting fragments, so the error names the syntax.
        if isEncapsulated && !decodedSyntaxes.contains(transferSyntax.uid) {
            throw PixelError.unsupportedCompression(transferSyntax.name == transferSyntax.uid
                ? "transfer syntax \(transferSyntax.uid)" : "\(transferSyntax.name) (\(transferSyntax.uid))")
        }
        let frameBytes = try PixelFrames.frame(frame, of: ds, transferSyntax: transferSyntax)
        if !isEncapsulated || transferSyntax.uid == encapsulatedUncompressedUID {
            // Encapsulated Uncompressed (PS3.5 A.4.11) holds native frames in fragments.
            if isEncapsulated, frameBytes.count < d.frameLength {
                throw PixelError.pixelDataTooShort(expected: d.frameLength, actual: frameBytes.count)
            }
            return (d, frameBytes)
        }
        if transferSyntax.uid == jpegBaselineUID || transferSyntax.uid == jpegExtendedUID {
            let bytes = try decodeJPEG(frameBytes, &d)
            return (d, bytes[...])
        }
        let bytes = try RLEDecoder.decode(frameBytes, description: d)
        // RLE holds whole planes: the decoded frame is interleaved and never chroma-subsampled.
        d.planarConfiguration = 0
        if d.isSubsampled422 { d.photometricInterpretation = "YBR_FULL" }
        return (d, bytes[...])
    }

    static let rleLosslessUID = "1.2.840.10008.1.2.5"
    static let encapsulatedUncompressedUID = "1.2.840.10008.1.2.1.98"
    static let jpegBaselineUID = "1.2.840.10008.1.2.4.50"
    static let jpegExtendedUID = "1.2.840.10008.1.2.4.51"
    static let decodedSyntaxes: Set<String> = [rleLosslessUID, encapsulatedUncompressedUID, jpegBaselineUID, jpegExtendedUID]

    /// A JPEG Baseline / Extended frame (PS3.5 A.4.1, 8.2.1) as native little-endian samples of
    /// Bits Allocated. The Photometric Interpretation says whether the stream holds YCbCr
    /// (YBR_FULL, YBR_FULL_422: converted, and `d` then says RGB) or RGB (kept), as DCMTK's
    /// dcmdjpeg and pydicom read it; the JFIF/Adobe markers are not consulted.
    static func decodeJPEG(_ frame: Bytes, _ d: inout PixelDescription) throws -> [UInt8] {
        let ybr = d.photometricInterpretation == "YBR_FULL" || d.photometricInterpretation == "YBR_FULL_422"
        let image: JPEGImage
        do {
            // The header first: a frame that does not match the attributes is refused before decoding.
            let info = try frame.withUnsafeBytes { try JPEGInfo.parse($0) }
            guard info.width == d.columns, info.height == d.rows else {
                throw PixelError.malformedJPEG("the frame is \(info.width)x\(info.height) but Columns x Rows say \(d.columns)x\(d.rows)")
            }
            guard info.componentCount == d.samplesPerPixel else {
                throw PixelError.malformedJPEG("the frame has \(info.componentCount) component(s) but Samples per Pixel is \(d.samplesPerPixel)")
            }
            image = try frame.withUnsafeBytes {
                try JPEGDecoder.decode($0, colorTransform: d.samplesPerPixel == 3 ? (ybr ? .ycbcr : .asStored) : .auto,
                                       maxPixels: max(d.pixelCount, 1))
            }
        } catch let e as JPEGError {
            if case let .unsupported(reason) = e { throw PixelError.unsupported("JPEG frame: \(reason)") }
            throw PixelError.malformedJPEG("\(e)")
        }
        d.planarConfiguration = 0
        if ybr && image.components == 3 { d.photometricInterpretation = "RGB" }
        switch (image.precision, d.bitsAllocated) {
        case (8, 8), (12, 16):
            return image.pixels
        case (8, 16):
            var wide = [UInt8](repeating: 0, count: image.pixels.count * 2)
            for (i, v) in image.pixels.enumerated() { wide[2 * i] = v }
            return wide
        default:
            throw PixelError.invalidAttribute(.bitsAllocated, name: "Bits Allocated",
                                              reason: "\(d.bitsAllocated) cannot hold the \(image.precision)-bit samples of the JPEG frame")
        }
    }

    // MARK: VOI (PS3.3 C.11.2)

    /// The VOI LUT Function applied to `x` with output range 0…255 (not rounded):
    /// LINEAR C.11.2.1.2.1, LINEAR_EXACT C.11.2.1.3.2, SIGMOID C.11.2.1.3.1.
    @inline(__always)
    public static func window(_ x: Double, center c: Double, width w: Double, function: VOILUTFunction = .linear) -> Double {
        switch function {
        case .linear:
            // w = 1 makes the ramp empty: the two tests then split at c - 0.5.
            if x <= c - 0.5 - (w - 1) / 2 { return 0 }
            if x > c - 0.5 + (w - 1) / 2 { return 255 }
            return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
        case .linearExact:
            if x <= c - w / 2 { return 0 }
            if x > c + w / 2 { return 255 }
            return ((x - c) / w + 0.5) * 255
        case .sigmoid:
            return 255 / (1 + exp(-4 * (x - c) / w))
        }
    }

    /// The smallest width each function allows (LINEAR: ≥ 1; the others: > 0).
    static func isValidWidth(_ w: Double, _ f: VOILUTFunction) -> Bool {
        w.isFinite && (f == .linear ? w >= 1 : w > 0)
    }

    /// How modality values become 0…255.
    enum VOI {
        case window(center: Double, width: Double, function: VOILUTFunction)
        case lut(LookupTable)
        case minMax
    }

    static func chooseVOI(_ d: PixelDescription, _ o: RenderOptions) throws -> VOI {
        let dataFunction = d.voiLUTFunction.flatMap(VOILUTFunction.init(rawValue:)) ?? .linear
        let function = o.voiLUTFunction ?? dataFunction
        switch (o.windowCenter, o.windowWidth) {
        case let (c?, w?):
            guard c.isFinite, isValidWidth(w, function) else {
                throw PixelError.invalidOption("window width \(w) is not allowed for \(function.rawValue) (LINEAR needs ≥ 1, the others > 0), center \(c)")
            }
            return .window(center: c, width: w, function: function)
        case (nil, nil):
            break
        default:
            throw PixelError.invalidOption("give both window center and window width, or neither")
        }
        // The first window of the data set (PS3.3 C.11.2.1.2: values are alternatives; the first is the default).
        if let c = d.windowCenters.first, let w = d.windowWidths.first, c.isFinite, isValidWidth(w, function) {
            return .window(center: c, width: w, function: function)
        }
        if let lut = d.voiLUT { return .lut(lut) }
        return .minMax
    }

    // MARK: monochrome (PS3.3 C.11)

    static func renderMonochrome(_ bytes: Bytes, _ d: PixelDescription, _ o: RenderOptions) throws -> PNGImage {
        guard d.samplesPerPixel == 1 else {
            throw PixelError.invalidAttribute(.samplesPerPixel, name: "Samples per Pixel",
                                              reason: "\(d.photometricInterpretation) needs 1, not \(d.samplesPerPixel)")
        }
        let voi = try chooseVOI(d, o)
        let invert = d.photometricInterpretation == "MONOCHROME1"
        let n = d.pixelCount
        var out = [UInt8](repeating: 0, count: n)

        // Modality LUT (C.11.1): rescale, or the Modality LUT Sequence for integer data.
        let slope = d.rescaleSlope, intercept = d.rescaleIntercept
        let modalityLUT = d.isFloat ? nil : d.modalityLUT

        func display(_ m: Double, _ lo: Double, _ hi: Double) -> UInt8 {
            var y: Double
            switch voi {
            case let .window(c, w, f): y = window(m, center: c, width: w, function: f)
            case let .lut(lut):
                let v = m.isNaN ? lut.lookup(0) : lut.lookup(Int(max(min(m.rounded(), 1e15), -1e15)))
                y = Double(v) * 255 / Double(lut.maxOutput)
            case .minMax: y = hi > lo ? (m - lo) / (hi - lo) * 255 : 0
            }
            // NaN (an absurd rescale overflowing to inf - inf) shows as black; ±inf clamp.
            if y.isNaN { y = 0 }
            y = min(max(y.rounded(), 0), 255)
            let v = UInt8(y)
            return invert ? 255 - v : v
        }

        if d.isFloat {
            let values = floatSamples(bytes, d)
            let mod = values.map { $0 * slope + intercept }
            let (lo, hi) = finiteRange(mod)
            for i in 0..<n { out[i] = mod[i].isNaN ? (invert ? 255 : 0) : display(mod[i], lo, hi) }
        } else {
            let values = integerSamples(bytes, d)
            var smin = Int.max, smax = Int.min
            for v in values {
                if v < smin { smin = v }
                if v > smax { smax = v }
            }
            @inline(__always) func modality(_ v: Int) -> Double {
                if let lut = modalityLUT { return Double(lut.lookup(v)) }
                return Double(v) * slope + intercept
            }
            let range = smax.subtractingReportingOverflow(smin)
            if !range.overflow, range.partialValue < 1 << 20 {
                // One table entry per stored value present in the frame's range: every pixel is a lookup.
                let count = range.partialValue + 1
                var mod = [Double](repeating: 0, count: count)
                var lo = Double.infinity, hi = -Double.infinity
                for k in 0..<count {
                    let m = modality(smin + k)
                    mod[k] = m
                    lo = min(lo, m)
                    hi = max(hi, m)
                }
                let table = mod.map { display($0, lo, hi) }
                table.withUnsafeBufferPointer { t in
                    values.withUnsafeBufferPointer { v in
                        out.withUnsafeMutableBufferPointer { o in
                            for i in 0..<n { o[i] = t[v[i] &- smin] }
                        }
                    }
                }
            } else {
                let mod = values.map(modality)
                let (lo, hi) = finiteRange(mod)
                for i in 0..<n { out[i] = display(mod[i], lo, hi) }
            }
        }
        return PNGImage(width: d.columns, height: d.rows, bitDepth: 8, channels: 1, pixels: out)
    }

    static func finiteRange(_ a: [Double]) -> (Double, Double) {
        var lo = Double.infinity, hi = -Double.infinity
        for x in a where x.isFinite {
            lo = min(lo, x)
            hi = max(hi, x)
        }
        return lo <= hi ? (lo, hi) : (0, 0)
    }

    // MARK: color (PS3.3 C.7.6.3.1.2)

    static func renderColor(_ bytes: Bytes, _ d: PixelDescription) throws -> PNGImage {
        guard d.samplesPerPixel == 3 else {
            throw PixelError.invalidAttribute(.samplesPerPixel, name: "Samples per Pixel",
                                              reason: "\(d.photometricInterpretation) needs 3, not \(d.samplesPerPixel)")
        }
        guard !d.isFloat else { throw PixelError.unsupported("float pixel data with \(d.photometricInterpretation)") }
        let values = integerSamples(bytes, d)
        let n = d.pixelCount
        var out = [UInt8](repeating: 0, count: n * 3)
        // Samples of more than 8 bits are scaled to 0…255; signed ones shifted to unsigned first.
        let bits = d.bitsStored
        let offset = d.isSigned ? 1 << (bits - 1) : 0
        let maxValue = Double((1 << bits) - 1)
        let is8 = bits == 8 && !d.isSigned
        @inline(__always) func scaled(_ v: Int) -> Double {
            is8 ? Double(v) : Double(v + offset) * 255 / maxValue
        }
        @inline(__always) func clamp(_ x: Double) -> UInt8 { UInt8(min(max(x.rounded(), 0), 255)) }

        if d.photometricInterpretation == "RGB" {
            if is8 {
                for i in 0..<n * 3 { out[i] = UInt8(truncatingIfNeeded: values[i]) }
            } else {
                for i in 0..<n * 3 { out[i] = clamp(scaled(values[i])) }
            }
        } else {
            // YBR_FULL: full-range Y, Cb, Cr centered on 128 (C.7.6.3.1.2), inverted to RGB.
            for p in 0..<n {
                let y = scaled(values[3 * p]), cb = scaled(values[3 * p + 1]) - 128, cr = scaled(values[3 * p + 2]) - 128
                out[3 * p] = clamp(y + 1.402 * cr)
                out[3 * p + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr)
                out[3 * p + 2] = clamp(y + 1.772 * cb)
            }
        }
        return PNGImage(width: d.columns, height: d.rows, bitDepth: 8, channels: 3, pixels: out)
    }

    /// PALETTE COLOR (C.7.6.3.1.5): each stored value indexes the red, green and blue LUTs, whose
    /// entries span their full bit depth (C.7.6.3.1.6) and are scaled to 8 bits.
    static func renderPalette(_ bytes: Bytes, _ d: PixelDescription) throws -> PNGImage {
        guard let palette = d.palette else {
            throw PixelError.missingAttribute(Tag(0x0028_1201), name: "Red Palette Color Lookup Table Data")
        }
        guard d.samplesPerPixel == 1, !d.isFloat else {
            throw PixelError.invalidAttribute(.samplesPerPixel, name: "Samples per Pixel", reason: "PALETTE COLOR needs 1 integer sample")
        }
        let values = integerSamples(bytes, d)
        let luts = [palette.red, palette.green, palette.blue]
        // Per channel, the 8-bit result for every LUT entry; inputs outside the table clamp to its ends.
        let tables: [[UInt8]] = luts.map { lut in
            let maxOut = lut.maxOutput
            return lut.entries.map { UInt8(min((($0 & maxOut) * 255 + maxOut / 2) / maxOut, 255)) }
        }
        var out = [UInt8](repeating: 0, count: d.pixelCount * 3)
        for c in 0..<3 {
            let t = tables[c], first = luts[c].firstMapped, last = t.count - 1
            for p in 0..<d.pixelCount {
                let i = values[p] - first
                out[3 * p + c] = t[i <= 0 ? 0 : (i >= last ? last : i)]
            }
        }
        return PNGImage(width: d.columns, height: d.rows, bitDepth: 8, channels: 3, pixels: out)
    }

    // MARK: sample extraction (PS3.5 8.1, PS3.3 C.7.6.3.1)

    /// Stored values, interleaved per pixel. The stored bits are Bits Stored bits ending at High Bit
    /// (PS3.5 8.1.1); the rest of each cell is masked off and signed values sign-extended.
    static func integerSamples(_ bytes: Bytes, _ d: PixelDescription) -> [Int] {
        let spp = d.samplesPerPixel, pixels = d.pixelCount
        let cells = d.isSubsampled422 ? pixels * 2 : pixels * spp
        let raw = rawCells(bytes, d, count: cells)
        let shift = d.highBit + 1 - d.bitsStored
        let bits = d.bitsStored
        let mask = bits >= 64 ? -1 : (1 << bits) - 1
        let signBit = bits >= 64 ? 0 : 1 << (bits - 1)
        let signed = d.isSigned && bits < 64
        var stored = raw
        // 64-bit cells already hold their two's complement bit pattern; narrower ones need work
        // unless the stored bits fill the cell of an unsigned value.
        if d.bitsAllocated < 64 && (shift != 0 || bits != d.bitsAllocated || signed) {
            stored.withUnsafeMutableBufferPointer { s in
                for i in 0..<s.count {
                    var v = (s[i] >> shift) & mask
                    if signed && v & signBit != 0 { v -= signBit << 1 }
                    s[i] = v
                }
            }
        }
        if d.isSubsampled422 {
            // Y0 Y1 Cb Cr per pair of pixels (C.7.6.3.1.2) → Y Cb Cr per pixel, chroma repeated.
            var out = [Int](repeating: 0, count: pixels * 3)
            for q in 0..<(pixels + 1) / 2 where 4 * q + 3 < stored.count {
                let cb = stored[4 * q + 2], cr = stored[4 * q + 3]
                for k in 0..<2 where 2 * q + k < pixels {
                    out[3 * (2 * q + k)] = stored[4 * q + k]
                    out[3 * (2 * q + k) + 1] = cb
                    out[3 * (2 * q + k) + 2] = cr
                }
            }
            return out
        }
        if spp > 1 && d.planarConfiguration == 1 {
            var out = [Int](repeating: 0, count: cells)
            for s in 0..<spp {
                for p in 0..<pixels { out[p * spp + s] = stored[s * pixels + p] }
            }
            return out
        }
        return stored
    }

    /// The `count` pixel cells as unsigned integers (64-bit cells as their bit pattern).
    static func rawCells(_ bytes: Bytes, _ d: PixelDescription, count: Int) -> [Int] {
        let available = d.bitsAllocated == 1 ? bytes.count * 8 : bytes.count / (d.bitsAllocated / 8)
        let n = min(count, available)
        var out = [Int](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { o in
                switch d.bitsAllocated {
                case 1:
                    let p = raw.bindMemory(to: UInt8.self)
                    for i in 0..<n { o[i] = Int(p[i >> 3] >> (i & 7) & 1) }
                case 8:
                    let p = raw.bindMemory(to: UInt8.self)
                    for i in 0..<n { o[i] = Int(p[i]) }
                case 16:
                    for i in 0..<n { o[i] = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case 32:
                    for i in 0..<n { o[i] = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case 64:
                    for i in 0..<n { o[i] = Int(truncatingIfNeeded: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
                default:
                    let size = d.bitsAllocated / 8
                    for i in 0..<n {
                        var v = 0
                        for b in (0..<min(size, 8)).reversed() { v = v << 8 | Int(raw[i * size + b]) }
                        o[i] = v
                    }
                }
            }
        }
        return out
    }

    /// Float Pixel Data (32-bit) or Double Float Pixel Data (64-bit) values, interleaved per pixel.
    static func floatSamples(_ bytes: Bytes, _ d: PixelDescription) -> [Double] {
        let count = d.pixelCount * d.samplesPerPixel
        let size = d.bitsAllocated / 8
        let n = min(count, bytes.count / size)
        var values = [Double](repeating: .nan, count: count)
        bytes.withUnsafeBytes { raw in
            for i in 0..<n {
                values[i] = size == 4
                    ? Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
                    : Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
            }
        }
        if d.samplesPerPixel > 1 && d.planarConfiguration == 1 {
            let pixels = d.pixelCount, spp = d.samplesPerPixel
            var out = values
            for s in 0..<spp { for p in 0..<pixels { out[p * spp + s] = values[s * pixels + p] } }
            return out
        }
        return values
    }
}

extension ElementValue {
    var isEncapsulatedValue: Bool {
        if case .encapsulated = self { return true }
        return false
    }
}
