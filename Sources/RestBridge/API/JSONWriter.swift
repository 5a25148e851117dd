import Foundation

/// A JSON text written straight into bytes, for the listings that answer most requests (flat
/// series, patients, studies, series, images): Foundation's JSONEncoder costs ~100 µs per wrapped
/// entity on Linux, which made `GET /metadata/flatseries` CPU-bound at a few hundred requests/s.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    mutating func beginObject() { separator(); bytes.append(UInt8(ascii: "{")); needsComma.append(false) }
    mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma.removeLast() }
    mutating func beginArray() { separator(); bytes.append(UInt8(ascii: "[")); needsComma.append(false) }
    mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma.removeLast() }

    /// A key inside an object; the value written next belongs to it.
    mutating func key(_ k: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma[needsComma.count - 1] = false
    }

    mutating func value(_ v: Int64) { separator(); bytes.append(contentsOf: String(v).utf8) }

    mutating func value(_ s: String) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `{"value": s}`, the seed's DICOM property wrapper.
    mutating func property(_ k: StaticString, _ s: String) {
        key(k); beginObject(); key("value"); value(s); endObject()
    }
}

/// An entity that writes itself with `JSONWriter` (keys in the same order JSONEncoder's sorted keys give).
protocol FastJSON {
    func write(to w: inout JSONWriter)
}

extension HTTPResponse {
    static func fastJSON<T: FastJSON>(_ items: [T], status: HTTPStatus = .ok) -> HTTPResponse {
        var w = JSONWriter(capacity: 256 + items.count * 512)
        w.beginArray()
        for i in items { i.write(to: &w) }
        w.endArray()
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: w.bytes)
    }

    static func fastJSON<T: FastJSON>(_ item: T, status: HTTPStatus = .ok) -> HTTPResponse {
        var w = JSONWriter()
        item.write(to: &w)
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: w.bytes)
    }
}

extension PatientJSON: FastJSON {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.value(id)
        w.property("patientBirthDate", patientBirthDate.value)
        w.property("patientID", patientID.value)
        w.property("patientName", patientName.value)
        w.property("patientSex", patientSex.value)
        w.endObject()
    }
}

extension StudyJSON: FastJSON {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.property("accessionNumber", accessionNumber.value)
        w.key("id"); w.value(id)
        w.property("patientAge", patientAge.value)
        w.key("patientId"); w.value(patientId)
        w.property("studyDate", studyDate.value)
        w.property("studyDescription", studyDescription.value)
        w.property("studyID", studyID.value)
        w.property("studyInstanceUID", studyInstanceUID.value)
        w.endObject()
    }
}

extension SeriesJSON: FastJSON {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.property("bodyPartExamined", bodyPartExamined.value)
        w.property("frameOfReferenceUID", frameOfReferenceUID.value)
        w.key("id"); w.value(id)
        w.property("manufacturer", manufacturer.value)
        w.property("modality", modality.value)
        w.property("protocolName", protocolName.value)
        w.property("seriesDate", seriesDate.value)
        w.property("seriesDescription", seriesDescription.value)
        w.property("seriesInstanceUID", seriesInstanceUID.value)
        w.property("stationName", stationName.value)
        w.key("studyId"); w.value(studyId)
        w.endObject()
    }
}

extension ImageJSON: FastJSON {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.value(id)
        w.property("imageType", imageType.value)
        w.property("instanceNumber", instanceNumber.value)
        w.key("seriesId"); w.value(seriesId)
        w.property("sopInstanceUID", sopInstanceUID.value)
        w.endObject()
    }
}

extension FlatSeriesJSON: FastJSON {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.value(id)
        w.key("patient"); patient.write(to: &w)
        w.key("series"); series.write(to: &w)
        w.key("study"); study.write(to: &w)
        w.endObject()
    }
}
