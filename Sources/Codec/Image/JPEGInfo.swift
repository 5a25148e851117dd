/// What the header of a JPEG stream says (T.81 Annex B), read without decoding any entropy-coded
/// data: enough to describe an uploaded JPEG in DICOM attributes and wrap it unchanged (PS3.5 8.2.1
/// requires the Image Pixel attributes to be consistent with the compressed stream).
public struct JPEGInfo: Sendable, Hashable {
    public struct Component: Sendable, Hashable {
        /// Component identifier Ci (T.81 B.2.2).
        public var id: Int
        /// Horizontal and vertical sampling factors Hi, Vi (1–4).
        public var horizontalSampling: Int
        public var verticalSampling: Int
        /// Quantization table selector Tqi.
        public var quantizationTable: Int
    }

    /// The coding process, from the SOF marker (T.81 Table B.1).
    public enum Process: String, Sendable, Hashable {
        case baseline                // SOF0
        case extendedSequential      // SOF1 (Huffman); SOF9 is reported as arithmetic
        case progressive             // SOF2, SOF10
        case lossless                // SOF3, SOF11
        case hierarchical            // SOF5-7, SOF13-15
    }

    public enum ColorSpace: String, Sendable, Hashable {
        case gray, ycbcr, rgb, cmyk, ycck, unknown
    }

    public var width: Int
    /// Number of lines; 0 means the height is given by a DNL marker after the first scan (T.81 B.2.5).
    public var height: Int
    /// Sample precision P in bits: 8 for baseline, 8 or 12 extended, 2–16 lossless.
    public var precision: Int
    public var components: [Component]
    /// The SOF marker's second byte (C0 = SOF0 …).
    public var sofMarker: UInt8
    public var process: Process
    /// True for SOF9–SOF15 (T.81 Annex D).
    public var arithmeticCoding: Bool
    /// A JFIF APP0 segment is present (T.871).
    public var hasJFIF: Bool
    /// The transform flag of an Adobe APP14 segment (0 none/CMYK, 1 YCbCr, 2 YCCK), if there is one.
    public var adobeTransform: Int?
    /// The predictor (Ss of the first scan, T.81 H.1.2.1) of a lossless stream; nil otherwise.
    public var losslessPredictor: Int?

    public var componentCount: Int { components.count }
    public var isBaseline: Bool { process == .baseline }
    public var isProgressive: Bool { process == .progressive }
    public var isLossless: Bool { process == .lossless }
    /// Chroma is subsampled: some component has smaller sampling factors than the largest.
    public var isSubsampled: Bool {
        let hmax = components.map(\.horizontalSampling).max() ?? 1, vmax = components.map(\.verticalSampling).max() ?? 1
        return components.contains { $0.horizontalSampling != hmax || $0.verticalSampling != vmax }
    }

    /// The color space by libjpeg's rules (jdapimin.c default_decompress_parms): one component is
    /// gray; three are YCbCr with a JFIF marker, else as an Adobe marker says, else RGB when the
    /// identifiers are 'R' 'G' 'B', else YCbCr; four are CMYK or, with Adobe transform 2, YCCK.
    public var colorSpace: ColorSpace {
        switch components.count {
        case 1: return .gray
        case 3:
            if hasJFIF { return .ycbcr }
            if let t = adobeTransform { return t == 0 ? .rgb : .ycbcr }
            if components.map(\.id) == [0x52, 0x47, 0x42] { return .rgb }
            return .ycbcr
        case 4:
            return adobeTransform == 2 ? .ycck : .cmyk
        default: return .unknown
        }
    }

    /// The transfer syntax that carries this stream unchanged (PS3.5 A.4.1, PS3.6 Table A-1):
    /// JPEG Baseline (Process 1) for 8-bit SOF0, JPEG Extended (Process 2 & 4) for SOF1, JPEG
    /// Lossless (Process 14) or its Selection Value 1 form for SOF3. Nil for the retired
    /// progressive/hierarchical syntaxes and for arithmetic coding.
    public var dicomTransferSyntaxUID: String? {
        guard !arithmeticCoding else { return nil }
        switch process {
        case .baseline: return precision == 8 ? "1.2.840.10008.1.2.4.50" : nil
        case .extendedSequential: return precision == 8 || precision == 12 ? "1.2.840.10008.1.2.4.51" : nil
        case .lossless: return losslessPredictor == 1 ? "1.2.840.10008.1.2.4.70" : "1.2.840.10008.1.2.4.57"
        case .progressive, .hierarchical: return nil
        }
    }

