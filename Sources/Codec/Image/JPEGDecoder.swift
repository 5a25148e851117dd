/// Sequential DCT JPEG decoding with Huffman coding (T.81 Annex F, processes of SOF0 and SOF1):
/// 8- and 12-bit samples, 1 or 3 components with any sampling factors, interleaved or not,
/// several scans, restart intervals. Progressive, lossless, hierarchical and arithmetic-coded
/// streams are refused with `JPEGError.unsupported`.
///
/// The inverse DCT, chroma upsampling and YCbCr→RGB conversion reproduce libjpeg's defaults
/// (islow IDCT, "fancy" triangular upsampling, its fixed-point color tables), so the pixels equal
/// those of libjpeg-turbo (Pillow) and DCMTK's dcmdjpeg.
public enum JPEGDecoder {
    /// Decodes the first image of `bytes`. `colorTransform` says how three components become
    /// RGB (`.auto` reads the JFIF/Adobe markers). `maxPixels` bounds memory before anything large
    /// is allocated.
    public static func decode(_ bytes: [UInt8], colorTransform: JPEGColorTransform = .auto,
                              maxPixels: Int = 1 << 28) throws -> JPEGImage {
        try bytes.withUnsafeBytes { try decode($0, colorTransform: colorTransform, maxPixels: maxPixels) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, colorTransform: JPEGColorTransform = .auto,
                              maxPixels: Int = 1 << 28) throws -> JPEGImage {
        let state = JPEGDecodingState(bytes, maxPixels: maxPixels)
        try state.run()
        return try state.output(colorTransform)
    }
}

/// One frame component while decoding: its factors, tables and sample plane. The plane covers
/// whole MCUs, `stride` samples per row.
final class JPEGComponentState {
    let id: Int
    let h: Int, v: Int
    let quantSelector: Int
    /// Samples of the component itself (T.81 A.1.1: ceil(X × Hi / Hmax) × ceil(Y × Vi / Vmax)).
    let width: Int, height: Int
    let stride: Int, rows: Int
    let plane: UnsafeMutablePointer<UInt16>
    /// The quantization table latched at the component's first scan (natural order).
    let quant: UnsafeMutablePointer<Int32>
    var scanned = false

    init(_ c: JPEGInfo.Component, frameWidth: Int, frameHeight: Int, hmax: Int, vmax: Int) {
        id = c.id
        h = c.horizontalSampling
        v = c.verticalSampling
        quantSelector = c.quantizationTable
        width = (frameWidth * h + hmax - 1) / hmax
        height = (frameHeight * v + vmax - 1) / vmax
        let mcusX = (frameWidth + 8 * hmax - 1) / (8 * hmax), mcusY = (frameHeight + 8 * vmax - 1) / (8 * vmax)
        stride = mcusX * h * 8
        rows = mcusY * v * 8
        plane = .allocate(capacity: stride * rows)
        plane.initialize(repeating: 0, count: stride * rows)
        quant = .allocate(capacity: 64)
        quant.initialize(repeating: 0, count: 64)
    }

    deinit {
        plane.deallocate()
        quant.deallocate()
    }
}

final class JPEGDecodingState {
    let bytes: UnsafeRawBufferPointer
    let maxPixels: Int
    var info: JPEGInfo?
    var jfif = false
    var adobe: Int?
    /// Quantization tables 0–3 in natural order (T.81 B.2.4.1); nil until defined.
    var quantTables: [[Int32]?] = [nil, nil, nil, nil]
    var dcTables: [JPEGHuffmanTable?] = [nil, nil, nil, nil]
    var acTables: [JPEGHuffmanTable?] = [nil, nil, nil, nil]
    var restartInterval = 0
    var components: [JPEGComponentState] = []
    var hmax = 1, vmax = 1
    var scans = 0
    var sawEOI = false
    /// JPEGTables.zigzag without array bounds checks in the block loop.
    let zigzag: UnsafeMutablePointer<Int>

