import Foundation

/// The pathology tables (see `Migrations.pathology`): image records, shares, logs, job state.
/// Every value is a bound parameter.
final class PathologyStore: @unchecked Sendable {
    let db: Database

    init(db: Database) { self.db = db }

    static let columns = """
        id, image_unique_id, owner_id, patient_id, entity_id, workarea_id, study_id, filename, location, description,
        adddate, moddate, status, file_size, width, height, tile_count, tissue_area, tissue_area_percent,
        outcome_prediction, metric, tiling_status, tissuearea_status, annotation_status, outcome_status,
        predict_status, predict_run
        """

    private static func image(_ r: [SQLValue], shares: [Int64]) -> PathologyImage {
        func status(_ v: SQLValue) -> PathologyStageStatus { PathologyStageStatus(rawValue: v.string ?? "") ?? .pending }
        func int(_ v: SQLValue) -> Int? { v.int.map { Int($0) } }
        func real(_ v: SQLValue) -> Double? {
            switch v {
            case .real(let d): return d
            case .integer(let i): return Double(i)
            default: return nil
            }
        }
        let owner = r[2].int ?? 0
        return PathologyImage(
            id: r[0].int!, imageUniqueId: r[1].string ?? "", ownerId: owner,
            patientId: r[3].string, entityId: r[4].string, workareaId: r[5].string, studyId: r[6].string,
            filename: r[7].string ?? "", location: r[8].string, description: r[9].string,
            adddate: r[10].string ?? "", moddate: r[11].string ?? "", status: r[12].string ?? "",
            fileSize: r[13].int, width: int(r[14]), height: int(r[15]), tileCount: int(r[16]),
            tissueArea: r[17].int, tissueAreaPercent: real(r[18]), outcomePrediction: r[19].string, metric: r[20].string,
            tilingStatus: status(r[21]), tissueAreaStatus: status(r[22]), annotationStatus: status(r[23]),
            outcomeStatus: status(r[24]), predictStatus: status(r[25]), predictRun: r[26].int ?? 0,
            shared: [owner] + shares.filter { $0 != owner })
    }

