import Foundation
import Codec
import Node

/// Seed 004, the DICOM service and its key management, at the seed's own paths (none clashes
/// with the Slicebox API: `/api/token/`, `/api/accounts/`, `/api/developer/`, `/api/dicom/`,
/// `/api/dicom-format/` and `/api-keys/`). Route groups live in files named after them.
final class DicomServiceAPI: @unchecked Sendable {
    let node: NodeServer
    let developers: DeveloperStore
    let tokens: DeveloperTokens
    /// Slicebox users: with `openRegistration` off, an administrator creates developer accounts.
    let users: Authenticator
    let settings: NodeConfig.DicomService

    /// The endpoint the monthly quota applies to, named as the seed's 429 body names it.
    static let readEndpoint = "/api/dicom/read/file/"

    init(node: NodeServer, users: Authenticator) throws {
        self.node = node
        self.users = users
        developers = DeveloperStore(index: node.index)
        tokens = try DeveloperTokens(config: node.config)
        settings = node.config.dicomService
    }

    func addRoutes(to router: inout Router) {
        addAccountRoutes(&router)
        addAPIKeyRoutes(&router)
        addFormatRoutes(&router)
        addReadFileRoute(&router)
        addGenerateRoute(&router)
    }

    // MARK: authentication

    static func unauthorized(_ message: String) -> HTTPError {
        HTTPError(.unauthorized, message, headers: ["WWW-Authenticate": "Bearer realm=\"dicom\", ApiKey realm=\"dicom\""])
    }

    /// The developer behind a request: `Authorization: Bearer <access token>` or, where
    /// `allowKey`, `Authorization: ApiKey <key>` (also `Api-Key`, djangorestframework-api-key's word).
    func developer(_ r: HTTPRequest, allowKey: Bool) throws -> DeveloperAccount {
        guard let authorization = r.headers["Authorization"] else {
            throw Self.unauthorized(allowKey ? "authentication required: Authorization: ApiKey <key> or Bearer <access token>"
                                             : "authentication required: Authorization: Bearer <access token>")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        let scheme = parts.first?.lowercased() ?? ""
        let credential = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch scheme {
        case "bearer":
            let id = try tokens.accountId(credential, type: "access")
            guard let account = try developers.account(id: id) else { throw Self.unauthorized("the token's account no longer exists") }
            return account
        case "apikey", "api-key":
            guard allowKey else { throw Self.unauthorized("this needs a bearer access token (from POST /api/token/), not an API key") }
            guard let prefix = APIKeys.prefix(of: credential), let key = try developers.key(prefix: prefix),
                  PasswordHasher.constantTimeEqual(Array(APIKeys.hash(credential).utf8), Array(key.keyHash.utf8)),
                  let account = try developers.account(id: key.accountId) else {
                throw Self.unauthorized("the API key is not valid (unknown or deleted)")
            }
            try developers.markUsed(keyId: key.id)
            return account
        default:
            throw Self.unauthorized("unsupported authorization scheme '\(parts.first ?? "")': use Bearer or ApiKey")
        }
    }

    /// 403 until the account has a developer profile (seed 004: a profile comes before API keys).
    func requireProfile(_ account: DeveloperAccount) throws {
        guard try developers.profile(accountId: account.id) != nil else {
            throw HTTPError(.forbidden, "create a developer profile first (POST /api/developer/profiles/)")
        }
    }

    // MARK: request helpers

    /// A multipart/form-data body, whole (the service needs the file in memory to read it).
    func form(_ r: HTTPRequest) throws -> [MultipartPart] {
        guard r.contentType?.lowercased() == "multipart/form-data" else {
            throw HTTPError(.unsupportedMediaType, "send the request as multipart/form-data (got \(r.contentType ?? "no Content-Type"))")
        }
        return try MultipartParser(contentType: r.headers["Content-Type"]).parseAll(r.body, limit: settings.maxUploadBytes)
    }
}

extension MultipartPart {
    /// A text field's value (UTF-8).
    var text: String { String(decoding: body, as: UTF8.self) }
}
