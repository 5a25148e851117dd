import Foundation
import COpenSSL
import Node

/// Signed upload policies, the way S3's browser-based POST uploads work (the seed's clients
/// upload like that) with the node as the endpoint: a policy is a base64 JSON document
/// `{"expiration": "…Z", "conditions": [{"bucket": …}, {"key": …}, ["content-length-range", min, max]]}`,
/// signed with HMAC-SHA256 (RFC 2104, FIPS 180-4) by a per-deployment secret; the signature is
/// base64 over the base64 policy text. An upload is accepted only when the access key id is this
/// deployment's, the signature matches, the policy has not expired and every condition holds.
struct UploadSigner: Sendable {
    let key: [UInt8]
    let bucket: String
    /// Names the signing key without revealing it: "DN" + 18 hex digits of SHA-256 of the key.
    let accessKeyId: String

    init(key: [UInt8], bucket: String) {
        self.key = key
        self.bucket = bucket
        accessKeyId = "DN" + PasswordHasher.sha256(key).prefix(9).map { String(format: "%02X", $0) }.joined()
    }

    /// The configured key, or the deployment's random one in `<dataFolder>/pathology/upload-signing.key`
    /// (made on first use: 32 random bytes, hex, readable by the node's user only).
    static func load(config: NodeConfig.Pathology, dataFolder: String) throws -> UploadSigner {
        if !config.signingKey.isEmpty { return UploadSigner(key: Array(config.signingKey.utf8), bucket: config.bucket) }
        let folder = dataFolder + "/pathology", path = folder + "/upload-signing.key"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard hex.count >= 32, let bytes = Self.unhex(hex) else {
                throw NodeError.badRequest("\(path) does not hold a hex signing key; remove it to have a new one made")
            }
            return UploadSigner(key: bytes, bucket: config.bucket)
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw NodeError.storage("no random bytes for the upload signing key") }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes.map { String(format: "%02x", $0) }.joined().utf8),
                                             attributes: [.posixPermissions: 0o600]),
              rename(temporary, path) == 0 else {
            throw NodeError.storage("cannot write the upload signing key \(path)")
        }
        return UploadSigner(key: bytes, bucket: config.bucket)
    }

    static func unhex(_ s: String) -> [UInt8]? {
        let chars = Array(s.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: chars.count, by: 2) {
            guard let b = UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
        }
        return out
    }

    /// base64(HMAC-SHA256(key, policy text)).
    func sign(_ policy: String) -> String {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let message = Array(policy.utf8)
        _ = HMAC(EVP_sha256(), key, Int32(key.count), message, message.count, &out, &length)
        return Data(out.prefix(Int(length))).base64EncodedString()
    }

    /// A policy for uploading the file of `key` of at most `maxBytes`, valid for `seconds`.
    func policy(key: String, maxBytes: Int64, seconds: Int, now: Date = Date()) -> (policy: String, signature: String, expiration: String) {
        let expiration = Self.timestamp(now.addingTimeInterval(TimeInterval(seconds)))
        let document: [String: Any] = ["expiration": expiration,
                                       "conditions": [["bucket": bucket], ["key": key], ["content-length-range", 1, maxBytes]]]
        let json = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        let encoded = json.base64EncodedString()
        return (encoded, sign(encoded), expiration)
    }

    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    static func parseTimestamp(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: s)
    }

    /// What a checked policy allows.
    struct Grant {
        var key: String
        var minBytes: Int64
        var maxBytes: Int64
    }

    /// Checks the form fields sent before the file (S3 ignores fields after it): access key id,
    /// signature, expiry, and every condition but the size, which `Grant` carries for the
    /// caller to enforce while the file streams in.
    func verify(_ fields: [String: String], now: Date = Date()) throws -> Grant {
        func refuse(_ message: String) -> HTTPError { HTTPError(.forbidden, "upload refused: \(message)") }
        guard let id = fields["AWSAccessKeyId"] ?? fields["awsaccesskeyid"] else { throw refuse("the form has no AWSAccessKeyId before the file") }
        guard id == accessKeyId else { throw refuse("unknown access key id '\(id)'") }
        guard let policy = fields["policy"], let signature = fields["signature"] else {
            throw refuse("the form needs 'policy' and 'signature' fields before the file")
        }
        guard PasswordHasher.constantTimeEqual(Array(sign(policy).utf8), Array(signature.utf8)) else {
            throw refuse("the signature does not match the policy")
        }
        guard let data = Data(base64Encoded: policy), let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HTTPError(.badRequest, "upload refused: the policy is not base64 JSON")
        }
        guard let expirationText = document["expiration"] as? String, let expiration = Self.parseTimestamp(expirationText) else {
            throw HTTPError(.badRequest, "upload refused: the policy has no valid expiration")
        }
        guard now < expiration else { throw refuse("the policy expired at \(expirationText)") }
        guard let conditions = document["conditions"] as? [Any] else { throw HTTPError(.badRequest, "upload refused: the policy has no conditions") }

        var grant = Grant(key: "", minBytes: 0, maxBytes: Int64.max)
        var keyConstrained = false
        // The bucket is the one this deployment serves; a form may name it too.
        var values = fields
        if let formBucket = fields["bucket"], formBucket != bucket { throw refuse("this endpoint serves bucket '\(bucket)', not '\(formBucket)'") }
        values["bucket"] = bucket
        func field(_ name: String) -> String { values[name] ?? "" }

        for condition in conditions {
            if let exact = condition as? [String: Any] {
                // {"name": "value"}: the field equals the value.
                for (name, value) in exact {
                    guard let expected = value as? String else { throw HTTPError(.badRequest, "upload refused: condition on '\(name)' is not a string") }
                    guard field(name) == expected else { throw refuse("condition failed: \(name) must be '\(expected)'") }
                    if name == "key" { keyConstrained = true }
                }
            } else if let list = condition as? [Any], let op = (list.first as? String)?.lowercased() {
                switch op {
                case "eq", "starts-with":
                    guard list.count == 3, let target = list[1] as? String, target.hasPrefix("$"), let value = list[2] as? String else {
                        throw HTTPError(.badRequest, "upload refused: malformed \(op) condition")
                    }
                    let name = String(target.dropFirst())
                    let ok = op == "eq" ? field(name) == value : field(name).hasPrefix(value)
                    guard ok else { throw refuse("condition failed: \(name) must \(op == "eq" ? "be" : "start with") '\(value)'") }
                    if name == "key" { keyConstrained = true }
                case "content-length-range":
                    guard list.count == 3, let low = (list[1] as? NSNumber)?.int64Value, let high = (list[2] as? NSNumber)?.int64Value, low <= high else {
                        throw HTTPError(.badRequest, "upload refused: malformed content-length-range condition")
                    }
                    grant.minBytes = max(grant.minBytes, low)
                    grant.maxBytes = min(grant.maxBytes, high)
                default:
                    throw HTTPError(.badRequest, "upload refused: unknown condition '\(op)'")
                }
            } else {
                throw HTTPError(.badRequest, "upload refused: malformed condition in the policy")
            }
        }
        // A policy that does not pin the key would let its holder write any image's file.
        guard keyConstrained else { throw refuse("the policy does not constrain the key") }
        guard let key = fields["key"], !key.isEmpty else { throw refuse("the form has no key") }
        grant.key = key
        return grant
    }
}
