import Foundation
import DicomNet

/// The node's configuration: one JSON file where every key has a default, so `{}` (or no file)
/// runs the node on its embedded defaults. Flags of `dicomnode serve` override the few that
/// people change most.
public struct NodeConfig: Codable, Sendable, Equatable {
    /// Holds `index.sqlite`, `images/` and `incoming/`.
    public var dataFolder = "./data"
    public var dicom = DICOM()
    public var http = HTTP()
    /// What a re-sent SOP Instance UID does: `replace` (default), `keep` or `reject`.
    public var duplicatePolicy = "replace"
    /// fsync every image before acknowledging it. `false` only to measure what durability costs.
    public var durable = true
    /// `debug`, `info`, `warning` or `error`: the lowest level written to stderr.
    public var logLevel = "info"
    /// C-MOVE destinations beyond the managed SCUs: AE title → host and port.
    public var moveDestinations: [String: Destination] = [:]
    /// The pathology image API (seed 001, `/pathology`): upload signing, tiling, the prediction command.
    public var pathology = Pathology()
    /// Key purging, reverse anonymization and the attributes every anonymization key records.
    public var anonymization = AnonymizationSettings()
    /// Box transfers: intervals, batch size, parallelism, timeouts, https trust.
    public var boxes = BoxSettings()
    /// Bearer tokens of the feed API and tokens issued by the DICOM service (APIConfig.swift).
    public var jwt = JWT()
    /// The DICOM service API of seed 004 (APIConfig.swift).
    public var dicomService = DicomService()
    /// Forwarding rules' batching, retries and history (`ForwardingSettings`).
    public var forwarding = ForwardingSettings()

    /// The filters service (seed 002, `/images`).
    public var filters = Filters()

