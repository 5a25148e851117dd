// RestBridge: the HTTP/1.1 server and the seed APIs over the Node store.
import Foundation
import Codec
import DicomNet
import Node

/// The node's HTTP side: seed 003 (the Slicebox API) under `/api`, with its users, roles,
/// basic auth and session cookie. Unknown paths answer 404 with a JSON body.
public final class RestBridge: @unchecked Sendable {
    public let node: NodeServer
    public let server: HTTPServer
    public let auth: Authenticator

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
        let base = http.publicURL ?? "\(scheme)://\(http.host):\(http.port)"
        let slicebox = SliceboxAPI(node: node, auth: auth, baseURL: base, onStop: onStop)
        var root = Router()
        root.mount("/api", slicebox.router())
        var configuration = HTTPServer.Configuration(tls: tlsContext)
        configuration.limits.maxBodyBytes = http.maxBodyBytes
        server = HTTPServer(configuration: configuration, handler: root, log: node.log)
    }

    public var port: UInt16 { server.port }

    public func start() throws {
        try server.start(host: node.config.http.host, port: UInt16(node.config.http.port))
        node.log.log(.info, "http", "listening", ["host": node.config.http.host, "port": "\(server.port)"])
    }

    public func stop(timeout: Double = 30) { server.stop(timeout: timeout) }
}
