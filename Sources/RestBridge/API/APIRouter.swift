import Foundation
import Node

/// A Router whose routes say which role they need (research notes §2 "Roles"): every handler
/// gets the authenticated user, and a public route says so explicitly.
struct APIRouter {
    typealias Handler = @Sendable (HTTPRequest, AuthenticatedUser) throws -> HTTPResponse
    var router = Router()
    let auth: Authenticator

    init(auth: Authenticator) { self.auth = auth }

    mutating func add(_ method: HTTPMethod, _ pattern: String, _ role: UserRole, _ handler: @escaping Handler) {
        let auth = self.auth
        router.add(method, pattern) { request in
            let user = try auth.authenticate(request)
            try Authenticator.require(role, user)
            return try handler(request, user)
        }
    }

    mutating func get(_ p: String, _ role: UserRole = .user, _ h: @escaping Handler) { add(.get, p, role, h) }
    mutating func post(_ p: String, _ role: UserRole = .user, _ h: @escaping Handler) { add(.post, p, role, h) }
    mutating func put(_ p: String, _ role: UserRole = .user, _ h: @escaping Handler) { add(.put, p, role, h) }
    mutating func delete(_ p: String, _ role: UserRole = .user, _ h: @escaping Handler) { add(.delete, p, role, h) }

    /// A route anyone may call (login, health, box transactions authenticated by their token).
    mutating func publicRoute(_ method: HTTPMethod, _ p: String, _ h: @escaping Router.Handler) { router.add(method, p, h) }
}

extension NodeError: HTTPStatusConvertible {
    public var httpStatus: HTTPStatus {
        switch self {
        case .invalidData, .badRequest, .duplicate: return .badRequest
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .unsupported: return .notImplemented
        case .storage: return .internalServerError
        }
    }
    public var httpMessage: String { description }
}

extension HTTPRequest {
    /// A JSON body, whatever the seed's content type: `application/json`, `application/octet-stream`
    /// (Slicebox's clients send JSON under it) or the first part of `multipart/form-data`.
    func seedBody<T: Decodable>(_ type: T.Type, limit: Int = 16 << 20) throws -> T {
        var bytes: [UInt8]
        if let ct = contentType, ct.lowercased() == "multipart/form-data" {
            let parts = try MultipartParser(contentType: headers["Content-Type"]).parseAll(body, limit: limit)
            guard let first = parts.first else { throw HTTPError(.badRequest, "the multipart body has no part") }
            bytes = first.body
        } else {
            bytes = try body.readAll(limit: limit)
        }
        if bytes.isEmpty { bytes = Array("null".utf8) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw HTTPError(.badRequest, "the JSON body lacks '\((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(t, ctx) {
            throw HTTPError(.badRequest, "the JSON body has the wrong type at '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))' (expected \(t))")
        } catch let DecodingError.valueNotFound(t, ctx) {
            throw HTTPError(.badRequest, "the JSON body lacks a value at '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))' (expected \(t))")
        } catch {
            throw HTTPError(.badRequest, "the body is not the JSON expected: \(error)")
        }
    }

    /// Seed paging: `startindex` (default 0) and `count` (default 20), never negative (400).
    func paging(defaultCount: Int = 20) throws -> (startIndex: Int, count: Int) {
        let start = try query.int("startindex", default: 0)
        let count = try query.int("count", default: defaultCount)
        guard start >= 0, count >= 0 else { throw HTTPError(.badRequest, "startindex and count must not be negative") }
        return (start, min(count, 1_000_000))
    }

    func id(_ name: String = "id") throws -> Int64 { try parameters.int64(name) }
}

/// `{"value": "…"}`: how the seed wraps every DICOM property.
struct PropertyValue: Codable, Sendable {
    var value: String
    init(_ v: String) { value = v }
}
