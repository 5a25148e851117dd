import Foundation
import Codec

/// An established association (PS3.8 7.1): reads and writes PDUs on a byte stream, splits and
/// joins DIMSE messages into PDVs within the negotiated maximum PDU sizes, and keeps the PS3.8
/// state machine so any PDU out of place ends in A-ABORT with the right reason.
public final class Association: @unchecked Sendable {
    // @unchecked: one association is driven by one thread; only `abort()` may come from another,
    // and it only closes the stream.
    public enum Role: String, Sendable { case requestor, acceptor }

    public let id: String
    public let role: Role
    public let callingAETitle: String
    public let calledAETitle: String
    /// Accepted presentation contexts by id.
    public let contexts: [UInt8: AcceptedPresentationContext]
    /// The largest PDU the peer takes (0: no limit), and the largest we take.
    public let peerMaxPDULength: UInt32
    public let ourMaxPDULength: UInt32
    public let peerImplementationClassUID: String
    public let peerImplementationVersionName: String?
    public let peerUserIdentity: UserIdentityRequest?
    /// SCP/SCU role selections (PS3.7 D.3.3.4) of the peer's A-ASSOCIATE PDU: for an acceptor the
    /// requestor's proposals (negotiation accepts them as proposed), for a requestor the acceptor's reply.
    public let roleSelections: [RoleSelection]
    /// SOP class (common) extended negotiation the peer sent (PS3.7 D.3.3.5–6), passed through
    /// untouched for services that understand it (e.g. relational queries, fuzzy matching).
    public let peerExtendedNegotiations: [ExtendedNegotiation]
    public let peerCommonExtendedNegotiations: [CommonExtendedNegotiation]
    let stream: ByteStream
    let log: NetLogger
    var machine: UpperLayerStateMachine
    private var nextMessageID: UInt16 = 0
    /// Data PDVs that arrived in the same P-DATA-TF after a command's last fragment.
    private var pending: [PresentationDataValue] = []
    /// The C-FIND/C-GET/C-MOVE being carried out as SCP, whose C-CANCEL-RQ `receive` notes instead of returning.
    private var watchedMessageID: UInt16?
    private var cancelRequested = false
    public private(set) var isOpen = true

    init(id: String, role: Role, stream: ByteStream, log: NetLogger, callingAETitle: String, calledAETitle: String,
         contexts: [AcceptedPresentationContext], peerMaxPDULength: UInt32, ourMaxPDULength: UInt32,
         peerInfo: UserInformation, peerUserIdentity: UserIdentityRequest?, machine: UpperLayerStateMachine) {
        self.id = id
        self.role = role
        self.stream = stream
        self.log = log
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.contexts = Dictionary(uniqueKeysWithValues: contexts.map { ($0.id, $0) })
        self.peerMaxPDULength = peerMaxPDULength
        self.ourMaxPDULength = ourMaxPDULength
        self.peerImplementationClassUID = peerInfo.implementationClassUID
        self.peerImplementationVersionName = peerInfo.implementationVersionName
        self.peerUserIdentity = peerUserIdentity
        self.roleSelections = peerInfo.roleSelections
        self.peerExtendedNegotiations = peerInfo.extendedNegotiations
        self.peerCommonExtendedNegotiations = peerInfo.commonExtendedNegotiations
        self.machine = machine
    }

    /// The AE title of the other side.
    public var peerAETitle: String { role == .acceptor ? callingAETitle : calledAETitle }

    public func makeMessageID() -> UInt16 {
        nextMessageID = nextMessageID &+ 1
        if nextMessageID == 0 { nextMessageID = 1 }
        return nextMessageID
    }

    /// The accepted context for an abstract syntax, preferring `transferSyntax` when given.
    public func context(for abstractSyntax: String, transferSyntax: String? = nil) -> AcceptedPresentationContext? {
        let candidates = contexts.values.filter { $0.abstractSyntax == abstractSyntax }.sorted { $0.id < $1.id }
        if let ts = transferSyntax, let exact = candidates.first(where: { $0.transferSyntax == ts }) { return exact }
        return transferSyntax == nil ? candidates.first : nil
    }

    // MARK: PDU I/O

    /// Reads one PDU. A malformed or oversized PDU aborts the association (PS3.8 9.3.8 reasons).
    func readPDU(maxLength: Int? = nil) throws -> PDU {
        do {
            let limit = maxLength ?? Int(ourMaxPDULength == 0 ? 64 << 20 : max(ourMaxPDULength, 16 * 1024)) + 1024
            let (type, body) = try stream.readPDU { _, length in
                guard Int(length) <= limit else {
                    try? abort(.invalidPDUParameterValue)
                    throw AssociationError.protocolError("PDU of \(length) bytes exceeds the negotiated maximum \(ourMaxPDULength)")
                }
            }
            let pdu = try PDU.decode(type: type, body: body[...])
            // The PS3.8 table decides whether this PDU may arrive now (Table 9-10); AA-8 and the
            // table's empty cells mean it may not: A-ABORT, source service provider, unexpected PDU.
            let action = machine.handle(.received(pduType: type))
            if action == nil || action == .AA8 || action == .AA1 {
                try? sendAbort(.unexpectedPDU)
                isOpen = false
                throw AssociationError.unexpectedPDU("\(pdu.type) in state \(machine.state)")
            }
            return pdu
        } catch let e as PDUError {
            try? sendAbort(e.abort)
            isOpen = false
            throw AssociationError.protocolError(e.description)
        } catch let e as TransportError {
            isOpen = false
            throw AssociationError.transport(e)
        }
    }

