import XCTest
import Foundation
import Node
import TestPeers
@testable import RestBridge

/// Tokens made with the `openssl` command line (HMAC and RSA signatures), so the signer shares no
/// code with the verifier under test.
struct OpenSSLTokens {
    let folder: String
    let hmacSecret: String
    /// RSA key pair the node trusts, and a second one it does not.
    let privateKey: String, publicKey: String
    let otherPrivateKey: String

    init(hmacSecret: String = "feed-test-secret-0123456789-abcdefghijklmnop") throws {
        try PeerTools.requireTool("/usr/bin/openssl")
        folder = PeerTools.temporaryDirectory("jwt")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.hmacSecret = hmacSecret
        privateKey = folder + "/private.pem"
        publicKey = folder + "/public.pem"
        otherPrivateKey = folder + "/other.pem"
        try Self.openssl(["genrsa", "-out", privateKey, "2048"])
        try Self.openssl(["rsa", "-in", privateKey, "-pubout", "-out", publicKey])
        try Self.openssl(["genrsa", "-out", otherPrivateKey, "2048"])
    }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }

    @discardableResult
    static func openssl(_ args: [String]) throws -> Data {
        let (status, out, err) = try PeerTools.run("/usr/bin/openssl", args, timeout: 60)
        guard status == 0 else { throw PeerMissing("openssl \(args.joined(separator: " ")) failed: \(err)") }
        return out
    }

    static func b64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func json(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) }

    /// The signing input `header.payload` written to a file for openssl.
    func signingInput(_ header: [String: Any], _ claims: [String: Any]) throws -> (String, String) {
        let input = Self.b64url(try Self.json(header)) + "." + Self.b64url(try Self.json(claims))
        let path = folder + "/input-\(UUID().uuidString)"
        try Data(input.utf8).write(to: URL(fileURLWithPath: path))
        return (input, path)
    }

    /// HS256 with `key` (default: the secret the node is configured with).
    func hs256(_ claims: [String: Any], key: [UInt8]? = nil, header: [String: Any] = ["alg": "HS256", "typ": "JWT"]) throws -> String {
        let (input, path) = try signingInput(header, claims)
        defer { unlink(path) }
        let hex = (key ?? Array(hmacSecret.utf8)).map { String(format: "%02x", $0) }.joined()
        let mac = try Self.openssl(["dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:\(hex)", "-binary", path])
        return input + "." + Self.b64url(mac)
    }

    /// RS256 (RSASSA-PKCS1-v1_5 SHA-256) with the trusted key, or `keyFile`.
    func rs256(_ claims: [String: Any], keyFile: String? = nil) throws -> String {
        let (input, path) = try signingInput(["alg": "RS256", "typ": "JWT"], claims)
        defer { unlink(path) }
        let signature = try Self.openssl(["dgst", "-sha256", "-sign", keyFile ?? privateKey, "-binary", path])
        return input + "." + Self.b64url(signature)
    }

    /// `alg: none` with an empty signature (RFC 7519 6.1's unsecured JWT).
    func unsigned(_ claims: [String: Any], alg: String = "none") throws -> String {
        Self.b64url(try Self.json(["alg": alg, "typ": "JWT"])) + "." + Self.b64url(try Self.json(claims)) + "."
    }
}

/// Bearer tokens of the feed API, through curl: signature, expiry, not-before, issuer, audience,
/// and the attacks RFC 8725 warns of (alg none, an RSA public key used as an HMAC secret).
final class JWTTests: XCTestCase {
    static let issuer = "https://idp.example.org/tenant"
    static let audience = "dicomnode-feed"
    var tokens: OpenSSLTokens!
    var node: TestNode!
    var root: String { "http://127.0.0.1:\(node.bridge.port)" }

    override func setUpWithError() throws {
        tokens = try OpenSSLTokens()
        let t = tokens!
        node = try TestNode {
            $0.jwt.hs256Secret = t.hmacSecret
            $0.jwt.rs256PublicKey = t.publicKey
            $0.jwt.issuer = Self.issuer
            $0.jwt.audience = Self.audience
            $0.jwt.leewaySeconds = 60
        }
    }

    override func tearDown() {
        node?.stop()
        tokens?.remove()
    }

    func claims(_ extra: [String: Any] = [:], scope: String = "Data.Write") -> [String: Any] {
        let now = Int(Date().timeIntervalSince1970)
        var c: [String: Any] = ["sub": "feeder", "iss": Self.issuer, "aud": Self.audience, "iat": now, "exp": now + 600, "scope": scope]
        for (k, v) in extra { c[k] = v }
        return c
    }

