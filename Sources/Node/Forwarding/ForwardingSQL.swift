import Foundation

/// The statements of forwarding, each value a bound parameter. Callers hold the transaction
/// (`Database.write` / `read`); these only run statements on its connection.
enum ForwardingSQL {
    static let ruleSelect = """
        SELECT id, source_type, source_name, source_id, destination_type, destination_name, destination_id, keep_images
        FROM forwarding_rules
        """

    static func rule(_ r: [SQLValue]) -> ForwardingRule {
        ForwardingRule(id: r[0].int!,
                       source: Source(type: SourceType(rawValue: r[1].string ?? "") ?? .unknown, name: r[2].string ?? "", id: r[3].int ?? -1),
                       destination: Destination(destinationType: DestinationType(rawValue: r[4].string ?? "") ?? .scu,
                                                destinationName: r[5].string ?? "", destinationId: r[6].int ?? -1),
                       keepImages: (r[7].int ?? 1) != 0)
    }

    static func rules(_ c: SQLiteConnection, where condition: String = "", _ parameters: [SQLValue] = []) throws -> [ForwardingRule] {
        try c.query(ruleSelect + (condition.isEmpty ? "" : " WHERE " + condition) + " ORDER BY id", parameters).map(rule)
    }

    static func rules(matching source: Source, _ c: SQLiteConnection) throws -> [ForwardingRule] {
        try rules(c, where: "source_type=? AND source_id=?", [.text(source.type.rawValue), .integer(source.id)])
    }

    // MARK: taking images in

    /// Puts an image into `rule`'s open transaction for its series (a new one when there is none,
    /// or when the open one is full), unless it already waits in one. Returns whether it was taken.
    @discardableResult
    static func take(imageId: Int64, seriesId: Int64, sopInstanceUID: String, created: Int64, ruleId: Int64,
                     now: Int64, maxImages: Int, _ c: SQLiteConnection) throws -> Bool {
        try c.run("UPDATE forwarding_rules SET last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END WHERE id=?",
                  [.integer(created), .integer(created), .integer(ruleId)])
        let waiting = try c.scalar("""
            SELECT count(*) FROM forwarding_images i JOIN forwarding_transactions t ON t.id = i.transaction_ref
            WHERE t.rule_ref=? AND i.image_ref=? AND i.status='pending' AND t.status='pending'
            """, [.integer(ruleId), .integer(imageId)]) ?? 0
        guard waiting == 0 else { return false }
        let open = try c.query("""
            SELECT t.id FROM forwarding_transactions t WHERE t.rule_ref=? AND t.series_ref=? AND t.status='pending'
            AND (SELECT count(*) FROM forwarding_images i WHERE i.transaction_ref = t.id) < ? ORDER BY t.id DESC LIMIT 1
            """, [.integer(ruleId), .integer(seriesId), .integer(Int64(maxImages))]).first?.first?.int
        let transaction = try open ?? c.run("""
            INSERT INTO forwarding_transactions (rule_ref, series_ref, status, created, updated, last_added) VALUES (?,?,'pending',?,?,?)
            """, [.integer(ruleId), .integer(seriesId), .integer(now), .integer(now), .integer(now)])
        // Delivered before and stored again (a re-sent instance) while the transaction waits for a retry: offered again.
        try c.run("""
            UPDATE forwarding_images SET status='pending', dimse_status=NULL, message='', attempts=0, sop_instance_uid=?, added=?, updated=?
            WHERE transaction_ref=? AND image_ref=?
            """, [.text(sopInstanceUID), .integer(now), .integer(now), .integer(transaction), .integer(imageId)])
        if c.changes == 0 {
            try c.run("""
                INSERT INTO forwarding_images (transaction_ref, image_ref, sop_instance_uid, status, added, updated) VALUES (?,?,?,'pending',?,?)
                """, [.integer(transaction), .integer(imageId), .text(sopInstanceUID), .integer(now), .integer(now)])
        }
        try c.run("UPDATE forwarding_transactions SET last_added=?, updated=? WHERE id=?", [.integer(now), .integer(now), .integer(transaction)])
        return true
    }

