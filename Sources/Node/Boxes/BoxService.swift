import Foundation
import Codec
import DicomNet

/// Boxes: two nodes exchanging images over HTTP(S) (Slicebox's box protocol, seed 003 `/boxes`,
/// `/transactions/{token}`; research notes §3 "Box protocol").
///
/// - **Pairing.** The node the other can reach makes a POLL box (`createConnection`) whose URL,
///   `…/api/transactions/<token>`, goes to the other node out of band; that node makes a PUSH box
///   with it (`connect`). The PUSH side does all the calling: it pushes its images (`POST image`)
///   and polls for the images the POLL side sends (`GET outgoing/poll`, `GET outgoing`, `POST
///   outgoing/done|failed`).
/// - **Sending** makes an outgoing transaction: its images with sequence numbers 1…n, the profile
///   and per-image forced values. Each image is anonymized once into a gzip file (`BoxSpool`) and
///   sent from it, compressed on the wire (`Content-Encoding: gzip`).
/// - **Never lost, never twice.** Transactions and each image's state are in the index; workers
///   resume after a restart of either side. A received image is recorded by (box, outgoing
///   transaction, sequence number), so a resend (the answer to the first send was lost) is
///   recognised and acknowledged without being stored or counted again; being byte-identical (the
///   spool), it would be the same instance anyway.
/// - **Statuses** follow the images: WAITING → PROCESSING while images move → FINISHED when all
///   arrived, FAILED as soon as one was refused (the others still go; `retryOutgoingTransaction`
///   offers the refused ones again). Deleting a transaction stops it after the images in flight.
public final class BoxService: IngestObserver, @unchecked Sendable {
    public let ingest: Ingest
    public let anonymization: AnonymizationService
    let forwarding: ForwardingService
    let tagFilters: TagFilterService
    let log: NetLogger
    let store: BoxStore
    let spool: BoxSpool
    /// Signalled whenever an outgoing image's state changes (forwarding waits on it).
    let changes = NSCondition()
    private(set) var transfers: BoxTransfers!

    public init(ingest: Ingest, anonymization: AnonymizationService, forwarding: ForwardingService, tagFilters: TagFilterService,
                settings: BoxSettings = BoxSettings(), log: NetLogger? = nil) throws {
        self.ingest = ingest
        self.anonymization = anonymization
        self.forwarding = forwarding
        self.tagFilters = tagFilters
        self.log = log ?? ingest.log
        spool = try BoxSpool(root: ingest.store.root)
        store = BoxStore(db: ingest.index.db, settings: try settings.validated())
        transfers = BoxTransfers(service: self)
        ingest.add(observer: self)
        forwarding.register(sender: BoxForwardingSender(service: self))
    }

    /// Timings and limits: intervals, batch size and parallelism apply from the next batch;
    /// timeouts and TLS trust are those the service was made with, the timer's period the one
    /// at `start`.
    public var settings: BoxSettings {
        get { store.settings }
        set { store.settings = newValue }
    }

    static func source(_ box: Box) -> Source { Source(type: .box, name: box.name, id: box.id) }

    // MARK: running

    /// Takes over what a previous run left (spool files of images sent meanwhile, partial ones),
    /// then starts pushing and polling for every PUSH box.
    public func start() throws {
        let removed = spool.sweep(keep: try store.pendingImageIds())
        if removed > 0 { log.log(.info, "box", "removed anonymized copies no longer needed", ["files": "\(removed)"]) }
        try store.idle(now: BoxStore.now())
        transfers.start()
    }

    /// Stops the workers: images in flight finish (up to `waitSeconds`), nothing new starts.
    public func stop(waitSeconds: Double = 10) { transfers.stop(waitSeconds: waitSeconds) }

    // MARK: boxes (seed `/boxes`)

