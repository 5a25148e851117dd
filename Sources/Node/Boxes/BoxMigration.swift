extension Migrations {
    /// Boxes (seed 003 `box`) and their transactions. Outgoing images keep their sequence number
    /// (1…n, what the other node counts by), state, the tag values forced into their anonymized
    /// copy, and the SOP Instance UID the image had when it was queued (an image id freed by a
    /// deletion may be given to another image: that one must not be sent in its place). Incoming images are keyed by (transaction, sequence number): a resent image is
    /// recognised and never counted twice. Image references are plain ids, not foreign keys: a
    /// transaction's history outlives the images it moved. Transaction and image ids are
    /// AUTOINCREMENT, never reused: the other node keys what it received by them, and a new
    /// transaction taking a deleted one's id would look like a resend of it.
    static let boxes = """
        CREATE TABLE boxes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            token TEXT NOT NULL,
            base_url TEXT NOT NULL,
            send_method TEXT NOT NULL,
            profile TEXT NOT NULL DEFAULT '',
            created INTEGER NOT NULL,
            last_contact INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '');
        CREATE INDEX boxes_token ON boxes(token, send_method);
        CREATE TABLE box_outgoing_transactions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            box_ref INTEGER NOT NULL REFERENCES boxes(id) ON DELETE CASCADE,
            profile TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            forwarding INTEGER NOT NULL DEFAULT 0,
            remote_status TEXT NOT NULL DEFAULT '',
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            last_error TEXT NOT NULL DEFAULT '');
        CREATE INDEX box_outgoing_transactions_box ON box_outgoing_transactions(box_ref, status);
        CREATE TABLE box_outgoing_images (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            transaction_ref INTEGER NOT NULL REFERENCES box_outgoing_transactions(id) ON DELETE CASCADE,
            image_ref INTEGER NOT NULL,
            sop_instance_uid TEXT NOT NULL,
            sequence_number INTEGER NOT NULL,
            status TEXT NOT NULL,
            tag_values TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL,
            UNIQUE (transaction_ref, sequence_number));
        CREATE INDEX box_outgoing_images_state ON box_outgoing_images(transaction_ref, status, sequence_number);
        CREATE INDEX box_outgoing_images_image ON box_outgoing_images(image_ref);
        CREATE TABLE box_incoming_transactions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            box_ref INTEGER NOT NULL REFERENCES boxes(id) ON DELETE CASCADE,
            outgoing_transaction_id INTEGER NOT NULL,
            total_image_count INTEGER NOT NULL,
            status TEXT NOT NULL,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            UNIQUE (box_ref, outgoing_transaction_id));
        CREATE TABLE box_incoming_images (
            transaction_ref INTEGER NOT NULL REFERENCES box_incoming_transactions(id) ON DELETE CASCADE,
            sequence_number INTEGER NOT NULL,
            image_ref INTEGER,
            sop_instance_uid TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            received INTEGER NOT NULL,
            PRIMARY KEY (transaction_ref, sequence_number));
        CREATE INDEX box_incoming_images_image ON box_incoming_images(image_ref);
        """
}
