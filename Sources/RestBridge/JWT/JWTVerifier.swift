import Foundation

/// Why a token is refused. Every case is a 401 with `WWW-Authenticate: Bearer
/// error="invalid_token"` (RFC 6750 3.1).
public enum JWTError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    /// `alg` is `none` or not one this verifier has a key for (RFC 8725 2.1, 3.1).
    case algorithmRefused(String)
    case badSignature
    case expired
    case notYetValid
    case wrongIssuer
    case wrongAudience
    case wrongTokenType(String)

    public var description: String {
        switch self {
        case .malformed(let m): return "malformed token: \(m)"
        case .algorithmRefused(let m): return m
        case .badSignature: return "the token's signature does not verify"
        case .expired: return "the token has expired"
        case .notYetValid: return "the token is not valid yet (nbf is in the future)"
        case .wrongIssuer: return "the token was issued by another issuer"
        case .wrongAudience: return "the token is meant for another audience"
        case .wrongTokenType(let m): return m
        }
    }

    var httpError: HTTPError {
        let escaped = description.replacingOccurrences(of: "\"", with: "'")
        return HTTPError(.unauthorized, description,
                         headers: ["WWW-Authenticate": "Bearer error=\"invalid_token\", error_description=\"\(escaped)\""])
    }
}

/// The claims of a verified token (RFC 7519 4).
public struct JWTClaims: Sendable, Equatable {
    public let values: [String: JSONValue]
    public subscript(name: String) -> JSONValue? { values[name] }
    public func string(_ name: String) -> String? { values[name]?.string }
    /// A claim that is one string or an array of strings (`aud`, `scp`, `roles`).
    public func strings(_ name: String) -> [String] {
        switch values[name] {
        case .string(let s)?: return [s]
        case .array(let a)?: return a.compactMap(\.string)
        default: return []
        }
    }
}

/// Verifies compact JWS tokens (RFC 7515 7.1) signed HS256 or RS256, following the JWT best
/// current practices (RFC 8725): the algorithm is checked against the keys configured, never
/// chosen by the token (so an RS256 public key can never serve as an HMAC secret, and `none` is
/// refused); `exp` is required, `nbf` honoured, both with a small leeway; `iss` and `aud` must
/// match when configured.
public struct JWTVerifier: Sendable {
    /// Secret for HS256; nil refuses HS256 tokens.
    var hmacSecret: [UInt8]?
    /// Key for RS256; nil refuses RS256 tokens.
    var rsaKey: RSAPublicKey?
    var issuer: String?
    var audience: String?
    var leeway: TimeInterval

    init(hmacSecret: [UInt8]?, rsaKey: RSAPublicKey?, issuer: String?, audience: String?, leeway: TimeInterval) {
        self.hmacSecret = hmacSecret
        self.rsaKey = rsaKey
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
    }

    /// The claims of `token` if it passes every check.
    public func verify(_ token: String, now: Date = Date()) throws -> JWTClaims {
        guard token.utf8.count <= 16_384 else { throw JWTError.malformed("longer than 16 KiB") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 5 { throw JWTError.malformed("encrypted tokens (JWE) are not accepted") }
        guard parts.count == 3 else { throw JWTError.malformed("a JWS in compact form has three dot-separated parts") }
        guard let headerBytes = Base64URL.decode(parts[0]), let header = (try? JSONValue.parse(headerBytes))?.object else {
            throw JWTError.malformed("the header is not base64url-encoded JSON")
        }
        guard let alg = header["alg"]?.string else { throw JWTError.malformed("the header has no alg") }
        // RFC 7515 4.1.11: a critical extension we do not understand makes the token invalid.
        if header["crit"] != nil { throw JWTError.malformed("critical header extensions (crit) are not supported") }
        guard let signature = Base64URL.decode(parts[2]) else { throw JWTError.malformed("the signature is not base64url") }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))

        switch alg {
        case "HS256":
            guard let secret = hmacSecret else { throw JWTError.algorithmRefused("HS256 tokens are not accepted here (no HS256 secret is configured)") }
            let expected = JWTCrypto.hmacSHA256(key: secret, data: signingInput)
            guard PasswordHasher.constantTimeEqual(expected, signature) else { throw JWTError.badSignature }
        case "RS256":
            guard let key = rsaKey else { throw JWTError.algorithmRefused("RS256 tokens are not accepted here (no RS256 public key is configured)") }
            guard key.verifySHA256(signature: signature, data: signingInput) else { throw JWTError.badSignature }
        default:
            if alg.lowercased() == "none" { throw JWTError.algorithmRefused("unsigned tokens (alg none) are refused") }
            throw JWTError.algorithmRefused("the algorithm \(alg) is not accepted (HS256 or RS256)")
        }

        guard let payloadBytes = Base64URL.decode(parts[1]), let claims = (try? JSONValue.parse(payloadBytes))?.object else {
            throw JWTError.malformed("the payload is not base64url-encoded JSON")
        }
        let t = now.timeIntervalSince1970
        // RFC 7519 4.1.4: reject on or after exp; we require exp so no token lives forever.
        guard let exp = claims["exp"] else { throw JWTError.malformed("the token has no exp (expiry) claim") }
        guard let expiry = exp.number else { throw JWTError.malformed("exp must be a number of seconds") }
        guard t < expiry + leeway else { throw JWTError.expired }
        if let nbf = claims["nbf"] {
            guard let notBefore = nbf.number else { throw JWTError.malformed("nbf must be a number of seconds") }
            guard t + leeway >= notBefore else { throw JWTError.notYetValid }
        }
        if let iat = claims["iat"], iat.number == nil { throw JWTError.malformed("iat must be a number of seconds") }
        let result = JWTClaims(values: claims)
        if let issuer {
            guard result.string("iss") == issuer else { throw JWTError.wrongIssuer }
        }
        if let audience {
            // RFC 7519 4.1.3: aud is one string or an array; ours must be among them.
            guard result.strings("aud").contains(audience) else { throw JWTError.wrongAudience }
        }
        return result
    }
}

/// Signs HS256 tokens (the DICOM service's access and refresh tokens).
struct JWTSigner: Sendable {
    let secret: [UInt8]

    func sign(_ claims: [String: JSONValue]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Base64URL.encode([UInt8](try encoder.encode(JSONValue.object(claims))))
        let input = header + "." + payload
        return input + "." + Base64URL.encode(JWTCrypto.hmacSHA256(key: secret, data: Array(input.utf8)))
    }
}
