// Actions of the DICOM Upper Layer state machine, PS3.8 Section 9.2.2
// (Tables 9-6 to 9-9 in current editions), with the few facts a driver needs
// to carry them out: which PDU goes out, which primitive goes up to the local
// user, what happens to the ARTIM timer and to the transport connection.

/// An action of the DICOM Upper Layer protocol machine (PS3.8 §9.2.2).
public enum UpperLayerAction: String, Sendable, CaseIterable, CustomStringConvertible {
    case AE1, AE2, AE3, AE4, AE5, AE6, AE7, AE8
    case DT1, DT2
    case AR1, AR2, AR3, AR4, AR5, AR6, AR7, AR8, AR9, AR10
    case AA1, AA2, AA3, AA4, AA5, AA6, AA7, AA8

    /// The standard's spelling, e.g. "AE-1", "AR-10".
    public var code: String {
        let raw = rawValue
        let letters = raw.prefix(2)
        return "\(letters)-\(raw.dropFirst(2))"
    }

    /// The code and definition, e.g. "AR-5: Stop ARTIM timer. Next state is Sta1".
    public var description: String { "\(code): \(definition)" }

    /// The action's definition as worded in PS3.8 §9.2.2.
    public var definition: String {
        switch self {
        case .AE1: "Issue TRANSPORT CONNECT request primitive to local transport service. Next state is Sta4"
        case .AE2: "Send A-ASSOCIATE-RQ-PDU. Next state is Sta5"
        case .AE3: "Issue A-ASSOCIATE confirmation (accept) primitive. Next state is Sta6"
        case .AE4: "Issue A-ASSOCIATE confirmation (reject) primitive and close transport connection. Next state is Sta1"
        case .AE5: "Issue Transport connection response primitive; start ARTIM timer. Next state is Sta2"
        case .AE6: "Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider: issue A-ASSOCIATE indication primitive, next state is Sta3; otherwise: issue A-ASSOCIATE-RJ-PDU and start ARTIM timer, next state is Sta13"
        case .AE7: "Send A-ASSOCIATE-AC PDU. Next state is Sta6"
        case .AE8: "Send A-ASSOCIATE-RJ PDU and start ARTIM timer. Next state is Sta13"
        case .DT1: "Send P-DATA-TF PDU. Next state is Sta6"
        case .DT2: "Send P-DATA indication primitive. Next state is Sta6"
        case .AR1: "Send A-RELEASE-RQ PDU. Next state is Sta7"
        case .AR2: "Issue A-RELEASE indication primitive. Next state is Sta8"
        case .AR3: "Issue A-RELEASE confirmation primitive, and close transport connection. Next state is Sta1"
        case .AR4: "Issue A-RELEASE-RP PDU and start ARTIM timer. Next state is Sta13"
        case .AR5: "Stop ARTIM timer. Next state is Sta1"
        case .AR6: "Issue P-DATA indication. Next state is Sta7"
        case .AR7: "Issue P-DATA-TF PDU. Next state is Sta8"
        case .AR8: "Issue A-RELEASE indication (release collision): if association-requestor, next state is Sta9; if not, next state is Sta10"
        case .AR9: "Send A-RELEASE-RP PDU. Next state is Sta11"
        case .AR10: "Issue A-RELEASE confirmation primitive. Next state is Sta12"
        case .AA1: "Send A-ABORT PDU (service-user source) and start (or restart if already started) ARTIM timer. Next state is Sta13"
        case .AA2: "Stop ARTIM timer if running. Close transport connection. Next state is Sta1"
        case .AA3: "If (service-user initiated abort): issue A-ABORT indication and close transport connection; otherwise (service-provider initiated abort): issue A-P-ABORT indication and close transport connection. Next state is Sta1"
        case .AA4: "Issue A-P-ABORT indication primitive. Next state is Sta1"
        case .AA5: "Stop ARTIM timer. Next state is Sta1"
        case .AA6: "Ignore PDU. Next state is Sta13"
        case .AA7: "Send A-ABORT PDU. Next state is Sta13"
        case .AA8: "Send A-ABORT PDU (service-provider source), issue an A-P-ABORT indication, and start ARTIM timer. Next state is Sta13"
        }
    }