    func write(_ pdu: PDU) throws {
        do { try stream.write(pdu.encoded()) } catch let e as TransportError { isOpen = false; throw AssociationError.transport(e) }
    }

    private func sendAbort(_ abort: Abort) throws {
        _ = machine.handle(.evt15)
        try stream.write(PDU.abort(abort).encoded())
        stream.close()
    }

    /// Sends A-ABORT and closes the connection (PS3.8 7.3.1).
    public func abort(_ reason: Abort = .userInitiated) throws {
        guard isOpen else { return }
        isOpen = false
        log.log(.warning, "association", "abort sent", ["assoc": id, "peer": peerAETitle, "reason": reason.description])
        try? sendAbort(reason)
    }

    // MARK: sending DIMSE messages

    /// Sends a command and, if given, its data set, fragmented to the peer's maximum PDU length.
    public func send(_ command: Command, contextID: UInt8, dataSet: [UInt8]? = nil) throws {
        try sendFragments(command.encoded(), contextID: contextID, isCommand: true)
        if let dataSet { try sendFragments(dataSet, contextID: contextID, isCommand: false) }
    }

    /// Sends `bytes` as PDVs; each P-DATA-TF holds one PDV of at most the peer's limit.
    public func sendFragments(_ bytes: [UInt8], contextID: UInt8, isCommand: Bool) throws {
        try bytes.withUnsafeBytes { try sendFragments($0, contextID: contextID, isCommand: isCommand, isLastChunk: true) }
    }

