import Foundation
import Codec
import Node

// The JSON shapes of seed 003's schemas, field by field (names, types, `{"value": …}` wrapping).

struct PatientJSON: Encodable {
    var id: Int64
    var patientName, patientID, patientBirthDate, patientSex: PropertyValue
    init(_ p: Patient) {
        id = p.id
        patientName = .init(p.patientName); patientID = .init(p.patientID)
        patientBirthDate = .init(p.patientBirthDate); patientSex = .init(p.patientSex)
    }
}

struct StudyJSON: Encodable {
    var id, patientId: Int64
    var studyInstanceUID, studyDescription, studyDate, studyID, accessionNumber, patientAge: PropertyValue
    init(_ s: Study) {
        id = s.id; patientId = s.patientId
        studyInstanceUID = .init(s.studyInstanceUID); studyDescription = .init(s.studyDescription); studyDate = .init(s.studyDate)
        studyID = .init(s.studyID); accessionNumber = .init(s.accessionNumber); patientAge = .init(s.patientAge)
    }
}

struct SeriesJSON: Encodable {
    var id, studyId: Int64
    var seriesInstanceUID, seriesDescription, seriesDate, modality, protocolName, bodyPartExamined, manufacturer,
        stationName, frameOfReferenceUID: PropertyValue
    init(_ s: Series) {
        id = s.id; studyId = s.studyId
        seriesInstanceUID = .init(s.seriesInstanceUID); seriesDescription = .init(s.seriesDescription); seriesDate = .init(s.seriesDate)
        modality = .init(s.modality); protocolName = .init(s.protocolName); bodyPartExamined = .init(s.bodyPartExamined)
        manufacturer = .init(s.manufacturer); stationName = .init(s.stationName); frameOfReferenceUID = .init(s.frameOfReferenceUID)
    }
}

struct ImageJSON: Encodable {
    var id, seriesId: Int64
    var sopInstanceUID, imageType, instanceNumber: PropertyValue
    init(_ i: Image) {
        id = i.id; seriesId = i.seriesId
        sopInstanceUID = .init(i.sopInstanceUID); imageType = .init(i.imageType); instanceNumber = .init(i.instanceNumber)
    }
}

struct FlatSeriesJSON: Encodable {
    var id: Int64
    var patient: PatientJSON
    var study: StudyJSON
    var series: SeriesJSON
    init(_ f: FlatSeries) { id = f.id; patient = .init(f.patient); study = .init(f.study); series = .init(f.series) }
}

struct SourceJSON: Codable {
    var sourceType: String
    var sourceName: String
    var sourceId: Int64
    init(_ s: Source) { sourceType = s.type.rawValue; sourceName = s.name; sourceId = s.id }
}

struct DestinationJSON: Codable {
    var destinationType: String
    var destinationName: String
    var destinationId: Int64
}

struct LogEntryJSON: Encodable {
    var id, created: Int64
    var entryType, subject, message: String
    init(_ e: LogEntry) { id = e.id; created = e.created; entryType = e.entryType.rawValue; subject = e.subject; message = e.message }
}

struct SCPJSON: Codable {
    var id: Int64?
    var name: String
    var aeTitle: String
    var port: Int
    init(_ s: SCPEntity) { id = s.id; name = s.name; aeTitle = s.aeTitle; port = s.port }
}

struct SCUJSON: Codable {
    var id: Int64?
    var name: String
    var aeTitle: String
    var host: String
    var port: Int
    init(_ s: SCUEntity) { id = s.id; name = s.name; aeTitle = s.aeTitle; host = s.host; port = s.port }
}

/// Seed `user` without `hashedPassword` (Slicebox leaks it; we never send it).
struct UserJSON: Encodable {
    var id: Int64
    var user: String
    var role: String
    init(_ a: UserAccount) { id = a.id; user = a.user; role = a.role.rawValue }
    init(_ a: AuthenticatedUser) { id = a.id; user = a.name; role = a.role.rawValue }
}

struct NewUserJSON: Decodable { var user: String; var password: String; var role: String }
struct UserPassJSON: Decodable { var user: String; var pass: String }

/// Seed `query` (and `anonymizationKeyQuery`, which has no filters).
struct QueryJSON: Decodable {
    struct Order: Decodable { var orderBy: String?; var orderAscending: Bool? }
    struct Property: Decodable { var propertyName: String; var `operator`: String; var propertyValue: String }
    struct SourceRef: Decodable { var sourceType: String; var sourceId: Int64 }
    struct Filters: Decodable { var sourceRefs: [SourceRef]?; var seriesTypeIds: [Int64]?; var seriesTagIds: [Int64]? }
    var startIndex: Int64
    var count: Int64
    var order: Order?
    var queryProperties: [Property]
    var filters: Filters?

