import Foundation

/// Where a stage of the analysis (and the job as a whole) stands. The seed's status fields start
/// at `Pending`; a stage moves to `In Progress` and ends `Done` or `Failed`, `Stopped` when the
/// user stopped the job during it, `Skipped` when it did not run (no prediction command, or an
/// earlier stage failed). The job as a whole is also `Queued` while it waits for a worker.
public enum PathologyStageStatus: String, Sendable, CaseIterable {
    case pending = "Pending"
    case queued = "Queued"
    case inProgress = "In Progress"
    case done = "Done"
    case failed = "Failed"
    case stopped = "Stopped"
    case skipped = "Skipped"
}

/// The stages of the analysis pipeline, in the order they run, with the status column and the
/// log type each one writes.
public enum PathologyStage: String, Sendable, CaseIterable {
    case tiling = "Tiling"
    case tissueArea = "TissueArea"
    case annotation = "Annotation"
    case outcomePrediction = "OutcomePrediction"

    var column: String {
        switch self {
        case .tiling: return "tiling_status"
        case .tissueArea: return "tissuearea_status"
        case .annotation: return "annotation_status"
        case .outcomePrediction: return "outcome_status"
        }
    }
}

/// One image record of seed 001 (`<image_object>`), as stored. The REST side renders it with
/// the seed's field names.
public struct PathologyImage: Sendable, Equatable {
    public var id: Int64
    /// 32 lowercase hex digits (a random 128-bit value), the seed's `image_unique_id`.
    public var imageUniqueId: String
    public var ownerId: Int64
    public var patientId: String?
    public var entityId: String?
    public var workareaId: String?
    public var studyId: String?
    public var filename: String
    public var location: String?
    public var description: String?
    /// UTC, `yyyy-MM-dd HH:mm:ss.SSSSSS` as in the seed.
    public var adddate: String
    public var moddate: String
    /// The record's status: `In Progress` until the file is uploaded, then `Uploaded`; clients
    /// may set their own values with `PUT /Images/<id>` (the seed does).
    public var status: String
    /// Bytes of the uploaded file; nil until an upload was accepted.
    public var fileSize: Int64?
    public var width: Int?
    public var height: Int?
    public var tileCount: Int?
    /// Tissue area in pixels of the full-resolution image, and as a share of it.
    public var tissueArea: Int64?
    public var tissueAreaPercent: Double?
    /// What the prediction command printed (nil until it ran).
    public var outcomePrediction: String?
    /// The `metric` member of the command's JSON output, when it printed a JSON object with one.
    public var metric: String?
    public var tilingStatus: PathologyStageStatus
    public var tissueAreaStatus: PathologyStageStatus
    public var annotationStatus: PathologyStageStatus
    public var outcomeStatus: PathologyStageStatus
    /// The job as a whole: Pending (never run), Queued, In Progress, Done, Failed, Stopped.
    public var predictStatus: PathologyStageStatus
    public var predictRun: Int64
    /// The owner first, then every user the image is shared with.
    public var shared: [Int64]

    public var hasFile: Bool { fileSize != nil }

    public func status(of stage: PathologyStage) -> PathologyStageStatus {
        switch stage {
        case .tiling: return tilingStatus
        case .tissueArea: return tissueAreaStatus
        case .annotation: return annotationStatus
        case .outcomePrediction: return outcomeStatus
        }
    }
}

/// The fields of a new record (`POST /Images`) or a change (`PUT /Images/<id>`): nil leaves a
/// field alone (or empty for a new record).
public struct PathologyImageFields: Sendable, Equatable {
    public var patientId: String?
    public var entityId: String?
    public var workareaId: String?
    public var studyId: String?
    public var filename: String?
    public var location: String?
    public var description: String?
    public var status: String?
    public init(patientId: String? = nil, entityId: String? = nil, workareaId: String? = nil, studyId: String? = nil,
                filename: String? = nil, location: String? = nil, description: String? = nil, status: String? = nil) {
        self.patientId = patientId
        self.entityId = entityId
        self.workareaId = workareaId
        self.studyId = studyId
        self.filename = filename
        self.location = location
        self.description = description
        self.status = status
    }
}

/// One log line of an image (`<log_object>` of `GET /LogInfo`): written by users (`POST
/// /LogInfo`) and by the pipeline, one per stage event.
public struct PathologyLogEntry: Sendable, Equatable {
    public var id: Int64
    public var imageId: Int64
    public var imageUniqueId: String
    public var type: String
    public var message: String
    /// The user who wrote it; nil for the pipeline.
    public var userId: Int64?
    public var adddate: String
}

/// Who asks, for the visibility rules: an image is visible to its owner, the users it is shared
/// with, and administrators.
public struct PathologyViewer: Sendable, Equatable {
    public var userId: Int64
    public var isAdministrator: Bool
    public init(userId: Int64, isAdministrator: Bool) {
        self.userId = userId
        self.isAdministrator = isAdministrator
    }
}

/// What a viewer may do with an image: nothing (it does not exist for them), read it (shared
/// with them: read, download, logs, annotations, run the analysis), or manage it (owner or
/// administrator: also change, upload, share, delete).
public enum PathologyAccess: Int, Sendable, Comparable {
    case none = 0, read = 1, manage = 2
    public static func < (a: PathologyAccess, b: PathologyAccess) -> Bool { a.rawValue < b.rawValue }
}

enum PathologyClock {
    /// The seed's timestamp form, UTC with microseconds: `2022-08-17 06:59:27.530508`.
    static func now() -> String { format(Date()) }

    static func format(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t.rounded(.down))
        let micros = Int(((t - Double(seconds)) * 1_000_000).rounded(.down))
        var tm = tm()
        gmtime_r(&seconds, &tm)
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        let m = String(micros)
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2)) "
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(String(repeating: "0", count: 6 - m.count))\(m)"
    }
}