    init(_ bytes: UnsafeRawBufferPointer, maxPixels: Int) {
        self.bytes = bytes
        self.maxPixels = maxPixels
        zigzag = .allocate(capacity: 64)
        zigzag.initialize(from: JPEGTables.zigzag, count: 64)
    }

    deinit { zigzag.deallocate() }

    // MARK: markers (T.81 B.2)

    func run() throws {
        var reader = JPEGSegmentReader(bytes)
        try reader.expectSOI()
        while let (marker, segment, offset) = try reader.nextSegment() {
            switch marker {
            case JPEGMarker.eoi:
                sawEOI = true
            case JPEGMarker.app0:
                if JPEGSegmentReader.isJFIF(segment) { jfif = true }
            case JPEGMarker.app14:
                if let t = JPEGSegmentReader.adobeTransform(segment) { adobe = t }
            case JPEGMarker.dqt:
                try defineQuantization(segment, offset: offset)
            case JPEGMarker.dht:
                try defineHuffman(segment, offset: offset)
            case JPEGMarker.dri:
                guard segment.count == 2 else { throw JPEGError.malformed("DRI segment at byte \(offset) has \(segment.count) bytes, not 2") }
                restartInterval = Int(segment[0]) << 8 | Int(segment[1])
            case JPEGMarker.dac:
                throw JPEGError.unsupported("arithmetic coding (DAC marker at byte \(offset))")
            case JPEGMarker.sos:
                reader.pos = try decodeScan(segment, offset: offset, dataStart: reader.pos)
                scans += 1
            case _ where JPEGMarker.isSOF(marker):
                try startFrame(marker, segment, offset: offset)
            default:
                // APPn, COM, RSTn outside a scan, DNL after a frame whose height was already given
                // (a zero height is refused in startFrame), and others that carry nothing we need.
                break
            }
            if sawEOI { break }
        }
        guard info != nil else { throw JPEGError.truncated(offset: bytes.count, context: "the header: no frame header (SOF) found") }
        guard scans > 0 else { throw JPEGError.truncated(offset: bytes.count, context: "the header: no scan (SOS) found") }
        if let missing = components.first(where: { !$0.scanned }) {
            throw JPEGError.truncated(offset: bytes.count, context: "the image: component \(missing.id) is in no scan")
        }
    }

    func startFrame(_ marker: UInt8, _ segment: UnsafeRawBufferPointer, offset: Int) throws {
        guard info == nil else { throw JPEGError.malformed("a second frame header (SOF at byte \(offset))") }
        let f = try JPEGInfo.frameHeader(marker, segment, offset: offset)
        guard marker == 0xC0 || marker == 0xC1 else {
            throw JPEGError.unsupported("\(JPEGMarker.processName(marker)); only baseline and extended sequential Huffman (SOF0, SOF1) are decoded")
        }
        guard f.precision == 8 || (f.precision == 12 && marker == 0xC1) else {
            throw JPEGError.unsupported("\(f.precision)-bit samples in \(JPEGMarker.processName(marker)) (8, or 12 with SOF1)")
        }
        guard f.height > 0 else { throw JPEGError.unsupported("a frame of height 0 (the number of lines defined by DNL)") }
        guard f.components.count == 1 || f.components.count == 3 else {
            throw JPEGError.unsupported("\(f.components.count) components (1 gray or 3 color are decoded)")
        }
        let (pixels, overflow) = f.width.multipliedReportingOverflow(by: f.height)
        guard !overflow, pixels <= maxPixels else { throw JPEGError.imageTooLarge(width: f.width, height: f.height, limit: maxPixels) }
        hmax = f.components.map(\.horizontalSampling).max()!
        vmax = f.components.map(\.verticalSampling).max()!
        // Every coded block takes at least 2 bits (a DC and an end-of-block code): refuse before
        // allocating planes that the data cannot fill.
        var blocks = 0
        for c in f.components {
            let w = (f.width * c.horizontalSampling + hmax - 1) / hmax, h = (f.height * c.verticalSampling + vmax - 1) / vmax
            blocks += ((w + 7) / 8) * ((h + 7) / 8)
        }
        guard blocks <= bytes.count * 4 else {
            throw JPEGError.truncated(offset: bytes.count, context: "the data: \(bytes.count) bytes cannot hold \(f.width)x\(f.height) pixels")
        }
        info = f
        components = f.components.map {
            JPEGComponentState($0, frameWidth: f.width, frameHeight: f.height, hmax: hmax, vmax: vmax)
        }
    }

