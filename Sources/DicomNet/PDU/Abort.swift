/// A-ABORT PDU (PS3.8 9.3.8): either side ends the association at once.
public struct Abort: Sendable, Hashable, CustomStringConvertible {
    /// PS3.8 Table 9-26, source field.
    public enum Source: UInt8, Sendable, Hashable {
        case serviceUser = 0, reserved = 1, serviceProvider = 2
    }

    public var source: Source
    /// Significant only when the source is the service provider (PS3.8 Table 9-26); else 0.
    public var reason: UInt8

    public init(source: Source, reason: UInt8) {
        self.source = source
        self.reason = reason
    }

    public static let userInitiated = Abort(source: .serviceUser, reason: 0)
    public static let reasonNotSpecified = Abort(source: .serviceProvider, reason: 0)
    public static let unrecognizedPDU = Abort(source: .serviceProvider, reason: 1)
    public static let unexpectedPDU = Abort(source: .serviceProvider, reason: 2)
    public static let unrecognizedPDUParameter = Abort(source: .serviceProvider, reason: 4)
    public static let unexpectedPDUParameter = Abort(source: .serviceProvider, reason: 5)
    public static let invalidPDUParameterValue = Abort(source: .serviceProvider, reason: 6)

    /// Human text of PS3.8 Table 9-26.
    public var description: String {
        switch source {
        case .serviceUser: return "service user initiated abort"
        case .reserved: return "abort from reserved source (reason \(reason))"
        case .serviceProvider:
            switch reason {
            case 0: return "reason not specified"
            case 1: return "unrecognized PDU"
            case 2: return "unexpected PDU"
            case 4: return "unrecognized PDU parameter"
            case 5: return "unexpected PDU parameter"
            case 6: return "invalid PDU parameter value"
            default: return "reserved reason \(reason)"
            }
        }
    }

    // PS3.8 Table 9-26: reserved, reserved, source, reason/diag. Reserved bytes are not tested.
    func encode(into out: inout [UInt8]) {
        out.append(PDUType.abort.rawValue)
        out.append(0)
        out.appendU32(4)
        out.append(contentsOf: [0, 0, source.rawValue, reason])
    }

    static func decode(_ r: inout PDUReader) throws -> Abort {
        try r.skip(2, "A-ABORT reserved bytes")
        let at = r.index
        let s = try r.u8("A-ABORT source")
        guard let source = Source(rawValue: s) else { throw r.error("A-ABORT source \(s) is not 0, 1 or 2", at: at) }
        return Abort(source: source, reason: try r.u8("A-ABORT reason"))
    }
}
