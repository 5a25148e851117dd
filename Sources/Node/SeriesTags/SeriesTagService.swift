import Foundation

/// Seed 003 `seriestag`.
public struct SeriesTag: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    public init(id: Int64, name: String) { self.id = id; self.name = name }
}

/// Series tags (seed 003 `/metadata/seriestags…`, `/metadata/series/{id}/seriestags…`): named
/// labels put on series by users; the metadata queries filter on them (`seriesTagIds`).
public final class SeriesTagService: @unchecked Sendable {
    let db: Database

    public init(index: SQLiteIndex) { db = index.db }

    /// All tags, paged; `orderBy` is `id` or `name`; `filter` keeps names containing it (any case).
    public func seriesTags(startIndex: Int = 0, count: Int = 20, orderBy: String? = nil, ascending: Bool = true,
                           filter: String? = nil) throws -> [SeriesTag] {
        try Paging.check(startIndex: startIndex, count: count)
        var sql = "SELECT id, name FROM series_tags"
        var parameters: [SQLValue] = []
        if let filter, !filter.isEmpty {
            sql += " WHERE name LIKE ? ESCAPE '\\'"
            parameters.append(.text("%" + Self.escapeLike(filter) + "%"))
        }
        let column: String
        switch orderBy {
        case nil, "id": column = "id"
        case "name": column = "name"
        case let other?: throw NodeError.badRequest("Property \(other) does not exist")
        }
        sql += " ORDER BY \(column) \(ascending ? "ASC" : "DESC"), id LIMIT ? OFFSET ?"
        parameters += [.integer(Int64(count)), .integer(Int64(startIndex))]
        return try db.read { try $0.query(sql, parameters).map(Self.tag) }
    }

    public func seriesTag(id: Int64) throws -> SeriesTag? {
        try db.read { try $0.query("SELECT id, name FROM series_tags WHERE id = ?", [.integer(id)]).first.map(Self.tag) }
    }

    public func seriesTag(name: String) throws -> SeriesTag? {
        try db.read { try $0.query("SELECT id, name FROM series_tags WHERE name = ?", [.text(name)]).first.map(Self.tag) }
    }

    /// A new tag; a name already used is refused (seed 003 `POST /metadata/seriestags`, Slicebox: 400).
    public func createSeriesTag(name: String) throws -> SeriesTag {
        let name = try Self.validName(name)
        return try db.write { c in
            guard try c.scalar("SELECT count(*) FROM series_tags WHERE name = ?", [.text(name)]) == 0 else {
                throw NodeError.badRequest("a series tag named '\(name)' already exists")
            }
            return SeriesTag(id: try c.run("INSERT INTO series_tags (name) VALUES (?)", [.text(name)]), name: name)
        }
    }

    /// Renames a tag; the series carrying it keep it.
    public func updateSeriesTag(id: Int64, name: String) throws -> SeriesTag {
        let name = try Self.validName(name)
        return try db.write { c in
            guard try c.scalar("SELECT count(*) FROM series_tags WHERE id = ?", [.integer(id)]) == 1 else {
                throw NodeError.notFound("series tag \(id)")
            }
            guard try c.scalar("SELECT count(*) FROM series_tags WHERE name = ? AND id <> ?", [.text(name), .integer(id)]) == 0 else {
                throw NodeError.badRequest("a series tag named '\(name)' already exists")
            }
            try c.run("UPDATE series_tags SET name = ? WHERE id = ?", [.text(name), .integer(id)])
            return SeriesTag(id: id, name: name)
        }
    }

    /// Deletes a tag and unlinks it from every series; an unknown id is not an error.
    public func deleteSeriesTag(id: Int64) throws {
        try db.write { try $0.run("DELETE FROM series_tags WHERE id = ?", [.integer(id)]) }
    }

    /// The tags on a series.
    public func seriesTags(seriesId: Int64) throws -> [SeriesTag] {
        try db.read { c in
            try SeriesTypeService.requireSeries(seriesId, c)
            return try c.query("""
                SELECT t.id, t.name FROM series_series_tags sst JOIN series_tags t ON t.id = sst.series_tag_ref
                WHERE sst.series_ref = ? ORDER BY t.name, t.id
                """, [.integer(seriesId)]).map(Self.tag)
        }
    }

    /// Puts the tag named `name` on a series, creating the tag when no tag has that name
    /// (seed 003 `POST /metadata/series/{id}/seriestags`); tagging twice changes nothing.
    public func addSeriesTag(name: String, seriesId: Int64) throws -> SeriesTag {
        let name = try Self.validName(name)
        return try db.write { c in
            try SeriesTypeService.requireSeries(seriesId, c)
            let id = try c.scalar("SELECT id FROM series_tags WHERE name = ?", [.text(name)])
                ?? c.run("INSERT INTO series_tags (name) VALUES (?)", [.text(name)])
            try c.run("INSERT OR IGNORE INTO series_series_tags (series_ref, series_tag_ref) VALUES (?, ?)", [.integer(seriesId), .integer(id)])
            return SeriesTag(id: id, name: name)
        }
    }

    /// Takes a tag off a series (the tag itself stays); nothing happens when it was not on it.
    public func removeSeriesTag(id: Int64, seriesId: Int64) throws {
        try db.write { try $0.run("DELETE FROM series_series_tags WHERE series_ref = ? AND series_tag_ref = ?",
                                  [.integer(seriesId), .integer(id)]) }
    }

    static func tag(_ r: [SQLValue]) -> SeriesTag { SeriesTag(id: r[0].int!, name: r[1].string ?? "") }

    static func validName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw NodeError.badRequest("a series tag needs a name") }
        return trimmed
    }

    /// `%`, `_` and `\` as literal characters of a LIKE pattern (with ESCAPE '\').
    static func escapeLike(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }
}
