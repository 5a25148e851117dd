import Foundation

/// Forwarding rules to boxes (Slicebox: a rule's destination may be a box; the box's default
/// profile anonymizes). A forwarding send becomes an outgoing box transaction, and each image is
/// reported delivered once the other node has it (pushed, or fetched and acknowledged), so a
/// keepImages-false rule never deletes an image the box still has to send.
///
/// A send interrupted (node stopped, box offline past `forwardingWaitSeconds`) is sent again by
/// forwarding later: images still waiting in a forwarding transaction of the box, or already sent
/// by one, are not queued a second time (matched by image id and SOP Instance UID: a deleted
/// image's id may come back for another image).
final class BoxForwardingSender: ForwardingSender, @unchecked Sendable {
    let destinationType = DestinationType.box
    weak var service: BoxService?

    init(service: BoxService) { self.service = service }

    func destinations() throws -> [Destination] {
        guard let service else { return [] }
        return try service.boxes(count: 1_000_000).map { Destination(destinationType: .box, destinationName: $0.name, destinationId: $0.id) }
    }

    func send(_ images: [ForwardingImage], to destinationId: Int64, cancellation: ForwardingCancellation,
              report: (ForwardingImage, ForwardingImageResult) -> Void) throws {
        guard let service else { throw BoxTransferError("the box service has stopped") }
        guard let box = try service.box(id: destinationId) else { throw NodeError.notFound("box \(destinationId) no longer exists") }
        let store = service.store
        // The newest forwarding row of each image for this box, pending or sent.
        var rows: [Int64: Int64] = [:]
        try store.db.read { c in
            for image in images {
                if let id = try c.scalar("""
                    SELECT i.id FROM box_outgoing_images i JOIN box_outgoing_transactions t ON t.id = i.transaction_ref
                    WHERE t.box_ref=? AND t.forwarding=1 AND i.image_ref=? AND i.sop_instance_uid=? AND i.status IN ('pending','sent')
                    ORDER BY i.id DESC LIMIT 1
                    """, [.integer(box.id), .integer(image.imageId), .text(image.sopInstanceUID)]) { rows[image.imageId] = id }
            }
        }
        let missing = images.filter { rows[$0.imageId] == nil }
        if !missing.isEmpty {
            let t = try store.createTransaction(boxId: box.id, profile: box.profile, images: missing.map { ($0.imageId, $0.sopInstanceUID, "") }, forwarding: true)
            for r in try store.outgoingImages(transactionId: t) { rows[r.imageId] = r.id }
            service.log.log(.info, "box", "forwarding queued", ["box": box.name, "transaction": "\(t)", "images": "\(missing.count)"])
            service.transfers.kick()
        }
        var waiting = Dictionary(uniqueKeysWithValues: images.compactMap { i in rows[i.imageId].map { ($0, i) } })
        let deadline = Date().addingTimeInterval(service.settings.forwardingWaitSeconds)
        while !waiting.isEmpty && !cancellation.isCancelled {
            let states = try store.db.read { c in
                try waiting.keys.map { id in (id, try c.query("SELECT status, message FROM box_outgoing_images WHERE id=?", [.integer(id)]).first) }
            }
            for (id, row) in states {
                guard let image = waiting[id] else { continue }
                switch row?[0].string {
                case "sent": report(image, .delivered(status: nil))
                case "failed": report(image, .refused(status: nil, reason: row?[1].string ?? "refused"))
                case nil: report(image, .refused(status: nil, reason: "removed from the outgoing transactions of box \(box.name)"))
                default: continue
                }
                waiting[id] = nil
            }
            if waiting.isEmpty || cancellation.isCancelled { break }
            guard Date() < deadline else {
                throw BoxTransferError("box \(box.name) has not taken \(waiting.count) image(s) within \(Int(service.settings.forwardingWaitSeconds)) s")
            }
            service.changes.lock()
            _ = service.changes.wait(until: Date().addingTimeInterval(1))
            service.changes.unlock()
        }
    }
}
