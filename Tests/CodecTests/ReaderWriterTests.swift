import Foundation
import XCTest
@testable import Codec

final class ReaderWriterTests: XCTestCase {
    /// A small data set with a nested sequence, text, numbers and pixel data.
    static func sample() throws -> DataSet {
        var ds = DataSet()
        try ds.set(.specificCharacterSet, string: "ISO_IR 192")
        try ds.set(.sopClassUID, string: "1.2.840.10008.5.1.4.1.1.7")
        try ds.set(.sopInstanceUID, string: "1.2.3.4.5")
        try ds.set(.patientName, string: "Müller^Jürgen")
        try ds.set(.patientID, string: "ID42")
        try ds.set(.modality, string: "OT")
        try ds.set(Tag(0x0008_0020), string: "20260101")
        try ds.set(Tag(0x0008_0030), string: "134501.25")
        var item = DataSet()
        try item.set(Tag(0x0008_1150), string: "1.2.840.10008.5.1.4.1.1.2")
        try item.set(Tag(0x0008_1155), string: "1.2.3.9")
        ds.set(Tag(0x0008_1140), items: [item, item])
        try ds.set(.rows, integers: [2])
        try ds.set(.columns, integers: [2])
        try ds.set(.bitsAllocated, integers: [16])
        try ds.set(.bitsStored, integers: [12])
        try ds.set(.highBit, integers: [11])
        try ds.set(.pixelRepresentation, integers: [0])
        try ds.set(.samplesPerPixel, integers: [1])
        try ds.set(.photometricInterpretation, string: "MONOCHROME2")
        try ds.set(.rescaleSlope, doubles: [1.5])
        try ds.set(Tag(0x0018_0050), doubles: [0.625])
        ds.set(DataElement(tag: .pixelData, vr: .OW, bytes: [1, 0, 2, 0, 3, 1, 0xFF, 0x0F]))
        return ds
    }

    func testTypedValuesSurviveEveryNativeSyntax() throws {
        let ds = try Self.sample()
        for ts in [TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian, .deflatedExplicitVRLittleEndian] {
            let meta = DicomFile.makeMeta(sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: "1.2.3.4.5", transferSyntax: ts)
            let bytes = try DicomFile(meta: meta, dataSet: ds, transferSyntax: ts).encoded()
            let back = try DicomFile.read(bytes: bytes)
            XCTAssertEqual(back.transferSyntax.uid, ts.uid)
            XCTAssertEqual(back.dataSet.string(.patientName), "Müller^Jürgen", "\(ts)")
            XCTAssertEqual(back.dataSet.int(.rows), 2, "\(ts)")
            XCTAssertEqual(back.dataSet.double(.rescaleSlope), 1.5, "\(ts)")
            XCTAssertEqual(back.dataSet.date(Tag(0x0008_0020))?.description, "20260101", "\(ts)")
            XCTAssertEqual(back.dataSet.time(Tag(0x0008_0030))?.hour, 13, "\(ts)")
            XCTAssertEqual(back.dataSet.personName(.patientName)?.alphabetic.givenName, "Jürgen", "\(ts)")
            XCTAssertEqual(back.dataSet.sequence(Tag(0x0008_1140))?.count, 2, "\(ts)")
            XCTAssertEqual(back.dataSet.sequence(Tag(0x0008_1140))?[1].string(Tag(0x0008_1155)), "1.2.3.9")
            XCTAssertEqual(Array(back.dataSet[.pixelData]!.bytes), [1, 0, 2, 0, 3, 1, 0xFF, 0x0F], "pixel words stay little endian in memory (\(ts))")
            XCTAssertEqual(back.dataSet[.pixelData]?.vr, .OW)
            // Rewriting what we read gives the same bytes.
            XCTAssertEqual(try back.encoded(), bytes, "\(ts)")
        }
    }

