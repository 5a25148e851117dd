import Foundation
import DicomNet

/// Forwarding rules at work (Slicebox "Forwarding", seed 003 `/forwarding/rules`, `/destinations`).
///
/// - **Collect.** Each image stored from a rule's source joins the rule's open transaction for its
///   series, once. Transactions are per rule *and series* (Slicebox: per rule): a series is what a
///   modality sends in one go and what a PACS files together, so each is sent as soon as it is
///   complete instead of waiting for the whole study to go quiet; its progress is listed on its own;
///   and a series the destination refuses does not hold back the others.
/// - **Send.** A transaction idle for `idleSeconds` (or holding `maxImagesPerTransaction`) is sent
///   over one association, at most one at a time per destination. Each image's outcome is recorded
///   as it comes: accepted (success or warning) → delivered; refused with a C-STORE failure status →
///   failed, not offered again; deferred (out of resources) → offered again, a few times. An
///   unreachable destination or a broken association leaves the rest pending, retried after
///   `retryBaseSeconds` doubling up to `retryMaxSeconds`, for as long as the rule exists.
/// - **Never lost.** Rules, transactions and each image's state are in the index. At start-up,
///   transactions caught sending go back to pending and are sent again (a re-sent instance is the
///   same SOP Instance UID: a PACS keeps one copy), and images stored whose event was lost in a
///   crash are taken in from the index.
/// - **Deleting after delivery** (rules with keepImages false), decided per image, not per source as
///   Slicebox does (whose one stuck transaction blocks every deletion of its source, issue #317):
///   an image is deleted once every transaction holding it, of every rule, has delivered it, and no
///   rule holding it keeps images (a rule asking to keep wins; in Slicebox delete wins). A transaction still retrying holds back only its own images and
///   only until they are delivered; one with refused images holds back only those (kept for a look
///   and a `retryTransaction`) until it is retried or removed. Everything else is deleted at once.
public final class ForwardingService: IngestObserver, @unchecked Sendable {
    public let ingest: Ingest
    let db: Database
    let log: NetLogger

    private let lock = NSLock()
    private var _settings: ForwardingSettings
    private var senders: [DestinationType: ForwardingSender] = [:]
    private var running = false
    /// Set when `stop` gave up waiting for a send: from then on this instance changes nothing,
    /// as if its process had died (the next start takes over).
    private var fenced = false
    private var inFlight: [Int64: (destination: String, cancellation: ForwardingCancellation)] = [:]
    private var timer: DispatchSourceTimer?
    private var lastPrune = Date.distantPast
    private let workers = DispatchGroup()
    private let queue = DispatchQueue(label: "forwarding")
    /// Serialises every change to transactions with the deletion of delivered images, so an image
    /// taken into a new transaction is never deleted for an old one.
    private let stateLock = NSLock()

    public init(ingest: Ingest, log: NetLogger? = nil, settings: ForwardingSettings = ForwardingSettings()) {
        self.ingest = ingest
        db = ingest.index.db
        self.log = log ?? ingest.log
        _settings = settings
        ingest.add(observer: self)
    }

    public var settings: ForwardingSettings {
        get { lock.lock(); defer { lock.unlock() }; return _settings }
        set { lock.lock(); _settings = newValue; lock.unlock() }
    }

    /// Registers the sender of one destination type (the last registered wins).
    public func register(sender: ForwardingSender) {
        lock.lock(); senders[sender.destinationType] = sender; lock.unlock()
    }

