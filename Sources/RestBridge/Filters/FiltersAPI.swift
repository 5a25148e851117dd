import Foundation
import Node

/// Seed 002, the filters service API (`/images`, `/images/modality`, `/images/{id}`,
/// `/images/{id}/media`), served at the root as the seed gives its paths (they do not clash
/// with seed 003, which is all under `/api`), plus the modality-session registry
/// (`/modality-sessions…`) that `POST /images/modality` refers to. Every route takes HTTP Basic
/// auth with the node's users, as the seed's "Authorization: BasicAuth" says; errors are
/// `{"error": "…"}`.
final class FiltersAPI: @unchecked Sendable {
    let node: NodeServer
    let auth: Authenticator

    /// `http.publicURL`, else this server's own (known once it listens): resources' `url` starts with it.
    let publicURL: PublicURL

    init(node: NodeServer, auth: Authenticator, publicURL: PublicURL) {
        self.node = node
        self.auth = auth
        self.publicURL = publicURL
    }

    var baseURL: String {
        let v = publicURL.value
        return v.hasSuffix("/") ? String(v.dropLast()) : v
    }

    var resources: ImageResources { node.imageResources }
    var sessions: ModalitySessions { node.modalitySessions }

    /// Adds the routes to `root` with their full paths.
    func addRoutes(to root: inout Router) {
        addImageResourceRoutes(&root)
        addModalitySessionRoutes(&root)
    }

    /// A handler that runs only for a request with valid Basic credentials; 401 with
    /// `WWW-Authenticate` (RFC 7617) otherwise. Session cookies of seed 003 do not count here.
    func basic(_ handler: @escaping @Sendable (HTTPRequest, UserAccount) throws -> HTTPResponse) -> Router.Handler {
        let auth = self.auth
        return { request in
            guard let header = request.headers["Authorization"] else {
                throw Authenticator.unauthorized("this API requires HTTP Basic authentication")
            }
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "basic",
                  let decoded = Data(base64Encoded: parts[1].trimmingCharacters(in: .whitespaces)),
                  let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else {
                throw Authenticator.unauthorized("the Authorization header is not valid Basic credentials")
            }
            guard let account = try auth.check(name: String(text[..<colon]), password: String(text[text.index(after: colon)...])) else {
                throw Authenticator.unauthorized("unknown user or wrong password")
            }
            return try handler(request, account)
        }
    }

    /// A JSON object body decoded into `T`; 400 naming the field that is missing or wrong.
    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String, root: String = "") throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw HTTPError(.badRequest, "\(what) lacks '\(Self.path(ctx.codingPath + [key], root))'")
        } catch let DecodingError.typeMismatch(t, ctx) {
            throw HTTPError(.badRequest, "\(what) has the wrong type at '\(Self.path(ctx.codingPath, root))' (expected \(Self.typeName(t)))")
        } catch let DecodingError.valueNotFound(t, ctx) {
            throw HTTPError(.badRequest, "\(what) has null at '\(Self.path(ctx.codingPath, root))' (expected \(Self.typeName(t)))")
        } catch let DecodingError.dataCorrupted(ctx) {
            let at = ctx.codingPath.isEmpty ? "" : " at '\(Self.path(ctx.codingPath, root))'"
            throw HTTPError(.badRequest, "\(what) is not valid JSON\(at): \(ctx.debugDescription)")
        } catch {
            throw HTTPError(.badRequest, "\(what) is not the JSON expected: \(error)")
        }
    }

    private static func path(_ keys: [CodingKey], _ root: String) -> String {
        ((root.isEmpty ? [] : [root]) + keys.map(\.stringValue)).joined(separator: ".")
    }

    private static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is String.Type: return "a string"
        default: return "an object"
        }
    }

    /// ISO 8601 UTC with milliseconds, as the seed's examples (`2021-05-03T14:56:00.000Z`).
    static func timestamp(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, Int(ms % 1000))
    }
}
