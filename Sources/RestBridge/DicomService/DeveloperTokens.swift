import Foundation
import Node

/// The DICOM service's JWTs (seed 004 `POST /api/token/`): an access token and a refresh token,
/// HS256 under the deployment's signing secret, as djangorestframework-simplejwt issues them
/// (`token_type`, `user_id`, `jti`, `iat`, `exp`; plus `iss`/`aud` when configured). They are
/// verified with that secret alone, so tokens of the feed's identity provider never log anyone in.
struct DeveloperTokens: Sendable {
    let signer: JWTSigner
    let verifier: JWTVerifier
    let issuer: String?
    let audience: String?
    let accessSeconds: Int
    let refreshSeconds: Int

    init(config: NodeConfig) throws {
        let secret = try JWTConfiguration.signingSecret(config)
        signer = JWTSigner(secret: secret)
        verifier = JWTVerifier(hmacSecret: secret, rsaKey: nil, issuer: config.jwt.issuer, audience: config.jwt.audience,
                               leeway: TimeInterval(config.jwt.leewaySeconds))
        issuer = config.jwt.issuer
        audience = config.jwt.audience
        accessSeconds = config.jwt.accessTokenSeconds
        refreshSeconds = config.jwt.refreshTokenSeconds
    }

    func issue(accountId: Int64, type: String, now: Date = Date()) throws -> String {
        let iat = Int64(now.timeIntervalSince1970)
        var claims: [String: JSONValue] = [
            "token_type": .string(type),
            "user_id": .integer(accountId),
            "sub": .string(String(accountId)),
            "iat": .integer(iat),
            "exp": .integer(iat + Int64(type == "refresh" ? refreshSeconds : accessSeconds)),
            "jti": .string(try JWTCrypto.randomBytes(16).map { String(format: "%02x", $0) }.joined()),
        ]
        if let issuer { claims["iss"] = .string(issuer) }
        if let audience { claims["aud"] = .string(audience) }
        return try signer.sign(claims)
    }

    /// The account id of a valid token of `type` ("access" or "refresh").
    func accountId(_ token: String, type: String) throws -> Int64 {
        let claims: JWTClaims
        do { claims = try verifier.verify(token) } catch let e as JWTError { throw e.httpError }
        guard claims.string("token_type") == type else {
            throw JWTError.wrongTokenType("an \(type) token is needed here, not \(claims.string("token_type").map { "a \($0)" } ?? "a token without token_type")").httpError
        }
        guard case .integer(let id)? = claims["user_id"] else { throw JWTError.malformed("the token has no user_id").httpError }
        return id
    }
}
