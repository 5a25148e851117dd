extension Migrations {
    /// Anonymization keys (seed 003 `anonymizationKey`, `anonymizationKeyValue`): one key per
    /// anonymized image, real ↔ anonymous identity, plus the values of the key attributes with the
    /// level they belong to (harmonization and reverse anonymization work level by level). The
    /// indexes cover the prefix lookups of both: (name, ID[, study[, series[, instance]]]), on the
    /// real side and on the anonymous side. `date_offset_days` is the patient's date shift
    /// (Retain Longitudinal Temporal Information with Modified Dates), reused with the pseudonym.
    /// `anonymization_uids` maps every real UID the U action replaced to its anonymous UID, so a
    /// UID is replaced the same way in every instance (PS3.15 E.1.1: "internally consistent").
    static let anonymization = """
        CREATE TABLE anonymization_keys (
            id INTEGER PRIMARY KEY,
            created INTEGER NOT NULL,
            image_id INTEGER NOT NULL,
            patient_name TEXT NOT NULL,
            anon_patient_name TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            anon_patient_id TEXT NOT NULL,
            study_instance_uid TEXT NOT NULL,
            anon_study_instance_uid TEXT NOT NULL,
            series_instance_uid TEXT NOT NULL,
            anon_series_instance_uid TEXT NOT NULL,
            sop_instance_uid TEXT NOT NULL,
            anon_sop_instance_uid TEXT NOT NULL,
            date_offset_days INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX anonymization_keys_real ON anonymization_keys(
            patient_name, patient_id, study_instance_uid, series_instance_uid, sop_instance_uid);
        CREATE INDEX anonymization_keys_anonymous ON anonymization_keys(
            anon_patient_name, anon_patient_id, anon_study_instance_uid, anon_series_instance_uid, anon_sop_instance_uid);
        CREATE INDEX anonymization_keys_image ON anonymization_keys(image_id);
        CREATE TABLE anonymization_key_values (
            id INTEGER PRIMARY KEY,
            key_ref INTEGER NOT NULL REFERENCES anonymization_keys(id) ON DELETE CASCADE,
            level TEXT NOT NULL,
            tag_path TEXT NOT NULL,
            value TEXT NOT NULL,
            anonymized_value TEXT NOT NULL);
        CREATE INDEX anonymization_key_values_key ON anonymization_key_values(key_ref);
        CREATE TABLE anonymization_uids (
            uid TEXT PRIMARY KEY,
            anon_uid TEXT NOT NULL UNIQUE) WITHOUT ROWID;
        """
}
