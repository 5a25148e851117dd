// RestBridge: the HTTP/1.1 server and the seed APIs over the Node store.
import Foundation
import Codec
import DicomNet
import Node

/// The node's HTTP side: seed 003 (the Slicebox API) under `/api`, with its users, roles,
/// basic auth and session cookie; seed 000 (the images data feed) under `/feed`; seed 004 (the
/// DICOM service) at its own paths. Unknown paths answer 404 with a JSON body.
public final class RestBridge: @unchecked Sendable {
    public let node: NodeServer
    public let server: HTTPServer
    public let auth: Authenticator
    /// Seed 001, the pathology image API, under `/pathology`.
    let pathology: PathologyAPI
    /// The URL other nodes and the OpenAPI document use: `http.publicURL`, else this server's own.
    public let publicURL: PublicURL
    private let scheme: String

    /// `tls` overrides the configuration's `http.tlsCertificate`/`tlsKey`; `onStop` runs when an
    /// administrator calls `POST /api/system/stop`.
    public init(node: NodeServer, tls: TLSContext? = nil, onStop: @escaping @Sendable () -> Void = {}) throws {
        self.node = node
        let http = node.config.http
        var tlsContext = tls
        if tlsContext == nil, let cert = http.tlsCertificate, let key = http.tlsKey {
            tlsContext = try TLSContext(.server(certificate: cert, key: key, requireClientCertificate: false), isServer: true)
        }
        let users = UserStore(index: node.index)
        try users.ensureSuperuser(name: http.superuser, matches: { PasswordHasher.verify(http.superuserPassword, against: $0) },
                                  hash: { try PasswordHasher.hash(http.superuserPassword) })
        auth = Authenticator(users: users, sessions: SessionStore(timeout: TimeInterval(http.sessionTimeoutSeconds)))
        let scheme = tlsContext == nil ? "http" : "https"
        publicURL = PublicURL(http.publicURL ?? "\(scheme)://\(http.host):\(http.port)")
        self.scheme = scheme
        let slicebox = SliceboxAPI(node: node, auth: auth, baseURL: publicURL, onStop: onStop)
        var root = Router()
        // Seed 000 under /feed and seed 004 at its own paths: routes of the root router, which
        // are matched before any mount, so they never reach the Slicebox mount at /api.
        try FeedAPI(node: node).addRoutes(to: &root)
        try DicomServiceAPI(node: node, users: auth).addRoutes(to: &root)
        root.mount("/api", slicebox.router())
        pathology = try PathologyAPI(node: node, auth: auth, publicURL: publicURL)
        root.mount(PathologyAPI.prefix, pathology.router())
        // Seed 002 (filters service) at the root as the seed gives it: `/images…`, `/modality-sessions…`.
        FiltersAPI(node: node, auth: auth, publicURL: publicURL).addRoutes(to: &root)
        var configuration = HTTPServer.Configuration(tls: tlsContext)
        configuration.limits.maxBodyBytes = http.maxBodyBytes
        server = HTTPServer(configuration: configuration, handler: root, log: node.log)
    }

    public var port: UInt16 { server.port }

    public func start() throws {
        try pathology.start()
        try server.start(host: node.config.http.host, port: UInt16(node.config.http.port))
        if node.config.http.publicURL == nil { publicURL.value = "\(scheme)://\(node.config.http.host):\(server.port)" }
        node.log.log(.info, "http", "listening", ["host": node.config.http.host, "port": "\(server.port)"])
    }

    public func stop(timeout: Double = 30) {
        server.stop(timeout: timeout)
        pathology.stop()
    }
}

/// A URL known once the server listens (port 0 in the configuration picks a free one).
public final class PublicURL: @unchecked Sendable {
    private let lock = NSLock()
    private var current: String
    init(_ value: String) { current = value }
    public var value: String {
        get { lock.lock(); defer { lock.unlock() }; return current }
        set { lock.lock(); current = newValue; lock.unlock() }
    }
}
