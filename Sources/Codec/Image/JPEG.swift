/// JPEG (ITU T.81 | ISO/IEC 10918-1, "T.81" below) types shared by the header parser, the decoder
/// and the encoder. Section numbers in comments refer to T.81.

/// Decoded pixels: rows top to bottom, no padding, samples interleaved per pixel (gray, or R G B).
/// 8-bit images have one byte per sample; 12-bit images (extended sequential, SOF1) two bytes per
/// sample, little endian: the layout of native DICOM pixel data with Bits Allocated 16.
public struct JPEGImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// 1 (gray) or 3 (RGB, or the three stored components when no color transform was applied).
    public var components: Int
    /// Bits per sample: 8 or 12.
    public var precision: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, components: Int, precision: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.components = components
        self.precision = precision
        self.pixels = pixels
    }

    /// The image as an 8-bit `PNGImage` (12-bit samples scaled to 0…255), e.g. to write it as PNG.
    public var pngImage: PNGImage {
        if precision == 8 { return PNGImage(width: width, height: height, bitDepth: 8, channels: components, pixels: pixels) }
        let n = pixels.count / 2
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            let v = Int(pixels[2 * i]) | Int(pixels[2 * i + 1]) << 8
            out[i] = UInt8((v * 255 + 2047) / 4095)
        }
        return PNGImage(width: width, height: height, bitDepth: 8, channels: components, pixels: out)
    }
}

/// How a decoder turns three components into RGB.
public enum JPEGColorTransform: Sendable, Hashable {
    /// Decide from the file as libjpeg does: a JFIF APP0 means YCbCr; else an Adobe APP14 says
    /// (transform 0: none); else component identifiers 'R' 'G' 'B' mean RGB; else YCbCr.
    case auto
    /// The components are Y, Cb, Cr (JFIF / T.871 section 7): convert to RGB.
    case ycbcr
    /// Return the components as stored (already RGB, or YCbCr wanted as is).
    case asStored
}

public enum JPEGError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data does not start with SOI, FF D8 (T.81 B.1.1.3).
    case notJPEG
    /// The data ends inside `context`, found at byte `offset`.
    case truncated(offset: Int, context: String)
    /// A valid JPEG this codec does not handle: progressive, lossless, hierarchical, arithmetic
    /// coding, 2 or 4 components, 16-bit samples, DNL-defined height.
    case unsupported(String)
    /// The stream breaks a rule of T.81 (a marker segment's length, an undefined table...).
    case malformed(String)
    case imageTooLarge(width: Int, height: Int, limit: Int)
    /// The encoder was given an image it cannot represent.
    case invalidImage(String)

    public var description: String {
        switch self {
        case .notJPEG:
            return "not a JPEG file: it does not start with the SOI marker FF D8"
        case let .truncated(offset, context):
            return "truncated JPEG: the data ends in \(context) (at byte \(offset))"
        case let .unsupported(reason):
            return "unsupported JPEG: \(reason)"
        case let .malformed(reason):
            return "malformed JPEG: \(reason)"
        case let .imageTooLarge(w, h, limit):
            return "JPEG image too large: \(w)x\(h) exceeds the limit of \(limit) pixels"
        case let .invalidImage(reason):
            return "cannot encode JPEG: \(reason)"
        }
    }
}

/// Marker codes (T.81 B.1.1.3, Table B.1).
enum JPEGMarker {
    static let soi: UInt8 = 0xD8, eoi: UInt8 = 0xD9, sos: UInt8 = 0xDA, dqt: UInt8 = 0xDB
    static let dnl: UInt8 = 0xDC, dri: UInt8 = 0xDD, dht: UInt8 = 0xC4, dac: UInt8 = 0xCC
    static let app0: UInt8 = 0xE0, app14: UInt8 = 0xEE, com: UInt8 = 0xFE
    static let rst0: UInt8 = 0xD0, rst7: UInt8 = 0xD7

    /// SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    static func isSOF(_ m: UInt8) -> Bool { (0xC0...0xCF).contains(m) && m != 0xC4 && m != 0xC8 && m != 0xCC }

    /// Markers that stand alone, without a length (T.81 B.1.1.3): TEM, RSTn, SOI, EOI.
    static func isStandalone(_ m: UInt8) -> Bool { m == 0x01 || (0xD0...0xD9).contains(m) }

    /// The coding process a SOF marker announces (T.81 Table B.1).
    static func processName(_ m: UInt8) -> String {
        switch m {
        case 0xC0: return "baseline sequential DCT (SOF0)"
        case 0xC1: return "extended sequential DCT, Huffman (SOF1)"
        case 0xC2: return "progressive DCT, Huffman (SOF2)"
        case 0xC3: return "lossless, Huffman (SOF3)"
        case 0xC5, 0xC6, 0xC7: return "hierarchical, Huffman (SOF\(m - 0xC0))"
        case 0xC9: return "extended sequential DCT, arithmetic coding (SOF9)"
        case 0xCA: return "progressive DCT, arithmetic coding (SOF10)"
        case 0xCB: return "lossless, arithmetic coding (SOF11)"
        default: return "hierarchical, arithmetic coding (SOF\(m - 0xC0))"
        }
    }
}