    /// Photometric Interpretation (0028,0004) consistent with the stream (PS3.5 8.2.1, PS3.3
    /// C.7.6.3.1.2): MONOCHROME2 for one component; for three, RGB when no color transform was
    /// applied, else YBR_FULL_422 when chroma is subsampled and YBR_FULL when not. Nil for others.
    public var dicomPhotometricInterpretation: String? {
        switch colorSpace {
        case .gray: return "MONOCHROME2"
        case .rgb: return "RGB"
        case .ycbcr: return isSubsampled ? "YBR_FULL_422" : "YBR_FULL"
        default: return nil
        }
    }

    /// Reads the markers up to the first SOS (or EOI). Throws `JPEGError` when there is no SOI, a
    /// segment is cut short or malformed, or no SOF precedes the first scan.
    public static func parse(_ bytes: [UInt8]) throws -> JPEGInfo {
        try bytes.withUnsafeBytes { try parse($0) }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JPEGInfo {
        var reader = JPEGSegmentReader(bytes)
        try reader.expectSOI()
        var frame: JPEGInfo?
        var jfif = false
        var adobe: Int?
        markers: while let (marker, segment, offset) = try reader.nextSegment() {
            switch marker {
            case JPEGMarker.app0:
                if JPEGSegmentReader.isJFIF(segment) { jfif = true }
            case JPEGMarker.app14:
                if let t = JPEGSegmentReader.adobeTransform(segment) { adobe = t }
            case _ where JPEGMarker.isSOF(marker):
                guard frame == nil else { throw JPEGError.malformed("a second SOF marker at byte \(offset)") }
                frame = try frameHeader(marker, segment, offset: offset)
            case JPEGMarker.sos:
                guard var f = frame else { throw JPEGError.malformed("a scan (SOS at byte \(offset)) before any frame header (SOF)") }
                // Lossless scans carry the predictor in Ss (T.81 H.2.2 / B.2.3).
                if f.process == .lossless, segment.count >= 1 {
                    let n = Int(segment[0])
                    if segment.count >= 1 + 2 * n + 1 { f.losslessPredictor = Int(segment[1 + 2 * n]) }
                }
                f.hasJFIF = jfif
                f.adobeTransform = adobe
                return f
            case JPEGMarker.eoi:
                break markers
            default:
                break
            }
        }
        guard var f = frame else { throw JPEGError.truncated(offset: bytes.count, context: "the header: no frame header (SOF) found") }
        f.hasJFIF = jfif
        f.adobeTransform = adobe
        return f
    }

    /// A frame header segment (T.81 B.2.2): P, Y, X, Nf, then Ci Hi|Vi Tqi per component.
    static func frameHeader(_ marker: UInt8, _ s: UnsafeRawBufferPointer, offset: Int) throws -> JPEGInfo {
        guard s.count >= 6 else { throw JPEGError.malformed("frame header (SOF at byte \(offset)) of \(s.count) bytes") }
        let precision = Int(s[0])
        let height = Int(s[1]) << 8 | Int(s[2]), width = Int(s[3]) << 8 | Int(s[4])
        let n = Int(s[5])
        guard n >= 1, s.count == 6 + 3 * n else {
            throw JPEGError.malformed("frame header (SOF at byte \(offset)) of \(s.count) bytes for \(n) component(s)")
        }
        guard width >= 1 else { throw JPEGError.malformed("frame header gives a width of 0") }
        var components: [Component] = []
        for i in 0..<n {
            let hv = Int(s[7 + 3 * i])
            let c = Component(id: Int(s[6 + 3 * i]), horizontalSampling: hv >> 4, verticalSampling: hv & 15, quantizationTable: Int(s[8 + 3 * i]))
            guard (1...4).contains(c.horizontalSampling), (1...4).contains(c.verticalSampling) else {
                throw JPEGError.malformed("component \(c.id) has sampling factors \(c.horizontalSampling)x\(c.verticalSampling) (each must be 1 to 4)")
            }
            guard c.quantizationTable <= 3 else { throw JPEGError.malformed("component \(c.id) uses quantization table \(c.quantizationTable) (0 to 3)") }
            components.append(c)
        }
        let process: Process
        switch marker {
        case 0xC0: process = .baseline
        case 0xC1, 0xC9: process = .extendedSequential
        case 0xC2, 0xCA: process = .progressive
        case 0xC3, 0xCB: process = .lossless
        default: process = .hierarchical
        }
        return JPEGInfo(width: width, height: height, precision: precision, components: components, sofMarker: marker,
                        process: process, arithmeticCoding: marker >= 0xC9, hasJFIF: false, adobeTransform: nil, losslessPredictor: nil)
    }
}

/// Walks the marker segments of a JPEG stream (T.81 B.1.1.4): a marker, a 2-byte length that
/// counts itself, the parameters. Fill bytes (FF before a marker, B.1.1.2) are skipped.
struct JPEGSegmentReader {
    let bytes: UnsafeRawBufferPointer
    var pos = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func expectSOI() throws {
        guard bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == JPEGMarker.soi else { throw JPEGError.notJPEG }
        pos = 2
    }

