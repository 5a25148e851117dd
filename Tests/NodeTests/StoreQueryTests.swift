import XCTest
import Codec
import DicomNet
@testable import Node

/// C-FIND and retrieve answers from the store, called directly (the network path is covered by
/// ServeInteropTests against DCMTK).
final class StoreQueryTests: XCTestCase {
    var folder = ""
    var ingest: Ingest!
    var query: StoreQuery!

    override func setUpWithError() throws {
        folder = makeTemporaryFolder("cfind")
        ingest = try makeIngest(folder)
        query = StoreQuery(index: ingest.index, retrieveAETitle: "NODE")
        try seedThreePatients(ingest, thirdPatient: "Müller^Jürgen", perSeries: 2)
    }
    override func tearDown() { ingest?.stop(); try? FileManager.default.removeItem(atPath: folder) }

    func find(_ level: String, _ keys: [(Tag, VR, String)], model: QueryRetrieveModel = .studyRoot) throws -> [DataSet] {
        var identifier = DataSet()
        try identifier.set(.queryRetrieveLevel, vr: .CS, string: level)
        for (tag, vr, value) in keys { try identifier.set(tag, vr: vr, strings: value.isEmpty ? [] : value.split(separator: "\\", omittingEmptySubsequences: false).map(String.init)) }
        let request = QueryRequest(associationID: "t", callingAETitle: "SCU", calledAETitle: "NODE", sopClassUID: model.findSOPClass,
                                   identifier: identifier, level: level)
        return Array(try query.find(request, isCancelled: { false }))
    }

    static let studyDate = Tag(0x0008_0020), modalities = Tag(0x0008_0061), studyInstances = Tag(0x0020_1208)
    static let studySeries = Tag(0x0020_1206), seriesInstances = Tag(0x0020_1209), patientStudies = Tag(0x0020_1200)

    func testStudyLevelWildcardRangeAndComputedKeys() throws {
        let answers = try find("STUDY", [(.patientName, .PN, "bravo*"), (Self.studyDate, .DA, "20240301-"), (.studyInstanceUID, .UI, ""),
                                         (Self.modalities, .CS, ""), (Self.studyInstances, .IS, ""), (Self.studySeries, .IS, "")])
        XCTAssertEqual(answers.count, 1)
        let a = try XCTUnwrap(answers.first)
        XCTAssertEqual(a.string(.studyInstanceUID), "2.2")
        XCTAssertEqual(a.strings(Self.modalities), ["CT", "MR"])
        XCTAssertEqual(a.string(Self.studyInstances), "4")
        XCTAssertEqual(a.string(Self.studySeries), "2")
        XCTAssertEqual(a.string(.queryRetrieveLevel), "STUDY")
        XCTAssertEqual(a.string(.patientName), "Bravo^Bob", "returned as stored, PN matched case-insensitively")
        XCTAssertNil(a[.patientID], "only requested keys are returned")
    }

    func testModalitiesInStudyMatchesAnyListedModality() throws {
        XCTAssertEqual(try find("STUDY", [(Self.modalities, .CS, "US\\MR"), (.studyInstanceUID, .UI, "")]).compactMap { $0.string(.studyInstanceUID) },
                       ["2.1", "2.2", "3.1"])
        XCTAssertEqual(try find("STUDY", [(Self.modalities, .CS, "CT"), (.studyInstanceUID, .UI, "")]).compactMap { $0.string(.studyInstanceUID) },
                       ["1.1", "2.2"])
    }

    func testSeriesAndImageLevelsWithUIDLists() throws {
        let series = try find("SERIES", [(.studyInstanceUID, .UI, "2.2"), (.seriesInstanceUID, .UI, ""), (.modality, .CS, "MR"), (Self.seriesInstances, .IS, "")])
        XCTAssertEqual(series.map { $0.string(.seriesInstanceUID) }, ["2.2.2"])
        XCTAssertEqual(series.first?.string(Self.seriesInstances), "2")
        let images = try find("IMAGE", [(.seriesInstanceUID, .UI, "1.1.1\\3.1.1"), (.sopInstanceUID, .UI, ""), (Tag(0x0020_0013), .IS, "2")])
        XCTAssertEqual(images.compactMap { $0.string(.sopInstanceUID) }, ["1.1.1.2", "3.1.1.2"])
    }

