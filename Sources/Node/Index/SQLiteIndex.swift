import Foundation

/// The embedded index: SQLite in WAL mode with `synchronous=FULL`, so a returned `add` is on disk.
public final class SQLiteIndex: MetadataIndex, @unchecked Sendable {
    public let db: Database

    public init(path: String) throws {
        db = try Database(path: path)
        _ = try Migrations.migrate(db)
        groupedAdds = GroupCommit { [unowned self] batch in try commitAdds(batch) }
    }

    static let patientColumns = IndexedAttribute.at(.patient).map(\.column)
    static let studyColumns = IndexedAttribute.at(.study).map(\.column)
    static let seriesColumns = IndexedAttribute.at(.series).map(\.column)
    static let imageColumns = IndexedAttribute.at(.image).map(\.column)

    /// The id of the row at one level, inserting it or updating its non-key columns only when
    /// they changed: most instances of a series repeat the same patient, study and series
    /// values, and an unchanged row is not rewritten (fewer pages in each commit).
    private static func upsert(table: String, parent: (column: String, value: SQLValue)?, columns: [String], keys: [String],
                               values: [String: String], _ c: SQLiteConnection) throws -> SQLValue {
        let keyColumns = (parent.map { [$0.column] } ?? []) + keys
        let keyValues = (parent.map { [$0.value] } ?? []) + keys.map { SQLValue.text(values[$0] ?? "") }
        let others = columns.filter { !keys.contains($0) }
        let otherValues = others.map { SQLValue.text(values[$0] ?? "") }
        let found = try c.query("SELECT id\(others.map { ", " + $0 }.joined()) FROM \(table) WHERE "
                                + keyColumns.map { "\($0) = ?" }.joined(separator: " AND "), keyValues).first
        if let found {
            if Array(found.dropFirst()) != otherValues {
                try c.run("UPDATE \(table) SET \(others.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ?", otherValues + [found[0]])
            }
            return found[0]
        }
        let all = keyColumns + others
        return .integer(try c.run("INSERT INTO \(table) (\(all.joined(separator: ","))) VALUES (\(all.map { _ in "?" }.joined(separator: ",")))",
                                  keyValues + otherValues))
    }

    /// Indexes one image. Images committed at the same moment (parallel associations, uploads)
    /// share one transaction and one flush (`GroupCommit`); each keeps its own outcome, and one
    /// refused (a rejected duplicate, bad data) is rolled back to its savepoint alone.
    public func add(_ record: IndexRecord, policy: DuplicatePolicy) throws -> IndexOutcome {
        try groupedAdds.run((record, policy)).get()
    }

    /// Set once in `init` (a lazy property would not be safe to initialise from two threads).
    private(set) var groupedAdds: GroupCommit<(record: IndexRecord, policy: DuplicatePolicy), Swift.Result<IndexOutcome, Error>>!

    private func commitAdds(_ batch: [(record: IndexRecord, policy: DuplicatePolicy)]) throws -> [Swift.Result<IndexOutcome, Error>] {
        if batch.count == 1 {
            // Alone: a failure rolls the whole transaction back, no savepoint needed.
            return [.success(try db.write { try insert(batch[0].record, policy: batch[0].policy, $0) })]
        }
        return try db.write { c in
            try batch.map { entry in
                try c.execute("SAVEPOINT image")
                do {
                    let outcome = try insert(entry.record, policy: entry.policy, c)
                    try c.execute("RELEASE image")
                    return .success(outcome)
                } catch {
                    try c.execute("ROLLBACK TO image")
                    try c.execute("RELEASE image")
                    return .failure(error)
                }
            }
        }
    }

    /// Many records in one transaction (bulk loads, benchmarks' synthetic indexes).
    public func addBatch(_ records: [IndexRecord], policy: DuplicatePolicy) throws -> [IndexOutcome] {
        try db.write { c in try records.map { try insert($0, policy: policy, c) } }
    }

    /// max(highest id now, highest id ever deleted) + 1.
    static let nextImageId = "(SELECT max(coalesce((SELECT max(id) FROM images), 0), coalesce((SELECT value FROM id_high_water WHERE name = 'images'), 0)) + 1)"

