import Foundation

/// Bearer tokens of the feed API (RFC 6750): a JWT the configured keys verify, carrying the
/// permission a route needs. The permission is looked for in the claims identity providers use:
/// `scope` (OAuth 2.0, RFC 8693 4.2: space-separated), `scp` (Microsoft Entra ID: space-separated
/// string or array), `roles` (Entra ID app roles) and `permissions` (Auth0), all compared exactly.
struct FeedAuth: Sendable {
    let verifier: JWTVerifier

    static let write = "Data.Write"
    static let read = "Data.Read"

    /// The token's claims if it is valid and grants one of `anyOf`: 401 without a valid token,
    /// 403 (`insufficient_scope`) with one that lacks the permission.
    func require(_ request: HTTPRequest, anyOf needed: [String]) throws -> JWTClaims {
        guard let authorization = request.headers["Authorization"] else {
            throw HTTPError(.unauthorized, "a bearer token (JWT) is required: Authorization: Bearer <token>",
                            headers: ["WWW-Authenticate": "Bearer realm=\"feed\""])
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw HTTPError(.unauthorized, "only bearer tokens are accepted here: Authorization: Bearer <token>",
                            headers: ["WWW-Authenticate": "Bearer realm=\"feed\""])
        }
        let claims: JWTClaims
        do { claims = try verifier.verify(parts[1].trimmingCharacters(in: .whitespaces)) } catch let e as JWTError { throw e.httpError }
        // A refresh token of the DICOM service is not an access token (its own keys differ, but
        // an operator may configure the same secret for both).
        if claims.string("token_type") == "refresh" { throw JWTError.wrongTokenType("a refresh token cannot be used to call the API").httpError }
        let granted = Self.permissions(claims)
        guard needed.contains(where: granted.contains) else {
            throw HTTPError(.forbidden, "the token lacks the permission \(needed.joined(separator: " or "))",
                            headers: ["WWW-Authenticate": "Bearer error=\"insufficient_scope\", scope=\"\(needed.joined(separator: " "))\""])
        }
        return claims
    }

    static func permissions(_ claims: JWTClaims) -> Set<String> {
        var granted = Set<String>()
        for name in ["scope", "scp"] {
            for v in claims.strings(name) { granted.formUnion(v.split(separator: " ").map(String.init)) }
        }
        for name in ["roles", "permissions"] { granted.formUnion(claims.strings(name)) }
        return granted
    }
}
