import Foundation
import Node

/// Who made a request.
public struct AuthenticatedUser: Sendable {
    public var id: Int64
    public var name: String
    public var role: UserRole
}

/// Basic auth or the session cookie, as Slicebox (research notes §2): an `Authorization` header
/// wins over a cookie; the cookie is bound to the client address and User-Agent.
///
/// Verified basic credentials are remembered for a minute (keyed by a digest of name, password
/// and stored hash), so a client that sends basic auth on every request pays PBKDF2 once, not per
/// request; a changed or deleted account stops matching at once.
public final class Authenticator: @unchecked Sendable {
    public static let cookieName = "slicebox-session"
    public let users: UserStore
    public let sessions: SessionStore
    private let lock = NSLock()
    private var verified: [[UInt8]: (account: UserAccount, until: Date)] = [:]

    public init(users: UserStore, sessions: SessionStore) {
        self.users = users
        self.sessions = sessions
    }

    static func unauthorized(_ message: String) -> HTTPError {
        HTTPError(.unauthorized, message, headers: ["WWW-Authenticate": "Basic realm=\"dicomnode\", charset=\"UTF-8\""])
    }

    /// The client's address: the first X-Forwarded-For hop when present (behind a proxy), else the peer.
    public static func clientAddress(_ request: HTTPRequest) -> String {
        if let forwarded = request.headers["X-Forwarded-For"]?.split(separator: ",").first {
            return forwarded.trimmingCharacters(in: .whitespaces)
        }
        if let r = request.peer.lastIndex(of: ":") { return String(request.peer[..<r]) }
        return request.peer
    }

    public static func sessionToken(_ request: HTTPRequest) -> String? {
        for header in request.headers.values(for: "Cookie") {
            for pair in header.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if kv.count == 2, kv[0] == cookieName { return kv[1] }
            }
        }
        return nil
    }

    /// The user behind `request`, or 401 saying why.
    public func authenticate(_ request: HTTPRequest) throws -> AuthenticatedUser {
        if let authorization = request.headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "basic" else {
                throw Self.unauthorized("The supplied authentication is invalid: only Basic credentials are accepted here")
            }
            guard let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
                  let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else {
                throw Self.unauthorized("The supplied authentication is invalid: malformed Basic credentials")
            }
            let name = String(text[..<colon]), password = String(text[text.index(after: colon)...])
            guard let account = try check(name: name, password: password) else {
                throw Self.unauthorized("The supplied authentication is invalid")
            }
            return AuthenticatedUser(id: account.id, name: account.user, role: account.role)
        }
        if let token = Self.sessionToken(request) {
            guard let id = sessions.user(token: token, address: Self.clientAddress(request), userAgent: request.headers["User-Agent"] ?? ""),
                  let account = try users.account(id: id) else {
                throw Self.unauthorized("The supplied authentication is invalid: the session has ended or belongs to another client")
            }
            return AuthenticatedUser(id: account.id, name: account.user, role: account.role)
        }
        throw Self.unauthorized("The resource requires authentication, which was not supplied with the request")
    }

    /// The account if `password` is right.
    public func check(name: String, password: String) throws -> UserAccount? {
        guard let account = try users.account(name: name) else { return nil }
        let key = PasswordHasher.sha256(Array("\(name)\u{0}\(password)\u{0}\(account.passwordHash)".utf8))
        lock.lock()
        if let hit = verified[key], hit.until > Date(), hit.account == account { lock.unlock(); return account }
        lock.unlock()
        guard PasswordHasher.verify(password, against: account.passwordHash) else { return nil }
        lock.lock()
        if verified.count > 10_000 { verified.removeAll() }
        verified[key] = (account, Date().addingTimeInterval(60))
        lock.unlock()
        return account
    }

    /// 403 unless `user` has `role` or more.
    public static func require(_ role: UserRole, _ user: AuthenticatedUser) throws {
        guard user.role.includes(role) else {
            throw HTTPError(.forbidden, "this needs the role \(role.rawValue) or higher; user '\(user.name)' is \(user.role.rawValue)")
        }
    }
}