    private func insert(_ record: IndexRecord, policy: DuplicatePolicy, _ c: SQLiteConnection) throws -> IndexOutcome {
        let uid = record.sopInstanceUID
        guard !uid.isEmpty else { throw NodeError.invalidData("no SOP Instance UID") }
        func values(_ columns: [String]) -> [SQLValue] { columns.map { .text(record.values[$0] ?? "") } }
        do {  // one block: the statements of one image's upsert
            let existing = try c.query("SELECT id, series_ref, storage_key FROM images WHERE sop_instance_uid = ?", [.text(uid)]).first
            if let existing {
                switch policy {
                case .keep: return IndexOutcome(imageId: existing[0].int!, seriesId: existing[1].int ?? -1, added: false, stored: false, replacedStorageKey: nil)
                case .reject: throw NodeError.duplicate("SOP Instance UID \(uid) is already stored (duplicate policy: reject)")
                case .replace: break
                }
            }
            let patient = try Self.upsert(table: "patients", parent: nil, columns: Self.patientColumns,
                                          keys: ["patient_name", "patient_id"], values: record.values, c)
            let study = try Self.upsert(table: "studies", parent: ("patient_ref", patient), columns: Self.studyColumns,
                                        keys: ["study_instance_uid"], values: record.values, c)
            let series = try Self.upsert(table: "series", parent: ("study_ref", study), columns: Self.seriesColumns,
                                         keys: ["series_instance_uid"], values: record.values, c)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let fileColumns: [SQLValue] = [.text(record.transferSyntaxUID), .text(record.storageKey), .integer(record.fileSize), .integer(Int64(bitPattern: record.checksum)), .integer(now),
                                           .text(record.source.type.rawValue), .text(record.source.name), .integer(record.source.id)]
            let imageId: Int64
            var replaced: String? = nil
            if let existing {
                imageId = existing[0].int!
                let set = (Self.imageColumns + ["transfer_syntax_uid", "storage_key", "file_size", "checksum", "created", "source_type", "source_name", "source_id"])
                    .map { "\($0)=?" }.joined(separator: ",")
                try c.run("UPDATE images SET series_ref=?, \(set) WHERE id=?", [series] + values(Self.imageColumns) + fileColumns + [.integer(imageId)])
                if let old = existing[2].string, old != record.storageKey {
                    replaced = old
                    try c.run("INSERT OR IGNORE INTO pending_file_deletions (storage_key) VALUES (?)", [.text(old)])
                }
                if existing[1] != series { try Self.removeEmptyParents(seriesRef: existing[1], c) }
            } else {
                // An explicit id above every id ever used (`id_high_water`): a deleted image's id is
                // never handed to a new image, so forwarding rows, box rows and anonymization keys
                // that still name it cannot point at the wrong image.
                let columns = ["id", "series_ref"] + Self.imageColumns + ["transfer_syntax_uid", "storage_key", "file_size", "checksum", "created", "source_type", "source_name", "source_id"]
                imageId = try c.run("INSERT INTO images (\(columns.joined(separator: ","))) VALUES (\(Self.nextImageId), \(columns.dropFirst().map { _ in "?" }.joined(separator: ",")))",
                                    [series] + values(Self.imageColumns) + fileColumns)
            }
            let source: [SQLValue] = [.text(record.source.type.rawValue), .text(record.source.name), .integer(record.source.id)]
            if try c.query("SELECT source_type, source_name, source_id FROM series_sources WHERE series_ref = ?", [series]).first != source {
                try c.run("INSERT OR REPLACE INTO series_sources (series_ref, source_type, source_name, source_id) VALUES (?,?,?,?)", [series] + source)
            }
            return IndexOutcome(imageId: imageId, seriesId: series.int ?? -1, added: existing == nil, stored: true, replacedStorageKey: replaced)
        }
    }

    /// Series, study and patient rows with no children left go too (Slicebox `deleteFully`).
    static func removeEmptyParents(seriesRef: SQLValue, _ c: SQLiteConnection) throws {
        guard let study = try c.query("SELECT study_ref FROM series WHERE id=?", [seriesRef]).first?.first else { return }
        try c.run("DELETE FROM series WHERE id=? AND NOT EXISTS (SELECT 1 FROM images WHERE series_ref=?)", [seriesRef, seriesRef])
        guard c.changes > 0, let patient = try c.query("SELECT patient_ref FROM studies WHERE id=?", [study]).first?.first else { return }
        try c.run("DELETE FROM studies WHERE id=? AND NOT EXISTS (SELECT 1 FROM series WHERE study_ref=?)", [study, study])
        guard c.changes > 0 else { return }
        try c.run("DELETE FROM patients WHERE id=? AND NOT EXISTS (SELECT 1 FROM studies WHERE patient_ref=?)", [patient, patient])
    }

