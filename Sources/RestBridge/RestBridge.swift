// RestBridge: the HTTP/1.1 server and the seed APIs over the Node store.
import Foundation
import Codec
import DicomNet
import Node

/// The node's HTTP side. So far the public system route of seed 003 (`GET /api/system/health`);
/// the authenticated seed APIs are mounted here as they are built (issues 5–7). Unknown paths
/// answer 404 with a JSON body.
public final class RestBridge: @unchecked Sendable {
    public let node: NodeServer
    public let server: HTTPServer

    public init(node: NodeServer, tls: TLSContext? = nil) {
        self.node = node
        var api = Router()
        api.get("/system/health") { _ in .empty(.ok) }
        var root = Router()
        root.mount("/api", api)
        server = HTTPServer(configuration: HTTPServer.Configuration(tls: tls), handler: root, log: node.log)
    }

    public var port: UInt16 { server.port }

    public func start() throws {
        try server.start(host: node.config.http.host, port: UInt16(node.config.http.port))
        node.log.log(.info, "http", "listening", ["host": node.config.http.host, "port": "\(server.port)"])
    }

    public func stop(timeout: Double = 30) { server.stop(timeout: timeout) }
}
