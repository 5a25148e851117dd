import Codec

/// One C-STORE as the SCP sees it before the data set arrives.
public struct StoreRequest: Sendable {
    public var associationID: String
    public var callingAETitle: String
    public var calledAETitle: String
    public var peer: String
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var transferSyntax: TransferSyntax
    public var messageID: UInt16
    public var moveOriginatorAETitle: String?
}

/// The result the SCP answers with (PS3.4 B.2.3 statuses).
public struct StoreResult: Sendable {
    public var status: DIMSEStatus
    public var errorComment: String?
    public init(status: DIMSEStatus, errorComment: String? = nil) {
        self.status = status
        self.errorComment = errorComment
    }
    public static let success = StoreResult(status: .success)
}

/// A C-STORE in progress: the data set is written to it as it arrives; `finish` makes it durable
/// and returns the status to send. Only after `finish` returns is the response sent, so success
/// means stored (the node's promise: never lose an acknowledged image).
public protocol StoreOperation: DataSetSink {
    func finish() -> StoreResult
    /// The association ended before the data set was complete: discard what was written.
    func cancel()
}

/// Where an SCP puts received instances. Node implements it with its store and index.
public protocol StorageHandler: Sendable {
    func begin(_ request: StoreRequest) throws -> StoreOperation
}
