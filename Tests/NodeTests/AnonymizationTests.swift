import XCTest
import Foundation
import Codec
import TestPeers
@testable import Node

/// The Basic Application Level Confidentiality Profile and its options (PS3.15 Annex E), checked
/// attribute by attribute against the generated Table E.1-1 on pydicom's files and on a data set
/// holding every attribute of the table.
final class AnonymizationTests: XCTestCase {
    var folder = ""
    override func setUp() { folder = makeTemporaryFolder("anon") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func makeAnonymizer(_ settings: AnonymizationSettings = AnonymizationSettings()) throws -> Anonymizer {
        let index = try SQLiteIndex(path: folder + "/index.sqlite")
        return Anonymizer(keys: AnonymizationKeyStore(db: index.db), settings: settings)
    }

    static let files = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtstruct.dcm", "rtdose.dcm", "test-SR.dcm", "reportsi.dcm",
                        "examples_overlay.dcm", "waveform_ecg.dcm", "nested_priv_SQ.dcm", "MR_small_bigendian.dcm", "image_dfl.dcm"]

    // MARK: the table as data

    func testGeneratedTableHoldsTheStandardsRows() throws {
        let rows = ConfidentialityProfileTable.rows
        XCTAssertGreaterThan(rows.count, 600)
        func row(_ t: UInt32) -> ConfidentialityProfileRow? { ConfidentialityProfileTable.row(for: Tag(t)) }
        // A few rows as PS3.15 2024e prints them.
        XCTAssertEqual(row(0x0010_0010)?.basic, .zero)                      // Patient's Name Z
        XCTAssertEqual(row(0x0010_0020)?.basic, .zeroOrDummy)               // Patient ID Z/D
        XCTAssertEqual(row(0x0008_0018)?.basic, .replaceUID)                // SOP Instance UID U
        XCTAssertEqual(row(0x0008_0018)?.action(.retainUIDs), .keep)
        XCTAssertEqual(row(0x0008_0080)?.basic, .removeOrZeroOrDummy)       // Institution Name X/Z/D
        XCTAssertEqual(row(0x0008_0080)?.action(.retainInstitutionIdentity), .keep)
        XCTAssertEqual(row(0x0008_1140)?.basic, .removeOrZeroOrReplaceUIDs) // Referenced Image Sequence X/Z/U*
        XCTAssertEqual(row(0x0008_0020)?.action(.retainLongitudinalModifiedDates), .clean)
        XCTAssertEqual(row(0x0010_1010)?.action(.retainPatientCharacteristics), .keep)  // Patient's Age
        XCTAssertEqual(row(0x0018_1000)?.action(.retainDeviceIdentity), .keep)          // Device Serial Number
        XCTAssertEqual(row(0x0008_103E)?.action(.cleanDescriptors), .clean)             // Series Description
        XCTAssertEqual(row(0x0040_A730)?.action(.cleanStructuredContent), .clean)       // Content Sequence
        XCTAssertEqual(row(0x6002_3000)?.action(.cleanGraphics), .clean)                // Overlay Data, any 60xx
        XCTAssertEqual(row(0x5010_0005)?.basic, .remove)                                // Curve data, any 50xx element
        XCTAssertEqual(row(0x0029_1010)?.basic, .remove)                                // private
        XCTAssertEqual(row(0x0029_1010)?.action(.retainSafePrivate), .clean)
        XCTAssertNil(row(0x0028_0010))                                                  // Rows: not listed, kept
        XCTAssertTrue(ConfidentialityProfileTable.isSafePrivate(Tag(0x7053_1000), creator: "Philips PET Private Group"))
        XCTAssertTrue(ConfidentialityProfileTable.isSafePrivate(Tag(0x7053_1100), creator: "Philips PET Private Group"),
                      "the block byte is free: the creator decides")
        XCTAssertFalse(ConfidentialityProfileTable.isSafePrivate(Tag(0x7053_1000), creator: "Someone Else"))
        // Every action code of E.1.1 occurs.
        let used = Set(rows.flatMap { r in [r.basic] + ProfileColumn.allCases.compactMap { r.action($0) } })
        XCTAssertEqual(used, Set(ProfileAction.allCases))
    }

