import XCTest
import Foundation
import Node
@testable import RestBridge

/// The hand-written JSON of the listings says exactly what JSONEncoder (sorted keys) says.
final class JSONWriterTests: XCTestCase {
    func testFastJSONMatchesJSONEncoderByteForByte() throws {
        let tricky = "Qu\"ote\\back/slash\n\t\r\u{01}\u{1F} Müller^Zoë 漢字 🎉"
        let patient = Patient(id: 7, patientName: tricky, patientID: "P-1", patientBirthDate: "19700101", patientSex: "F")
        let study = Study(id: 8, patientId: 7, studyInstanceUID: "1.2.3", studyDescription: tricky, studyDate: "20240101", studyID: "S",
                          accessionNumber: "", patientAge: "054Y")
        let series = Series(id: 9, studyId: 8, seriesInstanceUID: "1.2.3.4", seriesDescription: "", seriesDate: "", modality: "CT",
                            protocolName: tricky, bodyPartExamined: "CHEST", manufacturer: "ACME", stationName: "ST1", frameOfReferenceUID: "1.9")
        let image = Image(id: Int64.max, seriesId: -1, sopInstanceUID: "1.2.3.4.5", imageType: "ORIGINAL\\PRIMARY", instanceNumber: "12")
        let flat = FlatSeriesJSON(FlatSeries(patient: patient, study: study, series: series))

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func compare<T: Encodable & FastJSON>(_ items: [T]) throws {
            let fast = HTTPResponse.fastJSON(items)
            guard case .bytes(let bytes) = fast.body else { return XCTFail("not a byte body") }
            let reference = try encoder.encode(items)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), String(decoding: reference, as: UTF8.self))
            // And it parses back to the same values.
            let a = try JSONSerialization.jsonObject(with: Data(bytes)) as? NSArray
            let b = try JSONSerialization.jsonObject(with: reference) as? NSArray
            XCTAssertEqual(a, b)
        }
        try compare([flat, flat])
        try compare([PatientJSON(patient)])
        try compare([StudyJSON(study)])
        try compare([SeriesJSON(series)])
        try compare([ImageJSON(image)])
        try compare([ImageJSON]())
    }
}