    /// Records matching `condition` (an SQL expression over `pathology_images`), with their shares.
    func images(where condition: String, _ parameters: [SQLValue] = []) throws -> [PathologyImage] {
        try db.read { c in
            let rows = try c.query("SELECT \(Self.columns) FROM pathology_images WHERE \(condition) ORDER BY id", parameters)
            guard !rows.isEmpty else { return [] }
            var shares: [Int64: [Int64]] = [:]
            let ids = rows.map { $0[0].int! }
            // Shares of these records, in batches that stay under SQLite's parameter limit.
            for start in stride(from: 0, to: ids.count, by: 500) {
                let batch = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: batch.count).joined(separator: ",")
                for s in try c.query("SELECT image_ref, user_id FROM pathology_shares WHERE image_ref IN (\(marks)) ORDER BY user_id",
                                     batch.map { .integer($0) }) {
                    shares[s[0].int!, default: []].append(s[1].int!)
                }
            }
            return rows.map { Self.image($0, shares: shares[$0[0].int!] ?? []) }
        }
    }

    func image(id: Int64) throws -> PathologyImage? { try images(where: "id = ?", [.integer(id)]).first }

    func image(uniqueId: String) throws -> PathologyImage? { try images(where: "image_unique_id = ?", [.text(uniqueId)]).first }

    /// Records owned by or shared with `userId`.
    func images(ownedOrSharedWith userId: Int64) throws -> [PathologyImage] {
        try images(where: "owner_id = ? OR id IN (SELECT image_ref FROM pathology_shares WHERE user_id = ?)",
                   [.integer(userId), .integer(userId)])
    }

    func insert(uniqueId: String, ownerId: Int64, fields: PathologyImageFields) throws -> PathologyImage {
        let now = PathologyClock.now()
        let pending = PathologyStageStatus.pending.rawValue
        let id = try db.write { c in
            try c.run("""
                INSERT INTO pathology_images (image_unique_id, owner_id, patient_id, entity_id, workarea_id, study_id, filename,
                    location, description, adddate, moddate, status, tiling_status, tissuearea_status, annotation_status,
                    outcome_status, predict_status)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """, [.text(uniqueId), .integer(ownerId), SQLValue(fields.patientId), SQLValue(fields.entityId),
                      SQLValue(fields.workareaId), SQLValue(fields.studyId), .text(fields.filename ?? ""),
                      SQLValue(fields.location), SQLValue(fields.description), .text(now), .text(now),
                      .text(fields.status ?? "In Progress"), .text(pending), .text(pending), .text(pending), .text(pending), .text(pending)])
        }
        guard let image = try image(id: id) else { throw NodeError.storage("the new pathology image \(id) cannot be read back") }
        return image
    }

    /// Changes the given fields (nil ones stay) and `moddate`.
    func update(id: Int64, fields f: PathologyImageFields) throws {
        var sets: [String] = ["moddate = ?"]
        var values: [SQLValue] = [.text(PathologyClock.now())]
        for (column, value) in [("patient_id", f.patientId), ("entity_id", f.entityId), ("workarea_id", f.workareaId),
                                ("study_id", f.studyId), ("filename", f.filename), ("location", f.location),
                                ("description", f.description), ("status", f.status)] {
            if let value { sets.append("\(column) = ?"); values.append(.text(value)) }
        }
        try db.write { c in
            _ = try c.run("UPDATE pathology_images SET \(sets.joined(separator: ", ")) WHERE id = ?", values + [.integer(id)])
        }
    }

    func delete(id: Int64) throws {
        try db.write { c in _ = try c.run("DELETE FROM pathology_images WHERE id = ?", [.integer(id)]) }
    }

    // MARK: Shares

    /// Replaces the share list (the owner is implied, never stored).
    func setShares(id: Int64, ownerId: Int64, users: [Int64]) throws {
        try db.write { c in
            try c.run("DELETE FROM pathology_shares WHERE image_ref = ?", [.integer(id)])
            for user in Set(users) where user != ownerId {
                try c.run("INSERT INTO pathology_shares (image_ref, user_id) VALUES (?, ?)", [.integer(id), .integer(user)])
            }
            try c.run("UPDATE pathology_images SET moddate = ? WHERE id = ?", [.text(PathologyClock.now()), .integer(id)])
        }
    }

    /// The ids among `ids` that are not user accounts.
    func unknownUsers(_ ids: [Int64]) throws -> [Int64] {
        try db.read { c in
            try Set(ids).sorted().filter { try c.scalar("SELECT count(*) FROM users WHERE id = ?", [.integer($0)]) == 0 }
        }
    }

    func userIds() throws -> [Int64] {
        try db.read { c in try c.query("SELECT id FROM users ORDER BY id").map { $0[0].int! } }
    }

    // MARK: Logs

    @discardableResult
    func addLog(imageId: Int64, type: String, message: String, userId: Int64?) throws -> PathologyLogEntry {
        let now = PathologyClock.now()
        let id = try db.write { c in
            try c.run("INSERT INTO pathology_logs (image_ref, type, message, user_id, adddate) VALUES (?,?,?,?,?)",
                      [.integer(imageId), .text(type), .text(message), SQLValue(userId), .text(now)])
        }
        let uid = try db.read { try $0.query("SELECT image_unique_id FROM pathology_images WHERE id = ?", [.integer(imageId)]).first?[0].string } ?? ""
        return PathologyLogEntry(id: id, imageId: imageId, imageUniqueId: uid, type: type, message: message, userId: userId, adddate: now)
    }

    /// Log entries in the order they were written, after the entry `since` (0: from the first),
    /// of one image, or of every image visible to `viewer`.
    func logs(imageId: Int64?, viewer: PathologyViewer?, since: Int64, limit: Int) throws -> [PathologyLogEntry] {
        var sql = """
            SELECT l.id, l.image_ref, i.image_unique_id, l.type, l.message, l.user_id, l.adddate
            FROM pathology_logs l JOIN pathology_images i ON i.id = l.image_ref WHERE l.id > ?
            """
        var parameters: [SQLValue] = [.integer(since)]
        if let imageId { sql += " AND l.image_ref = ?"; parameters.append(.integer(imageId)) }
        if let viewer, !viewer.isAdministrator {
            sql += " AND (i.owner_id = ? OR i.id IN (SELECT image_ref FROM pathology_shares WHERE user_id = ?))"
            parameters += [.integer(viewer.userId), .integer(viewer.userId)]
        }
        sql += " ORDER BY l.id LIMIT ?"
        parameters.append(.integer(Int64(limit)))
        return try db.read { c in
            try c.query(sql, parameters).map {
                PathologyLogEntry(id: $0[0].int!, imageId: $0[1].int!, imageUniqueId: $0[2].string ?? "", type: $0[3].string ?? "",
                                  message: $0[4].string ?? "", userId: $0[5].int, adddate: $0[6].string ?? "")
            }
        }
    }

    // MARK: Upload and job state

    /// An accepted upload: the file's size, `Uploaded`, and every result of an earlier file gone.
    func uploaded(id: Int64, size: Int64) throws {
        let pending = PathologyStageStatus.pending.rawValue
        try db.write { c in
            _ = try c.run("""
                UPDATE pathology_images SET file_size = ?, status = 'Uploaded', moddate = ?, width = NULL, height = NULL,
                    tile_count = NULL, tissue_area = NULL, tissue_area_percent = NULL, outcome_prediction = NULL, metric = NULL,
                    tiling_status = ?, tissuearea_status = ?, annotation_status = ?, outcome_status = ?, predict_status = ?
                WHERE id = ?
                """, [.integer(size), .text(PathologyClock.now()), .text(pending), .text(pending), .text(pending), .text(pending),
                      .text(pending), .integer(id)])
        }
    }

    /// Starts a new run: every stage Pending, earlier results cleared, the job Queued. Returns its number.
    func beginRun(id: Int64) throws -> Int64 {
        let pending = PathologyStageStatus.pending.rawValue
        return try db.write { c in
            try c.run("""
                UPDATE pathology_images SET predict_run = predict_run + 1, predict_status = ?, moddate = ?,
                    tile_count = NULL, tissue_area = NULL, tissue_area_percent = NULL, outcome_prediction = NULL, metric = NULL,
                    tiling_status = ?, tissuearea_status = ?, annotation_status = ?, outcome_status = ?
                WHERE id = ?
                """, [.text(PathologyStageStatus.queued.rawValue), .text(PathologyClock.now()),
                      .text(pending), .text(pending), .text(pending), .text(pending), .integer(id)])
            return try c.scalar("SELECT predict_run FROM pathology_images WHERE id = ?", [.integer(id)]) ?? 0
        }
    }

    /// Sets columns of the record while `run` is its current run; false when it is not (any more).
    @discardableResult
    func setIfCurrent(id: Int64, run: Int64, _ assignments: [(String, SQLValue)]) throws -> Bool {
        let sets = (assignments.map { "\($0.0) = ?" } + ["moddate = ?"]).joined(separator: ", ")
        return try db.write { c in
            try c.run("UPDATE pathology_images SET \(sets) WHERE id = ? AND predict_run = ?",
                      assignments.map(\.1) + [.text(PathologyClock.now()), .integer(id), .integer(run)])
            return c.changes > 0
        }
    }

    /// Jobs a stop or crash left queued or running: (id, run).
    func unfinishedJobs() throws -> [(id: Int64, run: Int64)] {
        try db.read { c in
            try c.query("SELECT id, predict_run FROM pathology_images WHERE predict_status IN (?, ?) ORDER BY id",
                        [.text(PathologyStageStatus.queued.rawValue), .text(PathologyStageStatus.inProgress.rawValue)])
                .map { ($0[0].int!, $0[1].int ?? 0) }
        }
    }

    func allUniqueIds() throws -> Set<String> {
        try db.read { c in Set(try c.query("SELECT image_unique_id FROM pathology_images").compactMap { $0[0].string }) }
    }
}
