extension Migrations {
    /// Watched folders (seed 003 `watchedDirectory`) and the files each has dealt with, so a restart
    /// imports only new or changed files. A file is known by its path relative to the watched folder,
    /// its size and its modification time (nanoseconds): a file rewritten in place differs in one of them.
    /// `outcome` is `imported` (left in place, or its move/delete failed) or `rejected` (not DICOM or
    /// broken: reported once, tried again only when it changes).
    static let directoryWatches = """
        CREATE TABLE directory_watches (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL UNIQUE,
            after_import TEXT NOT NULL DEFAULT 'leave',
            move_to TEXT);
        CREATE TABLE directory_watch_files (
            watch_ref INTEGER NOT NULL REFERENCES directory_watches(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            PRIMARY KEY (watch_ref, path));
        """
}
