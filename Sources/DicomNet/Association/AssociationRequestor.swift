import Foundation
import Codec

/// What a requestor (SCU) asks for: AE titles, presentation contexts, limits.
public struct AssociationRequest: Sendable {
    public var callingAETitle: String
    public var calledAETitle: String
    public var host: String
    public var port: UInt16
    public var presentationContexts: [PresentationContextProposal] = []
    public var maxPDULength: UInt32 = 256 * 1024
    public var userIdentity: UserIdentityRequest?
    public var roleSelections: [RoleSelection] = []
    public var connectTimeout: Double = 10
    /// ARTIM-like bound on waiting for the A-ASSOCIATE response (PS3.8 9.1.5).
    public var associateTimeout: Double = 30
    /// Bound on waiting for any DIMSE response.
    public var dimseTimeout: Double? = 120
    /// When set, the association runs over TLS (PS3.15 B.1); `host` is the server name for SNI.
    public var tls: TLSContext?

    public init(callingAETitle: String, calledAETitle: String, host: String, port: UInt16) {
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.host = host
        self.port = port
    }

    /// Adds one context per abstract syntax (odd ids, PS3.8 9.3.2.2), up to the 128 the PDU allows.
    public mutating func propose(_ abstractSyntax: String, transferSyntaxes: [String]) {
        let id = UInt8(truncatingIfNeeded: presentationContexts.count * 2 + 1)
        presentationContexts.append(PresentationContextProposal(id: id, abstractSyntax: abstractSyntax, transferSyntaxes: transferSyntaxes))
    }

    /// Opens the association: connect, A-ASSOCIATE-RQ, wait for AC / RJ / A-ABORT.
    public func open(log: NetLogger = StderrLogger()) throws -> Association {
        guard presentationContexts.count <= 128 else { throw AssociationError.protocolError("more than 128 presentation contexts proposed") }
        let tcp: TCPSocket
        do { tcp = try TCPSocket.connect(host: host, port: port, timeout: connectTimeout) } catch let e as TransportError {
            throw AssociationError.transport(e)
        }
        // Timeouts stay on the TCPSocket; a TLSStream over it honours them too.
        tcp.readTimeout = associateTimeout
        tcp.writeTimeout = 60
        // A failed handshake throws TLSError (the socket is closed by then).
        let socket: ByteStream = try tls.map { try TLSStream.connect(over: tcp, context: $0, serverName: host, timeout: associateTimeout) } ?? tcp
        var info = UserInformation(maxPDULength: maxPDULength, implementationClassUID: Implementation.classUID,
                                   implementationVersionName: Implementation.versionName)
        info.userIdentityRequest = userIdentity
        info.roleSelections = roleSelections
        let rq = AssociateRequest(calledAETitle: calledAETitle, callingAETitle: callingAETitle,
                                  presentationContexts: presentationContexts, userInformation: info)
        var machine = UpperLayerStateMachine()
        _ = machine.handle(.evt1)   // A-ASSOCIATE request (local user)
        _ = machine.handle(.evt2)   // transport connection confirmed → send A-ASSOCIATE-RQ
        do { try socket.write(PDU.associateRQ(rq).encoded()) } catch let e as TransportError { throw AssociationError.transport(e) }

        let id = AssociationID.next()
        // Read the response with a temporary association shell (no contexts yet).
        let response: PDU
        do {
            let (type, body) = try socket.readPDU { _, length in
                guard length <= 1 << 20 else { throw AssociationError.protocolError("A-ASSOCIATE response of \(length) bytes") }
            }
            response = try PDU.decode(type: type, body: body[...])
        } catch let e as TransportError {
            throw AssociationError.transport(e)
        } catch let e as PDUError {
            _ = try? socket.write(PDU.abort(e.abort).encoded())
            socket.close()
            throw AssociationError.protocolError(e.description)
        }
        switch response {
        case .associateAC(let ac):
            _ = machine.handle(.evt3)
            var accepted: [AcceptedPresentationContext] = []
            for r in ac.presentationContexts where r.result == .acceptance {
                guard let proposal = presentationContexts.first(where: { $0.id == r.id }) else { continue }
                accepted.append(AcceptedPresentationContext(id: r.id, abstractSyntax: proposal.abstractSyntax, transferSyntax: r.transferSyntax))
            }
            tcp.readTimeout = dimseTimeout
            let assoc = Association(id: id, role: .requestor, stream: socket, log: log, callingAETitle: callingAETitle,
                                    calledAETitle: calledAETitle, contexts: accepted,
                                    peerMaxPDULength: ac.userInformation.maxPDULength, ourMaxPDULength: maxPDULength,
                                    peerInfo: ac.userInformation, peerUserIdentity: nil, machine: machine)
            log.log(.info, "association", "accepted", ["assoc": id, "calling": callingAETitle, "called": calledAETitle,
                                                        "peer": "\(host):\(port)", "contexts": "\(accepted.count)/\(presentationContexts.count)",
                                                        "maxpdu": "\(ac.userInformation.maxPDULength)"])
            return assoc
        case .associateRJ(let rj):
            socket.close()
            log.log(.warning, "association", "rejected", ["assoc": id, "calling": callingAETitle, "called": calledAETitle, "reason": rj.description])
            throw AssociationError.rejected(rj)
        case .abort(let a):
            socket.close()
            throw AssociationError.aborted(a, byPeer: true)
        default:
            _ = try? socket.write(PDU.abort(.unexpectedPDU).encoded())
            socket.close()
            throw AssociationError.unexpectedPDU("\(response.type) in answer to A-ASSOCIATE-RQ")
        }
    }
}

/// Short unique ids for associations in logs: process-wide counter plus a random prefix.
enum AssociationID {
    private static let counter = Counter()
    private static let prefix = String(UInt32.random(in: 0...0xFFFF), radix: 16)
    static func next() -> String { "\(prefix)-\(counter.increment())" }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
}
