import Foundation
import Node

extension SliceboxAPI {
    /// `/api/transactions/{token}`: what the other node of a box calls (seed 003 "Transactions").
    /// No user: the token in the path authenticates, and must be a POLL box's (401 otherwise).
    ///
    /// Bodies: an image pushed here may be gzip or deflate coded (`Content-Encoding`), or a zlib
    /// stream without the field as Slicebox sends it; an image fetched from here is gzip when the
    /// client accepts it (`Accept-Encoding`), else a zlib stream without the field (Slicebox).
    func addTransactionRoutes(_ api: inout APIRouter) {
        let boxes = node.boxes

        @Sendable func box(_ r: HTTPRequest) throws -> Box {
            guard let box = try boxes.pollBox(token: try r.parameters.require("token")) else {
                throw HTTPError(.unauthorized, "no box connection has this token")
            }
            return box
        }

        api.publicRoute(.post, "/transactions/{token}/image") { r in
            let b = try box(r)
            let (t, n, total) = (try r.query.int64("transactionid"), try r.query.int64("sequencenumber"), try r.query.int64("totalimagecount"))
            do {
                _ = try boxes.receiveImage(box: b, outgoingTransactionId: t, sequenceNumber: n, totalImageCount: total,
                                           contentEncoding: r.headers["Content-Encoding"]) { sink in try r.body.forEachChunk(sink) }
            } catch NodeError.unsupported(let m) {
                throw HTTPError(HTTPStatus(415), "unsupported: \(m)")
            }
            return .empty()
        }

        api.publicRoute(.get, "/transactions/{token}/status") { r in
            let b = try box(r)
            let t = try r.query.int64("transactionid")
            guard let status = try boxes.incomingStatus(box: b, outgoingTransactionId: t) else {
                throw HTTPError(.notFound, "no incoming transaction \(t) from this box")
            }
            return .text(status.rawValue)
        }
        api.publicRoute(.put, "/transactions/{token}/status") { r in
            let b = try box(r)
            let t = try r.query.int64("transactionid")
            // A JSON string ("FINISHED") or the bare word.
            var text = String(decoding: try r.body.readAll(limit: 1024), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
            guard let status = TransactionStatus(rawValue: text.uppercased()) else {
                throw HTTPError(.badRequest, "status must be one of \(TransactionStatus.allCases.map(\.rawValue).joined(separator: ", ")); '\(text.prefix(40))' is not")
            }
            guard try boxes.setIncomingStatus(box: b, outgoingTransactionId: t, status: status) else {
                throw HTTPError(.notFound, "no incoming transaction \(t) from this box")
            }
            return .empty()
        }

        api.publicRoute(.get, "/transactions/{token}/outgoing/poll") { r in
            let b = try box(r)
            let n = try r.query.int("n", default: 1)
            guard n >= 1 else { throw HTTPError(.badRequest, "n must be at least 1") }
            let images = try boxes.poll(box: b, count: n)
            guard !images.isEmpty else { throw HTTPError(.notFound, "nothing to send to this box now") }
            return .json(images)
        }

        api.publicRoute(.get, "/transactions/{token}/outgoing") { r in
            let b = try box(r)
            let (t, i) = (try r.query.int64("transactionid"), try r.query.int64("imageid"))
            guard let file = try boxes.outgoingImageFile(box: b, transactionId: t, imageId: i) else {
                throw HTTPError(.notFound, "no outgoing image \(i) in transaction \(t) waits for this box")
            }
            let path = file.path
            if Self.acceptsGzip(r.headers["Accept-Encoding"]) {
                return HTTPResponse.stream(contentType: "application/octet-stream", length: file.size) { w in
                    guard let h = FileHandle(forReadingAtPath: path) else { throw HTTPError(.notFound, "the anonymized copy is gone") }
                    defer { try? h.close() }
                    while let piece = try h.read(upToCount: 64 * 1024), !piece.isEmpty { try piece.withUnsafeBytes { try w.write($0) } }
                }.with("Content-Encoding", "gzip")
            }
            return HTTPResponse.stream(contentType: "application/octet-stream") { w in
                try BoxService.zlibCopy(ofGzip: path) { try w.write($0) }
            }
        }

        api.publicRoute(.post, "/transactions/{token}/outgoing/done") { r in
            let b = try box(r)
            try boxes.markSent(box: b, image: try r.seedBody(OutgoingTransactionImage.self))
            return .empty()
        }
        api.publicRoute(.post, "/transactions/{token}/outgoing/failed") { r in
            let b = try box(r)
            try boxes.markFailed(box: b, failed: try r.seedBody(FailedOutgoingTransactionImage.self))
            return .empty()
        }
    }

    /// RFC 9110 §12.5.3: gzip (or x-gzip, or *) listed without q=0.
    static func acceptsGzip(_ field: String?) -> Bool {
        guard let field else { return false }
        for item in field.lowercased().split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let coding = parts.first, coding == "gzip" || coding == "x-gzip" || coding == "*" else { continue }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if q > 0 { return true }
        }
        return false
    }
}