    /// The next state(s) the action's definition names. One state for every
    /// action but AE-6 ([Sta3 accepted, Sta13 rejected]) and AR-8
    /// ([Sta9 association-requestor, Sta10 association-acceptor]).
    public var nextStates: [UpperLayerState] {
        switch self {
        case .AE1: [.sta4]
        case .AE2: [.sta5]
        case .AE3, .AE7, .DT1, .DT2: [.sta6]
        case .AE4, .AR3, .AR5, .AA2, .AA3, .AA4, .AA5: [.sta1]
        case .AE5: [.sta2]
        case .AE6: [.sta3, .sta13]
        case .AE8, .AR4, .AA1, .AA6, .AA7, .AA8: [.sta13]
        case .AR1, .AR6: [.sta7]
        case .AR2, .AR7: [.sta8]
        case .AR8: [.sta9, .sta10]
        case .AR9: [.sta11]
        case .AR10: [.sta12]
        }
    }

    /// True for the two actions whose next state is a local decision (AE-6, AR-8).
    public var isBranching: Bool { nextStates.count > 1 }

    // MARK: - What the driver does

    /// The PDU an action writes to the peer; raw values are the PDU-type bytes of PS3.8 §9.3.
    public enum OutgoingPDU: UInt8, Sendable, CaseIterable {
        case associateRQ = 0x01, associateAC = 0x02, associateRJ = 0x03
        case pDataTF = 0x04, releaseRQ = 0x05, releaseRP = 0x06, abort = 0x07
    }

    /// The Source field of an outgoing A-ABORT PDU (PS3.8 §9.3.8), where the action fixes it.
    public enum AbortSource: UInt8, Sendable {
        case serviceUser = 0, serviceProvider = 2
    }

    /// The primitive an action issues to the local service-user.
    public enum Indication: Sendable, Equatable {
        /// A-ASSOCIATE indication (acceptor side, AE-6 accepted).
        case associate
        /// A-ASSOCIATE confirmation, accept (AE-3) or reject (AE-4).
        case associateConfirmation(accepted: Bool)
        /// P-DATA indication (DT-2, AR-6).
        case pData
        /// A-RELEASE indication (AR-2, and AR-8 for a release collision).
        case release
        /// A-RELEASE confirmation (AR-3, AR-10).
        case releaseConfirmation
        /// AA-3: A-ABORT indication if the received A-ABORT PDU has source 0 (service-user),
        /// A-P-ABORT indication otherwise; the driver reads the PDU to tell.
        case abortFromPeer
        /// A-P-ABORT indication (AA-4, AA-8).
        case providerAbort
    }

    /// What an action asks of the local transport service.
    public enum TransportOperation: Sendable, Equatable {
        /// AE-1: TRANSPORT CONNECT request (active open).
        case connect
        /// AE-5: transport connection response (accept the incoming connection).
        case acceptConnection
        /// AE-4, AR-3, AA-2, AA-3: close the transport connection.
        case close
    }

    /// Everything one action does, for one resolved next state.
    public struct Effects: Sendable, Equatable {
        public var sends: OutgoingPDU?
        /// Set only where the action fixes the A-ABORT Source (AA-1, AA-8); AA-7 leaves it to the implementation.
        public var abortSource: AbortSource?
        public var indication: Indication?
        /// Start, or restart if running, the ARTIM timer.
        public var startsARTIM: Bool
        /// Stop the ARTIM timer if running.
        public var stopsARTIM: Bool
        public var transport: TransportOperation?

        public init(sends: OutgoingPDU? = nil, abortSource: AbortSource? = nil, indication: Indication? = nil,
                    startsARTIM: Bool = false, stopsARTIM: Bool = false, transport: TransportOperation? = nil) {
            self.sends = sends
            self.abortSource = abortSource
            self.indication = indication
            self.startsARTIM = startsARTIM
            self.stopsARTIM = stopsARTIM
            self.transport = transport
        }

