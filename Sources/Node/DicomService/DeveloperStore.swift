import Foundation

/// A developer account of the DICOM service (seed 004): logs in with e-mail and password.
public struct DeveloperAccount: Sendable, Equatable {
    public var id: Int64
    public var email: String
    /// Opaque here (the REST side hashes and verifies, as for `UserStore`).
    public var passwordHash: String
    public var created: Int64
}

/// Seed 004 `api/developer/profiles/`: needed before any API key.
public struct DeveloperProfile: Codable, Sendable, Equatable {
    public var purpose: String
    public var organization: String
    public init(purpose: String, organization: String) { self.purpose = purpose; self.organization = organization }
}

/// An API key as listed: the secret itself is never stored, only its hash and public prefix.
public struct DeveloperAPIKey: Sendable, Equatable {
    public var id: Int64
    public var accountId: Int64
    public var name: String
    public var prefix: String
    public var keyHash: String
    /// Milliseconds since 1970.
    public var created: Int64
    public var lastUsed: Int64?
}

/// Requests of one UTC day (seed 004 `daily_activity`).
public struct DailyActivity: Codable, Sendable, Equatable {
    public var day: String
    public var count: Int
}

/// Accounts, profiles, API keys and usage counts of the DICOM service, in the node's index.
public final class DeveloperStore: @unchecked Sendable {
    let db: Database

    public init(index: SQLiteIndex) { db = index.db }

    // MARK: accounts

    /// A new account; the address is kept as given (trimmed) and compared without case.
    public func register(email: String, passwordHash: String, now: Date = Date()) throws -> DeveloperAccount {
        let email = email.trimmingCharacters(in: .whitespaces)
        let ms = Self.millis(now)
        return try db.write { c in
            guard try c.scalar("SELECT count(*) FROM developer_accounts WHERE email = ?", [.text(email)]) == 0 else {
                throw NodeError.badRequest("an account with the e-mail address \(email) already exists")
            }
            let id = try c.run("INSERT INTO developer_accounts (email, password_hash, created) VALUES (?,?,?)",
                               [.text(email), .text(passwordHash), .integer(ms)])
            return DeveloperAccount(id: id, email: email, passwordHash: passwordHash, created: ms)
        }
    }

    public func account(email: String) throws -> DeveloperAccount? {
        try db.read { try $0.query("SELECT id, email, password_hash, created FROM developer_accounts WHERE email = ?",
                                   [.text(email.trimmingCharacters(in: .whitespaces))]).first.map(Self.account) }
    }

    public func account(id: Int64) throws -> DeveloperAccount? {
        try db.read { try $0.query("SELECT id, email, password_hash, created FROM developer_accounts WHERE id = ?", [.integer(id)]).first.map(Self.account) }
    }

    // MARK: profiles

    /// The account's developer profile; an account has at most one.
    public func createProfile(accountId: Int64, _ profile: DeveloperProfile, now: Date = Date()) throws -> DeveloperProfile {
        try db.write { c in
            guard try c.scalar("SELECT count(*) FROM developer_profiles WHERE account_ref = ?", [.integer(accountId)]) == 0 else {
                throw NodeError.badRequest("this account already has a developer profile")
            }
            try c.run("INSERT INTO developer_profiles (account_ref, purpose, organization, created) VALUES (?,?,?,?)",
                      [.integer(accountId), .text(profile.purpose), .text(profile.organization), .integer(Self.millis(now))])
            return profile
        }
    }

    public func profile(accountId: Int64) throws -> DeveloperProfile? {
        try db.read { try $0.query("SELECT purpose, organization FROM developer_profiles WHERE account_ref = ?", [.integer(accountId)]).first.map {
            DeveloperProfile(purpose: $0[0].string ?? "", organization: $0[1].string ?? "")
        } }
    }

    // MARK: API keys

