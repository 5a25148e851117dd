import XCTest
import Codec
@testable import Node

/// How boxes keep profiles and forced values in the index.
final class BoxStoreTests: XCTestCase {
    func testForcedValuesRoundTrip() throws {
        let values = [
            TagValue(tagPath: TagPath(.patientName), value: "DOE^JOHN"),
            TagValue(tagPath: TagPath(sequences: [(Tag(0x0008_1115), .index(2)), (Tag(0x0008_1199), .index(0))], tag: Tag(0x0008_1155)), value: "1.2.3"),
            TagValue(tagPath: TagPath(Tag(0x0008_1030)), value: "multi\\value with = and\nnewline\\\\"),
            TagValue(tagPath: TagPath(Tag(0x0010_0020)), value: ""),
        ]
        let text = BoxStore.encode(values)
        XCTAssertEqual(try BoxStore.tagValues(text), values)
        XCTAssertEqual(try BoxStore.tagValues(""), [])
        XCTAssertEqual(BoxStore.encode([]), "")
        XCTAssertThrowsError(try BoxStore.tagValues("zz=1"))
    }

    func testProfilesRoundTripAndUnknownOptionsFallBack() throws {
        let p = try AnonymizationProfile(names: ["RETAIN_UIDS", "RETAIN_PATIENT_CHARACTERISTICS"])
        XCTAssertEqual(BoxStore.profile(BoxStore.encode(p)), p)
        XCTAssertEqual(BoxStore.profile(#"["NO_SUCH_OPTION"]"#), .basic)
        XCTAssertEqual(BoxStore.profile(nil), .basic)
    }
}
