import Foundation
import Node

/// `/api/seriestypes/…` and the series-type and series-tag routes under `/api/metadata/series`.
struct SeriesTypeJSON: Codable {
    var id: Int64?
    var name: String
    init(_ t: SeriesType) { id = t.id; name = t.name }
}

struct SeriesTypeRuleJSON: Codable {
    var id: Int64?
    var seriesTypeId: Int64
    init(_ r: SeriesTypeRule) { id = r.id; seriesTypeId = r.seriesTypeId }
}

/// Seed `seriestyperuleattribute` (`group`, `element`, `path`, `value`) together with Slicebox's
/// fields (`tag`, `name`, `tagPath`, `namePath`, `values`); either set is accepted on input.
struct SeriesTypeRuleAttributeJSON: Codable {
    var id: Int64?
    var seriesTypeRuleId: Int64?
    var group: Int?
    var element: Int?
    var path: String?
    var value: String?
    var tag: Int?
    var name: String?
    var tagPath: String?
    var namePath: String?
    var values: String?
    init(_ a: SeriesTypeRuleAttribute) {
        id = a.id; seriesTypeRuleId = a.seriesTypeRuleId; group = a.group; element = a.element; path = a.tagPath ?? ""
        value = a.values; tag = a.tag; name = a.name; tagPath = a.tagPath; namePath = a.namePath; values = a.values
    }
}

struct SeriesTagJSON: Codable {
    var id: Int64?
    var name: String
    init(_ t: SeriesTag) { id = t.id; name = t.name }
}

