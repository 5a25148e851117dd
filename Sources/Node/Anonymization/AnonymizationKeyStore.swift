import Foundation
import Codec

/// The identity of one image at the four levels (real or anonymous).
public struct ImageIdentity: Sendable, Hashable {
    public var patientName, patientID, studyInstanceUID, seriesInstanceUID, sopInstanceUID: String

    public init(patientName: String, patientID: String, studyInstanceUID: String, seriesInstanceUID: String, sopInstanceUID: String) {
        self.patientName = patientName
        self.patientID = patientID
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.sopInstanceUID = sopInstanceUID
    }

    init(_ ds: DataSet) {
        self.init(patientName: ds.string(.patientName) ?? "", patientID: ds.string(.patientID) ?? "",
                  studyInstanceUID: ds.string(.studyInstanceUID) ?? "", seriesInstanceUID: ds.string(.seriesInstanceUID) ?? "",
                  sopInstanceUID: ds.string(.sopInstanceUID) ?? "")
    }

    /// The values that identify the image down to `level`, in column order.
    func values(to level: Level) -> [SQLValue] {
        let all = [patientName, patientID, studyInstanceUID, seriesInstanceUID, sopInstanceUID].map { SQLValue.text($0) }
        return Array(all.prefix(level.rank + 2))
    }
}

/// A key found for an image, with the level it matched at and its recorded values.
struct KeyMatch {
    var level: Level
    var key: AnonymizationKey
    var dateOffsetDays: Int
    var values: [AnonymizationKeyValue]
}

/// The anonymization keys in the index database. Every value is a bound parameter; column names
/// come only from `columns`.
public final class AnonymizationKeyStore: @unchecked Sendable {
    let db: Database
    /// Whether any key exists: reverse anonymization reads incoming files only then.
    private let state = NSLock()
    private var knownEmpty: Bool?

    public init(db: Database) { self.db = db }

    /// Seed property name → column.
    static let columns: [String: String] = [
        "id": "id", "created": "created", "imageId": "image_id",
        "patientName": "patient_name", "anonPatientName": "anon_patient_name",
        "patientID": "patient_id", "anonPatientID": "anon_patient_id",
        "studyInstanceUID": "study_instance_uid", "anonStudyInstanceUID": "anon_study_instance_uid",
        "seriesInstanceUID": "series_instance_uid", "anonSeriesInstanceUID": "anon_series_instance_uid",
        "sopInstanceUID": "sop_instance_uid", "anonSOPInstanceUID": "anon_sop_instance_uid",
    ]
    static let realColumns = ["patient_name", "patient_id", "study_instance_uid", "series_instance_uid", "sop_instance_uid"]
    static let anonymousColumns = realColumns.map { "anon_" + $0 }
    static let select = """
        SELECT id, created, image_id, patient_name, anon_patient_name, patient_id, anon_patient_id,
               study_instance_uid, anon_study_instance_uid, series_instance_uid, anon_series_instance_uid,
               sop_instance_uid, anon_sop_instance_uid, date_offset_days FROM anonymization_keys
        """

    static func key(_ r: [SQLValue]) -> AnonymizationKey {
        AnonymizationKey(id: r[0].int!, created: r[1].int ?? 0, imageId: r[2].int ?? -1,
                         patientName: r[3].string ?? "", anonPatientName: r[4].string ?? "",
                         patientID: r[5].string ?? "", anonPatientID: r[6].string ?? "",
                         studyInstanceUID: r[7].string ?? "", anonStudyInstanceUID: r[8].string ?? "",
                         seriesInstanceUID: r[9].string ?? "", anonSeriesInstanceUID: r[10].string ?? "",
                         sopInstanceUID: r[11].string ?? "", anonSOPInstanceUID: r[12].string ?? "")
    }

    // MARK: matching (harmonization and reverse anonymization)

    /// The newest key whose real (or anonymous) identity matches `identity`, trying IMAGE, then
    /// SERIES, STUDY and PATIENT (Slicebox's order); nil when none matches at any level.
    func newestMatch(_ identity: ImageIdentity, anonymous: Bool) throws -> KeyMatch? {
        let columns = anonymous ? Self.anonymousColumns : Self.realColumns
        return try db.read { c in
            for level in Level.allCases.reversed() {
                let values = identity.values(to: level)
                let sql = Self.select + " WHERE " + columns.prefix(values.count).map { "\($0) = ?" }.joined(separator: " AND ")
                    + " ORDER BY id DESC LIMIT 1"
                if let row = try c.query(sql, values).first {
                    let key = Self.key(row)
                    return KeyMatch(level: level, key: key, dateOffsetDays: Int(row[13].int ?? 0), values: try Self.values(keyId: key.id, c))
                }
            }
            return nil
        }
    }

