import Foundation
import Node

/// `/api/import/sessions`: named upload sessions counting added, already stored and rejected files.
struct ImportSessionJSON: Codable {
    var id: Int64?
    var name: String
    var userId: Int64?
    var user: String?
    var filesImported, filesAdded, filesRejected: Int?
    var created, lastUpdated: Int64?
    init(_ s: ImportSession) {
        id = s.id; name = s.name; userId = s.userId; user = s.user
        filesImported = s.filesImported; filesAdded = s.filesAdded; filesRejected = s.filesRejected
        created = s.created; lastUpdated = s.lastUpdated
    }
}

extension SliceboxAPI {
    func addImportRoutes(_ api: inout APIRouter) {
        let sessions = node.importSessions
        api.get("/import/sessions") { r, _ in
            let (start, count) = try r.paging()
            return .json(try sessions.list(startIndex: start, count: count).map(ImportSessionJSON.init))
        }
        api.post("/import/sessions") { r, user in
            let body = try r.seedBody(ImportSessionJSON.self)
            return .json(ImportSessionJSON(try sessions.create(name: body.name, userId: user.id, user: user.name)), status: .created)
        }
        api.get("/import/sessions/{id}") { r, _ in .json(ImportSessionJSON(try sessions.session(id: r.id()))) }
        api.delete("/import/sessions/{id}") { r, _ in try sessions.delete(id: r.id()); return .empty() }
        api.get("/import/sessions/{id}/images") { r, _ in .json(try sessions.images(sessionId: r.id()).map(ImageJSON.init)) }
        api.post("/import/sessions/{id}/images") { r, _ in
            switch try sessions.addImage(sessionId: r.id(), writing: Self.uploadWriter(r)) {
            case .added(let image): return .json(ImageJSON(image), status: .created)
            case .alreadyStored(let image): return .json(ImageJSON(image), status: .ok)
            case .rejected(let error): throw error
            }
        }
    }
}
