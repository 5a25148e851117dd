import Foundation
import Node

/// `/api/anonymization/…` and the image anonymization routes: PS3.15 Annex E profiles with
/// options, tag-value overrides, and the keys that lead anonymous images back to their originals.
struct AnonymizationDataJSON: Decodable {
    var profile: AnonymizationProfile?
    var tagValues: [TagValueJSON]?
}

struct ImageTagValuesJSON: Decodable {
    var imageId: Int64
    var tagValues: [TagValueJSON]?
}

struct BulkAnonymizationDataJSON: Decodable {
    var profile: AnonymizationProfile?
    var imageTagValuesSet: [ImageTagValuesJSON]
}

/// Either form of the bulk anonymization body.
struct BulkAnonymizationBody: Decodable {
    var profile: AnonymizationProfile?
    var images: [ImageTagValuesJSON]
    init(from decoder: Decoder) throws {
        if let array = try? [ImageTagValuesJSON](from: decoder) {
            images = array
        } else {
            let bulk = try BulkAnonymizationDataJSON(from: decoder)
            profile = bulk.profile
            images = bulk.imageTagValuesSet
        }
    }
}

struct AnonymizationKeyValueJSON: Encodable {
    var id, anonymizationKeyId: Int64
    var tagPath: TagPathJSON
    var value, anonymizedValue: String
    init(_ v: AnonymizationKeyValue) {
        id = v.id; anonymizationKeyId = v.anonymizationKeyId; tagPath = TagPathJSON(v.tagPath); value = v.value; anonymizedValue = v.anonymizedValue
    }
}

extension TagValueJSON {
    func tagValue() throws -> TagValue { TagValue(tagPath: try tagPath.tagPath(), value: value) }
}

extension SliceboxAPI {
    func addAnonymizationRoutes(_ api: inout APIRouter) {
        let anonymization = node.anonymization, log = node.log

        api.put("/images/{id}/anonymize") { r, user in
            let id = try r.id()
            let body = try r.seedBody(AnonymizationDataJSON?.self)
            let image = try anonymization.anonymize(imageId: id, profile: body?.profile ?? .basic, tagValues: try (body?.tagValues ?? []).map { try $0.tagValue() })
            log.log(.info, "anonymization", "image anonymized", ["image": "\(id)", "new": "\(image.id)", "user": user.name])
            return .json(ImageJSON(image))
        }
        api.post("/images/{id}/anonymized") { r, _ in
            let body = try r.seedBody(AnonymizationDataJSON?.self)
            let bytes = try anonymization.anonymizedCopy(imageId: r.id(), profile: body?.profile ?? .basic,
                                                         tagValues: try (body?.tagValues ?? []).map { try $0.tagValue() })
            return .bytes(bytes, contentType: "application/octet-stream")
        }
        api.post("/anonymization/anonymize") { r, user in
            // The seed gives an array of imageTagValues; Slicebox's own body is bulkAnonymizationData.
            let body = try r.seedBody(BulkAnonymizationBody.self)
            let profile = body.profile ?? .basic
            let images = try body.images.map { ImageTagValues(imageId: $0.imageId, tagValues: try ($0.tagValues ?? []).map { try $0.tagValue() }) }
            let result = try anonymization.anonymize(images: images, profile: profile)
            log.log(.info, "anonymization", "images anonymized", ["images": "\(result.count)", "user": user.name])
            return .json(result.map(ImageJSON.init))
        }
        api.get("/anonymization/options") { _, _ in .json(anonymization.options) }
        api.get("/anonymization/keys") { r, _ in .json(try anonymization.keys(MetadataQuery.fromListing(r))) }
        api.post("/anonymization/keys/query") { r, _ in .json(try anonymization.keys(r.seedBody(QueryJSON.self).metadataQuery())) }
        api.get("/anonymization/keys/export/csv", .administrator) { _, _ in
            .text(try anonymization.exportCSV(), contentType: "text/csv; charset=utf-8")
        }
        api.get("/anonymization/keys/{id}") { r, _ in
            let id = try r.id()
            guard let key = try anonymization.key(id: id) else { throw HTTPError(.notFound, "no anonymization key \(id)") }
            return .json(key)
        }
        api.delete("/anonymization/keys/{id}") { r, _ in try anonymization.deleteKey(id: r.id()); return .empty() }
        api.get("/anonymization/keys/{id}/keyvalues") { r, _ in
            let id = try r.id()
            guard let values = try anonymization.keyValues(keyId: id) else { throw HTTPError(.notFound, "no anonymization key \(id)") }
            return .json(values.map(AnonymizationKeyValueJSON.init))
        }
    }
}
