import Foundation
import Node

/// A modality session as JSON.
struct ModalitySessionJSON: Encodable {
    var id: String
    var aeTitle: String
    var name: String
    var modality: String?
    var startedOn: String
    var endedOn: String?
    var active: Bool

    init(_ s: ModalitySession) {
        id = s.id
        aeTitle = s.aeTitle
        name = s.name
        modality = s.modality
        startedOn = FiltersAPI.timestamp(s.startedOn)
        endedOn = s.endedOn.map(FiltersAPI.timestamp)
        active = s.active
    }

    enum CodingKeys: String, CodingKey { case id, aeTitle, name, modality, startedOn, endedOn, active }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(aeTitle, forKey: .aeTitle)
        try c.encode(name, forKey: .name)
        try c.encode(modality, forKey: .modality)
        try c.encode(startedOn, forKey: .startedOn)
        try c.encode(endedOn, forKey: .endedOn)
        try c.encode(active, forKey: .active)
    }
}

/// An image acquired in a session; `imageId` is what `POST /images/modality` takes.
struct AcquiredImageJSON: Encodable {
    var imageId: String
    var sopInstanceUID: String
    var seriesInstanceUID: String
    var modality: String
    var stationName: String
    var acquiredOn: String

    init(_ a: AcquiredImage) {
        imageId = String(a.imageId)
        sopInstanceUID = a.sopInstanceUID
        seriesInstanceUID = a.seriesInstanceUID
        modality = a.modality
        stationName = a.stationName
        acquiredOn = FiltersAPI.timestamp(a.acquiredOn)
    }
}

struct NewModalitySession: Decodable {
    var aeTitle: String
    var name: String?
    var modality: String?
}

extension FiltersAPI {
    func addModalitySessionRoutes(_ r: inout Router) {
        // Starts a session for the modality sending as `aeTitle` (409 while it has an active one).
        r.post("/modality-sessions", basic { [self] request, _ in
            let body = try request.body.readAll(limit: 64 * 1024)
            let ask = try Self.decode(NewModalitySession.self, body.isEmpty ? Array("{}".utf8) : body, what: "the body")
            let session = try sessions.create(aeTitle: ask.aeTitle, name: ask.name ?? "", modality: ask.modality)
            return .json(ModalitySessionJSON(session), status: .created).with("Location", baseURL + "/modality-sessions/" + session.id)
        })

        // All sessions, newest first; `?active=true` for the active ones only.
        r.get("/modality-sessions", basic { [self] request, _ in
            let active: Bool
            switch request.query["active"]?.lowercased() {
            case nil, "false": active = false
            case "true": active = true
            case let v?: throw HTTPError(.badRequest, "active must be true or false, not '\(v)'")
            }
            return .json(try sessions.list(activeOnly: active).map(ModalitySessionJSON.init))
        })

        r.get("/modality-sessions/{id}", basic { [self] request, _ in
            let id = request.parameters["id"] ?? ""
            guard let s = try sessions.session(id: id) else { throw HTTPError(.notFound, "no modality session \(id)") }
            return .json(ModalitySessionJSON(s))
        })

        // Ends the session; the image resources made from it go at once (seed 002: a modality
        // resource is "only available for as long as the modality session is active").
        r.post("/modality-sessions/{id}/end", basic { [self] request, _ in
            let id = request.parameters["id"] ?? ""
            let s = try sessions.end(id: id)
            try resources.sweep()
            return .json(ModalitySessionJSON(s))
        })

        r.get("/modality-sessions/{id}/images", basic { [self] request, _ in
            .json(try sessions.acquiredImages(sessionId: request.parameters["id"] ?? "").map(AcquiredImageJSON.init))
        })
    }
}
