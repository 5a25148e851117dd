import Foundation
import Node

/// `/api/metadata/…`: patients, studies, series, images and flat series, listed, queried and
/// fetched by id (seed 003, research notes §2 "Metadata").
extension SliceboxAPI {
    func addMetadataRoutes(_ api: inout APIRouter) {
        let index = node.index

        @Sendable func byId(_ request: HTTPRequest) throws -> MetadataQuery { .id(try request.id()) }
        @Sendable func children(_ request: HTTPRequest, parent: String, required: Bool = true) throws -> MetadataQuery {
            var q = try MetadataQuery.fromListing(request)
            if let v = request.query[parent] {
                guard Int64(v) != nil else { throw HTTPError(.badRequest, "\(parent) must be an integer id") }
                let property = ["patientid": "patientId", "studyid": "studyId", "seriesid": "seriesId"][parent]!
                q.properties.append(.init(name: property, op: "=", value: v))
            } else if required {
                throw HTTPError(.badRequest, "the query parameter \(parent) is required")
            }
            return q
        }
        @Sendable func one<T>(_ items: [T], _ what: String, _ id: Int64) throws -> T {
            guard let first = items.first else { throw HTTPError(.notFound, "no \(what) with id \(id)") }
            return first
        }

        api.get("/metadata/patients") { r, _ in .fastJSON(try index.patients(.fromListing(r)).map(PatientJSON.init)) }
        api.post("/metadata/patients/query") { r, _ in .fastJSON(try index.patients(r.seedBody(QueryJSON.self).metadataQuery()).map(PatientJSON.init)) }
        api.get("/metadata/patients/{id}") { r, _ in .fastJSON(PatientJSON(try one(index.patients(byId(r)), "patient", r.id()))) }
        api.get("/metadata/patients/{id}/images") { r, _ in
            var q = try MetadataQuery.fromListing(r, paged: false)
            q.properties.append(.init(name: "patientId", op: "=", value: String(try r.id())))
            return .fastJSON(try index.images(q).map(ImageJSON.init))
        }

        api.get("/metadata/studies") { r, _ in .fastJSON(try index.studies(children(r, parent: "patientid")).map(StudyJSON.init)) }
        api.post("/metadata/studies/query") { r, _ in .fastJSON(try index.studies(r.seedBody(QueryJSON.self).metadataQuery()).map(StudyJSON.init)) }
        api.get("/metadata/studies/{id}") { r, _ in .fastJSON(StudyJSON(try one(index.studies(byId(r)), "study", r.id()))) }
        api.get("/metadata/studies/{id}/images") { r, _ in
            let id = try r.id()
            _ = try one(index.studies(byId(r)), "study", id)
            var q = try MetadataQuery.fromListing(r, paged: false)
            q.properties.append(.init(name: "studyId", op: "=", value: String(id)))
            return .fastJSON(try index.images(q).map(ImageJSON.init))
        }

        api.get("/metadata/series") { r, _ in .fastJSON(try index.series(children(r, parent: "studyid")).map(SeriesJSON.init)) }
        api.post("/metadata/series/query") { r, _ in .fastJSON(try index.series(r.seedBody(QueryJSON.self).metadataQuery()).map(SeriesJSON.init)) }
        api.get("/metadata/series/{id}") { r, _ in .fastJSON(SeriesJSON(try one(index.series(byId(r)), "series", r.id()))) }
        api.get("/metadata/series/{id}/source") { r, _ in
            let id = try r.id()
            guard let source = try index.seriesSource(seriesId: id) else { throw HTTPError(.notFound, "no series with id \(id)") }
            return .json(SourceJSON(source))
        }

        api.get("/metadata/images") { r, _ in .fastJSON(try index.images(children(r, parent: "seriesid")).map(ImageJSON.init)) }
        api.post("/metadata/images/query") { r, _ in .fastJSON(try index.images(r.seedBody(QueryJSON.self).metadataQuery()).map(ImageJSON.init)) }
        api.get("/metadata/images/{id}") { r, _ in .fastJSON(ImageJSON(try one(index.images(byId(r)), "image", r.id()))) }

        api.get("/metadata/flatseries") { r, _ in .fastJSON(try index.flatSeries(.fromListing(r)).map(FlatSeriesJSON.init)) }
        api.post("/metadata/flatseries/query") { r, _ in .fastJSON(try index.flatSeries(r.seedBody(QueryJSON.self).metadataQuery()).map(FlatSeriesJSON.init)) }
        api.get("/metadata/flatseries/{id}") { r, _ in .fastJSON(FlatSeriesJSON(try one(index.flatSeries(byId(r)), "series", r.id()))) }
    }
}
