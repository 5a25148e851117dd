import Foundation

/// Why pixel data could not be described, split into frames, decoded or rendered.
public enum PixelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A Type 1 attribute of the Image Pixel module (PS3.3 C.7.6.3) is absent or empty.
    case missingAttribute(Tag, name: String)
    /// An attribute is present but its value is not allowed or not consistent with the others.
    case invalidAttribute(Tag, name: String, reason: String)
    /// None of Pixel Data, Float Pixel Data or Double Float Pixel Data (7FE0,0008/0009/0010).
    case noPixelData
    /// Native pixel data shorter than Rows × Columns × Samples × Bits Allocated × Number of Frames.
    case pixelDataTooShort(expected: Int, actual: Int)
    case frameOutOfRange(index: Int, count: Int)
    /// Encapsulated fragments that cannot be assigned to frames (PS3.5 A.4).
    case malformedEncapsulation(String)
    /// An RLE Lossless frame that breaks PS3.5 Annex G.
    case malformedRLE(String)
    /// A JPEG frame that cannot be decoded (T.81 violated, truncated) or does not match the Image Pixel attributes.
    case malformedJPEG(String)
    /// Compressed pixel data this codec does not decode (JPEG Lossless, JPEG-LS, JPEG 2000, MPEG...).
    case unsupportedCompression(String)
    case unsupportedPhotometricInterpretation(String)
    /// A combination the decoder does not handle (e.g. 1-bit RLE, 24-bit samples).
    case unsupported(String)
    /// Rendering options that cannot be used (e.g. a window width of 0).
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .missingAttribute(tag, name):
            return "pixel data cannot be decoded: \(name) \(tag) is missing or empty"
        case let .invalidAttribute(tag, name, reason):
            return "pixel data cannot be decoded: \(name) \(tag) is invalid: \(reason)"
        case .noPixelData:
            return "the data set has no Pixel Data (7FE0,0010), Float Pixel Data (7FE0,0008) or Double Float Pixel Data (7FE0,0009)"
        case let .pixelDataTooShort(expected, actual):
            return "pixel data is too short: \(actual) byte(s), the image attributes require \(expected)"
        case let .frameOutOfRange(index, count):
            return "frame \(index) does not exist: the image has \(count) frame(s) (numbered from 0)"
        case let .malformedEncapsulation(reason):
            return "encapsulated pixel data cannot be split into frames: \(reason)"
        case let .malformedRLE(reason):
            return "malformed RLE Lossless frame: \(reason)"
        case let .malformedJPEG(reason):
            return "JPEG frame cannot be decoded: \(reason)"
        case let .unsupportedCompression(name):
            return "decoding \(name) pixel data is not supported (native, RLE Lossless and JPEG Baseline/Extended pixel data are decoded)"
        case let .unsupportedPhotometricInterpretation(pi):
            return "rendering Photometric Interpretation '\(pi)' is not supported"
        case let .unsupported(reason):
            return "unsupported pixel data: \(reason)"
        case let .invalidOption(reason):
            return "invalid rendering option: \(reason)"
        }
    }
}

/// A lookup table as described by a LUT Descriptor (PS3.3 C.11.1.1 / C.7.6.3.1.5): entries mapped
/// from `firstMapped` upward; inputs below the first map to the first entry, above the last to the last.
public struct LookupTable: Sendable, Hashable {
    /// The input value mapped to `entries[0]` (second descriptor value, signed when the input is).
    public var firstMapped: Int
    /// Nominal bits per entry (third descriptor value): 8 or 16 for palettes, 8–16 for other LUTs.
    public var bitsPerEntry: Int
    public var entries: [Int]

    public init(firstMapped: Int, bitsPerEntry: Int, entries: [Int]) {
        self.firstMapped = firstMapped
        self.bitsPerEntry = bitsPerEntry
        self.entries = entries
    }

