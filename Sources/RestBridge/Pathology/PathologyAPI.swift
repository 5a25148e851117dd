import Foundation
import Node

/// Seed 001, the pathology image API, under `/pathology`: image records, signed uploads with the
/// node as the upload endpoint, downloads, sharing, logs and the analysis pipeline, over the
/// node's accounts (basic auth or the session cookie, as `/api`). Administrators see every
/// image; a user sees the images they own and those shared with them (`PathologyService.access`):
/// an image they cannot see answers 404, one they may see but not change answers 403.
final class PathologyAPI: @unchecked Sendable {
    let service: PathologyService
    let auth: Authenticator
    let signer: UploadSigner
    /// This server's URL (`http.publicURL`, else the one it listens at): for requests without a Host.
    let serverURL: PublicURL
    /// `http.publicURL` when configured: then every URL the API gives starts with it.
    let configuredURL: String?
    let maxUploadBytes: Int64
    let log: NodeLog

    static let prefix = "/pathology"

    init(node: NodeServer, auth: Authenticator, publicURL: PublicURL) throws {
        let config = node.config.pathology
        service = try PathologyService(index: node.index, dataFolder: node.config.dataFolder, config: config, log: node.log)
        signer = try UploadSigner.load(config: config, dataFolder: node.config.dataFolder)
        self.auth = auth
        serverURL = publicURL
        configuredURL = node.config.http.publicURL
        maxUploadBytes = config.maxUploadBytes > 0 ? min(config.maxUploadBytes, node.config.http.maxBodyBytes) : node.config.http.maxBodyBytes
        log = node.log
    }

    func start() throws { try service.start() }
    func stop() { service.stop() }

    func router() -> Router {
        var api = APIRouter(auth: auth)
        addPathologyImageRoutes(&api)
        addPathologySharingRoutes(&api)
        addPathologyLogRoutes(&api)
        addPathologyAnalysisRoutes(&api)
        addPathologyFileRoutes(&api)
        return api.router
    }

    // MARK: Helpers for the routes

    /// The URL clients reach `/pathology` at: `http.publicURL` when configured (behind a proxy),
    /// else the host the client asked for (its Host header), else the server's own.
    func base(_ r: HTTPRequest) -> String {
        if let configuredURL { return configuredURL + Self.prefix }
        if let host = r.headers["Host"], !host.isEmpty, !host.contains("/"), !host.contains(" ") {
            return (r.isSecure ? "https://" : "http://") + host + Self.prefix
        }
        return serverURL.value + Self.prefix
    }

    static func viewer(_ user: AuthenticatedUser) -> PathologyViewer {
        PathologyViewer(userId: user.id, isAdministrator: user.role.includes(.administrator))
    }

    /// The image named by `reference` (its `image_unique_id`, or its numeric `id`) if `user` may
    /// at least `needed` it: 404 when they cannot see it, 403 when they may see but not change it.
    func image(_ reference: String, _ user: AuthenticatedUser, _ needed: PathologyAccess = .read) throws -> PathologyImage {
        let found: PathologyImage?
        if PathologyFiles.isUniqueId(reference) {
            found = try service.image(uniqueId: reference)
        } else if let id = Int64(reference) {
            found = try service.image(id: id)
        } else {
            throw HTTPError(.badRequest, "'\(reference)' is neither an image_unique_id (32 hex digits) nor an image id")
        }
        guard let image = found else { throw HTTPError(.notFound, "no image \(reference)") }
        let access = service.access(image, for: Self.viewer(user))
        guard access != .none else { throw HTTPError(.notFound, "no image \(reference)") }
        guard access >= needed else {
            throw HTTPError(.forbidden, "image \(reference) is shared with user '\(user.name)' but belongs to user \(image.ownerId): only its owner or an administrator may do this")
        }
        return image
    }

    /// A JSON object body (`application/json`, or the first part of a multipart form).
    static func body(_ r: HTTPRequest) throws -> [String: Any] {
        if r.contentType == "multipart/form-data" {
            // Form fields as an object, as HTML forms send them.
            var object: [String: Any] = [:]
            for part in try MultipartParser(contentType: r.headers["Content-Type"]).parseAll(r.body, limit: 1 << 20) {
                if let name = part.name { object[name] = String(decoding: part.body, as: UTF8.self) }
            }
            return object
        }
        let bytes = try r.body.readAll(limit: 1 << 20)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw HTTPError(.badRequest, "the body must be a JSON object")
        }
        return object
    }

    /// `object[name]` as text: strings as they are, integers as digits; nil when absent.
    static func text(_ object: [String: Any], _ name: String) throws -> String? {
        guard let value = object[name] else { return nil }
        if value is NSNull { throw HTTPError(.badRequest, "'\(name)' cannot be null: leave it out to keep it as it is") }
        if let s = value as? String { return s.trimmingCharacters(in: .whitespaces) }
        if let n = value as? NSNumber {
            if let i = Int64(exactly: n.doubleValue) { return String(i) }
            return n.stringValue
        }
        throw HTTPError(.badRequest, "'\(name)' must be a string or a number")
    }

    /// `object[name]` as an integer (a number or a string of digits).
    static func int(_ object: [String: Any], _ name: String) throws -> Int64? {
        guard let t = try text(object, name) else { return nil }
        guard let v = Int64(t) else { throw HTTPError(.badRequest, "'\(name)' must be an integer, not '\(t)'") }
        return v
    }

    static func refuseUnknownKeys(_ object: [String: Any], allowed: Set<String>) throws {
        let unknown = Set(object.keys).subtracting(allowed).sorted()
        guard unknown.isEmpty else {
            throw HTTPError(.badRequest, "unknown field(s) \(unknown.joined(separator: ", ")); allowed: \(allowed.sorted().joined(separator: ", "))")
        }
    }
}
