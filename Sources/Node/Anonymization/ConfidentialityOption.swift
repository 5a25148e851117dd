import Foundation

/// The Basic Application Level Confidentiality Profile and its options (PS3.15 E.2, E.3), named,
/// titled and ranked as Slicebox's `confidentialityOption` (seed 003): when two options of a profile
/// give an attribute different actions, the option of highest rank wins.
public struct ConfidentialityOption: Sendable, Hashable, Codable {
    public var name: String
    public var title: String
    public var description: String
    public var rank: Int

    public init(name: String, title: String, description: String, rank: Int) {
        self.name = name
        self.title = title
        self.description = description
        self.rank = rank
    }

    public static let basicProfile = ConfidentialityOption(name: "BASIC_PROFILE", title: "Basic Profile", description: "Basic Profile", rank: 10)
    public static let cleanPixelData = ConfidentialityOption(name: "CLEAN_PIXEL_DATA", title: "Clean Pixel Data", description: "Clean Pixel Data", rank: 20)
    public static let cleanRecognizableVisualFeatures = ConfidentialityOption(
        name: "CLEAN_RECOGNIZABLE_VISUAL_FEATURES", title: "Clean Visual Features", description: "Clean Recognizable Visual Features", rank: 30)
    public static let cleanGraphics = ConfidentialityOption(name: "CLEAN_GRAPHICS", title: "Clean Graphics", description: "Clean Graphics", rank: 40)
    public static let cleanStructuredContent = ConfidentialityOption(
        name: "CLEAN_STRUCTURED_CONTENT", title: "Clean Structured Content", description: "Clean Structured Content", rank: 50)
    public static let cleanDescriptors = ConfidentialityOption(name: "CLEAN_DESCRIPTORS", title: "Clean Descriptors", description: "Clean Descriptors", rank: 60)
    public static let retainLongitudinalTemporalInformation = ConfidentialityOption(
        name: "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION", title: "Retain Temporal Info",
        description: "Retain Longitudinal Temporal Information", rank: 70)
    public static let retainLongitudinalTemporalInformationModifiedDates = ConfidentialityOption(
        name: "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES", title: "Retain Modified Temporal Info",
        description: "Retain Longitudinal Temporal Information with Modified Dates", rank: 80)
    public static let retainPatientCharacteristics = ConfidentialityOption(
        name: "RETAIN_PATIENT_CHARACTERISTICS", title: "Retain Patient Characteristics", description: "Retain Patient Characteristics", rank: 90)
    public static let retainDeviceIdentity = ConfidentialityOption(
        name: "RETAIN_DEVICE_IDENTITY", title: "Retain Device Identity", description: "Retain Device Identity", rank: 100)
    public static let retainInstitutionIdentity = ConfidentialityOption(
        name: "RETAIN_INSTITUTION_IDENTITY", title: "Retain Institution Identity", description: "Retain Institution Identity", rank: 110)
    public static let retainUIDs = ConfidentialityOption(name: "RETAIN_UIDS", title: "Retain UIDs", description: "Retain UIDs", rank: 120)
    public static let retainSafePrivate = ConfidentialityOption(
        name: "RETAIN_SAFE_PRIVATE", title: "Retain Safe Private Attributes", description: "Retain Safe Private Attributes", rank: 130)

    /// Every option this node applies. The two pixel options need image processing (finding and
    /// blanking burned-in text or faces) and are refused.
    public static let supported: [ConfidentialityOption] = [
        .basicProfile, .cleanGraphics, .cleanStructuredContent, .cleanDescriptors,
        .retainLongitudinalTemporalInformation, .retainLongitudinalTemporalInformationModifiedDates,
        .retainPatientCharacteristics, .retainDeviceIdentity, .retainInstitutionIdentity, .retainUIDs, .retainSafePrivate,
    ]
    static let unsupported: [ConfidentialityOption] = [.cleanPixelData, .cleanRecognizableVisualFeatures]

    /// The list a client chooses from (seed 003 `GET /anonymization/options`): the supported options
    /// except the Basic Profile, which every profile includes.
    public static var selectable: [ConfidentialityOption] { supported.filter { $0 != .basicProfile } }

    /// The option with this name; a client may send the name alone.
    public static func named(_ name: String) throws -> ConfidentialityOption {
        if let o = supported.first(where: { $0.name == name }) { return o }
        if unsupported.contains(where: { $0.name == name }) {
            throw NodeError.badRequest("anonymization option \(name) is not supported: it needs changes to the pixel data")
        }
        throw NodeError.badRequest("unknown anonymization option '\(name)'; known: \(supported.map(\.name).joined(separator: ", "))")
    }

