import Codec

// What the Query/Retrieve SCP (QueryRetrieveSCP.swift) asks of whoever holds the instances:
// matches for C-FIND, files for C-MOVE and C-GET. DicomNet knows no store; Node implements these.

/// The Query/Retrieve information models of PS3.4 C.6.1 (Patient Root) and C.6.2 (Study Root),
/// each with its FIND, MOVE and GET SOP classes.
public enum QueryRetrieveModel: String, Sendable, CaseIterable {
    case patientRoot, studyRoot

    public var findSOPClass: String { self == .patientRoot ? "1.2.840.10008.5.1.4.1.2.1.1" : "1.2.840.10008.5.1.4.1.2.2.1" }
    public var moveSOPClass: String { self == .patientRoot ? "1.2.840.10008.5.1.4.1.2.1.2" : "1.2.840.10008.5.1.4.1.2.2.2" }
    public var getSOPClass: String { self == .patientRoot ? "1.2.840.10008.5.1.4.1.2.1.3" : "1.2.840.10008.5.1.4.1.2.2.3" }

    /// The levels of the model's hierarchy, top first (PS3.4 C.6.1.1, C.6.2.1).
    public var levels: [String] { self == .patientRoot ? ["PATIENT", "STUDY", "SERIES", "IMAGE"] : ["STUDY", "SERIES", "IMAGE"] }

    /// The SOP class of `service` (C-FIND, C-MOVE or C-GET, request or response) in this model.
    public func sopClass(for service: CommandField) -> String? {
        switch service.rawValue & 0x7FFF {
        case CommandField.cFindRQ.rawValue: return findSOPClass
        case CommandField.cMoveRQ.rawValue: return moveSOPClass
        case CommandField.cGetRQ.rawValue: return getSOPClass
        default: return nil
        }
    }

    /// The model and service a Q/R SOP class UID names.
    public init?(sopClassUID uid: String) {
        guard let m = QueryRetrieveModel.allCases.first(where: { [$0.findSOPClass, $0.moveSOPClass, $0.getSOPClass].contains(uid) }) else { return nil }
        self = m
    }

    /// All six SOP class UIDs.
    public static let allSOPClasses: [String] = allCases.flatMap { [$0.findSOPClass, $0.moveSOPClass, $0.getSOPClass] }
}

extension Tag {
    /// (0008,0052) Query/Retrieve Level, in every identifier (PS3.4 C.4.1.1.3.1).
    public static let queryRetrieveLevel = Tag(0x0008_0052)
    /// (0008,0058) Failed SOP Instance UID List, in C-MOVE/C-GET final responses (PS3.4 C.4.2.1.4.2).
    public static let failedSOPInstanceUIDList = Tag(0x0008_0058)
}

/// A C-FIND as the handler sees it.
public struct QueryRequest: Sendable {
    public var associationID: String
    public var callingAETitle: String
    public var calledAETitle: String
    /// The information model: a FIND SOP class UID of `QueryRetrieveModel`.
    public var sopClassUID: String
    /// The request identifier: matching keys with values, return keys empty (PS3.4 C.2.2.1).
    public var identifier: DataSet
    /// (0008,0052): PATIENT, STUDY, SERIES or IMAGE, already checked against the model.
    public var level: String

    public init(associationID: String, callingAETitle: String, calledAETitle: String, sopClassUID: String, identifier: DataSet, level: String) {
        self.associationID = associationID
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.sopClassUID = sopClassUID
        self.identifier = identifier
        self.level = level
    }

    public var model: QueryRetrieveModel? { QueryRetrieveModel(sopClassUID: sopClassUID) }
}

/// Answers C-FIND (PS3.4 C.4.1). The SCP sends one Pending response per match (FF00H, or FF01H
/// when `unsupportedKeys` names any), with only the requested keys, then Success, or Cancel (FE00H)
/// after a C-CANCEL-RQ. A thrown `QueryRetrieveError` becomes the final status with its Error
/// Comment (A700H out of resources, A900H identifier does not match SOP class, Cxxx unable to
/// process); any other error becomes C000H.
public protocol QueryHandler: Sendable {
    /// Each match: a data set holding at least the requested keys the handler has values for
    /// (more is fine: the SCP keeps only the requested ones). A lazy sequence is iterated one match
    /// at a time, between which the SCP looks for C-CANCEL-RQ; `isCancelled` lets long eager
    /// work stop early.
    func find(_ request: QueryRequest, isCancelled: () -> Bool) throws -> AnySequence<DataSet>

    /// Optional keys of the request this handler neither matches nor returns: the SCP leaves them
    /// out and answers FF01H (PS3.4 C.4.1.1.4). Default: none.
    func unsupportedKeys(in request: QueryRequest) -> [Tag]
}

extension QueryHandler {
    public func unsupportedKeys(in request: QueryRequest) -> [Tag] { [] }
}

/// A C-MOVE or C-GET as the handler sees it.
public struct RetrieveRequest: Sendable {
    public var associationID: String
    public var callingAETitle: String
    public var calledAETitle: String
    /// A MOVE or GET SOP class UID of `QueryRetrieveModel`.
    public var sopClassUID: String
    /// Unique keys down to `level` (PS3.4 C.4.2.2.1, C.2.2.1.1), possibly lists of UIDs.
    public var identifier: DataSet
    public var level: String
    /// The destination AE title of a C-MOVE; nil for C-GET, whose instances go back to the requestor.
    public var moveDestination: String?

    public init(associationID: String, callingAETitle: String, calledAETitle: String, sopClassUID: String,
                identifier: DataSet, level: String, moveDestination: String?) {
        self.associationID = associationID
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.sopClassUID = sopClassUID
        self.identifier = identifier
        self.level = level
        self.moveDestination = moveDestination
    }

    public var model: QueryRetrieveModel? { QueryRetrieveModel(sopClassUID: sopClassUID) }
}

/// Answers C-MOVE and C-GET (PS3.4 C.4.2, C.4.3) with the instances to send; the SCP does the
/// C-STORE sub-operations. A thrown `QueryRetrieveError` becomes the final status (e.g. A701H
/// unable to calculate the number of matches, A900H); any other error C000H.
public protocol RetrieveHandler: Sendable {
    func instances(for request: RetrieveRequest) throws -> [StorableFile]
}

/// A failure a handler reports with its own status and Error Comment (PS3.7 C.5, PS3.4 C.4).
public struct QueryRetrieveError: Error, Sendable, CustomStringConvertible {
    public var status: DIMSEStatus
    public var errorComment: String?
    /// (0000,0901) Offending Element, e.g. the key that does not belong to the level.
    public var offendingElements: [Tag]?

    public init(status: DIMSEStatus, errorComment: String? = nil, offendingElements: [Tag]? = nil) {
        self.status = status
        self.errorComment = errorComment
        self.offendingElements = offendingElements
    }

    /// A900H: the identifier does not fit the information model.
    public static func identifierDoesNotMatch(_ comment: String, offending: [Tag]? = nil) -> QueryRetrieveError {
        QueryRetrieveError(status: .identifierDoesNotMatchSOPClass, errorComment: comment, offendingElements: offending)
    }

    /// C000H: the SCP could not carry out the request.
    public static func unableToProcess(_ comment: String) -> QueryRetrieveError {
        QueryRetrieveError(status: .unableToProcess, errorComment: comment)
    }

    public var description: String { status.description + (errorComment.map { ": \($0)" } ?? "") }
}
