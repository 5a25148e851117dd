import Foundation
import Node

/// `/api/users/…`: accounts, login/logout with the session cookie (research notes §2).
extension SliceboxAPI {
    func addUserRoutes(_ api: inout APIRouter) {
        let users = auth.users, sessions = auth.sessions, auth = self.auth, log = node.log

        api.get("/users") { r, _ in
            let (start, count) = try r.paging()
            return .json(try users.list(startIndex: start, count: count).map(UserJSON.init))
        }
        api.post("/users", .administrator) { r, user in
            let new = try r.seedBody(NewUserJSON.self)
            guard let role = UserRole(rawValue: new.role.uppercased()) else {
                throw HTTPError(.badRequest, "role must be one of \(UserRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard role != .superuser else { throw HTTPError(.badRequest, "a SUPERUSER cannot be added through the API (it comes from the configuration)") }
            guard !new.password.isEmpty else { throw HTTPError(.badRequest, "the password must not be empty") }
            let (account, created) = try users.add(name: new.user, role: role, passwordHash: try PasswordHasher.hash(new.password))
            if created { log.log(.info, "user", "added", ["user": account.user, "role": role.rawValue, "by": user.name]) }
            return .json(UserJSON(account), status: .created)
        }
        api.delete("/users/{id}", .administrator) { r, user in
            let id = try r.id()
            if let account = try users.account(id: id) {
                guard account.role != .superuser else { throw HTTPError(.badRequest, "the SUPERUSER cannot be deleted") }
                try users.delete(id: id)
                sessions.closeAll(userId: id)
                log.log(.info, "user", "deleted", ["user": account.user, "by": user.name])
            }
            return .empty()
        }
        api.get("/users/current") { _, user in .json(UserJSON(user)) }
        // Slicebox answers /users/current without credentials with 404; a client that is not
        // logged in gets 401 here (with the reason), which is what it needs to act on.

        api.publicRoute(.post, "/users/login") { r in
            let credentials = try r.seedBody(UserPassJSON.self, limit: 64 * 1024)
            guard let account = try auth.check(name: credentials.user, password: credentials.pass) else {
                log.log(.warning, "user", "login refused", ["user": credentials.user, "peer": r.peer])
                throw Authenticator.unauthorized("Invalid username or password")
            }
            let token = sessions.open(userId: account.id, address: Authenticator.clientAddress(r), userAgent: r.headers["User-Agent"] ?? "")
            return HTTPResponse.empty(.created)
                .with("Set-Cookie", "\(Authenticator.cookieName)=\(token); Path=/api; HttpOnly; SameSite=Strict\(r.isSecure ? "; Secure" : "")")
        }
        api.publicRoute(.post, "/users/logout") { r in
            if let token = Authenticator.sessionToken(r) { sessions.close(token: token) }
            return HTTPResponse.empty(.created)
                .with("Set-Cookie", "\(Authenticator.cookieName)=deleted; Path=/api; HttpOnly; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        }
    }
}
