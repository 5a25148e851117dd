import Foundation
import Node

struct NewAPIKeyJSON: Codable { var name: String }
struct CreatedAPIKeyJSON: Codable { var id: Int64; var name: String; var key: String; var prefix: String; var created: String }
/// A key as listed: never the key itself (only its hash is stored).
struct APIKeyJSON: Codable { var id: Int64; var name: String; var prefix: String; var created: String; var last_used: String? }

/// `/api-keys/` (seed 004 "API Key Management"): the signed-in developer's keys, managed with a
/// bearer access token.
extension DicomServiceAPI {
    static let maxKeysPerAccount = 100

    func addAPIKeyRoutes(_ router: inout Router) {
        let developers = self.developers

        router.get("/api-keys/") { r in
            let account = try self.developer(r, allowKey: false)
            return .json(try developers.keys(accountId: account.id).map {
                APIKeyJSON(id: $0.id, name: $0.name, prefix: $0.prefix, created: Self.iso($0.created), last_used: $0.lastUsed.map(Self.iso))
            })
        }
        router.post("/api-keys/") { r in
            let account = try self.developer(r, allowKey: false)
            try self.requireProfile(account)
            let name = try r.seedBody(NewAPIKeyJSON.self).name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty, name.count <= 100 else { throw HTTPError(.badRequest, "name: give 1 to 100 characters") }
            guard try developers.keys(accountId: account.id).count < Self.maxKeysPerAccount else {
                throw HTTPError(.badRequest, "an account holds at most \(Self.maxKeysPerAccount) API keys; delete one first")
            }
            let (key, prefix) = try APIKeys.generate()
            let stored = try developers.createKey(accountId: account.id, name: name, prefix: prefix, keyHash: APIKeys.hash(key))
            self.node.log.log(.info, "developer", "API key created", ["account": "\(account.id)", "key": "\(stored.id)", "prefix": prefix])
            return .json(CreatedAPIKeyJSON(id: stored.id, name: name, key: key, prefix: prefix, created: Self.iso(stored.created)), status: .created)
        }
        router.delete("/api-keys/delete/{id}/") { r in
            let account = try self.developer(r, allowKey: false)
            let id = try r.parameters.int64("id")
            guard try developers.deleteKey(id: id, accountId: account.id) else { throw HTTPError(.notFound, "you have no API key with id \(id)") }
            self.node.log.log(.info, "developer", "API key deleted", ["account": "\(account.id)", "key": "\(id)"])
            return .empty()
        }
    }

    /// Milliseconds since 1970 as ISO 8601 UTC.
    static func iso(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
