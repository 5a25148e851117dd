// The DIMSE-C command sets of PS3.7 9.3, each with exactly the elements its table lists
// (Command Group Length is added by `encoded()`). Responses copy the request's Affected SOP
// Class UID (and for C-STORE its Affected SOP Instance UID): optional ("U") in the tables, but
// what DCMTK and pynetdicom send, and what SCUs match responses by.

extension Command {
    /// C-ECHO-RQ, PS3.7 9.3.5.1 Table 9.3-12.
    public static func echoRequest(messageID: UInt16, sopClassUID: String = Command.verificationSOPClassUID) -> Command {
        var c = Command()
        c.affectedSOPClassUID = sopClassUID
        c.commandField = .cEchoRQ
        c.messageID = messageID
        c.hasDataSet = false
        return c
    }

    /// C-ECHO-RSP, PS3.7 9.3.5.2 Table 9.3-13.
    public static func echoResponse(to request: Command, status: DIMSEStatus) -> Command {
        makeResponse(.cEchoRSP, to: request, status: status, hasDataSet: false)
    }

    /// C-STORE-RQ, PS3.7 9.3.1.1 Table 9.3-1. The Move Originator elements are set when the store
    /// is a sub-operation of a C-MOVE (PS3.4 C.4.2.2.1).
    public static func storeRequest(messageID: UInt16, sopClassUID: String, sopInstanceUID: String,
                                    priority: Priority = .medium, moveOriginatorAETitle: String? = nil,
                                    moveOriginatorMessageID: UInt16? = nil) -> Command {
        var c = Command()
        c.affectedSOPClassUID = sopClassUID
        c.commandField = .cStoreRQ
        c.messageID = messageID
        c.priority = priority
        c.hasDataSet = true
        c.affectedSOPInstanceUID = sopInstanceUID
        c.moveOriginatorAETitle = moveOriginatorAETitle
        c.moveOriginatorMessageID = moveOriginatorMessageID
        return c
    }

    /// C-STORE-RSP, PS3.7 9.3.1.2 Table 9.3-2; Error Comment per Annex C.
    public static func storeResponse(to request: Command, status: DIMSEStatus, errorComment: String? = nil) -> Command {
        var c = makeResponse(.cStoreRSP, to: request, status: status, hasDataSet: false)
        c.affectedSOPInstanceUID = request.affectedSOPInstanceUID
        c.errorComment = errorComment
        return c
    }

    /// C-FIND-RQ, PS3.7 9.3.2.1 Table 9.3-3. The identifier follows as the data set.
    public static func findRequest(messageID: UInt16, sopClassUID: String, priority: Priority = .medium) -> Command {
        queryRequest(.cFindRQ, messageID: messageID, sopClassUID: sopClassUID, priority: priority)
    }

    /// C-FIND-RSP, PS3.7 9.3.2.2 Table 9.3-4. Pending responses carry an identifier, the final
    /// one none (PS3.4 C.4.1.3.1).
    public static func findResponse(to request: Command, status: DIMSEStatus, hasIdentifier: Bool) -> Command {
        makeResponse(.cFindRSP, to: request, status: status, hasDataSet: hasIdentifier)
    }

    /// C-GET-RQ, PS3.7 9.3.3.1 Table 9.3-6.
    public static func getRequest(messageID: UInt16, sopClassUID: String, priority: Priority = .medium) -> Command {
        queryRequest(.cGetRQ, messageID: messageID, sopClassUID: sopClassUID, priority: priority)
    }

    /// C-GET-RSP, PS3.7 9.3.3.2 Table 9.3-7. `remaining` is for pending (and cancel) responses
    /// only; the final response leaves it out (PS3.4 C.4.3.1.4 Table C.4-3). A failure or warning
    /// response may carry an identifier listing the failed SOP instances (PS3.4 C.4.3.1.3.1).
    public static func getResponse(to request: Command, status: DIMSEStatus, remaining: UInt16?, completed: UInt16,
                                   failed: UInt16, warning: UInt16, hasIdentifier: Bool = false) -> Command {
        retrieveResponse(.cGetRSP, to: request, status: status, remaining: remaining, completed: completed,
                         failed: failed, warning: warning, hasIdentifier: hasIdentifier)
    }

