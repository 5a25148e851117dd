import Foundation

/// The image data feed (seed 000): batch UPSERT of image records and reading them back.
public final class FeedStore: @unchecked Sendable {
    let db: Database

    public init(index: SQLiteIndex) { db = index.db }

    /// Applies a batch in one transaction: all records or none. An analysis id already used by
    /// another image is refused (the batch is then not applied). Records with the same id later
    /// in the batch apply on top of earlier ones.
    public func upsert(_ patches: [FeedImagePatch], now: Date = Date()) throws -> FeedUpsertResult {
        let ms = Int64(now.timeIntervalSince1970 * 1000)
        var result = FeedUpsertResult(created: [], updated: [])
        try db.write { c in
            for (index, p) in patches.enumerated() {
                let existing = try c.scalar("SELECT id FROM feed_images WHERE image_id = ?", [.text(p.id)])
                let measured = FeedMRI.fields.filter { p.mri[$0] != nil }
                let imageRef: Int64
                if let existing {
                    var sets = ["donor_id = COALESCE(?, donor_id)", "scanning_date = COALESCE(?, scanning_date)",
                                "scanning_day = COALESCE(?, scanning_day)", "updated = ?"]
                    var values: [SQLValue] = [SQLValue(p.donorId), SQLValue(p.scanningDate), SQLValue(p.scanningDay), .integer(ms)]
                    // Column names come from the fixed list FeedMRI.fields, never from the request.
                    for f in measured { sets.append("\(f) = ?"); values.append(.real(p.mri[f]!)) }
                    try c.run("UPDATE feed_images SET \(sets.joined(separator: ", ")) WHERE id = ?", values + [.integer(existing)])
                    imageRef = existing
                    if !result.created.contains(p.id) && !result.updated.contains(p.id) { result.updated.append(p.id) }
                } else {
                    let columns = ["image_id", "donor_id", "scanning_date", "scanning_day", "created", "updated"] + measured
                    let values: [SQLValue] = [.text(p.id), SQLValue(p.donorId), SQLValue(p.scanningDate), SQLValue(p.scanningDay),
                                              .integer(ms), .integer(ms)] + measured.map { .real(p.mri[$0]!) }
                    imageRef = try c.run("INSERT INTO feed_images (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ",")))", values)
                    result.created.append(p.id)
                }
                guard let a = p.analysis else { continue }
                let analysisRef: Int64
                if let row = try c.query("SELECT id, image_ref FROM feed_analyses WHERE analysis_id = ?", [.text(a.id)]).first {
                    guard row[1].int == imageRef else {
                        let owner = try c.query("SELECT image_id FROM feed_images WHERE id = ?", [row[1]]).first?.first?.string ?? "?"
                        throw FeedFieldError(field: "[\(index)].analysis.id", message: "analysis '\(a.id)' belongs to image '\(owner)', not '\(p.id)'")
                    }
                    analysisRef = row[0].int!
                    try c.run("UPDATE feed_analyses SET type = COALESCE(?, type), updated = ? WHERE id = ?",
                              [SQLValue(a.type), .integer(ms), .integer(analysisRef)])
                } else {
                    analysisRef = try c.run("INSERT INTO feed_analyses (analysis_id, image_ref, type, created, updated) VALUES (?,?,?,?,?)",
                                            [.text(a.id), .integer(imageRef), SQLValue(a.type), .integer(ms), .integer(ms)])
                }
                for (kind, map) in [("parameter", a.parameters), ("feature", a.features)] {
                    for (name, value) in map {
                        try c.run("""
                            INSERT INTO feed_analysis_values (analysis_ref, kind, name, value) VALUES (?,?,?,?)
                            ON CONFLICT (analysis_ref, kind, name) DO UPDATE SET value = excluded.value
                            """, [.integer(analysisRef), .text(kind), .text(name), .text(try Self.encode(value))])
                    }
                }
                if !a.parameters.isEmpty || !a.features.isEmpty {
                    try c.run("UPDATE feed_images SET updated = ? WHERE id = ?", [.integer(ms), .integer(imageRef)])
                }
            }
        }
        return result
    }

    public func image(id: String) throws -> FeedImage? {
        try db.read { c in
            try c.query("SELECT \(Self.imageColumns) FROM feed_images WHERE image_id = ?", [.text(id)]).first.map { try Self.image($0, c) }
        }
    }

    /// Records in the order they were first received; `donorId` keeps one donor's.
    public func images(startIndex: Int = 0, count: Int = 20, donorId: String? = nil) throws -> (images: [FeedImage], total: Int) {
        try Paging.check(startIndex: startIndex, count: count)
        return try db.read { c in
            let filter = donorId == nil ? "" : " WHERE donor_id = ?"
            let parameters: [SQLValue] = donorId.map { [.text($0)] } ?? []
            let total = Int(try c.scalar("SELECT count(*) FROM feed_images" + filter, parameters) ?? 0)
            let rows = try c.query("SELECT \(Self.imageColumns) FROM feed_images\(filter) ORDER BY id LIMIT ? OFFSET ?",
                                   parameters + [.integer(Int64(count)), .integer(Int64(startIndex))])
            return (try rows.map { try Self.image($0, c) }, total)
        }
    }

    private static let imageColumns = (["id", "image_id", "donor_id", "scanning_date", "scanning_day", "created", "updated"] + FeedMRI.fields)
        .joined(separator: ", ")

    private static func image(_ r: [SQLValue], _ c: SQLiteConnection) throws -> FeedImage {
        var mri: [String: Double] = [:]
        for (i, f) in FeedMRI.fields.enumerated() {
            switch r[7 + i] {
            case .real(let d): mri[f] = d
            case .integer(let v): mri[f] = Double(v)
            default: break
            }
        }
        let analyses = try c.query("SELECT id, analysis_id, type, created, updated FROM feed_analyses WHERE image_ref = ? ORDER BY id", [r[0]])
            .map { a -> FeedAnalysis in
                var parameters: [String: FeedValue] = [:], features: [String: FeedValue] = [:]
                for v in try c.query("SELECT kind, name, value FROM feed_analysis_values WHERE analysis_ref = ?", [a[0]]) {
                    let value = try decode(v[2].string ?? "null")
                    if v[0].string == "parameter" { parameters[v[1].string ?? ""] = value } else { features[v[1].string ?? ""] = value }
                }
                return FeedAnalysis(id: a[1].string ?? "", type: a[2].string, parameters: parameters, features: features,
                                    created: a[3].int ?? 0, updated: a[4].int ?? 0)
            }
        return FeedImage(id: r[1].string ?? "", donor_id: r[2].string, scanning_date: r[3].string, scanning_day: r[4].int,
                         mri_image: mri, analyses: analyses, created: r[5].int ?? 0, updated: r[6].int ?? 0)
    }

    static func encode(_ v: FeedValue) throws -> String {
        // A one-element array keeps top-level fragments valid for every JSON reader.
        String(decoding: try JSONEncoder().encode([v]), as: UTF8.self)
    }

    static func decode(_ s: String) throws -> FeedValue {
        guard let v = try JSONDecoder().decode([FeedValue].self, from: Data(s.utf8)).first else {
            throw NodeError.storage("a stored feed value is malformed: \(s)")
        }
        return v
    }
}
