import XCTest
@testable import Codec

/// PS3.6 data dictionary and UID registry, generated from pydicom's tables by scripts/gen_dictionary.py.
final class DataDictionaryTests: XCTestCase {
    func testPatientName() throws {
        let e = try XCTUnwrap(DataDictionary.entry(for: Tag(group: 0x0010, element: 0x0010)))
        XCTAssertEqual(e.tag, Tag(0x0010_0010))
        XCTAssertEqual(e.vrs, [.PN])
        XCTAssertEqual(e.vr, .PN)
        XCTAssertEqual(e.vm, "1")
        XCTAssertEqual(e.name, "Patient's Name")
        XCTAssertEqual(e.keyword, "PatientName")
        XCTAssertFalse(e.isRetired)
        XCTAssertEqual(e.repeatMask, 0xFFFF_FFFF)
        XCTAssertEqual(DataDictionary.vr(for: .patientName), .PN)
    }

    func testKeywordLookup() throws {
        XCTAssertEqual(DataDictionary.entry(forKeyword: "PatientName")?.tag, Tag(0x0010_0010))
        XCTAssertEqual(DataDictionary.entry(forKeyword: "SOPInstanceUID")?.tag, Tag(0x0008_0018))
        XCTAssertEqual(DataDictionary.entry(forKeyword: "TransferSyntaxUID")?.vr, .UI)
        XCTAssertEqual(DataDictionary.entry(forKeyword: "PixelData")?.tag, Tag(0x7FE0_0010))
        // Repeating-group keywords resolve to the xx = 00 pattern.
        XCTAssertEqual(DataDictionary.entry(forKeyword: "OverlayData")?.tag, Tag(0x6000_3000))
        XCTAssertNil(DataDictionary.entry(forKeyword: "patientname"))
        XCTAssertNil(DataDictionary.entry(forKeyword: "NoSuchKeyword"))
        XCTAssertNil(DataDictionary.entry(forKeyword: ""))
        // Tag(parsing:) goes through the keyword index.
        XCTAssertEqual(Tag(parsing: "StudyInstanceUID"), .studyInstanceUID)
        XCTAssertEqual(Tag(parsing: "(0010,0020)"), .patientID)
    }