    /// DQT (T.81 B.2.4.1): Pq|Tq then 64 values of 8 or 16 bits in zig-zag order, repeated.
    func defineQuantization(_ s: UnsafeRawBufferPointer, offset: Int) throws {
        var i = 0
        while i < s.count {
            let pq = Int(s[i] >> 4), tq = Int(s[i] & 15)
            guard pq <= 1, tq <= 3 else { throw JPEGError.malformed("DQT at byte \(offset): precision \(pq), table \(tq)") }
            let size = pq == 0 ? 64 : 128
            guard i + 1 + size <= s.count else { throw JPEGError.malformed("DQT at byte \(offset) is shorter than its tables") }
            var table = [Int32](repeating: 0, count: 64)
            for k in 0..<64 {
                let v = pq == 0 ? Int32(s[i + 1 + k]) : Int32(s[i + 1 + 2 * k]) << 8 | Int32(s[i + 2 + 2 * k])
                table[JPEGTables.zigzag[k]] = v
            }
            quantTables[tq] = table
            i += 1 + size
        }
    }

    /// DHT (T.81 B.2.4.2): Tc|Th, 16 counts, the symbols; repeated.
    func defineHuffman(_ s: UnsafeRawBufferPointer, offset: Int) throws {
        var i = 0
        while i < s.count {
            let tc = Int(s[i] >> 4), th = Int(s[i] & 15)
            guard tc <= 1, th <= 3 else { throw JPEGError.malformed("DHT at byte \(offset): class \(tc), table \(th)") }
            guard i + 17 <= s.count else { throw JPEGError.malformed("DHT at byte \(offset) is shorter than its code counts") }
            let counts = (0..<16).map { Int(s[i + 1 + $0]) }
            let n = counts.reduce(0, +)
            guard n <= 256, i + 17 + n <= s.count else { throw JPEGError.malformed("DHT at byte \(offset) lists \(n) symbols in \(s.count - i - 17) bytes") }
            let table = try JPEGHuffmanTable(counts: counts, values: Array(s[(i + 17)..<(i + 17 + n)]))
            if tc == 0 { dcTables[th] = table } else { acTables[th] = table }
            i += 17 + n
        }
    }

    // MARK: scans (T.81 B.2.3, F.2)

    /// What the block loop needs of a scan component, as plain pointers (the tables and planes
    /// stay owned by `self` for the whole scan).
    struct ScanComponent {
        let plane: UnsafeMutablePointer<UInt16>
        let stride: Int
        /// The component's size in samples, and its sampling factors.
        let width: Int, height: Int
        let h: Int, v: Int
        let quant: UnsafeMutablePointer<Int32>
        let dc: JPEGHuffmanTable.Raw
        let ac: JPEGHuffmanTable.Raw
    }

