import Foundation

// The entities of the index, named and shaped as seed 003's schemas (`patient`, `study`,
// `series`, `image`, `flatSeries`, `source`, `logEntry`, `scp`, `scu`).

public struct Patient: Sendable, Equatable {
    public var id: Int64
    public var patientName, patientID, patientBirthDate, patientSex: String
    public init(id: Int64, patientName: String, patientID: String, patientBirthDate: String, patientSex: String) {
        self.id = id; self.patientName = patientName; self.patientID = patientID; self.patientBirthDate = patientBirthDate; self.patientSex = patientSex
    }
}

public struct Study: Sendable, Equatable {
    public var id: Int64
    public var patientId: Int64
    public var studyInstanceUID, studyDescription, studyDate, studyID, accessionNumber, patientAge: String
    public init(id: Int64, patientId: Int64, studyInstanceUID: String, studyDescription: String, studyDate: String, studyID: String,
                accessionNumber: String, patientAge: String) {
        self.id = id; self.patientId = patientId; self.studyInstanceUID = studyInstanceUID; self.studyDescription = studyDescription
        self.studyDate = studyDate; self.studyID = studyID; self.accessionNumber = accessionNumber; self.patientAge = patientAge
    }
}

public struct Series: Sendable, Equatable {
    public var id: Int64
    public var studyId: Int64
    public var seriesInstanceUID, seriesDescription, seriesDate, modality, protocolName,
               bodyPartExamined, manufacturer, stationName, frameOfReferenceUID: String
    public init(id: Int64, studyId: Int64, seriesInstanceUID: String, seriesDescription: String, seriesDate: String, modality: String,
                protocolName: String, bodyPartExamined: String, manufacturer: String, stationName: String, frameOfReferenceUID: String) {
        self.id = id; self.studyId = studyId; self.seriesInstanceUID = seriesInstanceUID; self.seriesDescription = seriesDescription
        self.seriesDate = seriesDate; self.modality = modality; self.protocolName = protocolName; self.bodyPartExamined = bodyPartExamined
        self.manufacturer = manufacturer; self.stationName = stationName; self.frameOfReferenceUID = frameOfReferenceUID
    }
}

public struct Image: Sendable, Equatable {
    public var id: Int64
    public var seriesId: Int64
    public var sopInstanceUID, imageType, instanceNumber: String
    public init(id: Int64, seriesId: Int64, sopInstanceUID: String, imageType: String, instanceNumber: String) {
        self.id = id; self.seriesId = seriesId; self.sopInstanceUID = sopInstanceUID; self.imageType = imageType; self.instanceNumber = instanceNumber
    }
}

public struct FlatSeries: Sendable, Equatable {
    public var id: Int64 { series.id }
    public var patient: Patient
    public var study: Study
    public var series: Series
    public init(patient: Patient, study: Study, series: Series) { self.patient = patient; self.study = study; self.series = series }
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