    func testMultipleVRs() throws {
        // (0028,0106) Smallest Image Pixel Value: "US or SS" in PS3.6.
        let e = try XCTUnwrap(DataDictionary.entry(for: Tag(0x0028_0106)))
        XCTAssertEqual(e.keyword, "SmallestImagePixelValue")
        XCTAssertEqual(e.vrs, [.US, .SS])
        XCTAssertEqual(DataDictionary.vr(for: Tag(0x0028_0106)), .US)
        XCTAssertEqual(DataDictionary.entry(for: .pixelData)?.vrs, [.OB, .OW])
        // (0028,1200) Gray Lookup Table Data: "US or SS or OW".
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x0028_1200))?.vrs, [.US, .SS, .OW])
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x0028_3006))?.vrs, [.US, .OW])
    }

    func testItemTagsHaveNoVR() throws {
        let item = try XCTUnwrap(DataDictionary.entry(for: .item))
        XCTAssertEqual(item.keyword, "Item")
        XCTAssertEqual(item.vrs, [])
        XCTAssertEqual(item.vr, .UN)
        XCTAssertEqual(DataDictionary.entry(for: .sequenceDelimitationItem)?.vrs, [])
        XCTAssertEqual(DataDictionary.vr(for: .itemDelimitationItem), .UN)
    }

    func testRepeatingGroups() throws {
        let overlay = try XCTUnwrap(DataDictionary.entry(for: Tag(0x6002_3000)))
        XCTAssertEqual(overlay.keyword, "OverlayData")
        XCTAssertEqual(overlay.tag, Tag(0x6000_3000))
        XCTAssertEqual(overlay.repeatMask, 0xFF00_FFFF)
        XCTAssertEqual(overlay.vrs, [.OB, .OW])
        XCTAssertFalse(overlay.isRetired)
        XCTAssertTrue(overlay.matches(Tag(0x601E_3000)))
        XCTAssertFalse(overlay.matches(Tag(0x6002_3001)))
        XCTAssertEqual(DataDictionary.vr(for: Tag(0x6002_3000)), .OB)
        XCTAssertEqual(DataDictionary.vr(for: Tag(0x6004_0010)), .US)   // Overlay Rows

        let curve = try XCTUnwrap(DataDictionary.entry(for: Tag(0x5010_0005)))
        XCTAssertEqual(curve.keyword, "CurveDimensions")
        XCTAssertTrue(curve.isRetired)
        XCTAssertEqual(curve.vr, .US)

        // Other wildcard shapes: (0020,31xx), (1000,xxx3), (1010,xxxx), (0028,08x4).
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x0020_3105))?.keyword, "SourceImageIDs")
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x1000_0123))?.keyword, "HuffmanTableTriplet")
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x1010_1234))?.keyword, "ZonalMap")
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x0028_0814))?.keyword, "BitsForCodeWord")
        // Exact rows win over the 7Fxx wildcard.
        XCTAssertEqual(DataDictionary.entry(for: .pixelData)?.keyword, "PixelData")
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x7F10_0010))?.keyword, "VariablePixelData")
        // (0028,0400) is its own retired row, not (0028,04x0) with x = 0.
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x0028_0400))?.keyword, "TransformLabel")
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x0028_0410))?.keyword, "RowsForNthOrderCoefficients")
    }

    func testGroupLength() throws {
        let meta = try XCTUnwrap(DataDictionary.entry(for: .fileMetaInformationGroupLength))
        XCTAssertEqual(meta.keyword, "FileMetaInformationGroupLength")
        XCTAssertFalse(meta.isRetired)
        XCTAssertEqual(DataDictionary.entry(for: Tag(0x0000_0000))?.keyword, "CommandGroupLength")

        for tag in [Tag(0x0008_0000), Tag(0x0028_0000), Tag(0x0009_0000), Tag(0x6000_0000), Tag(0x1000_0000)] {
            let e = try XCTUnwrap(DataDictionary.entry(for: tag), "\(tag)")
            XCTAssertEqual(e.keyword, "GroupLength")
            XCTAssertEqual(e.name, "Group Length")
            XCTAssertEqual(e.vrs, [.UL])
            XCTAssertEqual(e.tag, tag)
            XCTAssertEqual(DataDictionary.vr(for: tag), .UL, "\(tag)")
        }
    }

    func testPrivateCreator() throws {
        for tag in [Tag(0x0029_0010), Tag(0x0009_00FF), Tag(0x7FE1_0010)] {
            let e = try XCTUnwrap(DataDictionary.entry(for: tag), "\(tag)")
            XCTAssertEqual(e.vrs, [.LO])
            XCTAssertEqual(e.keyword, "PrivateCreator")
            XCTAssertEqual(e.name, "Private Creator")
            XCTAssertEqual(DataDictionary.vr(for: tag), .LO)
        }
    }

    func testUnknownAndPrivateTags() {
        for tag in [Tag(0x0029_1010), Tag(0x0009_0005), Tag(0x0011_0100), Tag(0x6001_3000)] {
            XCTAssertNil(DataDictionary.entry(for: tag), "\(tag)")
            XCTAssertEqual(DataDictionary.vr(for: tag), .UN, "\(tag)")
        }
        // An unassigned standard tag.
        XCTAssertNil(DataDictionary.entry(for: Tag(0x0010_0011)))
        XCTAssertEqual(DataDictionary.vr(for: Tag(0x0010_0011)), .UN)
        // (FFFF,FFFF) must not hit an empty hash slot.
        XCTAssertNil(DataDictionary.entry(for: Tag(0xFFFF_FFFF)))
        XCTAssertEqual(DataDictionary.vr(for: Tag(0xFFFF_FFFF)), .UN)
    }

    func testAllEntries() {
        let all = DataDictionary.allEntries
        // pydicom 3.0.2: 5091 exact rows + 88 repeater rows = 5179. Lower bound so updates still pass.
        XCTAssertGreaterThan(all.count, 5000)
        XCTAssertLessThan(all.count, 20000)
        XCTAssertEqual(all.map(\.tag), all.map(\.tag).sorted())
        // Every row is found by its tag, and by its keyword when it has one. Wildcard rows are probed
        // with 2 in each wildcard digit: at xx = 00 some are shadowed by exact rows, e.g. (0028,0400)
        // Transform Label vs (0028,04x0), or by group lengths, e.g. (1000,0000) vs (1000,xxx0).
        for e in all {
            let probe = Tag(e.tag.value | (0x2222_2222 & ~e.repeatMask))
            XCTAssertEqual(DataDictionary.entry(for: probe), e, "\(e.tag)")
            XCTAssertEqual(DataDictionary.vr(for: probe), e.vr, "\(e.tag)")
            if !e.keyword.isEmpty {
                XCTAssertEqual(DataDictionary.entry(forKeyword: e.keyword), e, e.keyword)
            }
            XCTAssertFalse(e.vm.isEmpty, "\(e.tag)")
        }
        let retired = all.filter(\.isRetired).count
        XCTAssertGreaterThan(retired, 300)
        XCTAssertLessThan(retired, all.count / 2)
    }

    func testConcurrentFirstUse() async {
        // The lazy parse is a `static let`; hammer it from many tasks.
        await withTaskGroup(of: VR.self) { group in
            for _ in 0..<32 { group.addTask { DataDictionary.vr(for: .rows) } }
            for await vr in group { XCTAssertEqual(vr, .US) }
        }
    }

    // MARK: UID registry

    func testTransferSyntaxUID() throws {
        let e = try XCTUnwrap(UIDRegistry.entry(for: "1.2.840.10008.1.2.1"))
        XCTAssertEqual(e.name, "Explicit VR Little Endian")
        XCTAssertEqual(e.type, "Transfer Syntax")
        XCTAssertEqual(e.keyword, "ExplicitVRLittleEndian")
        XCTAssertFalse(e.isRetired)
        XCTAssertEqual(UIDRegistry.entry(for: "1.2.840.10008.1.2")?.info, "Default Transfer Syntax for DICOM")
        XCTAssertTrue(try XCTUnwrap(UIDRegistry.entry(for: "1.2.840.10008.1.2.2")).isRetired) // Explicit VR Big Endian
        XCTAssertNil(UIDRegistry.entry(for: "1.2.3.4"))
        XCTAssertNil(UIDRegistry.entry(for: "1.2.840.10008.1.2.1 "))

        let ts = UIDRegistry.entries(ofType: "Transfer Syntax")
        XCTAssertGreaterThan(ts.count, 40)
        XCTAssertTrue(ts.allSatisfy { $0.type == "Transfer Syntax" })
        XCTAssertTrue(ts.contains { $0.uid == "1.2.840.10008.1.2.4.50" })
        XCTAssertTrue(UIDRegistry.entries(ofType: "No Such Type").isEmpty)
        XCTAssertGreaterThan(UIDRegistry.allEntries.count, 400)
        XCTAssertEqual(Set(UIDRegistry.allEntries.map(\.uid)).count, UIDRegistry.allEntries.count)
    }

    func testStorageSOPClasses() throws {
        let storage = UIDRegistry.storageSOPClasses
        XCTAssertGreaterThan(storage.count, 100)
        let uids = Set(storage.map(\.uid))
        XCTAssertEqual(uids.count, storage.count)
        let ct = try XCTUnwrap(storage.first { $0.uid == "1.2.840.10008.5.1.4.1.1.2" })
        XCTAssertEqual(ct.name, "CT Image Storage")
        XCTAssertTrue(uids.contains("1.2.840.10008.5.1.4.1.1.1.1"))      // DX - For Presentation
        XCTAssertTrue(uids.contains("1.2.840.10008.5.1.4.1.1.88.11"))    // Basic Text SR
        XCTAssertTrue(uids.contains("1.2.840.10008.5.1.4.1.1.6"))        // retired US Image Storage
        XCTAssertTrue(uids.contains("1.2.840.10008.5.1.4.1.1.104.1"))    // Encapsulated PDF
        XCTAssertFalse(uids.contains("1.2.840.10008.1.1"))               // Verification
        XCTAssertFalse(uids.contains("1.2.840.10008.1.20.1"))            // Storage Commitment Push Model
        XCTAssertFalse(uids.contains("1.2.840.10008.1.3.10"))            // Media Storage Directory
        XCTAssertFalse(uids.contains("1.2.840.10008.5.1.4.1.2.2.1"))     // Study Root Q/R FIND
        XCTAssertTrue(storage.allSatisfy { $0.type == "SOP Class" })
    }
}
