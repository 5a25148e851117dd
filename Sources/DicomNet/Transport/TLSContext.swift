#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

/// The lowest TLS version a context accepts.
public enum TLSVersion: Int32, Sendable {
    // Wire values of the protocol versions (TLS1_2_VERSION, TLS1_3_VERSION in tls1.h).
    case v1_2 = 0x0303
    case v1_3 = 0x0304
}

/// Certificates, trust and verification for a DICOM TLS node (PS3.15 B.1 Basic TLS Secure
/// Transport Connection Profile): each side authenticates with an X.509 certificate and checks
/// the other's against a set of trusted (CA or peer) certificates; TLS 1.2 is the floor, as
/// BCP 195 and DCMTK's default profile require.
public struct TLSConfiguration: Sendable {
    /// Our certificate (PEM; may be followed by its intermediate CA certificates). Required for a server.
    public var certificatePath: String?
    /// The private key of `certificatePath` (PEM, unencrypted).
    public var privateKeyPath: String?
    /// PEM bundle of CA or peer certificates the peer's certificate must chain to. A client with
    /// `verifyPeer` and no bundle uses the system's default trust store.
    public var trustedCertificatesPath: String?
    /// Server: require a client certificate and verify it (without it, a client certificate is still
    /// verified when presented if a trust bundle is set). Client: verify the server's certificate.
    public var verifyPeer: Bool
    /// Client only: also check the server's certificate names `serverName` (SAN DNS or IP).
    /// Off by default: DICOM peers are usually identified by their certificate alone, and DCMTK
    /// does not check names either.
    public var verifyHostname = false
    public var minimumVersion: TLSVersion = .v1_2
    /// TLS 1.2 cipher suites in OpenSSL's list syntax; nil keeps OpenSSL's defaults (no NULL or
    /// anonymous suites). TLS 1.3 suites are always OpenSSL's defaults.
    public var cipherList: String?

    public init(certificatePath: String? = nil, privateKeyPath: String? = nil, trustedCertificatesPath: String? = nil,
                verifyPeer: Bool = true) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.trustedCertificatesPath = trustedCertificatesPath
        self.verifyPeer = verifyPeer
    }

    /// An SCP: our certificate and key; `trusted` verifies client certificates.
    public static func server(certificate: String, key: String, trusted: String? = nil,
                              requireClientCertificate: Bool = true) -> TLSConfiguration {
        TLSConfiguration(certificatePath: certificate, privateKeyPath: key, trustedCertificatesPath: trusted,
                         verifyPeer: requireClientCertificate)
    }

    /// An SCU: `trusted` verifies the server; certificate and key authenticate us when the server asks.
    public static func client(trusted: String?, certificate: String? = nil, key: String? = nil,
                              verifyServer: Bool = true) -> TLSConfiguration {
        TLSConfiguration(certificatePath: certificate, privateKeyPath: key, trustedCertificatesPath: trusted,
                         verifyPeer: verifyServer)
    }
}

