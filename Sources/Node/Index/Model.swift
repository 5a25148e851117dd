import Foundation

// The entities of the index, named and shaped as seed 003's schemas (`patient`, `study`,
// `series`, `image`, `flatSeries`, `source`, `logEntry`, `scp`, `scu`).

public struct Patient: Sendable, Equatable {
    public var id: Int64
    public var patientName, patientID, patientBirthDate, patientSex: String
}

public struct Study: Sendable, Equatable {
    public var id: Int64
    public var patientId: Int64
    public var studyInstanceUID, studyDescription, studyDate, studyID, accessionNumber, patientAge: String
}

public struct Series: Sendable, Equatable {
    public var id: Int64
    public var studyId: Int64
    public var seriesInstanceUID, seriesDescription, seriesDate, modality, protocolName,
               bodyPartExamined, manufacturer, stationName, frameOfReferenceUID: String
}

public struct Image: Sendable, Equatable {
    public var id: Int64
    public var seriesId: Int64
    public var sopInstanceUID, imageType, instanceNumber: String
}

public struct FlatSeries: Sendable, Equatable {
    public var id: Int64 { series.id }
    public var patient: Patient
    public var study: Study
    public var series: Series
}

/// Where an image came from (Slicebox `source`): a user upload, a box, a watched directory,
/// an SCP, an import session.
public enum SourceType: String, Sendable, CaseIterable {
    case user, box, directory, scp, `import`, unknown
}

public struct Source: Sendable, Equatable, Hashable {
    public var type: SourceType
    public var name: String
    public var id: Int64
    public init(type: SourceType, name: String, id: Int64) {
        self.type = type
        self.name = name
        self.id = id
    }
    public static let unknown = Source(type: .unknown, name: "unknown", id: -1)
}

/// A stored image with what is needed to read and send it.
public struct StoredImage: Sendable, Equatable {
    public var image: Image
    public var sopClassUID: String
    public var transferSyntaxUID: String
    public var storageKey: String
    public var fileSize: Int64
    public var checksum: UInt64
    public var created: Int64
    public var source: Source
}

public enum LogEntryType: String, Sendable, CaseIterable {
    case DEFAULT, INFO, WARN, ERROR
}

public struct LogEntry: Sendable, Equatable {
    public var id: Int64
    /// Milliseconds since 1970, as Slicebox.
    public var created: Int64
    public var entryType: LogEntryType
    public var subject: String
    public var message: String
}

/// A managed SCP: its own listener with its AE title (seed 003 `scp`).
public struct SCPEntity: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var aeTitle: String
    public var port: Int
}

/// A managed SCU: a remote AE the node sends to and moves to (seed 003 `scu`).
public struct SCUEntity: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var aeTitle: String
    public var host: String
    public var port: Int
}
