// States of the DICOM Upper Layer state machine, PS3.8 Section 9.2.1
// (Tables 9-1 to 9-5 in current editions).

/// A state of the DICOM Upper Layer protocol machine (PS3.8 §9.2.1).
public enum UpperLayerState: Int, Sendable, CaseIterable, CustomStringConvertible {
    case sta1 = 1, sta2, sta3, sta4, sta5, sta6, sta7, sta8, sta9, sta10, sta11, sta12, sta13

    /// The standard's short name, e.g. "Sta6".
    public var code: String { "Sta\(rawValue)" }

    /// The state's definition as worded in PS3.8 §9.2.1.
    public var description: String {
        switch self {
        case .sta1: "Idle"
        case .sta2: "Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)"
        case .sta3: "Awaiting local A-ASSOCIATE response primitive (from local user)"
        case .sta4: "Awaiting transport connection opening to complete (from local transport service)"
        case .sta5: "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU"
        case .sta6: "Association established and ready for data transfer"
        case .sta7: "Awaiting A-RELEASE-RP PDU"
        case .sta8: "Awaiting local A-RELEASE response primitive (from local user)"
        case .sta9: "Release collision requestor side; awaiting A-RELEASE response (from local user)"
        case .sta10: "Release collision acceptor side; awaiting A-RELEASE-RP PDU"
        case .sta11: "Release collision requestor side; awaiting A-RELEASE-RP PDU"
        case .sta12: "Release collision acceptor side; awaiting A-RELEASE response primitive (from local user)"
        case .sta13: "Awaiting Transport Connection Close Indication (Association no longer exists)"
        }
    }
}