    /// POST one record with `token`; the status and the body.
    func post(_ token: String?) throws -> Curl.Reply {
        var extra = ["-H", "Content-Type: application/json", "--data-binary", #"[{"id":"IMJWT","donor_id":"D1"}]"#]
        if let token { extra += ["-H", "Authorization: Bearer \(token)"] }
        return try Curl(auth: []).call("POST", root + "/feed/api/images", extra)
    }

    func assertRefused(_ token: String, _ reason: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let reply = try post(token)
        XCTAssertEqual(reply.status, 401, reply.text, file: file, line: line)
        XCTAssertTrue(reply.text.contains(reason), "expected '\(reason)' in \(reply.text)", file: file, line: line)
        XCTAssertTrue(reply.headers.lowercased().contains("www-authenticate: bearer"), reply.headers, file: file, line: line)
    }

    func testValidHS256AndRS256TokensAreAccepted() throws {
        XCTAssertEqual(try post(try tokens.hs256(claims())).status, 200)
        XCTAssertEqual(try post(try tokens.rs256(claims())).status, 200)
        // aud as an array holding ours (RFC 7519 4.1.3), expiry just inside the leeway.
        XCTAssertEqual(try post(try tokens.rs256(claims(["aud": ["other", Self.audience]]))).status, 200)
        XCTAssertEqual(try post(try tokens.hs256(claims(["exp": Int(Date().timeIntervalSince1970) - 20]))).status, 200)
        let record = try Curl(auth: ["-H", "Authorization: Bearer \(try tokens.hs256(claims(scope: "Data.Read")))"]).get(root + "/feed/api/images/IMJWT")
        XCTAssertEqual(record.status, 200, record.text)
        XCTAssertEqual(try record.object()["donor_id"] as? String, "D1")
    }

    func testExpiredAndNotYetValidTokensAreRefused() throws {
        let now = Int(Date().timeIntervalSince1970)
        try assertRefused(try tokens.hs256(claims(["exp": now - 3600])), "expired")
        try assertRefused(try tokens.rs256(claims(["exp": now - 61 - 5])), "expired")
        try assertRefused(try tokens.hs256(claims(["nbf": now + 3600])), "not valid yet")
        var noExpiry = claims()
        noExpiry["exp"] = nil
        try assertRefused(try tokens.hs256(noExpiry), "no exp")
        try assertRefused(try tokens.hs256(claims(["exp": "tomorrow"])), "exp must be a number")
        // nbf a little in the future is inside the leeway.
        XCTAssertEqual(try post(try tokens.hs256(claims(["nbf": now + 30]))).status, 200)
    }

    func testWrongIssuerOrAudienceIsRefused() throws {
        try assertRefused(try tokens.hs256(claims(["iss": "https://evil.example"])), "another issuer")
        var noIssuer = claims()
        noIssuer["iss"] = nil
        try assertRefused(try tokens.rs256(noIssuer), "another issuer")
        try assertRefused(try tokens.rs256(claims(["aud": "someone-else"])), "another audience")
        try assertRefused(try tokens.hs256(claims(["aud": ["a", "b"]])), "another audience")
    }

    func testAlgNoneIsRefused() throws {
        for alg in ["none", "None", "NONE"] {
            try assertRefused(try tokens.unsigned(claims(), alg: alg), "alg none")
        }
        // Unsigned with a signature appended anyway, and an algorithm we do not support.
        let hs = try tokens.hs256(claims())
        let forged = OpenSSLTokens.b64url(try OpenSSLTokens.json(["alg": "none"])) + "." + hs.split(separator: ".")[1] + "." + hs.split(separator: ".")[2]
        try assertRefused(forged, "alg none")
        try assertRefused(try tokens.hs256(claims(), header: ["alg": "HS512", "typ": "JWT"]), "HS512 is not accepted")
    }

    func testRS256PublicKeyUsedAsHMACSecretIsRefused() throws {
        // The classic confusion: sign HS256 with the server's public key as the secret.
        let pem = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: tokens.publicKey)))
        try assertRefused(try tokens.hs256(claims(), key: pem), "signature does not verify")
        // On a node configured for RS256 only, HS256 is not accepted at all.
        node.stop()
        let t = tokens!
        node = try TestNode { $0.jwt.rs256PublicKey = t.publicKey; $0.jwt.issuer = Self.issuer; $0.jwt.audience = Self.audience }
        try assertRefused(try tokens.hs256(claims(), key: pem), "HS256 tokens are not accepted")
        XCTAssertEqual(try post(try tokens.rs256(claims())).status, 200)
    }

    func testBadSignaturesAreRefused() throws {
        // Signed by a key the node does not trust.
        try assertRefused(try tokens.rs256(claims(), keyFile: tokens.otherPrivateKey), "signature does not verify")
        try assertRefused(try tokens.hs256(claims(), key: Array("another-secret-of-sufficient-length-123".utf8)), "signature does not verify")
        // A valid token whose payload is swapped for one with more permissions.
        let weak = try tokens.rs256(claims(scope: "Data.Read")).split(separator: ".")
        let strong = try tokens.hs256(claims()).split(separator: ".")
        try assertRefused("\(weak[0]).\(strong[1]).\(weak[2])", "signature does not verify")
        // One flipped bit of the signature.
        var parts = try tokens.hs256(claims()).split(separator: ".").map(String.init)
        var sig = Array(parts[2].utf8)
        sig[5] = sig[5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        parts[2] = String(decoding: sig, as: UTF8.self)
        try assertRefused(parts.joined(separator: "."), "signature does not verify")
        try assertRefused("not.a-token", "three dot-separated parts")
        try assertRefused("a.b.c.d.e", "JWE")
        try assertRefused(OpenSSLTokens.b64url(try OpenSSLTokens.json(["alg": "HS256"])) + ".e30.%%%", "not base64url")
    }

    func testMissingTokenIs401AndMissingPermissionIs403() throws {
        let none = try post(nil)
        XCTAssertEqual(none.status, 401, none.text)
        XCTAssertTrue(none.headers.contains("WWW-Authenticate: Bearer"), none.headers)
        XCTAssertEqual(try Curl().call("POST", root + "/feed/api/images", ["--data-binary", "[]"]).status, 401)  // basic auth is not a bearer token
        let readOnly = try post(try tokens.hs256(claims(scope: "Data.Read")))
        XCTAssertEqual(readOnly.status, 403, readOnly.text)
        XCTAssertTrue(readOnly.headers.contains("insufficient_scope"), readOnly.headers)
        // The permission may come in scope (space-separated), scp (string or array), roles or permissions.
        XCTAssertEqual(try post(try tokens.rs256(claims(scope: "openid profile Data.Write"))).status, 200)
        var viaRoles = claims()
        viaRoles["scope"] = nil
        viaRoles["roles"] = ["Data.Write"]
        XCTAssertEqual(try post(try tokens.rs256(viaRoles)).status, 200)
        viaRoles["roles"] = nil
        viaRoles["scp"] = ["Data.Read", "Data.Write"]
        XCTAssertEqual(try post(try tokens.hs256(viaRoles)).status, 200)
        viaRoles["scp"] = "data.write"  // names are compared exactly
        XCTAssertEqual(try post(try tokens.hs256(viaRoles)).status, 403)
        // A refresh token is not an access token.
        try assertRefused(try tokens.hs256(claims(["token_type": "refresh"])), "refresh token")
    }

    func testVerifierRefusesWeakOrNonRSAKeysAtStart() throws {
        let small = tokens.folder + "/small.pem", smallPublic = tokens.folder + "/small-public.pem"
        try OpenSSLTokens.openssl(["genrsa", "-out", small, "1024"])
        try OpenSSLTokens.openssl(["rsa", "-in", small, "-pubout", "-out", smallPublic])
        var config = NodeConfig()
        config.jwt.rs256PublicKey = smallPublic
        XCTAssertThrowsError(try JWTConfiguration.feedVerifier(config)) { XCTAssertTrue("\($0)".contains("2048"), "\($0)") }
        let ec = tokens.folder + "/ec.pem", ecPublic = tokens.folder + "/ec-public.pem"
        try OpenSSLTokens.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ec])
        try OpenSSLTokens.openssl(["ec", "-in", ec, "-pubout", "-out", ecPublic])
        config.jwt.rs256PublicKey = ecPublic
        XCTAssertThrowsError(try JWTConfiguration.feedVerifier(config)) { XCTAssertTrue("\($0)".contains("not an RSA key"), "\($0)") }
        config.jwt.rs256PublicKey = tokens.privateKey + ".missing"
        XCTAssertThrowsError(try JWTConfiguration.feedVerifier(config))
        // A certificate works as well as a bare public key.
        let cert = tokens.folder + "/cert.pem"
        try OpenSSLTokens.openssl(["req", "-new", "-x509", "-key", tokens.privateKey, "-subj", "/CN=idp", "-days", "1", "-out", cert])
        config.jwt.rs256PublicKey = cert
        let verifier = try JWTConfiguration.feedVerifier(config)
        XCTAssertEqual(try verifier.verify(try tokens.rs256(claims())).string("sub"), "feeder")
        // Short HMAC secrets are refused by the configuration (RFC 7518 3.2).
        var short = NodeConfig()
        short.jwt.hs256Secret = "short"
        XCTAssertThrowsError(try short.validated())
    }
}