    static func values(keyId: Int64, _ c: SQLiteConnection) throws -> [AnonymizationKeyValue] {
        try c.query("SELECT id, key_ref, tag_path, value, anonymized_value, level FROM anonymization_key_values WHERE key_ref = ? ORDER BY id",
                    [.integer(keyId)]).compactMap { r in
            guard let path = try? TagPath(parsing: r[2].string ?? "") else { return nil }
            return AnonymizationKeyValue(id: r[0].int!, anonymizationKeyId: r[1].int!, tagPath: path, value: r[3].string ?? "",
                                         anonymizedValue: r[4].string ?? "", level: Level(rawValue: r[5].string ?? "") ?? .image)
        }
    }

    /// The anonymous UID recorded for a real one.
    func anonymousUID(for uid: String) throws -> String? {
        try db.read { try $0.query("SELECT anon_uid FROM anonymization_uids WHERE uid = ?", [.text(uid)]).first?[0].string }
    }

    /// Records a key with its values and the UIDs newly mapped while anonymizing it, in one
    /// transaction. A UID mapped meanwhile by someone else keeps its first mapping.
    func insert(imageId: Int64, real: ImageIdentity, anonymous: ImageIdentity, dateOffsetDays: Int,
                values: [(KeyAttribute, real: String, anonymous: String)], newUIDs: [String: String]) throws -> AnonymizationKey {
        let created = Int64(Date().timeIntervalSince1970 * 1000)
        let key = try db.write { c -> AnonymizationKey in
            for (uid, anon) in newUIDs.sorted(by: { $0.key < $1.key }) {
                try c.run("INSERT OR IGNORE INTO anonymization_uids (uid, anon_uid) VALUES (?, ?)", [.text(uid), .text(anon)])
            }
            let id = try c.run("""
                INSERT INTO anonymization_keys (created, image_id, patient_name, anon_patient_name, patient_id, anon_patient_id,
                    study_instance_uid, anon_study_instance_uid, series_instance_uid, anon_series_instance_uid,
                    sop_instance_uid, anon_sop_instance_uid, date_offset_days) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
                """, [.integer(created), .integer(imageId), .text(real.patientName), .text(anonymous.patientName),
                      .text(real.patientID), .text(anonymous.patientID), .text(real.studyInstanceUID), .text(anonymous.studyInstanceUID),
                      .text(real.seriesInstanceUID), .text(anonymous.seriesInstanceUID), .text(real.sopInstanceUID),
                      .text(anonymous.sopInstanceUID), .integer(Int64(dateOffsetDays))])
            for (attribute, value, anonymized) in values {
                try c.run("INSERT INTO anonymization_key_values (key_ref, level, tag_path, value, anonymized_value) VALUES (?,?,?,?,?)",
                          [.integer(id), .text(attribute.level.rawValue), .text(TagPath(attribute.tag).description), .text(value), .text(anonymized)])
            }
            return AnonymizationKey(id: id, created: created, imageId: imageId, patientName: real.patientName, anonPatientName: anonymous.patientName,
                                    patientID: real.patientID, anonPatientID: anonymous.patientID,
                                    studyInstanceUID: real.studyInstanceUID, anonStudyInstanceUID: anonymous.studyInstanceUID,
                                    seriesInstanceUID: real.seriesInstanceUID, anonSeriesInstanceUID: anonymous.seriesInstanceUID,
                                    sopInstanceUID: real.sopInstanceUID, anonSOPInstanceUID: anonymous.sopInstanceUID)
        }
        state.lock(); knownEmpty = false; state.unlock()
        return key
    }

    /// The key now describes another stored image (the anonymized copy that replaced the original).
    func setImageId(keyId: Int64, imageId: Int64) throws {
        try db.write { try $0.run("UPDATE anonymization_keys SET image_id = ? WHERE id = ?", [.integer(imageId), .integer(keyId)]) }
    }

    /// Whether there is no key at all (cached; reverse anonymization skips reading files then).
    public var isEmpty: Bool {
        state.lock(); defer { state.unlock() }
        if let known = knownEmpty { return known }
        let empty = ((try? db.read { try $0.scalar("SELECT EXISTS (SELECT 1 FROM anonymization_keys)") }) ?? 0) == 0
        knownEmpty = empty
        return empty
    }

    private func forgetEmptiness() { state.lock(); knownEmpty = nil; state.unlock() }

    // MARK: the keys API (seed 003 `/anonymization/keys`)

