extension Migrations {
    /// Series tags (seed 003 `seriestag`): free names users put on series. A tag outlives the
    /// series it was on (as Slicebox: deleting images keeps the tags); deleting a tag unlinks it.
    static let seriesTags = """
        CREATE TABLE series_tags (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE);
        CREATE TABLE series_series_tags (
            series_ref INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
            series_tag_ref INTEGER NOT NULL REFERENCES series_tags(id) ON DELETE CASCADE,
            PRIMARY KEY (series_ref, series_tag_ref)) WITHOUT ROWID;
        CREATE INDEX series_series_tags_tag ON series_series_tags(series_tag_ref);
        """
}
