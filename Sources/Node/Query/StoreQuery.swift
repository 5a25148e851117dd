import Foundation
import Codec
import DicomNet

/// C-FIND from the index (PS3.4 C.4.1) at PATIENT, STUDY, SERIES and IMAGE level in the Patient
/// Root and Study Root models. Keys the index holds are prefiltered in SQL and then matched
/// exactly per PS3.4 C.2.2.2 (`MatchingKey`); the counts and ModalitiesInStudy of PS3.4 C.6.1.1
/// are computed; any other key is reported unsupported (FF01H) and left out of the answers.
public struct StoreQuery: QueryHandler {
    public let index: SQLiteIndex
    /// Answered for (0008,0054) Retrieve AE Title: where the matches can be moved from.
    public let retrieveAETitle: String

    public init(index: SQLiteIndex, retrieveAETitle: String) {
        self.index = index
        self.retrieveAETitle = retrieveAETitle
    }

    static let modalitiesInStudy = Tag(0x0008_0061)
    static let retrieveAETitleTag = Tag(0x0008_0054)
    static let instanceAvailability = Tag(0x0008_0056)

    /// Computed keys (PS3.4 C.6.1.1.2–C.6.1.1.4): the level they belong to and the SQL counting them
    /// for the row whose id is bound.
    static let counts: [Tag: (level: Level, sql: String)] = [
        Tag(0x0020_1200): (.patient, "SELECT count(*) FROM studies WHERE patient_ref=?"),
        Tag(0x0020_1202): (.patient, "SELECT count(*) FROM series se JOIN studies st ON se.study_ref=st.id WHERE st.patient_ref=?"),
        Tag(0x0020_1204): (.patient, "SELECT count(*) FROM images im JOIN series se ON im.series_ref=se.id JOIN studies st ON se.study_ref=st.id WHERE st.patient_ref=?"),
        Tag(0x0020_1206): (.study, "SELECT count(*) FROM series WHERE study_ref=?"),
        Tag(0x0020_1208): (.study, "SELECT count(*) FROM images im JOIN series se ON im.series_ref=se.id WHERE se.study_ref=?"),
        Tag(0x0020_1209): (.series, "SELECT count(*) FROM images WHERE series_ref=?"),
    ]

    static let alias: [Level: String] = [.patient: "p", .study: "st", .series: "se", .image: "im"]

    /// Keys that are not matched: they only shape the answer.
    static let answerOnly: Set<Tag> = [.specificCharacterSet, .queryRetrieveLevel, retrieveAETitleTag, instanceAvailability]

    private func level(of request: QueryRequest) throws -> Level {
        guard let level = Level(rawValue: request.level) else {
            throw QueryRetrieveError.identifierDoesNotMatch("unknown Query/Retrieve Level \(request.level)", offending: [.queryRetrieveLevel])
        }
        return level
    }

    private func isSupported(_ tag: Tag, at level: Level) -> Bool {
        if Self.answerOnly.contains(tag) { return true }
        if let a = IndexedAttribute.forTag(tag) { return a.level <= level }
        if let c = Self.counts[tag] { return c.level == level }
        return tag == Self.modalitiesInStudy && level == .study
    }

    public func unsupportedKeys(in request: QueryRequest) -> [Tag] {
        guard let level = try? level(of: request) else { return [] }
        return request.identifier.elements.map(\.tag).filter { $0.element != 0 && !isSupported($0, at: level) }
    }