    @inline(__always) public func lookup(_ x: Int) -> Int {
        if entries.isEmpty { return 0 }
        let i = x &- firstMapped
        if i <= 0 { return entries[0] }
        if i >= entries.count { return entries[entries.count - 1] }
        return entries[i]
    }
    public var maxOutput: Int { (1 << bitsPerEntry) - 1 }
}

/// The Palette Color Lookup Tables of a PALETTE COLOR image (PS3.3 C.7.6.3.1.5).
public struct PaletteLUT: Sendable, Hashable {
    public var red: LookupTable
    public var green: LookupTable
    public var blue: LookupTable
    public init(red: LookupTable, green: LookupTable, blue: LookupTable) {
        self.red = red
        self.green = green
        self.blue = blue
    }
}

/// The VOI LUT Function (0028,1056), PS3.3 C.11.2.1.3: how a window maps values to output.
public enum VOILUTFunction: String, Sendable, Hashable {
    case linear = "LINEAR"
    case linearExact = "LINEAR_EXACT"
    case sigmoid = "SIGMOID"
}

/// The attributes of the Image Pixel module (PS3.3 C.7.6.3) and of the Modality and VOI LUT modules
/// (C.11.1, C.11.2) needed to decode and display pixel data.
public struct PixelDescription: Sendable, Hashable {
    public var rows: Int
    public var columns: Int
    public var samplesPerPixel: Int
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var highBit: Int
    /// 0 unsigned, 1 two's complement (PS3.3 C.7.6.3.1).
    public var pixelRepresentation: Int
    public var photometricInterpretation: String
    /// 0 interleaved (R1 G1 B1 R2...), 1 planar (R1 R2 ... G1 ...); 0 when absent (PS3.3 C.7.6.3.1.3).
    public var planarConfiguration: Int
    public var numberOfFrames: Int
    /// Samples are IEEE floats: Float Pixel Data (32-bit) or Double Float Pixel Data (64-bit), PS3.3 C.7.6.24.
    public var isFloat: Bool
    public var rescaleSlope: Double
    public var rescaleIntercept: Double
    /// Modality LUT Sequence (0028,3000) item, used when there is no rescale (PS3.3 C.11.1).
    public var modalityLUT: LookupTable?
    public var windowCenters: [Double]
    public var windowWidths: [Double]
    /// (0028,1056) as found (nil when absent: LINEAR applies).
    public var voiLUTFunction: String?
    /// First item of VOI LUT Sequence (0028,3010), PS3.3 C.11.2.
    public var voiLUT: LookupTable?
    /// Red, green, blue Palette Color LUTs (PS3.3 C.7.6.3.1.5/6, C.7.9.2 when segmented).
    public var palette: PaletteLUT?

    public var isSigned: Bool { pixelRepresentation == 1 }
    public var isMonochrome: Bool { photometricInterpretation == "MONOCHROME1" || photometricInterpretation == "MONOCHROME2" }
    /// Native YBR_FULL_422 stores two Y, one Cb and one Cr per pair of pixels (PS3.3 C.7.6.3.1.2).
    public var isSubsampled422: Bool {
        photometricInterpretation == "YBR_FULL_422" || photometricInterpretation == "YBR_PARTIAL_422"
    }
    public var pixelCount: Int { rows * columns }

    /// Bytes of one native frame. Bits Allocated 1 is packed eight pixels per byte; the value is
    /// rounded up to whole bytes (consecutive frames are packed without padding: PS3.5 8.1.1).
    public var frameLength: Int {
        if bitsAllocated == 1 { return (bitsPerFrame + 7) / 8 }
        return bitsPerFrame / 8
    }
    /// Bits of one native frame; differs from frameLength × 8 only for packed 1-bit data.
    public var bitsPerFrame: Int {
        let samples = isSubsampled422 ? rows * columns * 2 : rows * columns * samplesPerPixel
        return samples * bitsAllocated
    }

