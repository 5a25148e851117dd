import Foundation
import Codec
import DicomNet

/// C-STORE into the node: DicomNet's `StorageHandler` over `Ingest`. The data set is written to
/// `incoming/` as the PDVs arrive, behind a File Meta group built from the request, and the
/// response waits for `Ingest.commit` (PS3.4 B.2.3: success only once stored).
public struct NodeStorage: StorageHandler {
    public let ingest: Ingest
    public let source: Source

    public init(ingest: Ingest, source: Source) {
        self.ingest = ingest
        self.source = source
    }

    public func begin(_ request: StoreRequest) throws -> StoreOperation {
        do {
            let file = try ingest.store.create()
            var meta = DicomFile.makeMeta(sopClassUID: request.sopClassUID, sopInstanceUID: request.sopInstanceUID,
                                          transferSyntax: request.transferSyntax, sourceAET: request.callingAETitle)
            meta.hasUndefinedLength = false
            do {
                try file.write(try DicomFile(meta: meta, dataSet: DataSet(), transferSyntax: .explicitVRLittleEndian).encoded())
            } catch {
                file.discard()
                throw error
            }
            return NodeStoreOperation(ingest: ingest, source: source, request: request, file: file)
        } catch {
            // Refuse this one instance with a status; the association goes on (PS3.4 B.2.3 A7xx).
            return RefusedStoreOperation(result: StoreResult(status: (error as? NodeError)?.storeStatus ?? .refusedOutOfResources,
                                                             errorComment: String("\(error)".prefix(64))))
        }
    }
}

final class NodeStoreOperation: StoreOperation {
    let ingest: Ingest
    let source: Source
    let request: StoreRequest
    let file: IncomingFile
    private var failure: Error?

    init(ingest: Ingest, source: Source, request: StoreRequest, file: IncomingFile) {
        self.ingest = ingest
        self.source = source
        self.request = request
        self.file = file
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        // A write failure (disk full) is answered with a status after the data set, not by
        // aborting the association: keep reading, stop writing.
        guard failure == nil else { return }
        do { try file.write(bytes) } catch { failure = error }
    }

    func finish() -> StoreResult {
        if let failure {
            file.discard()
            return StoreResult(status: (failure as? NodeError)?.storeStatus ?? .refusedOutOfResources, errorComment: String("\(failure)".prefix(64)))
        }
        do {
            let result = try ingest.commit(file, source: source,
                                           expected: .init(sopClassUID: request.sopClassUID, sopInstanceUID: request.sopInstanceUID))
            if !result.outcome.stored {
                ingest.log.log(.info, "store", "duplicate kept", ["assoc": request.associationID, "calling": request.callingAETitle,
                                                                   "sop": result.sopInstanceUID, "image": "\(result.outcome.imageId)"])
            }
            return .success
        } catch let e as NodeError {
            ingest.log.log(.warning, "store", "C-STORE refused", ["assoc": request.associationID, "calling": request.callingAETitle,
                                                                  "sop": request.sopInstanceUID, "error": e.description])
            // PS3.7 C.4: the Error Comment is at most 64 characters.
            return StoreResult(status: e.storeStatus, errorComment: String(e.description.prefix(64)))
        } catch {
            return StoreResult(status: .refusedOutOfResources, errorComment: String("\(error)".prefix(64)))
        }
    }

    func cancel() { file.discard() }
}

/// An instance refused before its data arrived: the data is read and dropped, the status sent.
final class RefusedStoreOperation: StoreOperation {
    let result: StoreResult
    init(result: StoreResult) { self.result = result }
    func write(_ bytes: UnsafeRawBufferPointer) throws {}
    func finish() -> StoreResult { result }
    func cancel() {}
}