        public var closesTransport: Bool { transport == .close }
    }

    /// The exact effects of this action when it leads to `next`. Only AE-6 differs by branch:
    /// to Sta3 it issues the A-ASSOCIATE indication; to Sta13 it sends A-ASSOCIATE-RJ and starts ARTIM.
    /// Both branches stop ARTIM first.
    public func effects(next: UpperLayerState) -> Effects {
        switch self {
        case .AE1: Effects(transport: .connect)
        case .AE2: Effects(sends: .associateRQ)
        case .AE3: Effects(indication: .associateConfirmation(accepted: true))
        case .AE4: Effects(indication: .associateConfirmation(accepted: false), transport: .close)
        case .AE5: Effects(startsARTIM: true, transport: .acceptConnection)
        case .AE6:
            next == .sta13
                ? Effects(sends: .associateRJ, startsARTIM: true, stopsARTIM: true)
                : Effects(indication: .associate, stopsARTIM: true)
        case .AE7: Effects(sends: .associateAC)
        case .AE8: Effects(sends: .associateRJ, startsARTIM: true)
        case .DT1: Effects(sends: .pDataTF)
        case .DT2: Effects(indication: .pData)
        case .AR1: Effects(sends: .releaseRQ)
        case .AR2: Effects(indication: .release)
        case .AR3: Effects(indication: .releaseConfirmation, transport: .close)
        case .AR4: Effects(sends: .releaseRP, startsARTIM: true)
        case .AR5: Effects(stopsARTIM: true)
        case .AR6: Effects(indication: .pData)
        case .AR7: Effects(sends: .pDataTF)
        case .AR8: Effects(indication: .release)
        case .AR9: Effects(sends: .releaseRP)
        case .AR10: Effects(indication: .releaseConfirmation)
        case .AA1: Effects(sends: .abort, abortSource: .serviceUser, startsARTIM: true)
        case .AA2: Effects(stopsARTIM: true, transport: .close)
        case .AA3: Effects(indication: .abortFromPeer, transport: .close)
        case .AA4: Effects(indication: .providerAbort)
        case .AA5: Effects(stopsARTIM: true)
        case .AA6: Effects()
        case .AA7: Effects(sends: .abort)
        case .AA8: Effects(sends: .abort, abortSource: .serviceProvider, indication: .providerAbort, startsARTIM: true)
        }
    }

    /// What the action does on every branch (for all actions but AE-6 this is simply its effects).
    /// For AE-6 only `stopsARTIM` holds on both branches; use `effects(next:)` with the state reached.
    public var unconditionalEffects: Effects {
        let all = nextStates.map { effects(next: $0) }
        let first = all[0]
        func same<T: Equatable>(_ key: (Effects) -> T) -> Bool { all.allSatisfy { key($0) == key(first) } }
        return Effects(
            sends: same(\.sends) ? first.sends : nil,
            abortSource: same(\.abortSource) ? first.abortSource : nil,
            indication: same(\.indication) ? first.indication : nil,
            startsARTIM: all.allSatisfy(\.startsARTIM),
            stopsARTIM: all.allSatisfy(\.stopsARTIM),
            transport: same(\.transport) ? first.transport : nil)
    }

    /// The PDU this action always sends (nil for AE-6, which sends A-ASSOCIATE-RJ only when rejecting).
    public var sendsPDU: OutgoingPDU? { unconditionalEffects.sends }
    /// The primitive this action always issues to the local user (nil for AE-6, see `effects(next:)`).
    public var issuesIndication: Indication? { unconditionalEffects.indication }
    /// The action always starts (or restarts) ARTIM (false for AE-6, which starts it only when rejecting).
    public var startsARTIM: Bool { unconditionalEffects.startsARTIM }
    /// The action stops ARTIM if it is running.
    public var stopsARTIM: Bool { unconditionalEffects.stopsARTIM }
    /// The action closes the transport connection.
    public var closesTransport: Bool { unconditionalEffects.closesTransport }
}
