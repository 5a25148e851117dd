// The DICOM Upper Layer protocol state machine, PS3.8 Section 9.2, held as
// data: Table 9-10 ("DICOM Upper Layer Protocol State Transition Table")
// transcribed below, one string per event row, one cell per state column.
//
// A cell holds the action the standard names; the next state follows from the
// action's definition (§9.2.2), except for AE-6 and AR-8 whose next state is a
// local decision (see `UpperLayerStateMachine.handle`). A cell written "--" is
// empty in the standard: the event cannot occur in that state (a PDU with no
// transport connection, a local primitive the service-user may not issue
// there, a timer that is not running). PS3.8 gives no action for those cells;
// this machine answers nil for them and leaves the state unchanged.

/// The DICOM Upper Layer protocol machine of PS3.8 §9.2 for one association.
/// It only decides: the caller performs the returned action (see `UpperLayerAction.effects(next:)`).
public struct UpperLayerStateMachine: Sendable {
    public private(set) var state: UpperLayerState
    /// Whether this side is the association-requestor: set by AE-1 (true) and AE-5 (false),
    /// used by AR-8 to choose Sta9 (requestor) or Sta10 (acceptor).
    public private(set) var isRequestor: Bool?

    public init(state: UpperLayerState = .sta1, isRequestor: Bool? = nil) {
        self.state = state
        self.isRequestor = isRequestor
    }

    // MARK: - Table 9-10

    /// PS3.8 Table 9-10: row per event (Evt1...Evt19), column per state (Sta1...Sta13).
    static let table: [String] = [
        //        Sta1  Sta2  Sta3  Sta4  Sta5  Sta6  Sta7  Sta8  Sta9  Sta10 Sta11 Sta12 Sta13
        /*Evt1 */ "AE-1  --    --    --    --    --    --    --    --    --    --    --    --   ",
        /*Evt2 */ "--    --    --    AE-2  --    --    --    --    --    --    --    --    --   ",
        /*Evt3 */ "--    AA-1  AA-8  --    AE-3  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6 ",
        /*Evt4 */ "--    AA-1  AA-8  --    AE-4  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6 ",
        /*Evt5 */ "AE-5  --    --    --    --    --    --    --    --    --    --    --    --   ",
        /*Evt6 */ "--    AE-6  AA-8  --    AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7 ",
        /*Evt7 */ "--    --    AE-7  --    --    --    --    --    --    --    --    --    --   ",
        /*Evt8 */ "--    --    AE-8  --    --    --    --    --    --    --    --    --    --   ",
        /*Evt9 */ "--    --    --    --    --    DT-1  --    AR-7  --    --    --    --    --   ",
        /*Evt10*/ "--    AA-1  AA-8  --    AA-8  DT-2  AR-6  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6 ",
        /*Evt11*/ "--    --    --    --    --    AR-1  --    --    --    --    --    --    --   ",
        /*Evt12*/ "--    AA-1  AA-8  --    AA-8  AR-2  AR-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6 ",
        /*Evt13*/ "--    AA-1  AA-8  --    AA-8  AA-8  AR-3  AA-8  AA-8  AR-10 AR-3  AA-8  AA-6 ",
        /*Evt14*/ "--    --    --    --    --    --    --    AR-4  AR-9  --    --    AR-4  --   ",
        /*Evt15*/ "--    --    AA-1  AA-2  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  --   ",
        /*Evt16*/ "--    AA-2  AA-3  --    AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-2 ",
        /*Evt17*/ "--    AA-5  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AR-5 ",
        /*Evt18*/ "--    AA-2  --    --    --    --    --    --    --    --    --    --    AA-2 ",
        /*Evt19*/ "--    AA-1  AA-8  --    AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7 ",
    ]

    /// `table` parsed once: index (event - 1) * 13 + (state - 1). An unparseable cell stays nil
    /// (the tests check the literal token by token).
    static let cells: [UpperLayerAction?] = {
        var byCode: [String: UpperLayerAction] = [:]
        for action in UpperLayerAction.allCases { byCode[action.code] = action }
        var out: [UpperLayerAction?] = []
        out.reserveCapacity(UpperLayerEvent.allCases.count * UpperLayerState.allCases.count)
        for row in table {
            let tokens = row.split(separator: " ")
            for column in 0..<UpperLayerState.allCases.count {
                out.append(column < tokens.count ? byCode[String(tokens[column])] : nil)
            }
        }
        return out
    }()

    /// The action in the cell of Table 9-10 for `event` in `state`; nil for an empty cell.
    public static func action(in state: UpperLayerState, on event: UpperLayerEvent) -> UpperLayerAction? {
        cells[(event.rawValue - 1) * UpperLayerState.allCases.count + (state.rawValue - 1)]
    }

    /// The table lookup: which action and next state for `event` in `state`; nil for an empty cell.
    /// Two cells branch on a local decision, given here by the two flags: AE-6 (Sta2 + Evt6) goes to
    /// Sta3 if the A-ASSOCIATE-RQ is acceptable, else Sta13; AR-8 (Sta7 + Evt12) goes to Sta9 for the
    /// association-requestor, else Sta10. The flags are ignored by every other cell.
    public static func transition(from state: UpperLayerState, on event: UpperLayerEvent,
                                  isAssociationAcceptable: Bool = true,
                                  isRequestor: Bool = true) -> (action: UpperLayerAction, next: UpperLayerState)? {
        guard let action = action(in: state, on: event) else { return nil }
        let choices = action.nextStates
        switch action {
        case .AE6: return (action, isAssociationAcceptable ? choices[0] : choices[1])
        case .AR8: return (action, isRequestor ? choices[0] : choices[1])
        default: return (action, choices[0])
        }
    }

    // MARK: - Running the machine

    /// Applies `event`: moves to the next state and returns the action the caller must perform
    /// (its exact effects are `action.effects(next: state)` once this returns).
    ///
    /// Returns nil, leaving the state unchanged, when the cell of Table 9-10 is empty (the event
    /// cannot occur in this state), or when the cell is AR-8 and the role is unknown.
    ///
    /// - Parameters:
    ///   - isAssociationAcceptable: the service-provider's own verdict on an A-ASSOCIATE-RQ, used by
    ///     AE-6 (Evt6 in Sta2): true → A-ASSOCIATE indication, Sta3; false → A-ASSOCIATE-RJ, Sta13.
    ///     nil means acceptable: the usual case, where the service-user then accepts or rejects
    ///     with Evt7 / Evt8.
    ///   - isRequestor: the role for AR-8 (release collision): requestor → Sta9, acceptor → Sta10.
    ///     nil means the role the machine recorded at AE-1 (requestor) or AE-5 (acceptor).
    @discardableResult
    public mutating func handle(_ event: UpperLayerEvent,
                                isAssociationAcceptable: Bool? = nil,
                                isRequestor requestor: Bool? = nil) -> UpperLayerAction? {
        guard let action = Self.action(in: state, on: event) else { return nil }
        let next: UpperLayerState
        switch action {
        case .AE6:
            next = (isAssociationAcceptable ?? true) ? .sta3 : .sta13
        case .AR8:
            guard let isReq = requestor ?? isRequestor else { return nil }
            next = isReq ? .sta9 : .sta10
        default:
            next = action.nextStates[0]
        }
        switch action {
        case .AE1: isRequestor = true
        case .AE5: isRequestor = false
        default: break
        }
        state = next
        return action
    }
}
