import Foundation
import Codec

// The Query/Retrieve SCP of PS3.4 Annex C: C-FIND, C-MOVE and C-GET for the Patient Root and
// Study Root information models, answered from the server's `queryHandler` and `retrieveHandler`.
// Each operation runs to its end on the association's own thread (one operation at a time,
// PS3.7 D.3.3.3); between matches and sub-operations it looks for C-CANCEL-RQ without blocking.

extension AcceptorPolicy {
    /// Transfer syntaxes for the Q/R contexts: identifiers are small, native is all anyone proposes.
    public static let queryRetrieveTransferSyntaxes = [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID]

    /// `storageSCP` plus FIND, MOVE and GET of Patient Root and Study Root. The storage classes stay:
    /// a C-GET requestor proposes them with the SCP role for the C-STORE sub-operations that come
    /// back on the same association (PS3.4 C.4.3, PS3.7 D.3.3.4).
    public static func queryRetrieveSCP(aeTitle: String) -> AcceptorPolicy {
        var policy = storageSCP(aeTitle: aeTitle)
        for uid in QueryRetrieveModel.allSOPClasses { policy.supportedSyntaxes[uid] = queryRetrieveTransferSyntaxes }
        return policy
    }
}

/// Progress of C-MOVE/C-GET sub-operations (PS3.4 C.4.2.1.5, C.4.3.1.4: the four counts).
struct SubOperationCounts {
    var remaining: Int
    var completed = 0
    var failed = 0
    var warning = 0
    var failedInstances: [String] = []

    init(total: Int) { remaining = total }

    /// Counts one C-STORE by its status class (PS3.4 C.4.2.3.1: a failure lists the instance).
    mutating func record(_ status: DIMSEStatus, instance: String) {
        remaining -= 1
        switch status.category {
        case .success: completed += 1
        case .warning: warning += 1
        default: failed += 1; failedInstances.append(instance)
        }
    }

    mutating func fail(_ instance: String) { record(.processingFailure, instance: instance) }
}

extension DicomServer {
    // MARK: C-FIND (PS3.4 C.4.1)

    func handleFind(_ message: DIMSEMessage, on assoc: Association) throws {
        let rq = message.command
        let contextID = message.context.id
        guard let handler = queryHandler else {
            return try refuse(message, on: assoc, QueryRetrieveError(status: .sopClassNotSupported, errorComment: "this SCP answers no queries"))
        }
        guard let (_, identifier, level) = try checkedIdentifier(message, on: assoc) else { return }
        let request = QueryRequest(associationID: assoc.id, callingAETitle: assoc.callingAETitle, calledAETitle: assoc.calledAETitle,
                                   sopClassUID: rq.affectedSOPClassUID ?? message.context.abstractSyntax, identifier: identifier, level: level)
        let unsupported = Set(handler.unsupportedKeys(in: request))
        let pendingStatus: DIMSEStatus = unsupported.isEmpty ? .pending : .pendingWithWarnings
        let messageID = rq.messageID ?? 0
        let ts = TransferSyntax(uid: message.context.transferSyntax)

        // PS3.7 9.3.2.3: a C-CANCEL-FIND-RQ may come at any time; we look between matches.
        var cancelled = false
        var connectionError: Error?
        let isCancelled: () -> Bool = {
            guard !cancelled, connectionError == nil else { return true }
            do { cancelled = try assoc.pollCancel(for: messageID) } catch { connectionError = error }
            return cancelled || connectionError != nil
        }
        var matches = 0
        do {
            for match in try handler.find(request, isCancelled: isCancelled) {
                if isCancelled() { break }
                let bytes = try DicomFile.encode(DicomServer.responseIdentifier(match, keys: identifier, level: level, leavingOut: unsupported),
                                                 transferSyntax: ts)
                try assoc.send(.findResponse(to: rq, status: pendingStatus, hasIdentifier: true), contextID: contextID, dataSet: bytes)
                matches += 1
            }
        } catch let e as AssociationError {
            throw e
        } catch {
            if let connectionError { throw connectionError }
            return try refuse(message, on: assoc, DicomServer.failure(from: error), matches: matches)
        }
        if let connectionError { throw connectionError }
        let status: DIMSEStatus = cancelled ? .cancel : .success
        try assoc.send(.findResponse(to: rq, status: status, hasIdentifier: false), contextID: contextID)
        log.log(.info, "dimse", "C-FIND", ["assoc": assoc.id, "calling": assoc.callingAETitle, "level": level,
                                           "matches": "\(matches)", "status": status.hexCode])
    }

