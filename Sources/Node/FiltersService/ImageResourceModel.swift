import Foundation

/// Seed 002 `ImageInfo`: how the image was acquired and the gray map applied to it. A subset of
/// the modality API's ImageInfo, so clients may send the whole of that object: other keys are
/// ignored.
public struct ImageInfo: Codable, Sendable, Equatable {
    public struct AcquisitionInfo: Codable, Sendable, Equatable {
        /// `Binned2x2` or `Unbinned` (the seed's example spells it `Binned2X2`: case is not
        /// significant; the value is kept as sent).
        public var binning: String
        public init(binning: String) { self.binning = binning }
    }

    public struct LUTInfo: Codable, Sendable, Equatable {
        public var gamma: Double
        public var slope: Double
        public var offset: Double
        /// Gray values of the original (unmapped) image, e.g. 4096 for 12 bits.
        public var totalGrays: Int
        public var minimumGray: Int
        public var maximumGray: Int
        public init(gamma: Double, slope: Double, offset: Double, totalGrays: Int, minimumGray: Int, maximumGray: Int) {
            self.gamma = gamma
            self.slope = slope
            self.offset = offset
            self.totalGrays = totalGrays
            self.minimumGray = minimumGray
            self.maximumGray = maximumGray
        }

        enum CodingKeys: String, CodingKey { case gamma, slope, offset, totalGrays, minimumGray, maximumGray }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            gamma = try c.decode(Double.self, forKey: .gamma)
            slope = try c.decode(Double.self, forKey: .slope)
            offset = try c.decode(Double.self, forKey: .offset)
            // JSON has one number type: an integer field must hold a whole number (4096, not 4096.5).
            func integer(_ key: CodingKeys) throws -> Int {
                let v = try c.decode(Double.self, forKey: key)
                guard v.rounded() == v, abs(v) <= 1e15 else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected an integer, got \(v)")
                }
                return Int(v)
            }
            totalGrays = try integer(.totalGrays)
            minimumGray = try integer(.minimumGray)
            maximumGray = try integer(.maximumGray)
        }
    }

    public var acquisitionInfo: AcquisitionInfo
    public var lutInfo: LUTInfo

    public init(acquisitionInfo: AcquisitionInfo, lutInfo: LUTInfo) {
        self.acquisitionInfo = acquisitionInfo
        self.lutInfo = lutInfo
    }

    public static let binnings = ["Binned2x2", "Unbinned"]

    /// Checks what the seed says of each field; the error names the field.
    public func validate() throws {
        guard Self.binnings.contains(where: { $0.caseInsensitiveCompare(acquisitionInfo.binning) == .orderedSame }) else {
            throw NodeError.badRequest("imageInfo.acquisitionInfo.binning must be one of \(Self.binnings.joined(separator: ", ")), not '\(acquisitionInfo.binning)'")
        }
        let l = lutInfo
        for (name, v) in [("gamma", l.gamma), ("slope", l.slope), ("offset", l.offset)] where !v.isFinite {
            throw NodeError.badRequest("imageInfo.lutInfo.\(name) must be a finite number")
        }
        guard l.gamma > 0 else { throw NodeError.badRequest("imageInfo.lutInfo.gamma must be positive, not \(l.gamma)") }
        // A 16-bit image has at most 65536 gray values.
        guard (1...65536).contains(l.totalGrays) else {
            throw NodeError.badRequest("imageInfo.lutInfo.totalGrays must be 1 to 65536, not \(l.totalGrays)")
        }
        for (name, v) in [("minimumGray", l.minimumGray), ("maximumGray", l.maximumGray)] where !(0..<l.totalGrays).contains(v) {
            throw NodeError.badRequest("imageInfo.lutInfo.\(name) must be 0 to totalGrays-1 (\(l.totalGrays - 1)), not \(v)")
        }
    }
}

/// Seed 002 `ModalitySession`: the session and image a resource was made from.
public struct ModalitySessionReference: Codable, Sendable, Equatable {
    public var sessionId: String
    public var imageId: String
    public init(sessionId: String, imageId: String) {
        self.sessionId = sessionId
        self.imageId = imageId
    }
}

/// Seed 002 `ImageResource` as stored; the REST edge adds `url` and formats the timestamps.
public struct ImageResource: Sendable, Equatable {
    public var id: String
    public var mediaType: String
    public var mediaSize: Int64
    public var width: Int
    public var height: Int
    /// Milliseconds since 1970.
    public var createdOn: Int64
    public var expires: Int64
    public var imageInfo: ImageInfo
    public var modalitySession: ModalitySessionReference?
}

/// A modality session: a time span in which images sent by one modality (its calling AE title)
/// count as acquired in the session.
public struct ModalitySession: Sendable, Equatable {
    public var id: String
    /// The modality's AE title: the calling AE title of its C-STORE associations.
    public var aeTitle: String
    public var name: String
    /// When set, only series with this Modality (0008,0060) count.
    public var modality: String?
    /// Milliseconds since 1970.
    public var startedOn: Int64
    public var endedOn: Int64?
    public var active: Bool { endedOn == nil }
}

/// An image acquired in a modality session: stored by the node, received over C-STORE from the
/// session's AE title while the session was active.
public struct AcquiredImage: Sendable, Equatable {
    /// The node's image id (as in seed 003 `/api/images/{id}`).
    public var imageId: Int64
    public var sopInstanceUID: String
    public var seriesInstanceUID: String
    public var modality: String
    public var stationName: String
    /// Milliseconds since 1970: when the node stored it.
    public var acquiredOn: Int64
    public var storageKey: String
    public var transferSyntaxUID: String
}
