import Foundation
import DicomNet

/// Answers requests; `Router` is one, a closure is another (`HTTPServer(handler:)`).
/// Called on the connection's thread, for many connections at once.
public protocol HTTPHandler: Sendable {
    /// Throw `HTTPError` (or an `HTTPStatusConvertible`) for an error response; any other error is a 500.
    func handle(_ request: HTTPRequest) throws -> HTTPResponse
}

/// A closure as an `HTTPHandler`.
public struct HandlerFunction: HTTPHandler {
    let body: @Sendable (HTTPRequest) throws -> HTTPResponse
    public init(_ body: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) { self.body = body }
    public func handle(_ request: HTTPRequest) throws -> HTTPResponse { try body(request) }
}

/// An HTTP/1.1 server (RFC 9110, 9112) over DicomNet's TCP and TLS transport: one thread per
/// connection, bounded by `maxConnections` (beyond it a connection gets 503 and is closed),
/// persistent connections with an idle timeout, pipelined requests answered in order, and a
/// graceful `stop()` that lets requests in progress finish.
public final class HTTPServer: @unchecked Sendable {
    // @unchecked: mutable state is behind `lock`; each connection's own state is its thread's.

    public struct Configuration: Sendable {
        /// When set, every connection is HTTPS: the TLS handshake first, then HTTP.
        public var tls: TLSContext?
        public var maxConnections = 256
        /// How long a persistent connection may wait for its next request.
        public var idleTimeout: Double = 60
        /// How long the head of a request may take once its first byte arrived (408 beyond).
        public var headerTimeout: Double = 30
        /// How long one read of a request body may wait for data (408 beyond).
        public var bodyTimeout: Double = 60
        /// How long one write of a response may wait for the client to take data.
        public var writeTimeout: Double = 60
        public var limits = HTTPLimits()
        /// A body the handler left unread is read and dropped up to this many bytes to keep the
        /// connection; a longer one closes it.
        public var discardLimit: Int64 = 1 << 20
        /// After a response that closes the connection, how long to keep reading (and dropping)
        /// what the client still sends, so that closing does not reset the connection before the
        /// client has read the response (RFC 9112 §9.6).
        public var lingerTime: Double = 2
        /// The Server field; nil leaves it out.
        public var serverName: String? = "dicomnode"

        public init(tls: TLSContext? = nil) { self.tls = tls }
    }

    public let configuration: Configuration
    public let handler: any HTTPHandler
    public let log: NetLogger

    private let lock = NSLock()
    private let changed = NSCondition()
    private var listener: TCPListener?
    private var acceptThreadDone = true
    private var stopping = false
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    private var rejecting = 0

    public init(configuration: Configuration = Configuration(), handler: any HTTPHandler, log: NetLogger = StderrLogger()) {
        self.configuration = configuration
        self.handler = handler
        self.log = log
    }

    public convenience init(configuration: Configuration = Configuration(), log: NetLogger = StderrLogger(),
                            handler: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) {
        self.init(configuration: configuration, handler: HandlerFunction(handler), log: log)
    }

    /// The port actually bound (the kernel's choice after `start(port: 0)`).
    public var port: UInt16 { lock.lock(); defer { lock.unlock() }; return listener?.port ?? 0 }

    /// Connections being served now.
    public var activeConnections: Int { lock.lock(); defer { lock.unlock() }; return connections.count }

    public func start(host: String = "127.0.0.1", port: UInt16) throws {
        let l = try TCPListener(host: host, port: port)
        lock.lock()
        listener = l
        stopping = false
        acceptThreadDone = false
        lock.unlock()
        log.log(.info, "http", "listening", ["host": host, "port": "\(l.port)", "tls": configuration.tls == nil ? "no" : "yes"])
        let t = Thread { [self] in
            acceptLoop(l)
            changed.lock(); lock.lock(); acceptThreadDone = true; lock.unlock(); changed.broadcast(); changed.unlock()
        }
        t.name = "http-accept"
        t.start()
    }

    /// Stops accepting, closes idle persistent connections, and waits up to `timeout` seconds
    /// for requests in progress to finish (their responses say `Connection: close`). Connections
    /// still open after that are closed.
    public func stop(timeout: Double = 30) {
        lock.lock()
        stopping = true
        let l = listener
        // Under the lock: a connection marks itself busy under it too, so none is cut mid-request.
        for c in connections.values where c.isIdle { c.closeTransport() }
        lock.unlock()
        l?.close()

        let deadline = Date().addingTimeInterval(timeout)
        changed.lock()
        while !(allDone) && Date() < deadline { _ = changed.wait(until: min(deadline, Date().addingTimeInterval(0.05))) }
        changed.unlock()
        if !allDone {
            lock.lock(); let rest = Array(connections.values); lock.unlock()
            for c in rest { c.closeTransport() }
            let grace = Date().addingTimeInterval(2)
            changed.lock()
            while !(allDone) && Date() < grace { _ = changed.wait(until: min(grace, Date().addingTimeInterval(0.05))) }
            changed.unlock()
        }
        lock.lock(); listener = nil; lock.unlock()
    }

    private var allDone: Bool {
        lock.lock(); defer { lock.unlock() }
        return connections.isEmpty && rejecting == 0 && acceptThreadDone
    }

    var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

    private func acceptLoop(_ l: TCPListener) {
        while let socket = l.accept() {
            lock.lock()
            if stopping {
                lock.unlock()
                socket.close()
                continue
            }
            if connections.count >= configuration.maxConnections {
                // Answer 503 on a thread of its own, but only so many at once: beyond that, just close.
                let answer = rejecting < configuration.maxConnections
                if answer { rejecting += 1 }
                lock.unlock()
                log.log(.warning, "http", "connection refused: too many connections", ["peer": socket.peerDescription, "max": "\(configuration.maxConnections)"])
                guard answer else { socket.close(); continue }
                let t = Thread { [self] in
                    HTTPConnection.rejectOverloaded(socket, server: self)
                    changed.lock(); lock.lock(); rejecting -= 1; lock.unlock(); changed.broadcast(); changed.unlock()
                }
                t.name = "http-reject"
                t.start()
                continue
            }
            let connection = HTTPConnection(socket: socket, server: self)
            connections[ObjectIdentifier(connection)] = connection
            lock.unlock()
            let t = Thread { [self] in
                connection.run()
                changed.lock()
                lock.lock(); connections[ObjectIdentifier(connection)] = nil; lock.unlock()
                changed.broadcast()
                changed.unlock()
            }
            t.name = "http-connection"
            t.start()
        }
    }

    /// Marks a connection idle (between requests) or busy, under the server lock so that `stop()`
    /// closes only connections that are truly between requests. Returns true when stopping.
    func setIdle(_ connection: HTTPConnection, _ idle: Bool) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        connection.isIdle = idle
        return stopping
    }
}
