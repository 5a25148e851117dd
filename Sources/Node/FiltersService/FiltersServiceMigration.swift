extension Migrations {
    /// The filters service (seed 002): modality sessions and the image resources uploaded for
    /// processing. A resource's PNG lives in `filters/<id>.png` under the data folder; a row
    /// without its file (or a file without its row) is repaired at start-up.
    static let filtersService = """
        CREATE TABLE modality_sessions (
            id TEXT PRIMARY KEY,
            ae_title TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            modality TEXT NOT NULL DEFAULT '',
            started INTEGER NOT NULL,
            ended INTEGER);
        CREATE INDEX modality_sessions_active ON modality_sessions(ae_title, ended);
        CREATE TABLE image_resources (
            id TEXT PRIMARY KEY,
            media_type TEXT NOT NULL,
            media_size INTEGER NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            created INTEGER NOT NULL,
            expires INTEGER NOT NULL,
            binning TEXT NOT NULL,
            gamma REAL NOT NULL,
            slope REAL NOT NULL,
            lut_offset REAL NOT NULL,
            total_grays INTEGER NOT NULL,
            minimum_gray INTEGER NOT NULL,
            maximum_gray INTEGER NOT NULL,
            session_id TEXT REFERENCES modality_sessions(id),
            session_image_id TEXT);
        CREATE INDEX image_resources_expires ON image_resources(expires);
        CREATE INDEX image_resources_session ON image_resources(session_id);
        """
}