    /// C-MOVE-RQ, PS3.7 9.3.4.1 Table 9.3-9.
    public static func moveRequest(messageID: UInt16, sopClassUID: String, destination: String,
                                   priority: Priority = .medium) -> Command {
        var c = queryRequest(.cMoveRQ, messageID: messageID, sopClassUID: sopClassUID, priority: priority)
        c.moveDestination = destination
        return c
    }

    /// C-MOVE-RSP, PS3.7 9.3.4.2 Table 9.3-10; counts as for `getResponse` (PS3.4 C.4.2.1.5 Table C.4-2).
    public static func moveResponse(to request: Command, status: DIMSEStatus, remaining: UInt16?, completed: UInt16,
                                    failed: UInt16, warning: UInt16, hasIdentifier: Bool = false) -> Command {
        retrieveResponse(.cMoveRSP, to: request, status: status, remaining: remaining, completed: completed,
                         failed: failed, warning: warning, hasIdentifier: hasIdentifier)
    }

    /// C-CANCEL-RQ (C-CANCEL-FIND/GET/MOVE-RQ), PS3.7 9.3.2.3, 9.3.3.3, 9.3.4.3 Tables 9.3-5, 9.3-8,
    /// 9.3-11: names the request it cancels and has no Message ID of its own.
    public static func cancelRequest(messageIDBeingRespondedTo: UInt16) -> Command {
        var c = Command()
        c.commandField = .cCancelRQ
        c.messageIDBeingRespondedTo = messageIDBeingRespondedTo
        c.hasDataSet = false
        return c
    }

    /// A response without a data set to any request, for answering one the SCP will not or cannot
    /// carry out (e.g. 0211H Unrecognized Operation, 0122H SOP Class Not Supported, a Cxxx
    /// failure after `validate()` failed). Its Affected SOP Class/Instance UIDs are the request's
    /// affected or requested ones (PS3.7 9.3, 10.3). nil when the request has no Message ID or no
    /// response exists (C-CANCEL-RQ, responses): then there is nothing to answer and the SCP
    /// aborts instead (PS3.7 9.3.1).
    public static func response(to request: Command, status: DIMSEStatus, errorComment: String? = nil) -> Command? {
        guard let field = request.commandField?.response, request.messageID != nil else { return nil }
        var c = makeResponse(field, to: request, status: status, hasDataSet: false)
        c.affectedSOPClassUID = request.affectedSOPClassUID ?? request.requestedSOPClassUID
        c.affectedSOPInstanceUID = request.affectedSOPInstanceUID ?? request.requestedSOPInstanceUID
        c.errorComment = errorComment
        return c
    }

    // MARK: shared shapes

    private static func queryRequest(_ field: CommandField, messageID: UInt16, sopClassUID: String,
                                     priority: Priority) -> Command {
        var c = Command()
        c.affectedSOPClassUID = sopClassUID
        c.commandField = field
        c.messageID = messageID
        c.priority = priority
        c.hasDataSet = true  // the identifier is mandatory (PS3.7 9.1.2.1.3, 9.1.3.1.3, 9.1.4.1.3)
        return c
    }

    /// A request without a Message ID is invalid (`validate()` says so); its response then
    /// answers Message ID 0 rather than failing to exist.
    private static func makeResponse(_ field: CommandField, to request: Command, status: DIMSEStatus,
                                 hasDataSet: Bool) -> Command {
        var c = Command()
        c.affectedSOPClassUID = request.affectedSOPClassUID
        c.commandField = field
        c.messageIDBeingRespondedTo = request.messageID ?? 0
        c.hasDataSet = hasDataSet
        c.status = status
        return c
    }

    private static func retrieveResponse(_ field: CommandField, to request: Command, status: DIMSEStatus,
                                         remaining: UInt16?, completed: UInt16, failed: UInt16, warning: UInt16,
                                         hasIdentifier: Bool) -> Command {
        var c = makeResponse(field, to: request, status: status, hasDataSet: hasIdentifier)
        c.remainingSubOperations = remaining
        c.completedSubOperations = completed
        c.failedSubOperations = failed
        c.warningSubOperations = warning
        return c
    }
}