    func sender(for type: DestinationType) -> ForwardingSender? {
        lock.lock(); defer { lock.unlock() }
        return senders[type]
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: rules

    /// Every destination the registered senders know (seed 003 `GET /destinations`).
    public func destinations() throws -> [Destination] {
        lock.lock(); let all = senders.values.sorted { $0.destinationType.rawValue < $1.destinationType.rawValue }; lock.unlock()
        return try all.flatMap { try $0.destinations() }
    }

    /// Adds a rule (seed 003 `POST /forwarding/rules`; its id is ignored). The same source and
    /// destination again returns the existing rule unchanged, its keepImages included (as Slicebox).
    /// The destination must exist; its name is taken from it.
    public func addRule(_ rule: ForwardingRule) throws -> ForwardingRule {
        guard rule.source.type != .unknown else {
            throw NodeError.badRequest("a forwarding rule needs a source of type \(SourceType.allCases.filter { $0 != .unknown }.map(\.rawValue).joined(separator: ", "))")
        }
        let type = rule.destination.destinationType
        guard let sender = sender(for: type) else {
            throw NodeError.badRequest("cannot forward to \(type.rawValue) destinations: this node has no sender for them")
        }
        guard let destination = try sender.destinations().first(where: { $0.destinationId == rule.destination.destinationId }) else {
            throw NodeError.notFound("\(type.rawValue) destination \(rule.destination.destinationId)")
        }
        let now = Self.now()
        let (saved, added) = try db.write { c -> (ForwardingRule, Bool) in
            if let existing = try ForwardingSQL.rules(c, where: "source_type=? AND source_id=? AND destination_type=? AND destination_id=?",
                                                      [.text(rule.source.type.rawValue), .integer(rule.source.id),
                                                       .text(type.rawValue), .integer(destination.destinationId)]).first {
                return (existing, false)
            }
            let id = try c.run("""
                INSERT INTO forwarding_rules (source_type, source_name, source_id, destination_type, destination_name, destination_id,
                                              keep_images, created, last_seen) VALUES (?,?,?,?,?,?,?,?,?)
                """, [.text(rule.source.type.rawValue), .text(rule.source.name), .integer(rule.source.id), .text(type.rawValue),
                      .text(destination.destinationName), .integer(destination.destinationId), .integer(rule.keepImages ? 1 : 0),
                      .integer(now), .integer(now)])
            return (ForwardingRule(id: id, source: rule.source, destination: destination, keepImages: rule.keepImages), true)
        }
        if added {
            log.log(.info, "forwarding", "rule added", ["id": "\(saved.id)", "source": "\(saved.source.type.rawValue):\(saved.source.name)",
                                                        "destination": "\(type.rawValue):\(destination.destinationName)",
                                                        "keep_images": "\(saved.keepImages)"])
        }
        return saved
    }

    /// Rules in id order (seed 003 `GET /forwarding/rules`).
    public func rules(startIndex: Int = 0, count: Int = 20) throws -> [ForwardingRule] {
        try db.read { try $0.query(ForwardingSQL.ruleSelect + " ORDER BY id LIMIT ? OFFSET ?", [.integer(Int64(count)), .integer(Int64(startIndex))])
            .map(ForwardingSQL.rule) }
    }

    public func rule(id: Int64) throws -> ForwardingRule? {
        try db.read { try ForwardingSQL.rules($0, where: "id=?", [.integer(id)]).first }
    }

    /// Removes a rule and its transactions (seed 003 `DELETE /forwarding/rule/{id}`); a send under
    /// way stops after its current image. Unknown ids are ignored (204 as Slicebox).
    public func removeRule(id: Int64) throws {
        _ = try removeRules(where: "id=?", [.integer(id)])
    }

    /// Removes the rules of a source that is being deleted (a managed SCP, a box, a watched folder).
    @discardableResult
    public func removeRules(forSource type: SourceType, id: Int64) throws -> Int {
        try removeRules(where: "source_type=? AND source_id=?", [.text(type.rawValue), .integer(id)])
    }

    /// Removes the rules to a destination that is being deleted (a managed SCU, a box).
    @discardableResult
    public func removeRules(forDestination type: DestinationType, id: Int64) throws -> Int {
        try removeRules(where: "destination_type=? AND destination_id=?", [.text(type.rawValue), .integer(id)])
    }

    private func removeRules(where condition: String, _ parameters: [SQLValue]) throws -> Int {
        let rules = try db.read { try ForwardingSQL.rules($0, where: condition, parameters) }
        for rule in rules {
            try removeTransactions(where: "rule_ref=?", [.integer(rule.id)]) { c in
                try c.run("DELETE FROM forwarding_rules WHERE id=?", [.integer(rule.id)])
            }
            log.log(.info, "forwarding", "rule removed", ["id": "\(rule.id)", "source": "\(rule.source.type.rawValue):\(rule.source.name)",
                                                          "destination": "\(rule.destination.destinationType.rawValue):\(rule.destination.destinationName)"])
        }
        return rules.count
    }

    // MARK: transactions

    /// Transactions, most recently updated first, optionally of one status or rule.
    public func transactions(startIndex: Int = 0, count: Int = 20, status: ForwardingStatus? = nil, ruleId: Int64? = nil) throws -> [ForwardingTransaction] {
        var sql = ForwardingSQL.transactionSelect + " WHERE 1=1"
        var parameters: [SQLValue] = []
        if let status { sql += " AND t.status=?"; parameters.append(.text(status.rawValue)) }
        if let ruleId { sql += " AND t.rule_ref=?"; parameters.append(.integer(ruleId)) }
        sql += " ORDER BY t.updated DESC, t.id DESC LIMIT ? OFFSET ?"
        parameters += [.integer(Int64(count)), .integer(Int64(startIndex))]
        let s = settings
        return try db.read { try $0.query(sql, parameters).map { ForwardingSQL.transaction($0, settings: s) } }
    }

    public func transaction(id: Int64) throws -> ForwardingTransaction? {
        let s = settings
        return try db.read { try $0.query(ForwardingSQL.transactionSelect + " WHERE t.id=?", [.integer(id)]).first.map { ForwardingSQL.transaction($0, settings: s) } }
    }

    /// The images of a transaction and what became of each.
    public func transactionImages(id: Int64) throws -> [ForwardingTransactionImage] {
        try db.read { try $0.query("""
            SELECT transaction_ref, image_ref, sop_instance_uid, status, dimse_status, message, attempts, updated
            FROM forwarding_images WHERE transaction_ref=? ORDER BY image_ref
            """, [.integer(id)]).map(ForwardingSQL.transactionImage) }
    }

    /// Sends a failed or waiting transaction now: refused and deferred images are offered again,
    /// the back-off starts over.
    public func retryTransaction(id: Int64) throws {
        let now = Self.now()
        let changed = try locked { c -> Bool in
            guard let status = try c.query("SELECT status FROM forwarding_transactions WHERE id=?", [.integer(id)]).first?.first?.string else {
                throw NodeError.notFound("forwarding transaction \(id)")
            }
            guard status == ForwardingStatus.pending.rawValue || status == ForwardingStatus.failed.rawValue else { return false }
            try c.run("UPDATE forwarding_images SET status='pending', attempts=0, updated=? WHERE transaction_ref=? AND status='failed'",
                      [.integer(now), .integer(id)])
            try c.run("""
                UPDATE forwarding_transactions SET status='pending', attempts=0, next_attempt=0, last_added=0, finalized=0, updated=? WHERE id=?
                """, [.integer(now), .integer(id)])
            return true
        }
        if changed == true {
            log.log(.info, "forwarding", "transaction retried", ["id": "\(id)"])
            queue.async { self.tick() }
        }
    }

    /// Forgets a transaction (a send under way stops after its current image). Its images that
    /// other transactions have all delivered for keepImages-false rules are then deleted.
    public func removeTransaction(id: Int64) throws {
        try removeTransactions(where: "id=?", [.integer(id)]) { _ in }
    }

    private func removeTransactions(where condition: String, _ parameters: [SQLValue], also: (SQLiteConnection) throws -> Void) throws {
        let ids = try db.read { try $0.query("SELECT id FROM forwarding_transactions WHERE " + condition, parameters).compactMap { $0[0].int } }
        lock.lock()
        for id in ids { inFlight[id]?.cancellation.cancel() }
        lock.unlock()
        stateLock.lock(); defer { stateLock.unlock() }
        let images = try db.write { c -> [(Int64, String)] in
            var images: [(Int64, String)] = []
            for id in ids {
                images += try ForwardingSQL.images(ofTransaction: id, c)
                try c.run("DELETE FROM forwarding_transactions WHERE id=?", [.integer(id)])
            }
            try also(c)
            return images
        }
        try deleteDelivered(images)
    }

    // MARK: running

    /// Takes over what a previous run left (transactions caught sending, images whose event was
    /// lost, deletions not done), then sends due transactions every `pollSeconds`.
    public func start() throws {
        lock.lock()
        guard !running else { lock.unlock(); return }
        running = true
        fenced = false
        let s = _settings
        lock.unlock()
        let now = Self.now()
        try locked { c in
            try c.run("UPDATE forwarding_transactions SET status='pending', next_attempt=0, updated=? WHERE status='sending'", [.integer(now)])
            if c.changes > 0 { log.log(.warning, "forwarding", "resuming transactions that were sending when the node stopped", ["count": "\(c.changes)"]) }
            var missed = 0
            for rule in try ForwardingSQL.rules(c) {
                for m in try ForwardingSQL.missed(by: rule, c) {
                    missed += try ForwardingSQL.take(imageId: m.imageId, seriesId: m.seriesId, sopInstanceUID: m.sop, created: m.created,
                                                     ruleId: rule.id, now: now, maxImages: s.maxImagesPerTransaction, c) ? 1 : 0
                }
            }
            if missed > 0 { log.log(.warning, "forwarding", "took in images stored before a crash without being queued", ["count": "\(missed)"]) }
        }
        try finalizeLeftovers()
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now(), repeating: max(0.01, s.pollSeconds))
        t.setEventHandler { [weak self] in self?.tick() }
        lock.lock(); timer = t; lock.unlock()
        t.resume()
    }

