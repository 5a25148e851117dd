import Foundation
import Node

/// `/api/directorywatches`: folders whose DICOM files are imported as they appear. The seed's
/// `watchedDirectory` is `{id, path}`; `name`, `afterImport` (leave, move, delete), `moveTo` and
/// `active` are ours (Slicebox has the name too).
struct WatchedDirectoryJSON: Codable {
    var id: Int64?
    var path: String
    var name: String?
    var afterImport: String?
    var moveTo: String?
    var active: Bool?
    init(_ w: WatchedDirectory) { id = w.id; path = w.path; name = w.name; afterImport = w.afterImport.rawValue; moveTo = w.moveTo; active = w.active }
}

extension SliceboxAPI {
    func addWatchRoutes(_ api: inout APIRouter) {
        let watches = node.directoryWatches
        api.get("/directorywatches") { r, _ in
            let (start, count) = try r.paging()
            return .json(try watches.list(startIndex: start, count: count).map(WatchedDirectoryJSON.init))
        }
        api.post("/directorywatches", .administrator) { r, _ in
            let body = try r.seedBody(WatchedDirectoryJSON.self)
            var after = AfterImport.leave
            if let a = body.afterImport {
                guard let v = AfterImport(rawValue: a.lowercased()) else {
                    throw HTTPError(.badRequest, "afterImport must be one of \(AfterImport.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                after = v
            }
            let name = body.name ?? URL(fileURLWithPath: body.path).lastPathComponent
            return .json(WatchedDirectoryJSON(try watches.add(name: name, path: body.path, afterImport: after, moveTo: body.moveTo)), status: .created)
        }
        api.delete("/directorywatches/{id}", .administrator) { r, _ in try watches.remove(id: r.id()); return .empty() }
    }
}