    /// Decodes one scan whose entropy-coded data starts at `dataStart`; returns where it ends.
    func decodeScan(_ s: UnsafeRawBufferPointer, offset: Int, dataStart: Int) throws -> Int {
        guard let f = info else { throw JPEGError.malformed("a scan (SOS at byte \(offset)) before the frame header (SOF)") }
        guard s.count >= 1 else { throw JPEGError.malformed("empty SOS segment at byte \(offset)") }
        let n = Int(s[0])
        guard (1...4).contains(n), s.count == 4 + 2 * n else {
            throw JPEGError.malformed("SOS at byte \(offset) has \(s.count) bytes for \(n) component(s)")
        }
        var scan: [ScanComponent] = []
        for k in 0..<n {
            let id = Int(s[1 + 2 * k]), td = Int(s[2 + 2 * k] >> 4), ta = Int(s[2 + 2 * k] & 15)
            guard let c = components.first(where: { $0.id == id }) else {
                throw JPEGError.malformed("scan at byte \(offset) names component \(id), which the frame does not have")
            }
            guard td <= 3, ta <= 3, let dc = dcTables[td], let ac = acTables[ta] else {
                throw JPEGError.malformed("scan at byte \(offset) uses Huffman tables DC \(td) / AC \(ta) of component \(id), which are not defined")
            }
            guard let q = quantTables[c.quantSelector] else {
                throw JPEGError.malformed("component \(id) uses quantization table \(c.quantSelector), which is not defined")
            }
            if !c.scanned {
                q.withUnsafeBufferPointer { c.quant.update(from: $0.baseAddress!, count: 64) }
            }
            c.scanned = true
            scan.append(ScanComponent(plane: c.plane, stride: c.stride, width: c.width, height: c.height, h: c.h, v: c.v, quant: c.quant, dc: dc.raw, ac: ac.raw))
        }
        // Ss, Se, Ah/Al must be 0, 63, 0 in a sequential scan (T.81 B.2.3) but say nothing a
        // sequential decoder needs: like libjpeg (a warning only) we ignore them, which reads
        // files such as pydicom's JPEG-lossy.dcm (Se = 0) as DCMTK does.
        guard n == 1 || scan.reduce(0, { $0 + $1.h * $1.v }) <= 10 else {
            throw JPEGError.malformed("an interleaved scan with more than 10 blocks per MCU (T.81 B.2.3)")
        }

        var reader = JPEGBitReader(bytes, at: dataStart)
        let precision = f.precision
        let center = 1 << (precision - 1), maxSample = (1 << precision) - 1, pass1Bits = precision == 8 ? 2 : 1
        let coef = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        let workspace = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        defer { coef.deallocate(); workspace.deallocate() }
        var predictions = [Int](repeating: 0, count: n)

        // Non-interleaved: the MCU is one block, over the component's own blocks (T.81 A.2.2).
        // Interleaved: Hi × Vi blocks of each component per MCU, over the whole frame (A.2.3).
        let mcusX: Int, mcusY: Int
        if n == 1 {
            mcusX = (scan[0].width + 7) / 8
            mcusY = (scan[0].height + 7) / 8
        } else {
            mcusX = (f.width + 8 * hmax - 1) / (8 * hmax)
            mcusY = (f.height + 8 * vmax - 1) / (8 * vmax)
        }
        var untilRestart = restartInterval
        var restarts = 0
        for my in 0..<mcusY {
            for mx in 0..<mcusX {
                if restartInterval > 0 {
                    if untilRestart == 0 {
                        try reader.restart(index: restarts)
                        restarts += 1
                        for k in 0..<n { predictions[k] = 0 }
                        untilRestart = restartInterval
                    }
                    untilRestart -= 1
                }
                for k in 0..<n {
                    let sc = scan[k]
                    let (bw, bh) = n == 1 ? (1, 1) : (sc.h, sc.v)
                    for by in 0..<bh {
                        for bx in 0..<bw {
                            try decodeBlock(&reader, sc, coef, &predictions[k])
                            let x = (mx * bw + bx) * 8, y = (my * bh + by) * 8
                            JPEGDCT.inverse(coef, workspace, sc.plane + y * sc.stride + x, stride: sc.stride,
                                            pass1Bits: pass1Bits, center: center, maxSample: maxSample)
                        }
                    }
                }
            }
        }
        if reader.overran {
            if reader.atMarker && reader.pos < bytes.count {
                throw JPEGError.malformed("the entropy-coded data of scan \(scans + 1) ends (marker at byte \(reader.pos)) before its \(mcusX * mcusY) MCUs are complete")
            }
            throw JPEGError.truncated(offset: bytes.count, context: "the entropy-coded data of scan \(scans + 1)")
        }
        return reader.pos
    }

