import Foundation
import Codec

/// A JPEG wrapped as a Secondary Capture instance without re-encoding (PS3.3 A.8.1, PS3.5 A.4:
/// one frame, one fragment, the JPEG's own transfer syntax), for `POST /images/jpeg` and the
/// generate APIs.
public enum SecondaryCapture {
    public static let sopClassUID = "1.2.840.10008.5.1.4.1.1.7"

    /// The study's patient and study attributes go in as given; the series and instance are new.
    public static func wrapJPEG(_ jpeg: [UInt8], patient: Patient, study: Study, seriesDescription: String) throws -> [UInt8] {
        let info: JPEGInfo
        do { info = try JPEGInfo.parse(jpeg) } catch { throw NodeError.invalidData("not a JPEG image: \(error)") }
        guard let syntaxUID = info.dicomTransferSyntaxUID, let photometric = info.dicomPhotometricInterpretation else {
            throw NodeError.invalidData("this JPEG (\(info.process), \(info.componentCount) components) has no DICOM transfer syntax to wrap it in")
        }
        guard info.width > 0, info.height > 0, info.width <= 65535, info.height <= 65535 else {
            throw NodeError.invalidData("a JPEG of \(info.width)×\(info.height) cannot be described by Rows/Columns")
        }
        let syntax = TransferSyntax(uid: syntaxUID)
        let sop = UIDGenerator.newUID()
        var ds = DataSet()
        try ds.set(.specificCharacterSet, vr: .CS, string: "ISO_IR 192")
        try ds.set(Tag(0x0008_0008), vr: .CS, strings: ["DERIVED", "SECONDARY"])
        try ds.set(.sopClassUID, vr: .UI, string: sopClassUID)
        try ds.set(.sopInstanceUID, vr: .UI, string: sop)
        try ds.set(Tag(0x0008_0020), vr: .DA, string: study.studyDate)
        try ds.set(Tag(0x0008_0050), vr: .SH, string: study.accessionNumber)
        try ds.set(.modality, vr: .CS, string: "OT")
        try ds.set(Tag(0x0008_0064), vr: .CS, string: "WSD")  // Conversion Type: workstation
        try ds.set(Tag(0x0008_1030), vr: .LO, string: study.studyDescription)
        try ds.set(Tag(0x0008_103E), vr: .LO, string: seriesDescription)
        try ds.set(.patientName, vr: .PN, string: patient.patientName)
        try ds.set(.patientID, vr: .LO, string: patient.patientID)
        try ds.set(Tag(0x0010_0030), vr: .DA, string: patient.patientBirthDate)
        try ds.set(Tag(0x0010_0040), vr: .CS, string: patient.patientSex)
        try ds.set(Tag(0x0010_1010), vr: .AS, string: study.patientAge)
        try ds.set(.studyInstanceUID, vr: .UI, string: study.studyInstanceUID)
        try ds.set(.seriesInstanceUID, vr: .UI, string: UIDGenerator.newUID())
        try ds.set(Tag(0x0020_0010), vr: .SH, string: study.studyID)
        try ds.set(Tag(0x0020_0011), vr: .IS, string: "1")
        try ds.set(Tag(0x0020_0013), vr: .IS, string: "1")
        try ds.set(.samplesPerPixel, vr: .US, integers: [info.componentCount])
        try ds.set(.photometricInterpretation, vr: .CS, string: photometric)
        if info.componentCount > 1 { try ds.set(Tag(0x0028_0006), vr: .US, integers: [0]) }
        try ds.set(.rows, vr: .US, integers: [info.height])
        try ds.set(.columns, vr: .US, integers: [info.width])
        let bits = info.precision > 8 ? 16 : 8
        try ds.set(.bitsAllocated, vr: .US, integers: [bits])
        try ds.set(.bitsStored, vr: .US, integers: [info.precision])
        try ds.set(.highBit, vr: .US, integers: [info.precision - 1])
        try ds.set(.pixelRepresentation, vr: .US, integers: [0])
        if !info.isLossless {
            try ds.set(Tag(0x0028_2110), vr: .CS, string: "01")       // Lossy Image Compression
            try ds.set(Tag(0x0028_2114), vr: .CS, string: "ISO_10918_1")
        }
        var fragment = jpeg
        if fragment.count % 2 == 1 { fragment.append(0) }  // items have even length (PS3.5 A.4)
        ds.set(DataElement(tag: .pixelData, vr: .OB, value: .encapsulated(EncapsulatedPixelData(fragments: [fragment[...]])), undefinedLength: true))
        let meta = DicomFile.makeMeta(sopClassUID: sopClassUID, sopInstanceUID: sop, transferSyntax: syntax)
        return try DicomFile(meta: meta, dataSet: ds, transferSyntax: syntax).encoded()
    }
}
