import Foundation
import Codec

/// A minimal modality-session registry, so that seed 002 `POST /images/modality` references
/// something real. A session names a modality by the AE title it sends with; it starts when
/// created and ends when ended. The images acquired in it are read from the node's index:
///
/// an image is acquired in session S when it is stored in the node, arrived over C-STORE (any of
/// the node's SCPs), was stored between S's start and end (or now), its File Meta Source
/// Application Entity Title (0002,0016) — which the node's SCP sets to the association's calling
/// AE title (PS3.10 7.1) — is S's AE title, and, when S names a modality, its series' Modality
/// (0008,0060) is that one. A modality has at most one active session at a time, so no image
/// belongs to two active sessions.
public final class ModalitySessions: @unchecked Sendable {
    let index: SQLiteIndex
    let store: FileStore
    let log: NodeLog

    public init(index: SQLiteIndex, store: FileStore, log: NodeLog) {
        self.index = index
        self.store = store
        self.log = log
    }

    static let columns = "id, ae_title, name, modality, started, ended"

    static func session(_ r: [SQLValue]) -> ModalitySession {
        let modality = r[3].string ?? ""
        return ModalitySession(id: r[0].string ?? "", aeTitle: r[1].string ?? "", name: r[2].string ?? "",
                               modality: modality.isEmpty ? nil : modality, startedOn: r[4].int ?? 0, endedOn: r[5].int)
    }

    /// Starts a session for the modality sending as `aeTitle`; 409 while it has an active one.
    public func create(aeTitle: String, name: String = "", modality: String? = nil) throws -> ModalitySession {
        let ae = aeTitle.trimmingCharacters(in: .whitespaces)
        try AETitle.validate(ae)
        let code = modality?.trimmingCharacters(in: .whitespaces) ?? ""
        // Modality is a CS value (PS3.5 6.2): at most 16 of A-Z, 0-9, space, underscore.
        guard code.count <= 16, code.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == " " || $0 == "_" }) else {
            throw NodeError.badRequest("modality must be a DICOM Modality code (0008,0060) such as DX or IO, not '\(modality ?? "")'")
        }
        guard name.count <= 256 else { throw NodeError.badRequest("name must be at most 256 characters") }
        let session = ModalitySession(id: UUID().uuidString.lowercased(), aeTitle: ae, name: name, modality: code.isEmpty ? nil : code,
                                      startedOn: Self.now(), endedOn: nil)
        try index.db.write { c in
            if let open = try c.query("SELECT id FROM modality_sessions WHERE ae_title = ? AND ended IS NULL", [.text(ae)]).first?.first?.string {
                throw NodeError.conflict("the modality \(ae) already has an active session (\(open)); end it first")
            }
            _ = try c.run("INSERT INTO modality_sessions (id, ae_title, name, modality, started, ended) VALUES (?,?,?,?,?,NULL)",
                          [.text(session.id), .text(ae), .text(name), .text(code), .integer(session.startedOn)])
        }
        log.log(.info, "modality", "session started", ["session": session.id, "ae": ae, "modality": code])
        return session
    }

    /// Every session, newest first; only the active ones with `activeOnly`.
    public func list(activeOnly: Bool = false) throws -> [ModalitySession] {
        try index.db.read { c in
            try c.query("SELECT \(Self.columns) FROM modality_sessions \(activeOnly ? "WHERE ended IS NULL" : "") ORDER BY started DESC, id")
                .map(Self.session)
        }
    }

    public func session(id: String) throws -> ModalitySession? {
        try index.db.read { try $0.query("SELECT \(Self.columns) FROM modality_sessions WHERE id = ?", [.text(id)]).first.map(Self.session) }
    }

    /// Ends a session (ending an ended one changes nothing). Resources made from it stop being
    /// served at once; `ImageResources.sweep` removes them.
    public func end(id: String) throws -> ModalitySession {
        let now = Self.now()
        let changed = try index.db.write { c -> Bool in
            _ = try c.run("UPDATE modality_sessions SET ended = ? WHERE id = ? AND ended IS NULL", [.integer(now), .text(id)])
            return c.changes > 0
        }
        guard let s = try session(id: id) else { throw NodeError.notFound("modality session \(id)") }
        if changed { log.log(.info, "modality", "session ended", ["session": id, "ae": s.aeTitle]) }
        return s
    }

    /// The images acquired in the session (see the type's comment), in order of arrival.
    public func acquiredImages(sessionId: String) throws -> [AcquiredImage] {
        guard let s = try session(id: sessionId) else { throw NodeError.notFound("modality session \(sessionId)") }
        return try acquired(in: s, imageId: nil)
    }

    /// The image if it was acquired in the session, else nil.
    public func acquiredImage(sessionId: String, imageId: Int64) throws -> AcquiredImage? {
        guard let s = try session(id: sessionId) else { return nil }
        return try acquired(in: s, imageId: imageId).first
    }

    private func acquired(in s: ModalitySession, imageId: Int64?) throws -> [AcquiredImage] {
        var sql = """
            SELECT i.id, i.sop_instance_uid, se.series_instance_uid, se.modality, se.station_name, i.created, i.storage_key, i.transfer_syntax_uid
            FROM images i JOIN series se ON se.id = i.series_ref
            WHERE i.source_type = ? AND i.created >= ?
            """
        var params: [SQLValue] = [.text(SourceType.scp.rawValue), .integer(s.startedOn)]
        if let ended = s.endedOn { sql += " AND i.created <= ?"; params.append(.integer(ended)) }
        if let m = s.modality { sql += " AND se.modality = ?"; params.append(.text(m)) }
        if let imageId { sql += " AND i.id = ?"; params.append(.integer(imageId)) }
        sql += " ORDER BY i.created, i.id"
        let rows = try index.db.read { try $0.query(sql, params) }
        return rows.compactMap { r -> AcquiredImage? in
            let key = r[6].string ?? ""
            guard callingAETitle(storageKey: key) == s.aeTitle else { return nil }
            return AcquiredImage(imageId: r[0].int ?? 0, sopInstanceUID: r[1].string ?? "", seriesInstanceUID: r[2].string ?? "",
                                 modality: r[3].string ?? "", stationName: r[4].string ?? "", acquiredOn: r[5].int ?? 0,
                                 storageKey: key, transferSyntaxUID: r[7].string ?? "")
        }
    }

    /// Source Application Entity Title (0002,0016) of a stored file: only the File Meta group is read.
    func callingAETitle(storageKey: String) -> String? {
        guard let path = store.readablePath(forKey: storageKey),
              let file = try? DicomFile.read(path: path, options: ReadOptions(stopBefore: Tag(group: 0x0008, element: 0x0000))) else { return nil }
        return file.meta.string(.sourceApplicationEntityTitle)?.trimmingCharacters(in: .whitespaces)
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