    /// Streams one message part from a producer: `isLastChunk` false keeps the PDV open for more.
    public func sendFragments(_ raw: UnsafeRawBufferPointer, contextID: UInt8, isCommand: Bool, isLastChunk: Bool) throws {
        // PS3.8 9.3.5: the max length counts the PDU's variable part: PDV items of 4-byte length,
        // context id and control header, then data.
        let maxData = peerMaxPDULength == 0 ? 1 << 20 : max(Int(peerMaxPDULength) - 6, 1)
        var offset = 0
        var out: [UInt8] = []
        out.reserveCapacity(min(maxData, raw.count) + 12)
        repeat {
            let n = min(maxData, raw.count - offset)
            let last = isLastChunk && offset + n == raw.count
            out.removeAll(keepingCapacity: true)
            PDataHeader.encode(contextID: contextID, isCommand: isCommand, isLast: last, payloadLength: n, into: &out)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]))
            do { try stream.write(out) } catch let e as TransportError { isOpen = false; throw AssociationError.transport(e) }
            offset += n
        } while offset < raw.count
    }

    // MARK: receiving DIMSE messages

    /// Waits for the next DIMSE message. Data sets go to the sink `sinkFor` returns for the command
    /// (nil: kept in memory). Returns nil when the peer releases the association (we answer A-RELEASE-RP).
    public func receive(sinkFor: (Command, AcceptedPresentationContext) throws -> DataSetSink? = { _, _ in nil }) throws -> DIMSEMessage? {
        var commandBytes: [UInt8] = []
        var command: Command? = nil
        var context: AcceptedPresentationContext? = nil
        var sink: DataSetSink? = nil
        var memory: MemorySink? = nil
        while true {
            let pdv: PresentationDataValue
            if !pending.isEmpty {
                pdv = pending.removeFirst()
            } else {
                switch try readPDU() {
                case .dataTF(let tf):
                    guard !tf.values.isEmpty else { continue }
                    pending = Array(tf.values.dropFirst())
                    pdv = tf.values[0]
                case .releaseRQ:
                    _ = machine.handle(.evt14)  // local A-RELEASE response → AR-4
                    try write(.releaseRP)
                    isOpen = false
                    stream.close()
                    log.log(.info, "association", "released by peer", ["assoc": id, "peer": peerAETitle])
                    return nil
                case .abort(let a):
                    isOpen = false
                    stream.close()
                    throw AssociationError.aborted(a, byPeer: true)
                case let other:
                    try? abort(.unexpectedPDU)
                    throw AssociationError.unexpectedPDU("\(other.type) while waiting for P-DATA-TF")
                }
            }
            guard let ctx = contexts[pdv.contextID] else {
                try? abort(.invalidPDUParameterValue)
                throw AssociationError.protocolError("PDV for presentation context \(pdv.contextID), which was not accepted")
            }
            if let c = context, c.id != ctx.id {
                try? abort(.unexpectedPDUParameter)
                throw AssociationError.protocolError("PDV for context \(ctx.id) inside a message on context \(c.id)")
            }
            context = ctx
            if pdv.isCommand {
                guard command == nil else {
                    try? abort(.unexpectedPDUParameter)
                    throw AssociationError.protocolError("command fragment after the command was complete")
                }
                commandBytes.append(contentsOf: pdv.data)
                guard pdv.isLast else { continue }
                let cmd: Command
                do { cmd = try Command.decode(commandBytes) } catch {
                    try? abort(.invalidPDUParameterValue)
                    throw AssociationError.protocolError("undecodable command set: \(error)")
                }
                if cmd.commandField == .cCancelRQ, let watched = watchedMessageID, cmd.messageIDBeingRespondedTo == watched {
                    // Noted, not returned: a C-GET SCP waiting for a C-STORE-RSP must not take the cancel for it.
                    cancelRequested = true
                    commandBytes = []
                    context = nil
                    continue
                }
                command = cmd
                if !cmd.hasDataSet { return DIMSEMessage(command: cmd, context: ctx, dataSet: nil) }
                sink = try sinkFor(cmd, ctx)
                if sink == nil { memory = MemorySink(); sink = memory }
            } else {
                guard let s = sink else {
                    try? abort(.unexpectedPDUParameter)
                    throw AssociationError.protocolError("data set fragment before its command")
                }
                try pdv.data.withUnsafeBytes { try s.write($0) }
                if pdv.isLast {
                    return DIMSEMessage(command: command!, context: ctx, dataSet: memory?.bytes)
                }
            }
        }
    }

    // MARK: C-CANCEL during an operation (PS3.7 9.3.2.3, 9.3.3.3, 9.3.4.3)

    /// Runs `body` (an SCP carrying out C-FIND/C-GET/C-MOVE `messageID`) with a C-CANCEL-RQ for that
    /// message noted by `receive` rather than returned, so a cancel that arrives while the C-GET SCP
    /// waits for a C-STORE-RSP on this association is kept for `pollCancel`.
    public func watchingForCancel<T>(of messageID: UInt16, _ body: () throws -> T) rethrows -> T {
        let saved = (watchedMessageID, cancelRequested)
        watchedMessageID = messageID
        cancelRequested = false
        defer { (watchedMessageID, cancelRequested) = saved }
        return try body()
    }

    /// Whether the peer has asked to cancel `messageID`, without waiting: reads only messages that
    /// have begun to arrive (PDVs left from the last P-DATA-TF, or bytes on the socket now). The SCP
    /// calls this between matches or sub-operations. We negotiate one operation at a time
    /// (PS3.7 D.3.3.3), so any other request meanwhile is a protocol error; a cancel of another
    /// message needs no answer and is dropped.
    public func pollCancel(for messageID: UInt16) throws -> Bool {
        if cancelRequested && watchedMessageID == messageID { return true }
        let watched = watchedMessageID
        watchedMessageID = nil  // here the cancel is the message we look for
        defer { watchedMessageID = watched }
        while hasIncomingData {
            guard let message = try receive() else { throw AssociationError.released }
            let cmd = message.command
            guard cmd.commandField == .cCancelRQ else {
                throw AssociationError.protocolError("\(cmd.commandField?.name ?? "unknown command") while message \(messageID) is in progress")
            }
            if cmd.messageIDBeingRespondedTo == messageID {
                if watched == messageID { cancelRequested = true }
                return true
            }
        }
        return false
    }

    /// A message has begun to arrive: PDVs are pending or the socket is readable now (zero-timeout
    /// poll; end of stream counts, so `receive` reports it). Under TLS the socket under it is asked:
    /// records come whole and one at a time, so bytes already decrypted but unread are not expected between messages.
    var hasIncomingData: Bool {
        if !pending.isEmpty { return true }
        guard let socket = (stream as? TCPSocket) ?? (stream as? TLSStream)?.socket else { return false }
        var p = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    // MARK: release

    /// Orderly release (PS3.8 7.2): A-RELEASE-RQ, wait for A-RELEASE-RP, close.
    public func release() throws {
        guard isOpen else { return }
        _ = machine.handle(.evt11)  // local A-RELEASE request → AR-1
        try write(.releaseRQ)
        while true {
            switch try readPDU() {
            case .releaseRP:
                isOpen = false
                stream.close()
                log.log(.info, "association", "released", ["assoc": id, "peer": peerAETitle])
                return
            case .releaseRQ:
                // Release collision (PS3.8 9.2.1 AR-8): answer with A-RELEASE-RP and keep waiting for ours.
                _ = machine.handle(.evt14)
                try write(.releaseRP)
            case .abort(let a):
                isOpen = false
                stream.close()
                throw AssociationError.aborted(a, byPeer: true)
            case .dataTF:
                continue  // late responses after our release request are dropped
            case let other:
                try? abort(.unexpectedPDU)
                throw AssociationError.unexpectedPDU("\(other.type) while waiting for A-RELEASE-RP")
            }
        }
    }
}