    /// Stops sending. Sends under way end after their current image and go back to pending; one
    /// still busy after `waitSeconds` is abandoned as if the process had died (its transaction stays
    /// `sending` in the index and is resent by the next start).
    public func stop(waitSeconds: Double = 10) {
        ingest.drainEvents()
        lock.lock()
        guard running else { lock.unlock(); return }
        running = false
        timer?.cancel()
        timer = nil
        for f in inFlight.values { f.cancellation.cancel() }
        lock.unlock()
        queue.sync {}  // a tick under way has dispatched its sends
        if workers.wait(timeout: .now() + max(0, waitSeconds)) == .timedOut {
            stateLock.lock(); fenced = true; stateLock.unlock()
            log.log(.warning, "forwarding", "stopped with sends still under way; they are resent at the next start", [:])
        }
    }

    /// Runs `body` in one write transaction under the state lock; nil once fenced.
    @discardableResult
    private func locked<T>(_ body: (SQLiteConnection) throws -> T) throws -> T? {
        stateLock.lock(); defer { stateLock.unlock() }
        guard !fenced else { return nil }
        return try db.write(body)
    }

    private func tick() {
        lock.lock()
        guard running else { lock.unlock(); return }
        let s = _settings
        lock.unlock()
        let now = Self.now()
        do {
            let due = try db.read { try ForwardingSQL.due(now: now, idleMs: Int64(s.idleSeconds * 1000), maxImages: s.maxImagesPerTransaction, $0) }
            for (id, rule) in due { try dispatch(id, rule) }
            if Date().timeIntervalSince(lastPrune) > 60 {
                lastPrune = Date()
                try locked { try $0.run("DELETE FROM forwarding_transactions WHERE status='delivered' AND finalized=1 AND updated < ?",
                                        [.integer(now - Int64(s.keepDeliveredSeconds * 1000))]) }
            }
        } catch {
            log.log(.error, "forwarding", "cannot read due transactions", ["error": "\(error)"])
        }
    }