    /// The next marker and its parameters (empty for standalone markers), with the offset of the
    /// marker; nil at the end of the data. Bytes between segments that are not markers (some
    /// writers leave garbage) are skipped as libjpeg does.
    mutating func nextSegment() throws -> (UInt8, UnsafeRawBufferPointer, Int)? {
        var marker: UInt8 = 0
        var offset = pos
        // A stuffed FF 00 (the tail of a scan) is not a marker: keep looking.
        while marker == 0 {
            while pos < bytes.count && bytes[pos] != 0xFF { pos += 1 }
            while pos + 1 < bytes.count && bytes[pos + 1] == 0xFF { pos += 1 }
            guard pos + 1 < bytes.count else { return nil }
            offset = pos
            marker = bytes[pos + 1]
            pos += 2
        }
        if JPEGMarker.isStandalone(marker) { return (marker, UnsafeRawBufferPointer(rebasing: bytes[pos..<pos]), offset) }
        guard pos + 2 <= bytes.count else { throw JPEGError.truncated(offset: offset, context: "the length of marker FF \(hexByte(marker))") }
        let length = Int(bytes[pos]) << 8 | Int(bytes[pos + 1])
        guard length >= 2 else { throw JPEGError.malformed("marker FF \(hexByte(marker)) at byte \(offset) has length \(length) (at least 2)") }
        guard pos + length <= bytes.count else {
            throw JPEGError.truncated(offset: offset, context: "the \(length)-byte segment of marker FF \(hexByte(marker))")
        }
        let segment = UnsafeRawBufferPointer(rebasing: bytes[(pos + 2)..<(pos + length)])
        pos += length
        return (marker, segment, offset)
    }

    /// JFIF APP0 starts with "JFIF\0" (T.871 section 10.1).
    static func isJFIF(_ s: UnsafeRawBufferPointer) -> Bool {
        s.count >= 5 && s[0] == 0x4A && s[1] == 0x46 && s[2] == 0x49 && s[3] == 0x46 && s[4] == 0
    }

    /// The transform flag of an Adobe APP14 segment: "Adobe", version (2), flags0 (2), flags1 (2),
    /// transform (1), as libjpeg reads it.
    static func adobeTransform(_ s: UnsafeRawBufferPointer) -> Int? {
        guard s.count >= 12, s[0] == 0x41, s[1] == 0x64, s[2] == 0x6F, s[3] == 0x62, s[4] == 0x65 else { return nil }
        return Int(s[11])
    }
}

func hexByte(_ b: UInt8) -> String {
    let s = String(b, radix: 16, uppercase: true)
    return s.count == 1 ? "0" + s : s
}
