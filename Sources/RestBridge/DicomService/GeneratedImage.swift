import Foundation
import Codec
import Node

/// The file `POST /api/dicom/generate/` makes: a Secondary Capture Image (PS3.3 A.8.1, SOP Class
/// 1.2.840.10008.5.1.4.1.1.7) from a PNG or JPEG and the caller's attributes. (Node's
/// `SecondaryCapture.wrapJPEG` wraps a JPEG into a stored study for Slicebox; this one starts a
/// new patient/study from form fields and takes PNG too.)
enum GeneratedImage {
    static let sopClassUID = SecondaryCapture.sopClassUID

    /// The Image Pixel module (PS3.3 C.7.6.3) and the pixel data in its transfer syntax.
    struct Pixels {
        var rows: Int
        var columns: Int
        var samplesPerPixel: Int
        var photometricInterpretation: String
        var bitsAllocated: Int
        var bitsStored: Int
        var pixelData: DataElement
        var transferSyntax: TransferSyntax
        /// JPEG input: the image has been lossy compressed (PS3.3 C.7.6.1.1.5).
        var lossy: Bool
    }

    /// An image kind the service cannot wrap (415).
    struct Unsupported: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// An image that does not decode (400).
    struct Corrupt: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// A PNG decoded into native pixels (Explicit VR Little Endian): gray → MONOCHROME2, color →
    /// RGB, 8 or 16 bits; an alpha channel is dropped (DICOM has none).
    static func fromPNG(_ bytes: [UInt8]) throws -> Pixels {
        let image = try PNGDecoder.decode(bytes, maxPixels: 1 << 26)
        let color = image.channels >= 3
        let keep = color ? 3 : 1
        let sampleBytes = image.bitDepth / 8
        var out = [UInt8]()
        out.reserveCapacity(image.width * image.height * keep * sampleBytes + 1)
        let stride = image.channels * sampleBytes
        image.pixels.withUnsafeBufferPointer { p in
            for px in 0..<image.width * image.height {
                for s in 0..<keep {
                    let i = px * stride + s * sampleBytes
                    if sampleBytes == 2 { out.append(p[i + 1]); out.append(p[i]) }  // PNG is big-endian (PNG spec 7.1)
                    else { out.append(p[i]) }
                }
            }
        }
        if out.count % 2 == 1 { out.append(0) }  // PS3.5 7.1: values have even length
        return Pixels(rows: image.height, columns: image.width, samplesPerPixel: keep,
                      photometricInterpretation: color ? "RGB" : "MONOCHROME2",
                      bitsAllocated: image.bitDepth, bitsStored: image.bitDepth,
                      pixelData: DataElement(tag: .pixelData, vr: image.bitDepth == 16 ? .OW : .OB, bytes: out),
                      transferSyntax: .explicitVRLittleEndian, lossy: false)
    }

    /// A JPEG wrapped as it is (PS3.5 A.4: one fragment, empty Basic Offset Table): SOF0 as JPEG
    /// Baseline (Process 1), SOF1 as JPEG Extended (Process 2 & 4), with the photometric
    /// interpretation PS3.5 8.2.1 asks for (Codec's `JPEGInfo`). The whole stream is decoded once
    /// first, so a truncated or corrupt upload is refused instead of wrapped.
    static func fromJPEG(_ bytes: [UInt8]) throws -> Pixels {
        let info: JPEGInfo
        do { info = try JPEGInfo.parse(bytes) } catch { throw Unsupported(message: "not a readable JPEG: \(error)") }
        guard info.process == .baseline || info.process == .extendedSequential, let syntax = info.dicomTransferSyntaxUID else {
            if info.isProgressive {
                throw Unsupported(message: "progressive JPEG cannot be wrapped without re-encoding (DICOM retired its transfer syntax); save the image as baseline JPEG")
            }
            throw Unsupported(message: "JPEG \(info.process.rawValue) with \(info.precision)-bit samples\(info.arithmeticCoding ? " and arithmetic coding" : "") is not supported (baseline or extended sequential Huffman only)")
        }
        guard info.height > 0 else { throw Unsupported(message: "the JPEG gives its height in a DNL marker, which DICOM does not allow (PS3.5 A.4.1)") }
        guard let photometric = info.dicomPhotometricInterpretation else {
            throw Unsupported(message: "JPEG in \(info.colorSpace.rawValue) with \(info.componentCount) components is not supported (gray, YCbCr or RGB)")
        }
        do { _ = try JPEGDecoder.decode(bytes) } catch { throw Corrupt(message: "the JPEG cannot be decoded: \(error)") }
        var fragment = bytes
        if fragment.count % 2 == 1 { fragment.append(0) }  // PS3.5 A.4: fragments have even length
        let pixels = DataElement(tag: .pixelData, vr: .OB, value: .encapsulated(EncapsulatedPixelData(offsetTable: [], fragments: [fragment[...]])))
        return Pixels(rows: info.height, columns: info.width, samplesPerPixel: info.componentCount, photometricInterpretation: photometric,
                      bitsAllocated: info.precision > 8 ? 16 : 8, bitsStored: info.precision, pixelData: pixels,
                      transferSyntax: TransferSyntax(uid: syntax), lossy: true)
    }