    /// Marks a due transaction sending and sends it on a worker, unless its destination is busy.
    private func dispatch(_ id: Int64, _ rule: ForwardingRule) throws {
        let key = "\(rule.destination.destinationType.rawValue):\(rule.destination.destinationId)"
        let token = ForwardingCancellation()
        lock.lock()
        guard running, inFlight[id] == nil, !inFlight.values.contains(where: { $0.destination == key }) else { lock.unlock(); return }
        inFlight[id] = (key, token)
        lock.unlock()
        let now = Self.now()
        let marked = try locked { c -> Bool in
            try c.run("UPDATE forwarding_transactions SET status='sending', attempts=attempts+1, updated=? WHERE id=? AND status='pending'",
                      [.integer(now), .integer(id)])
            return c.changes > 0
        }
        guard marked == true else {
            lock.lock(); inFlight[id] = nil; lock.unlock()
            return
        }
        workers.enter()
        DispatchQueue.global().async {
            self.send(id, rule, token)
            self.lock.lock(); self.inFlight[id] = nil; self.lock.unlock()
            self.workers.leave()
            self.queue.async { self.tick() }
        }
    }

    private func send(_ id: Int64, _ rule: ForwardingRule, _ token: ForwardingCancellation) {
        let s = settings
        let type = rule.destination.destinationType
        var failure: Error?
        do {
            let entries = try db.read { try ForwardingSQL.pendingImages(transactionId: id, $0) }
            // Deleted (or replaced by another instance) since it was taken in: nothing to send.
            let gone = entries.filter { $0.stored == nil }
            if !gone.isEmpty {
                try locked { c in for g in gone { try c.run("DELETE FROM forwarding_images WHERE transaction_ref=? AND image_ref=?", [.integer(id), .integer(g.imageId)]) } }
            }
            let images = entries.compactMap { e in e.stored.map {
                ForwardingImage(imageId: e.imageId, sopInstanceUID: e.sop, sopClassUID: $0.sopClassUID, transferSyntaxUID: $0.transferSyntaxUID,
                                path: ingest.store.readablePath(forKey: $0.storageKey) ?? ingest.store.finalPath(forKey: $0.storageKey))
            } }
            if !images.isEmpty {
                guard let sender = sender(for: type) else {
                    throw NodeError.unsupported("no sender for \(type.rawValue) destinations is registered")
                }
                try sender.send(images, to: rule.destination.destinationId, cancellation: token) { image, result in
                    do {
                        try locked { try ForwardingSQL.record(transactionId: id, imageId: image.imageId, result: result, maxDeferrals: s.maxDeferrals,
                                                              now: Self.now(), $0) }
                    } catch {
                        log.log(.error, "forwarding", "cannot record an image's outcome", ["transaction": "\(id)", "error": "\(error)"])
                    }
                    if case .refused(_, let reason) = result {
                        log.log(.warning, "forwarding", "image refused", ["transaction": "\(id)", "sop": image.sopInstanceUID,
                                                                          "destination": rule.destination.destinationName, "reason": reason])
                    }
                }
            }
        } catch {
            failure = error
        }
        do { try finish(id, rule, failure: failure, cancelled: token.isCancelled, settings: s) } catch {
            log.log(.error, "forwarding", "cannot record a transaction's outcome", ["transaction": "\(id)", "error": "\(error)"])
        }
    }