    public init(rows: Int, columns: Int, samplesPerPixel: Int = 1, bitsAllocated: Int, bitsStored: Int? = nil,
                highBit: Int? = nil, pixelRepresentation: Int = 0, photometricInterpretation: String = "MONOCHROME2",
                planarConfiguration: Int = 0, numberOfFrames: Int = 1, isFloat: Bool = false) {
        self.rows = rows
        self.columns = columns
        self.samplesPerPixel = samplesPerPixel
        self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored ?? bitsAllocated
        self.highBit = highBit ?? (self.bitsStored - 1)
        self.pixelRepresentation = pixelRepresentation
        self.photometricInterpretation = photometricInterpretation
        self.planarConfiguration = planarConfiguration
        self.numberOfFrames = numberOfFrames
        self.isFloat = isFloat
        rescaleSlope = 1
        rescaleIntercept = 0
        windowCenters = []
        windowWidths = []
    }

    /// Reads the Image Pixel module and the LUT attributes of `ds`. Throws `PixelError` for a
    /// missing or invalid Type 1 attribute; Type 2/3 attributes take their documented defaults.
    public init(_ ds: DataSet) throws {
        let floatTag: Tag? = ds.contains(.pixelData) ? nil
            : ds.contains(.floatPixelData) ? .floatPixelData
            : ds.contains(.doubleFloatPixelData) ? .doubleFloatPixelData : nil
        let rows = try PixelAttributes.required(ds, .rows, "Rows")
        let columns = try PixelAttributes.required(ds, .columns, "Columns")
        let bitsAllocated = try PixelAttributes.required(ds, .bitsAllocated, "Bits Allocated")
        let spp = PixelAttributes.uint16(ds, .samplesPerPixel) ?? 1
        let pi = PixelAttributes.text(ds, .photometricInterpretation)?.uppercased() ?? (spp == 1 ? "MONOCHROME2" : "RGB")
        // Float Pixel Data has no Bits Stored, High Bit or Pixel Representation (PS3.3 C.7.6.24).
        let bitsStored = floatTag != nil ? bitsAllocated : try PixelAttributes.required(ds, .bitsStored, "Bits Stored")
        self.init(rows: rows, columns: columns, samplesPerPixel: spp, bitsAllocated: bitsAllocated, bitsStored: bitsStored,
                  highBit: floatTag != nil ? nil : PixelAttributes.uint16(ds, .highBit),
                  pixelRepresentation: floatTag != nil ? 0 : PixelAttributes.uint16(ds, .pixelRepresentation) ?? 0,
                  photometricInterpretation: pi,
                  planarConfiguration: spp > 1 ? PixelAttributes.uint16(ds, .planarConfiguration) ?? 0 : 0,
                  numberOfFrames: 1, isFloat: floatTag != nil)
        if let n = PixelAttributes.numbers(ds, .numberOfFrames)?.first {
            guard n >= 1, n.rounded() == n, n < 1e9 else {
                throw PixelError.invalidAttribute(.numberOfFrames, name: "Number of Frames", reason: "\(n) is not a positive integer")
            }
            numberOfFrames = Int(n)
        }
        try validate()

        // Modality LUT module (PS3.3 C.11.1): rescale, else a Modality LUT Sequence.
        if let slope = PixelAttributes.numbers(ds, .rescaleSlope)?.first, slope.isFinite, slope != 0 { rescaleSlope = slope }
        if let intercept = PixelAttributes.numbers(ds, .rescaleIntercept)?.first, intercept.isFinite { rescaleIntercept = intercept }
        if !ds.contains(.rescaleSlope), let item = ds.sequence(PixelAttributes.modalityLUTSequence)?.first {
            modalityLUT = try PixelAttributes.lut(item, descriptor: PixelAttributes.lutDescriptor, data: PixelAttributes.lutData,
                                                  signedInput: isSigned, name: "Modality LUT")
        }
        // VOI LUT module (PS3.3 C.11.2).
        windowCenters = PixelAttributes.numbers(ds, .windowCenter) ?? []
        windowWidths = PixelAttributes.numbers(ds, .windowWidth) ?? []
        voiLUTFunction = PixelAttributes.text(ds, PixelAttributes.voiLUTFunctionTag)?.uppercased()
        if let item = ds.sequence(PixelAttributes.voiLUTSequence)?.first {
            // The VOI LUT input is the Modality LUT output, whose sign is not known here; a first
            // mapped value with the high bit set is read as negative only for signed pixels.
            // A malformed VOI LUT is ignored: rendering then falls back to the frame's min–max.
            voiLUT = try? PixelAttributes.lut(item, descriptor: PixelAttributes.lutDescriptor, data: PixelAttributes.lutData,
                                              signedInput: isSigned && modalityLUT == nil, name: "VOI LUT")
        }
        if photometricInterpretation == "PALETTE COLOR" {
            palette = try PixelAttributes.palette(ds, signedInput: isSigned)
        }
    }

