import Foundation
import Codec
import Node

/// `/api/filtering/…`: tag filters (whitelists and blacklists of tag paths) and their association
/// with sources; every incoming image of an associated source is filtered before it is stored.
struct TagFilterJSON: Codable {
    var id: Int64?
    var name: String
    var tagFilterType: String
    var tags: [TagPathJSON]?
    init(_ f: TagFilter) { id = f.id; name = f.name; tagFilterType = f.tagFilterType.rawValue; tags = f.tags.map(TagPathJSON.init) }
}

/// A filter's tag path with its id (seed `tagPathTag`, plus `id` for `DELETE …/tagpaths/{id}`).
struct TagFilterTagPathJSON: Encodable {
    var id: Int64
    var tagFilterId: Int64
    var tag: Int64?
    var name: String?
    var previous: TagPathJSON.Box<TagPathJSON>?
    init(_ t: TagFilterTagPath) {
        let p = TagPathJSON(t.tagPath)
        id = t.id; tagFilterId = t.tagFilterId; tag = p.tag; name = p.name; previous = p.previous
    }
}

struct SourceTagFilterJSON: Codable {
    var id: Int64?
    var sourceType: String
    var sourceName: String?
    var sourceId: Int64
    var tagFilterId: Int64
    var tagFilterName: String?
    init(_ s: SourceTagFilter) {
        id = s.id; sourceType = s.sourceType; sourceName = s.sourceName; sourceId = s.sourceId; tagFilterId = s.tagFilterId; tagFilterName = s.tagFilterName
    }
}

extension SliceboxAPI {
    func addFilteringRoutes(_ api: inout APIRouter) {
        let filters = node.tagFilters
        api.get("/filtering/filters") { r, _ in
            let (start, count) = try r.paging()
            return .json(try filters.filters(startIndex: start, count: count).map(TagFilterJSON.init))
        }
        api.post("/filtering/filters", .administrator) { r, _ in
            let body = try r.seedBody(TagFilterJSON.self)
            guard let type = TagFilterType(rawValue: body.tagFilterType.uppercased()) else {
                throw HTTPError(.badRequest, "tagFilterType must be one of \(TagFilterType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let paths = try (body.tags ?? []).map { try $0.tagPath() }
            return .json(TagFilterJSON(try filters.addFilter(name: body.name, tagFilterType: type, tags: paths)), status: .created)
        }
        api.delete("/filtering/filters/{id}", .administrator) { r, _ in try filters.removeFilter(id: r.id()); return .empty() }
        api.get("/filtering/filters/{id}/tagpaths") { r, _ in .json(try filters.tagPaths(filterId: r.id()).map(TagFilterTagPathJSON.init)) }
        api.post("/filtering/filters/{id}/tagpaths", .administrator) { r, _ in
            .json(TagFilterTagPathJSON(try filters.addTagPath(filterId: r.id(), tagPath: r.seedBody(TagPathJSON.self).tagPath())), status: .created)
        }
        api.delete("/filtering/filters/{id}/tagpaths/{tagpathid}", .administrator) { r, _ in
            try filters.removeTagPath(filterId: r.id(), tagPathId: r.id("tagpathid"))
            return .empty()
        }
        api.get("/filtering/associations") { r, _ in
            let (start, count) = try r.paging()
            return .json(try filters.associations(startIndex: start, count: count).map(SourceTagFilterJSON.init))
        }
        api.post("/filtering/associations", .administrator) { r, _ in
            let body = try r.seedBody(SourceTagFilterJSON.self)
            return .json(SourceTagFilterJSON(try filters.addAssociation(sourceType: body.sourceType, sourceId: body.sourceId,
                                                                          sourceName: body.sourceName ?? "", tagFilterId: body.tagFilterId)), status: .created)
        }
        api.delete("/filtering/associations/{id}", .administrator) { r, _ in try filters.removeAssociation(id: r.id()); return .empty() }
    }
}
