import Codec

/// The levels of the image hierarchy (PS3.4 C.6.1.1.1: patient, study, series, composite instance).
public enum Level: String, Sendable, CaseIterable, Comparable {
    case patient = "PATIENT", study = "STUDY", series = "SERIES", image = "IMAGE"

    var table: String {
        switch self {
        case .patient: return "patients"
        case .study: return "studies"
        case .series: return "series"
        case .image: return "images"
        }
    }
    var rank: Int { Level.allCases.firstIndex(of: self)! }
    public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
}

/// One attribute the index keeps as a column: its tag, its level, the column, and the property
/// name the REST API (seed 003) uses for it.
public struct IndexedAttribute: Sendable {
    public let tag: Tag
    public let level: Level
    public let column: String
    /// The seed 003 property name (`patientName`, …); nil for columns Slicebox does not expose.
    public let property: String?

    /// The attributes kept per level. Seed 003's `patient`, `study`, `series` and `image` fields,
    /// and the C-FIND required and unique keys of PS3.4 C.6.1.1 / C.6.2.1.
    public static let all: [IndexedAttribute] = [
        .init(tag: .patientName, level: .patient, column: "patient_name", property: "patientName"),
        .init(tag: .patientID, level: .patient, column: "patient_id", property: "patientID"),
        .init(tag: Tag(0x0010_0030), level: .patient, column: "patient_birth_date", property: "patientBirthDate"),
        .init(tag: Tag(0x0010_0040), level: .patient, column: "patient_sex", property: "patientSex"),

        .init(tag: .studyInstanceUID, level: .study, column: "study_instance_uid", property: "studyInstanceUID"),
        .init(tag: Tag(0x0008_1030), level: .study, column: "study_description", property: "studyDescription"),
        .init(tag: Tag(0x0008_0020), level: .study, column: "study_date", property: "studyDate"),
        .init(tag: Tag(0x0008_0030), level: .study, column: "study_time", property: nil),
        .init(tag: Tag(0x0020_0010), level: .study, column: "study_id", property: "studyID"),
        .init(tag: Tag(0x0008_0050), level: .study, column: "accession_number", property: "accessionNumber"),
        .init(tag: Tag(0x0010_1010), level: .study, column: "patient_age", property: "patientAge"),
        .init(tag: Tag(0x0008_0090), level: .study, column: "referring_physician_name", property: nil),

        .init(tag: .seriesInstanceUID, level: .series, column: "series_instance_uid", property: "seriesInstanceUID"),
        .init(tag: Tag(0x0008_103E), level: .series, column: "series_description", property: "seriesDescription"),
        .init(tag: Tag(0x0008_0021), level: .series, column: "series_date", property: "seriesDate"),
        .init(tag: Tag(0x0020_0011), level: .series, column: "series_number", property: nil),
        .init(tag: .modality, level: .series, column: "modality", property: "modality"),
        .init(tag: Tag(0x0018_1030), level: .series, column: "protocol_name", property: "protocolName"),
        .init(tag: Tag(0x0018_0015), level: .series, column: "body_part_examined", property: "bodyPartExamined"),
        .init(tag: Tag(0x0008_0070), level: .series, column: "manufacturer", property: "manufacturer"),
        .init(tag: Tag(0x0008_1010), level: .series, column: "station_name", property: "stationName"),
        .init(tag: Tag(0x0020_0052), level: .series, column: "frame_of_reference_uid", property: "frameOfReferenceUID"),

        .init(tag: .sopInstanceUID, level: .image, column: "sop_instance_uid", property: "sopInstanceUID"),
        .init(tag: .sopClassUID, level: .image, column: "sop_class_uid", property: nil),
        .init(tag: Tag(0x0008_0008), level: .image, column: "image_type", property: "imageType"),
        .init(tag: Tag(0x0020_0013), level: .image, column: "instance_number", property: "instanceNumber"),
    ]

    public static func at(_ level: Level) -> [IndexedAttribute] { all.filter { $0.level == level } }
    public static func forTag(_ tag: Tag) -> IndexedAttribute? { all.first { $0.tag == tag } }

    /// The value as the index stores it: decoded strings joined with a backslash, padding trimmed.
    /// PN keeps its `^` and `=` structure; trailing empty components are dropped (PS3.5 6.2.1).
    public func value(in dataSet: DataSet) -> String {
        guard let values = dataSet.strings(tag) else { return "" }
        if DataDictionary.vr(for: tag) == .PN {
            return values.map { trimPersonName($0) }.joined(separator: "\\")
        }
        return values.joined(separator: "\\")
    }
}

/// `Doe^John^^^` and `Doe^John` are the same name (PS3.5 6.2.1): drop trailing empty components
/// and trailing empty component groups.
func trimPersonName(_ s: String) -> String {
    var groups = s.split(separator: "=", omittingEmptySubsequences: false).map { group -> Substring in
        var g = group
        while g.hasSuffix("^") { g = g.dropLast() }
        return g
    }
    while groups.count > 1 && groups.last?.isEmpty == true { groups.removeLast() }
    return groups.joined(separator: "=")
}
