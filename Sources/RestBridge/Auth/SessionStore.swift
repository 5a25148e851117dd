import Foundation
import COpenSSL

/// Login sessions (Slicebox's `slicebox-session` cookie, research notes §2): a random token bound
/// to the client's address and User-Agent, sliding expiry. Held in memory: a restart logs users
/// out, basic auth keeps working.
public final class SessionStore: @unchecked Sendable {
    struct Session {
        let userId: Int64
        let address: String
        let agentHash: [UInt8]
        var lastUsed: Date
    }

    private let lock = NSLock()
    private var sessions: [String: Session] = [:]
    public let timeout: TimeInterval

    public init(timeout: TimeInterval) { self.timeout = timeout }

    /// A new session (or the live one of the same user, address and agent, as Slicebox reuses it).
    public func open(userId: Int64, address: String, userAgent: String) -> String {
        let agent = PasswordHasher.sha256(Array(userAgent.utf8))
        lock.lock(); defer { lock.unlock() }
        purgeExpired()
        if let (token, _) = sessions.first(where: { $0.value.userId == userId && $0.value.address == address && $0.value.agentHash == agent }) {
            sessions[token]!.lastUsed = Date()
            return token
        }
        let token = Self.newToken()
        sessions[token] = Session(userId: userId, address: address, agentHash: agent, lastUsed: Date())
        return token
    }

    /// The user of a live session presented from the same address and agent; refreshes it.
    public func user(token: String, address: String, userAgent: String) -> Int64? {
        let agent = PasswordHasher.sha256(Array(userAgent.utf8))
        lock.lock(); defer { lock.unlock() }
        guard var s = sessions[token] else { return nil }
        guard Date().timeIntervalSince(s.lastUsed) < timeout else { sessions[token] = nil; return nil }
        guard s.address == address, s.agentHash == agent else { return nil }
        s.lastUsed = Date()
        sessions[token] = s
        return s.userId
    }

    public func close(token: String) { lock.lock(); sessions[token] = nil; lock.unlock() }

    public func closeAll(userId: Int64) {
        lock.lock(); sessions = sessions.filter { $0.value.userId != userId }; lock.unlock()
    }

    private func purgeExpired() {
        let now = Date()
        sessions = sessions.filter { now.timeIntervalSince($0.value.lastUsed) < timeout }
    }

    /// A random UUID (version 4), the shape Slicebox's cookie has.
    static func newToken() -> String {
        var b = [UInt8](repeating: 0, count: 16)
        if RAND_bytes(&b, 16) != 1 { return UUID().uuidString.lowercased() }
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])).uuidString.lowercased()
    }
}
