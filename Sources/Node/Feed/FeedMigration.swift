extension Migrations {
    /// The image data feed (seed 000 `POST /api/images`): image records keyed by the sender's id,
    /// MRI measurements as columns (a fixed set), analyses keyed by their own id with free
    /// parameter and feature maps (one row per key, so a partial upload merges key by key).
    static let feedImages = """
        CREATE TABLE feed_images (
            id INTEGER PRIMARY KEY,
            image_id TEXT NOT NULL UNIQUE,
            donor_id TEXT,
            scanning_date TEXT,
            scanning_day INTEGER,
            whole_tumor REAL, contrast_enhancing REAL, non_contrast_enhancing REAL,
            median_adc_tumor REAL, median_adc_ce REAL, median_adc_edema REAL,
            median_cbf_tumor REAL, median_cbf_ce REAL, median_cbf_edema REAL,
            median_cbv_tumor REAL, median_cbv_ce REAL, median_cbv_edema REAL,
            median_mtt_tumor REAL, median_mtt_ce REAL, median_mtt_edema REAL,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL);
        CREATE INDEX feed_images_donor ON feed_images(donor_id);
        CREATE TABLE feed_analyses (
            id INTEGER PRIMARY KEY,
            analysis_id TEXT NOT NULL UNIQUE,
            image_ref INTEGER NOT NULL REFERENCES feed_images(id) ON DELETE CASCADE,
            type TEXT,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL);
        CREATE INDEX feed_analyses_image ON feed_analyses(image_ref);
        CREATE TABLE feed_analysis_values (
            analysis_ref INTEGER NOT NULL REFERENCES feed_analyses(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('parameter', 'feature')),
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (analysis_ref, kind, name)) WITHOUT ROWID;
        """
}