    func metadataQuery() throws -> MetadataQuery {
        var q = MetadataQuery()
        guard startIndex >= 0, count >= 0 else { throw HTTPError(.badRequest, "startIndex and count must not be negative") }
        q.startIndex = Int(min(startIndex, Int64(Int32.max)))
        q.count = Int(min(count, 1_000_000))
        q.orderBy = order?.orderBy
        q.ascending = order?.orderAscending ?? true
        q.properties = queryProperties.map { .init(name: $0.propertyName, op: $0.operator, value: $0.propertyValue) }
        for ref in filters?.sourceRefs ?? [] {
            guard let type = SourceType(rawValue: ref.sourceType.lowercased()) else {
                throw HTTPError(.badRequest, "unknown source type '\(ref.sourceType)' (one of \(SourceType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            q.sources.append((type, ref.sourceId))
        }
        try q.applySeriesFilters(types: filters?.seriesTypeIds ?? [], tags: filters?.seriesTagIds ?? [])
        return q
    }
}

extension MetadataQuery {
    /// The one row with this `id` at the level the query is run at.
    static func id(_ id: Int64) -> MetadataQuery {
        var q = MetadataQuery()
        q.properties = [.init(name: "id", op: "=", value: String(id))]
        q.count = 1
        return q
    }

    /// The GET listings' parameters: `orderby`, `orderascending`, `filter`, `sources=box:23,user:2`,
    /// `seriestypes=1,2`, `seriestags=3` (research notes §2 "Listing parameters").
    static func fromListing(_ request: HTTPRequest, paged: Bool = true) throws -> MetadataQuery {
        var q = MetadataQuery()
        if paged {
            (q.startIndex, q.count) = try request.paging()
        } else {
            q.count = 1_000_000
        }
        q.orderBy = request.query["orderby"]
        q.ascending = try request.query.bool("orderascending", default: true)
        q.filter = request.query["filter"]
        if let sources = request.query["sources"], !sources.isEmpty {
            for item in sources.split(separator: ",") {
                let parts = item.split(separator: ":")
                guard parts.count == 2, let type = SourceType(rawValue: parts[0].lowercased()), let id = Int64(parts[1]) else {
                    throw HTTPError(.badRequest, "sources must look like 'box:23,user:2'; '\(item)' does not")
                }
                q.sources.append((type, id))
            }
        }
        func ids(_ name: String) throws -> [Int64] {
            guard let text = request.query[name], !text.isEmpty else { return [] }
            return try text.split(separator: ",").map {
                guard let v = Int64($0) else { throw HTTPError(.badRequest, "\(name) must be a comma-separated list of ids; '\($0)' is not") }
                return v
            }
        }
        try q.applySeriesFilters(types: ids("seriestypes"), tags: ids("seriestags"))
        return q
    }
}

/// Seed `tagPathTag` / `tagPathTrunk`: the last tag with a chain of `previous` sequence steps,
/// each with an `item` ("1"-based index, or "*" for any in filters). Slicebox also accepts `name`
/// (a keyword) in place of `tag`.
struct TagPathJSON: Codable {
    var tag: Int64?
    var name: String?
    var item: String?
    var previous: Box<TagPathJSON>?

    final class Box<T: Codable>: Codable {
        let value: T
        init(_ v: T) { value = v }
        required init(from decoder: Decoder) throws { value = try T(from: decoder) }
        func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
    }

    func resolvedTag() throws -> Tag {
        if let tag {
            guard (0...0xFFFF_FFFF).contains(tag) else { throw HTTPError(.badRequest, "tag \(tag) is not a 32-bit tag number") }
            return Tag(UInt32(tag))
        }
        if let name, let t = DataDictionary.entry(forKeyword: name)?.tag { return t }
        throw HTTPError(.badRequest, "a tag path step needs 'tag' (a number) or 'name' (a known keyword)\(name.map { "; '\($0)' is not one" } ?? "")")
    }

    /// The Codec path: outermost sequence first.
    func tagPath() throws -> TagPath {
        var steps: [(Tag, TagPath.ItemSelector)] = []
        var node = previous?.value
        while let n = node {
            let item: TagPath.ItemSelector
            switch n.item {
            case "*": item = .any
            case let s? where Int(s).map({ $0 >= 1 }) == true: item = .index(Int(s)! - 1)
            case nil: item = .index(0)
            case let s?: throw HTTPError(.badRequest, "a sequence item must be a number from 1 or '*'; '\(s)' is not")
            }
            steps.insert((try n.resolvedTag(), item), at: 0)
            node = n.previous?.value
        }
        return TagPath(sequences: steps, tag: try resolvedTag())
    }

    init(_ path: TagPath) {
        var trunk: TagPathJSON? = nil
        for (step, item) in path.sequences {
            var t = TagPathJSON(tag: Int64(step.tag.value), name: DataDictionary.entry(for: step.tag)?.keyword, item: nil, previous: trunk.map(Box.init))
            switch item {
            case .any: t.item = "*"
            case .index(let i): t.item = String(i + 1)
            }
            trunk = t
        }
        tag = Int64(path.last.tag.value)
        name = DataDictionary.entry(for: path.last.tag)?.keyword
        item = nil
        previous = trunk.map(Box.init)
    }

    init(tag: Int64?, name: String?, item: String?, previous: Box<TagPathJSON>?) {
        self.tag = tag; self.name = name; self.item = item; self.previous = previous
    }
}

/// Seed `tagValue` / `tagMapping`.
struct TagValueJSON: Codable {
    var tagPath: TagPathJSON
    var value: String
}