    /// After an attempt: delivered or failed when every image has an outcome (then delivered images
    /// may be deleted), else pending again — at once after a stop, after the back-off otherwise.
    private func finish(_ id: Int64, _ rule: ForwardingRule, failure: Error?, cancelled: Bool, settings s: ForwardingSettings) throws {
        let now = Self.now()
        stateLock.lock(); defer { stateLock.unlock() }
        guard !fenced else { return }
        let destination = "\(rule.destination.destinationType.rawValue):\(rule.destination.destinationName)"
        let final = try db.write { c -> Bool in
            guard let attempts = try c.scalar("SELECT attempts FROM forwarding_transactions WHERE id=?", [.integer(id)]) else { return false }
            let n = try ForwardingSQL.counts(transactionId: id, c)
            if n.total == 0 {
                try c.run("DELETE FROM forwarding_transactions WHERE id=?", [.integer(id)])
                return false
            }
            if n.pending == 0 {
                var error = ""
                if n.failed > 0 {
                    let first = try c.query("SELECT sop_instance_uid, message FROM forwarding_images WHERE transaction_ref=? AND status='failed' ORDER BY updated LIMIT 1",
                                            [.integer(id)]).first
                    error = "\(n.failed) of \(n.total) images refused; \(first?[0].string ?? ""): \(first?[1].string ?? "")"
                }
                try c.run("UPDATE forwarding_transactions SET status=?, last_error=?, next_attempt=0, updated=? WHERE id=?",
                          [.text(n.failed > 0 ? "failed" : "delivered"), .text(error), .integer(now), .integer(id)])
                log.log(n.failed > 0 ? .warning : .info, "forwarding", n.failed > 0 ? "transaction failed" : "transaction delivered",
                        ["transaction": "\(id)", "destination": destination, "sent": "\(n.delivered)", "failed": "\(n.failed)", "attempts": "\(attempts)"])
                return true
            }
            if cancelled && failure == nil {
                try c.run("UPDATE forwarding_transactions SET status='pending', next_attempt=0, updated=? WHERE id=?", [.integer(now), .integer(id)])
                return false
            }
            let delay = s.backoff(afterAttempts: Int(attempts))
            let message: String
            if let failure {
                message = "\(failure)"
            } else {
                let deferred = try c.query("SELECT message FROM forwarding_images WHERE transaction_ref=? AND status='pending' AND message<>'' LIMIT 1",
                                           [.integer(id)]).first?.first?.string ?? "not sent"
                message = "\(n.pending) of \(n.total) images deferred: \(deferred)"
            }
            try c.run("UPDATE forwarding_transactions SET status='pending', last_error=?, next_attempt=?, updated=? WHERE id=?",
                      [.text(message), .integer(now + Int64(delay * 1000)), .integer(now), .integer(id)])
            log.log(.warning, "forwarding", "send failed; will retry", ["transaction": "\(id)", "destination": destination, "attempts": "\(attempts)",
                                                                        "retry_in_s": "\(delay)", "error": message])
            return false
        }
        if final { try finalize([id]) }
    }

