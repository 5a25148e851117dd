import Foundation
import Codec
import DicomNet

/// Tag filters (seed 003 `/filtering/filters…`, `/filtering/associations…`) and their application
/// to every image arriving from an associated source, before it is stored (an `IngestTransform`).
/// The filters of each source are held in memory, rebuilt after every change, so `applies(to:)`
/// is a dictionary lookup.
public final class TagFilterService: IngestTransform, @unchecked Sendable {
    let db: Database
    let log: NetLogger
    private let lock = NSLock()
    /// Serialises change + reload, so the map always reflects the last committed change.
    private let changeLock = NSLock()
    private var bySource: [SourceKey: TagFilterRules] = [:]

    struct SourceKey: Hashable { var type: String; var id: Int64 }

    public init(index: SQLiteIndex, log: NetLogger) throws {
        db = index.db
        self.log = log
        try reload()
    }

    // MARK: IngestTransform

    public func applies(to source: Source) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return bySource[SourceKey(type: source.type.rawValue, id: source.id)] != nil
    }

    public func transform(_ file: DicomFile, source: Source) throws -> DicomFile? {
        lock.lock()
        let rules = bySource[SourceKey(type: source.type.rawValue, id: source.id)]
        lock.unlock()
        guard let rules, let filtered = rules.apply(to: file.dataSet) else { return nil }
        var out = file
        out.dataSet = filtered
        return out
    }

    // MARK: filters

    public func filters(startIndex: Int = 0, count: Int = 20) throws -> [TagFilter] {
        try Paging.check(startIndex: startIndex, count: count)
        return try db.read { c in
            try c.query("SELECT id, name, tag_filter_type FROM tag_filters ORDER BY id LIMIT ? OFFSET ?",
                        [.integer(Int64(count)), .integer(Int64(startIndex))]).map { try Self.filter($0, c) }
        }
    }

    public func filter(id: Int64) throws -> TagFilter? {
        try db.read { c in try c.query("SELECT id, name, tag_filter_type FROM tag_filters WHERE id = ?", [.integer(id)]).first.map { try Self.filter($0, c) } }
    }

    /// Creates a filter, or updates the one with this name: its type and its paths (replaced by
    /// `tags`), as seed 003 `POST /filtering/filters` describes.
    public func addFilter(name: String, tagFilterType: TagFilterType, tags: [TagPath] = []) throws -> TagFilter {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw NodeError.badRequest("a tag filter needs a name") }
        var unique: [TagPath] = []
        for t in tags where !unique.contains(t) { unique.append(t) }
        let id = try change { c -> Int64 in
            let id: Int64
            if let existing = try c.scalar("SELECT id FROM tag_filters WHERE name = ?", [.text(name)]) {
                id = existing
                try c.run("UPDATE tag_filters SET tag_filter_type = ? WHERE id = ?", [.text(tagFilterType.rawValue), .integer(id)])
                try c.run("DELETE FROM tag_filter_tag_paths WHERE tag_filter_ref = ?", [.integer(id)])
            } else {
                id = try c.run("INSERT INTO tag_filters (name, tag_filter_type) VALUES (?, ?)", [.text(name), .text(tagFilterType.rawValue)])
            }
            for t in unique {
                try c.run("INSERT INTO tag_filter_tag_paths (tag_filter_ref, tag_path) VALUES (?, ?)", [.integer(id), .text(t.description)])
            }
            return id
        }
        log.log(.info, "filtering", "tag filter saved", ["name": name, "type": tagFilterType.rawValue, "paths": "\(unique.count)"])
        return TagFilter(id: id, name: name, tagFilterType: tagFilterType, tags: unique)
    }

    /// Removes a filter, its paths and its associations; an unknown id is not an error.
    public func removeFilter(id: Int64) throws {
        try change { c in try c.run("DELETE FROM tag_filters WHERE id = ?", [.integer(id)]) }
    }

    // MARK: paths of a filter

    public func tagPaths(filterId: Int64) throws -> [TagFilterTagPath] {
        try db.read { c in
            try Self.requireFilter(filterId, c)
            return try Self.paths(filterId, c)
        }
    }

    /// Adds a path to a filter; a path it already has is returned as it is.
    public func addTagPath(filterId: Int64, tagPath: TagPath) throws -> TagFilterTagPath {
        try change { c in
            try Self.requireFilter(filterId, c)
            if let id = try c.scalar("SELECT id FROM tag_filter_tag_paths WHERE tag_filter_ref = ? AND tag_path = ?",
                                     [.integer(filterId), .text(tagPath.description)]) {
                return TagFilterTagPath(id: id, tagFilterId: filterId, tagPath: tagPath)
            }
            let id = try c.run("INSERT INTO tag_filter_tag_paths (tag_filter_ref, tag_path) VALUES (?, ?)", [.integer(filterId), .text(tagPath.description)])
            return TagFilterTagPath(id: id, tagFilterId: filterId, tagPath: tagPath)
        }
    }

    public func removeTagPath(filterId: Int64, tagPathId: Int64) throws {
        try change { c in
            try c.run("DELETE FROM tag_filter_tag_paths WHERE id = ? AND tag_filter_ref = ?", [.integer(tagPathId), .integer(filterId)])
        }
    }

    // MARK: sources

    public func associations(startIndex: Int = 0, count: Int = 20) throws -> [SourceTagFilter] {
        try Paging.check(startIndex: startIndex, count: count)
        return try db.read { try $0.query(Self.associationSelect + " ORDER BY s.id LIMIT ? OFFSET ?",
                                          [.integer(Int64(count)), .integer(Int64(startIndex))]).map(Self.association) }
    }

    /// The filters applied to one source.
    public func associations(sourceType: SourceType, sourceId: Int64) throws -> [SourceTagFilter] {
        try db.read { try $0.query(Self.associationSelect + " WHERE s.source_type = ? AND s.source_id = ? ORDER BY s.id",
                                   [.text(sourceType.rawValue), .integer(sourceId)]).map(Self.association) }
    }

    /// Applies a filter to every image arriving from a source from now on. A source may have
    /// several filters (merged as `TagFilterRules` says); the same pair again returns the existing
    /// association with the source name updated.
    public func addAssociation(sourceType: String, sourceId: Int64, sourceName: String = "", tagFilterId: Int64) throws -> SourceTagFilter {
        guard let type = SourceType(rawValue: sourceType.lowercased()), type != .unknown else {
            throw NodeError.badRequest("sourceType '\(sourceType)' is not one of \(SourceType.allCases.filter { $0 != .unknown }.map(\.rawValue).joined(separator: ", "))")
        }
        let id = try change { c -> Int64 in
            try Self.requireFilter(tagFilterId, c)
            try c.run("""
                INSERT INTO source_tag_filters (source_type, source_name, source_id, tag_filter_ref) VALUES (?, ?, ?, ?)
                ON CONFLICT (source_type, source_id, tag_filter_ref) DO UPDATE SET source_name = excluded.source_name
                """, [.text(type.rawValue), .text(sourceName), .integer(sourceId), .integer(tagFilterId)])
            return try c.scalar("SELECT id FROM source_tag_filters WHERE source_type = ? AND source_id = ? AND tag_filter_ref = ?",
                                [.text(type.rawValue), .integer(sourceId), .integer(tagFilterId)])!
        }
        let saved = try db.read { try $0.query(Self.associationSelect + " WHERE s.id = ?", [.integer(id)]).first.map(Self.association) }
        guard let saved else { throw NodeError.notFound("tag filter \(tagFilterId)") }  // removed meanwhile
        log.log(.info, "filtering", "tag filter applied to a source", ["source": "\(type.rawValue):\(sourceId)", "filter": saved.tagFilterName])
        return saved
    }

    public func addAssociation(source: Source, tagFilterId: Int64) throws -> SourceTagFilter {
        try addAssociation(sourceType: source.type.rawValue, sourceId: source.id, sourceName: source.name, tagFilterId: tagFilterId)
    }

    public func removeAssociation(id: Int64) throws {
        try change { c in try c.run("DELETE FROM source_tag_filters WHERE id = ?", [.integer(id)]) }
    }

    /// Drops every association of a source; call it when the source (SCP, box, watched folder,
    /// user…) is deleted. Returns how many went.
    @discardableResult
    public func removeAssociations(sourceType: SourceType, sourceId: Int64) throws -> Int {
        try change { c in
            try c.run("DELETE FROM source_tag_filters WHERE source_type = ? AND source_id = ?", [.text(sourceType.rawValue), .integer(sourceId)])
            return c.changes
        }
    }

    // MARK: helpers

    @discardableResult
    private func change<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        changeLock.lock(); defer { changeLock.unlock() }
        let result = try db.write(body)
        try reload()
        return result
    }

    /// Rebuilds the per-source rules from the database.
    private func reload() throws {
        let rows = try db.read { c in
            try c.query("""
                SELECT s.source_type, s.source_id, f.tag_filter_type, p.tag_path FROM source_tag_filters s
                JOIN tag_filters f ON f.id = s.tag_filter_ref LEFT JOIN tag_filter_tag_paths p ON p.tag_filter_ref = f.id
                ORDER BY s.id, p.id
                """)
        }
        var map: [SourceKey: TagFilterRules] = [:]
        for r in rows {
            let key = SourceKey(type: r[0].string ?? "", id: r[1].int ?? -1)
            var rules = map[key] ?? TagFilterRules(blacklist: [], whitelist: nil)
            let path = r[3].string.flatMap { try? TagPath(parsing: $0) }
            if r[2].string == TagFilterType.WHITELIST.rawValue {
                rules.whitelist = (rules.whitelist ?? []) + (path.map { [$0] } ?? [])
            } else if let path {
                rules.blacklist.append(path)
            }
            map[key] = rules
        }
        lock.lock(); bySource = map; lock.unlock()
    }

    static let associationSelect = """
        SELECT s.id, s.source_type, s.source_name, s.source_id, s.tag_filter_ref, f.name FROM source_tag_filters s
        JOIN tag_filters f ON f.id = s.tag_filter_ref
        """

    static func association(_ r: [SQLValue]) -> SourceTagFilter {
        SourceTagFilter(id: r[0].int!, sourceType: r[1].string ?? "", sourceName: r[2].string ?? "", sourceId: r[3].int ?? -1,
                        tagFilterId: r[4].int!, tagFilterName: r[5].string ?? "")
    }

    static func filter(_ r: [SQLValue], _ c: SQLiteConnection) throws -> TagFilter {
        TagFilter(id: r[0].int!, name: r[1].string ?? "", tagFilterType: TagFilterType(rawValue: r[2].string ?? "") ?? .BLACKLIST,
                  tags: try paths(r[0].int!, c).map(\.tagPath))
    }

    static func paths(_ filterId: Int64, _ c: SQLiteConnection) throws -> [TagFilterTagPath] {
        try c.query("SELECT id, tag_path FROM tag_filter_tag_paths WHERE tag_filter_ref = ? ORDER BY id", [.integer(filterId)]).compactMap { r in
            guard let path = r[1].string.flatMap({ try? TagPath(parsing: $0) }) else { return nil }
            return TagFilterTagPath(id: r[0].int!, tagFilterId: filterId, tagPath: path)
        }
    }

    static func requireFilter(_ id: Int64, _ c: SQLiteConnection) throws {
        guard try c.scalar("SELECT count(*) FROM tag_filters WHERE id = ?", [.integer(id)]) == 1 else {
            throw NodeError.notFound("tag filter \(id)")
        }
    }
}
