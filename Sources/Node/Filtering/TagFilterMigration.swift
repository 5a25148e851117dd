extension Migrations {
    /// Tag filters, their paths (stored in our tag path syntax) and the sources they apply to
    /// (seed 003 `filter`, `tagPathTag`, `sourceTagFilter`). A source may have several filters.
    static let tagFilters = """
        CREATE TABLE tag_filters (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            tag_filter_type TEXT NOT NULL CHECK (tag_filter_type IN ('WHITELIST', 'BLACKLIST')));
        CREATE TABLE tag_filter_tag_paths (
            id INTEGER PRIMARY KEY,
            tag_filter_ref INTEGER NOT NULL REFERENCES tag_filters(id) ON DELETE CASCADE,
            tag_path TEXT NOT NULL,
            UNIQUE (tag_filter_ref, tag_path));
        CREATE TABLE source_tag_filters (
            id INTEGER PRIMARY KEY,
            source_type TEXT NOT NULL,
            source_name TEXT NOT NULL DEFAULT '',
            source_id INTEGER NOT NULL,
            tag_filter_ref INTEGER NOT NULL REFERENCES tag_filters(id) ON DELETE CASCADE,
            UNIQUE (source_type, source_id, tag_filter_ref));
        CREATE INDEX source_tag_filters_filter ON source_tag_filters(tag_filter_ref);
        """
}
