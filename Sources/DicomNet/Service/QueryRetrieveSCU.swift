import Foundation
import Codec

// The Query/Retrieve SCU of PS3.4 Annex C: C-FIND, C-MOVE and C-GET on an open association.

/// C-MOVE/C-GET progress from a pending response (PS3.4 C.4.2.1.5, C.4.3.1.4).
public struct RetrieveProgress: Sendable, Hashable {
    public var status: DIMSEStatus
    /// Absent in final responses other than Cancel.
    public var remaining: Int?
    public var completed: Int
    public var failed: Int
    public var warning: Int
}

/// The outcome of C-MOVE/C-GET: the final response's status and counts.
public struct RetrieveResult: Sendable, Hashable {
    public var status: DIMSEStatus
    public var completed: Int
    public var failed: Int
    public var warning: Int
    /// Sub-operations not begun, in a Cancel response.
    public var remaining: Int?
    /// (0008,0058) of the final response's identifier (PS3.4 C.4.2.1.4.2).
    public var failedSOPInstanceUIDs: [String]
    public var errorComment: String?
    /// How many pending responses came before the final one.
    public var pendingResponses: Int
}

extension AssociationRequest {
    /// Proposes storage SOP classes with us in the SCP role (SCP/SCU Role Selection, PS3.7 D.3.3.4),
    /// which a C-GET needs: its C-STORE sub-operations come back on this association (PS3.4 C.4.3).
    public mutating func proposeStorageForGet(_ sopClasses: [String],
                                              transferSyntaxes: [String] = [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID]) {
        for uid in sopClasses {
            propose(uid, transferSyntaxes: transferSyntaxes)
            roleSelections.append(RoleSelection(sopClassUID: uid, scuRole: false, scpRole: true))
        }
    }
}

extension Association {
    /// C-FIND (PS3.7 9.1.2, PS3.4 C.4.1): sends `identifier` (with its (0008,0052)) in the
    /// information model `model` (a FIND SOP class UID), hands each match to `onMatch`; when that
    /// returns false, sends C-CANCEL-FIND-RQ (PS3.7 9.3.2.3) and passes no more matches. Returns the
    /// final status: Success, Cancel (FE00H) or a failure.
    public func find(identifier: DataSet, model: String, priority: Priority = .medium, onMatch: (DataSet) -> Bool) throws -> DIMSEStatus {
        let ctx = try queryContext(model)
        let rq = Command.findRequest(messageID: makeMessageID(), sopClassUID: model, priority: priority)
        try send(rq, contextID: ctx.id, dataSet: DicomFile.encode(identifier, transferSyntax: TransferSyntax(uid: ctx.transferSyntax)))
        var cancelSent = false
        while true {
            guard let message = try receive() else { throw AssociationError.released }
            let rsp = message.command
            guard rsp.commandField == .cFindRSP, rsp.messageIDBeingRespondedTo == rq.messageID else {
                try? abort(.unexpectedPDUParameter)
                throw AssociationError.unexpectedResponse("expected C-FIND-RSP to message \(rq.messageID ?? 0), got \(rsp.commandField?.name ?? "unknown")")
            }
            let status = rsp.status ?? .processingFailure
            guard status.category == .pending else { return status }
            // Matches already on their way when we cancelled are dropped.
            guard !cancelSent, let bytes = message.dataSet else { continue }
            let match: DataSet
            do { match = try DicomFile.decode(bytes, transferSyntax: TransferSyntax(uid: message.context.transferSyntax)) } catch {
                try? abort(.reasonNotSpecified)
                throw AssociationError.protocolError("C-FIND-RSP identifier cannot be decoded: \(error)")
            }
            if !onMatch(match) {
                try send(.cancelRequest(messageIDBeingRespondedTo: rq.messageID ?? 0), contextID: ctx.id)
                cancelSent = true
            }
        }
    }

    /// C-MOVE (PS3.7 9.1.4, PS3.4 C.4.2): asks the peer to send what `identifier` names to the AE
    /// `destination`. `onProgress` sees each pending response; returning false sends C-CANCEL-MOVE-RQ.
    public func move(identifier: DataSet, model: String, destination: String, priority: Priority = .medium,
                     onProgress: (RetrieveProgress) -> Bool = { _ in true }) throws -> RetrieveResult {
        let ctx = try queryContext(model)
        let rq = Command.moveRequest(messageID: makeMessageID(), sopClassUID: model, destination: destination, priority: priority)
        try send(rq, contextID: ctx.id, dataSet: DicomFile.encode(identifier, transferSyntax: TransferSyntax(uid: ctx.transferSyntax)))
        return try retrieveResponses(to: rq, contextID: ctx.id, storage: nil, onProgress: onProgress)
    }

