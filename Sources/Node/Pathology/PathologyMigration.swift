extension Migrations {
    /// The pathology image records of seed 001 (`Images`), who they are shared with (the seed's
    /// `shared` column, one row per user), their logs (`LogInfo`) and the state of each image's
    /// analysis job. `predict_run` numbers the runs of an image's job: a worker writes only while
    /// its run is the current one, so a stopped or superseded run can never overwrite a newer one.
    /// Owners and share targets are user ids of `users`; a deleted user's images stay (visible to
    /// administrators).
    static let pathology = """
        CREATE TABLE pathology_images (
            id INTEGER PRIMARY KEY,
            image_unique_id TEXT NOT NULL UNIQUE,
            owner_id INTEGER NOT NULL,
            patient_id TEXT,
            entity_id TEXT,
            workarea_id TEXT,
            study_id TEXT,
            filename TEXT NOT NULL,
            location TEXT,
            description TEXT,
            adddate TEXT NOT NULL,
            moddate TEXT NOT NULL,
            status TEXT NOT NULL,
            file_size INTEGER,
            width INTEGER,
            height INTEGER,
            tile_count INTEGER,
            tissue_area INTEGER,
            tissue_area_percent REAL,
            outcome_prediction TEXT,
            metric TEXT,
            tiling_status TEXT NOT NULL,
            tissuearea_status TEXT NOT NULL,
            annotation_status TEXT NOT NULL,
            outcome_status TEXT NOT NULL,
            predict_status TEXT NOT NULL,
            predict_run INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX pathology_images_owner ON pathology_images(owner_id);
        CREATE INDEX pathology_images_predict ON pathology_images(predict_status);
        CREATE TABLE pathology_shares (
            image_ref INTEGER NOT NULL REFERENCES pathology_images(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL,
            PRIMARY KEY (image_ref, user_id)) WITHOUT ROWID;
        CREATE INDEX pathology_shares_user ON pathology_shares(user_id);
        CREATE TABLE pathology_logs (
            id INTEGER PRIMARY KEY,
            image_ref INTEGER NOT NULL REFERENCES pathology_images(id) ON DELETE CASCADE,
            type TEXT NOT NULL,
            message TEXT NOT NULL,
            user_id INTEGER,
            adddate TEXT NOT NULL);
        CREATE INDEX pathology_logs_image ON pathology_logs(image_ref);
        """
}
