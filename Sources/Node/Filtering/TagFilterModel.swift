import Foundation
import Codec

// Tag filters as seed 003 and Slicebox name them (`filter`, `tagPathTag`, `sourceTagFilter`).

public enum TagFilterType: String, Sendable, CaseIterable, Codable {
    /// Keep only the listed paths (plus what the node needs, see `TagFilterRules.required`).
    case WHITELIST
    /// Remove the listed paths.
    case BLACKLIST

    /// Parses `WHITELIST` / `BLACKLIST` (any case).
    public init(parsing text: String) throws {
        guard let t = TagFilterType(rawValue: text.uppercased()) else {
            throw NodeError.badRequest("tagFilterType '\(text)' is neither WHITELIST nor BLACKLIST")
        }
        self = t
    }
}

/// Seed 003 `filter`: a named list of tag paths, `[*]` for every item and `x` digits allowed
/// (`(0010,1002)[*].(0010,0022)`, `(0009,xxxx)`); a path naming a sequence covers all inside it.
public struct TagFilter: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var tagFilterType: TagFilterType
    public var tags: [TagPath]
    public init(id: Int64, name: String, tagFilterType: TagFilterType, tags: [TagPath]) {
        self.id = id
        self.name = name
        self.tagFilterType = tagFilterType
        self.tags = tags
    }
}

/// One path of a filter, with its own id (Slicebox `filters/{id}/tagpaths`: `{id, tagFilterId, tagPath}`).
public struct TagFilterTagPath: Sendable, Equatable {
    public var id: Int64
    public var tagFilterId: Int64
    public var tagPath: TagPath
    public init(id: Int64, tagFilterId: Int64, tagPath: TagPath) { self.id = id; self.tagFilterId = tagFilterId; self.tagPath = tagPath }
}

/// Seed 003 `sourceTagFilter` (with Slicebox's `sourceName` and `tagFilterName`): a filter applied
/// to every image arriving from a source.
public struct SourceTagFilter: Sendable, Equatable, Codable {
    public var id: Int64
    public var sourceType: String
    public var sourceName: String
    public var sourceId: Int64
    public var tagFilterId: Int64
    public var tagFilterName: String
    public init(id: Int64, sourceType: String, sourceName: String, sourceId: Int64, tagFilterId: Int64, tagFilterName: String) {
        self.id = id
        self.sourceType = sourceType
        self.sourceName = sourceName
        self.sourceId = sourceId
        self.tagFilterId = tagFilterId
        self.tagFilterName = tagFilterName
    }
}
