/// A data element tag (group, element), PS3.5 7.1.
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// group << 16 | element: sorts as PS3.5 7.1 requires (ascending tag order).
    public let value: UInt32

    @inlinable public init(_ value: UInt32) { self.value = value }
    @inlinable public init(group: UInt16, element: UInt16) {
        value = UInt32(group) << 16 | UInt32(element)
    }

    @inlinable public var group: UInt16 { UInt16(truncatingIfNeeded: value >> 16) }
    @inlinable public var element: UInt16 { UInt16(truncatingIfNeeded: value) }

    /// Odd groups other than 0001, 0003, 0005, 0007 and FFFF hold private elements (PS3.5 7.8.1).
    @inlinable public var isPrivate: Bool {
        let g = group
        return g & 1 == 1 && g > 0x0007 && g != 0xFFFF
    }
    /// (gggg,0010-00FF) in a private group reserves a block for a private creator (PS3.5 7.8.1).
    @inlinable public var isPrivateCreator: Bool {
        isPrivate && element >= 0x0010 && element <= 0x00FF
    }
    /// The creator element that reserves the block of this private data element, e.g. (0029,1010) → (0029,0010).
    public var privateCreatorTag: Tag? {
        guard isPrivate, element >= 0x1000 else { return nil }
        return Tag(group: group, element: element >> 8)
    }
    /// (gggg,0000): group length, retired except for groups 0000 and 0002.
    @inlinable public var isGroupLength: Bool { element == 0 }

    @inlinable public static func < (a: Tag, b: Tag) -> Bool { a.value < b.value }

    /// `(0010,0010)` as DCMTK and the standard print tags.
    public var description: String { "(\(hex4(group)),\(hex4(element)))" }
    /// `00100010`, the form the DICOM JSON model uses for keys (PS3.18 F.2.1).
    public var hexString: String { hex4(group) + hex4(element) }

    /// Parses `(0010,0010)`, `0010,0010`, `00100010` or a dictionary keyword like `PatientName`.
    public init?(parsing text: String) {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("("), s.hasSuffix(")") { s = s.dropFirst().dropLast() }
        let hex = s.replacingOccurrences(of: ",", with: "")
        if hex.count == 8, let v = UInt32(hex, radix: 16) {
            self.init(v)
            return
        }
        guard let entry = DataDictionary.entry(forKeyword: String(s)) else { return nil }
        self.init(entry.tag.value)
    }
}

@usableFromInline func hex4(_ v: UInt16) -> String {
    let digits: [Character] = Array("0123456789ABCDEF")
    return String([digits[Int(v >> 12) & 15], digits[Int(v >> 8) & 15],
                   digits[Int(v >> 4) & 15], digits[Int(v) & 15]])
}

import Foundation

extension Tag {
    // Tags the codec itself relies on. The full list with keywords is in the generated dictionary.
    public static let fileMetaInformationGroupLength = Tag(0x0002_0000)
    public static let fileMetaInformationVersion = Tag(0x0002_0001)
    public static let mediaStorageSOPClassUID = Tag(0x0002_0002)
    public static let mediaStorageSOPInstanceUID = Tag(0x0002_0003)
    public static let transferSyntaxUID = Tag(0x0002_0010)
    public static let implementationClassUID = Tag(0x0002_0012)
    public static let implementationVersionName = Tag(0x0002_0013)
    public static let sourceApplicationEntityTitle = Tag(0x0002_0016)
    public static let specificCharacterSet = Tag(0x0008_0005)
    public static let sopClassUID = Tag(0x0008_0016)
    public static let sopInstanceUID = Tag(0x0008_0018)
    public static let studyInstanceUID = Tag(0x0020_000D)
    public static let seriesInstanceUID = Tag(0x0020_000E)
    public static let patientName = Tag(0x0010_0010)
    public static let patientID = Tag(0x0010_0020)
    public static let modality = Tag(0x0008_0060)
    public static let samplesPerPixel = Tag(0x0028_0002)
    public static let photometricInterpretation = Tag(0x0028_0004)
    public static let planarConfiguration = Tag(0x0028_0006)
    public static let numberOfFrames = Tag(0x0028_0008)
    public static let rows = Tag(0x0028_0010)
    public static let columns = Tag(0x0028_0011)
    public static let bitsAllocated = Tag(0x0028_0100)
    public static let bitsStored = Tag(0x0028_0101)
    public static let highBit = Tag(0x0028_0102)
    public static let pixelRepresentation = Tag(0x0028_0103)
    public static let windowCenter = Tag(0x0028_1050)
    public static let windowWidth = Tag(0x0028_1051)
    public static let rescaleIntercept = Tag(0x0028_1052)
    public static let rescaleSlope = Tag(0x0028_1053)
    public static let pixelData = Tag(0x7FE0_0010)
    public static let floatPixelData = Tag(0x7FE0_0008)
    public static let doubleFloatPixelData = Tag(0x7FE0_0009)
    public static let item = Tag(0xFFFE_E000)
    public static let itemDelimitationItem = Tag(0xFFFE_E00D)
    public static let sequenceDelimitationItem = Tag(0xFFFE_E0DD)
    /// Trailing padding (PS3.10 7.2): ignored by readers, kept for byte-exact round trips.
    public static let dataSetTrailingPadding = Tag(0xFFFC_FFFC)
}
