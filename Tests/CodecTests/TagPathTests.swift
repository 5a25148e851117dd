import XCTest
@testable import Codec

final class TagPathTests: XCTestCase {
    func testParseAndFormat() throws {
        let p = try TagPath(parsing: "(0008,1115)[0].(0020,000E)")
        XCTAssertEqual(p.depth, 1)
        XCTAssertEqual(p.last.tag, .seriesInstanceUID)
        XCTAssertEqual(p.description, "(0008,1115)[0].(0020,000E)")
        let k = try TagPath(parsing: "ReferencedSeriesSequence[*].SeriesInstanceUID")
        XCTAssertEqual(k.description, "(0008,1115)[*].(0020,000E)")
        XCTAssertTrue(k.hasWildcards)
        XCTAssertEqual(try TagPath(parsing: "(60xx,3000)").description, "(60xx,3000)")
        XCTAssertThrowsError(try TagPath(parsing: "(0008,1115).(0020,000E)"))
        XCTAssertThrowsError(try TagPath(parsing: "(0008,1115)[0]"))
        XCTAssertThrowsError(try TagPath(parsing: "NotAKeyword"))
        XCTAssertThrowsError(try TagPath(parsing: "(0008,1115)[x].(0020,000E)"))
    }

    func testSetGetRemoveThroughSequences() throws {
        var ds = DataSet()
        let path = try TagPath(parsing: "(0008,1115)[1].(0020,000E)")
        try ds.set(DataElement(tag: .seriesInstanceUID, vr: .UI, bytes: Array("1.2.3\0".utf8)), at: path)
        XCTAssertEqual(ds.sequence(Tag(0x0008_1115))?.count, 2, "missing items are created")
        XCTAssertEqual(ds.element(at: path)?.strings(), ["1.2.3"])
        let all = ds.elements(at: try TagPath(parsing: "(0008,1115)[*].(0020,000E)"))
        XCTAssertEqual(all.map(\.path.description), ["(0008,1115)[1].(0020,000E)"])
        XCTAssertEqual(ds.remove(at: try TagPath(parsing: "(0008,1115)[*].(0020,xxxx)")), 1)
        XCTAssertNil(ds.element(at: path))
        XCTAssertThrowsError(try ds.set(DataElement(tag: .patientID, vr: .LO, bytes: []), at: try TagPath(parsing: "(0008,1111)[0].(0010,0020)"), createMissing: false))
    }

    func testCoversAndMatches() throws {
        let filter = try TagPath(parsing: "(0008,1115)")
        let inner = try TagPath(parsing: "(0008,1115)[3].(0020,000E)")
        XCTAssertTrue(filter.covers(inner))
        XCTAssertFalse(filter.matches(inner))
        XCTAssertTrue(try TagPath(parsing: "(0008,1115)[*].(0020,000E)").matches(inner))
        XCTAssertFalse(try TagPath(parsing: "(0008,1115)[2].(0020,000E)").matches(inner))
        XCTAssertEqual(try TagPath(parsing: "(0008,1115)[*].(0020,000E)").hashValue, try TagPath(parsing: "ReferencedSeriesSequence[*].SeriesInstanceUID").hashValue)
    }
}
