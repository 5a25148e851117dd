import Foundation
import COpenSSL

/// Password hashes as `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>` (PBKDF2-HMAC-SHA256,
/// NIST SP 800-132; 16-byte random salt). Verification recomputes with the stored iteration count,
/// so the count can be raised later without invalidating existing hashes.
public enum PasswordHasher {
    public static let iterations = 120_000

    public static func hash(_ password: String, iterations: Int = iterations) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&salt, Int32(salt.count)) == 1 else { throw HTTPError(.internalServerError, "no random bytes for a password salt") }
        let derived = try derive(password, salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(derived).base64EncodedString())"
    }

    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let n = Int(parts[1]), n > 0, n <= 10_000_000,
              let salt = Data(base64Encoded: String(parts[2])), let expected = Data(base64Encoded: String(parts[3])),
              let derived = try? derive(password, salt: [UInt8](salt), iterations: n, length: expected.count) else { return false }
        return constantTimeEqual(derived, [UInt8](expected))
    }

    static func derive(_ password: String, salt: [UInt8], iterations: Int, length: Int = 32) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let pw = Array(password.utf8).map { CChar(bitPattern: $0) } + [0]
        let ok = PKCS5_PBKDF2_HMAC(pw, Int32(pw.count - 1), salt, Int32(salt.count), Int32(iterations), EVP_sha256(), Int32(length), &out)
        guard ok == 1 else { throw HTTPError(.internalServerError, "PBKDF2 failed") }
        return out
    }

    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var d: UInt8 = 0
        for i in 0..<a.count { d |= a[i] ^ b[i] }
        return d == 0
    }

    /// SHA-256 of `bytes` (cache keys, fingerprints).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = SHA256(bytes, bytes.count, &out)
        return out
    }
}