extension SliceboxAPI {
    func addSeriesTypeRoutes(_ api: inout APIRouter) {
        let types = node.seriesTypes, tags = node.seriesTags, index = node.index

        api.get("/seriestypes") { r, _ in
            let (start, count) = try r.paging()
            return .json(try types.seriesTypes(startIndex: start, count: count).map(SeriesTypeJSON.init))
        }
        api.post("/seriestypes", .administrator) { r, _ in
            .json(SeriesTypeJSON(try types.addSeriesType(name: r.seedBody(SeriesTypeJSON.self).name)), status: .created)
        }
        api.put("/seriestypes/{id}", .administrator) { r, _ in
            let id = try r.id()
            if let body = try r.seedBody(SeriesTypeJSON?.self) {
                _ = try types.updateSeriesType(id: id, name: body.name)
            } else {
                guard try types.seriesType(id: id) != nil else { throw HTTPError(.notFound, "no series type \(id)") }
                try types.updateAllSeries()
            }
            return .empty()
        }
        api.delete("/seriestypes/{id}", .administrator) { r, _ in try types.removeSeriesType(id: r.id()); return .empty() }

        api.get("/seriestypes/rules") { r, _ in .json(try types.rules(seriesTypeId: r.query.int64("seriestypeid")).map(SeriesTypeRuleJSON.init)) }
        api.post("/seriestypes/rules", .administrator) { r, _ in
            .json(SeriesTypeRuleJSON(try types.addRule(seriesTypeId: r.seedBody(SeriesTypeRuleJSON.self).seriesTypeId)), status: .created)
        }
        api.get("/seriestypes/rules/updatestatus") { _, _ in .json(types.updateStatus()) }
        api.delete("/seriestypes/rules/{id}", .administrator) { r, _ in try types.removeRule(id: r.id()); return .empty() }
        api.get("/seriestypes/rules/{id}/attributes") { r, _ in .json(try types.attributes(ruleId: r.id()).map(SeriesTypeRuleAttributeJSON.init)) }
        api.post("/seriestypes/rules/{id}/attributes", .administrator) { r, _ in
            let a = try r.seedBody(SeriesTypeRuleAttributeJSON.self)
            let tag = a.tag ?? a.group.flatMap { g in a.element.map { g << 16 | $0 } }
            guard let values = a.values ?? a.value else { throw HTTPError(.badRequest, "a rule attribute needs 'values' (or 'value')") }
            let path = a.tagPath ?? (a.path?.isEmpty == false ? a.path : nil)
            return .json(SeriesTypeRuleAttributeJSON(try types.addAttribute(ruleId: r.id(), tag: tag, name: a.name, tagPath: path,
                                                                            namePath: a.namePath, values: values)), status: .created)
        }
        api.delete("/seriestypes/rules/{ruleId}/attributes/{attributeId}", .administrator) { r, _ in
            try types.removeAttribute(ruleId: r.id("ruleId"), attributeId: r.id("attributeId"))
            return .empty()
        }
        api.post("/seriestypes/series/query") { r, _ in
            struct IdsQuery: Decodable { var ids: [Int64] }
            return .json(["seriesidseriestypes": try types.seriesTypes(seriesIds: r.seedBody(IdsQuery.self).ids)])
        }

        @Sendable func requireSeries(_ id: Int64) throws {
            guard try !index.series(.id(id)).isEmpty else { throw HTTPError(.notFound, "no series with id \(id)") }
        }
        api.get("/metadata/series/{id}/seriestypes") { r, _ in
            let id = try r.id()
            try requireSeries(id)
            return .json(try types.seriesTypes(seriesId: id).map(SeriesTypeJSON.init))
        }
        api.delete("/metadata/series/{id}/seriestypes") { r, _ in try types.removeAllSeriesTypes(seriesId: r.id()); return .empty() }
        api.put("/metadata/series/{seriesId}/seriestypes/{seriesTypeId}") { r, _ in
            try types.addSeriesTypeToSeries(seriesTypeId: r.id("seriesTypeId"), seriesId: r.id("seriesId"))
            return .empty()
        }
        api.delete("/metadata/series/{seriesId}/seriestypes/{seriesTypeId}") { r, _ in
            try types.removeSeriesTypeFromSeries(seriesTypeId: r.id("seriesTypeId"), seriesId: r.id("seriesId"))
            return .empty()
        }

        api.get("/metadata/seriestags") { r, _ in
            let (start, count) = try r.paging(defaultCount: 1_000_000)
            return .json(try tags.seriesTags(startIndex: start, count: count, orderBy: r.query["orderby"],
                                             ascending: r.query.bool("orderascending", default: true), filter: r.query["filter"]).map(SeriesTagJSON.init))
        }
        api.post("/metadata/seriestags") { r, _ in .json(SeriesTagJSON(try tags.createSeriesTag(name: r.seedBody(SeriesTagJSON.self).name)), status: .created) }
        api.get("/metadata/seriestags/{id}") { r, _ in
            let id = try r.id()
            guard let t = try tags.seriesTag(id: id) else { throw HTTPError(.notFound, "no series tag \(id)") }
            return .json(SeriesTagJSON(t))
        }
        api.put("/metadata/seriestags/{id}") { r, _ in .json(SeriesTagJSON(try tags.updateSeriesTag(id: r.id(), name: r.seedBody(SeriesTagJSON.self).name))) }
        api.delete("/metadata/seriestags/{id}") { r, _ in try tags.deleteSeriesTag(id: r.id()); return .empty() }
        api.get("/metadata/series/{id}/seriestags") { r, _ in
            let id = try r.id()
            try requireSeries(id)
            return .json(try tags.seriesTags(seriesId: id).map(SeriesTagJSON.init))
        }
        api.post("/metadata/series/{id}/seriestags") { r, _ in
            let id = try r.id()
            try requireSeries(id)
            return .json(SeriesTagJSON(try tags.addSeriesTag(name: r.seedBody(SeriesTagJSON.self).name, seriesId: id)), status: .created)
        }
        api.delete("/metadata/series/{seriesId}/seriestags/{seriesTagId}") { r, _ in
            try tags.removeSeriesTag(id: r.id("seriesTagId"), seriesId: r.id("seriesId"))
            return .empty()
        }
    }
}
