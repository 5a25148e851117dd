import XCTest
import Codec
@testable import Node

final class MetadataQueryTests: XCTestCase {
    var folder = ""
    var ingest: Ingest!

    override func setUpWithError() throws {
        folder = makeTemporaryFolder("query")
        ingest = try makeIngest(folder)
        try seedThreePatients(ingest, thirdPatient: "Charlie^O'Neil") { i in
            Source(type: i < 2 ? .scp : .user, name: "src", id: i < 2 ? 7 : 1)
        }
    }
    override func tearDown() { ingest?.stop(); try? FileManager.default.removeItem(atPath: folder) }

    func q(_ props: [(String, String, String)] = [], order: String? = nil, asc: Bool = true, start: Int = 0, count: Int = 100) -> MetadataQuery {
        var m = MetadataQuery()
        m.properties = props.map { .init(name: $0.0, op: $0.1, value: $0.2) }
        m.orderBy = order
        m.ascending = asc
        m.startIndex = start
        m.count = count
        return m
    }

    func testEqualsLikeAndRange() throws {
        XCTAssertEqual(try ingest.index.patients(q([("patientID", "=", "P2")])).map(\.patientName), ["Bravo^Bob"])
        XCTAssertEqual(try ingest.index.patients(q([("patientName", "like", "rav")])).map(\.patientID), ["P2"])
        XCTAssertEqual(try ingest.index.studies(q([("studyDate", ">=", "20240101"), ("studyDate", "<", "20250101")])).map(\.studyInstanceUID), ["2.1", "2.2"])
        // Parent properties filter children.
        XCTAssertEqual(try ingest.index.series(q([("patientName", "like", "Bravo"), ("modality", "=", "MR")])).map(\.seriesInstanceUID), ["2.1.1", "2.2.2"])
        XCTAssertEqual(try ingest.index.images(q([("modality", "=", "US")])).map(\.sopInstanceUID), ["3.1.1.1"])
    }

    func testOrderAndPaging() throws {
        let desc = try ingest.index.patients(q(order: "patientName", asc: false))
        XCTAssertEqual(desc.map(\.patientID), ["P3", "P2", "P1"])
        XCTAssertEqual(try ingest.index.patients(q(order: "patientName", start: 1, count: 1)).map(\.patientID), ["P2"])
        XCTAssertEqual(try ingest.index.patients(q(start: 5)).count, 0)
    }

    func testFlatSeriesCarriesItsStudyAndPatient() throws {
        let flat = try ingest.index.flatSeries(q([("seriesInstanceUID", "=", "2.2.2")]))
        XCTAssertEqual(flat.count, 1)
        XCTAssertEqual(flat[0].patient.patientID, "P2")
        XCTAssertEqual(flat[0].study.studyInstanceUID, "2.2")
        XCTAssertEqual(flat[0].study.studyDate, "20240315")
        XCTAssertEqual(flat[0].series.modality, "MR")
        XCTAssertEqual(flat[0].id, flat[0].series.id)
    }

    func testSourceFilter() throws {
        var m = q()
        m.sources = [(.scp, 7)]
        XCTAssertEqual(try ingest.index.flatSeries(m).map(\.series.seriesInstanceUID), ["1.1.1", "2.1.1"])
        m.sources = [(.box, 7)]
        XCTAssertEqual(try ingest.index.flatSeries(m).count, 0)
    }

    func testBadInputIsRefusedWithItsName() throws {
        XCTAssertThrowsError(try ingest.index.patients(q([("nope", "=", "x")]))) { XCTAssertEqual("\($0)", "Property nope does not exist") }
        XCTAssertThrowsError(try ingest.index.patients(q(order: "patientName; DROP TABLE patients"))) {
            XCTAssertEqual("\($0)", "Property patientName; DROP TABLE patients does not exist")
        }
        XCTAssertThrowsError(try ingest.index.patients(q([("patientName", "~", "x")])))
        XCTAssertThrowsError(try ingest.index.patients(q(start: -1)))
        // Child properties are not allowed at a parent level.
        XCTAssertThrowsError(try ingest.index.patients(q([("modality", "=", "CT")])))
    }

    func testValuesAreDataNotSQL() throws {
        XCTAssertEqual(try ingest.index.patients(q([("patientName", "=", "x' OR '1'='1")])).count, 0)
        XCTAssertEqual(try ingest.index.patients(q([("patientName", "like", "O'Neil")])).map(\.patientID), ["P3"])
        // `%` and `_` in a like value are literal characters.
        XCTAssertEqual(try ingest.index.patients(q([("patientName", "like", "%")])).count, 0)
        XCTAssertEqual(try ingest.index.patients(q([("patientName", "like", "_")])).count, 0)
        XCTAssertEqual(try ingest.index.counts().patients, 3)
    }
}
