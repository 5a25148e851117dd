import Foundation
import Node

/// Seed 002 `ImageResource` as JSON: every field of the seed's model, `modalitySession` null when
/// the resource was uploaded.
struct ImageResourceJSON: Encodable {
    var id: String
    var mediaType: String
    var url: String
    var createdOn: String
    var expires: String
    var imageInfo: ImageInfo
    var modalitySession: ModalitySessionReference?

    init(_ r: ImageResource, baseURL: String) {
        id = r.id
        mediaType = r.mediaType
        url = baseURL + "/images/" + r.id + "/media"
        createdOn = FiltersAPI.timestamp(r.createdOn)
        expires = FiltersAPI.timestamp(r.expires)
        imageInfo = r.imageInfo
        modalitySession = r.modalitySession
    }

    enum CodingKeys: String, CodingKey { case id, mediaType, url, createdOn, expires, imageInfo, modalitySession }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(mediaType, forKey: .mediaType)
        try c.encode(url, forKey: .url)
        try c.encode(createdOn, forKey: .createdOn)
        try c.encode(expires, forKey: .expires)
        try c.encode(imageInfo, forKey: .imageInfo)
        try c.encode(modalitySession, forKey: .modalitySession)  // null, not absent, as the seed's example
    }
}

/// The body of `POST /images/modality`. `imageId` is the node's image id; the seed types it as a
/// string, a JSON integer is taken too.
struct ModalityResourceRequest: Decodable {
    var sessionId: String
    var imageId: String

    enum CodingKeys: String, CodingKey { case sessionId, imageId }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sessionId = try c.decode(String.self, forKey: .sessionId)
        if let n = try? c.decode(Int64.self, forKey: .imageId) {
            imageId = String(n)
        } else {
            imageId = try c.decode(String.self, forKey: .imageId)
        }
    }
}

extension FiltersAPI {
    /// Largest `imageInfo` part: one line of JSON.
    static let maxImageInfoBytes = 64 * 1024

    func addImageResourceRoutes(_ r: inout Router) {
        // Create Image Resource: multipart `imageInfo` (JSON) + `imageMedia` (16-bit grayscale PNG).
        r.post("/images", basic { [self] request, _ in
            let resource = try receiveImageResource(request)
            let base = baseURL
            return .json(ImageResourceJSON(resource, baseURL: base), status: .created).with("Location", base + "/images/" + resource.id)
        })

        // Create Modality Resource: an image acquired in an active modality session.
        r.post("/images/modality", basic { [self] request, _ in
            let body = try request.body.readAll(limit: 64 * 1024)
            guard !body.isEmpty else { throw HTTPError(.badRequest, "the body must be JSON with sessionId and imageId") }
            let ask = try Self.decode(ModalityResourceRequest.self, body, what: "the body")
            guard !ask.sessionId.isEmpty, !ask.imageId.isEmpty else { throw HTTPError(.badRequest, "sessionId and imageId must not be empty") }
            let resource = try resources.create(sessionId: ask.sessionId, imageId: ask.imageId)
            let base = baseURL
            return .json(ImageResourceJSON(resource, baseURL: base), status: .created).with("Location", base + "/images/" + resource.id)
        })

        r.get("/images/{id}", basic { [self] request, _ in
            let id = request.parameters["id"] ?? ""
            guard let resource = try resources.resource(id: id) else { throw HTTPError(.notFound, "no image resource \(id)") }
            return .json(ImageResourceJSON(resource, baseURL: baseURL))
        })

        // Get Image Media: the PNG, streamed from disk.
        r.get("/images/{id}/media", basic { [self] request, _ in
            let id = request.parameters["id"] ?? ""
            guard let (resource, file) = try resources.openMedia(id: id) else { throw HTTPError(.notFound, "no image resource \(id)") }
            return .stream(contentType: resource.mediaType, length: resource.mediaSize) { out in
                defer { try? file.close() }
                while let chunk = try file.read(upToCount: 256 * 1024), !chunk.isEmpty { try out.write(chunk) }
            }
        })

        r.delete("/images/{id}", basic { [self] request, _ in
            let id = request.parameters["id"] ?? ""
            guard try resources.delete(id: id) else { throw HTTPError(.notFound, "no image resource \(id)") }
            return .empty(.noContent)
        })
    }

    /// Reads the multipart body: `imageInfo` into memory, `imageMedia` streamed into a temporary
    /// file, other parts dropped; then checks the JSON (400) and the PNG (415) and stores it.
    func receiveImageResource(_ request: HTTPRequest) throws -> ImageResource {
        // Another media type than multipart/form-data: 415 (from the parser).
        let parser = try MultipartParser(contentType: request.headers["Content-Type"])
        let upload = try resources.newUpload()
        var kept = false
        defer { if !kept { upload.discard() } }
        var info: [UInt8]?
        var mediaSeen = false
        var mediaType: String?
        let maxMedia = resources.settings.maxMediaBytes
        try parser.parse(request.body) { head in
            switch head.name {
            case "imageInfo":
                guard info == nil else { throw HTTPError(.badRequest, "more than one imageInfo part") }
                info = []
                return { piece in
                    guard info!.count + piece.count <= Self.maxImageInfoBytes else {
                        throw HTTPError(.badRequest, "the imageInfo part is longer than \(Self.maxImageInfoBytes) bytes")
                    }
                    info!.append(contentsOf: piece)
                }
            case "imageMedia":
                guard !mediaSeen else { throw HTTPError(.badRequest, "more than one imageMedia part") }
                mediaSeen = true
                mediaType = head.contentType.map { HeaderValue(parsing: $0).value.lowercased() }
                return { piece in
                    guard upload.size + Int64(piece.count) <= maxMedia else {
                        throw HTTPError(.contentTooLarge, "the imageMedia part is larger than \(maxMedia) bytes")
                    }
                    try upload.write(piece)
                }
            default:
                return { _ in }
            }
        }
        guard let info else { throw HTTPError(.badRequest, "the multipart body has no imageInfo part (application/json)") }
        guard mediaSeen else { throw HTTPError(.badRequest, "the multipart body has no imageMedia part (image/png)") }
        let imageInfo = try Self.decode(ImageInfo.self, info, what: "the imageInfo part", root: "imageInfo")
        try imageInfo.validate()
        // The seed's part is image/png; a client that sends no type or a generic one is judged by the bytes.
        if let mediaType, !["image/png", "application/octet-stream"].contains(mediaType) {
            throw HTTPError(.unsupportedMediaType, "imageMedia must be a 16-bit grayscale PNG (image/png), not \(mediaType)")
        }
        kept = true  // `create` consumes the upload whatever happens
        do {
            return try resources.create(info: imageInfo, upload: upload)
        } catch NodeError.invalidData(let why) {
            throw HTTPError(.unsupportedMediaType, why)
        }
    }
}
