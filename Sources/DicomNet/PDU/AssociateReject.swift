/// A-ASSOCIATE-RJ PDU (PS3.8 9.3.4): the acceptor refuses the association.
public struct AssociateReject: Sendable, Hashable, CustomStringConvertible {
    /// PS3.8 Table 9-21, result field.
    public enum Result: UInt8, Sendable, Hashable {
        case permanent = 1, transient = 2
    }

    /// PS3.8 Table 9-21, source field; the meaning of `reason` depends on it.
    public enum Source: UInt8, Sendable, Hashable {
        case serviceUser = 1, serviceProviderACSE = 2, serviceProviderPresentation = 3
    }

    public var result: Result
    public var source: Source
    public var reason: UInt8

    public init(result: Result, source: Source, reason: UInt8) {
        self.result = result
        self.source = source
        self.reason = reason
    }

    public static let noReasonGiven = AssociateReject(result: .permanent, source: .serviceUser, reason: 1)
    public static let applicationContextNotSupported = AssociateReject(result: .permanent, source: .serviceUser, reason: 2)
    public static let callingAETitleNotRecognized = AssociateReject(result: .permanent, source: .serviceUser, reason: 3)
    public static let calledAETitleNotRecognized = AssociateReject(result: .permanent, source: .serviceUser, reason: 7)
    public static let protocolVersionNotSupported = AssociateReject(result: .permanent, source: .serviceProviderACSE, reason: 2)
    public static let temporaryCongestion = AssociateReject(result: .transient, source: .serviceProviderPresentation, reason: 1)
    public static let localLimitExceeded = AssociateReject(result: .transient, source: .serviceProviderPresentation, reason: 2)

    /// Human text of the reason, PS3.8 Table 9-21.
    public var description: String {
        switch (source, reason) {
        case (.serviceUser, 1), (.serviceProviderACSE, 1): return "no reason given"
        case (.serviceUser, 2): return "application context name not supported"
        case (.serviceUser, 3): return "calling AE title not recognized"
        case (.serviceUser, 7): return "called AE title not recognized"
        case (.serviceProviderACSE, 2): return "protocol version not supported"
        case (.serviceProviderPresentation, 1): return "temporary congestion"
        case (.serviceProviderPresentation, 2): return "local limit exceeded"
        default: return "reserved reason \(reason)"
        }
    }

    // PS3.8 Table 9-21: reserved, result, source, reason/diag.
    func encode(into out: inout [UInt8]) {
        out.append(PDUType.associateRJ.rawValue)
        out.append(0)
        out.appendU32(4)
        out.append(contentsOf: [0, result.rawValue, source.rawValue, reason])
    }

    static func decode(_ r: inout PDUReader) throws -> AssociateReject {
        try r.skip(1, "A-ASSOCIATE-RJ reserved byte")
        let at = r.index
        let rs = try r.u8("A-ASSOCIATE-RJ result")
        guard let result = Result(rawValue: rs) else { throw r.error("A-ASSOCIATE-RJ result \(rs) is not 1 or 2", at: at) }
        let s = try r.u8("A-ASSOCIATE-RJ source")
        guard let source = Source(rawValue: s) else { throw r.error("A-ASSOCIATE-RJ source \(s) is not 1, 2 or 3", at: at + 1) }
        return AssociateReject(result: result, source: source, reason: try r.u8("A-ASSOCIATE-RJ reason"))
    }
}
