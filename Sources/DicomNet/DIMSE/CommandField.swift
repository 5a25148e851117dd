// The DIMSE operation a command set carries: (0000,0100) Command Field, PS3.7 E.1 Table E.1-1.

/// The value of (0000,0100) Command Field (PS3.7 E.1). Requests have bit 15 clear, their responses
/// the same value with bit 15 set; C-CANCEL-RQ (0FFFH) has no response (PS3.7 9.3.2.3).
public enum CommandField: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    // DIMSE-C (PS3.7 9.3)
    case cStoreRQ = 0x0001, cStoreRSP = 0x8001
    case cGetRQ = 0x0010, cGetRSP = 0x8010
    case cFindRQ = 0x0020, cFindRSP = 0x8020
    case cMoveRQ = 0x0021, cMoveRSP = 0x8021
    case cEchoRQ = 0x0030, cEchoRSP = 0x8030
    case cCancelRQ = 0x0FFF
    // DIMSE-N (PS3.7 10.3)
    case nEventReportRQ = 0x0100, nEventReportRSP = 0x8100
    case nGetRQ = 0x0110, nGetRSP = 0x8110
    case nSetRQ = 0x0120, nSetRSP = 0x8120
    case nActionRQ = 0x0130, nActionRSP = 0x8130
    case nCreateRQ = 0x0140, nCreateRSP = 0x8140
    case nDeleteRQ = 0x0150, nDeleteRSP = 0x8150

    public var isResponse: Bool { rawValue & 0x8000 != 0 }
    public var isRequest: Bool { !isResponse }

    /// DIMSE-N services (PS3.7 10); the rest are DIMSE-C (PS3.7 9).
    public var isNormalized: Bool { (rawValue & 0x7FFF) >= 0x0100 && self != .cCancelRQ }

    /// The response an SCP sends to this request; nil for responses and for C-CANCEL-RQ.
    public var response: CommandField? {
        guard !isResponse, self != .cCancelRQ else { return nil }
        return CommandField(rawValue: rawValue | 0x8000)
    }
    /// The request this response answers; nil for requests.
    public var request: CommandField? {
        isResponse ? CommandField(rawValue: rawValue & 0x7FFF) : nil
    }

    /// The service name without the RQ/RSP suffix, as PS3.7 writes it: "C-STORE", "N-EVENT-REPORT".
    public var service: String {
        switch rawValue & 0x7FFF {
        case 0x0001: return "C-STORE"
        case 0x0010: return "C-GET"
        case 0x0020: return "C-FIND"
        case 0x0021: return "C-MOVE"
        case 0x0030: return "C-ECHO"
        case 0x0FFF: return "C-CANCEL"
        case 0x0100: return "N-EVENT-REPORT"
        case 0x0110: return "N-GET"
        case 0x0120: return "N-SET"
        case 0x0130: return "N-ACTION"
        case 0x0140: return "N-CREATE"
        default: return "N-DELETE"
        }
    }

    /// "C-STORE-RQ", "C-FIND-RSP", "C-CANCEL-RQ" (PS3.7 E.1 Table E.1-1).
    public var name: String { service + (isResponse ? "-RSP" : "-RQ") }
    public var description: String { name }
}