    /// This description with the rescale and window of frame `index` from the Shared and Per-Frame
    /// Functional Groups of enhanced multi-frame objects (PS3.3 C.7.6.16.2.9/10), where present.
    public func forFrame(_ index: Int, in ds: DataSet) -> PixelDescription {
        var d = self
        var groups: [DataSet] = []
        if let shared = ds.sequence(PixelAttributes.sharedFunctionalGroups)?.first { groups.append(shared) }
        if let perFrame = ds.sequence(PixelAttributes.perFrameFunctionalGroups), index < perFrame.count { groups.append(perFrame[index]) }
        for g in groups { // per-frame values are applied last and win
            if let t = g.sequence(PixelAttributes.pixelValueTransformationSequence)?.first {
                if let s = PixelAttributes.numbers(t, .rescaleSlope)?.first, s.isFinite, s != 0 { d.rescaleSlope = s }
                if let i = PixelAttributes.numbers(t, .rescaleIntercept)?.first, i.isFinite { d.rescaleIntercept = i }
            }
            if let v = g.sequence(PixelAttributes.frameVOILUTSequence)?.first {
                if let c = PixelAttributes.numbers(v, .windowCenter), let w = PixelAttributes.numbers(v, .windowWidth) {
                    d.windowCenters = c
                    d.windowWidths = w
                }
                if let f = PixelAttributes.text(v, PixelAttributes.voiLUTFunctionTag) { d.voiLUTFunction = f.uppercased() }
            }
        }
        return d
    }

    /// Checks the combinations PS3.3 C.7.6.3 requires and this codec relies on.
    public func validate() throws {
        func bad(_ tag: Tag, _ name: String, _ reason: String) -> PixelError {
            .invalidAttribute(tag, name: name, reason: reason)
        }
        guard rows > 0 else { throw bad(.rows, "Rows", "must be at least 1, not \(rows)") }
        guard columns > 0 else { throw bad(.columns, "Columns", "must be at least 1, not \(columns)") }
        guard samplesPerPixel == 1 || samplesPerPixel == 3 || samplesPerPixel == 4 else {
            throw bad(.samplesPerPixel, "Samples per Pixel", "must be 1 or 3, not \(samplesPerPixel)")
        }
        if isFloat {
            guard bitsAllocated == 32 || bitsAllocated == 64 else {
                throw bad(.bitsAllocated, "Bits Allocated", "float pixel data needs 32 or 64, not \(bitsAllocated)")
            }
        } else {
            guard bitsAllocated == 1 || (bitsAllocated % 8 == 0 && bitsAllocated <= 64 && bitsAllocated > 0) else {
                throw bad(.bitsAllocated, "Bits Allocated", "must be 1 or a multiple of 8, not \(bitsAllocated)")
            }
            guard bitsStored >= 1, bitsStored <= bitsAllocated else {
                throw bad(.bitsStored, "Bits Stored", "\(bitsStored) must be 1 to Bits Allocated (\(bitsAllocated))")
            }
            guard highBit >= bitsStored - 1, highBit < bitsAllocated else {
                throw bad(.highBit, "High Bit", "\(highBit) must be Bits Stored - 1 to Bits Allocated - 1 (Bits Stored \(bitsStored), Bits Allocated \(bitsAllocated))")
            }
            guard pixelRepresentation == 0 || pixelRepresentation == 1 else {
                throw bad(.pixelRepresentation, "Pixel Representation", "must be 0 or 1, not \(pixelRepresentation)")
            }
        }
        guard planarConfiguration == 0 || planarConfiguration == 1 else {
            throw bad(.planarConfiguration, "Planar Configuration", "must be 0 or 1, not \(planarConfiguration)")
        }
        // Guard the size arithmetic against hostile values: a frame must fit in memory comfortably.
        let (samples, o1) = rows.multipliedReportingOverflow(by: columns * samplesPerPixel)
        let (bits, o2) = samples.multipliedReportingOverflow(by: bitsAllocated)
        guard !o1, !o2, bits / 8 < 1 << 40 else { throw bad(.rows, "Rows", "\(rows)×\(columns) frames are too large") }
    }
}

