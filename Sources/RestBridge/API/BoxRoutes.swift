import Foundation
import Node

/// Seed `remoteBoxConnectionData`; Slicebox 1 sent the name as `{"value": …}`, still accepted.
struct RemoteBoxConnectionJSON: Decodable {
    var name: String?
    var value: String?
    var defaultProfile: AnonymizationProfile?
}

/// Seed `remoteBox`.
struct RemoteBoxJSON: Decodable {
    var name: String
    var baseUrl: String
    var defaultProfile: AnonymizationProfile?
}

extension SliceboxAPI {
    /// `/api/boxes`: connections with other nodes and their transactions (seed 003 "Boxes").
    /// Creating, connecting and removing boxes needs ADMINISTRATOR; sending and the listings any
    /// user. Beyond the seed: `GET /boxes/{id}`, `GET /boxes/outgoing/{id}` (with `/outgoingimages`,
    /// every image's state), `POST /boxes/outgoing/{id}/retry`, `GET /boxes/incoming/{id}`.
    func addBoxRoutes(_ api: inout APIRouter) {
        let boxes = node.boxes
        let publicURL = self.publicURL

        api.get("/boxes") { r, _ in
            let (start, count) = try r.paging()
            return .json(try boxes.boxes(startIndex: start, count: count))
        }
        api.get("/boxes/{id}") { r, _ in
            let id = try r.id()
            guard let box = try boxes.box(id: id) else { throw HTTPError(.notFound, "no box with id \(id)") }
            return .json(box)
        }
        api.post("/boxes/createconnection", .administrator) { r, _ in
            let body = try r.seedBody(RemoteBoxConnectionJSON.self)
            guard let name = body.name ?? body.value else { throw HTTPError(.badRequest, "the JSON body lacks 'name'") }
            // http.publicURL, else this node's own address (with the port actually bound).
            return .json(try boxes.createConnection(name: name, profile: body.defaultProfile ?? .basic, apiBaseURL: publicURL.value + "/api"),
                         status: .created)
        }
        api.post("/boxes/connect", .administrator) { r, _ in
            let body = try r.seedBody(RemoteBoxJSON.self)
            return .json(try boxes.connect(name: body.name, baseUrl: body.baseUrl, profile: body.defaultProfile ?? .basic), status: .created)
        }
        api.delete("/boxes/{id}", .administrator) { r, _ in
            try boxes.removeBox(id: r.id())
            return .empty()
        }
        let log = node.log
        api.post("/boxes/{id}/send") { r, user in
            let id = try r.id()
            // Seed `bulkAnonymizationData`, or a bare list of `imageTagValues`.
            let body = try r.seedBody(BulkAnonymizationBody.self)
            let images = try body.images.map { ImageTagValues(imageId: $0.imageId, tagValues: try ($0.tagValues ?? []).map { try $0.tagValue() }) }
            let t = try boxes.send(boxId: id, images: images, profile: body.profile)
            log.log(.info, "box", "send requested", ["user": user.name, "box": "\(id)", "images": "\(t?.totalImageCount ?? 0)"])
            return .empty()
        }

        api.get("/boxes/outgoing") { r, _ in
            let (start, count) = try r.paging()
            return .json(try boxes.outgoingTransactions(startIndex: start, count: count))
        }
        api.get("/boxes/outgoing/{id}") { r, _ in
            let id = try r.id()
            guard let t = try boxes.outgoingTransaction(id: id) else { throw HTTPError(.notFound, "no outgoing transaction \(id)") }
            return .json(t)
        }
        api.get("/boxes/outgoing/{id}/images") { r, _ in
            let id = try r.id()
            guard let images = try boxes.sentImages(transactionId: id) else { throw HTTPError(.notFound, "no outgoing transaction \(id)") }
            return .json(images.map(ImageJSON.init))
        }
        api.get("/boxes/outgoing/{id}/outgoingimages") { r, _ in
            let id = try r.id()
            guard try boxes.outgoingTransaction(id: id) != nil else { throw HTTPError(.notFound, "no outgoing transaction \(id)") }
            return .json(try boxes.outgoingImages(transactionId: id))
        }
        api.post("/boxes/outgoing/{id}/retry") { r, _ in
            try boxes.retryOutgoingTransaction(id: r.id())
            return .empty()
        }
        api.delete("/boxes/outgoing/{id}") { r, _ in
            try boxes.removeOutgoingTransaction(id: r.id())
            return .empty()
        }

        api.get("/boxes/incoming") { r, _ in
            let (start, count) = try r.paging()
            return .json(try boxes.incomingTransactions(startIndex: start, count: count))
        }
        api.get("/boxes/incoming/{id}") { r, _ in
            let id = try r.id()
            guard let t = try boxes.incomingTransaction(id: id) else { throw HTTPError(.notFound, "no incoming transaction \(id)") }
            return .json(t)
        }
        api.get("/boxes/incoming/{id}/images") { r, _ in
            let id = try r.id()
            guard let images = try boxes.receivedImages(transactionId: id) else { throw HTTPError(.notFound, "no incoming transaction \(id)") }
            return .json(images.map(ImageJSON.init))
        }
        api.delete("/boxes/incoming/{id}") { r, _ in
            try boxes.removeIncomingTransaction(id: r.id())
            return .empty()
        }
    }
}
