// (0000,0900) Status of a DIMSE response: PS3.7 Annex C (status classes and the general codes)
// and the service-specific codes of PS3.4 (B.2.3 Storage, C.4.1.1.4 C-FIND, C.4.2.1.5 C-MOVE,
// C.4.3.1.4 C-GET, and the N-service annexes for 0001H).

/// A DIMSE status code. Many codes are ranges whose meaning depends on the service
/// (A7xx, A9xx, Cxxx) or are reused with different meanings (B000H), so this is an open
/// wrapper around the 16-bit value rather than an enum: any code a peer sends survives.
public struct DIMSEStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ code: UInt16) { rawValue = code }
    public init(integerLiteral value: UInt16) { rawValue = value }

    /// The status classes of PS3.7 Annex C (C.1 Success … C.5 Failure).
    public enum Category: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case success, pending, cancel, warning, failure
        public var description: String { rawValue }
    }

    /// PS3.7 Annex C assigns each code to one class:
    /// success 0000H; pending FF00H, FF01H; cancel FE00H; warning 0001H, 0107H, 0116H, Bxxx;
    /// failure A000H–AFFFH, C000H–CFFFH and the rest of 01xxH and 02xxH.
    /// A code outside every range is not success, and an SCU must not treat it as such
    /// (nor wait for more responses): it counts as a failure.
    public var category: Category {
        switch rawValue {
        case 0x0000: return .success
        case 0xFF00, 0xFF01: return .pending
        case 0xFE00: return .cancel
        case 0x0001, 0x0107, 0x0116, 0xB000...0xBFFF: return .warning
        default: return .failure
        }
    }

    /// Every class but pending ends the operation (PS3.7 9.1.2.1.6, 9.1.3.1.6, 9.1.4.1.6).
    public var isFinal: Bool { category != .pending }
    public var isSuccess: Bool { category == .success }

    /// "0xA700 Refused: Out of Resources". Codes whose meaning depends on the service give
    /// every meaning; `description(for:)` picks the one of a given service.
    public var description: String { hexCode + " " + meaning(for: nil) }

    /// As `description`, with the service's own meaning of the code (PS3.4), e.g. B000H is
    /// "Coercion of Data Elements" for C-STORE but "Sub-operations Complete – One or More
    /// Failures" for C-MOVE.
    public func description(for service: CommandField?) -> String { hexCode + " " + meaning(for: service) }

    /// "0xA700"
    public var hexCode: String {
        let digits = Array("0123456789ABCDEF")
        var s = "0x"
        for shift in stride(from: 12, through: 0, by: -4) { s.append(digits[Int(rawValue >> UInt16(shift)) & 0xF]) }
        return s
    }

    /// The meaning of the code in `service` (the request or response command field), from
    /// PS3.4 where the service defines the code and PS3.7 Annex C otherwise.
    public func meaning(for service: CommandField?) -> String {
        let kind = ServiceKind(service)
        let code = rawValue
        switch code {
        // PS3.7 C.1, C.2, C.3 and the service-specific wording of PS3.4 C.4.
        case 0x0000:
            switch kind {
            case .move, .get: return "Success: Sub-operations Complete – No Failures"
            default: return "Success"
            }
        case 0xFF00:
            switch kind {
            case .find: return "Pending: Matches are continuing – Current Match is supplied"
            case .move, .get: return "Pending: Sub-operations are continuing"
            case .any: return "Pending: Matches are continuing (C-FIND) / Sub-operations are continuing (C-MOVE, C-GET)"
            default: return "Pending"
            }
        case 0xFF01:
            return "Pending: Matches are continuing – Warning that one or more Optional Keys were not supported"
        case 0xFE00:
            switch kind {
            case .find: return "Cancel: Matching terminated due to Cancel request"
            case .move, .get: return "Cancel: Sub-operations terminated due to Cancel Indication"
            default: return "Cancel"
            }

        // Warnings: PS3.4 B.2.3 (Storage), C.4.2/C.4.3 (Retrieve), the N-service annexes, PS3.7 C.4.
        case 0x0001: return "Warning: Requested optional Attributes are not supported"
        case 0x0107: return "Warning: Attribute List Error"
        case 0x0116: return "Warning: Attribute Value Out of Range"
        case 0xB000:
            switch kind {
            case .store: return "Warning: Coercion of Data Elements"
            case .move: return "Warning: Sub-operations Complete – One or More Failures"
            case .get: return "Warning: Sub-operations Complete – One or More Failures or Warnings"
            default: return "Warning: Coercion of Data Elements (C-STORE) / Sub-operations Complete – One or More Failures (C-MOVE, C-GET)"
            }
        case 0xB006: return "Warning: Elements Discarded"
        case 0xB007: return "Warning: Data Set does not match SOP Class"

        // General failures, PS3.7 C.5.
        case 0x0105: return "Failure: No Such Attribute"
        case 0x0106: return "Failure: Invalid Attribute Value"
        case 0x0110: return "Failure: Processing Failure"
        case 0x0111: return "Failure: Duplicate SOP Instance"
        case 0x0112: return "Failure: No Such Object Instance"
        case 0x0113: return "Failure: No Such Event Type"
        case 0x0114: return "Failure: No Such Argument"
        case 0x0115: return "Failure: Invalid Argument Value"
        case 0x0117: return "Failure: Invalid Object Instance"
        case 0x0118: return "Failure: No Such SOP Class"
        case 0x0119: return "Failure: Class-Instance Conflict"
        case 0x0120: return "Failure: Missing Attribute"
        case 0x0121: return "Failure: Missing Attribute Value"
        case 0x0122: return "Refused: SOP Class Not Supported"
        case 0x0123: return "Failure: No Such Action"
        case 0x0124: return "Refused: Not Authorized"
        case 0x0210: return "Failure: Duplicate Invocation"
        case 0x0211: return "Failure: Unrecognized Operation"
        case 0x0212: return "Failure: Mistyped Argument"
        case 0x0213: return "Failure: Resource Limitation"

        // Service-specific failures, PS3.4 B.2.3 and C.4.
        case 0xA701: return "Refused: Out of Resources – Unable to calculate number of matches"
        case 0xA702: return "Refused: Out of Resources – Unable to perform sub-operations"
        case 0xA801: return "Refused: Move Destination unknown"
        case 0xAA00: return "Failure: None of the Frames requested were found in the SOP Instance"
        case 0xAA01: return "Failure: Unable to create new object for this SOP Class"
        case 0xAA02: return "Failure: Unable to extract Frames"
        case 0xAA03: return "Failure: Time-based request received for a non-time-based original SOP Instance"
        case 0xAA04: return "Failure: Invalid Request"
        case 0xA700...0xA7FF:
            // Storage reserves the whole A7xx range (PS3.4 B.2.3); C-FIND uses A700H (C.4.1.1.4).
            return "Refused: Out of Resources"
        case 0xA900...0xA9FF:
            switch kind {
            case .store: return "Error: Data Set does not match SOP Class"
            case .find, .move, .get: return "Failure: Identifier does not match SOP Class"
            default: return "Error: Data Set does not match SOP Class (C-STORE) / Identifier does not match SOP Class (C-FIND, C-MOVE, C-GET)"
            }
        case 0xC000...0xCFFF:
            switch kind {
            case .store: return "Error: Cannot understand"
            case .find, .move, .get: return "Failure: Unable to process"
            default: return "Error: Cannot understand (C-STORE) / Unable to process (C-FIND, C-MOVE, C-GET)"
            }
        default:
            // Every success, pending and cancel code is named above: only these two are left.
            return category == .warning ? "Warning" : "Failure"
        }
    }

    /// Which service's table to read a code in.
    private enum ServiceKind {
        case store, find, move, get, other, any
        init(_ field: CommandField?) {
            guard let field else { self = .any; return }
            switch field.rawValue & 0x7FFF {
            case 0x0001: self = .store
            case 0x0020: self = .find
            case 0x0021: self = .move
            case 0x0010: self = .get
            default: self = .other
            }
        }
    }
}