    /// The pending response's identifier (PS3.4 C.4.1.1.3.2): the requested keys only, with the
    /// match's values or empty, plus (0008,0052) and the match's (0008,0005), in whose character set its values are.
    /// A sequence key with an item of keys returns those keys of each item (PS3.4 C.2.2.2.6).
    static func responseIdentifier(_ match: DataSet, keys: DataSet, level: String, leavingOut: Set<Tag>) -> DataSet {
        var out = filtered(match, keys: keys, leavingOut: leavingOut)
        var value = Array(level.utf8)
        if value.count % 2 == 1 { value.append(0x20) }
        out.set(DataElement(tag: .queryRetrieveLevel, vr: .CS, bytes: value))
        return out
    }

    private static func filtered(_ match: DataSet, keys: DataSet, leavingOut: Set<Tag>) -> DataSet {
        var out = DataSet()
        if let charset = match[.specificCharacterSet] { out.set(charset) }
        for key in keys.elements where !key.tag.isGroupLength && key.tag != .specificCharacterSet
            && key.tag != .queryRetrieveLevel && !leavingOut.contains(key.tag) {
            guard var element = match[key.tag] else {
                // Asked for but unknown here: returned empty (PS3.4 C.4.1.1.3.2).
                out.set(DataElement(tag: key.tag, vr: key.vr, value: key.vr == .SQ ? .sequence([]) : .bytes([])))
                continue
            }
            if case .sequence(let keyItems) = key.value, let itemKeys = keyItems.first, !itemKeys.isEmpty,
               case .sequence(let items) = element.value {
                element.value = .sequence(items.map { filtered($0, keys: itemKeys, leavingOut: []) })
            }
            out.set(element)
        }
        return out
    }

    // MARK: C-MOVE (PS3.4 C.4.2)

    func handleMove(_ message: DIMSEMessage, on assoc: Association) throws {
        let rq = message.command
        guard let handler = retrieveHandler else {
            return try refuse(message, on: assoc, QueryRetrieveError(status: .sopClassNotSupported, errorComment: "this SCP retrieves nothing"))
        }
        guard let (_, identifier, level) = try checkedIdentifier(message, on: assoc) else { return }
        let destinationAE = rq.moveDestination ?? ""
        guard let address = moveDestinations?.destination(forAETitle: destinationAE) else {
            return try refuse(message, on: assoc, QueryRetrieveError(status: .moveDestinationUnknown, errorComment: "Move Destination unknown: \(destinationAE)"))
        }
        let request = RetrieveRequest(associationID: assoc.id, callingAETitle: assoc.callingAETitle, calledAETitle: assoc.calledAETitle,
                                      sopClassUID: rq.affectedSOPClassUID ?? message.context.abstractSyntax, identifier: identifier,
                                      level: level, moveDestination: destinationAE)
        let files: [StorableFile]
        do { files = try handler.instances(for: request) } catch {
            return try refuse(message, on: assoc, DicomServer.failure(from: error))
        }
        let messageID = rq.messageID ?? 0
        var counts = SubOperationCounts(total: files.count)
        var cancelled = false
        var problem: String?
        if !files.isEmpty {
            // The sub-operations go on an association of their own, from us to the destination (PS3.4 C.4.2.2).
            var subRequest = AssociationRequest(callingAETitle: policy.aeTitle, calledAETitle: destinationAE, host: address.host, port: address.port)
            subRequest.proposeStorage(for: files)
            subRequest.tls = address.tls
            var sub: Association?
            do { sub = try subRequest.open(log: log) } catch {
                problem = "association with \(destinationAE) failed: \(error)"
                for f in files { counts.fail(f.sopInstanceUID) }
            }
            if let sub {
                var broken = false
                var finished = false
                // Released after the last sub-operation; aborted when it broke or when we leave early
                // (the requestor went away, a pending response could not be sent).
                defer { if finished && !broken { try? sub.release() } else { try? sub.abort() } }
                for file in files {
                    // PS3.7 9.3.4.3: a C-CANCEL-MOVE-RQ stops the sub-operations not yet begun.
                    if try assoc.pollCancel(for: messageID) { cancelled = true; break }
                    do {
                        let result = try sub.store(file, moveOriginator: (aeTitle: assoc.callingAETitle, messageID: messageID))
                        counts.record(result.status, instance: file.sopInstanceUID)
                    } catch let e as AssociationError {
                        if case .noPresentationContext = e {
                            counts.fail(file.sopInstanceUID)
                        } else {
                            // The destination is gone: what is left fails with it.
                            problem = "\(destinationAE): \(e)"
                            broken = true
                            counts.fail(file.sopInstanceUID)
                            for f in files.suffix(counts.remaining) { counts.fail(f.sopInstanceUID) }
                        }
                    } catch {
                        problem = "\(file.sopInstanceUID): \(error)"  // this file is unreadable; go on with the next
                        counts.fail(file.sopInstanceUID)
                    }
                    // A pending response after each sub-operation, before the final one (PS3.4 C.4.2.1.5).
                    try assoc.send(.moveResponse(to: rq, status: .pending, remaining: UInt16(clamping: counts.remaining),
                                                 completed: UInt16(clamping: counts.completed), failed: UInt16(clamping: counts.failed),
                                                 warning: UInt16(clamping: counts.warning)), contextID: message.context.id)
                    if broken { break }
                }
                finished = true
            }
        }
        try sendFinal(message, on: assoc, counts: counts, total: files.count, cancelled: cancelled, problem: problem)
    }

