import Foundation
import Node

/// Turns the `jwt` settings of the configuration into verifiers and a signer.
enum JWTConfiguration {
    /// The verifier of the feed's bearer tokens: HS256 with `jwt.hs256Secret`, RS256 with the
    /// key in `jwt.rs256PublicKey`, either or both; with neither every token is refused.
    static func feedVerifier(_ config: NodeConfig) throws -> JWTVerifier {
        let jwt = config.jwt
        var rsa: RSAPublicKey?
        if let path = jwt.rs256PublicKey {
            do { rsa = try RSAPublicKey(path: path) } catch { throw NodeError.badRequest("jwt.rs256PublicKey: \(error)") }
        }
        return JWTVerifier(hmacSecret: jwt.hs256Secret.map { Array($0.utf8) }, rsaKey: rsa,
                           issuer: jwt.issuer, audience: jwt.audience, leeway: TimeInterval(jwt.leewaySeconds))
    }

    /// The secret signing the DICOM service's tokens: `jwt.signingSecret`, else 32 random bytes
    /// generated on first start and kept (base64, mode 0600) in `<dataFolder>/jwt-signing-secret`,
    /// so tokens survive a restart and differ between deployments.
    static func signingSecret(_ config: NodeConfig) throws -> [UInt8] {
        if let s = config.jwt.signingSecret { return Array(s.utf8) }
        let path = config.dataFolder + "/jwt-signing-secret"
        if let existing = FileManager.default.contents(atPath: path) {
            let text = String(decoding: existing, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.utf8.count >= 32 else { throw NodeError.storage("\(path) holds fewer than 32 characters; delete it to make a new secret") }
            return Array(text.utf8)
        }
        let text = Data(try JWTCrypto.randomBytes(32)).base64EncodedString()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            // Another process created it first: use theirs.
            if errno == EEXIST { return try signingSecret(config) }
            throw NodeError.storage("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((text + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            unlink(path)
            throw NodeError.storage("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return Array(text.utf8)
    }
}
