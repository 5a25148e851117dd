import Foundation
import Codec

// The anonymization entities, named and shaped as seed 003's schemas (`tagValue`, `imageTagValues`,
// `anonymizationKey`, `anonymizationKeyValue`).

/// A value forced into the anonymized data set at a tag path (seed `tagValue`).
public struct TagValue: Sendable, Hashable {
    public var tagPath: TagPath
    public var value: String
    public init(tagPath: TagPath, value: String) { self.tagPath = tagPath; self.value = value }
}

/// The forced values for one image of a bulk anonymization (seed `imageTagValues`).
public struct ImageTagValues: Sendable, Hashable {
    public var imageId: Int64
    public var tagValues: [TagValue]
    public init(imageId: Int64, tagValues: [TagValue] = []) { self.imageId = imageId; self.tagValues = tagValues }
}

/// One anonymized image: its real and anonymous identity (seed `anonymizationKey`). `created` is
/// milliseconds since 1970; `imageId` is the stored image the key describes (the anonymized one
/// when it replaced the original in the store, else the original that was exported).
public struct AnonymizationKey: Sendable, Equatable, Codable {
    public var id: Int64
    public var created: Int64
    public var imageId: Int64
    public var patientName, anonPatientName: String
    public var patientID, anonPatientID: String
    public var studyInstanceUID, anonStudyInstanceUID: String
    public var seriesInstanceUID, anonSeriesInstanceUID: String
    public var sopInstanceUID, anonSOPInstanceUID: String
}

/// One recorded attribute of a key: real and anonymized value (seed `anonymizationKeyValue`).
public struct AnonymizationKeyValue: Sendable, Equatable {
    public var id: Int64
    public var anonymizationKeyId: Int64
    public var tagPath: TagPath
    public var value: String
    public var anonymizedValue: String
    /// The level the attribute belongs to (not in the seed schema): harmonization and reverse
    /// anonymization use the values at and above the level where a key matched.
    public var level: Level
}

/// An attribute recorded in every key, with its level (Slicebox's "value tags").
public struct KeyAttribute: Sendable, Hashable, Codable {
    public var level: Level
    public var tag: Tag

    public init(level: Level, tag: Tag) { self.level = level; self.tag = tag }

    /// The identity every key holds in its own columns, and the de-identification markers.
    public static let identity: [KeyAttribute] = [
        .init(level: .patient, tag: .patientName), .init(level: .patient, tag: .patientID),
        .init(level: .study, tag: .studyInstanceUID), .init(level: .series, tag: .seriesInstanceUID),
        .init(level: .image, tag: .sopInstanceUID),
        .init(level: .image, tag: .patientIdentityRemoved), .init(level: .image, tag: .deidentificationMethod),
    ]

    /// Slicebox's default `anonymization.key-attributes`.
    public static let defaultExtra: [KeyAttribute] = [
        .init(level: .patient, tag: Tag(0x0010_0030)),  // Patient's Birth Date
        .init(level: .study, tag: Tag(0x0008_0050)),    // Accession Number
        .init(level: .study, tag: Tag(0x0008_1030)),    // Study Description
        .init(level: .study, tag: Tag(0x0020_0010)),    // Study ID
        .init(level: .study, tag: Tag(0x0020_0052)),    // Frame of Reference UID (shared by a study's series)
        .init(level: .series, tag: Tag(0x0008_103E)),   // Series Description
        .init(level: .series, tag: Tag(0x0018_1030)),   // Protocol Name
    ]

    enum CodingKeys: String, CodingKey { case level, attribute }

    /// `{"level": "STUDY", "attribute": "AccessionNumber"}`; the attribute may also be a tag "(0008,0050)".
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let levelText = try c.decode(String.self, forKey: .level)
        let attribute = try c.decode(String.self, forKey: .attribute)
        guard let level = Level(rawValue: levelText.uppercased()) else {
            throw NodeError.badRequest("key attribute level '\(levelText)' is not one of PATIENT, STUDY, SERIES, IMAGE")
        }
        guard let tag = Tag(parsing: attribute) else { throw NodeError.badRequest("key attribute '\(attribute)' is not a tag or keyword") }
        self.init(level: level, tag: tag)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(level.rawValue, forKey: .level)
        try c.encode(DataDictionary.entry(for: tag)?.keyword ?? tag.description, forKey: .attribute)
    }
}

/// The anonymization settings of the node (`anonymization` in the configuration file).
public struct AnonymizationSettings: Codable, Sendable, Equatable {
    /// Delete the keys of an image when the image is deleted (Slicebox `purge-empty-keys`).
    public var purgeKeysOfDeletedImages = true
    /// Give incoming anonymized data sets whose key is known their real identity back.
    public var reverseAnonymization = true
    /// Attributes recorded in every key besides the identity (Slicebox `key-attributes`).
    public var keyAttributes: [KeyAttribute] = KeyAttribute.defaultExtra

    public init() {}

    /// Every attribute a key records: the identity first, then the configured ones (each tag once).
    var recordedAttributes: [KeyAttribute] {
        var out = KeyAttribute.identity
        for a in keyAttributes where !out.contains(where: { $0.tag == a.tag }) { out.append(a) }
        return out
    }
}

extension Tag {
    static let patientIdentityRemoved = Tag(0x0012_0062)
    static let deidentificationMethod = Tag(0x0012_0063)
    static let deidentificationMethodCodeSequence = Tag(0x0012_0064)
    static let longitudinalTemporalInformationModified = Tag(0x0028_0303)
}
