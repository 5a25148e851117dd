import Foundation
import Node

struct CredentialsJSON: Codable { var email: String; var password: String }
struct RefreshJSON: Codable { var refresh: String }
struct TokenPairJSON: Codable { var refresh: String; var access: String }
struct AccountJSON: Codable { var id: Int64; var email: String }
struct ActivitySummaryJSON: Codable { var daily_activity: [DailyActivity]; var monthly_total: Int; var quota: Int }

/// Accounts and tokens (seed 004 "Authentication", "Developer Profile", "API Usage Limits").
/// The seed presumes an account exists; `POST /api/accounts/register/` makes one.
extension DicomServiceAPI {
    func addAccountRoutes(_ router: inout Router) {
        let developers = self.developers, tokens = self.tokens

        router.post("/api/accounts/register/") { r in
            if !self.settings.openRegistration {
                let admin = try self.users.authenticate(r)
                try Authenticator.require(.administrator, admin)
            }
            let c = try r.seedBody(CredentialsJSON.self)
            let email = c.email.trimmingCharacters(in: .whitespaces)
            guard Self.isEmail(email) else { throw HTTPError(.badRequest, "email: '\(c.email)' is not an e-mail address") }
            guard c.password.count >= 8, c.password.utf8.count <= 1024 else { throw HTTPError(.badRequest, "password: use 8 to 1024 characters") }
            let account = try developers.register(email: email, passwordHash: try PasswordHasher.hash(c.password))
            self.node.log.log(.info, "developer", "account registered", ["account": "\(account.id)"])
            return .json(AccountJSON(id: account.id, email: account.email), status: .created)
        }
        router.post("/api/token/") { r in
            let c = try r.seedBody(CredentialsJSON.self)
            let account = try developers.account(email: c.email)
            // An unknown address costs the same PBKDF2 as a wrong password (no account probing by timing).
            let valid = PasswordHasher.verify(c.password, against: account?.passwordHash ?? Self.dummyHash)
            guard let account, valid else { throw Self.unauthorized("no account found with the given credentials") }
            return .json(TokenPairJSON(refresh: try tokens.issue(accountId: account.id, type: "refresh"),
                                       access: try tokens.issue(accountId: account.id, type: "access")))
        }
        router.post("/api/token/refresh/") { r in
            let body = try r.seedBody(RefreshJSON.self)
            let id = try tokens.accountId(body.refresh, type: "refresh")
            guard try developers.account(id: id) != nil else { throw Self.unauthorized("the token's account no longer exists") }
            return .json(["access": try tokens.issue(accountId: id, type: "access")])
        }

        router.post("/api/developer/profiles/") { r in
            let account = try self.developer(r, allowKey: false)
            let p = try r.seedBody(DeveloperProfile.self)
            let purpose = p.purpose.trimmingCharacters(in: .whitespacesAndNewlines)
            let organization = p.organization.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !purpose.isEmpty, purpose.count <= 1000 else { throw HTTPError(.badRequest, "purpose: give 1 to 1000 characters") }
            guard organization.count <= 255 else { throw HTTPError(.badRequest, "organization: at most 255 characters") }
            let profile = try developers.createProfile(accountId: account.id, DeveloperProfile(purpose: purpose, organization: organization))
            return .json(profile, status: .created)
        }
        router.get("/api/developer/profiles/") { r in
            let account = try self.developer(r, allowKey: false)
            return .json(try developers.profile(accountId: account.id).map { [$0] } ?? [])
        }
        router.get("/api/developer/profiles/activity-summary/") { r in
            let account = try self.developer(r, allowKey: true)
            try self.requireProfile(account)
            let (days, total) = try developers.activity(accountId: account.id, endpoint: Self.readEndpoint)
            return .json(ActivitySummaryJSON(daily_activity: days, monthly_total: total, quota: self.settings.monthlyReadQuota))
        }
    }

    static let dummyHash = (try? PasswordHasher.hash(UUID().uuidString)) ?? ""

    /// A plausible address: one @, something before it, a dot in the domain, no spaces.
    static func isEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, s.utf8.count <= 254,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else { return false }
        return !s.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
    }
}
