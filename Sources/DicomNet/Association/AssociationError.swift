/// Why an association failed or was refused; each maps to what the peer sees.
public enum AssociationError: Error, Sendable, CustomStringConvertible {
    /// The acceptor said no (A-ASSOCIATE-RJ).
    case rejected(AssociateReject)
    /// Either side aborted (A-ABORT), with the reason the abort carried.
    case aborted(Abort, byPeer: Bool)
    /// A PDU arrived that the state machine does not allow now (we sent A-ABORT).
    case unexpectedPDU(String)
    /// The peer broke the protocol (we sent A-ABORT with the reason).
    case protocolError(String)
    case transport(TransportError)
    /// No accepted presentation context for what we wanted to send.
    case noPresentationContext(abstractSyntax: String, transferSyntax: String?)
    /// The peer answered a DIMSE request with something else.
    case unexpectedResponse(String)
    case released

    public var description: String {
        switch self {
        case .rejected(let rj): return "association rejected: \(rj.description)"
        case .aborted(let a, let byPeer): return "association aborted by \(byPeer ? "peer" : "us"): \(a.description)"
        case .unexpectedPDU(let s): return "unexpected PDU: \(s)"
        case .protocolError(let s): return "protocol error: \(s)"
        case .transport(let t): return t.description
        case .noPresentationContext(let a, let t):
            return "no accepted presentation context for \(UIDNames.name(a))" + (t.map { " in \(UIDNames.name($0))" } ?? "")
        case .unexpectedResponse(let s): return "unexpected response: \(s)"
        case .released: return "association already released"
        }
    }
}

import Codec

/// "CT Image Storage (1.2.840.10008.5.1.4.1.1.2)" for messages.
enum UIDNames {
    static func name(_ uid: String) -> String {
        if let e = UIDRegistry.entry(for: uid) { return "\(e.name) (\(uid))" }
        return uid
    }
}