    /// Tags the service sets from the image or for the SOP class, which a form field cannot give.
    static func isReserved(_ tag: Tag) -> Bool {
        [0x0000, 0x0002, 0x0028, 0x7FE0, 0xFFFE].contains(tag.group) || tag == .sopClassUID || tag == .specificCharacterSet
    }

    /// Attributes of Type 1 in the SC IOD that the service fills and a field may change but not empty.
    static let required: Set<Tag> = [.sopInstanceUID, .studyInstanceUID, .seriesInstanceUID, .modality, Tag(0x0008_0064)]

    /// The file: the IOD's modules (Patient, General Study, General Series, SC Equipment, General
    /// Image, Image Pixel, SC Image, SOP Common) with generated UIDs and the current date, then
    /// `fields` (PS3.6 keyword → value, checked by the caller) on top.
    static func build(_ pixels: Pixels, fields: [(tag: Tag, vr: VR, value: String)], now: Date = Date()) throws -> DicomFile {
        var ds = DataSet()
        if fields.contains(where: { !$0.value.unicodeScalars.allSatisfy(\.isASCII) }) {
            // PS3.3 C.12.1.1.2: UTF-8 is "ISO_IR 192".
            ds.set(DataElement(tag: .specificCharacterSet, vr: .CS, bytes: Array("ISO_IR 192".utf8)))
            ds.characterSet = SpecificCharacterSet(terms: ["ISO_IR 192"])
        }
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: now)
        let date = String(format: "%04d%02d%02d", c.year!, c.month!, c.day!), time = String(format: "%02d%02d%02d", c.hour!, c.minute!, c.second!)
        let text: [(UInt32, String)] = [
            (0x0008_0008, "DERIVED\\SECONDARY"),
            (0x0008_0016, sopClassUID), (0x0008_0018, UIDGenerator.newUID()),
            (0x0008_0020, date), (0x0008_0030, time), (0x0008_0023, date), (0x0008_0033, time),
            (0x0008_0050, ""), (0x0008_0060, "OT"), (0x0008_0064, "WSD"), (0x0008_0090, ""),
            (0x0010_0010, ""), (0x0010_0020, ""), (0x0010_0030, ""), (0x0010_0040, ""),
            (0x0020_000D, UIDGenerator.newUID()), (0x0020_000E, UIDGenerator.newUID()),
            (0x0020_0010, ""), (0x0020_0011, "1"), (0x0020_0013, "1"), (0x0020_0020, ""),
            (0x0028_0004, pixels.photometricInterpretation),
        ]
        for (tag, value) in text { try ds.set(Tag(tag), strings: value.isEmpty ? [] : value.components(separatedBy: "\\")) }
        try ds.set(.samplesPerPixel, integers: [pixels.samplesPerPixel])
        if pixels.samplesPerPixel > 1 { try ds.set(Tag(0x0028_0006), integers: [0]) }  // Planar Configuration: interleaved
        try ds.set(.rows, integers: [pixels.rows])
        try ds.set(.columns, integers: [pixels.columns])
        try ds.set(Tag(0x0028_0100), integers: [pixels.bitsAllocated])
        try ds.set(Tag(0x0028_0101), integers: [pixels.bitsStored])
        try ds.set(Tag(0x0028_0102), integers: [pixels.bitsStored - 1])
        try ds.set(Tag(0x0028_0103), integers: [0])
        if pixels.lossy {
            try ds.set(Tag(0x0028_2110), string: "01")
            try ds.set(Tag(0x0028_2114), string: "ISO_10918_1")
        }
        ds.set(pixels.pixelData)
        for f in fields {
            try ds.set(DataElement(tag: f.tag, vr: f.vr, strings: f.value.isEmpty ? [] : (f.vr.isSingleValuedText ? [f.value] : f.value.components(separatedBy: "\\")),
                                   characterSet: ds.characterSet))
        }
        let meta = DicomFile.makeMeta(sopClassUID: sopClassUID, sopInstanceUID: ds.string(.sopInstanceUID) ?? "", transferSyntax: pixels.transferSyntax)
        return DicomFile(meta: meta, dataSet: ds, transferSyntax: pixels.transferSyntax)
    }
}
