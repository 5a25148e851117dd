import Foundation

/// Seed 003's `query`: property filters (ANDed), order, paging and source/series-type/tag filters,
/// over patients, studies, series, images or flat series. Property names are the seed's
/// (`patientName`, `studyDate`, …, plus `id`, `patientId`, `studyId`, `seriesId`); anything else
/// is refused with the name, and every value is a bound parameter.
public struct MetadataQuery: Sendable {
    public struct Property: Sendable {
        public var name: String
        /// `=`, `like` (substring, as Slicebox: `%value%`), `<`, `<=`, `>`, `>=`, `!=`.
        public var op: String
        public var value: String
        public init(name: String, op: String, value: String) { self.name = name; self.op = op; self.value = value }
    }

    public var startIndex = 0
    public var count = 20
    public var orderBy: String? = nil
    public var ascending = true
    public var properties: [Property] = []
    /// Series from any of these sources (ORed); empty: all.
    public var sources: [(type: SourceType, id: Int64)] = []
    /// Series carrying any of these series types (ORed); empty: all.
    public var seriesTypeIds: [Int64] = []
    /// Series carrying any of these series tags (ORed); empty: all.
    public var seriesTagIds: [Int64] = []
    /// Case-insensitive substring over the text properties of the level and its parents (the
    /// `filter` parameter of the seed's GET listings).
    public var filter: String? = nil
    public init() {}
}

extension SQLiteIndex {
    /// Property name → qualified column, for a query at `level` (parents' properties allowed).
    static func columns(upTo level: Level) -> [String: String] {
        var map: [String: String] = [:]
        for a in IndexedAttribute.all where a.level <= level {
            if let p = a.property { map[p] = "\(StoreQuery.alias[a.level]!).\(a.column)" }
        }
        map["id"] = "\(StoreQuery.alias[level]!).id"
        if level >= .study { map["patientId"] = "st.patient_ref" }
        if level >= .series { map["studyId"] = "se.study_ref" }
        if level >= .image { map["seriesId"] = "im.series_ref" }
        return map
    }

    static func from(_ level: Level) -> String {
        var sql = " FROM patients p"
        if level >= .study { sql += " JOIN studies st ON st.patient_ref = p.id" }
        if level >= .series { sql += " JOIN series se ON se.study_ref = st.id" }
        if level >= .image { sql += " JOIN images im ON im.series_ref = se.id" }
        return sql
    }

    /// A LIKE pattern (with ESCAPE '\\') matching `value` anywhere, `%` and `_` taken literally.
    static func substringPattern(_ value: String) -> String {
        "%" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
    }

    /// One property filter of a query (seed 003 `queryProperty`: =, !=, like — a substring —
    /// <, <=, >, >=) on `column`, as SQL with its bound parameter.
    static func condition(_ p: MetadataQuery.Property, column: String) throws -> (String, SQLValue) {
        switch p.op.lowercased() {
        case "=", "==": return ("\(column) = ?", .text(p.value))
        case "!=", "<>": return ("\(column) <> ?", .text(p.value))
        case "like": return ("\(column) LIKE ? ESCAPE '\\'", .text(substringPattern(p.value)))
        case "<", "<=", ">", ">=": return ("\(column) \(p.op) ?", .text(p.value))
        default: throw NodeError.badRequest("operator '\(p.op)' is not one of =, !=, like, <, <=, >, >=")
        }
    }

    /// A free-text filter: `value` a substring of any of `columns` (case-insensitive for ASCII, as SQLite's LIKE).
    static func anyContains(_ value: String, columns: [String]) -> (String, [SQLValue]) {
        ("(" + columns.map { "\($0) LIKE ? ESCAPE '\\'" }.joined(separator: " OR ") + ")", columns.map { _ in .text(substringPattern(value)) })
    }

    /// WHERE … ORDER BY … LIMIT … for `query` at `level`; throws `badRequest` naming a bad property.
    static func clauses(_ query: MetadataQuery, level: Level) throws -> (String, [SQLValue]) {
        guard query.startIndex >= 0, query.count >= 0 else { throw NodeError.badRequest("startIndex and count must not be negative") }
        let columns = columns(upTo: level)
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        for p in query.properties {
            guard let column = columns[p.name] else { throw NodeError.badRequest("Property \(p.name) does not exist") }
            let (condition, parameter) = try self.condition(p, column: column)
            conditions.append(condition); parameters.append(parameter)
        }
        if let filter = query.filter, !filter.isEmpty {
            let text = IndexedAttribute.all.filter { $0.level <= level && $0.property != nil }.map { "\(StoreQuery.alias[$0.level]!).\($0.column)" }
            let (condition, values) = anyContains(filter, columns: text)
            conditions.append(condition); parameters += values
        }
        // Source, series type and series tag filters: each ORs its values, and they are ANDed
        // (Slicebox). They concern series; patients and studies match through any of their series.
        var seriesConditions: [String] = []
        if !query.sources.isEmpty {
            let any = query.sources.map { _ in "(ss.source_type = ? AND ss.source_id = ?)" }.joined(separator: " OR ")
            seriesConditions.append("EXISTS (SELECT 1 FROM series_sources ss WHERE ss.series_ref = se.id AND (\(any)))")
            for s in query.sources { parameters += [.text(s.type.rawValue), .integer(s.id)] }
        }
        if !query.seriesTypeIds.isEmpty {
            let marks = query.seriesTypeIds.map { _ in "?" }.joined(separator: ",")
            seriesConditions.append("EXISTS (SELECT 1 FROM series_series_types sst WHERE sst.series_ref = se.id AND sst.series_type_ref IN (\(marks)))")
            parameters += query.seriesTypeIds.map { .integer($0) }
        }
        if !query.seriesTagIds.isEmpty {
            let marks = query.seriesTagIds.map { _ in "?" }.joined(separator: ",")
            seriesConditions.append("EXISTS (SELECT 1 FROM series_series_tags sstg WHERE sstg.series_ref = se.id AND sstg.series_tag_ref IN (\(marks)))")
            parameters += query.seriesTagIds.map { .integer($0) }
        }
        if !seriesConditions.isEmpty {
            let all = seriesConditions.joined(separator: " AND ")
            switch level {
            case .patient: conditions.append("EXISTS (SELECT 1 FROM studies sx JOIN series se ON se.study_ref = sx.id WHERE sx.patient_ref = p.id AND \(all))")
            case .study: conditions.append("EXISTS (SELECT 1 FROM series se WHERE se.study_ref = st.id AND \(all))")
            default: conditions.append(all)
            }
        }
        var sql = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        if let orderBy = query.orderBy {
            guard let column = columns[orderBy] else { throw NodeError.badRequest("Property \(orderBy) does not exist") }
            sql += " ORDER BY \(column) \(query.ascending ? "ASC" : "DESC"), \(StoreQuery.alias[level]!).id"
        } else {
            sql += " ORDER BY \(StoreQuery.alias[level]!).id"
        }
        sql += " LIMIT ? OFFSET ?"
        parameters += [.integer(Int64(query.count)), .integer(Int64(query.startIndex))]
        return (sql, parameters)
    }

