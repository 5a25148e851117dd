import Foundation
import DicomNet
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 client (RFC 9112) over DicomNet's TCP and TLS streams, for node-to-node
/// traffic (boxes): persistent connections pooled per origin, request bodies from memory, from a
/// file (Content-Length, streamed) or from a callback (chunked), response bodies read as they
/// arrive (Content-Length, chunked, or until close), connect and I/O timeouts.
///
/// Content codings (gzip, deflate) are left to the caller (`ContentDecoder`), which knows whether
/// it wants the body decoded, stored or passed on.
public final class HTTPClient: @unchecked Sendable {
    public struct Settings: Sendable {
        public var connectTimeout: Double = 10
        /// Longest wait for the next bytes of a response (or for room to send).
        public var ioTimeout: Double = 60
        public var maxHeaderBytes = 64 * 1024
        public var maxIdlePerOrigin = 8
        /// Idle connections older than this are closed rather than reused (servers drop them).
        public var idleSeconds: Double = 20
        public var userAgent = "dicomnode"
        public init() {}
    }

    public let settings: Settings
    private let tlsContext: TLSContext?
    private let tlsError: String?
    private let lock = NSLock()
    private var idle: [String: [HTTPClientConnection]] = [:]

    /// https servers must present a certificate for their host name that chains to the system's
    /// trust store, or to `trustedCertificates` (a PEM bundle) when given; `verifyServer` false
    /// accepts any certificate (tests only).
    public init(settings: Settings = Settings(), trustedCertificates: String? = nil, verifyServer: Bool = true) {
        self.settings = settings
        do {
            var tls = TLSConfiguration.client(trusted: trustedCertificates, verifyServer: verifyServer)
            // A web server is who its name says (RFC 9110 §4.3.4): the certificate must name the host.
            tls.verifyHostname = verifyServer
            tlsContext = try TLSContext(tls, isServer: false)
            tlsError = nil
        } catch {
            tlsContext = nil
            tlsError = "\(error)"
        }
    }

    /// Sends `request` and collects the response body (at most `limit` bytes).
    public func send(_ request: HTTPClientRequest, limit: Int = 16 << 20) throws -> HTTPClientResponse {
        try send(request) { head, body in
            var r = head
            r.body = try body.readAll(limit: limit)
            return r
        }
    }