    /// A POLL box for a node that will connect to this one (seed `POST /boxes/createconnection`):
    /// its `baseUrl` is `apiBaseURL/transactions/<new token>`. The same name again returns it.
    public func createConnection(name: String, profile: AnonymizationProfile, apiBaseURL: String) throws -> Box {
        let name = try Self.checkName(name)
        if let existing = try store.box(name: name) {
            guard existing.sendMethod == .POLL else { throw NodeError.badRequest("a box named '\(name)' already exists and connects to \(existing.baseUrl)") }
            return existing
        }
        let base = apiBaseURL.hasSuffix("/") ? String(apiBaseURL.dropLast()) : apiBaseURL
        _ = try HTTPEndpoint(base)
        let token = UUID().uuidString.lowercased()
        let id = try store.insertBox(name: name, token: token, baseUrl: base + "/transactions/" + token, method: .POLL, profile: profile)
        log.log(.info, "box", "connection created", ["id": "\(id)", "name": name])
        return try store.box(id: id)!
    }

    /// A PUSH box from a URL another node's `createConnection` made (seed `POST /boxes/connect`).
    /// The same name and URL again returns it; the same name with another URL, or naming a POLL
    /// box, is refused.
    public func connect(name: String, baseUrl: String, profile: AnonymizationProfile) throws -> Box {
        let name = try Self.checkName(name)
        let url = baseUrl.trimmingCharacters(in: .whitespaces)
        let endpoint = try HTTPEndpoint(url)
        let path = endpoint.target.prefix { $0 != "?" }
        guard let last = path.split(separator: "/").last, UUID(uuidString: String(last)) != nil else {
            throw NodeError.badRequest("the box URL must end with the connection's token (a UUID): '\(url)' does not")
        }
        let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
        if let existing = try store.box(name: name) {
            guard existing.sendMethod == .PUSH, existing.baseUrl == trimmed else {
                throw NodeError.badRequest("a box named '\(name)' already exists" + (existing.sendMethod == .POLL ? " (made by createconnection)" : " with the URL \(existing.baseUrl)"))
            }
            return existing
        }
        let id = try store.insertBox(name: name, token: String(last).lowercased(), baseUrl: trimmed, method: .PUSH, profile: profile)
        log.log(.info, "box", "connected", ["id": "\(id)", "name": name, "url": trimmed])
        transfers.kick()
        return try store.box(id: id)!
    }

    private static func checkName(_ name: String) throws -> String {
        let n = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !n.isEmpty else { throw NodeError.badRequest("a box needs a name") }
        guard n.count <= 200 else { throw NodeError.badRequest("a box name is at most 200 characters") }
        return n
    }

    /// Boxes in id order (seed `GET /boxes`).
    public func boxes(startIndex: Int = 0, count: Int = 20) throws -> [Box] { try store.boxes(startIndex: startIndex, count: count) }

    public func box(id: Int64) throws -> Box? { try store.box(id: id) }

    /// Removes a box, its transactions and anonymized copies, the forwarding rules from and to it
    /// and its tag filter associations (seed `DELETE /boxes/{id}`; unknown ids are ignored).
    public func removeBox(id: Int64) throws {
        guard let box = try store.box(id: id) else { return }
        transfers.forget(boxId: id)
        spool.remove(try store.deleteBox(id: id))
        try forwarding.removeRules(forSource: .box, id: id)
        try forwarding.removeRules(forDestination: .box, id: id)
        _ = try tagFilters.removeAssociations(sourceType: .box, sourceId: id)
        notify()
        log.log(.info, "box", "removed", ["id": "\(id)", "name": box.name])
    }

    // MARK: sending (seed `POST /boxes/{id}/send`, `/boxes/outgoing…`)