    public func find(_ request: QueryRequest, isCancelled: () -> Bool) throws -> AnySequence<DataSet> {
        let level = try level(of: request)
        let identifier = request.identifier
        let levels = Level.allCases.filter { $0 <= level }
        let attributes = IndexedAttribute.all.filter { $0.level <= level }

        // Matching keys on indexed columns.
        var keys: [(IndexedAttribute, MatchingKey)] = []
        for e in identifier.elements {
            guard let a = IndexedAttribute.forTag(e.tag), a.level <= level else { continue }
            keys.append((a, MatchingKey(element: e, in: identifier)))
        }
        var modalityKey: MatchingKey? = nil
        if level == .study, let e = identifier[Self.modalitiesInStudy] { modalityKey = MatchingKey(element: e, in: identifier) }

        var sql = "SELECT " + (levels.map { "\(Self.alias[$0]!).id" } + attributes.map { "\(Self.alias[$0.level]!).\($0.column)" }).joined(separator: ", ")
        sql += " FROM patients p"
        if level >= .study { sql += " JOIN studies st ON st.patient_ref = p.id" }
        if level >= .series { sql += " JOIN series se ON se.study_ref = st.id" }
        if level >= .image { sql += " JOIN images im ON im.series_ref = se.id" }
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        for (a, key) in keys {
            if let c = key.sqlCondition(column: "\(Self.alias[a.level]!).\(a.column)") {
                conditions.append(c.sql)
                parameters += c.parameters.map { .text($0) }
            }
        }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY " + levels.map { "\(Self.alias[$0]!).id" }.joined(separator: ", ")

        let requested = identifier.elements.map(\.tag).filter { $0.element != 0 && isSupported($0, at: level) }
        let wantsModalities = requested.contains(Self.modalitiesInStudy)

        return try index.db.read { c -> AnySequence<DataSet> in
            var answers: [DataSet] = []
            for row in try c.query(sql, parameters) {
                if isCancelled() { break }
                let ids = Dictionary(uniqueKeysWithValues: levels.enumerated().map { ($1, row[$0]) })
                var values: [Tag: String] = [:]
                for (i, a) in attributes.enumerated() { values[a.tag] = row[levels.count + i].string ?? "" }
                // Exact matching (PS3.4 C.2.2.2) on what the prefilter let through.
                guard keys.allSatisfy({ $0.1.matches(Self.split(values[$0.0.tag] ?? "")) }) else { continue }
                var modalities: [String] = []
                if wantsModalities || modalityKey != nil {
                    modalities = try c.query("SELECT DISTINCT modality FROM series WHERE study_ref=? AND modality<>'' ORDER BY modality", [ids[.study]!])
                        .compactMap { $0[0].string }
                    // ModalitiesInStudy matches when any listed modality is in the study (PS3.4 C.6.1.1.3.1):
                    // a multi-valued key is MatchingKey's list matching, any value against any value.
                    if let k = modalityKey, !k.matches(modalities) { continue }
                }
                var answer = DataSet()
                if values.values.contains(where: { $0.unicodeScalars.contains { !$0.isASCII } }) {
                    try answer.set(.specificCharacterSet, vr: .CS, string: "ISO_IR 192")
                }
                for tag in requested {
                    switch tag {
                    case .specificCharacterSet: continue
                    case .queryRetrieveLevel: try answer.set(tag, vr: .CS, string: level.rawValue)
                    case Self.retrieveAETitleTag: try answer.set(tag, vr: .AE, string: retrieveAETitle)
                    case Self.instanceAvailability: try answer.set(tag, vr: .CS, string: "ONLINE")
                    case Self.modalitiesInStudy: try answer.set(tag, vr: .CS, strings: modalities)
                    default:
                        if let q = Self.counts[tag] {
                            let n = try c.scalar(q.sql, [ids[q.level]!]) ?? 0
                            try answer.set(tag, vr: .IS, string: String(n))
                        } else if let v = values[tag] {
                            try answer.set(tag, vr: DataDictionary.vr(for: tag), strings: v.isEmpty ? [] : Self.split(v))
                        }
                    }
                }
                answers.append(answer)
            }
            return AnySequence(answers)
        }
    }

    static func split(_ v: String) -> [String] {
        v.isEmpty ? [] : v.split(separator: "\\", omittingEmptySubsequences: false).map(String.init)
    }
}
