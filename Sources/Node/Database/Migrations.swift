import Foundation

/// The index schema as an ordered list of migrations; `PRAGMA user_version` records how many ran.
/// A migration is never edited once released: changes are new entries at the end.
enum Migrations {
    static let all: [String] = [
        // 1: the image hierarchy as Slicebox keys it (seed 003 `patient`, `study`, `series`, `image`),
        // plus the C-FIND keys of PS3.4 C.6 and where every image came from.
        """
        CREATE TABLE patients (
            id INTEGER PRIMARY KEY,
            patient_name TEXT NOT NULL DEFAULT '',
            patient_id TEXT NOT NULL DEFAULT '',
            patient_birth_date TEXT NOT NULL DEFAULT '',
            patient_sex TEXT NOT NULL DEFAULT '',
            UNIQUE (patient_name, patient_id));
        CREATE INDEX patients_patient_id ON patients(patient_id);
        CREATE TABLE studies (
            id INTEGER PRIMARY KEY,
            patient_ref INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            study_instance_uid TEXT NOT NULL,
            study_description TEXT NOT NULL DEFAULT '',
            study_date TEXT NOT NULL DEFAULT '',
            study_time TEXT NOT NULL DEFAULT '',
            study_id TEXT NOT NULL DEFAULT '',
            accession_number TEXT NOT NULL DEFAULT '',
            patient_age TEXT NOT NULL DEFAULT '',
            referring_physician_name TEXT NOT NULL DEFAULT '',
            UNIQUE (patient_ref, study_instance_uid));
        CREATE INDEX studies_uid ON studies(study_instance_uid);
        CREATE INDEX studies_date ON studies(study_date);
        CREATE TABLE series (
            id INTEGER PRIMARY KEY,
            study_ref INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
            series_instance_uid TEXT NOT NULL,
            series_description TEXT NOT NULL DEFAULT '',
            series_date TEXT NOT NULL DEFAULT '',
            series_number TEXT NOT NULL DEFAULT '',
            modality TEXT NOT NULL DEFAULT '',
            protocol_name TEXT NOT NULL DEFAULT '',
            body_part_examined TEXT NOT NULL DEFAULT '',
            manufacturer TEXT NOT NULL DEFAULT '',
            station_name TEXT NOT NULL DEFAULT '',
            frame_of_reference_uid TEXT NOT NULL DEFAULT '',
            UNIQUE (study_ref, series_instance_uid));
        CREATE INDEX series_uid ON series(series_instance_uid);
        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            series_ref INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
            sop_instance_uid TEXT NOT NULL UNIQUE,
            sop_class_uid TEXT NOT NULL DEFAULT '',
            image_type TEXT NOT NULL DEFAULT '',
            instance_number TEXT NOT NULL DEFAULT '',
            transfer_syntax_uid TEXT NOT NULL,
            storage_key TEXT NOT NULL UNIQUE,
            file_size INTEGER NOT NULL,
            checksum INTEGER NOT NULL,
            created INTEGER NOT NULL,
            source_type TEXT NOT NULL,
            source_name TEXT NOT NULL DEFAULT '',
            source_id INTEGER NOT NULL DEFAULT -1);
        CREATE INDEX images_series ON images(series_ref);
        CREATE TABLE series_sources (
            series_ref INTEGER PRIMARY KEY REFERENCES series(id) ON DELETE CASCADE,
            source_type TEXT NOT NULL,
            source_name TEXT NOT NULL DEFAULT '',
            source_id INTEGER NOT NULL DEFAULT -1);
        CREATE INDEX series_sources_source ON series_sources(source_type, source_id);
        -- Files whose rows are gone but whose unlink may not have happened yet (crash repair).
        CREATE TABLE pending_file_deletions (storage_key TEXT PRIMARY KEY);
        CREATE TABLE log_entries (
            id INTEGER PRIMARY KEY,
            created INTEGER NOT NULL,
            entry_type TEXT NOT NULL,
            subject TEXT NOT NULL,
            message TEXT NOT NULL);
        CREATE INDEX log_entries_subject ON log_entries(subject);
        CREATE TABLE scps (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            ae_title TEXT NOT NULL,
            port INTEGER NOT NULL UNIQUE);
        CREATE TABLE scus (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            ae_title TEXT NOT NULL,
            host TEXT NOT NULL,
            port INTEGER NOT NULL,
            UNIQUE (host, port));
        """,
        users,
        forwarding,
        directoryWatches,
        importSessions,
        seriesTypes,
        seriesTags,
        tagFilters,
        anonymization,
        filtersService,
        pathology,
        feedImages,
        developers,
        boxes,
        imageIdHighWater,
    ]

    /// Image ids are never reused (the table is not AUTOINCREMENT): the highest id ever deleted
    /// is kept here by a trigger and new ids start above it (see `SQLiteIndex.nextImageId`).
    static let imageIdHighWater = """
        CREATE TABLE id_high_water (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO id_high_water (name, value) SELECT 'images', coalesce(max(id), 0) FROM images;
        CREATE TRIGGER images_high_water AFTER DELETE ON images
            BEGIN UPDATE id_high_water SET value = max(value, OLD.id) WHERE name = 'images'; END;
        """

    /// Brings the database to the newest schema, one transaction per migration.
    static func migrate(_ db: Database) throws -> (from: Int, to: Int) {
        let current = Int(try db.withWriter { try $0.scalar("PRAGMA user_version") } ?? 0)
        guard current <= all.count else {
            throw NodeError.unsupported("the index \(db.path) has schema version \(current), newer than this program's \(all.count)")
        }
        for version in current..<all.count {
            try db.write { c in
                try c.execute(all[version])
                try c.execute("PRAGMA user_version = \(version + 1)")
            }
        }
        return (current, all.count)
    }
}