    /// Queues stored images for a box (seed `bulkAnonymizationData`): one outgoing transaction,
    /// images in the order given (each once), anonymized with `profile` (the box's when nil; the
    /// Basic Profile is always part of it) and each image's forced values. Nil when `images` is empty.
    @discardableResult
    public func send(boxId: Int64, images: [ImageTagValues], profile: AnonymizationProfile? = nil) throws -> OutgoingTransaction? {
        guard let box = try store.box(id: boxId) else { throw NodeError.notFound("box \(boxId)") }
        var seen = Set<Int64>()
        let unique = images.filter { seen.insert($0.imageId).inserted }
        guard !unique.isEmpty else { return nil }
        let stored = Dictionary(try ingest.index.storedImages(ids: unique.map(\.imageId)).map { ($0.image.id, $0.image.sopInstanceUID) },
                                uniquingKeysWith: { a, _ in a })
        let unknown = unique.map(\.imageId).filter { stored[$0] == nil }
        guard unknown.isEmpty else {
            throw NodeError.notFound("image\(unknown.count == 1 ? "" : "s") \(unknown.prefix(10).map(String.init).joined(separator: ", "))\(unknown.count > 10 ? ", …" : "")")
        }
        for i in unique {
            for tv in i.tagValues where tv.tagPath.hasWildcards {
                throw NodeError.badRequest("a forced value's tag path cannot have wildcards: \(tv.tagPath)")
            }
        }
        let id = try store.createTransaction(boxId: boxId, profile: profile ?? box.profile,
                                             images: unique.map { ($0.imageId, stored[$0.imageId] ?? "", BoxStore.encode($0.tagValues)) },
                                             forwarding: false)
        log.log(.info, "box", "send queued", ["box": box.name, "transaction": "\(id)", "images": "\(unique.count)"])
        transfers.kick()
        return try store.outgoingTransaction(id: id)
    }

    /// Outgoing transactions, most recently updated first (seed `GET /boxes/outgoing`).
    public func outgoingTransactions(startIndex: Int = 0, count: Int = 20) throws -> [OutgoingTransaction] {
        try store.outgoingTransactions(startIndex: startIndex, count: count)
    }

    public func outgoingTransaction(id: Int64) throws -> OutgoingTransaction? { try store.outgoingTransaction(id: id) }

    /// Every image of a transaction with its state (beyond the seed).
    public func outgoingImages(transactionId: Int64) throws -> [OutgoingImage] { try store.outgoingImages(transactionId: transactionId) }

    /// The stored images a transaction sent (seed `GET /boxes/outgoing/{id}/images`); nil for an unknown transaction.
    public func sentImages(transactionId: Int64) throws -> [Image]? {
        guard try store.outgoingTransaction(id: transactionId) != nil else { return nil }
        return try images(try store.sentImages(transactionId: transactionId))
    }

    /// Deletes an outgoing transaction: images in flight finish, nothing more is sent (seed
    /// `DELETE /boxes/outgoing/{id}`; unknown ids are ignored).
    public func removeOutgoingTransaction(id: Int64) throws {
        transfers.cancel(transactionId: id)
        spool.remove(try store.deleteOutgoing(id: id))
        notify()
        log.log(.info, "box", "outgoing transaction removed", ["transaction": "\(id)"])
    }

    /// Offers a transaction's refused images again (beyond the seed: Slicebox has no retry).
    public func retryOutgoingTransaction(id: Int64) throws {
        guard let failed = try store.retryOutgoing(id: id) else { throw NodeError.notFound("outgoing transaction \(id)") }
        spool.remove(failed)  // made again: a damaged copy may be why it failed
        if !failed.isEmpty { log.log(.info, "box", "outgoing transaction retried", ["transaction": "\(id)", "images": "\(failed.count)"]) }
        transfers.kick()
    }

    // MARK: receiving (seed `/boxes/incoming…`)

    /// Incoming transactions, most recently updated first (seed `GET /boxes/incoming`).
    public func incomingTransactions(startIndex: Int = 0, count: Int = 20) throws -> [IncomingTransaction] {
        try store.incomingTransactions(startIndex: startIndex, count: count)
    }

    public func incomingTransaction(id: Int64) throws -> IncomingTransaction? { try store.incomingTransaction(id: id) }