    /// Final transactions whose deletions did not happen (the node stopped in between).
    private func finalizeLeftovers() throws {
        stateLock.lock(); defer { stateLock.unlock() }
        let ids = try db.read { try $0.query("SELECT id FROM forwarding_transactions WHERE status IN ('delivered','failed') AND finalized=0").compactMap { $0[0].int } }
        try finalize(ids)
    }

    /// Deletes what the final transactions `ids` allow, then marks them done. Holds `stateLock`.
    private func finalize(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        let images = try db.read { c in try ids.flatMap { try ForwardingSQL.images(ofTransaction: $0, c) } }
        try deleteDelivered(images)
        try db.write { c in for id in ids { try c.run("UPDATE forwarding_transactions SET finalized=1 WHERE id=?", [.integer(id)]) } }
    }

    /// Deletes those of `images` that `ForwardingSQL.deletable` allows. Holds `stateLock`.
    private func deleteDelivered(_ images: [(Int64, String)]) throws {
        guard !images.isEmpty else { return }
        var seen = Set<Int64>()
        let unique = images.filter { seen.insert($0.0).inserted }
        let ids = try db.read { try ForwardingSQL.deletable(unique, $0) }
        guard !ids.isEmpty else { return }
        let deleted = try ingest.delete(imageIds: ids)
        log.log(.info, "forwarding", "deleted forwarded images (keepImages false)", ["images": "\(deleted)"])
    }

    // MARK: events

    public func ingest(_ event: IngestEvent) {
        do {
            switch event {
            case let .imageAdded(imageId, seriesId, source, _):
                // A read first: most images match no rule and cost no write.
                guard try !db.read({ try ForwardingSQL.rules(matching: source, $0) }).isEmpty else { return }
                let s = settings
                stateLock.lock(); defer { stateLock.unlock() }
                try db.write { c in
                    guard let image = try c.query("SELECT sop_instance_uid, created FROM images WHERE id=?", [.integer(imageId)]).first else { return }
                    let now = Self.now()
                    for rule in try ForwardingSQL.rules(matching: source, c) {
                        try ForwardingSQL.take(imageId: imageId, seriesId: seriesId, sopInstanceUID: image[0].string ?? "", created: image[1].int ?? now,
                                               ruleId: rule.id, now: now, maxImages: s.maxImagesPerTransaction, c)
                    }
                }
            case .imagesDeleted(let ids):
                // Images deleted before they were sent leave their transactions; a transaction
                // left with nothing to send is closed (and one left empty forgotten).
                stateLock.lock(); defer { stateLock.unlock() }
                let now = Self.now()
                let closed = try db.write { c -> [Int64] in
                    var touched = Set<Int64>()
                    for id in ids {
                        let rows = try c.query("""
                            SELECT i.transaction_ref FROM forwarding_images i JOIN forwarding_transactions t ON t.id = i.transaction_ref
                            WHERE i.image_ref=? AND i.status='pending' AND t.status='pending'
                            """, [.integer(id)])
                        for r in rows {
                            try c.run("DELETE FROM forwarding_images WHERE transaction_ref=? AND image_ref=?", [r[0], .integer(id)])
                            touched.insert(r[0].int!)
                        }
                    }
                    var closed: [Int64] = []
                    for t in touched.sorted() {
                        let n = try ForwardingSQL.counts(transactionId: t, c)
                        if n.total == 0 {
                            try c.run("DELETE FROM forwarding_transactions WHERE id=?", [.integer(t)])
                        } else if n.pending == 0 {
                            try c.run("UPDATE forwarding_transactions SET status=?, next_attempt=0, updated=? WHERE id=?",
                                      [.text(n.failed > 0 ? "failed" : "delivered"), .integer(now), .integer(t)])
                            closed.append(t)
                        }
                    }
                    return closed
                }
                try finalize(closed)
            }
        } catch {
            log.log(.error, "forwarding", "cannot record an image for forwarding", ["event": "\(event)", "error": "\(error)"])
        }
    }
}