    public struct DICOM: Codable, Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 11112
        public var aeTitle = "DICOMNODE"
        /// Calling AE titles allowed to associate; empty means any.
        public var allowedCallingAETitles: [String] = []
        public var maxPDULength = 256 * 1024
        public var maxAssociations = 64
        /// PEM files; with both set, every connection to the main SCP is DICOM TLS (PS3.15 B.1).
        public var tlsCertificate: String? = nil
        public var tlsKey: String? = nil
        /// With this CA bundle, clients must present a certificate it signed.
        public var tlsClientCA: String? = nil
        public init() {}
    }

    public struct HTTP: Codable, Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 5000
        /// HTTPS when both are set (PEM files), as on the DICOM side.
        public var tlsCertificate: String? = nil
        public var tlsKey: String? = nil
        /// The URL other nodes reach this one at (box URLs); default http(s)://host:port.
        public var publicURL: String? = nil
        /// The first superuser, re-created at start-up if missing or changed (Slicebox `superuser`).
        public var superuser = "admin"
        public var superuserPassword = "admin"
        /// Idle time after which a login session ends (sliding, Slicebox `session-timeout`).
        public var sessionTimeoutSeconds = 3600
        /// Largest request body accepted (uploads stream to disk up to this size).
        public var maxBodyBytes: Int64 = 4 << 30
        public init() {}
    }

    public struct Filters: Codable, Sendable, Equatable {
        /// Seconds from an image resource's creation to its `expires` (the seed's example: 8 hours).
        public var resourceLifetimeSeconds: Double = 28_800
        /// Seconds between sweeps that delete expired resources with their files.
        public var sweepIntervalSeconds: Double = 60
        /// Largest PNG `POST /images` accepts.
        public var maxMediaBytes: Int64 = 256 << 20
        public init() {}
    }

    /// A C-MOVE destination. With `tls` the sub-association runs over TLS (PS3.15 B.1): `tlsCA`
    /// verifies the destination's certificate (nil: the system's trust store), `tlsCertificate` and
    /// `tlsKey` authenticate us when it asks for a client certificate.
    public struct Destination: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        public var tls = false
        public var tlsCA: String? = nil
        public var tlsCertificate: String? = nil
        public var tlsKey: String? = nil
        public init(host: String, port: Int, tls: Bool = false, tlsCA: String? = nil, tlsCertificate: String? = nil, tlsKey: String? = nil) {
            (self.host, self.port, self.tls, self.tlsCA, self.tlsCertificate, self.tlsKey) = (host, port, tls, tlsCA, tlsCertificate, tlsKey)
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case host, port, tls, tlsCA, tlsCertificate, tlsKey }
        /// The keys a destination may have in a config file (checked by `load`).
        static let keys = Set(CodingKeys.allCases.map(\.rawValue))

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(host: try c.decode(String.self, forKey: .host), port: try c.decode(Int.self, forKey: .port),
                      tls: try c.decodeIfPresent(Bool.self, forKey: .tls) ?? false, tlsCA: try c.decodeIfPresent(String.self, forKey: .tlsCA),
                      tlsCertificate: try c.decodeIfPresent(String.self, forKey: .tlsCertificate),
                      tlsKey: try c.decodeIfPresent(String.self, forKey: .tlsKey))
        }

        /// The client context for the sub-association, or nil without `tls`. Files are read here,
        /// so a bad path fails at start-up, not at the first C-MOVE.
        func tlsContext() throws -> TLSContext? {
            guard tls else { return nil }
            return try TLSContext(.client(trusted: tlsCA, certificate: tlsCertificate, key: tlsKey), isServer: false)
        }
    }

    public init() {}

    /// Reads a JSON config; keys not given keep their defaults, unknown keys are an error (a typo
    /// must not silently fall back to a default).
    public static func load(path: String) throws -> NodeConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw NodeError.badRequest("cannot read config file \(path)") }
        do {
            let object = try JSONSerialization.jsonObject(with: data)
            let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(NodeConfig()))
            try checkKeys(object, against: defaults, path: "")
            // The file's keys laid over the defaults: a section given in part keeps the defaults
            // of the keys it leaves out, whatever its type's decoder does.
            return try JSONDecoder().decode(NodeConfig.self, from: JSONSerialization.data(withJSONObject: overlay(object, on: defaults)))
        } catch let e as NodeError {
            throw NodeError.badRequest("config \(path): \(e)")
        } catch {
            throw NodeError.badRequest("config \(path): \(error)")
        }
    }

    /// `value` over `base`, object by object (a JSON object in both is merged key by key; anything
    /// else in `value` replaces what `base` has). `moveDestinations` keys are AE titles, not
    /// settings, so the file's table replaces the (empty) default as a whole.
    static func overlay(_ value: Any, on base: Any, path: String = "") -> Any {
        guard path != "moveDestinations", let over = value as? [String: Any], var merged = base as? [String: Any] else { return value }
        for (k, v) in over { merged[k] = merged[k].map { overlay(v, on: $0, path: path.isEmpty ? k : path + "." + k) } ?? v }
        return merged
    }

    private static func checkKeys(_ value: Any, against reference: Any, path: String) throws {
        guard let dict = value as? [String: Any], let ref = reference as? [String: Any] else { return }
        // Optional keys (nil by default) are absent from the encoded reference.
        let optional = Set(["tlsCertificate", "tlsKey", "tlsClientCA", "publicURL"]).union(optionalAPIKeys)
        for (k, v) in dict {
            if path == "moveDestinations" {
                // Its keys are AE titles; each destination's own keys are checked.
                for key in (v as? [String: Any])?.keys.sorted() ?? [] where !Destination.keys.contains(key) {
                    throw NodeError.badRequest("unknown key 'moveDestinations.\(k).\(key)'")
                }
                continue
            }
            guard let r = ref[k] ?? (optional.contains(k) ? v : nil) else {
                throw NodeError.badRequest("unknown key '\(path.isEmpty ? k : path + "." + k)'")
            }
            try checkKeys(v, against: r, path: path.isEmpty ? k : path + "." + k)
        }
    }

    public func validated() throws -> NodeConfig {
        guard DuplicatePolicy(rawValue: duplicatePolicy) != nil else {
            throw NodeError.badRequest("duplicatePolicy must be one of \(DuplicatePolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (0...65535).contains(dicom.port), (0...65535).contains(http.port) else { throw NodeError.badRequest("ports must be 0–65535") }
        try AETitle.validate(dicom.aeTitle)
        guard (dicom.tlsCertificate == nil) == (dicom.tlsKey == nil) else { throw NodeError.badRequest("dicom.tlsCertificate and dicom.tlsKey go together") }
        guard (http.tlsCertificate == nil) == (http.tlsKey == nil) else { throw NodeError.badRequest("http.tlsCertificate and http.tlsKey go together") }
        for (ae, d) in moveDestinations.sorted(by: { $0.key < $1.key }) {
            try AETitle.validate(ae)
            guard !d.host.isEmpty, (1...65535).contains(d.port) else { throw NodeError.badRequest("moveDestinations.\(ae): host must not be empty and port must be 1–65535") }
            guard (d.tlsCertificate == nil) == (d.tlsKey == nil) else { throw NodeError.badRequest("moveDestinations.\(ae): tlsCertificate and tlsKey go together") }
            guard d.tls || (d.tlsCA == nil && d.tlsCertificate == nil) else { throw NodeError.badRequest("moveDestinations.\(ae): tlsCA, tlsCertificate and tlsKey need \"tls\": true") }
        }
        guard !http.superuser.isEmpty, !http.superuserPassword.isEmpty else { throw NodeError.badRequest("http.superuser and http.superuserPassword must not be empty") }
        guard http.sessionTimeoutSeconds > 0, http.maxBodyBytes > 0 else { throw NodeError.badRequest("http.sessionTimeoutSeconds and http.maxBodyBytes must be positive") }
        guard filters.resourceLifetimeSeconds > 0, filters.sweepIntervalSeconds > 0, filters.maxMediaBytes > 0 else {
            throw NodeError.badRequest("filters.resourceLifetimeSeconds, filters.sweepIntervalSeconds and filters.maxMediaBytes must be positive")
        }
        guard forwarding.idleSeconds >= 0, forwarding.retryBaseSeconds > 0, forwarding.retryMaxSeconds >= forwarding.retryBaseSeconds,
              forwarding.pollSeconds > 0, forwarding.keepDeliveredSeconds > 0, forwarding.maxImagesPerTransaction > 0, forwarding.maxDeferrals >= 0 else {
            throw NodeError.badRequest("forwarding: idleSeconds and maxDeferrals must not be negative, retryMaxSeconds at least retryBaseSeconds, the rest positive")
        }
        try validateAPIs()
        return self
    }
}

/// AE titles (PS3.5 6.2, VR AE): 1–16 characters of the default repertoire without backslash or
/// control characters; leading and trailing spaces are not significant.
public enum AETitle {
    public static func validate(_ title: String) throws {
        let t = title.trimmingCharacters(in: .whitespaces)
        guard (1...16).contains(t.count) else { throw NodeError.badRequest("AE title '\(title)' must be 1–16 characters (spaces trimmed)") }
        guard t.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0 != "\\" }) else {
            throw NodeError.badRequest("AE title '\(title)' may only hold printable ASCII without backslash")
        }
    }
}