    /// The stored images a transaction brought (seed `GET /boxes/incoming/{id}/images`); nil for an unknown transaction.
    public func receivedImages(transactionId: Int64) throws -> [Image]? {
        guard let recorded = try store.incomingImages(transactionId: transactionId) else { return nil }
        return try images(recorded)
    }

    /// Forgets an incoming transaction (its images stay). Images still arriving for it start a
    /// new one holding the remainder (seed `DELETE /boxes/incoming/{id}`).
    public func removeIncomingTransaction(id: Int64) throws { try store.deleteIncoming(id: id) }

    /// The stored images still holding the recorded instances (a deleted image's id may have
    /// been given to another image since).
    private func images(_ recorded: [(id: Int64, sop: String)]) throws -> [Image] {
        let byId = Dictionary(try ingest.index.storedImages(ids: recorded.map(\.id)).map { ($0.image.id, $0.image) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<Int64>()
        return recorded.compactMap { r in
            guard seen.insert(r.id).inserted, let image = byId[r.id], r.sop.isEmpty || image.sopInstanceUID == r.sop else { return nil }
            return image
        }
    }

    // MARK: the other node's calls (seed `/transactions/{token}/…`)

    /// The POLL box a token authenticates; nil means 401.
    public func pollBox(token: String) throws -> Box? {
        guard !token.isEmpty else { return nil }
        return try store.pollBox(token: token.lowercased())
    }

    /// What became of an image the other node pushed.
    public enum ReceiveOutcome: Sendable, Equatable {
        /// Stored (`added` false: the instance was here already and was replaced or kept).
        case stored(imageId: Int64, added: Bool)
        /// This image of that transaction was received before: acknowledged, not stored again.
        case alreadyReceived
    }

    /// Stores an image the other node pushed (seed `POST /transactions/{token}/image`). `body`
    /// hands over the request body piece by piece; its content coding (gzip, deflate, or a zlib
    /// stream without a Content-Encoding, as Slicebox sends) is removed as it is written to the
    /// store. A resend is recognised and its body dropped. Throws `NodeError.invalidData` for a
    /// body that is not DICOM (recorded as refused; the route answers 400).
    public func receiveImage(box: Box, outgoingTransactionId: Int64, sequenceNumber: Int64, totalImageCount: Int64, contentEncoding: String?,
                             body: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> ReceiveOutcome {
        guard outgoingTransactionId >= 0, sequenceNumber >= 1, totalImageCount >= 1, sequenceNumber <= totalImageCount else {
            throw NodeError.badRequest("transactionid must be ≥ 0 and 1 ≤ sequencenumber ≤ totalimagecount")
        }
        try store.contact(boxId: box.id)
        if try store.received(boxId: box.id, outgoingTransactionId: outgoingTransactionId, sequenceNumber: sequenceNumber) {
            try body { _ in }
            log.log(.info, "box", "image received again (its answer was lost); acknowledged, not stored again",
                    ["box": box.name, "transaction": "\(outgoingTransactionId)", "sequence": "\(sequenceNumber)"])
            try store.recordIncoming(boxId: box.id, outgoingTransactionId: outgoingTransactionId, sequenceNumber: sequenceNumber,
                                     totalImageCount: totalImageCount, imageId: nil, outcome: .duplicate)
            return .alreadyReceived
        }
        return try storeReceived(box: box, outgoingTransactionId: outgoingTransactionId, sequenceNumber: sequenceNumber,
                                 totalImageCount: totalImageCount, contentEncoding: contentEncoding, body: body)
    }

    /// Stores one received image and records it (push and poll alike).
    func storeReceived(box: Box, outgoingTransactionId: Int64, sequenceNumber: Int64, totalImageCount: Int64, contentEncoding: String?,
                       body: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> ReceiveOutcome {
        let decoder = try ContentDecoder(contentEncoding: contentEncoding, sniff: true, maxOutput: Int(clamping: settings.maxImageBytes))
        func record(_ imageId: Int64?, _ outcome: BoxStore.IncomingOutcome, _ message: String = "", sop: String = "") throws {
            let status = try store.recordIncoming(boxId: box.id, outgoingTransactionId: outgoingTransactionId, sequenceNumber: sequenceNumber,
                                                  totalImageCount: totalImageCount, imageId: imageId, sopInstanceUID: sop, outcome: outcome, message: message)
            if status == .FINISHED && sequenceNumber == totalImageCount || status == .FAILED && outcome == .rejected {
                log.log(status == .FINISHED ? .info : .warning, "box", "incoming transaction \(status.rawValue.lowercased())",
                        ["box": box.name, "transaction": "\(outgoingTransactionId)"])
            }
        }
        do {
            let result = try ingest.store(writing: { file in
                try body { try decoder.write($0) { try file.write($0) } }
                try decoder.finish { try file.write($0) }
            }, source: Self.source(box))
            try record(result.outcome.imageId, result.outcome.added ? .added : .replaced, sop: result.sopInstanceUID)
            return .stored(imageId: result.outcome.imageId, added: result.outcome.added)
        } catch NodeError.duplicate(let m) {
            // The instance is here (duplicate policy "reject"): received all the same.
            try record(nil, .duplicate, m)
            return .alreadyReceived
        } catch let e as NodeError {
            if case .invalidData = e {
                try record(nil, .rejected, "\(e)")
                log.log(.warning, "box", "image refused", ["box": box.name, "transaction": "\(outgoingTransactionId)",
                                                           "sequence": "\(sequenceNumber)", "error": "\(e)"])
            }
            throw e
        }
    }

    /// The status of an incoming transaction (seed `GET /transactions/{token}/status`).
    public func incomingStatus(box: Box, outgoingTransactionId: Int64) throws -> TransactionStatus? {
        try store.incomingStatus(boxId: box.id, outgoingTransactionId: outgoingTransactionId)
    }

    /// The sender's word on its transaction (seed `PUT /transactions/{token}/status`): FINISHED or
    /// FAILED once it has nothing more to send. False when the transaction is unknown here.
    public func setIncomingStatus(box: Box, outgoingTransactionId: Int64, status: TransactionStatus) throws -> Bool {
        try store.setIncomingStatus(boxId: box.id, outgoingTransactionId: outgoingTransactionId, status: status)
    }

    /// Up to `count` images this node has for the other one, oldest transaction first (seed
    /// `GET /transactions/{token}/outgoing/poll`); their transactions become PROCESSING.
    public func poll(box: Box, count: Int) throws -> [OutgoingTransactionImage] {
        try store.contact(boxId: box.id)
        let pending = try store.pending(boxId: box.id, limit: max(1, min(count, 10_000)))
        try store.processing(transactionIds: Set(pending.map(\.transactionImage.transaction.id)))
        return pending.map(\.transactionImage)
    }

    /// The anonymized, gzip-compressed copy of one outgoing image, made now if needed (seed
    /// `GET /transactions/{token}/outgoing`). Nil when the box has no such pending image.
    public func outgoingImageFile(box: Box, transactionId: Int64, imageId: Int64) throws -> (path: String, size: Int64)? {
        guard let p = try store.outgoingImage(boxId: box.id, transactionId: transactionId, imageId: imageId),
              p.transactionImage.image.status == "pending" else { return nil }
        do {
            return try spoolFile(p)
        } catch let e as NodeError where Self.isFinal(e) {
            // The stored image is gone or unreadable: refused for good, the transaction is FAILED.
            try record(p.transactionImage.image.id, sent: false, message: "\(e)")
            throw e
        }
    }

    /// The copy of `outgoingImageFile` as a zlib stream, for a peer that does not take gzip
    /// (Slicebox inflates box bodies as zlib): decompressed and compressed again piece by piece.
    public static func zlibCopy(ofGzip path: String, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try BoxSpool.zlib(fromGzip: path, to: sink)
    }

    /// The other node stored an image it fetched (seed `POST /transactions/{token}/outgoing/done`).
    public func markSent(box: Box, image: OutgoingTransactionImage) throws {
        guard try store.outgoingImage(boxId: box.id, transactionId: image.transaction.id, imageId: image.image.id) != nil else { return }
        try record(image.image.id, sent: true)
    }

    /// The other node could not store an image it fetched (seed `POST /transactions/{token}/outgoing/failed`):
    /// the image is refused, the transaction FAILED (its other images still go).
    public func markFailed(box: Box, failed: FailedOutgoingTransactionImage) throws {
        let ti = failed.transactionImage
        guard try store.outgoingImage(boxId: box.id, transactionId: ti.transaction.id, imageId: ti.image.id) != nil else { return }
        try record(ti.image.id, sent: false, message: "\(box.name): \(failed.message)")
        log.log(.warning, "box", "image refused by the other node", ["box": box.name, "transaction": "\(ti.transaction.id)",
                                                                     "image": "\(ti.image.imageId)", "error": failed.message])
    }

    // MARK: shared by the workers

    /// Failures that another attempt cannot mend (a deleted or unreadable image, a forced value
    /// that does not fit): the image is refused. Others (disk, index) are tried again later.
    static func isFinal(_ e: NodeError) -> Bool {
        switch e {
        case .notFound, .invalidData, .badRequest, .unsupported: return true
        default: return false
        }
    }

    /// The anonymized copy of a pending image. The image must still be the instance that was
    /// queued: an id freed by a deletion and given to another image is not sent in its place.
    func spoolFile(_ p: BoxStore.Pending) throws -> (path: String, size: Int64) {
        let ti = p.transactionImage
        return try spool.file(ti.image.id) {
            guard let stored = try ingest.index.storedImage(id: ti.image.imageId), stored.image.sopInstanceUID == p.sopInstanceUID else {
                throw NodeError.notFound("image \(ti.image.imageId) (\(p.sopInstanceUID)) was deleted before it was sent")
            }
            return try anonymization.anonymizedCopy(imageId: ti.image.imageId, profile: ti.transaction.profile, tagValues: try BoxStore.tagValues(p.tagValues))
        }
    }

    /// Records an outgoing image's outcome, drops its copy, wakes those waiting on it.
    func record(_ outgoingImageId: Int64, sent: Bool, message: String = "") throws {
        let result = try store.record(outgoingImageId: outgoingImageId, sent: sent, message: message)
        spool.remove([outgoingImageId])
        notify()
        if let (t, status) = result, status == .FINISHED || (status == .FAILED && !sent) {
            if let tx = try store.outgoingTransaction(id: t), status == .FAILED || tx.sentImageCount == tx.totalImageCount {
                log.log(status == .FINISHED ? .info : .warning, "box", "outgoing transaction \(status.rawValue.lowercased())",
                        ["box": tx.boxName, "transaction": "\(t)", "sent": "\(tx.sentImageCount)", "failed": "\(tx.failedImageCount)",
                         "total": "\(tx.totalImageCount)"] )
            }
        }
    }

    func notify() {
        changes.lock()
        changes.broadcast()
        changes.unlock()
    }

    // MARK: events

    public func ingest(_ event: IngestEvent) {
        guard case .imagesDeleted(let ids) = event else { return }
        do {
            let dropped = try store.dropPending(imageIds: ids) { [spool] in spool.size($0) != nil }
            if !dropped.isEmpty {
                notify()
                log.log(.info, "box", "deleted images left their outgoing transactions before they were sent", ["images": "\(dropped.count)"])
            }
        } catch {
            log.log(.error, "box", "cannot update outgoing transactions for deleted images", ["error": "\(error)"])
        }
    }
}