    // MARK: C-GET (PS3.4 C.4.3)

    func handleGet(_ message: DIMSEMessage, on assoc: Association) throws {
        let rq = message.command
        guard let handler = retrieveHandler else {
            return try refuse(message, on: assoc, QueryRetrieveError(status: .sopClassNotSupported, errorComment: "this SCP retrieves nothing"))
        }
        guard let (_, identifier, level) = try checkedIdentifier(message, on: assoc) else { return }
        let request = RetrieveRequest(associationID: assoc.id, callingAETitle: assoc.callingAETitle, calledAETitle: assoc.calledAETitle,
                                      sopClassUID: rq.affectedSOPClassUID ?? message.context.abstractSyntax, identifier: identifier,
                                      level: level, moveDestination: nil)
        let files: [StorableFile]
        do { files = try handler.instances(for: request) } catch {
            return try refuse(message, on: assoc, DicomServer.failure(from: error))
        }
        let messageID = rq.messageID ?? 0
        var counts = SubOperationCounts(total: files.count)
        var cancelled = false
        var problem: String?
        // The C-STOREs go back on this association; a cancel that arrives while we wait for a
        // C-STORE-RSP is noted by `receive` and seen by `pollCancel` (PS3.7 9.3.3.3).
        try assoc.watchingForCancel(of: messageID) {
            for file in files {
                if try assoc.pollCancel(for: messageID) { cancelled = true; break }
                // Only where the requestor took the SCP role for the SOP class (PS3.7 D.3.3.4).
                if assoc.roleSelections.contains(where: { $0.sopClassUID == file.sopClassUID && $0.scpRole }) {
                    do {
                        let result = try assoc.store(file)
                        counts.record(result.status, instance: file.sopInstanceUID)
                    } catch let e as AssociationError {
                        guard case .noPresentationContext = e else { throw e }
                        problem = "no storage context with SCP role for \(UIDNames.name(file.sopClassUID)) in \(file.transferSyntax.name)"
                        counts.fail(file.sopInstanceUID)
                    } catch {
                        problem = "\(file.sopInstanceUID): \(error)"
                        counts.fail(file.sopInstanceUID)
                    }
                } else {
                    problem = "no storage context with SCP role for \(UIDNames.name(file.sopClassUID))"
                    counts.fail(file.sopInstanceUID)
                }
                try assoc.send(.getResponse(to: rq, status: .pending, remaining: UInt16(clamping: counts.remaining),
                                            completed: UInt16(clamping: counts.completed), failed: UInt16(clamping: counts.failed),
                                            warning: UInt16(clamping: counts.warning)), contextID: message.context.id)
            }
        }
        try sendFinal(message, on: assoc, counts: counts, total: files.count, cancelled: cancelled, problem: problem)
    }

    /// The final C-MOVE/C-GET response (PS3.4 C.4.2.1.5, C.4.3.1.4): Cancel with the remaining count,
    /// Success, A702H when every sub-operation failed, else B000H; all but Success list the failed
    /// instances in (0008,0058) (PS3.4 C.4.2.1.4.2, C.4.3.1.3.2).
    private func sendFinal(_ message: DIMSEMessage, on assoc: Association, counts: SubOperationCounts, total: Int,
                           cancelled: Bool, problem: String?) throws {
        let rq = message.command
        let status: DIMSEStatus
        if cancelled { status = .cancel }
        else if counts.failed == 0 && counts.warning == 0 { status = .success }
        else if counts.failed == total { status = .refusedOutOfResourcesSubOperations }
        else { status = .subOperationsCompleteWithFailures }
        var identifier: [UInt8]?
        if status != .success && !counts.failedInstances.isEmpty {
            var ds = DataSet()
            try ds.set(.failedSOPInstanceUIDList, vr: .UI, strings: counts.failedInstances)
            identifier = try DicomFile.encode(ds, transferSyntax: TransferSyntax(uid: message.context.transferSyntax))
        }
        let remaining = cancelled ? UInt16(clamping: counts.remaining) : nil
        let isMove = rq.commandField == .cMoveRQ
        var rsp = isMove
            ? Command.moveResponse(to: rq, status: status, remaining: remaining, completed: UInt16(clamping: counts.completed),
                                   failed: UInt16(clamping: counts.failed), warning: UInt16(clamping: counts.warning), hasIdentifier: identifier != nil)
            : Command.getResponse(to: rq, status: status, remaining: remaining, completed: UInt16(clamping: counts.completed),
                                  failed: UInt16(clamping: counts.failed), warning: UInt16(clamping: counts.warning), hasIdentifier: identifier != nil)
        if status != .success, let problem { rsp.errorComment = problem }
        try assoc.send(rsp, contextID: message.context.id, dataSet: identifier)
        log.log(counts.failed == 0 ? .info : .warning, "dimse", isMove ? "C-MOVE" : "C-GET",
                ["assoc": assoc.id, "calling": assoc.callingAETitle, "destination": rq.moveDestination ?? assoc.callingAETitle,
                 "completed": "\(counts.completed)", "failed": "\(counts.failed)", "warning": "\(counts.warning)",
                 "remaining": "\(counts.remaining)", "status": status.hexCode, "problem": problem ?? "-"])
    }

