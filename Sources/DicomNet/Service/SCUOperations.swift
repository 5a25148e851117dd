import Foundation
import Codec

/// A file ready to send with C-STORE: its identity and its data set bytes as stored.
public struct StorableFile: Sendable {
    public var path: String
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var transferSyntax: TransferSyntax

    /// For callers that already know what the file is (an index, a store).
    public init(path: String, sopClassUID: String, sopInstanceUID: String, transferSyntax: TransferSyntax) {
        self.path = path
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.transferSyntax = transferSyntax
    }

    /// Reads only the header (stops before Pixel Data) to learn what the file is.
    public init(path: String) throws {
        let file = try DicomFile.read(path: path, options: .headerOnly)
        // The data set's own UIDs win over the meta group's: the receiver checks the command
        // against the data set (PS3.4 B.2.3 0xA900), and some files disagree with their meta.
        let sopClass = file.dataSet.string(.sopClassUID) ?? file.meta.string(.mediaStorageSOPClassUID)
        let sopInstance = file.dataSet.string(.sopInstanceUID) ?? file.meta.string(.mediaStorageSOPInstanceUID)
        guard let sopClass, !sopClass.isEmpty, let sopInstance, !sopInstance.isEmpty else {
            throw CodecError.notDICOM(reason: "\(path) has no SOP Class UID / SOP Instance UID")
        }
        self.path = path
        self.sopClassUID = sopClass
        self.sopInstanceUID = sopInstance
        self.transferSyntax = file.transferSyntax
    }
}

extension Association {
    /// C-ECHO (PS3.7 9.1.5): the status the peer answered.
    public func echo() throws -> DIMSEStatus {
        guard let ctx = context(for: verificationSOPClass) else {
            throw AssociationError.noPresentationContext(abstractSyntax: verificationSOPClass, transferSyntax: nil)
        }
        let rq = Command.echoRequest(messageID: makeMessageID())
        try send(rq, contextID: ctx.id)
        let rsp = try awaitResponse(to: rq, expecting: .cEchoRSP)
        return rsp.status ?? .processingFailure
    }

    /// C-STORE of one file (PS3.7 9.1.1). The stored data set bytes are sent unchanged when the
    /// peer accepted the file's transfer syntax; a native file is transcoded to another native
    /// syntax the peer accepted; otherwise there is no context and the error says so.
    public func store(_ file: StorableFile, priority: Priority = .medium,
                      moveOriginator: (aeTitle: String, messageID: UInt16)? = nil) throws -> StoreResult {
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file.path)))
        let rq: (AcceptedPresentationContext) -> Command = { [self] ctx in
            Command.storeRequest(messageID: makeMessageID(), sopClassUID: file.sopClassUID, sopInstanceUID: file.sopInstanceUID,
                                 priority: priority, moveOriginatorAETitle: moveOriginator?.aeTitle,
                                 moveOriginatorMessageID: moveOriginator?.messageID)
        }
        let request: Command
        if let ctx = context(for: file.sopClassUID, transferSyntax: file.transferSyntax.uid) {
            let header = try DicomFile.read(bytes: bytes, options: .headerOnly)
            let offset = header.dataSetOffset ?? 0
            request = rq(ctx)
            if (bytes.count - offset) % 2 == 1 && file.transferSyntax.isDeflated {
                // A deflated data set of odd length is padded with one NUL (PS3.5 A.5); peers refuse odd fragments.
                try send(request, contextID: ctx.id, dataSet: Array(bytes[offset...]) + [0])
            } else {
                try send(request, contextID: ctx.id)
                try bytes.withUnsafeBytes { raw in
                    try sendFragments(UnsafeRawBufferPointer(rebasing: raw[offset...]), contextID: ctx.id, isCommand: false, isLastChunk: true)
                }
            }
        } else if file.transferSyntax.isNative,
                  let ctx = contexts.values.sorted(by: { $0.id < $1.id }).first(where: { $0.abstractSyntax == file.sopClassUID && TransferSyntax(uid: $0.transferSyntax).isNative }) {
            let whole = try DicomFile.read(bytes: bytes)
            let payload = try DicomFile.encode(whole.dataSet, transferSyntax: TransferSyntax(uid: ctx.transferSyntax))
            request = rq(ctx)
            try send(request, contextID: ctx.id, dataSet: payload)
        } else {
            throw AssociationError.noPresentationContext(abstractSyntax: file.sopClassUID, transferSyntax: file.transferSyntax.uid)
        }
        let rsp = try awaitResponse(to: request, expecting: .cStoreRSP)
        return StoreResult(status: rsp.status ?? .processingFailure, errorComment: rsp.errorComment)
    }

    /// The next message, which must be the response to `request`.
    func awaitResponse(to request: Command, expecting field: CommandField) throws -> Command {
        guard let message = try receive() else { throw AssociationError.released }
        let rsp = message.command
        guard rsp.commandField == field, rsp.messageIDBeingRespondedTo == request.messageID else {
            try? abort(.unexpectedPDUParameter)
            throw AssociationError.unexpectedResponse("expected \(field.name) to message \(request.messageID ?? 0), got \(rsp.commandField?.name ?? "unknown")")
        }
        return rsp
    }
}
