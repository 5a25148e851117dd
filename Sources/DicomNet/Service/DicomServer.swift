import Foundation
import Codec

/// A DICOM SCP: listens, negotiates each association with its `AcceptorPolicy`, and serves
/// C-ECHO and C-STORE (into a `StorageHandler`), one thread per association so a slow or silent
/// peer only ever holds up itself. Each association's memory is bounded by the PDU size.
public final class DicomServer: @unchecked Sendable {
    public let policy: AcceptorPolicy
    public let storage: StorageHandler?
    public let log: NetLogger
    /// Query/Retrieve (PS3.4 C, QueryRetrieveSCP.swift): C-FIND matches, C-MOVE/C-GET instances, C-MOVE destinations.
    public var queryHandler: (any QueryHandler)?
    public var retrieveHandler: (any RetrieveHandler)?
    public var moveDestinations: (any MoveDestinationResolver)?
    public var maxAssociations = 64
    /// ARTIM (PS3.8 9.1.5): how long a new connection may take to send its A-ASSOCIATE-RQ.
    public var artimTimeout: Double = 30
    /// How long an open association may stay silent between messages.
    public var idleTimeout: Double = 300
    /// When set, every connection is TLS (PS3.15 B.1): handshake first, then the DICOM protocol.
    public var tls: TLSContext?
    private var listener: TCPListener?
    private let lock = NSLock()
    private var active = 0
    private let done = NSCondition()

    public init(policy: AcceptorPolicy, storage: StorageHandler?, log: NetLogger = StderrLogger()) {
        self.policy = policy
        self.storage = storage
        self.log = log
    }

    /// The port actually bound (useful with port 0).
    public var port: UInt16 { listener?.port ?? 0 }

    public func start(host: String = "127.0.0.1", port: UInt16) throws {
        let l = try TCPListener(host: host, port: port)
        listener = l
        log.log(.info, "scp", "listening", ["ae": policy.aeTitle, "host": host, "port": "\(l.port)"])
        let t = Thread { [self] in acceptLoop(l) }
        t.name = "dicom-accept"
        t.start()
    }

    /// Stops accepting and waits for open associations to finish (graceful shutdown).
    public func stop(waitSeconds: Double = 30) {
        listener?.close()
        let deadline = Date().addingTimeInterval(waitSeconds)
        done.lock()
        while activeCount > 0 && Date() < deadline { _ = done.wait(until: min(deadline, Date().addingTimeInterval(0.1))) }
        done.unlock()
    }

    public var activeCount: Int { lock.lock(); defer { lock.unlock() }; return active }

    private func acceptLoop(_ l: TCPListener) {
        while let socket = l.accept() {
            lock.lock()
            let overloaded = active >= maxAssociations
            if !overloaded { active += 1 }
            lock.unlock()
            let t = Thread { [self] in
                serve(socket, overloaded: overloaded)
                if !overloaded {
                    lock.lock(); active -= 1; lock.unlock()
                    done.lock(); done.broadcast(); done.unlock()
                }
            }
            t.start()
        }
    }