    func testOptionsAreSlicebox() throws {
        XCTAssertEqual(ConfidentialityOption.selectable.map(\.name), [
            "CLEAN_GRAPHICS", "CLEAN_STRUCTURED_CONTENT", "CLEAN_DESCRIPTORS", "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION",
            "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES", "RETAIN_PATIENT_CHARACTERISTICS", "RETAIN_DEVICE_IDENTITY",
            "RETAIN_INSTITUTION_IDENTITY", "RETAIN_UIDS", "RETAIN_SAFE_PRIVATE"])
        XCTAssertEqual(ConfidentialityOption.retainUIDs.rank, 120)
        XCTAssertEqual(ConfidentialityOption.retainLongitudinalTemporalInformation.title, "Retain Temporal Info")
        let p = try AnonymizationProfile(names: ["RETAIN_UIDS"])
        XCTAssertEqual(p.options.map(\.name), ["BASIC_PROFILE", "RETAIN_UIDS"], "the Basic Profile is always part of a profile")
        XCTAssertThrowsError(try AnonymizationProfile(names: ["CLEAN_PIXEL_DATA"])) { XCTAssertTrue("\($0)".contains("pixel")) }
        XCTAssertThrowsError(try AnonymizationProfile(names: ["NO_SUCH_OPTION"]))
        let decoded = try JSONDecoder().decode(AnonymizationProfile.self, from: Data(#"{"options":[{"name":"RETAIN_DEVICE_IDENTITY"},{"name":"BASIC_PROFILE"}]}"#.utf8))
        XCTAssertEqual(decoded.options, [.basicProfile, .retainDeviceIdentity])
    }

    /// Where two options of a profile both name an attribute, the higher rank wins (Slicebox).
    func testHighestRankWinsWhereOptionsOverlap() throws {
        var overlaps = 0
        let options = ConfidentialityOption.selectable
        for (i, a) in options.enumerated() {
            for b in options[(i + 1)...] {
                let profile = try AnonymizationProfile(options: [a, b])
                let high = a.rank > b.rank ? a : b
                for row in ConfidentialityProfileTable.rows {
                    guard let x = row.action(a.column!), let y = row.action(b.column!) else { continue }
                    overlaps += 1
                    XCTAssertEqual(row.action(in: profile), high == a ? x : y, "\(row.name) under \(a.name)+\(b.name)")
                }
            }
        }
        XCTAssertGreaterThan(overlaps, 100)
    }

    // MARK: the Basic Profile, attribute by attribute

    func testEveryTableAttributeAtEveryDepthUnderTheBasicProfile() throws {
        let anonymizer = try makeAnonymizer()
        let original = try makeEveryProfileAttribute()
        let file = DicomFile(meta: DicomFile.makeMeta(sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: original.string(.sopInstanceUID)!,
                                                      transferSyntax: .explicitVRLittleEndian), dataSet: original, transferSyntax: .explicitVRLittleEndian)
        let result = try anonymizer.anonymize(file, profile: .basic)
        // Written and read back, so what is checked is what a receiver gets.
        let out = try DicomFile.read(bytes: try result.file.encoded())
        var check = ProfileConformance(profile: .basic)
        check.check(original: original, anonymized: out.dataSet)
        XCTAssertEqual(check.failures, [])
        for action in ProfileAction.allCases where action != .keep && action != .clean {
            XCTAssertGreaterThan(check.checked[action] ?? 0, 0, "no attribute with \(action.rawValue) was checked")
        }
        XCTAssertGreaterThan(check.checked.values.reduce(0, +), 1000, "the table's attributes at the root and inside an item")
        XCTAssertEqual(ProfileConformance.privateLeft(out.dataSet, safeAllowed: false), [])
        XCTAssertNil(out.dataSet[Tag(0x6000_0010)], "the overlay plane goes with its data")
        XCTAssertNil(out.dataSet[Tag(0x5000_2500)], "curves go")
        assertNothingIdentifyingLeft(original: original, anonymized: out, profile: .basic)
        assertMarkers(out.dataSet, profile: .basic)
        XCTAssertEqual(out.meta.string(.mediaStorageSOPInstanceUID), out.dataSet.string(.sopInstanceUID))
    }

    func testPydicomFilesUnderTheBasicProfile() throws {
        let anonymizer = try makeAnonymizer()
        var check = ProfileConformance(profile: .basic)  // one checker: UIDs must map the same way across files
        for name in Self.files {
            let file = try pydicomFile(name)
            let result = try anonymizer.anonymize(file, profile: .basic)
            let out = try DicomFile.read(bytes: try result.file.encoded())
            let before = check.failures.count
            check.check(original: file.dataSet, anonymized: out.dataSet)
            XCTAssertEqual(Array(check.failures[before...]), [], name)
            XCTAssertEqual(ProfileConformance.privateLeft(out.dataSet, safeAllowed: false), [], name)
            assertNothingIdentifyingLeft(original: file.dataSet, anonymized: out, profile: .basic, name)
            assertMarkers(out.dataSet, profile: .basic, name)
            XCTAssertEqual(out.meta.string(.mediaStorageSOPInstanceUID), out.dataSet.string(.sopInstanceUID), name)
            XCTAssertEqual(out.transferSyntax.uid, file.transferSyntax.uid, name)
            if let pixels = file.dataSet[.pixelData] { XCTAssertEqual(out.dataSet[.pixelData]?.bytes, pixels.bytes, "\(name): pixel data kept") }
        }
        XCTAssertGreaterThan(check.checked[.replaceUID] ?? 0, 30)
        XCTAssertGreaterThan(check.uids.count, 20)
        // Specific things the files hold.
        let overlay = try anonymizer.anonymize(try pydicomFile("examples_overlay.dcm"), profile: .basic).file.dataSet
        XCTAssertFalse(overlay.elements.contains { (0x6000...0x601E).contains($0.tag.group) }, "overlays removed")
        let sr = try anonymizer.anonymize(try pydicomFile("test-SR.dcm"), profile: .basic).file.dataSet
        XCTAssertEqual(sr.sequence(Tag(0x0040_A730))?.count, 1, "Content Sequence (D) is one empty item")
        XCTAssertEqual(sr.sequence(Tag(0x0040_A730))?.first?.isEmpty, true)
    }

    /// A UID replaced in one instance is replaced the same way in every other: the RT plan's
    /// reference to its structure set points at the anonymized structure set.
    func testReferencesBetweenInstancesStayConsistent() throws {
        let anonymizer = try makeAnonymizer()
        let plan = try pydicomFile("rtplan.dcm"), structures = try pydicomFile("rtstruct.dcm")
        let a = try anonymizer.anonymize(structures, profile: .basic).file.dataSet
        let b = try anonymizer.anonymize(plan, profile: .basic).file.dataSet
        let referenced = plan.dataSet.sequence(Tag(0x300C_0060))?.first?.string(Tag(0x0008_1155))
        let anonymousReference = b.sequence(Tag(0x300C_0060))?.first?.string(Tag(0x0008_1155))
        XCTAssertNotNil(referenced)
        XCTAssertNotEqual(anonymousReference, referenced)
        let keys = AnonymizationKeyStore(db: try SQLiteIndex(path: folder + "/index.sqlite").db)
        XCTAssertEqual(anonymousReference, try keys.anonymousUID(for: referenced!))
        if referenced == structures.dataSet.string(.sopInstanceUID) {
            XCTAssertEqual(anonymousReference, a.string(.sopInstanceUID))
        }
        // The frame of reference of the structure set's contours maps like everywhere else.
        let realFoR = structures.dataSet.sequence(Tag(0x3006_0010))?.first?.string(Tag(0x0020_0052))
        let anonFoR = a.sequence(Tag(0x3006_0010))?.first?.string(Tag(0x0020_0052))
        XCTAssertNotNil(realFoR)
        XCTAssertEqual(anonFoR, try keys.anonymousUID(for: realFoR!))
    }

    // MARK: options

    func testEachOptionKeepsWhatItShould() throws {
        let original = try makeEveryProfileAttribute()
        let file = DicomFile(dataSet: original, transferSyntax: .explicitVRLittleEndian)
        for option in ConfidentialityOption.selectable {
            let anonymizer = try makeAnonymizer()
            let profile = try AnonymizationProfile(options: [option])
            let out = try DicomFile.read(bytes: try anonymizer.anonymize(file, profile: profile).file.encoded()).dataSet
            var check = ProfileConformance(profile: profile)
            check.check(original: original, anonymized: out)
            XCTAssertEqual(check.failures, [], option.name)
            assertMarkers(out, profile: profile, option.name)
            // Every attribute whose option column says K is unchanged, at the root.
            for row in ConfidentialityProfileTable.rows where row.action(option.column!) == .keep && row.mask == 0xFFFF_FFFF && !row.isPrivateAttributes {
                guard let e = original[row.tag], e.vr != .SQ else { continue }
                XCTAssertEqual(out[row.tag]?.bytes, e.bytes, "\(option.name) keeps \(row.name)")
            }
            XCTAssertEqual(ProfileConformance.privateLeft(out, safeAllowed: option == .retainSafePrivate), [], option.name)
        }
    }

    func testRetainOptionsOnARealFile() throws {
        let ct = try pydicomFile("CT_small.dcm")
        let ds = ct.dataSet
        let profile = try AnonymizationProfile(options: [.retainUIDs, .retainDeviceIdentity, .retainPatientCharacteristics,
                                                         .retainLongitudinalTemporalInformation, .retainInstitutionIdentity])
        let out = try makeAnonymizer().anonymize(ct, profile: profile).file.dataSet
        for t: UInt32 in [0x0008_0018, 0x0020_000D, 0x0020_000E, 0x0020_0052,  // UIDs
                          0x0018_1000, 0x0008_1010,                          // Device Serial Number, Station Name
                          0x0010_0040, 0x0010_1010, 0x0010_1030,             // Sex, Age, Weight
                          0x0008_0020, 0x0008_0030, 0x0008_0022,             // Study Date/Time, Acquisition Date
                          0x0008_0080] where ds[Tag(t)] != nil {             // Institution Name
            XCTAssertEqual(out.string(Tag(t)), ds.string(Tag(t)), "\(Tag(t)) kept")
        }
        XCTAssertNotEqual(out.string(.patientName), ds.string(.patientName))
        XCTAssertEqual(out[Tag(0x0010_0030)]?.isEmpty, true, "the birth date (Z) is not one of the characteristics kept")
        XCTAssertEqual(out.string(.longitudinalTemporalInformationModified), "UNMODIFIED")
    }

    func testModifiedDatesShiftEveryDateOfAPatientByTheSameDays() throws {
        let anonymizer = try makeAnonymizer()
        let profile = try AnonymizationProfile(options: [.retainLongitudinalTemporalInformationModifiedDates])
        var firstSet = try DicomFile.read(bytes: try makeInstance(study: "9.1", series: "9.1.1", sop: "9.1.1.1", studyDate: "20240102")).dataSet
        try firstSet.set(Tag(0x0008_0030), vr: .TM, string: "101500")  // Study Time
        let first = DicomFile(dataSet: firstSet, transferSyntax: .explicitVRLittleEndian)
        var secondSet = try DicomFile.read(bytes: try makeInstance(study: "9.2", series: "9.2.1", sop: "9.2.1.1", studyDate: "20240301")).dataSet
        try secondSet.set(Tag(0x0040_A121), vr: .DA, string: "20240305")  // a D date (Date), cleaned too
        try secondSet.set(Tag(0x0008_002A), vr: .DT, string: "20240301093000.5+0100")
        let a = try anonymizer.anonymize(first, profile: profile).file.dataSet
        let b = try anonymizer.anonymize(DicomFile(dataSet: secondSet, transferSyntax: .explicitVRLittleEndian), profile: profile).file.dataSet
        func day(_ s: String?) throws -> Int64 { Int64(try XCTUnwrap(DicomDate(try XCTUnwrap(s))?.date).timeIntervalSince1970 / 86_400) }
        let shiftA = try day(a.string(Tag(0x0008_0020))) - day("20240102")
        let shiftB = try day(b.string(Tag(0x0008_0020))) - day("20240301")
        XCTAssertNotEqual(shiftA, 0)
        XCTAssertEqual(shiftA, shiftB, "one offset per patient: intervals stay true")
        XCTAssertEqual(try day(b.string(Tag(0x0040_A121))) - day("20240305"), shiftB)
        let dt = try XCTUnwrap(b.string(Tag(0x0008_002A)))
        XCTAssertTrue(dt.hasSuffix("093000.5+0100"), dt)
        XCTAssertEqual(try day(String(dt.prefix(8))) - day("20240301"), shiftB)
        XCTAssertEqual(a.string(.longitudinalTemporalInformationModified), "MODIFIED")
        XCTAssertEqual(a.string(Tag(0x0008_0030)), "101500", "a time of day does not move with whole days")
    }

    func testCleanDescriptorsTakesOutWhatIdentifiesAndKeepsTheRest() throws {
        var ds = try DicomFile.read(bytes: try makeInstance(patientName: "Doe^John", patientID: "MRN12345", sop: "5.5.5")).dataSet
        try ds.set(Tag(0x0008_103E), vr: .LO, string: "CT chest John Doe MRN12345 2024-01-02")  // Series Description
        try ds.set(Tag(0x0008_1030), vr: .LO, string: "Thorax follow-up DOE")                    // Study Description
        try ds.set(Tag(0x0008_0080), vr: .LO, string: "Saint Elsewhere Hospital")                  // Institution Name (X/Z/D)
        try ds.set(Tag(0x0018_1030), vr: .LO, string: "Protocol from Saint Elsewhere")             // Protocol Name (C)
        let profile = try AnonymizationProfile(options: [.cleanDescriptors])
        let out = try makeAnonymizer().anonymize(DicomFile(dataSet: ds, transferSyntax: .explicitVRLittleEndian), profile: profile).file.dataSet
        XCTAssertEqual(out.string(Tag(0x0008_103E)), "CT chest")
        XCTAssertEqual(out.string(Tag(0x0008_1030)), "Thorax follow-up")
        XCTAssertEqual(out.string(Tag(0x0018_1030)), "Protocol from")
        // Without the option the descriptors go (X).
        let basic = try makeAnonymizer().anonymize(DicomFile(dataSet: ds, transferSyntax: .explicitVRLittleEndian), profile: .basic).file.dataSet
        XCTAssertNil(basic[Tag(0x0008_103E)])
        XCTAssertNil(basic[Tag(0x0008_1030)])
    }

    func testCleanStructuredContentKeepsTheDocumentWithoutNames() throws {
        let sr = try pydicomFile("test-SR.dcm")
        let profile = try AnonymizationProfile(options: [.cleanStructuredContent])
        let out = try makeAnonymizer().anonymize(sr, profile: profile).file.dataSet
        let before = try XCTUnwrap(sr.dataSet.sequence(Tag(0x0040_A730)))
        let after = try XCTUnwrap(out.sequence(Tag(0x0040_A730)))
        XCTAssertEqual(after.count, before.count, "the content tree is kept")
        var check = ProfileConformance(profile: profile)
        check.check(original: sr.dataSet, anonymized: out)
        XCTAssertEqual(check.failures, [])
        let names = ProfileConformance.identifyingValues(sr.dataSet, profile: .basic).filter { $0.contains("^") }
        for (path, v) in ProfileConformance.allValues(out) { for n in names { XCTAssertFalse(v.contains(n), "\(path) holds \(n)") } }
    }

    func testRetainSafePrivateKeepsOnlyTheSafeList() throws {
        let original = try makeEveryProfileAttribute()
        let profile = try AnonymizationProfile(options: [.retainSafePrivate])
        let out = try makeAnonymizer().anonymize(DicomFile(dataSet: original, transferSyntax: .explicitVRLittleEndian), profile: profile).file.dataSet
        XCTAssertEqual(out.string(Tag(0x7053_1000)), "1.25", "Philips SUV factor is safe")
        XCTAssertEqual(out.string(Tag(0x7053_0010)), "Philips PET Private Group", "its creator stays")
        XCTAssertNil(out[Tag(0x0029_1001)])
        XCTAssertNil(out[Tag(0x0029_0010)], "a creator whose block is empty goes")
        // CT_small's GE private attributes are not in the safe list.
        let ct = try makeAnonymizer().anonymize(try pydicomFile("CT_small.dcm"), profile: profile).file.dataSet
        XCTAssertEqual(ProfileConformance.privateLeft(ct, safeAllowed: true), [])
    }

    // MARK: the flow

    func testAlreadyAnonymousDataPassesUnlessForced() throws {
        let anonymizer = try makeAnonymizer()
        let once = try anonymizer.anonymize(try pydicomFile("MR_small.dcm"), profile: .basic)
        let again = try anonymizer.anonymize(once.file, profile: .basic)
        XCTAssertNil(again.key)
        XCTAssertEqual(try again.file.encoded(), try once.file.encoded())
        let forced = try anonymizer.anonymize(once.file, profile: .basic, force: true)
        XCTAssertNotNil(forced.key)
        XCTAssertNotEqual(forced.file.dataSet.string(.sopInstanceUID), once.file.dataSet.string(.sopInstanceUID))
    }

    func testForcedValuesWinAtAnyPath() throws {
        let anonymizer = try makeAnonymizer()
        let plan = try pydicomFile("rtplan.dcm")
        let nested = try TagPath(parsing: "(300A,00B0)[0].(300A,00C2)")  // Beam Sequence[0].Beam Name
        let result = try anonymizer.anonymize(plan, profile: .basic, tagValues: [
            TagValue(tagPath: TagPath(.patientName), value: "Study^Subject^One"),
            TagValue(tagPath: TagPath(.patientID), value: "SUBJ-001"),
            TagValue(tagPath: nested, value: "BEAM A"),
        ])
        XCTAssertEqual(result.file.dataSet.string(.patientName), "Study^Subject^One")
        XCTAssertEqual(result.file.dataSet.element(at: nested)?.strings().first, "BEAM A")
        XCTAssertEqual(result.key?.anonPatientName, "Study^Subject^One")
        XCTAssertEqual(result.key?.anonPatientID, "SUBJ-001")
        XCTAssertThrowsError(try anonymizer.anonymize(plan, profile: .basic, tagValues: [TagValue(tagPath: try TagPath(parsing: "(300A,00B0)[*].(300A,00C2)"), value: "x")]))
    }

    // MARK: helpers

    func assertMarkers(_ ds: DataSet, profile: AnonymizationProfile, _ context: String = "", line: UInt = #line) {
        XCTAssertEqual(ds.string(.patientIdentityRemoved), "YES", context, line: line)
        XCTAssertEqual(ds.strings(.deidentificationMethod), profile.options.map(\.description), context, line: line)
        let codes = ds.sequence(.deidentificationMethodCodeSequence)?.compactMap { $0.string(Tag(0x0008_0100)) }
        XCTAssertEqual(codes, profile.options.compactMap(\.methodCode?.value), context, line: line)
        XCTAssertEqual(codes?.first, "113100", context, line: line)
        XCTAssertNotNil(ds.string(.longitudinalTemporalInformationModified), context, line: line)
    }

    /// No text value of the original that the profile does not keep appears anywhere in the
    /// anonymized file (data set at every depth and File Meta Information).
    func assertNothingIdentifyingLeft(original: DataSet, anonymized: DicomFile, profile: AnonymizationProfile, _ context: String = "",
                                      line: UInt = #line) {
        let secrets = ProfileConformance.identifyingValues(original, profile: profile)
        let values = ProfileConformance.allValues(anonymized.dataSet) + ProfileConformance.allValues(anonymized.meta)
        for (path, v) in values {
            for s in secrets where v.contains(s) { XCTFail("\(context) \(path) '\(v)' holds '\(s)'", line: line) }
        }
    }
}
