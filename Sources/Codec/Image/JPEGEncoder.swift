/// Baseline sequential DCT JPEG encoding (T.81 Annex F.1, process SOF0) with the Huffman tables of
/// Annex K.3 and Annex K.1 quantization tables scaled by a 1–100 quality as libjpeg does, wrapped
/// in JFIF (T.871): what browsers and the DICOMweb/REST rendered-frame endpoints serve.
public enum JPEGEncoder {
    /// How color images store chroma. `chroma444` (no subsampling) is the default: rendered medical
    /// frames carry thin colored annotations, overlays and Doppler maps whose edges 4:2:0 smears,
    /// and the larger file (about a third more at quality 90) matters little for single frames.
    /// `chroma420` (half resolution both ways, libjpeg's and most cameras' default) gives smaller
    /// files for photographic content.
    public enum ChromaSubsampling: String, Sendable, Hashable {
        case chroma444 = "4:4:4"
        case chroma420 = "4:2:0"
    }

    /// Encodes 8-bit gray (1 channel) or RGB (3 channels) pixels. Gray is written as one component;
    /// RGB is converted to YCbCr (T.871 section 7). `quality` 1–100 follows the libjpeg/IJG
    /// convention (75 is its default, 90+ is visually lossless for most content).
    /// `restartInterval` > 0 puts an RSTn marker every that many MCUs (T.81 B.2.4.4).
    public static func encode(_ image: PNGImage, quality: Int = 90, subsampling: ChromaSubsampling = .chroma444,
                              restartInterval: Int = 0) throws -> [UInt8] {
        guard image.bitDepth == 8 else { throw JPEGError.invalidImage("baseline JPEG holds 8-bit samples, not \(image.bitDepth)-bit") }
        guard image.channels == 1 || image.channels == 3 else {
            throw JPEGError.invalidImage("\(image.channels) channels: give gray (1) or RGB (3); JPEG has no alpha")
        }
        guard (1...100).contains(quality) else { throw JPEGError.invalidImage("quality must be 1 to 100, not \(quality)") }
        guard (0...65535).contains(restartInterval) else { throw JPEGError.invalidImage("restart interval must be 0 to 65535, not \(restartInterval)") }
        let (w, h) = (image.width, image.height)
        guard (1...65535).contains(w), (1...65535).contains(h) else {
            throw JPEGError.invalidImage("width and height must be 1 to 65535, not \(w)x\(h)")
        }
        guard image.pixels.count == w * h * image.channels else {
            throw JPEGError.invalidImage("\(w)x\(h)x\(image.channels) needs \(w * h * image.channels) bytes of pixels, got \(image.pixels.count)")
        }
        return image.pixels.withUnsafeBufferPointer { src in
            var encoder = JPEGBlockEncoder(width: w, height: h, color: image.channels == 3,
                                           subsample: image.channels == 3 && subsampling == .chroma420,
                                           quality: quality, restartInterval: restartInterval)
            return encoder.encode(src.baseAddress!)
        }
    }
}

/// The state of one encoding: planes, tables and the output.
struct JPEGBlockEncoder {
    let width: Int, height: Int
    let color: Bool, subsample: Bool
    let quality: Int, restartInterval: Int
    let lumaQ: [Int], chromaQ: [Int]
    var out: [UInt8] = []
    var acc: UInt64 = 0
    var accBits = 0

    init(width: Int, height: Int, color: Bool, subsample: Bool, quality: Int, restartInterval: Int) {
        self.width = width
        self.height = height
        self.color = color
        self.subsample = subsample
        self.quality = quality
        self.restartInterval = restartInterval
        lumaQ = JPEGTables.scaledQuantization(JPEGTables.luminanceQuantization, quality: quality)
        chromaQ = JPEGTables.scaledQuantization(JPEGTables.chrominanceQuantization, quality: quality)
    }

    mutating func encode(_ src: UnsafePointer<UInt8>) -> [UInt8] {
        out.reserveCapacity(width * height * (color ? 3 : 1) / 4 + 1024)
        writeHeaders()
        writeScan(src)
        out += [0xFF, JPEGMarker.eoi]
        return out
    }

    // MARK: headers (T.81 B.2, T.871 10.1)

