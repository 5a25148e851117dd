extension Migrations {
    /// Developer accounts of the DICOM service (seed 004): e-mail login, one developer profile
    /// per account, API keys (only a SHA-256 of each key is kept, plus its public prefix to find
    /// it) and per-day request counts for the monthly quota and `activity-summary`.
    static let developers = """
        CREATE TABLE developer_accounts (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            created INTEGER NOT NULL);
        CREATE TABLE developer_profiles (
            account_ref INTEGER PRIMARY KEY REFERENCES developer_accounts(id) ON DELETE CASCADE,
            purpose TEXT NOT NULL,
            organization TEXT NOT NULL,
            created INTEGER NOT NULL);
        CREATE TABLE developer_api_keys (
            id INTEGER PRIMARY KEY,
            account_ref INTEGER NOT NULL REFERENCES developer_accounts(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            prefix TEXT NOT NULL UNIQUE,
            key_hash TEXT NOT NULL,
            created INTEGER NOT NULL,
            last_used INTEGER);
        CREATE INDEX developer_api_keys_account ON developer_api_keys(account_ref);
        CREATE TABLE developer_activity (
            account_ref INTEGER NOT NULL REFERENCES developer_accounts(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            day TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (account_ref, endpoint, day)) WITHOUT ROWID;
        """
}
