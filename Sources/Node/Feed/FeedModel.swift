import Foundation

/// A value of an analysis' `parameters` or `features` map (seed 000 sends strings; numbers and
/// booleans are kept as sent).
public enum FeedValue: Codable, Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        }
    }
}

/// The MRI measurements of seed 000's `mri_image` (field names as the seed has them).
public enum FeedMRI {
    public static let fields = [
        "whole_tumor", "contrast_enhancing", "non_contrast_enhancing",
        "median_adc_tumor", "median_adc_ce", "median_adc_edema",
        "median_cbf_tumor", "median_cbf_ce", "median_cbf_edema",
        "median_cbv_tumor", "median_cbv_ce", "median_cbv_edema",
        "median_mtt_tumor", "median_mtt_ce", "median_mtt_edema",
    ]
}

/// One analysis as stored (seed 000 `analysis`).
public struct FeedAnalysis: Codable, Sendable, Equatable {
    public var id: String
    public var type: String?
    public var parameters: [String: FeedValue]
    public var features: [String: FeedValue]
    public var created: Int64
    public var updated: Int64
}

/// One image record as stored: seed 000's fields plus every analysis of the image (the seed
/// sends one per upload; several uploads may add more) and when it was created and last updated
/// (milliseconds since 1970).
public struct FeedImage: Codable, Sendable, Equatable {
    public var id: String
    public var donor_id: String?
    public var scanning_date: String?
    public var scanning_day: Int64?
    public var mri_image: [String: Double]
    public var analyses: [FeedAnalysis]
    public var created: Int64
    public var updated: Int64
}

/// What one element of a `POST /api/images` batch says. Absent (nil) fields leave the stored
/// value as it is; given ones replace it; map entries merge key by key (seed 000: "missing data
/// will be populated, existing data will be updated").
public struct FeedImagePatch: Sendable, Equatable {
    public var id: String
    public var donorId: String?
    public var scanningDate: String?
    public var scanningDay: Int64?
    /// Measurement name (one of `FeedMRI.fields`) → value.
    public var mri: [String: Double]
    public var analysis: FeedAnalysisPatch?

    public init(id: String, donorId: String? = nil, scanningDate: String? = nil, scanningDay: Int64? = nil,
                mri: [String: Double] = [:], analysis: FeedAnalysisPatch? = nil) {
        self.id = id
        self.donorId = donorId
        self.scanningDate = scanningDate
        self.scanningDay = scanningDay
        self.mri = mri
        self.analysis = analysis
    }
}

public struct FeedAnalysisPatch: Sendable, Equatable {
    public var id: String
    public var type: String?
    public var parameters: [String: FeedValue]
    public var features: [String: FeedValue]

    public init(id: String, type: String? = nil, parameters: [String: FeedValue] = [:], features: [String: FeedValue] = [:]) {
        self.id = id
        self.type = type
        self.parameters = parameters
        self.features = features
    }
}

/// What an upsert did.
public struct FeedUpsertResult: Codable, Sendable, Equatable {
    public var created: [String]
    public var updated: [String]
}

/// A record of a batch that cannot be applied: `field` is its path in the request body
/// (`[2].mri_image.whole_tumor`), so the sender knows which value to fix.
public struct FeedFieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) { self.field = field; self.message = message }
    public var description: String { "\(field): \(message)" }
}
