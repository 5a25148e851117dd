import Foundation

/// One request as a handler sees it. The body is not read yet: `body` pulls it on demand
/// (stream it in pieces, or `body.readAll(limit:)` for the whole of it).
public struct HTTPRequest {
    public let method: HTTPMethod
    /// The request-target as sent (`/api/images?count=5`).
    public let target: String
    /// The path of the target, still percent-encoded, without the query (`/api/images`).
    public let path: String
    /// The path's segments, each percent-decoded (`["api", "images"]`).
    public let pathSegments: [String]
    /// Query parameters, decoded (`+` and `%20` are spaces).
    public let query: Parameters
    public let version: HTTPVersion
    /// Header fields; lookups ignore case.
    public let headers: HTTPHeaders
    public let body: BodyReader
    /// Parameters of the route that matched (`{id}` in `/api/images/{id}/png`).
    public internal(set) var parameters = Parameters(kind: "path parameter")
    /// "host:port" of the client.
    public let peer: String
    /// True when the request came over TLS.
    public let isSecure: Bool
    /// Path segments already consumed by router mounts; routes match the rest.
    var routeOffset = 0

    /// Builds a request (the server does this for each one it reads; handlers and tests may too).
    /// Throws 400 for a malformed target.
    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: BodyReader = BodyReader(),
                version: HTTPVersion = .http1_1, peer: String = "local", isSecure: Bool = false) throws {
        let (path, rawQuery) = try HTTPParser.splitTarget(target, method: method)
        self.method = method
        self.target = target
        self.path = String(path)
        self.pathSegments = try HTTPParser.pathSegments(path)
        if let rawQuery {
            guard let q = Parameters.parseQuery(rawQuery) else { throw HTTPError.badRequest("malformed percent-encoding in the query") }
            self.query = q
        } else {
            self.query = Parameters(kind: "query parameter")
        }
        self.version = version
        self.headers = headers
        self.body = body
        self.peer = peer
        self.isSecure = isSecure
    }

    /// The media type of the body, lowercased without parameters (`application/json`).
    public var contentType: String? { headers["Content-Type"].map { HeaderValue(parsing: $0).value } }

    /// Decodes a JSON body of at most `limit` bytes; 400 when it is not valid JSON for `T`.
    public func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int = 16 << 20, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        let bytes = try body.readAll(limit: limit)
        do {
            return try decoder.decode(T.self, from: Data(bytes))
        } catch {
            throw HTTPError(.badRequest, "malformed JSON body: \(Self.describe(error))")
        }
    }

    /// A JSON body as Foundation objects ([String: Any], [Any], ...); 400 when not JSON.
    public func jsonObject(limit: Int = 16 << 20) throws -> Any {
        let bytes = try body.readAll(limit: limit)
        do {
            return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw HTTPError(.badRequest, "malformed JSON body")
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: return "missing key \(key.stringValue)"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?, .dataCorrupted(let c)?:
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "\(path): \(c.debugDescription)"
        default: return "\(error)"
        }
    }
}