    private func serve(_ tcp: TCPSocket, overloaded: Bool) {
        // Timeouts stay on the TCPSocket; a TLSStream over it honours them too.
        tcp.readTimeout = artimTimeout
        tcp.writeTimeout = 60
        let socket: ByteStream
        if let tls {
            // The handshake counts against ARTIM, like the A-ASSOCIATE-RQ that follows it.
            do {
                let stream = try TLSStream.accept(over: tcp, context: tls, timeout: artimTimeout)
                log.log(.debug, "tls", "established", ["peer": tcp.peerDescription, "version": stream.protocolVersion,
                                                       "cipher": stream.cipherSuite, "subject": stream.peerCertificateSubject ?? "-"])
                socket = stream
            } catch {
                tcp.close()
                log.log(.warning, "tls", "handshake failed", ["peer": tcp.peerDescription, "reason": (error as? TLSError)?.reason ?? "\(error)"])
                return
            }
        } else {
            socket = tcp
        }
        let id = AssociationID.next()
        var machine = UpperLayerStateMachine()
        _ = machine.handle(.evt5)  // transport connection indication → start ARTIM
        let rq: AssociateRequest
        do {
            let (type, body) = try socket.readPDU { type, length in
                guard type == PDUType.associateRQ.rawValue else {
                    throw EarlyRefusal(abort: .unexpectedPDU, message: "aborted: expected A-ASSOCIATE-RQ", detail: ("pdu", "\(type)"))
                }
                guard length <= 1 << 20 else {
                    throw EarlyRefusal(abort: .invalidPDUParameterValue, message: "aborted: A-ASSOCIATE-RQ too large", detail: ("length", "\(length)"))
                }
            }
            guard case .associateRQ(let r) = try PDU.decode(type: type, body: body[...]) else { return }
            rq = r
            _ = machine.handle(.evt6)
        } catch let r as EarlyRefusal {
            _ = try? socket.write(PDU.abort(r.abort).encoded())
            socket.close()
            log.log(.warning, "association", r.message, ["assoc": id, "peer": socket.peerDescription, r.detail.0: r.detail.1])
            return
        } catch let e as PDUError {
            _ = try? socket.write(PDU.abort(e.abort).encoded())
            socket.close()
            log.log(.warning, "association", "aborted: malformed A-ASSOCIATE-RQ", ["assoc": id, "peer": socket.peerDescription, "error": e.description])
            return
        } catch {
            socket.close()
            log.log(.warning, "association", "closed before negotiation", ["assoc": id, "peer": socket.peerDescription, "error": "\(error)"])
            return
        }

        if overloaded {
            _ = try? socket.write(PDU.associateRJ(.localLimitExceeded).encoded())
            socket.close()
            log.log(.warning, "association", "rejected", ["assoc": id, "calling": rq.callingAETitle, "called": rq.calledAETitle,
                                                          "reason": AssociateReject.localLimitExceeded.description])
            return
        }
        switch policy.negotiate(rq) {
        case .failure(let rj):
            _ = machine.handle(.evt8)
            _ = try? socket.write(PDU.associateRJ(rj).encoded())
            socket.close()
            log.log(.warning, "association", "rejected", ["assoc": id, "calling": rq.callingAETitle, "called": rq.calledAETitle,
                                                          "peer": socket.peerDescription, "reason": rj.description])
        case .success(let (ac, accepted)):
            _ = machine.handle(.evt7)
            do { try socket.write(PDU.associateAC(ac).encoded()) } catch { socket.close(); return }
            tcp.readTimeout = idleTimeout
            let assoc = Association(id: id, role: .acceptor, stream: socket, log: log, callingAETitle: rq.callingAETitle,
                                    calledAETitle: rq.calledAETitle, contexts: accepted,
                                    peerMaxPDULength: rq.userInformation.maxPDULength, ourMaxPDULength: policy.maxPDULength,
                                    peerInfo: rq.userInformation, peerUserIdentity: rq.userInformation.userIdentityRequest, machine: machine)
            log.log(.info, "association", "accepted", ["assoc": id, "calling": rq.callingAETitle, "called": rq.calledAETitle,
                                                        "peer": socket.peerDescription, "contexts": "\(accepted.count)/\(rq.presentationContexts.count)",
                                                        "maxpdu": "\(rq.userInformation.maxPDULength)",
                                                        "impl": rq.userInformation.implementationVersionName ?? rq.userInformation.implementationClassUID])
            runDIMSE(assoc)
        }
    }