    // MARK: shared checks

    /// The request's identifier and level when the request is well formed for its model; otherwise
    /// the failure response is sent and nil returned.
    private func checkedIdentifier(_ message: DIMSEMessage, on assoc: Association) throws -> (QueryRetrieveModel, DataSet, String)? {
        let rq = message.command
        if let problem = rq.validationErrors().first {
            try refuse(message, on: assoc, .unableToProcess("\(problem)"))
            return nil
        }
        let sopClass = rq.affectedSOPClassUID ?? message.context.abstractSyntax
        guard let field = rq.commandField, let model = QueryRetrieveModel(sopClassUID: sopClass), model.sopClass(for: field) == sopClass,
              sopClass == message.context.abstractSyntax else {
            try refuse(message, on: assoc, QueryRetrieveError(status: .sopClassNotSupported, errorComment: "\(sopClass) is not a \(rq.commandField?.service ?? "") SOP class"))
            return nil
        }
        guard let bytes = message.dataSet,
              let identifier = try? DicomFile.decode(bytes, transferSyntax: TransferSyntax(uid: message.context.transferSyntax)) else {
            try refuse(message, on: assoc, .unableToProcess("identifier cannot be decoded"))
            return nil
        }
        // PS3.4 C.4.1.1.3.1 / C.4.2.1.4.1: (0008,0052) names a level of the model.
        let level = (identifier.string(.queryRetrieveLevel) ?? "").trimmingCharacters(in: .whitespaces).uppercased()
        guard model.levels.contains(level) else {
            try refuse(message, on: assoc, .identifierDoesNotMatch("Query/Retrieve Level '\(level)' is not one of \(model.levels.joined(separator: ", "))",
                                                                   offending: [.queryRetrieveLevel]))
            return nil
        }
        return (model, identifier, level)
    }

    /// A final failure response without sub-operations (PS3.7 C.5, PS3.4 C.4.x statuses).
    private func refuse(_ message: DIMSEMessage, on assoc: Association, _ error: QueryRetrieveError, matches: Int = 0) throws {
        let rq = message.command
        guard var rsp = Command.response(to: rq, status: error.status, errorComment: error.errorComment) else {
            throw AssociationError.protocolError("\(rq.commandField?.name ?? "request") without a Message ID")
        }
        rsp.offendingElements = error.offendingElements
        try assoc.send(rsp, contextID: message.context.id)
        log.log(.warning, "dimse", rq.commandField?.service ?? "request",
                ["assoc": assoc.id, "calling": assoc.callingAETitle, "status": error.status.hexCode, "matches": "\(matches)",
                 "error": error.errorComment ?? "-"])
    }

    /// A handler's error as the status to answer: its own, or C000H Unable to Process.
    static func failure(from error: Error) -> QueryRetrieveError {
        if let e = error as? QueryRetrieveError { return e }
        return .unableToProcess("\(error)")
    }
}

extension AssociationRequest {
    /// Storage contexts for sending `files` (a C-MOVE's sub-association): per SOP class, one context
    /// for each of the files' own encapsulated or non-LE transfer syntaxes (sent as stored) and one of
    /// Explicit/Implicit VR Little Endian (native files are converted to it), up to the 128 contexts an
    /// association allows (PS3.8 9.3.2.2); files left without a context fail their sub-operation.
    public mutating func proposeStorage(for files: [StorableFile]) {
        let native = [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID]
        var syntaxes: [String: Set<String>] = [:]
        for f in files { syntaxes[f.sopClassUID, default: []].insert(f.transferSyntax.uid) }
        for (sopClass, tss) in syntaxes.sorted(by: { $0.key < $1.key }) {
            for ts in tss.sorted() where !native.contains(ts) && presentationContexts.count < 128 {
                propose(sopClass, transferSyntaxes: [ts])
            }
            if presentationContexts.count < 128 { propose(sopClass, transferSyntaxes: native) }
        }
    }
}