// MARK: - Named codes

extension DIMSEStatus {
    // PS3.7 C.1 – C.3
    public static let success: DIMSEStatus = 0x0000
    /// C-FIND: matches are continuing; C-MOVE/C-GET: sub-operations are continuing.
    public static let pending: DIMSEStatus = 0xFF00
    /// C-FIND: matches are continuing, but one or more Optional Keys were not supported (PS3.4 C.4.1.1.4).
    public static let pendingWithWarnings: DIMSEStatus = 0xFF01
    public static let cancel: DIMSEStatus = 0xFE00

    // Warnings
    /// N-services: Requested optional Attributes are not supported (PS3.4, e.g. F.7.2.2, F.8.2).
    public static let warning: DIMSEStatus = 0x0001
    public static let attributeListError: DIMSEStatus = 0x0107          // PS3.7 C.4.2
    public static let attributeValueOutOfRange: DIMSEStatus = 0x0116    // PS3.7 C.4.3
    /// C-STORE: Coercion of Data Elements (PS3.4 B.2.3).
    public static let coercionOfDataElements: DIMSEStatus = 0xB000
    /// C-STORE: Elements Discarded (PS3.4 B.2.3).
    public static let elementsDiscarded: DIMSEStatus = 0xB006
    /// C-STORE: Data Set does not match SOP Class, stored anyway (PS3.4 B.2.3).
    public static let dataSetDoesNotMatchSOPClassWarning: DIMSEStatus = 0xB007
    /// C-MOVE/C-GET: Sub-operations Complete – One or More Failures (PS3.4 C.4.2.1.5, C.4.3.1.4).
    public static let subOperationsCompleteWithFailures: DIMSEStatus = 0xB000

