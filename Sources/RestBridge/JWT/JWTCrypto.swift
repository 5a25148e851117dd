import Foundation
import COpenSSL

/// The two JWS algorithms the node accepts (RFC 7518 3.2 HS256, 3.3 RS256), through OpenSSL.
enum JWTCrypto {
    /// HMAC-SHA256 of `data` under `key`.
    static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, &out, &length)
            }
        }
        precondition(ok != nil && length == 32, "HMAC-SHA256 failed")
        return Array(out.prefix(Int(length)))
    }

    static func randomBytes(_ count: Int) throws -> [UInt8] {
        var b = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&b, Int32(count)) == 1 else { throw HTTPError(.internalServerError, "no random bytes available") }
        return b
    }
}

/// An RSA public key read from PEM: a SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") or an X.509
/// certificate ("BEGIN CERTIFICATE", its subject key). Read-only after loading, so one key
/// verifies on many threads at once.
final class RSAPublicKey: @unchecked Sendable {
    private let key: OpaquePointer

    init(pem: [UInt8]) throws {
        func read<T>(_ f: (OpaquePointer) -> T?) -> T? {
            pem.withUnsafeBytes { raw -> T? in
                guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
                defer { BIO_free(bio) }
                return f(bio)
            }
        }
        var pkey = read { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        if pkey == nil, let cert = read({ PEM_read_bio_X509($0, nil, nil, nil) }) {
            pkey = X509_get_pubkey(cert)
            X509_free(cert)
        }
        ERR_clear_error()
        guard let pkey else { throw JWTKeyError("not a PEM public key or certificate") }
        guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA else {
            EVP_PKEY_free(pkey)
            throw JWTKeyError("the key is not an RSA key (RS256 needs one)")
        }
        let bits = Int(EVP_PKEY_get_bits(pkey))
        // RFC 7518 3.3: a key of 2048 bits or larger MUST be used with RS256.
        guard bits >= 2048 else {
            EVP_PKEY_free(pkey)
            throw JWTKeyError("the RSA key has \(bits) bits; RS256 needs at least 2048 (RFC 7518 3.3)")
        }
        key = pkey
    }

    convenience init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw JWTKeyError("cannot read \(path)") }
        do { try self.init(pem: [UInt8](data)) } catch let e as JWTKeyError { throw JWTKeyError("\(path): \(e.message)") }
    }

    deinit { EVP_PKEY_free(key) }

    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 3.3) over `data`.
    func verifySHA256(signature: [UInt8], data: [UInt8]) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx); ERR_clear_error() }
        guard EVP_DigestVerifyInit(ctx, nil, EVP_sha256(), nil, key) == 1 else { return false }
        return signature.withUnsafeBufferPointer { s in
            data.withUnsafeBufferPointer { d in
                EVP_DigestVerify(ctx, s.baseAddress, s.count, d.baseAddress, d.count) == 1
            }
        }
    }
}

/// A key in the configuration cannot be used.
struct JWTKeyError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