    /// One 8×8 block (T.81 F.2.2.1–F.2.2.2): the DC difference, then run/size coded AC
    /// coefficients in zig-zag order, dequantized into natural order in `coef`.
    @inline(__always)
    func decodeBlock(_ r: inout JPEGBitReader, _ sc: ScanComponent, _ coef: UnsafeMutablePointer<Int32>, _ prediction: inout Int) throws {
        coef.update(repeating: 0, count: 64)
        let q = sc.quant
        let t = try r.decode(sc.dc)
        guard t <= 16 else { throw JPEGError.malformed("DC difference category \(t) (at most 16) near byte \(r.pos)") }
        prediction &+= r.receiveExtend(t)
        // libjpeg keeps coefficients as 16-bit JCOEF: the same truncation keeps corrupt data identical.
        coef[0] = Int32(Int16(truncatingIfNeeded: prediction)) &* q[0]
        var k = 1
        let ac = sc.ac
        while k < 64 {
            let rs = try r.decode(ac)
            let run = rs >> 4, size = rs & 15
            if size == 0 {
                if run != 15 { break }  // EOB
                k += 16                  // ZRL: 16 zeros
                continue
            }
            k += run
            // A run past the last coefficient (corrupt data) lands on 63, as in libjpeg.
            let z = k < 64 ? zigzag[k] : 63
            coef[z] = Int32(truncatingIfNeeded: r.receiveExtend(size)) &* q[z]
            k += 1
        }
    }


    // MARK: output

    func output(_ transform: JPEGColorTransform) throws -> JPEGImage {
        let f = info!
        let w = f.width, h = f.height
        let twoBytes = f.precision > 8
        let bytesPerSample = twoBytes ? 2 : 1
        var pixels = [UInt8](repeating: 0, count: w * h * components.count * bytesPerSample)
        if components.count == 1 {
            let c = components[0]
            pixels.withUnsafeMutableBufferPointer { out in
                for y in 0..<h {
                    let src = c.plane + y * c.stride
                    if twoBytes {
                        for x in 0..<w { out[2 * (y * w + x)] = UInt8(truncatingIfNeeded: src[x]); out[2 * (y * w + x) + 1] = UInt8(src[x] >> 8) }
                    } else {
                        for x in 0..<w { out[y * w + x] = UInt8(truncatingIfNeeded: src[x]) }
                    }
                }
            }
            return JPEGImage(width: w, height: h, components: 1, precision: f.precision, pixels: pixels)
        }

        var withMarkers = f
        withMarkers.hasJFIF = jfif
        withMarkers.adobeTransform = adobe
        let convert: Bool
        switch transform {
        case .ycbcr: convert = true
        case .asStored: convert = false
        case .auto: convert = withMarkers.colorSpace == .ycbcr
        }
        // Full-resolution planes: the component's own when it is not subsampled, else upsampled.
        var full: [(UnsafeMutablePointer<UInt16>, Int)] = []
        var owned: [UnsafeMutablePointer<UInt16>] = []
        defer { for p in owned { p.deallocate() } }
        for c in components {
            if c.h == hmax && c.v == vmax {
                full.append((c.plane, c.stride))
            } else {
                let p = UnsafeMutablePointer<UInt16>.allocate(capacity: w * h)
                owned.append(p)
                JPEGUpsampling.upsample(c, hmax: hmax, vmax: vmax, into: p, width: w, height: h)
                full.append((p, w))
            }
        }
        pixels.withUnsafeMutableBufferPointer { out in
            JPEGColorConversion.interleave(full, width: w, height: h, precision: f.precision, ycbcr: convert, into: out.baseAddress!)
        }
        return JPEGImage(width: w, height: h, components: 3, precision: f.precision, pixels: pixels)
    }
}