    func testPatientRootPatientLevel() throws {
        let p = try find("PATIENT", [(.patientID, .LO, "P*"), (.patientName, .PN, ""), (Self.patientStudies, .IS, "")], model: .patientRoot)
        XCTAssertEqual(p.compactMap { $0.string(.patientID) }, ["P1", "P2", "P3"])
        XCTAssertEqual(p.compactMap { $0.string(Self.patientStudies) }, ["1", "2", "1"])
    }

    func testNonASCIINamesAnswerInUTF8() throws {
        let a = try find("PATIENT", [(.patientName, .PN, "M?ller*"), (.patientID, .LO, "")], model: .patientRoot)
        XCTAssertEqual(a.count, 1)
        XCTAssertEqual(a.first?.string(.specificCharacterSet), "ISO_IR 192")
        XCTAssertEqual(a.first?.string(.patientName), "Müller^Jürgen")
        // Encoded and read back, the name survives.
        let bytes = try DicomFile.encode(a[0], transferSyntax: .explicitVRLittleEndian)
        let back = try DicomFile.read(bytes: [UInt8](bytes), options: .default)
        XCTAssertEqual(back.dataSet.string(.patientName), "Müller^Jürgen")
    }

    func testUnsupportedKeysAreReported() throws {
        var identifier = DataSet()
        try identifier.set(.queryRetrieveLevel, vr: .CS, string: "STUDY")
        try identifier.set(Tag(0x0008_1030), vr: .LO, string: "")        // StudyDescription: indexed
        try identifier.set(Tag(0x0010_2160), vr: .SH, string: "")        // EthnicGroup: not indexed
        try identifier.set(Tag(0x0020_1209), vr: .IS, string: "")        // a SERIES count at STUDY level
        let request = QueryRequest(associationID: "t", callingAETitle: "S", calledAETitle: "N", sopClassUID: QueryRetrieveModel.studyRoot.findSOPClass,
                                   identifier: identifier, level: "STUDY")
        XCTAssertEqual(query.unsupportedKeys(in: request), [Tag(0x0010_2160), Tag(0x0020_1209)])
    }

    func testRetrieveSelectsByUniqueKeysDownToTheLevel() throws {
        let retrieve = StoreRetrieve(ingest: ingest)
        func instances(_ level: String, _ keys: [(Tag, String)]) throws -> [String] {
            var identifier = DataSet()
            for (t, v) in keys { try identifier.set(t, vr: .UI, strings: v.split(separator: "\\").map(String.init)) }
            return try retrieve.instances(for: RetrieveRequest(associationID: "t", callingAETitle: "S", calledAETitle: "N",
                                                                sopClassUID: QueryRetrieveModel.studyRoot.moveSOPClass, identifier: identifier,
                                                                level: level, moveDestination: "X")).map(\.sopInstanceUID)
        }
        XCTAssertEqual(try instances("STUDY", [(.studyInstanceUID, "2.2")]), ["2.2.1.1", "2.2.1.2", "2.2.2.1", "2.2.2.2"])
        XCTAssertEqual(try instances("SERIES", [(.studyInstanceUID, "2.2"), (.seriesInstanceUID, "2.2.2\\1.1.1")]), ["2.2.2.1", "2.2.2.2"])
        XCTAssertEqual(try instances("IMAGE", [(.sopInstanceUID, "3.1.1.2")]), ["3.1.1.2"])
        XCTAssertThrowsError(try instances("SERIES", [(.studyInstanceUID, "2.2")])) { error in
            XCTAssertEqual((error as? QueryRetrieveError)?.status, .identifierDoesNotMatchSOPClass)
        }
        // Every offered file exists and is the stored instance.
        let files = try retrieve.instances(for: RetrieveRequest(associationID: "t", callingAETitle: "S", calledAETitle: "N",
                                                                  sopClassUID: QueryRetrieveModel.studyRoot.getSOPClass,
                                                                  identifier: { var d = DataSet(); try! d.set(.studyInstanceUID, vr: .UI, string: "1.1"); return d }(),
                                                                  level: "STUDY", moveDestination: nil))
        for f in files { XCTAssertEqual(try DicomFile.read(path: f.path).dataSet.string(.sopInstanceUID), f.sopInstanceUID) }
    }
}