/// Reading the pixel-related attributes robustly: values are taken from the bytes when the VR is
/// UN or OB/OW (Implicit VR data sets converted without a dictionary, private VR mix-ups).
enum PixelAttributes {
    static let voiLUTFunctionTag = Tag(0x0028_1056)
    static let modalityLUTSequence = Tag(0x0028_3000)
    static let voiLUTSequence = Tag(0x0028_3010)
    static let lutDescriptor = Tag(0x0028_3002)
    static let lutData = Tag(0x0028_3006)
    static let extendedOffsetTable = Tag(0x7FE0_0001)
    static let extendedOffsetTableLengths = Tag(0x7FE0_0002)
    static let sharedFunctionalGroups = Tag(0x5200_9229)
    static let perFrameFunctionalGroups = Tag(0x5200_9230)
    static let pixelValueTransformationSequence = Tag(0x0028_9145)
    static let frameVOILUTSequence = Tag(0x0028_9132)

    /// A Type 1 US attribute: present, non-empty.
    static func required(_ ds: DataSet, _ tag: Tag, _ name: String) throws -> Int {
        guard let v = uint16(ds, tag) else { throw PixelError.missingAttribute(tag, name: name) }
        return v
    }

    /// The first value of a US attribute (also when held as UN/OB/OW/SS or, wrongly, as IS/DS text).
    static func uint16(_ ds: DataSet, _ tag: Tag) -> Int? { words(ds, tag)?.first }

