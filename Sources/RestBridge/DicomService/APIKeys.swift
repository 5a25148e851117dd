import Foundation

/// API keys of the DICOM service, shaped as djangorestframework-api-key makes them (the seed's
/// `amRqSgZZ.CLevHmvt7WJucw2gKA5sGhEUs2Fh6Svq`): an 8-character public prefix that finds the key,
/// a dot, and a 32-character secret. Only the SHA-256 of the whole key is stored (a 190-bit
/// random secret needs no slow hash), so the key is shown once, at creation.
enum APIKeys {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    static func generate() throws -> (key: String, prefix: String) {
        let prefix = try randomText(8), secret = try randomText(32)
        return (prefix + "." + secret, prefix)
    }

    /// Uniform characters of `alphabet` (rejection sampling: no modulo bias).
    static func randomText(_ count: Int) throws -> String {
        var out: [UInt8] = []
        while out.count < count {
            for b in try JWTCrypto.randomBytes(count * 2) where b < 248 && out.count < count {
                out.append(alphabet[Int(b) % alphabet.count])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hash(_ key: String) -> String {
        PasswordHasher.sha256(Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The prefix of a presented key, nil when it does not have the shape.
    static func prefix(of key: String) -> String? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 8, parts[1].utf8.count == 32,
              key.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || alphabet.contains($0) }) else { return nil }
        return String(parts[0])
    }
}