    /// Images of `rule`'s source stored since the rule last took one in, that no entry of the rule
    /// took in after they were stored: their event was lost (a crash between the store's commit
    /// and the event's delivery). An entry is stamped when taken in (`added`), after the image's
    /// `created`, so an instance stored again later is found again.
    static func missed(by rule: ForwardingRule, _ c: SQLiteConnection) throws -> [(imageId: Int64, seriesId: Int64, sop: String, created: Int64)] {
        try c.query("""
            SELECT m.id, m.series_ref, m.sop_instance_uid, m.created FROM images m, forwarding_rules r
            WHERE r.id=? AND m.source_type=? AND m.source_id=? AND m.created >= r.last_seen
            AND NOT EXISTS (SELECT 1 FROM forwarding_images i JOIN forwarding_transactions t ON t.id = i.transaction_ref
                            WHERE t.rule_ref = r.id AND i.image_ref = m.id AND i.added >= m.created)
            ORDER BY m.id
            """, [.integer(rule.id), .text(rule.source.type.rawValue), .integer(rule.source.id)]).map {
            ($0[0].int!, $0[1].int ?? -1, $0[2].string ?? "", $0[3].int ?? 0)
        }
    }

    // MARK: sending

    /// Pending transactions whose time has come: idle long enough (or full) and past their back-off.
    static func due(now: Int64, idleMs: Int64, maxImages: Int, _ c: SQLiteConnection) throws -> [(Int64, ForwardingRule)] {
        let ids = try c.query("""
            SELECT t.id, t.rule_ref FROM forwarding_transactions t WHERE t.status='pending' AND t.next_attempt <= ?
            AND (t.last_added <= ? OR (SELECT count(*) FROM forwarding_images i WHERE i.transaction_ref = t.id AND i.status='pending') >= ?)
            ORDER BY t.id
            """, [.integer(now), .integer(now - idleMs), .integer(Int64(maxImages))])
        var rules: [Int64: ForwardingRule] = [:]
        return try ids.compactMap { row in
            let ruleId = row[1].int!
            if rules[ruleId] == nil { rules[ruleId] = try Self.rules(c, where: "id=?", [.integer(ruleId)]).first }
            return rules[ruleId].map { (row[0].int!, $0) }
        }
    }

    /// The images of a transaction still to send, with their stored file (nil when the image is
    /// no longer stored, or was replaced by another instance under the same id).
    static func pendingImages(transactionId: Int64, _ c: SQLiteConnection) throws -> [(imageId: Int64, sop: String, stored: StoredImage?)] {
        try c.query("SELECT image_ref, sop_instance_uid FROM forwarding_images WHERE transaction_ref=? AND status='pending' ORDER BY image_ref",
                    [.integer(transactionId)]).map { row in
            let stored = try c.query(SQLiteIndex.storedImageSelect + " WHERE id=?", [row[0]]).first.map(SQLiteIndex.storedImage)
            let sop = row[1].string ?? ""
            return (row[0].int!, sop, stored?.image.sopInstanceUID == sop ? stored : nil)
        }
    }

    static func record(transactionId: Int64, imageId: Int64, result: ForwardingImageResult, maxDeferrals: Int, now: Int64, _ c: SQLiteConnection) throws {
        let (status, code, message): (String, UInt16?, String)
        switch result {
        case .delivered(let s): (status, code, message) = ("delivered", s, "")
        case .refused(let s, let m): (status, code, message) = ("failed", s, m)
        case .deferred(let s, let m):
            let attempts = try c.scalar("SELECT attempts FROM forwarding_images WHERE transaction_ref=? AND image_ref=?",
                                        [.integer(transactionId), .integer(imageId)]) ?? 0
            (status, code, message) = (attempts + 1 >= Int64(maxDeferrals) ? "failed" : "pending", s, m)
        }
        try c.run("""
            UPDATE forwarding_images SET status=?, dimse_status=?, message=?, attempts=attempts+1, updated=?
            WHERE transaction_ref=? AND image_ref=? AND status='pending'
            """, [.text(status), SQLValue(code.map { Int64($0) }), .text(message), .integer(now), .integer(transactionId), .integer(imageId)])
    }

    static func counts(transactionId: Int64, _ c: SQLiteConnection) throws -> (total: Int, pending: Int, delivered: Int, failed: Int) {
        let rows = try c.query("SELECT status, count(*) FROM forwarding_images WHERE transaction_ref=? GROUP BY status", [.integer(transactionId)])
        var by: [String: Int] = [:]
        for r in rows { by[r[0].string ?? ""] = Int(r[1].int ?? 0) }
        return (by.values.reduce(0, +), by["pending"] ?? 0, by["delivered"] ?? 0, by["failed"] ?? 0)
    }