    /// C-GET (PS3.7 9.1.3, PS3.4 C.4.3): the instances come back as C-STORE-RQs on this association,
    /// each written to `storage` and answered before the next; the association must have been
    /// requested with storage contexts in the SCP role (`AssociationRequest.proposeStorageForGet`).
    /// `onProgress` sees each pending C-GET-RSP; returning false sends C-CANCEL-GET-RQ.
    public func get(identifier: DataSet, model: String, storage: StorageHandler, priority: Priority = .medium,
                    onProgress: (RetrieveProgress) -> Bool = { _ in true }) throws -> RetrieveResult {
        let ctx = try queryContext(model)
        let rq = Command.getRequest(messageID: makeMessageID(), sopClassUID: model, priority: priority)
        try send(rq, contextID: ctx.id, dataSet: DicomFile.encode(identifier, transferSyntax: TransferSyntax(uid: ctx.transferSyntax)))
        return try retrieveResponses(to: rq, contextID: ctx.id, storage: storage, onProgress: onProgress)
    }

    private func queryContext(_ model: String) throws -> AcceptedPresentationContext {
        guard let ctx = context(for: model) else { throw AssociationError.noPresentationContext(abstractSyntax: model, transferSyntax: nil) }
        return ctx
    }

    /// Reads C-MOVE/C-GET responses (and, for C-GET, the C-STORE sub-operations between them) until the final one.
    private func retrieveResponses(to rq: Command, contextID: UInt8, storage: StorageHandler?,
                                   onProgress: (RetrieveProgress) -> Bool) throws -> RetrieveResult {
        let expected = rq.commandField?.response
        var cancelSent = false
        var pending = 0
        while true {
            var operation: StoreOperation?
            let message: DIMSEMessage
            do {
                guard let m = try receive(sinkFor: { [self] cmd, ctx in
                    guard cmd.commandField == .cStoreRQ, let storage else { return nil }
                    let op = beginStore(cmd, context: ctx, storage: storage)
                    operation = op
                    return op
                }) else { throw AssociationError.released }
                message = m
            } catch {
                operation?.cancel()
                throw error
            }
            let rsp = message.command
            if rsp.commandField == .cStoreRQ, storage != nil {
                // Stored (or refused) before it is answered: success means on disk (StorageHandler).
                let result = operation?.finish() ?? StoreResult(status: .cannotUnderstand, errorComment: "C-STORE-RQ without a data set")
                try send(.storeResponse(to: rsp, status: result.status, errorComment: result.errorComment), contextID: message.context.id)
                continue
            }
            guard rsp.commandField == expected, rsp.messageIDBeingRespondedTo == rq.messageID else {
                try? abort(.unexpectedPDUParameter)
                throw AssociationError.unexpectedResponse("expected \(expected?.name ?? "response") to message \(rq.messageID ?? 0), got \(rsp.commandField?.name ?? "unknown")")
            }
            let status = rsp.status ?? .processingFailure
            let progress = RetrieveProgress(status: status, remaining: rsp.remainingSubOperations.map(Int.init),
                                            completed: Int(rsp.completedSubOperations ?? 0), failed: Int(rsp.failedSubOperations ?? 0),
                                            warning: Int(rsp.warningSubOperations ?? 0))
            if status.category == .pending {
                pending += 1
                if !cancelSent && !onProgress(progress) {
                    try send(.cancelRequest(messageIDBeingRespondedTo: rq.messageID ?? 0), contextID: contextID)
                    cancelSent = true
                }
                continue
            }
            var failedUIDs: [String] = []
            if let bytes = message.dataSet,
               let ds = try? DicomFile.decode(bytes, transferSyntax: TransferSyntax(uid: message.context.transferSyntax)) {
                failedUIDs = ds.strings(.failedSOPInstanceUIDList) ?? []
            }
            return RetrieveResult(status: status, completed: progress.completed, failed: progress.failed, warning: progress.warning,
                                  remaining: progress.remaining, failedSOPInstanceUIDs: failedUIDs, errorComment: rsp.errorComment,
                                  pendingResponses: pending)
        }
    }

    /// A C-GET sub-operation's C-STORE as the storage handler sees it; a handler that refuses
    /// gets the C-STORE answered with A700H instead of ending the C-GET.
    private func beginStore(_ cmd: Command, context ctx: AcceptedPresentationContext, storage: StorageHandler) -> StoreOperation {
        let request = StoreRequest(associationID: id, callingAETitle: peerAETitle, calledAETitle: role == .requestor ? callingAETitle : calledAETitle,
                                   peer: stream.peerDescription, sopClassUID: cmd.affectedSOPClassUID ?? ctx.abstractSyntax,
                                   sopInstanceUID: cmd.affectedSOPInstanceUID ?? "", transferSyntax: TransferSyntax(uid: ctx.transferSyntax),
                                   messageID: cmd.messageID ?? 0, moveOriginatorAETitle: cmd.moveOriginatorAETitle)
        do { return try storage.begin(request) } catch { return RefusedStore(reason: "\(error)") }
    }
}

/// Takes a data set nobody will keep and answers its C-STORE with A700H Out of Resources (PS3.4 B.2.3).
private final class RefusedStore: StoreOperation {
    let reason: String
    init(reason: String) { self.reason = reason }
    func write(_ bytes: UnsafeRawBufferPointer) throws {}
    func finish() -> StoreResult { StoreResult(status: .refusedOutOfResources, errorComment: String(reason.prefix(64))) }
    func cancel() {}
}