    /// Records a key by its public prefix and a hash of the whole key (hashing is the caller's).
    public func createKey(accountId: Int64, name: String, prefix: String, keyHash: String, now: Date = Date()) throws -> DeveloperAPIKey {
        let ms = Self.millis(now)
        return try db.write { c in
            let id = try c.run("INSERT INTO developer_api_keys (account_ref, name, prefix, key_hash, created) VALUES (?,?,?,?,?)",
                               [.integer(accountId), .text(name), .text(prefix), .text(keyHash), .integer(ms)])
            return DeveloperAPIKey(id: id, accountId: accountId, name: name, prefix: prefix, keyHash: keyHash, created: ms, lastUsed: nil)
        }
    }

    public func keys(accountId: Int64) throws -> [DeveloperAPIKey] {
        try db.read { try $0.query("SELECT \(Self.keyColumns) FROM developer_api_keys WHERE account_ref = ? ORDER BY id", [.integer(accountId)]).map(Self.key) }
    }

    public func key(prefix: String) throws -> DeveloperAPIKey? {
        try db.read { try $0.query("SELECT \(Self.keyColumns) FROM developer_api_keys WHERE prefix = ?", [.text(prefix)]).first.map(Self.key) }
    }

    /// Deletes one of the account's keys; false when it has no key with that id.
    public func deleteKey(id: Int64, accountId: Int64) throws -> Bool {
        try db.write { c in
            try c.run("DELETE FROM developer_api_keys WHERE id = ? AND account_ref = ?", [.integer(id), .integer(accountId)])
            return c.changes > 0
        }
    }

    public func markUsed(keyId: Int64, now: Date = Date()) throws {
        try db.write { c in _ = try c.run("UPDATE developer_api_keys SET last_used = ? WHERE id = ?", [.integer(Self.millis(now)), .integer(keyId)]) }
    }

    // MARK: usage

    /// Counts one request to `endpoint` and returns the account's requests to it in the calendar
    /// month (UTC) of `now`, this one included.
    public func countRequest(accountId: Int64, endpoint: String, now: Date = Date()) throws -> Int {
        let day = Self.day(now)
        return try db.write { c in
            try c.run("""
                INSERT INTO developer_activity (account_ref, endpoint, day, count) VALUES (?,?,?,1)
                ON CONFLICT (account_ref, endpoint, day) DO UPDATE SET count = count + 1
                """, [.integer(accountId), .text(endpoint), .text(day)])
            return Int(try c.scalar("SELECT coalesce(sum(count), 0) FROM developer_activity WHERE account_ref = ? AND endpoint = ? AND day LIKE ?",
                                    [.integer(accountId), .text(endpoint), .text(String(day.prefix(8)) + "%")]) ?? 0)
        }
    }

    /// Requests per day in the calendar month (UTC) of `now`, oldest first, and their total.
    public func activity(accountId: Int64, endpoint: String, now: Date = Date()) throws -> (days: [DailyActivity], total: Int) {
        let month = String(Self.day(now).prefix(8))
        let days = try db.read { c in
            try c.query("SELECT day, count FROM developer_activity WHERE account_ref = ? AND endpoint = ? AND day LIKE ? ORDER BY day",
                        [.integer(accountId), .text(endpoint), .text(month + "%")])
                .map { DailyActivity(day: $0[0].string ?? "", count: Int($0[1].int ?? 0)) }
        }
        return (days, days.reduce(0) { $0 + $1.count })
    }

    // MARK: helpers

    private static let keyColumns = "id, account_ref, name, prefix, key_hash, created, last_used"

    private static func key(_ r: [SQLValue]) -> DeveloperAPIKey {
        DeveloperAPIKey(id: r[0].int!, accountId: r[1].int ?? 0, name: r[2].string ?? "", prefix: r[3].string ?? "",
                        keyHash: r[4].string ?? "", created: r[5].int ?? 0, lastUsed: r[6].int)
    }

    private static func account(_ r: [SQLValue]) -> DeveloperAccount {
        DeveloperAccount(id: r[0].int!, email: r[1].string ?? "", passwordHash: r[2].string ?? "", created: r[3].int ?? 0)
    }

    static func millis(_ d: Date) -> Int64 { Int64(d.timeIntervalSince1970 * 1000) }

    /// `YYYY-MM-DD` in UTC.
    public static func day(_ d: Date) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day], from: d)
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }
}