    private func runDIMSE(_ assoc: Association) {
        var operation: StoreOperation? = nil
        var operationStarted = 0.0  // monotonic seconds, for the C-STORE log line's timings
        do {
            while true {
                let message = try assoc.receive { [self] command, context in
                    guard command.commandField == .cStoreRQ, let storage else { return nil }
                    let request = StoreRequest(associationID: assoc.id, callingAETitle: assoc.callingAETitle, calledAETitle: assoc.calledAETitle,
                                               peer: assoc.stream.peerDescription, sopClassUID: command.affectedSOPClassUID ?? context.abstractSyntax,
                                               sopInstanceUID: command.affectedSOPInstanceUID ?? "", transferSyntax: TransferSyntax(uid: context.transferSyntax),
                                               messageID: command.messageID ?? 0, moveOriginatorAETitle: command.moveOriginatorAETitle)
                    let op = try storage.begin(request)
                    operation = op
                    operationStarted = monotonicNow()
                    return op
                }
                guard let message else { return }
                try handle(message, on: assoc, operation: operation, started: operationStarted)
                operation = nil
            }
        } catch {
            operation?.cancel()
            if case AssociationError.transport(.closedByPeer) = error {
                log.log(.warning, "association", "connection closed without release", ["assoc": assoc.id, "peer": assoc.peerAETitle])
            } else {
                log.log(.warning, "association", "ended", ["assoc": assoc.id, "peer": assoc.peerAETitle, "error": "\(error)"])
                try? assoc.abort(.reasonNotSpecified)
            }
        }
    }

    /// "12.34": seconds as milliseconds with two decimals.
    static func milliseconds(_ seconds: Double) -> String {
        let hundredths = Int(max(0, seconds) * 100_000)
        return "\(hundredths / 100)." + (hundredths % 100).zeroPadded(2)
    }

    private func handle(_ message: DIMSEMessage, on assoc: Association, operation: StoreOperation?, started: Double) throws {
        let cmd = message.command
        switch cmd.commandField {
        case .cEchoRQ?:
            try assoc.send(.echoResponse(to: cmd, status: .success), contextID: message.context.id)
            log.log(.info, "dimse", "C-ECHO", ["assoc": assoc.id, "calling": assoc.callingAETitle, "status": "0x0000"])
        case .cStoreRQ?:
            let result: StoreResult
            // Time to receive the data set (from its command to its last fragment) and to make it
            // durable after that (the wait before the response): where a slow store spends its time.
            var (receiveMs, commitMs) = ("-", "-")
            if let operation {
                let received = monotonicNow()
                result = operation.finish()
                receiveMs = Self.milliseconds(received - started)
                commitMs = Self.milliseconds(monotonicNow() - received)
            } else {
                result = StoreResult(status: .sopClassNotSupported, errorComment: "this SCP does not store")
            }
            try assoc.send(.storeResponse(to: cmd, status: result.status, errorComment: result.errorComment), contextID: message.context.id)
            log.log(result.status.category == .success ? .info : .warning, "dimse", "C-STORE",
                    ["assoc": assoc.id, "calling": assoc.callingAETitle, "sopclass": cmd.affectedSOPClassUID ?? "",
                     "sop": cmd.affectedSOPInstanceUID ?? "", "ts": message.context.transferSyntax,
                     "status": "0x" + result.status.rawValue.zeroPadded(4, radix: 16, uppercase: true),
                     "receive_ms": receiveMs, "commit_ms": commitMs])
        case .cFindRQ?:
            try handleFind(message, on: assoc)
        case .cMoveRQ?:
            try handleMove(message, on: assoc)
        case .cGetRQ?:
            try handleGet(message, on: assoc)
        case .cCancelRQ?:
            break  // nothing of ours is pending between messages
        default:
            // PS3.7 C.5.4: an operation this SCP does not provide.
            log.log(.warning, "dimse", "unsupported operation", ["assoc": assoc.id, "command": cmd.commandField?.name ?? "unknown"])
            if let rsp = Command.response(to: cmd, status: .unrecognizedOperation, errorComment: "not provided by this SCP") {
                try assoc.send(rsp, contextID: message.context.id)
            }
        }
    }
}

/// A connection refused on its first PDU's header, before an association exists.
private struct EarlyRefusal: Error {
    let abort: Abort
    let message: String
    let detail: (String, String)
}