    func testTranscodingBetweenNativeSyntaxes() throws {
        let ds = try Self.sample()
        let meta = DicomFile.makeMeta(sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: "1.2.3.4.5", transferSyntax: .explicitVRLittleEndian)
        let file = DicomFile(meta: meta, dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        let big = try DicomFile.read(bytes: try file.encoded(transferSyntax: .explicitVRBigEndian))
        XCTAssertEqual(big.transferSyntax, .explicitVRBigEndian)
        let implicit = try DicomFile.read(bytes: try big.encoded(transferSyntax: .implicitVRLittleEndian))
        let again = try DicomFile.read(bytes: try implicit.encoded(transferSyntax: .explicitVRLittleEndian))
        XCTAssertEqual(try again.encoded(), try file.encoded(), "explicit LE → BE → implicit → explicit LE is the identity")
    }

    func testEncapsulatedCannotBeTranscodedToNative() throws {
        var ds = DataSet()
        ds.set(DataElement(tag: .pixelData, vr: .OB, value: .encapsulated(EncapsulatedPixelData(fragments: [[0xFF, 0xD8, 0xFF, 0xD9]]))))
        let jpeg = TransferSyntax(uid: "1.2.840.10008.1.2.4.50")
        let file = DicomFile(meta: DicomFile.makeMeta(sopClassUID: "1.2", sopInstanceUID: "1.3", transferSyntax: jpeg), dataSet: ds, transferSyntax: jpeg)
        let back = try DicomFile.read(bytes: try file.encoded())
        XCTAssertEqual(back.dataSet[.pixelData]?.encapsulated?.fragments.map(Array.init), [[0xFF, 0xD8, 0xFF, 0xD9]])
        XCTAssertThrowsError(try file.encoded(transferSyntax: .explicitVRLittleEndian))
    }

    func testGroupLengthIsRecomputed() throws {
        var ds = try Self.sample()
        ds.set(DataElement(tag: Tag(0x0010_0000), vr: .UL, bytes: [0, 0, 0, 0]))
        let bytes = try DicomFile.encode(ds, transferSyntax: .explicitVRLittleEndian)
        let back = try DicomFile.decode(bytes, transferSyntax: .explicitVRLittleEndian)
        // (0010,0010) PN "Müller^Jürgen" (15 bytes UTF-8 → 16) + (0010,0020) LO "ID42": 8+16 + 8+4
        XCTAssertEqual(back.int(Tag(0x0010_0000)), 36)
    }

    // MARK: malformed input: typed errors with offsets, never a crash

    func testTruncatedValueReportsOffset() throws {
        var bytes = try DicomFile.encode(Self.sample(), transferSyntax: .explicitVRLittleEndian)
        bytes.removeLast(3)
        XCTAssertThrowsError(try DicomFile.decode(bytes, transferSyntax: .explicitVRLittleEndian)) { error in
            guard case CodecError.invalidLength(let tag, let offset, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(tag, .pixelData)
            XCTAssertEqual(offset, bytes.count + 3 - 8 - 12)
        }
    }

    func testHugeLengthDoesNotAllocate() {
        // (0010,0010) OB with length 0xFFFFFFF0 in a 20-byte input.
        let bytes: [UInt8] = [0x10, 0, 0x10, 0, 0x4F, 0x42, 0, 0, 0xF0, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8]
        XCTAssertThrowsError(try DicomFile.decode(bytes, transferSyntax: .explicitVRLittleEndian)) { error in
            guard case CodecError.invalidLength(_, let offset, let length, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(offset, 0)
            XCTAssertEqual(length, 0xFFFF_FFF0)
        }
    }

    func testDeepNestingIsRefused() {
        // 200 nested undefined-length sequences.
        var bytes: [UInt8] = []
        for _ in 0..<200 {
            bytes += [0x08, 0, 0x40, 0x11, 0x53, 0x51, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]  // (0008,1140) SQ u/l
            bytes += [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]                 // item u/l
        }
        XCTAssertThrowsError(try DicomFile.decode(bytes, transferSyntax: .explicitVRLittleEndian)) { error in
            guard case CodecError.nestingTooDeep = error else { return XCTFail("\(error)") }
        }
    }

    func testUnterminatedSequenceIsTruncationError() {
        let bytes: [UInt8] = [0x08, 0, 0x40, 0x11, 0x53, 0x51, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]
        XCTAssertThrowsError(try DicomFile.decode(bytes, transferSyntax: .explicitVRLittleEndian)) { error in
            guard case CodecError.truncated = error else { return XCTFail("\(error)") }
        }
    }

    func testNotDICOM() {
        XCTAssertThrowsError(try DicomFile.read(bytes: Array("hello, this is plain text and not DICOM at all".utf8)))
        XCTAssertThrowsError(try DicomFile.read(bytes: []))
    }

    func testRandomBytesNeverCrash() {
        // A cheap stand-in for the fuzzer inside the unit suite: mutate a valid file at random.
        var rng = SystemRandomNumberGenerator()
        let valid = try! DicomFile(meta: DicomFile.makeMeta(sopClassUID: "1.2", sopInstanceUID: "1.3", transferSyntax: .explicitVRLittleEndian),
                                   dataSet: Self.sample(), transferSyntax: .explicitVRLittleEndian).encoded()
        for _ in 0..<3000 {
            var b = valid
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { b.removeLast(Int.random(in: 0..<b.count, using: &rng)) }
            _ = try? DicomFile.read(bytes: b)
        }
    }

    // MARK: lazy reading

    func testHeaderOnlyAndLazyReadingOfALargeFile() throws {
        var ds = try Self.sample()
        let frame = [UInt8](repeating: 7, count: 8 << 20)  // 8 MiB of pixel data
        ds.set(DataElement(tag: .pixelData, vr: .OW, bytes: frame))
        let path = TestSupport.temporaryDirectory("lazy") + "/big.dcm"
        try DicomFile(meta: DicomFile.makeMeta(sopClassUID: "1.2", sopInstanceUID: "1.3", transferSyntax: .explicitVRBigEndian),
                      dataSet: ds, transferSyntax: .explicitVRBigEndian).write(toPath: path)

        let header = try DicomFile.read(path: path, options: .headerOnly)
        XCTAssertNil(header.dataSet[.pixelData])
        XCTAssertEqual(header.dataSet.string(.patientID), "ID42")

        let lazy = try DicomFile.read(path: path, options: .lazy)
        guard case .deferred(let d)? = lazy.dataSet[.pixelData]?.value else { return XCTFail("pixel data should be deferred") }
        XCTAssertEqual(d.length, 8 << 20)
        XCTAssertEqual(Array(try d.load().prefix(4)), [7, 7, 7, 7])
        // Writing a lazily read file copies the deferred value from its source.
        let whole = try DicomFile.read(path: path)
        XCTAssertEqual(try lazy.encoded(), try whole.encoded())
    }

    func testStrayBytesAfterLastElementAreAWarning() throws {
        var bytes = try DicomFile.encode(Self.sample(), transferSyntax: .explicitVRLittleEndian)
        bytes += [0, 0, 0]
        let file = try DicomFile.read(bytes: bytes)
        XCTAssertEqual(file.warnings.count, 1)
        XCTAssertEqual(file.dataSet.string(.patientID), "ID42")
    }
}

/// Inputs the fuzzer once crashed on (fuzz/regressions): each must read or fail cleanly, and
/// whatever reads must write and read back.
final class FuzzRegressionTests: XCTestCase {
    func testFuzzRegressions() throws {
        let dir = TestSupport.repoRoot.appendingPathComponent("fuzz/regressions").path
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            guard let file = try? DicomFile.read(bytes: bytes) else { continue }
            _ = DumpFormatter().format(file)
            _ = JSONModel.object(file.dataSet)
            let written = try file.encoded()
            XCTAssertNoThrow(try DicomFile.read(bytes: written), name)
        }
    }
}