    /// Sends `request`; `receive` gets the response head and reads the body as it arrives. What it
    /// leaves unread is drained (up to 1 MiB) so the connection can be reused.
    public func send<T>(_ request: HTTPClientRequest, receive: (HTTPClientResponse, HTTPResponseBody) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let connection = try acquire(request.endpoint)
            let reused = connection.requests > 0
            connection.requests += 1
            let head: HTTPClientResponse
            let body: HTTPResponseBody
            do {
                try write(request, on: connection)
                (head, body) = try readHead(request, on: connection)
            } catch {
                connection.close()
                // A kept connection the server closed while it was idle fails before any answer:
                // once more on a new one (box requests are idempotent; a timeout is not retried).
                if reused && attempt == 1 && Self.isStale(error) { continue }
                throw Self.wrap(error, reused: reused)
            }
            defer { release(connection, body) }
            do { return try receive(head, body) } catch let e as TransportError { throw Self.wrap(e, reused: reused) }
        }
    }

    /// Closes every idle connection.
    public func closeIdle() {
        lock.lock()
        let all = idle.values.flatMap { $0 }
        idle.removeAll()
        lock.unlock()
        for c in all { c.close() }
    }

    // MARK: connections

    private func acquire(_ endpoint: HTTPEndpoint) throws -> HTTPClientConnection {
        let origin = endpoint.origin
        var stale: [HTTPClientConnection] = []
        lock.lock()
        var found: HTTPClientConnection?
        while let c = idle[origin]?.popLast() {
            if Date().timeIntervalSince(c.lastUsed) < settings.idleSeconds { found = c; break }
            stale.append(c)
        }
        lock.unlock()
        for c in stale { c.close() }
        if let found { return found }
        let socket: TCPSocket
        do {
            socket = try TCPSocket.connect(host: endpoint.host, port: endpoint.port, timeout: settings.connectTimeout)
        } catch {
            throw HTTPClientError.transport("\(error)", reused: false)
        }
        socket.readTimeout = settings.ioTimeout
        socket.writeTimeout = settings.ioTimeout
        guard endpoint.isSecure else { return HTTPClientConnection(stream: socket, socket: socket, origin: origin) }
        guard let tlsContext else { throw HTTPClientError.transport("cannot set up TLS for \(origin): \(tlsError ?? "no context")", reused: false) }
        do {
            let tls = try TLSStream.connect(over: socket, context: tlsContext, serverName: endpoint.host, timeout: settings.connectTimeout)
            return HTTPClientConnection(stream: tls, socket: socket, origin: origin)
        } catch {
            socket.close()
            throw HTTPClientError.transport("TLS with \(origin) failed: \(error)", reused: false)
        }
    }

    private func release(_ connection: HTTPClientConnection, _ body: HTTPResponseBody) {
        guard body.reusable, body.isComplete || body.discardRest(limit: 1 << 20) else {
            connection.close()
            return
        }
        connection.lastUsed = Date()
        lock.lock()
        if idle[connection.origin, default: []].count < settings.maxIdlePerOrigin {
            idle[connection.origin, default: []].append(connection)
            lock.unlock()
        } else {
            lock.unlock()
            connection.close()
        }
    }

    // MARK: request

    private func write(_ request: HTTPClientRequest, on c: HTTPClientConnection) throws {
        var head = "\(request.method) \(request.endpoint.target) HTTP/1.1\r\nHost: \(request.endpoint.hostField)\r\n"
        if !request.headers.contains(where: { $0.name.caseInsensitiveCompare("User-Agent") == .orderedSame }) {
            head += "User-Agent: \(settings.userAgent)\r\n"
        }
        for (name, value) in request.headers {
            // Framing is the client's (a caller's Content-Length could disagree with the body).
            if name.caseInsensitiveCompare("Content-Length") == .orderedSame || name.caseInsensitiveCompare("Transfer-Encoding") == .orderedSame { continue }
            guard !name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }), !value.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                throw NodeError.badRequest("header field '\(name)' cannot be sent: it contains a line break")
            }
            head += "\(name): \(value)\r\n"
        }
        switch request.body {
        case .none:
            if request.method == "POST" || request.method == "PUT" { head += "Content-Length: 0\r\n" }
            try c.write(Array((head + "\r\n").utf8))
        case .bytes(let b):
            var bytes = Array((head + "Content-Length: \(b.count)\r\n\r\n").utf8)
            bytes += b
            try c.write(bytes)
        case .file(let path):
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw NodeError.storage("cannot open \(path): \(String(cString: strerror(errno)))") }
            defer { Glibc.close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw NodeError.storage("cannot stat \(path): \(String(cString: strerror(errno)))") }
            let size = Int64(st.st_size)
            // The head goes out with the first piece of the file.
            var out = Array((head + "Content-Length: \(size)\r\n\r\n").utf8)
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var sent: Int64 = 0
            while sent < size {
                let want = Int(min(Int64(buffer.count), size - sent))
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, want) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw NodeError.storage("cannot read \(path): \(String(cString: strerror(errno)))")
                }
                if n == 0 { throw NodeError.storage("\(path) became shorter while it was sent") }
                sent += Int64(n)
                if out.isEmpty {
                    try buffer.withUnsafeBytes { try c.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                } else {
                    out += buffer[0..<n]
                    try c.write(out)
                    out = []
                }
            }
            if !out.isEmpty { try c.write(out) }
        case .stream(let produce):
            let sink = HTTPBodySink(connection: c, head: Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8))
            try produce(sink)
            try sink.finish()
        }
    }

    // MARK: response

    private func readHead(_ request: HTTPClientRequest, on c: HTTPClientConnection) throws -> (HTTPClientResponse, HTTPResponseBody) {
        while true {
            guard let statusLine = try c.readLine(limit: settings.maxHeaderBytes) else {
                throw HTTPClientError.transport("\(request.endpoint.origin) closed the connection without answering", reused: false)
            }
            // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)
            let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
                throw HTTPClientError.malformedResponse("status line '\(statusLine.prefix(80))'")
            }
            var headers: [(name: String, value: String)] = []
            var size = 0
            while let line = try c.readLine(limit: settings.maxHeaderBytes), !line.isEmpty {
                size += line.utf8.count + 2
                guard size <= settings.maxHeaderBytes else { throw HTTPClientError.malformedResponse("the header section is larger than \(settings.maxHeaderBytes) bytes") }
                guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                    throw HTTPClientError.malformedResponse("header line '\(line.prefix(80))'")
                }
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            // Interim responses (100 Continue, 103 Early Hints) precede the final one (RFC 9110 §15.2).
            if (100..<200).contains(status) && status != 101 { continue }
            let response = HTTPClientResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers)
            let connectionTokens = headers.filter { $0.name.caseInsensitiveCompare("Connection") == .orderedSame }
                .flatMap { $0.value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            let keepAlive = parts[0] == "HTTP/1.1" ? !connectionTokens.contains("close") : connectionTokens.contains("keep-alive")
            // Message body length, RFC 9112 §6.3.
            let framing: HTTPResponseBody.Framing
            if request.method == "HEAD" || status == 204 || status == 304 {
                framing = .none
            } else if let te = response.header("Transfer-Encoding") {
                guard te.lowercased().split(separator: ",").last?.trimmingCharacters(in: .whitespaces) == "chunked" else {
                    throw HTTPClientError.malformedResponse("transfer coding '\(te)' is not supported")
                }
                framing = .chunked
            } else if let cl = response.header("Content-Length") {
                guard let n = Int64(cl), n >= 0, cl.allSatisfy(\.isASCII) else { throw HTTPClientError.malformedResponse("Content-Length '\(cl)'") }
                framing = .length(n)
            } else {
                framing = .untilClose
            }
            return (response, HTTPResponseBody(connection: c, framing: framing, keepAlive: keepAlive))
        }
    }

    // MARK: errors

    private static func isStale(_ error: Error) -> Bool {
        switch error {
        case TransportError.closedByPeer, TransportError.io: return true
        case HTTPClientError.transport(_, _): return true
        default: return false
        }
    }

    private static func wrap(_ error: Error, reused: Bool) -> Error {
        switch error {
        case let e as TransportError: return HTTPClientError.transport("\(e)", reused: reused)
        default: return error
        }
    }
}
