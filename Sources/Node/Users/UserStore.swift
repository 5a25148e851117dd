import Foundation

/// Slicebox's roles (research notes §2): SUPERUSER ⊇ ADMINISTRATOR ⊇ USER.
public enum UserRole: String, Sendable, CaseIterable, Codable {
    case superuser = "SUPERUSER", administrator = "ADMINISTRATOR", user = "USER"

    var rank: Int {
        switch self {
        case .superuser: return 3
        case .administrator: return 2
        case .user: return 1
        }
    }

    /// Whether a user with this role may do what `required` allows.
    public func includes(_ required: UserRole) -> Bool { rank >= required.rank }
}

/// A user account. The password hash is opaque here (the REST side hashes and verifies) and is
/// never part of an API answer (Slicebox's `GET users` leaks it; research notes §2).
public struct UserAccount: Sendable, Equatable {
    public var id: Int64
    public var user: String
    public var role: UserRole
    public var passwordHash: String
}

extension Migrations {
    static let users = """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL);
        """
}

/// The accounts of the REST side, in the node's index database.
public final class UserStore: @unchecked Sendable {
    let db: Database

    public init(index: SQLiteIndex) { db = index.db }

    private static func account(_ r: [SQLValue]) -> UserAccount {
        UserAccount(id: r[0].int!, user: r[1].string ?? "", role: UserRole(rawValue: r[2].string ?? "") ?? .user, passwordHash: r[3].string ?? "")
    }

    public func list(startIndex: Int = 0, count: Int = 20) throws -> [UserAccount] {
        guard startIndex >= 0, count >= 0 else { throw NodeError.badRequest("startindex and count must not be negative") }
        return try db.read { c in
            try c.query("SELECT id, name, role, password_hash FROM users ORDER BY id LIMIT ? OFFSET ?",
                        [.integer(Int64(count)), .integer(Int64(startIndex))]).map(Self.account)
        }
    }

    public func account(id: Int64) throws -> UserAccount? {
        try db.read { c in try c.query("SELECT id, name, role, password_hash FROM users WHERE id = ?", [.integer(id)]).first.map(Self.account) }
    }

    public func account(name: String) throws -> UserAccount? {
        try db.read { c in try c.query("SELECT id, name, role, password_hash FROM users WHERE name = ?", [.text(name)]).first.map(Self.account) }
    }

    /// Adds a user; an existing name returns the stored account unchanged (`created` false),
    /// as Slicebox does.
    public func add(name: String, role: UserRole, passwordHash: String) throws -> (account: UserAccount, created: Bool) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 180 else { throw NodeError.badRequest("a user name must be 1–180 characters") }
        guard !trimmed.contains(":") else { throw NodeError.badRequest("a user name cannot contain ':' (it separates name and password in basic auth)") }
        return try db.write { c in
            if let r = try c.query("SELECT id, name, role, password_hash FROM users WHERE name = ?", [.text(trimmed)]).first {
                return (Self.account(r), false)
            }
            let id = try c.run("INSERT INTO users (name, role, password_hash) VALUES (?,?,?)",
                               [.text(trimmed), .text(role.rawValue), .text(passwordHash)])
            return (UserAccount(id: id, user: trimmed, role: role, passwordHash: passwordHash), true)
        }
    }

    public func delete(id: Int64) throws {
        try db.write { c in _ = try c.run("DELETE FROM users WHERE id = ?", [.integer(id)]) }
    }

    /// Makes sure the configured superuser exists with the configured password (re-created at
    /// start-up if missing or changed, as Slicebox does). `matches` checks a stored hash.
    public func ensureSuperuser(name: String, matches: (String) -> Bool, hash: () throws -> String) throws {
        if let existing = try account(name: name) {
            if existing.role == .superuser && matches(existing.passwordHash) { return }
            let h = try hash()
            try db.write { c in _ = try c.run("UPDATE users SET role = ?, password_hash = ? WHERE id = ?",
                                              [.text(UserRole.superuser.rawValue), .text(h), .integer(existing.id)]) }
        } else {
            _ = try add(name: name, role: .superuser, passwordHash: try hash())
        }
    }
}