    static let patientSelect = "p.id, p.patient_name, p.patient_id, p.patient_birth_date, p.patient_sex"
    static let studySelect = "st.id, st.patient_ref, st.study_instance_uid, st.study_description, st.study_date, st.study_id, st.accession_number, st.patient_age"
    static let seriesSelect = "se.id, se.study_ref, se.series_instance_uid, se.series_description, se.series_date, se.modality, se.protocol_name, se.body_part_examined, se.manufacturer, se.station_name, se.frame_of_reference_uid"
    static let imageSelect = "im.id, im.series_ref, im.sop_instance_uid, im.image_type, im.instance_number"

    static func patient(_ r: ArraySlice<SQLValue>) -> Patient {
        let r = Array(r)
        return Patient(id: r[0].int!, patientName: r[1].string ?? "", patientID: r[2].string ?? "", patientBirthDate: r[3].string ?? "", patientSex: r[4].string ?? "")
    }
    static func study(_ r: ArraySlice<SQLValue>) -> Study {
        let r = Array(r)
        return Study(id: r[0].int!, patientId: r[1].int!, studyInstanceUID: r[2].string ?? "", studyDescription: r[3].string ?? "", studyDate: r[4].string ?? "",
                     studyID: r[5].string ?? "", accessionNumber: r[6].string ?? "", patientAge: r[7].string ?? "")
    }
    static func series(_ r: ArraySlice<SQLValue>) -> Series {
        let r = Array(r)
        return Series(id: r[0].int!, studyId: r[1].int!, seriesInstanceUID: r[2].string ?? "", seriesDescription: r[3].string ?? "", seriesDate: r[4].string ?? "",
                      modality: r[5].string ?? "", protocolName: r[6].string ?? "", bodyPartExamined: r[7].string ?? "", manufacturer: r[8].string ?? "",
                      stationName: r[9].string ?? "", frameOfReferenceUID: r[10].string ?? "")
    }
    static func image(_ r: ArraySlice<SQLValue>) -> Image {
        let r = Array(r)
        return Image(id: r[0].int!, seriesId: r[1].int!, sopInstanceUID: r[2].string ?? "", imageType: r[3].string ?? "", instanceNumber: r[4].string ?? "")
    }

    public func patients(_ query: MetadataQuery) throws -> [Patient] {
        let (clause, parameters) = try Self.clauses(query, level: .patient)
        return try db.read { try $0.query("SELECT \(Self.patientSelect)" + Self.from(.patient) + clause, parameters).map { Self.patient($0[...]) } }
    }

    public func studies(_ query: MetadataQuery) throws -> [Study] {
        let (clause, parameters) = try Self.clauses(query, level: .study)
        return try db.read { try $0.query("SELECT \(Self.studySelect)" + Self.from(.study) + clause, parameters).map { Self.study($0[...]) } }
    }

    public func series(_ query: MetadataQuery) throws -> [Series] {
        let (clause, parameters) = try Self.clauses(query, level: .series)
        return try db.read { try $0.query("SELECT \(Self.seriesSelect)" + Self.from(.series) + clause, parameters).map { Self.series($0[...]) } }
    }

    public func images(_ query: MetadataQuery) throws -> [Image] {
        let (clause, parameters) = try Self.clauses(query, level: .image)
        return try db.read { try $0.query("SELECT \(Self.imageSelect)" + Self.from(.image) + clause, parameters).map { Self.image($0[...]) } }
    }

    /// Series with their study and patient (seed 003 `flatSeries`).
    public func flatSeries(_ query: MetadataQuery) throws -> [FlatSeries] {
        let (clause, parameters) = try Self.clauses(query, level: .series)
        let sql = "SELECT \(Self.patientSelect), \(Self.studySelect), \(Self.seriesSelect)" + Self.from(.series) + clause
        return try db.read { try $0.query(sql, parameters).map { r in
            FlatSeries(patient: Self.patient(r[0..<5]), study: Self.study(r[5..<13]), series: Self.series(r[13..<24]))
        } }
    }
}