    static let storedImageSelect = """
        SELECT id, series_ref, sop_instance_uid, image_type, instance_number, sop_class_uid, transfer_syntax_uid,
               storage_key, file_size, checksum, created, source_type, source_name, source_id FROM images
        """

    static func storedImage(_ r: [SQLValue]) -> StoredImage {
        StoredImage(image: Image(id: r[0].int!, seriesId: r[1].int!, sopInstanceUID: r[2].string ?? "", imageType: r[3].string ?? "",
                                 instanceNumber: r[4].string ?? ""),
                    sopClassUID: r[5].string ?? "", transferSyntaxUID: r[6].string ?? "", storageKey: r[7].string ?? "",
                    fileSize: r[8].int ?? 0, checksum: UInt64(bitPattern: r[9].int ?? 0), created: r[10].int ?? 0,
                    source: Source(type: SourceType(rawValue: r[11].string ?? "") ?? .unknown, name: r[12].string ?? "", id: r[13].int ?? -1))
    }

    public func storedImage(id: Int64) throws -> StoredImage? {
        try db.read { try $0.query(Self.storedImageSelect + " WHERE id=?", [.integer(id)]).first.map(Self.storedImage) }
    }

    public func storedImage(sopInstanceUID: String) throws -> StoredImage? {
        try db.read { try $0.query(Self.storedImageSelect + " WHERE sop_instance_uid=?", [.text(sopInstanceUID)]).first.map(Self.storedImage) }
    }

    public func storedImage(storageKey: String) throws -> StoredImage? {
        try db.read { try $0.query(Self.storedImageSelect + " WHERE storage_key=?", [.text(storageKey)]).first.map(Self.storedImage) }
    }

    public func storedImages(ids: [Int64]) throws -> [StoredImage] {
        try db.read { c in try ids.compactMap { try c.query(Self.storedImageSelect + " WHERE id=?", [.integer($0)]).first.map(Self.storedImage) } }
    }

    public func deleteImages(ids: [Int64]) throws -> [String] {
        var keys: [String] = []
        // Batches keep each write transaction short (Slicebox deletes in batches of 1000 too).
        for batch in stride(from: 0, to: ids.count, by: 1000).map({ Array(ids[$0..<min($0 + 1000, ids.count)]) }) {
            keys += try db.write { c in
                var removed: [String] = []
                for id in batch {
                    guard let row = try c.query("SELECT series_ref, storage_key FROM images WHERE id=?", [.integer(id)]).first else { continue }
                    try c.run("DELETE FROM images WHERE id=?", [.integer(id)])
                    try c.run("INSERT OR IGNORE INTO pending_file_deletions (storage_key) VALUES (?)", [row[1]])
                    try Self.removeEmptyParents(seriesRef: row[0], c)
                    removed.append(row[1].string ?? "")
                }
                return removed
            }
        }
        return keys
    }

    public func pendingFileDeletions() throws -> [String] {
        try db.read { try $0.query("SELECT storage_key FROM pending_file_deletions").compactMap { $0[0].string } }
    }

    public func fileDeletionsDone(_ keys: [String]) throws {
        guard !keys.isEmpty else { return }
        try db.write { c in for k in keys { try c.run("DELETE FROM pending_file_deletions WHERE storage_key=?", [.text(k)]) } }
    }

    public func hasImage(storageKey: String) throws -> Bool {
        try db.read { try $0.scalar("SELECT count(*) FROM images WHERE storage_key=?", [.text(storageKey)]) ?? 0 > 0 }
    }

    public func counts() throws -> (patients: Int, studies: Int, series: Int, images: Int) {
        try db.read { c in
            (Int(try c.scalar("SELECT count(*) FROM patients") ?? 0), Int(try c.scalar("SELECT count(*) FROM studies") ?? 0),
             Int(try c.scalar("SELECT count(*) FROM series") ?? 0), Int(try c.scalar("SELECT count(*) FROM images") ?? 0))
        }
    }
}

extension SQLiteIndex {
    /// The source of a series (the last one that added an image to it), Slicebox `series/{id}/source`.
    public func seriesSource(seriesId: Int64) throws -> Source? {
        try db.read { c in
            try c.query("SELECT source_type, source_name, source_id FROM series_sources WHERE series_ref = ?", [.integer(seriesId)]).first.map {
                Source(type: SourceType(rawValue: $0[0].string ?? "") ?? .unknown, name: $0[1].string ?? "", id: $0[2].int ?? -1)
            }
        }
    }
}