    /// Keys with paging, order and filters: `query.properties` (seed `anonymizationKeyQuery`,
    /// names of `anonymizationKey`) and `query.filter` (case-insensitive substring of any of the
    /// ten name/ID/UID columns, the `filter` of the GET listing). Unknown names are refused.
    public func keys(_ query: MetadataQuery) throws -> [AnonymizationKey] {
        guard query.startIndex >= 0, query.count >= 0 else { throw NodeError.badRequest("startIndex and count must not be negative") }
        guard query.sources.isEmpty else { throw NodeError.badRequest("source filters do not apply to anonymization keys") }
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        for p in query.properties {
            guard let column = Self.columns[p.name] else { throw NodeError.badRequest("Property \(p.name) does not exist") }
            let (condition, parameter) = try SQLiteIndex.condition(p, column: column)
            conditions.append(condition); parameters.append(parameter)
        }
        if let filter = query.filter, !filter.isEmpty {
            let (condition, values) = SQLiteIndex.anyContains(filter, columns: Self.realColumns + Self.anonymousColumns)
            conditions.append(condition); parameters += values
        }
        var sql = Self.select + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
        if let orderBy = query.orderBy {
            guard let column = Self.columns[orderBy] else { throw NodeError.badRequest("Property \(orderBy) does not exist") }
            sql += " ORDER BY \(column) \(query.ascending ? "ASC" : "DESC"), id"
        } else {
            sql += " ORDER BY id"
        }
        sql += " LIMIT ? OFFSET ?"
        parameters += [.integer(Int64(query.count)), .integer(Int64(query.startIndex))]
        return try db.read { try $0.query(sql, parameters).map(Self.key) }
    }

    public func key(id: Int64) throws -> AnonymizationKey? {
        try db.read { try $0.query(Self.select + " WHERE id = ?", [.integer(id)]).first.map(Self.key) }
    }

    /// The recorded values of a key (nil: no such key).
    public func keyValues(keyId: Int64) throws -> [AnonymizationKeyValue]? {
        try db.read { c in
            guard try c.scalar("SELECT count(*) FROM anonymization_keys WHERE id = ?", [.integer(keyId)]) ?? 0 > 0 else { return nil }
            return try Self.values(keyId: keyId, c)
        }
    }

    public func deleteKey(id: Int64) throws {
        try db.write { try $0.run("DELETE FROM anonymization_keys WHERE id = ?", [.integer(id)]) }
        forgetEmptiness()
    }

    /// Deletes the keys describing these images; returns how many went.
    @discardableResult
    public func deleteKeys(imageIds: [Int64]) throws -> Int {
        guard !imageIds.isEmpty else { return 0 }
        let removed = try db.write { c -> Int in
            var n = 0
            for batch in stride(from: 0, to: imageIds.count, by: 500).map({ Array(imageIds[$0..<min($0 + 500, imageIds.count)]) }) {
                try c.run("DELETE FROM anonymization_keys WHERE image_id IN (\(batch.map { _ in "?" }.joined(separator: ",")))",
                          batch.map { .integer($0) })
                n += c.changes
            }
            return n
        }
        forgetEmptiness()
        return removed
    }

    /// Every key and its values as semicolon-separated text (Slicebox's export: one row per key
    /// value, the key's columns repeated; a key without values has one row with empty value
    /// columns). Fields holding `;`, `"` or a line break are quoted (RFC 4180).
    public func csv() throws -> String {
        let header = ["ID", "Image ID", "Created", "Patient Name", "Anonymous Patient Name", "Patient ID", "Anonymous Patient ID",
                      "Study Instance UID", "Anonymous Study Instance UID", "Series Instance UID", "Anonymous Series Instance UID",
                      "SOP Instance UID", "Anonymous SOP Instance UID", "Tag Path", "Value", "Anonymized Value"]
        func field(_ s: String) -> String {
            guard s.contains(where: { $0 == ";" || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var lines = [header.joined(separator: ";")]
        try db.read { c in
            let rows = try c.query("""
                SELECT k.id, k.image_id, k.created, k.patient_name, k.anon_patient_name, k.patient_id, k.anon_patient_id,
                       k.study_instance_uid, k.anon_study_instance_uid, k.series_instance_uid, k.anon_series_instance_uid,
                       k.sop_instance_uid, k.anon_sop_instance_uid, v.tag_path, v.value, v.anonymized_value
                FROM anonymization_keys k LEFT JOIN anonymization_key_values v ON v.key_ref = k.id ORDER BY k.id, v.id
                """)
            for r in rows { lines.append(r.map { field($0.string ?? "") }.joined(separator: ";")) }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