    mutating func segment(_ marker: UInt8, _ body: [UInt8]) {
        out += [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)]
        out += body
    }

    mutating func writeHeaders() {
        out += [0xFF, JPEGMarker.soi]
        // JFIF 1.01, no units, 1:1 aspect, no thumbnail.
        segment(JPEGMarker.app0, [0x4A, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
        var dqt: [UInt8] = [0x00] + JPEGTables.zigzag.map { UInt8(lumaQ[$0]) }
        if color { dqt += [0x01] + JPEGTables.zigzag.map { UInt8(chromaQ[$0]) } }
        segment(JPEGMarker.dqt, dqt)
        // SOF0: P = 8, Y, X, components 1 (Y), 2 (Cb), 3 (Cr) as JFIF numbers them.
        var sof: [UInt8] = [8, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF)]
        if color {
            sof += [3, 1, UInt8(subsample ? 0x22 : 0x11), 0, 2, 0x11, 1, 3, 0x11, 1]
        } else {
            sof += [1, 1, 0x11, 0]
        }
        segment(0xC0, sof)
        var dht: [UInt8] = []
        var specs: [(UInt8, JPEGTables.HuffmanSpec)] = [(0x00, JPEGTables.dcLuminance), (0x10, JPEGTables.acLuminance)]
        if color { specs += [(0x01, JPEGTables.dcChrominance), (0x11, JPEGTables.acChrominance)] }
        for (id, spec) in specs { dht += [id] + spec.counts.map(UInt8.init) + spec.symbols }
        segment(JPEGMarker.dht, dht)
        if restartInterval > 0 { segment(JPEGMarker.dri, [UInt8(restartInterval >> 8), UInt8(restartInterval & 0xFF)]) }
        let sos: [UInt8] = color ? [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0] : [1, 1, 0x00, 0, 63, 0]
        segment(JPEGMarker.sos, sos)
    }

    // MARK: entropy-coded data (T.81 F.1.2)

    /// Converts one row of MCUs at a time into Float planes (Y, Cb, Cr or gray), level-shifted
    /// (T.81 A.3.1) and padded to whole MCUs by repeating the last column and row, as libjpeg does
    /// (it keeps the padding blocks smooth and cheap); memory stays proportional to the width.
    mutating func writeScan(_ src: UnsafePointer<UInt8>) {
        let mcu = subsample ? 16 : 8
        let mcusX = (width + mcu - 1) / mcu, mcusY = (height + mcu - 1) / mcu
        let pw = mcusX * mcu
        let strip = pw * mcu  // one plane of one MCU row
        let planes = UnsafeMutablePointer<Float>.allocate(capacity: strip * (color ? 3 : 1))
        defer { planes.deallocate() }
        let chromaStride = subsample ? pw / 2 : pw

        let lumaDiv = JPEGDCT.divisors(lumaQ), chromaDiv = JPEGDCT.divisors(chromaQ)
        let dcL = JPEGTables.encodingTable(JPEGTables.dcLuminance), acL = JPEGTables.encodingTable(JPEGTables.acLuminance)
        let dcC = JPEGTables.encodingTable(JPEGTables.dcChrominance), acC = JPEGTables.encodingTable(JPEGTables.acChrominance)
        let block = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        let coef = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        defer { block.deallocate(); coef.deallocate() }
        var pred = [0, 0, 0]
        var untilRestart = restartInterval, restarts = 0

        lumaDiv.withUnsafeBufferPointer { lumaDiv in
        chromaDiv.withUnsafeBufferPointer { chromaDiv in
        JPEGTables.zigzag.withUnsafeBufferPointer { zz in
            let luma = HuffmanCodes(dc: dcL, ac: acL), chroma = HuffmanCodes(dc: dcC, ac: acC)
            for my in 0..<mcusY {
                fillStrip(src, planes, firstRow: my * mcu, rows: mcu, pw: pw)
                for mx in 0..<mcusX {
                    if restartInterval > 0 {
                        if untilRestart == 0 {
                            flushBits()
                            out += [0xFF, JPEGMarker.rst0 + UInt8(restarts & 7)]
                            restarts += 1
                            pred = [0, 0, 0]
                            untilRestart = restartInterval
                        }
                        untilRestart -= 1
                    }
                    // Luma: one block, or 2×2 blocks left to right, top to bottom (T.81 A.2.3).
                    let n = subsample ? 2 : 1
                    for by in 0..<n {
                        for bx in 0..<n {
                            load(block, planes + by * 8 * pw + mx * mcu + bx * 8, stride: pw)
                            quantize(block, lumaDiv.baseAddress!, coef)
                            encodeBlock(coef, &pred[0], luma, zz.baseAddress!)
                        }
                    }
                    if color {
                        for c in 1...2 {
                            load(block, planes + c * strip + mx * 8, stride: chromaStride)
                            quantize(block, chromaDiv.baseAddress!, coef)
                            encodeBlock(coef, &pred[c], chroma, zz.baseAddress!)
                        }
                    }
                }
            }
        }
        }
        }
        flushBits()
    }

    /// Rows firstRow..<firstRow+rows of the planes (edge-replicated), chroma averaged over 2×2
    /// squares for 4:2:0 (in place, into the first quarter of each chroma strip).
    func fillStrip(_ src: UnsafePointer<UInt8>, _ planes: UnsafeMutablePointer<Float>, firstRow: Int, rows: Int, pw: Int) {
        let ch = channelsPerPixel, strip = pw * rows
        let cb = planes + strip, cr = planes + 2 * strip
        for y in 0..<rows {
            let row = src + min(firstRow + y, height - 1) * width * ch
            let base = y * pw
            for x in 0..<pw {
                let p = row + min(x, width - 1) * ch
                if color {
                    let r = Float(p[0]), g = Float(p[1]), b = Float(p[2])
                    planes[base + x] = 0.299 * r + 0.587 * g + 0.114 * b - 128
                    cb[base + x] = -0.168735892 * r - 0.331264108 * g + 0.5 * b
                    cr[base + x] = 0.5 * r - 0.418687589 * g - 0.081312411 * b
                } else {
                    planes[base + x] = Float(p[0]) - 128
                }
            }
        }
        guard subsample else { return }
        for p in [cb, cr] {
            for y in 0..<(rows / 2) {
                for x in 0..<(pw / 2) {
                    let i = 2 * y * pw + 2 * x
                    p[y * (pw / 2) + x] = (p[i] + p[i + 1] + p[i + pw] + p[i + pw + 1]) * 0.25
                }
            }
        }
    }

    var channelsPerPixel: Int { color ? 3 : 1 }

    @inline(__always)
    func load(_ block: UnsafeMutablePointer<Float>, _ src: UnsafeMutablePointer<Float>, stride: Int) {
        for y in 0..<8 { (block + 8 * y).update(from: src + y * stride, count: 8) }
    }

    /// Forward DCT and quantization, rounding to nearest (T.81 A.3.4).
    @inline(__always)
    func quantize(_ block: UnsafeMutablePointer<Float>, _ div: UnsafePointer<Float>, _ coef: UnsafeMutablePointer<Int32>) {
        JPEGDCT.forward(block)
        for i in 0..<64 {
            // libjpeg's rounding: shifting by 16384 makes truncation a floor for the values that occur.
            coef[i] = Int32(block[i] * div[i] + 16384.5) - 16384
        }
    }

    struct HuffmanCodes {
        let dc: (codes: [UInt16], lengths: [UInt8])
        let ac: (codes: [UInt16], lengths: [UInt8])
    }

    /// Huffman-codes one block (T.81 F.1.2.1, F.1.2.2): DC difference, then run/size symbols.
    @inline(__always)
    mutating func encodeBlock(_ coef: UnsafeMutablePointer<Int32>, _ pred: inout Int, _ t: HuffmanCodes, _ zz: UnsafePointer<Int>) {
        let dc = Int(coef[0])
        let diff = dc - pred
        pred = dc
        let s = Self.category(diff)
        writeBits(UInt64(t.dc.codes[s]), Int(t.dc.lengths[s]))
        if s > 0 { writeBits(Self.valueBits(diff, s), s) }
        var run = 0
        for k in 1..<64 {
            let v = Int(coef[zz[k]])
            if v == 0 {
                run += 1
                continue
            }
            while run >= 16 {
                writeBits(UInt64(t.ac.codes[0xF0]), Int(t.ac.lengths[0xF0]))  // ZRL
                run -= 16
            }
            let size = Self.category(v)
            let symbol = run << 4 | size
            writeBits(UInt64(t.ac.codes[symbol]), Int(t.ac.lengths[symbol]))
            writeBits(Self.valueBits(v, size), size)
            run = 0
        }
        if run > 0 { writeBits(UInt64(t.ac.codes[0]), Int(t.ac.lengths[0])) }  // EOB
    }

    /// SSSS: the number of bits of |v| (T.81 Table F.1/F.2).
    @inline(__always)
    static func category(_ v: Int) -> Int { v == 0 ? 0 : Int.bitWidth - v.magnitude.leadingZeroBitCount }

    /// The low `size` bits of v, or of v - 1 when negative (T.81 F.1.2.1).
    @inline(__always)
    static func valueBits(_ v: Int, _ size: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: v < 0 ? v - 1 : v) & ((1 << UInt64(size)) - 1)
    }

    /// Appends bits most significant first; every FF byte gets a stuffed 00 (T.81 F.1.2.3).
    @inline(__always)
    mutating func writeBits(_ bits: UInt64, _ count: Int) {
        acc = acc << UInt64(count) | bits
        accBits += count
        if accBits >= 32 {
            while accBits >= 8 {
                accBits -= 8
                let b = UInt8(truncatingIfNeeded: acc >> UInt64(accBits))
                out.append(b)
                if b == 0xFF { out.append(0) }
            }
        }
    }

    /// Pads the last byte with 1-bits (T.81 F.1.2.3) before a marker.
    mutating func flushBits() {
        let pad = (8 - accBits % 8) % 8
        if pad > 0 { writeBits((1 << UInt64(pad)) - 1, pad) }
        while accBits >= 8 {
            accBits -= 8
            let b = UInt8(truncatingIfNeeded: acc >> UInt64(accBits))
            out.append(b)
            if b == 0xFF { out.append(0) }
        }
        acc = 0
    }
}