    /// All 16-bit values of a US/SS/OW element, or the raw 16-bit little-endian words of UN/OB.
    static func words(_ ds: DataSet, _ tag: Tag) -> [Int]? {
        guard let e = ds[tag] else { return nil }
        let values: [Int]
        switch e.vr {
        case .US, .SS, .UL, .SL, .UV, .SV, .IS, .DS:
            values = e.integers().map { Int($0) }
        case .UN, .OB, .OW:
            let b = e.bytes
            values = b.withUnsafeBytes { raw in
                (0..<raw.count / 2).map { Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
            }
        default:
            values = e.doubles().compactMap { $0.isFinite && $0.rounded() == $0 && abs($0) < 1e15 ? Int($0) : nil }
        }
        guard !values.isEmpty else { return nil }
        return values
    }

    /// Decimal values (DS, IS, binary numbers); UN holds the text form.
    static func numbers(_ ds: DataSet, _ tag: Tag) -> [Double]? {
        guard let e = ds[tag] else { return nil }
        let values: [Double]
        if e.vr == .UN || e.vr == .OB {
            values = asciiText(e).split(separator: "\\").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        } else {
            values = e.doubles()
        }
        return values.isEmpty ? nil : values
    }

    /// The first value of a code string, trimmed; nil when absent or empty.
    static func text(_ ds: DataSet, _ tag: Tag) -> String? {
        guard let e = ds[tag] else { return nil }
        let s: String?
        if e.vr == .UN || e.vr == .OB {
            s = asciiText(e).split(separator: "\\", omittingEmptySubsequences: false).first
                .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \0")) }
        } else {
            s = e.strings(characterSet: ds.characterSet).first
        }
        guard let s, !s.isEmpty else { return nil }
        return s
    }

    static func asciiText(_ e: DataElement) -> String {
        String(decoding: e.bytes.map { $0 < 0x80 ? $0 : 0x3F }, as: UTF8.self)
    }

    /// A LUT Descriptor + LUT Data pair (PS3.3 C.11.1.1): entries, first mapped value, bits per entry.
    static func lut(_ item: DataSet, descriptor: Tag, data: Tag, signedInput: Bool, name: String) throws -> LookupTable {
        guard let d = words(item, descriptor), d.count >= 3 else {
            throw PixelError.missingAttribute(descriptor, name: "\(name) Descriptor")
        }
        // The first and third values are unsigned even when the VR is SS (C.11.1.1); 0 entries means 2^16.
        let (count, first, bits) = descriptorValues(d, signedInput: signedInput)
        guard (1...16).contains(bits) else {
            throw PixelError.invalidAttribute(descriptor, name: "\(name) Descriptor", reason: "bits per entry must be 1 to 16, not \(bits)")
        }
        guard let e = item[data] else { throw PixelError.missingAttribute(data, name: "\(name) Data") }
        var entries = rawEntries(e, count: count)
        guard !entries.isEmpty else { throw PixelError.missingAttribute(data, name: "\(name) Data") }
        if entries.count > count { entries.removeLast(entries.count - count) }
        return LookupTable(firstMapped: first, bitsPerEntry: bits, entries: entries)
    }

    /// (entries, first mapped value, bits per entry) of a LUT descriptor: the first mapped value is
    /// signed when the LUT's input is (PS3.3 C.7.6.3.1.5, C.11.1.1).
    static func descriptorValues(_ d: [Int], signedInput: Bool) -> (Int, Int, Int) {
        let count = d[0] & 0xFFFF == 0 ? 65536 : d[0] & 0xFFFF
        let first = signedInput ? Int(Int16(truncatingIfNeeded: d[1])) : d[1] & 0xFFFF
        return (count, first, d[2] & 0xFFFF)
    }

    /// LUT Data entries: 16-bit words, or one byte per entry when the data is exactly `count` bytes
    /// (8-bit palette entries packed into OW, as some writers do).
    static func rawEntries(_ e: DataElement, count: Int) -> [Int] {
        let b = e.bytes
        if b.count == count && count > 1 && e.vr != .US { return b.map { Int($0) } }
        return b.withUnsafeBytes { raw in
            (0..<raw.count / 2).map { Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        }
    }

    /// The three Palette Color LUTs (PS3.3 C.7.6.3.1.5/6), or their segmented form (C.7.9.2).
    static func palette(_ ds: DataSet, signedInput: Bool) throws -> PaletteLUT {
        var luts: [LookupTable] = []
        for (i, color) in ["Red", "Green", "Blue"].enumerated() {
            let descriptorTag = Tag(0x0028_1101 + UInt32(i))
            let dataTag = Tag(0x0028_1201 + UInt32(i))
            let segmentedTag = Tag(0x0028_1221 + UInt32(i))
            let name = "\(color) Palette Color Lookup Table"
            guard let d = words(ds, descriptorTag), d.count >= 3 else {
                throw PixelError.missingAttribute(descriptorTag, name: "\(name) Descriptor")
            }
            let (count, first, bits) = descriptorValues(d, signedInput: signedInput)
            guard bits == 8 || bits == 16 else {
                throw PixelError.invalidAttribute(descriptorTag, name: "\(name) Descriptor", reason: "bits per entry must be 8 or 16, not \(bits)")
            }
            var entries: [Int]
            if let e = ds[dataTag], !e.isEmpty {
                entries = rawEntries(e, count: count)
            } else if let e = ds[segmentedTag], !e.isEmpty {
                // Segments are made of values of the entry size: bytes for 8-bit tables (PS3.3 C.7.9.2).
                let values = bits == 8 ? e.bytes.map { Int($0) } : rawEntries(e, count: -1)
                entries = try expandSegmented(values, bits: bits, tag: segmentedTag)
            } else {
                throw PixelError.missingAttribute(dataTag, name: "\(name) Data")
            }
            guard !entries.isEmpty else { throw PixelError.missingAttribute(dataTag, name: "\(name) Data") }
            if entries.count > count { entries.removeLast(entries.count - count) }
            luts.append(LookupTable(firstMapped: first, bitsPerEntry: bits, entries: entries))
        }
        return PaletteLUT(red: luts[0], green: luts[1], blue: luts[2])
    }

    /// Expands Segmented Palette Color LUT Data (PS3.3 C.7.9.2): discrete (0), linear (1) and
    /// indirect (2) segments made of 8- or 16-bit values (`bits`, the descriptor's entry size).
    /// An indirect segment re-expands `length` earlier segments starting at the given position,
    /// continuing from the current last value; the 32-bit position (least significant part first)
    /// is taken as an index into the values, as pydicom does.
    static func expandSegmented(_ words: [Int], bits: Int = 16, tag: Tag) throws -> [Int] {
        var out: [Int] = []
        try expandSegments(words, bits: bits, from: 0, maxSegments: nil, into: &out, tag: tag, depth: 0)
        return out
    }

    private static func expandSegments(_ words: [Int], bits: Int, from start: Int, maxSegments: Int?, into out: inout [Int],
                                       tag: Tag, depth: Int) throws {
        func bad(_ reason: String) -> PixelError {
            .invalidAttribute(tag, name: "Segmented Palette Color Lookup Table Data", reason: reason)
        }
        guard depth < 8 else { throw bad("indirect segments nested too deeply") }
        var i = start
        var segments = 0
        // `i + 1 < count`: a trailing pad word cannot start a segment.
        while i + 1 < words.count, segments != maxSegments {
            let segmentStart = i
            let op = words[i], length = words[i + 1]
            i += 2
            switch op {
            case 0:
                guard length <= words.count - i else { throw bad("discrete segment at word \(segmentStart) runs past the end") }
                out += words[i..<i + length]
                i += length
            case 1:
                guard i < words.count else { throw bad("linear segment at word \(segmentStart) has no end value") }
                guard let y0 = out.last else { throw bad("the first segment cannot be linear (no start value)") }
                let y1 = words[i]
                i += 1
                for k in stride(from: 1, through: length, by: 1) {
                    // Halves round to even, as pydicom's numpy.around does (the standard leaves rounding open).
                    out.append(Int((Double(y0) + Double(y1 - y0) * Double(k) / Double(length)).rounded(.toNearestOrEven)))
                }
            case 2:
                // The 32-bit offset takes two 16-bit values or four bytes, least significant first.
                let parts = bits == 8 ? 4 : 2
                guard parts <= words.count - i else { throw bad("indirect segment at word \(segmentStart) is truncated") }
                guard !out.isEmpty else { throw bad("the first segment cannot be indirect") }
                var offset = 0
                for k in (0..<parts).reversed() { offset = offset << (bits == 8 ? 8 : 16) | words[i + k] }
                i += parts
                guard offset < segmentStart else { throw bad("indirect segment at word \(segmentStart) refers forward to word \(offset)") }
                try expandSegments(words, bits: bits, from: offset, maxSegments: length, into: &out, tag: tag, depth: depth + 1)
            default:
                throw bad("unknown segment type \(op) at word \(segmentStart)")
            }
            guard out.count <= 1 << 16 else { throw bad("expands to more than 65536 entries") }
            segments += 1
        }
    }
}