    // MARK: deleting delivered images

    /// Of `images` (id, SOP Instance UID), those to delete: still stored as that instance, every
    /// entry of every transaction holding it delivered (none waiting, none refused), at least one
    /// by a rule with keepImages false and none by a rule with keepImages true.
    static func deletable(_ images: [(Int64, String)], _ c: SQLiteConnection) throws -> [Int64] {
        try images.filter { id, sop in
            guard try c.query("SELECT sop_instance_uid FROM images WHERE id=?", [.integer(id)]).first?.first?.string == sop else { return false }
            let row = try c.query("""
                SELECT sum(CASE WHEN i.status <> 'delivered' THEN 1 ELSE 0 END), sum(r.keep_images), count(*)
                FROM forwarding_images i JOIN forwarding_transactions t ON t.id = i.transaction_ref JOIN forwarding_rules r ON r.id = t.rule_ref
                WHERE i.image_ref=? AND i.sop_instance_uid=?
                """, [.integer(id), .text(sop)]).first
            guard let row, (row[2].int ?? 0) > 0 else { return false }
            return row[0].int == 0 && row[1].int == 0
        }.map(\.0)
    }

    static func images(ofTransaction id: Int64, _ c: SQLiteConnection) throws -> [(Int64, String)] {
        try c.query("SELECT image_ref, sop_instance_uid FROM forwarding_images WHERE transaction_ref=?", [.integer(id)]).map { ($0[0].int!, $0[1].string ?? "") }
    }

    // MARK: listing

    static let transactionSelect = """
        SELECT t.id, t.rule_ref, t.series_ref, t.status, t.created, t.updated, t.last_added, t.attempts, t.next_attempt, t.last_error,
               r.source_type, r.source_name, r.source_id, r.destination_type, r.destination_name, r.destination_id,
               (SELECT count(*) FROM forwarding_images i WHERE i.transaction_ref = t.id),
               (SELECT count(*) FROM forwarding_images i WHERE i.transaction_ref = t.id AND i.status = 'delivered'),
               (SELECT count(*) FROM forwarding_images i WHERE i.transaction_ref = t.id AND i.status = 'failed')
        FROM forwarding_transactions t JOIN forwarding_rules r ON r.id = t.rule_ref
        """

    static func transaction(_ r: [SQLValue], settings: ForwardingSettings) -> ForwardingTransaction {
        let status = ForwardingStatus(rawValue: r[3].string ?? "") ?? .pending
        let total = Int(r[16].int ?? 0), sent = Int(r[17].int ?? 0), failed = Int(r[18].int ?? 0)
        var next: Int64? = nil
        if status == .pending {
            let backoff = r[8].int ?? 0
            let full = total - sent - failed >= settings.maxImagesPerTransaction
            let lastAdded = r[6].int ?? 0
            next = max(backoff, full ? lastAdded : lastAdded + Int64(settings.idleSeconds * 1000))
        }
        let error = r[9].string ?? ""
        return ForwardingTransaction(
            id: r[0].int!, ruleId: r[1].int ?? -1, seriesId: r[2].int ?? -1,
            source: Source(type: SourceType(rawValue: r[10].string ?? "") ?? .unknown, name: r[11].string ?? "", id: r[12].int ?? -1),
            destination: Destination(destinationType: DestinationType(rawValue: r[13].string ?? "") ?? .scu,
                                     destinationName: r[14].string ?? "", destinationId: r[15].int ?? -1),
            status: status, totalImageCount: total, sentImageCount: sent, failedImageCount: failed,
            attempts: Int(r[7].int ?? 0), lastError: error.isEmpty ? nil : error, nextAttempt: next,
            created: r[4].int ?? 0, updated: r[5].int ?? 0)
    }

    static func transactionImage(_ r: [SQLValue]) -> ForwardingTransactionImage {
        ForwardingTransactionImage(transactionId: r[0].int!, imageId: r[1].int!, sopInstanceUID: r[2].string ?? "",
                                   status: ForwardingTransactionImage.Status(rawValue: r[3].string ?? "") ?? .pending,
                                   dimseStatus: r[4].int.map { UInt16(truncatingIfNeeded: $0) }, message: r[5].string ?? "",
                                   attempts: Int(r[6].int ?? 0), updated: r[7].int ?? 0)
    }
}
