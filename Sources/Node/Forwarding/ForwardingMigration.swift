extension Migrations {
    /// Forwarding rules (seed 003 `forwardingrule`), their transactions (one per rule and series
    /// while collecting) and each image's outcome. `last_seen` is the newest image creation time
    /// a rule has taken in, so images whose event was lost in a crash are taken in at start-up.
    /// Image and series references are plain ids, not foreign keys: a transaction's history
    /// outlives the images it delivered (and deleted).
    static let forwarding = """
        CREATE TABLE forwarding_rules (
            id INTEGER PRIMARY KEY,
            source_type TEXT NOT NULL,
            source_name TEXT NOT NULL DEFAULT '',
            source_id INTEGER NOT NULL,
            destination_type TEXT NOT NULL,
            destination_name TEXT NOT NULL DEFAULT '',
            destination_id INTEGER NOT NULL,
            keep_images INTEGER NOT NULL,
            created INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            UNIQUE (source_type, source_id, destination_type, destination_id));
        CREATE TABLE forwarding_transactions (
            id INTEGER PRIMARY KEY,
            rule_ref INTEGER NOT NULL REFERENCES forwarding_rules(id) ON DELETE CASCADE,
            series_ref INTEGER NOT NULL,
            status TEXT NOT NULL,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            last_added INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            finalized INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX forwarding_transactions_open ON forwarding_transactions(rule_ref, series_ref, status);
        CREATE INDEX forwarding_transactions_status ON forwarding_transactions(status);
        CREATE TABLE forwarding_images (
            transaction_ref INTEGER NOT NULL REFERENCES forwarding_transactions(id) ON DELETE CASCADE,
            image_ref INTEGER NOT NULL,
            sop_instance_uid TEXT NOT NULL,
            status TEXT NOT NULL,
            dimse_status INTEGER,
            message TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            added INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            PRIMARY KEY (transaction_ref, image_ref));
        CREATE INDEX forwarding_images_image ON forwarding_images(image_ref);
        """
}
