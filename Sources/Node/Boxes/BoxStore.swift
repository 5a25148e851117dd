import Foundation
import Codec

/// The boxes' rows in the index: every read and change of boxes and transactions, each change
/// one write transaction. Statuses follow from the images' states (`settle`), so a crash between
/// two changes never leaves a count that disagrees with the rows.
final class BoxStore: @unchecked Sendable {
    let db: Database
    private let lock = NSLock()
    private var _settings: BoxSettings

    init(db: Database, settings: BoxSettings) {
        self.db = db
        _settings = settings
        outcomes = Self.outcomesCommit(db)
        incoming = Self.incomingCommit(db)
    }

    var settings: BoxSettings {
        get { lock.lock(); defer { lock.unlock() }; return _settings }
        set { lock.lock(); _settings = newValue; lock.unlock() }
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: profiles and tag values as text

    static func encode(_ profile: AnonymizationProfile) -> String {
        String(decoding: (try? JSONEncoder().encode(profile.options.map(\.name))) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// A stored profile; one naming an option this build no longer knows falls back to the Basic
    /// Profile. Decoded once per distinct text (every box and transaction read needs one).
    static func profile(_ text: String?) -> AnonymizationProfile {
        guard let text else { return .basic }
        profileLock.lock()
        if let p = profiles[text] { profileLock.unlock(); return p }
        profileLock.unlock()
        var p = AnonymizationProfile.basic
        if let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8)), let known = try? AnonymizationProfile(names: names) { p = known }
        profileLock.lock()
        if profiles.count > 1000 { profiles.removeAll() }
        profiles[text] = p
        profileLock.unlock()
        return p
    }

    nonisolated(unsafe) private static var profiles: [String: AnonymizationProfile] = [:]
    private static let profileLock = NSLock()

    /// Forced values as text: one per line, `path=value` with the path as hex tags (`00081115[0]/0020000E`,
    /// outermost sequence first) — quicker to read back than JSON with keyword paths.
    static func encode(_ values: [TagValue]) -> String {
        values.map { tv in
            let steps = tv.tagPath.sequences.map { step, item -> String in
                if case .index(let i) = item { return String(format: "%08X[%d]", step.tag.value, i) }
                return String(format: "%08X[*]", step.tag.value)
            }
            let value = tv.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            return (steps + [String(format: "%08X", tv.tagPath.last.tag.value)]).joined(separator: "/") + "=" + value
        }.joined(separator: "\n")
    }

    static func tagValues(_ text: String) throws -> [TagValue] {
        guard !text.isEmpty else { return [] }
        return try text.split(separator: "\n").map { line in
            guard let eq = line.firstIndex(of: "=") else { throw NodeError.storage("malformed stored tag value '\(line)'") }
            var steps: [(Tag, TagPath.ItemSelector)] = []
            var last: Tag?
            for part in line[..<eq].split(separator: "/") {
                let hex = part.prefix(8)
                guard let tag = UInt32(hex, radix: 16) else { throw NodeError.storage("malformed stored tag path '\(line)'") }
                if part.count > 8 {
                    let inner = part.dropFirst(9).dropLast()
                    steps.append((Tag(tag), inner == "*" ? .any : .index(Int(inner) ?? 0)))
                } else {
                    last = Tag(tag)
                }
            }
            guard let last else { throw NodeError.storage("malformed stored tag path '\(line)'") }
            var value = "", escaped = false
            for ch in line[line.index(after: eq)...] {
                if escaped { value.append(ch == "n" ? "\n" : ch); escaped = false } else if ch == "\\" { escaped = true } else { value.append(ch) }
            }
            return TagValue(tagPath: TagPath(sequences: steps, tag: last), value: value)
        }
    }

    // MARK: boxes

    private static let boxSelect = "SELECT id, name, token, base_url, send_method, profile, last_contact, last_error FROM boxes"

    private func box(_ r: [SQLValue], now: Int64) -> Box {
        let lastContact = r[6].int ?? 0
        return Box(id: r[0].int!, name: r[1].string ?? "", token: r[2].string ?? "", baseUrl: r[3].string ?? "",
                   sendMethod: BoxSendMethod(rawValue: r[4].string ?? "") ?? .PUSH, profile: Self.profile(r[5].string),
                   online: lastContact > 0 && Double(now - lastContact) <= settings.onlineSeconds * 1000,
                   lastContact: lastContact, lastError: r[7].string ?? "")
    }

    func boxes(startIndex: Int = 0, count: Int = 1_000_000) throws -> [Box] {
        let now = Self.now()
        return try db.read { try $0.query(Self.boxSelect + " ORDER BY id LIMIT ? OFFSET ?", [.integer(Int64(count)), .integer(Int64(startIndex))])
            .map { box($0, now: now) } }
    }

    func box(id: Int64) throws -> Box? {
        let now = Self.now()
        return try db.read { try $0.query(Self.boxSelect + " WHERE id=?", [.integer(id)]).first.map { box($0, now: now) } }
    }

    func box(name: String) throws -> Box? {
        let now = Self.now()
        return try db.read { try $0.query(Self.boxSelect + " WHERE name=?", [.text(name)]).first.map { box($0, now: now) } }
    }

    func pollBox(token: String) throws -> Box? {
        let now = Self.now()
        return try db.read { try $0.query(Self.boxSelect + " WHERE token=? AND send_method='POLL'", [.text(token)]).first.map { box($0, now: now) } }
    }

    func insertBox(name: String, token: String, baseUrl: String, method: BoxSendMethod, profile: AnonymizationProfile) throws -> Int64 {
        try db.write { try $0.run("INSERT INTO boxes (name, token, base_url, send_method, profile, created) VALUES (?,?,?,?,?,?)",
                                  [.text(name), .text(token), .text(baseUrl), .text(method.rawValue), .text(Self.encode(profile)), .integer(Self.now())]) }
    }

    /// Removes a box with its transactions; returns the ids of its outgoing images (their spool files go too).
    func deleteBox(id: Int64) throws -> [Int64] {
        try db.write { c in
            let images = try c.query("""
                SELECT i.id FROM box_outgoing_images i JOIN box_outgoing_transactions t ON t.id = i.transaction_ref WHERE t.box_ref=?
                """, [.integer(id)]).compactMap { $0[0].int }
            try c.run("DELETE FROM boxes WHERE id=?", [.integer(id)])
            return images
        }
    }

    /// Records that the other node answered (or, with `error`, that it could not be reached:
    /// the last contact stays as it was).
    /// A contact is written at most once a second per box (each image would otherwise cost a commit).
    func contact(boxId: Int64, error: String? = nil) throws {
        let now = Self.now()
        if let error {
            lock.lock(); contactWritten[boxId] = nil; lock.unlock()
            try db.write { try $0.run("UPDATE boxes SET last_error=? WHERE id=?", [.text(String(error.prefix(1000))), .integer(boxId)]) }
            return
        }
        lock.lock()
        let recent = contactWritten[boxId].map { now - $0 < 1000 } ?? false
        if !recent { contactWritten[boxId] = now }
        lock.unlock()
        guard !recent else { return }
        try db.write { try $0.run("UPDATE boxes SET last_contact=?, last_error='' WHERE id=?", [.integer(now), .integer(boxId)]) }
    }

    private var contactWritten: [Int64: Int64] = [:]

    // MARK: outgoing

    private static let outgoingSelect = """
        SELECT t.id, t.box_ref, b.name, t.profile, t.status, t.created, t.updated, t.last_error,
               (SELECT COUNT(*) FROM box_outgoing_images i WHERE i.transaction_ref = t.id),
               (SELECT COUNT(*) FROM box_outgoing_images i WHERE i.transaction_ref = t.id AND i.status = 'sent'),
               (SELECT COUNT(*) FROM box_outgoing_images i WHERE i.transaction_ref = t.id AND i.status = 'failed')
        FROM box_outgoing_transactions t JOIN boxes b ON b.id = t.box_ref
        """

    private static func outgoing(_ r: [SQLValue]) -> OutgoingTransaction {
        OutgoingTransaction(id: r[0].int!, boxId: r[1].int ?? -1, boxName: r[2].string ?? "", profile: profile(r[3].string),
                            sentImageCount: r[9].int ?? 0, totalImageCount: r[8].int ?? 0,
                            status: TransactionStatus(rawValue: r[4].string ?? "") ?? .WAITING, updated: r[6].int ?? 0,
                            failedImageCount: r[10].int ?? 0, created: r[5].int ?? 0, lastError: r[7].string ?? "")
    }

    func outgoingTransactions(startIndex: Int, count: Int) throws -> [OutgoingTransaction] {
        try db.read { try $0.query(Self.outgoingSelect + " ORDER BY t.updated DESC, t.id DESC LIMIT ? OFFSET ?",
                                   [.integer(Int64(count)), .integer(Int64(startIndex))]).map(Self.outgoing) }
    }

    func outgoingTransaction(id: Int64, _ c: SQLiteConnection) throws -> OutgoingTransaction? {
        try c.query(Self.outgoingSelect + " WHERE t.id=?", [.integer(id)]).first.map(Self.outgoing)
    }

    func outgoingTransaction(id: Int64) throws -> OutgoingTransaction? {
        try db.read { try outgoingTransaction(id: id, $0) }
    }

    /// A new WAITING transaction with sequence numbers 1…n in the order given.
    func createTransaction(boxId: Int64, profile: AnonymizationProfile, images: [(imageId: Int64, sop: String, tagValues: String)], forwarding: Bool) throws -> Int64 {
        let now = Self.now()
        return try db.write { c in
            let id = try c.run("INSERT INTO box_outgoing_transactions (box_ref, profile, status, forwarding, created, updated) VALUES (?,?,?,?,?,?)",
                               [.integer(boxId), .text(Self.encode(profile)), .text(TransactionStatus.WAITING.rawValue),
                                .integer(forwarding ? 1 : 0), .integer(now), .integer(now)])
            for (n, image) in images.enumerated() {
                _ = try c.run("""
                    INSERT INTO box_outgoing_images (transaction_ref, image_ref, sop_instance_uid, sequence_number, status, tag_values, updated)
                    VALUES (?,?,?,?,'pending',?,?)
                    """, [.integer(id), .integer(image.imageId), .text(image.sop), .integer(Int64(n + 1)), .text(image.tagValues), .integer(now)])
            }
            return id
        }
    }

    static func outgoingImage(_ r: [SQLValue], offset o: Int = 0) -> OutgoingImage {
        let status = r[o + 4].string ?? "pending"
        return OutgoingImage(id: r[o].int!, outgoingTransactionId: r[o + 1].int!, imageId: r[o + 2].int ?? -1, sequenceNumber: r[o + 3].int ?? 0,
                             sent: status == "sent", status: status, message: r[o + 5].string ?? "")
    }

    func outgoingImages(transactionId: Int64) throws -> [OutgoingImage] {
        try db.read { try $0.query("""
            SELECT id, transaction_ref, image_ref, sequence_number, status, message FROM box_outgoing_images
            WHERE transaction_ref=? ORDER BY sequence_number
            """, [.integer(transactionId)]).map { Self.outgoingImage($0) } }
    }

    /// Outgoing images still to send, with what anonymizing them needs.
    struct Pending: Sendable {
        var transactionImage: OutgoingTransactionImage
        var tagValues: String
        /// The SOP Instance UID the image had when it was queued.
        var sopInstanceUID: String
    }

    /// Up to `limit` images to send to a box, the oldest transaction first, in sequence order.
    func pending(boxId: Int64, limit: Int) throws -> [Pending] {
        try db.read { c in
            let rows = try c.query("""
                SELECT i.id, i.transaction_ref, i.image_ref, i.sequence_number, i.status, i.message, i.tag_values, i.sop_instance_uid
                FROM box_outgoing_transactions t JOIN box_outgoing_images i ON i.transaction_ref = t.id
                WHERE t.box_ref=? AND i.status='pending' ORDER BY t.id, i.sequence_number LIMIT ?
                """, [.integer(boxId), .integer(Int64(limit))])
            var transactions: [Int64: OutgoingTransaction] = [:]
            var out: [Pending] = []
            for r in rows {
                let image = Self.outgoingImage(r)
                if transactions[image.outgoingTransactionId] == nil {
                    transactions[image.outgoingTransactionId] = try outgoingTransaction(id: image.outgoingTransactionId, c)
                }
                guard let t = transactions[image.outgoingTransactionId] else { continue }
                out.append(Pending(transactionImage: OutgoingTransactionImage(transaction: t, image: image), tagValues: r[6].string ?? "",
                                   sopInstanceUID: r[7].string ?? ""))
            }
            return out
        }
    }

    /// One image of a box's transaction, whatever its state.
    func outgoingImage(boxId: Int64, transactionId: Int64, imageId: Int64) throws -> Pending? {
        try db.read { c in
            guard let r = try c.query("""
                SELECT i.id, i.transaction_ref, i.image_ref, i.sequence_number, i.status, i.message, i.tag_values, i.sop_instance_uid
                FROM box_outgoing_images i JOIN box_outgoing_transactions t ON t.id = i.transaction_ref
                WHERE i.id=? AND t.id=? AND t.box_ref=?
                """, [.integer(imageId), .integer(transactionId), .integer(boxId)]).first,
                  let t = try outgoingTransaction(id: transactionId, c) else { return nil }
            return Pending(transactionImage: OutgoingTransactionImage(transaction: t, image: Self.outgoingImage(r)), tagValues: r[6].string ?? "",
                           sopInstanceUID: r[7].string ?? "")
        }
    }

    /// WAITING transactions that images start moving for become PROCESSING.
    func processing(transactionIds: Set<Int64>) throws {
        guard !transactionIds.isEmpty else { return }
        let now = Self.now()
        try db.write { c in
            for id in transactionIds {
                try c.run("UPDATE box_outgoing_transactions SET status='PROCESSING', updated=? WHERE id=? AND status='WAITING'", [.integer(now), .integer(id)])
            }
        }
    }

    /// Records the outcome of a pending image (nothing when it is no longer pending: sent by a
    /// resend, or its transaction deleted) and settles its transaction. Returns the transaction's
    /// status after, nil when nothing changed.
    @discardableResult
    func record(outgoingImageId: Int64, sent: Bool, message: String = "") throws -> (transactionId: Int64, status: TransactionStatus)? {
        try outcomes.run((outgoingImageId, sent, message))
    }

    /// Outcomes of images moving in parallel, committed together (see `GroupCommit`). Made in
    /// `init`: a lazy property is not safe to initialise from two threads at once.
    private let outcomes: GroupCommit<(id: Int64, sent: Bool, message: String), (transactionId: Int64, status: TransactionStatus)?>

    private static func outcomesCommit(_ db: Database) -> GroupCommit<(id: Int64, sent: Bool, message: String), (transactionId: Int64, status: TransactionStatus)?> { GroupCommit { batch in
        let now = Self.now()
        return try db.write { c in
            try batch.map { e -> (transactionId: Int64, status: TransactionStatus)? in
                guard let t = try c.scalar("SELECT transaction_ref FROM box_outgoing_images WHERE id=? AND status='pending'", [.integer(e.id)]) else { return nil }
                try c.run("UPDATE box_outgoing_images SET status=?, message=?, attempts=attempts+1, updated=? WHERE id=?",
                          [.text(e.sent ? "sent" : "failed"), .text(String(e.message.prefix(2000))), .integer(now), .integer(e.id)])
                if !e.sent {
                    try c.run("UPDATE box_outgoing_transactions SET last_error=? WHERE id=?", [.text(String(e.message.prefix(2000))), .integer(t)])
                }
                return (t, try Self.settle(transactionId: t, now: now, c))
            }
        }
    } }

    /// The status the images' states give: FAILED once one failed, FINISHED when all were sent,
    /// PROCESSING while some still go after `progress` (otherwise the status stays, e.g. WAITING).
    @discardableResult
    static func settle(transactionId t: Int64, now: Int64, progress: Bool = true, _ c: SQLiteConnection) throws -> TransactionStatus {
        let r = try c.query("""
            SELECT SUM(i.status='pending'), SUM(i.status='failed'), t.status
            FROM box_outgoing_transactions t LEFT JOIN box_outgoing_images i ON i.transaction_ref = t.id WHERE t.id=?
            """, [.integer(t)]).first
        let (pending, failed) = (r?[0].int ?? 0, r?[1].int ?? 0)
        let current = TransactionStatus(rawValue: r?[2].string ?? "") ?? .WAITING
        let status: TransactionStatus = failed > 0 ? .FAILED : pending == 0 ? .FINISHED : progress ? .PROCESSING : current
        try c.run("UPDATE box_outgoing_transactions SET status=?, updated=? WHERE id=?", [.text(status.rawValue), .integer(now), .integer(t)])
        return status
    }

    /// Removes an outgoing transaction; returns its images' ids.
    func deleteOutgoing(id: Int64) throws -> [Int64] {
        try db.write { c in
            let images = try c.query("SELECT id FROM box_outgoing_images WHERE transaction_ref=?", [.integer(id)]).compactMap { $0[0].int }
            try c.run("DELETE FROM box_outgoing_transactions WHERE id=?", [.integer(id)])
            return images
        }
    }

    /// Failed images become pending again; returns their ids (nil for an unknown transaction).
    func retryOutgoing(id: Int64) throws -> [Int64]? {
        let now = Self.now()
        return try db.write { c -> [Int64]? in
            guard try c.scalar("SELECT 1 FROM box_outgoing_transactions WHERE id=?", [.integer(id)]) != nil else { return nil }
            let failed = try c.query("SELECT id FROM box_outgoing_images WHERE transaction_ref=? AND status='failed'", [.integer(id)]).compactMap { $0[0].int }
            try c.run("UPDATE box_outgoing_images SET status='pending', message='', updated=? WHERE transaction_ref=? AND status='failed'",
                      [.integer(now), .integer(id)])
            let pending = try c.scalar("SELECT COUNT(*) FROM box_outgoing_images WHERE transaction_ref=? AND status='pending'", [.integer(id)]) ?? 0
            if pending > 0 {
                try c.run("UPDATE box_outgoing_transactions SET status='WAITING', remote_status='', last_error='', updated=? WHERE id=?",
                          [.integer(now), .integer(id)])
            }
            return failed
        }
    }

    /// Final transactions of a PUSH box whose status the other node has not been told yet.
    func untold(boxId: Int64) throws -> [(id: Int64, status: TransactionStatus)] {
        try db.read { try $0.query("""
            SELECT id, status FROM box_outgoing_transactions WHERE box_ref=? AND status IN ('FINISHED','FAILED') AND remote_status <> status
            AND NOT EXISTS (SELECT 1 FROM box_outgoing_images i WHERE i.transaction_ref = box_outgoing_transactions.id AND i.status='pending')
            """, [.integer(boxId)]).map { ($0[0].int!, TransactionStatus(rawValue: $0[1].string ?? "") ?? .FINISHED) } }
    }

    func told(transactionId: Int64, status: TransactionStatus) throws {
        try db.write { try $0.run("UPDATE box_outgoing_transactions SET remote_status=? WHERE id=?", [.text(status.rawValue), .integer(transactionId)]) }
    }

    /// Pending images of deleted stored images that were not anonymized yet cannot be sent: their
    /// rows go (Slicebox removes a deleted image's box rows), and a transaction left empty goes too.
    func dropPending(imageIds: [Int64], keep: (Int64) -> Bool) throws -> [Int64] {
        let now = Self.now()
        return try db.write { c in
            var touched = Set<Int64>()
            var dropped: [Int64] = []
            for imageId in imageIds {
                for r in try c.query("SELECT id, transaction_ref FROM box_outgoing_images WHERE image_ref=? AND status='pending'", [.integer(imageId)]) {
                    guard let id = r[0].int, let t = r[1].int, !keep(id) else { continue }
                    try c.run("DELETE FROM box_outgoing_images WHERE id=?", [.integer(id)])
                    dropped.append(id)
                    touched.insert(t)
                }
            }
            for t in touched {
                if try c.scalar("SELECT COUNT(*) FROM box_outgoing_images WHERE transaction_ref=?", [.integer(t)]) == 0 {
                    try c.run("DELETE FROM box_outgoing_transactions WHERE id=?", [.integer(t)])
                } else {
                    try Self.settle(transactionId: t, now: now, progress: false, c)
                }
            }
            return dropped
        }
    }

    /// Ids of outgoing images that still need their anonymized copy (spool files of others go).
    func pendingImageIds() throws -> Set<Int64> {
        try db.read { Set(try $0.query("SELECT id FROM box_outgoing_images WHERE status='pending'").compactMap { $0[0].int }) }
    }

    // MARK: incoming

    private static let incomingSelect = """
        SELECT t.id, t.box_ref, b.name, t.outgoing_transaction_id, t.total_image_count, t.status, t.created, t.updated,
               (SELECT COUNT(*) FROM box_incoming_images i WHERE i.transaction_ref = t.id AND i.outcome <> 'rejected'),
               (SELECT COUNT(*) FROM box_incoming_images i WHERE i.transaction_ref = t.id AND i.outcome = 'added'),
               (SELECT COUNT(*) FROM box_incoming_images i WHERE i.transaction_ref = t.id AND i.outcome = 'rejected')
        FROM box_incoming_transactions t JOIN boxes b ON b.id = t.box_ref
        """

    private static func incoming(_ r: [SQLValue]) -> IncomingTransaction {
        IncomingTransaction(id: r[0].int!, boxId: r[1].int ?? -1, boxName: r[2].string ?? "", outgoingTransactionId: r[3].int ?? -1,
                            receivedImageCount: r[8].int ?? 0, totalImageCount: r[4].int ?? 0,
                            status: TransactionStatus(rawValue: r[5].string ?? "") ?? .WAITING, updated: r[7].int ?? 0,
                            addedImageCount: r[9].int ?? 0, rejectedImageCount: r[10].int ?? 0, created: r[6].int ?? 0)
    }

    func incomingTransactions(startIndex: Int, count: Int) throws -> [IncomingTransaction] {
        try db.read { try $0.query(Self.incomingSelect + " ORDER BY t.updated DESC, t.id DESC LIMIT ? OFFSET ?",
                                   [.integer(Int64(count)), .integer(Int64(startIndex))]).map(Self.incoming) }
    }

    func incomingTransaction(id: Int64) throws -> IncomingTransaction? {
        try db.read { try $0.query(Self.incomingSelect + " WHERE t.id=?", [.integer(id)]).first.map(Self.incoming) }
    }

    func incomingTransaction(boxId: Int64, outgoingTransactionId: Int64) throws -> IncomingTransaction? {
        try db.read { try $0.query(Self.incomingSelect + " WHERE t.box_ref=? AND t.outgoing_transaction_id=?",
                                   [.integer(boxId), .integer(outgoingTransactionId)]).first.map(Self.incoming) }
    }

    /// Stored images (id, SOP Instance UID) of an incoming transaction (nil when it does not exist).
    func incomingImages(transactionId: Int64) throws -> [(Int64, String)]? {
        try db.read { c in
            guard try c.scalar("SELECT 1 FROM box_incoming_transactions WHERE id=?", [.integer(transactionId)]) != nil else { return nil }
            return try c.query("""
                SELECT image_ref, sop_instance_uid FROM box_incoming_images WHERE transaction_ref=? AND image_ref IS NOT NULL ORDER BY sequence_number
                """, [.integer(transactionId)]).compactMap { r in r[0].int.map { ($0, r[1].string ?? "") } }
        }
    }

    /// Sent images (id, SOP Instance UID) of an outgoing transaction.
    func sentImages(transactionId: Int64) throws -> [(Int64, String)] {
        try db.read { try $0.query("""
            SELECT image_ref, sop_instance_uid FROM box_outgoing_images WHERE transaction_ref=? AND status='sent' ORDER BY sequence_number
            """, [.integer(transactionId)]).compactMap { r in r[0].int.map { ($0, r[1].string ?? "") } } }
    }

    /// Whether this image of that transaction is already stored here (a resend).
    func received(boxId: Int64, outgoingTransactionId: Int64, sequenceNumber: Int64) throws -> Bool {
        try db.read { try $0.scalar("""
            SELECT 1 FROM box_incoming_images i JOIN box_incoming_transactions t ON t.id = i.transaction_ref
            WHERE t.box_ref=? AND t.outgoing_transaction_id=? AND i.sequence_number=? AND i.outcome <> 'rejected'
            """, [.integer(boxId), .integer(outgoingTransactionId), .integer(sequenceNumber)]) != nil }
    }

    enum IncomingOutcome: String { case added, replaced, duplicate, rejected }

    /// Records one received image (a later success replaces an earlier refusal of the same
    /// sequence number) and settles the transaction, which is made on its first image. Images
    /// arriving in parallel are committed together.
    @discardableResult
    func recordIncoming(boxId: Int64, outgoingTransactionId: Int64, sequenceNumber: Int64, totalImageCount: Int64,
                        imageId: Int64?, sopInstanceUID: String = "", outcome: IncomingOutcome, message: String = "") throws -> TransactionStatus {
        try incoming.run(IncomingEntry(boxId: boxId, outgoingTransactionId: outgoingTransactionId, sequenceNumber: sequenceNumber,
                                       totalImageCount: totalImageCount, imageId: imageId, sopInstanceUID: sopInstanceUID, outcome: outcome,
                                       message: message))
    }

    struct IncomingEntry {
        var boxId, outgoingTransactionId, sequenceNumber, totalImageCount: Int64
        var imageId: Int64?
        var sopInstanceUID: String
        var outcome: IncomingOutcome
        var message: String
    }

    /// Incoming images recorded together (see `outcomes`).
    private let incoming: GroupCommit<IncomingEntry, TransactionStatus>

    private static func incomingCommit(_ db: Database) -> GroupCommit<IncomingEntry, TransactionStatus> {
        GroupCommit { batch in
            let now = Self.now()
            return try db.write { c in try batch.map { try Self.recordIncoming($0, now: now, c) } }
        }
    }

    private static func recordIncoming(_ e: IncomingEntry, now: Int64, _ c: SQLiteConnection) throws -> TransactionStatus {
        let t: Int64
        if let existing = try c.scalar("SELECT id FROM box_incoming_transactions WHERE box_ref=? AND outgoing_transaction_id=?",
                                       [.integer(e.boxId), .integer(e.outgoingTransactionId)]) {
            t = existing
            try c.run("UPDATE box_incoming_transactions SET total_image_count=? WHERE id=?", [.integer(e.totalImageCount), .integer(t)])
        } else {
            t = try c.run("""
                INSERT INTO box_incoming_transactions (box_ref, outgoing_transaction_id, total_image_count, status, created, updated)
                VALUES (?,?,?,'PROCESSING',?,?)
                """, [.integer(e.boxId), .integer(e.outgoingTransactionId), .integer(e.totalImageCount), .integer(now), .integer(now)])
        }
        let earlier = try c.query("SELECT outcome FROM box_incoming_images WHERE transaction_ref=? AND sequence_number=?",
                                  [.integer(t), .integer(e.sequenceNumber)]).first?[0].string
        if earlier == nil || earlier == IncomingOutcome.rejected.rawValue {
            try c.run("""
                INSERT OR REPLACE INTO box_incoming_images (transaction_ref, sequence_number, image_ref, sop_instance_uid, outcome, message, received)
                VALUES (?,?,?,?,?,?,?)
                """, [.integer(t), .integer(e.sequenceNumber), SQLValue(e.imageId), .text(e.sopInstanceUID), .text(e.outcome.rawValue),
                      .text(String(e.message.prefix(2000))), .integer(now)])
        }
        return try settleIncoming(t, now: now, c)
    }

    /// FAILED once an image was refused, FINISHED when every image is here, else PROCESSING.
    private static func settleIncoming(_ t: Int64, now: Int64, _ c: SQLiteConnection) throws -> TransactionStatus {
        let r = try c.query("""
            SELECT t.total_image_count, SUM(i.outcome <> 'rejected'), SUM(i.outcome = 'rejected')
            FROM box_incoming_transactions t LEFT JOIN box_incoming_images i ON i.transaction_ref = t.id WHERE t.id=?
            """, [.integer(t)]).first
        let (total, received, rejected) = (r?[0].int ?? 0, r?[1].int ?? 0, r?[2].int ?? 0)
        let status: TransactionStatus = rejected > 0 ? .FAILED : received >= total ? .FINISHED : .PROCESSING
        try c.run("UPDATE box_incoming_transactions SET status=?, updated=? WHERE id=?", [.text(status.rawValue), .integer(now), .integer(t)])
        return status
    }

    func incomingStatus(boxId: Int64, outgoingTransactionId: Int64) throws -> TransactionStatus? {
        try db.read { try $0.query("SELECT status FROM box_incoming_transactions WHERE box_ref=? AND outgoing_transaction_id=?",
                                   [.integer(boxId), .integer(outgoingTransactionId)]).first?[0].string.flatMap(TransactionStatus.init(rawValue:)) }
    }

    /// The sender's word on a transaction (Slicebox `PUT status`); false when it is unknown here.
    func setIncomingStatus(boxId: Int64, outgoingTransactionId: Int64, status: TransactionStatus) throws -> Bool {
        try db.write { c in
            try c.run("UPDATE box_incoming_transactions SET status=?, updated=? WHERE box_ref=? AND outgoing_transaction_id=?",
                      [.text(status.rawValue), .integer(Self.now()), .integer(boxId), .integer(outgoingTransactionId)])
            return c.changes > 0
        }
    }

    func deleteIncoming(id: Int64) throws {
        try db.write { try $0.run("DELETE FROM box_incoming_transactions WHERE id=?", [.integer(id)]) }
    }

    // MARK: upkeep

    /// PROCESSING transactions without progress for `idleSeconds` go back to WAITING (Slicebox).
    func idle(now: Int64) throws {
        let before = now - Int64(settings.idleSeconds * 1000)
        try db.write { c in
            try c.run("UPDATE box_outgoing_transactions SET status='WAITING' WHERE status='PROCESSING' AND updated < ?", [.integer(before)])
            try c.run("UPDATE box_incoming_transactions SET status='WAITING' WHERE status='PROCESSING' AND updated < ?", [.integer(before)])
        }
    }
}