    // Service-specific failures (PS3.4 B.2.3, C.4)
    /// C-STORE (A7xx range) and C-FIND: Refused: Out of Resources.
    public static let refusedOutOfResources: DIMSEStatus = 0xA700
    /// C-MOVE/C-GET: Refused: Out of Resources – Unable to calculate number of matches.
    public static let refusedOutOfResourcesNumberOfMatches: DIMSEStatus = 0xA701
    /// C-MOVE/C-GET: Refused: Out of Resources – Unable to perform sub-operations.
    public static let refusedOutOfResourcesSubOperations: DIMSEStatus = 0xA702
    /// C-MOVE: Refused: Move Destination unknown.
    public static let moveDestinationUnknown: DIMSEStatus = 0xA801
    /// C-STORE (A9xx range): Error: Data Set does not match SOP Class.
    public static let dataSetDoesNotMatchSOPClass: DIMSEStatus = 0xA900
    /// C-FIND/C-MOVE/C-GET: Identifier does not match SOP Class.
    public static let identifierDoesNotMatchSOPClass: DIMSEStatus = 0xA900
    /// C-STORE (Cxxx range): Error: Cannot understand.
    public static let cannotUnderstand: DIMSEStatus = 0xC000
    /// C-FIND/C-MOVE/C-GET (Cxxx range): Unable to process.
    public static let unableToProcess: DIMSEStatus = 0xC000
    /// C-GET/C-MOVE of frames (PS3.4 Y, Z): Failure codes AA00H–AA04H.
    public static let noneOfTheFramesFound: DIMSEStatus = 0xAA00
    public static let unableToCreateNewObject: DIMSEStatus = 0xAA01
    public static let unableToExtractFrames: DIMSEStatus = 0xAA02
    public static let timeBasedRequestForNonTimeBasedInstance: DIMSEStatus = 0xAA03
    public static let invalidRequest: DIMSEStatus = 0xAA04

    // General failures (PS3.7 C.5)
    public static let noSuchAttribute: DIMSEStatus = 0x0105
    public static let invalidAttributeValue: DIMSEStatus = 0x0106
    public static let processingFailure: DIMSEStatus = 0x0110
    public static let duplicateSOPInstance: DIMSEStatus = 0x0111
    public static let noSuchObjectInstance: DIMSEStatus = 0x0112
    public static let noSuchEventType: DIMSEStatus = 0x0113
    public static let noSuchArgument: DIMSEStatus = 0x0114
    public static let invalidArgumentValue: DIMSEStatus = 0x0115
    public static let invalidObjectInstance: DIMSEStatus = 0x0117
    public static let noSuchSOPClass: DIMSEStatus = 0x0118
    public static let classInstanceConflict: DIMSEStatus = 0x0119
    public static let missingAttribute: DIMSEStatus = 0x0120
    public static let missingAttributeValue: DIMSEStatus = 0x0121
    public static let sopClassNotSupported: DIMSEStatus = 0x0122
    public static let noSuchActionType: DIMSEStatus = 0x0123
    public static let notAuthorized: DIMSEStatus = 0x0124
    public static let duplicateInvocation: DIMSEStatus = 0x0210
    public static let unrecognizedOperation: DIMSEStatus = 0x0211
    public static let mistypedArgument: DIMSEStatus = 0x0212
    public static let resourceLimitation: DIMSEStatus = 0x0213
}
