import Foundation

// Settings of the feed API (seed 000) and the DICOM service API (seed 004). Every key is
// optional: `{}` gives working defaults (the token signing secret is then generated once and kept
// in the data folder).

extension NodeConfig {
    /// JSON Web Tokens (RFC 7519): the keys that verify the feed's bearer tokens, and how the
    /// DICOM service issues its own.
    public struct JWT: Codable, Sendable, Equatable {
        /// Shared secret verifying HS256 bearer tokens of the feed API (`/feed/api/...`).
        public var hs256Secret: String? = nil
        /// PEM file (SubjectPublicKeyInfo "PUBLIC KEY" or an X.509 certificate) whose RSA key
        /// verifies RS256 bearer tokens of the feed API.
        public var rs256PublicKey: String? = nil
        /// When set, feed tokens must carry this `iss`, and issued tokens carry it.
        public var issuer: String? = nil
        /// When set, feed tokens must name this in `aud`, and issued tokens carry it.
        public var audience: String? = nil
        /// Clock skew tolerated on `exp` and `nbf` (RFC 7519 4.1.4/4.1.5 allow "a small leeway").
        public var leewaySeconds = 60
        /// HS256 secret signing the access and refresh tokens of `POST /api/token/`; without it a
        /// random secret is generated once and kept in `<dataFolder>/jwt-signing-secret`.
        public var signingSecret: String? = nil
        public var accessTokenSeconds = 300
        public var refreshTokenSeconds = 86_400
        public init() {}
    }

    /// The DICOM service of seed 004 (`/api/dicom/...`, developer accounts and API keys).
    public struct DicomService: Codable, Sendable, Equatable {
        /// Calls of `POST /api/dicom/read/file/` each developer may make per calendar month (UTC).
        public var monthlyReadQuota = 1000
        /// Whether anyone may create a developer account; when false, creating one needs the
        /// basic credentials of a Slicebox ADMINISTRATOR.
        public var openRegistration = true
        /// Largest upload to `read/file` and `generate` (the form is held in memory).
        public var maxUploadBytes = 256 << 20
        /// Largest total of the files unpacked from one ZIP upload (ZIP bomb guard).
        public var maxUnzippedBytes = 1 << 30
        public init() {}
    }

    /// Checks of the API settings (called by `validated()`).
    func validateAPIs() throws {
        guard jwt.leewaySeconds >= 0, jwt.leewaySeconds <= 3600 else { throw NodeError.badRequest("jwt.leewaySeconds must be 0–3600") }
        guard jwt.accessTokenSeconds > 0, jwt.refreshTokenSeconds > 0 else {
            throw NodeError.badRequest("jwt.accessTokenSeconds and jwt.refreshTokenSeconds must be positive")
        }
        if let s = jwt.hs256Secret, s.utf8.count < 32 {
            // RFC 7518 3.2: an HS256 key must be at least as long as the hash output (256 bits).
            throw NodeError.badRequest("jwt.hs256Secret must be at least 32 bytes (RFC 7518 3.2)")
        }
        if let s = jwt.signingSecret, s.utf8.count < 32 { throw NodeError.badRequest("jwt.signingSecret must be at least 32 bytes (RFC 7518 3.2)") }
        guard dicomService.monthlyReadQuota >= 0 else { throw NodeError.badRequest("dicomService.monthlyReadQuota must not be negative") }
        guard dicomService.maxUploadBytes > 0, dicomService.maxUnzippedBytes > 0 else {
            throw NodeError.badRequest("dicomService.maxUploadBytes and dicomService.maxUnzippedBytes must be positive")
        }
    }

    /// Keys whose default is nil (absent from the encoded defaults, so `load` must know them).
    static let optionalAPIKeys: Set<String> = ["hs256Secret", "rs256PublicKey", "issuer", "audience", "signingSecret"]
}