/// An OpenSSL SSL_CTX built from a `TLSConfiguration`: files are loaded once here, so a bad path
/// or a key that does not match its certificate fails at startup, not at the first connection.
/// Shared by all connections of a server or requestor (OpenSSL allows concurrent SSL_new on it).
public final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is configured in init and only read afterwards (SSL_new), which
    // OpenSSL documents as thread-safe.
    let ctx: OpaquePointer
    public let configuration: TLSConfiguration
    public let isServer: Bool

    // Macros Swift does not import (they expand to SSL_CTX_ctrl / SSL_OP_BIT), spelled out:
    private static let ctrlSetMinProtoVersion: Int32 = 123   // SSL_CTRL_SET_MIN_PROTO_VERSION
    private static let ctrlMode: Int32 = 33                  // SSL_CTRL_MODE (SSL_CTX_set_mode)
    private static let modeAutoRetry = 0x4                   // SSL_MODE_AUTO_RETRY
    private static let opNoCompression: UInt64 = 1 << 17     // SSL_OP_NO_COMPRESSION (CRIME)
    private static let opNoRenegotiation: UInt64 = 1 << 30   // SSL_OP_NO_RENEGOTIATION (TLS 1.2)
    private static let fileTypePEM: Int32 = 1                // SSL_FILETYPE_PEM
    private static let verifyNone: Int32 = 0x00, verifyPeer: Int32 = 0x01, verifyFailIfNoPeerCert: Int32 = 0x02

    public init(_ config: TLSConfiguration, isServer: Bool) throws {
        self.configuration = config
        self.isServer = isServer
        guard let ctx = SSL_CTX_new(isServer ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.configuration("SSL_CTX_new failed: \(OpenSSLErrors.drain())")
        }
        self.ctx = ctx  // freed by deinit from here on, also when a check below throws
        ERR_clear_error()

        guard SSL_CTX_ctrl(ctx, Self.ctrlSetMinProtoVersion, Int(config.minimumVersion.rawValue), nil) == 1 else {
            throw TLSError.configuration("cannot set minimum TLS version: \(OpenSSLErrors.drain())")
        }
        _ = SSL_CTX_set_options(ctx, Self.opNoCompression | Self.opNoRenegotiation)
        _ = SSL_CTX_ctrl(ctx, Self.ctrlMode, Self.modeAutoRetry, nil)
        if let list = config.cipherList, SSL_CTX_set_cipher_list(ctx, list) != 1 {
            throw TLSError.configuration("no usable cipher suite in \"\(list)\": \(OpenSSLErrors.drain())")
        }
        // An encrypted key would otherwise make OpenSSL prompt on the terminal; fail instead.
        SSL_CTX_set_default_passwd_cb(ctx) { _, _, _, _ in 0 }

        if isServer && config.certificatePath == nil {
            throw TLSError.configuration("a TLS server needs a certificate and private key")
        }
        if (config.certificatePath == nil) != (config.privateKeyPath == nil) {
            throw TLSError.configuration("certificate and private key go together")
        }
        if let cert = config.certificatePath, let key = config.privateKeyPath {
            try Self.checkReadable(cert, "certificate")
            try Self.checkReadable(key, "private key")
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else {
                throw TLSError.file(path: cert, what: "certificate", reason: OpenSSLErrors.drain())
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, key, Self.fileTypePEM) == 1 else {
                let reason = OpenSSLErrors.drain()
                // OpenSSL checks the pair already here ("key values mismatch"); say which certificate.
                throw TLSError.file(path: key, what: "private key", reason: reason.contains("mismatch") ? "does not match certificate \(cert): \(reason)" : reason)
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw TLSError.file(path: key, what: "private key", reason: "does not match certificate \(cert): \(OpenSSLErrors.drain())")
            }
        }

        if let trusted = config.trustedCertificatesPath {
            try Self.checkReadable(trusted, "trusted certificates")
            guard SSL_CTX_load_verify_locations(ctx, trusted, nil) == 1 else {
                throw TLSError.file(path: trusted, what: "trusted certificates", reason: OpenSSLErrors.drain())
            }
            if isServer, let names = SSL_load_client_CA_file(trusted) {
                // Tells clients which issuers we accept, so one with several certificates picks right.
                SSL_CTX_set_client_CA_list(ctx, names)
            }
        } else if config.verifyPeer {
            if isServer {
                throw TLSError.configuration("requiring client certificates needs trusted certificates to verify them")
            }
            _ = SSL_CTX_set_default_verify_paths(ctx)
        }

        let mode: Int32
        if isServer {
            mode = config.verifyPeer ? Self.verifyPeer | Self.verifyFailIfNoPeerCert
                : (config.trustedCertificatesPath != nil ? Self.verifyPeer : Self.verifyNone)
            // Session resumption with client certificates needs a session id context.
            let sid = Array("dicomnet".utf8)
            _ = SSL_CTX_set_session_id_context(ctx, sid, UInt32(sid.count))
        } else {
            mode = config.verifyPeer ? Self.verifyPeer : Self.verifyNone
        }
        SSL_CTX_set_verify(ctx, mode, nil)
        ERR_clear_error()
    }

    deinit { SSL_CTX_free(ctx) }

    private static func checkReadable(_ path: String, _ what: String) throws {
        guard access(path, R_OK) == 0 else {
            throw TLSError.file(path: path, what: what, reason: String(cString: strerror(errno)))
        }
    }
}
