// Events of the DICOM Upper Layer state machine: the rows of PS3.8 Table 9-10.

/// An event fed to the DICOM Upper Layer protocol machine (the rows of PS3.8 Table 9-10).
public enum UpperLayerEvent: Int, Sendable, CaseIterable, CustomStringConvertible {
    case evt1 = 1, evt2, evt3, evt4, evt5, evt6, evt7, evt8, evt9, evt10
    case evt11, evt12, evt13, evt14, evt15, evt16, evt17, evt18, evt19

    /// The standard's short name, e.g. "Evt6".
    public var code: String { "Evt\(rawValue)" }

    /// The event as worded in PS3.8 Table 9-10.
    public var description: String {
        switch self {
        case .evt1: "A-ASSOCIATE request (local user)"
        case .evt2: "Transport Conn. Confirm (local transport service)"
        case .evt3: "A-ASSOCIATE-AC PDU (received on transport connection)"
        case .evt4: "A-ASSOCIATE-RJ PDU (received on transport connection)"
        case .evt5: "Transport Connection Indication (local transport service)"
        case .evt6: "A-ASSOCIATE-RQ PDU (received on transport connection)"
        case .evt7: "A-ASSOCIATE response primitive (accept)"
        case .evt8: "A-ASSOCIATE response primitive (reject)"
        case .evt9: "P-DATA request primitive"
        case .evt10: "P-DATA-TF PDU"
        case .evt11: "A-RELEASE request primitive"
        case .evt12: "A-RELEASE-RQ PDU (received on open transport connection)"
        case .evt13: "A-RELEASE-RP PDU (received on transport connection)"
        case .evt14: "A-RELEASE response primitive"
        case .evt15: "A-ABORT request primitive"
        case .evt16: "A-ABORT PDU (received on open transport connection)"
        case .evt17: "Transport connection closed indication (local transport service)"
        case .evt18: "ARTIM timer expired (Association reject/release timer)"
        case .evt19: "Unrecognized or invalid PDU received"
        }
    }

    /// The event for a received PDU of the given PDU-type byte (PS3.8 §9.3):
    /// 01H A-ASSOCIATE-RQ → Evt6, 02H A-ASSOCIATE-AC → Evt3, 03H A-ASSOCIATE-RJ → Evt4,
    /// 04H P-DATA-TF → Evt10, 05H A-RELEASE-RQ → Evt12, 06H A-RELEASE-RP → Evt13,
    /// 07H A-ABORT → Evt16; any other type is unrecognized → Evt19.
    /// (A PDU of a known type that fails to parse is also Evt19; that is the reader's call.)
    public static func received(pduType: UInt8) -> UpperLayerEvent {
        switch pduType {
        case 0x01: .evt6
        case 0x02: .evt3
        case 0x03: .evt4
        case 0x04: .evt10
        case 0x05: .evt12
        case 0x06: .evt13
        case 0x07: .evt16
        default: .evt19
        }
    }
}
