import Foundation
import DicomNet

/// Import sessions (seed 003 `/import/sessions`): named upload batches per user, each counting
/// what its uploads did. Uploads go through `Ingest` with the session as their source, so tag
/// filters, anonymization reversal and forwarding rules of `import` sources apply.
public final class ImportSessions: @unchecked Sendable {
    public let ingest: Ingest
    let log: NetLogger

    public init(ingest: Ingest, log: NetLogger) {
        self.ingest = ingest
        self.log = log
    }

    private var db: Database { ingest.index.db }
    private static let columns = "id, name, user_id, user, files_imported, files_added, files_rejected, created, last_updated"

    private static func session(_ r: [SQLValue]) -> ImportSession {
        ImportSession(id: r[0].int!, name: r[1].string ?? "", userId: r[2].int ?? -1, user: r[3].string ?? "",
                      filesImported: Int(r[4].int ?? 0), filesAdded: Int(r[5].int ?? 0), filesRejected: Int(r[6].int ?? 0),
                      created: r[7].int ?? 0, lastUpdated: r[8].int ?? 0)
    }

    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Creates a session for the calling user. A session of that name already belonging to the same
    /// user is returned as it is; one belonging to another user is an error (as Slicebox).
    public func create(name: String, userId: Int64, user: String) throws -> ImportSession {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw NodeError.badRequest("an import session needs a name") }
        return try db.write { c in
            if let row = try c.query("SELECT \(Self.columns) FROM import_sessions WHERE name=?", [.text(name)]).first {
                let existing = Self.session(row)
                guard existing.userId == userId else {
                    throw NodeError.badRequest("an import session named '\(name)' already exists for another user")
                }
                return existing
            }
            let now = Self.now()
            let id = try c.run("INSERT INTO import_sessions (name, user_id, user, created, last_updated) VALUES (?,?,?,?,?)",
                               [.text(name), .integer(userId), .text(user), .integer(now), .integer(now)])
            log.log(.info, "import", "session created", ["name": name, "user": user, "id": "\(id)"])
            return ImportSession(id: id, name: name, userId: userId, user: user, filesImported: 0, filesAdded: 0, filesRejected: 0,
                                 created: now, lastUpdated: now)
        }
    }

    /// Sessions in id order (seed 003 `GET /import/sessions`).
    public func list(startIndex: Int = 0, count: Int = 20) throws -> [ImportSession] {
        guard startIndex >= 0, count >= 0 else { throw NodeError.badRequest("startindex and count must not be negative") }
        return try db.read { c in
            try c.query("SELECT \(Self.columns) FROM import_sessions ORDER BY id LIMIT ? OFFSET ?",
                        [.integer(Int64(count)), .integer(Int64(startIndex))]).map(Self.session)
        }
    }

    /// One session; `notFound` when there is none (HTTP 404).
    public func session(id: Int64) throws -> ImportSession {
        let row = try db.read { try $0.query("SELECT \(Self.columns) FROM import_sessions WHERE id=?", [.integer(id)]).first }
        guard let row else { throw NodeError.notFound("import session \(id)") }
        return Self.session(row)
    }

    /// Deletes a session (its images stay in the store); an unknown id is not an error, as Slicebox.
    public func delete(id: Int64) throws {
        let removed = try db.write { c -> Bool in
            try c.run("DELETE FROM import_sessions WHERE id=?", [.integer(id)])
            return c.changes > 0
        }
        if removed { log.log(.info, "import", "session deleted", ["id": "\(id)"]) }
    }

    /// Stores one uploaded file through the session and counts it: new → imported and added +1;
    /// already stored → imported +1; refused → rejected +1. Throws `notFound` for an unknown session
    /// (nothing stored); a refused file is an outcome, not a throw, so the route can answer with the reason.
    public func addImage(sessionId: Int64, bytes: [UInt8]) throws -> ImportOutcome {
        try addImage(sessionId: sessionId, size: "\(bytes.count)") { try ingest.store(bytes: bytes, source: $0) }
    }

    /// The same for an upload streamed to disk as it arrives (`Ingest.store(writing:)`). An error
    /// thrown by `write` itself that is not a `NodeError` (the client went away) is rethrown and
    /// not counted: no file was received.
    public func addImage(sessionId: Int64, writing write: (IncomingFile) throws -> Void) throws -> ImportOutcome {
        try addImage(sessionId: sessionId, size: "streamed") { try ingest.store(writing: write, source: $0) }
    }

    private func addImage(sessionId: Int64, size: String, store: (Source) throws -> Ingest.Result) throws -> ImportOutcome {
        let session = try session(id: sessionId)
        let outcome: ImportOutcome
        do {
            let result = try store(session.source)
            guard let image = try ingest.index.storedImage(id: result.outcome.imageId)?.image else {
                throw NodeError.notFound("image \(result.outcome.imageId) was deleted while it was being imported")
            }
            outcome = result.outcome.added ? .added(image) : .alreadyStored(image)
        } catch let e as NodeError {
            outcome = .rejected(e)
            log.log(.warning, "import", "file rejected: \(e)", ["session": session.name, "id": "\(session.id)", "bytes": size])
        }
        try count(outcome, sessionId: sessionId)
        return outcome
    }

    private func count(_ outcome: ImportOutcome, sessionId: Int64) throws {
        let (imported, added, rejected): (Int64, Int64, Int64)
        switch outcome {
        case .added: (imported, added, rejected) = (1, 1, 0)
        case .alreadyStored: (imported, added, rejected) = (1, 0, 0)
        case .rejected: (imported, added, rejected) = (0, 0, 1)
        }
        try db.write { c in
            try c.run("""
                UPDATE import_sessions SET files_imported = files_imported + ?, files_added = files_added + ?,
                    files_rejected = files_rejected + ?, last_updated = ? WHERE id = ?
                """, [.integer(imported), .integer(added), .integer(rejected), .integer(Self.now()), .integer(sessionId)])
            // The session may have been deleted meanwhile; the image may have been too.
            if c.changes > 0, let image = outcome.image {
                try c.run("""
                    INSERT OR IGNORE INTO import_session_images (session_ref, image_ref)
                    SELECT ?, id FROM images WHERE id = ?
                    """, [.integer(sessionId), .integer(image.id)])
            }
        }
    }

    /// The stored images uploaded through a session, in id order (seed 003 `GET /import/sessions/{id}/images`).
    public func images(sessionId: Int64) throws -> [Image] {
        _ = try session(id: sessionId)
        return try db.read { c in
            try c.query("""
                SELECT i.id, i.series_ref, i.sop_instance_uid, i.image_type, i.instance_number
                FROM import_session_images s JOIN images i ON i.id = s.image_ref WHERE s.session_ref = ? ORDER BY i.id
                """, [.integer(sessionId)]).map {
                Image(id: $0[0].int!, seriesId: $0[1].int!, sopInstanceUID: $0[2].string ?? "", imageType: $0[3].string ?? "",
                      instanceNumber: $0[4].string ?? "")
            }
        }
    }
}