    /// The Table E.1-1 column of this option (nil for the Basic Profile's own column).
    var column: ProfileColumn? {
        switch name {
        case ConfidentialityOption.retainSafePrivate.name: return .retainSafePrivate
        case ConfidentialityOption.retainUIDs.name: return .retainUIDs
        case ConfidentialityOption.retainDeviceIdentity.name: return .retainDeviceIdentity
        case ConfidentialityOption.retainInstitutionIdentity.name: return .retainInstitutionIdentity
        case ConfidentialityOption.retainPatientCharacteristics.name: return .retainPatientCharacteristics
        case ConfidentialityOption.retainLongitudinalTemporalInformation.name: return .retainLongitudinalFullDates
        case ConfidentialityOption.retainLongitudinalTemporalInformationModifiedDates.name: return .retainLongitudinalModifiedDates
        case ConfidentialityOption.cleanDescriptors.name: return .cleanDescriptors
        case ConfidentialityOption.cleanStructuredContent.name: return .cleanStructuredContent
        case ConfidentialityOption.cleanGraphics.name: return .cleanGraphics
        default: return nil
        }
    }

    /// The CID 7050 code (PS3.16) naming this option in De-identification Method Code Sequence
    /// (0012,0064), which PS3.15 E.1.1 requires for every profile and option applied.
    var methodCode: (value: String, meaning: String)? {
        switch name {
        case ConfidentialityOption.basicProfile.name: return ("113100", "Basic Application Confidentiality Profile")
        case ConfidentialityOption.cleanGraphics.name: return ("113103", "Clean Graphics Option")
        case ConfidentialityOption.cleanStructuredContent.name: return ("113104", "Clean Structured Content Option")
        case ConfidentialityOption.cleanDescriptors.name: return ("113105", "Clean Descriptors Option")
        case ConfidentialityOption.retainLongitudinalTemporalInformation.name:
            return ("113106", "Retain Longitudinal Temporal Information Full Dates Option")
        case ConfidentialityOption.retainLongitudinalTemporalInformationModifiedDates.name:
            return ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
        case ConfidentialityOption.retainPatientCharacteristics.name: return ("113108", "Retain Patient Characteristics Option")
        case ConfidentialityOption.retainDeviceIdentity.name: return ("113109", "Retain Device Identity Option")
        case ConfidentialityOption.retainUIDs.name: return ("113110", "Retain UIDs Option")
        case ConfidentialityOption.retainSafePrivate.name: return ("113111", "Retain Safe Private Option")
        case ConfidentialityOption.retainInstitutionIdentity.name: return ("113112", "Retain Institution Identity Option")
        default: return nil
        }
    }
}

/// A set of options (seed 003 `anonymizationProfile`). The Basic Profile is always part of it:
/// PS3.15 E.3 defines the options as changes to the Basic Profile, and an option alone would leave
/// every attribute it does not name untouched (Slicebox applies exactly the listed options to a
/// single image, so `{"options":[{"name":"RETAIN_UIDS"}]}` anonymized nothing there).
public struct AnonymizationProfile: Sendable, Hashable, Codable {
    public private(set) var options: [ConfidentialityOption]

    /// Options are matched by name (title, description and rank from a client are not trusted);
    /// unknown and unsupported names are refused.
    public init(options: [ConfidentialityOption] = []) throws {
        var resolved = [ConfidentialityOption.basicProfile]
        for o in options {
            let known = try ConfidentialityOption.named(o.name)
            if !resolved.contains(known) { resolved.append(known) }
        }
        self.options = resolved.sorted { $0.rank < $1.rank }
    }

    public init(names: [String]) throws {
        try self.init(options: names.map { ConfidentialityOption(name: $0, title: "", description: "", rank: 0) })
    }

    public static let basic = try! AnonymizationProfile()

    public init(from decoder: Decoder) throws {
        struct Named: Decodable { var name: String }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let names = try c.decodeIfPresent([Named].self, forKey: .options) ?? []
        try self.init(names: names.map(\.name))
    }

    public func contains(_ option: ConfidentialityOption) -> Bool { options.contains { $0.name == option.name } }

    /// Option columns to consult for an attribute, highest rank first (the Basic Profile last).
    var columnsByRank: [ProfileColumn] {
        options.sorted { $0.rank > $1.rank }.compactMap(\.column)
    }

    /// De-identification Method (0012,0063): one value per option description (Slicebox joins them
    /// with " - " into one value, which outgrows LO's 64 characters with three options).
    var methodDescriptions: [String] { options.map(\.description) }
}
