extension Migrations {
    /// Import sessions (seed 003 `importSession`) and the images each brought in. A session's image
    /// row goes with the image (ON DELETE CASCADE), so "images of a session" lists only stored ones.
    static let importSessions = """
        CREATE TABLE import_sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            user_id INTEGER NOT NULL,
            user TEXT NOT NULL,
            files_imported INTEGER NOT NULL DEFAULT 0,
            files_added INTEGER NOT NULL DEFAULT 0,
            files_rejected INTEGER NOT NULL DEFAULT 0,
            created INTEGER NOT NULL,
            last_updated INTEGER NOT NULL);
        CREATE TABLE import_session_images (
            session_ref INTEGER NOT NULL REFERENCES import_sessions(id) ON DELETE CASCADE,
            image_ref INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            PRIMARY KEY (session_ref, image_ref));
        CREATE INDEX import_session_images_image ON import_session_images(image_ref);
        """
}
