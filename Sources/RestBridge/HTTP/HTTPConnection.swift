#if canImport(Glibc)
import Glibc
#endif
import Foundation
import DicomNet

/// One client connection on its own thread: the TLS handshake when configured, then requests
/// one after the other until the client, an error, a timeout or `stop()` ends it.
final class HTTPConnection: @unchecked Sendable {
    // @unchecked: used by its own thread; `isIdle` is guarded by the server's lock and
    // `closeTransport()` (a shutdown(2)) is safe from any thread.
    let tcp: TCPSocket
    let server: HTTPServer
    /// Between requests (safe for `stop()` to close). Guarded by the server's lock.
    var isIdle = true
    private var stream: ByteStream
    private var input: InputBuffer
    private var config: HTTPServer.Configuration { server.configuration }
    private var limits: HTTPLimits { server.configuration.limits }

    init(socket: TCPSocket, server: HTTPServer) {
        self.tcp = socket
        self.server = server
        self.stream = socket
        self.input = InputBuffer(stream: socket, socket: socket)
    }

    /// Wakes and ends the connection's thread whatever it is doing.
    func closeTransport() { tcp.close() }

    func run() {
        tcp.writeTimeout = config.writeTimeout
        if let tls = config.tls {
            do {
                // The handshake counts like a request head: it must finish within headerTimeout.
                stream = try TLSStream.accept(over: tcp, context: tls, timeout: config.headerTimeout)
            } catch {
                server.log.log(.warning, "http", "TLS handshake failed", ["peer": tcp.peerDescription, "reason": (error as? TLSError)?.reason ?? "\(error)"])
                tcp.close()
                return
            }
        }
        let headCapacity = limits.maxRequestLineBytes + limits.maxHeaderBytes + 4096
        input = InputBuffer(stream: stream, socket: tcp, capacity: 64 * 1024, maxCapacity: headCapacity)
        while serveNextRequest() {}
    }

    // MARK: One request

    /// Reads, answers and logs one request. False when the connection has ended.
    private func serveNextRequest() -> Bool {
        if server.setIdle(self, true) {
            stream.close()  // stopping: no new request on this connection
            return false
        }
        var started = monotonicNow()
        let head: RequestHead?
        do {
            head = try HTTPParser.readHead(from: input, limits: limits, idleTimeout: config.idleTimeout, headerTimeout: config.headerTimeout) {
                started = monotonicNow()
                _ = server.setIdle(self, false)
            }
        } catch let error as HTTPError {
            // Malformed or late head: answer, then close (where the next request starts is unknown).
            _ = server.setIdle(self, false)
            let sent = send(error.response, method: nil, version: .http1_1, keepAlive: false)
            logRequest(method: "-", path: "-", status: sent.status, bytes: sent.bytes, started: started, error: error.message)
            closeConnection(linger: true)
            return false
        } catch {
            stream.close()
            return false
        }
        guard let head else {
            stream.close()  // the client closed, or stayed idle past idleTimeout
            return false
        }

        let info: MessageInfo
        do {
            info = try HTTPParser.messageInfo(for: head)
            if case .length(let n) = info.framing, n > limits.maxBodyBytes {
                throw HTTPError(.contentTooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes", closesConnection: true)
            }
        } catch {
            let e = error as? HTTPError ?? HTTPError(.badRequest, "\(error)", closesConnection: true)
            let sent = send(e.response, method: head.method, version: head.version, keepAlive: false)
            logRequest(method: head.method.rawValue, path: Self.logPath(head.target), status: sent.status, bytes: sent.bytes,
                       started: started, error: e.message)
            closeConnection(linger: true)
            return false
        }

        let stream = self.stream
        let body = BodyReader(framing: info.framing, input: input, limits: limits, timeout: config.bodyTimeout,
                              sendContinue: info.expectsContinue ? { try stream.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) } : nil)
        var response: HTTPResponse
        var note: String? = nil
        do {
            let request = try HTTPRequest(method: head.method, target: head.target, headers: head.headers, body: body,
                                          version: head.version, peer: stream.peerDescription, isSecure: config.tls != nil)
            if request.path == "*" {
                response = .empty(.noContent)  // OPTIONS * (RFC 9110 §9.3.7): the server is here
            } else {
                response = try server.handler.handle(request)
            }
        } catch {
            (response, note) = errorResponse(error)
        }
        // A body that broke (framing, timeout, limit) decides the answer, whatever the handler made of it.
        if let failure = body.failure {
            response = failure.response
            note = failure.message
        }

        var keepAlive = info.keepAlive && body.failure == nil && !server.isStopping
            && !response.headers.tokens("Connection").contains("close")
        // The connection carries the next request only once this one's body is consumed (RFC 9112
        // §9.3, RFC 9110 §10.1.1): a small leftover is read and dropped, a large one closes it.
        if keepAlive && !body.isComplete {
            keepAlive = body.discardRest(limit: config.discardLimit)
        }
        let sent = send(response, method: head.method, version: head.version, keepAlive: keepAlive)
        logRequest(method: head.method.rawValue, path: Self.logPath(head.target), status: sent.status, bytes: sent.bytes,
                   started: started, error: sent.error ?? (sent.status.isError ? note : nil))
        if !sent.persistent {
            closeConnection(linger: sent.complete && (!body.isComplete || !input.isEmpty))
            return false
        }
        return true
    }

    private func errorResponse(_ error: Error) -> (HTTPResponse, String?) {
        switch error {
        case let e as HTTPError:
            return (e.response, e.message)
        case let e as HTTPStatusConvertible:
            return (.error(e.httpStatus, e.httpMessage), e.httpMessage)
        default:
            return (.error(.internalServerError, "internal server error"), "\(error)")
        }
    }

    // MARK: Writing

    struct SendResult {
        /// The status that went out (an error response may replace a failed stream's).
        var status: HTTPStatus
        /// Content bytes written.
        var bytes: Int64
        /// The whole response went out.
        var complete: Bool
        /// The response left the connection open for the next request.
        var persistent: Bool
        /// Why the response failed or was replaced, for the log.
        var error: String?
    }

    /// Writes `response` with its framing (RFC 9112 §6): Content-Length when the length is known,
    /// chunked otherwise, the head only for HEAD / 204 / 304.
    private func send(_ response: HTTPResponse, method: HTTPMethod?, version: HTTPVersion, keepAlive: Bool) -> SendResult {
        var keepAlive = keepAlive
        var contentLength: Int64?
        switch response.body {
        case .bytes(let b): contentLength = Int64(b.count)
        case .stream(let length, _): contentLength = length
        }
        let framing: BodyWriter.Framing
        if !response.status.allowsBody {
            framing = .none
            contentLength = nil
        } else if method == .head {
            framing = .none
        } else if let contentLength {
            framing = .length(contentLength)
        } else if version >= .http1_1 {
            framing = .chunked
        } else {
            framing = .untilClose  // HTTP/1.0 and unknown length: the close ends the content
            keepAlive = false
        }
        let head = ResponseHead.serialize(status: response.status, headers: response.headers, framing: framing, contentLength: contentLength,
                                          keepAlive: keepAlive, requestVersion: version, serverName: config.serverName)
        let writer = BodyWriter(stream: stream, framing: framing, head: head)
        do {
            if framing != .none {
                switch response.body {
                case .bytes(let b): try writer.write(b)
                case .stream(_, let write): try write(writer)
                }
            }
            try writer.finish()
            return SendResult(status: response.status, bytes: writer.bytesWritten, complete: true, persistent: keepAlive)
        } catch {
            if !writer.headSent {
                // Nothing is out yet: the error can still be the response.
                let (replacement, note) = errorResponse(error)
                var r = send(replacement, method: method, version: version, keepAlive: false)
                r.error = note
                return r
            }
            // The head is out: all that is left is to cut the content short (the client sees a
            // truncated body or chunked coding without its last chunk).
            return SendResult(status: response.status, bytes: writer.bytesWritten, complete: false, persistent: false,
                              error: "response aborted: \(error)")
        }
    }

    /// Ends the connection. With `linger`, first stop sending (plain TCP: FIN) and read and drop
    /// what the client still sends for up to `lingerTime`: closing with unread data would make the
    /// kernel send RST, which can destroy the response before the client reads it (RFC 9112 §9.6).
    private func closeConnection(linger: Bool) {
        if linger { Self.linger(stream: stream, tcp: tcp, isTLS: config.tls != nil, seconds: config.lingerTime) }
        stream.close()
    }

    static func linger(stream: ByteStream, tcp: TCPSocket, isTLS: Bool, seconds: Double) {
        if !isTLS { shutdown(tcp.fd, Int32(SHUT_WR)) }  // TLS needs its close_notify first, sent by close()
        let deadline = monotonicNow() + seconds
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        scratch.withUnsafeMutableBytes { buf in
            while true {
                let remaining = deadline - monotonicNow()
                if remaining <= 0 { return }
                tcp.readTimeout = remaining
                guard let n = try? stream.read(into: buf), n > 0 else { return }
            }
        }
    }

    /// 503 for a connection beyond `maxConnections` (RFC 9110 §15.6.4), without reading its request.
    static func rejectOverloaded(_ tcp: TCPSocket, server: HTTPServer) {
        tcp.readTimeout = 2
        tcp.writeTimeout = 2
        var stream: ByteStream = tcp
        if let tls = server.configuration.tls {
            guard let s = try? TLSStream.accept(over: tcp, context: tls, timeout: 2) else { tcp.close(); return }
            stream = s
        }
        var response = HTTPResponse.error(.serviceUnavailable, "too many connections; try again later")
        response.headers.add("Retry-After", "1")
        guard case .bytes(let content) = response.body else { return }
        let head = ResponseHead.serialize(status: response.status, headers: response.headers, framing: .length(Int64(content.count)),
                                          contentLength: Int64(content.count), keepAlive: false, requestVersion: .http1_1,
                                          serverName: server.configuration.serverName)
        if (try? stream.write(head + content)) != nil {
            linger(stream: stream, tcp: tcp, isTLS: server.configuration.tls != nil, seconds: 1)
        }
        stream.close()
    }

    // MARK: Logging

    /// One line per request: method, path, status, content bytes sent, milliseconds, peer (and
    /// what went wrong, for errors).
    private func logRequest(method: String, path: String, status: HTTPStatus, bytes: Int64, started: Double, error: String? = nil) {
        let ms = String(format: "%.1f", (monotonicNow() - started) * 1000)
        // Successful requests are debug lines (an access log, not system events for the log table);
        // refusals are events, server errors warnings.
        let level: NetLogLevel = status.code >= 500 || error?.hasPrefix("response aborted") == true ? .warning
            : status.code >= 400 ? .info : .debug
        let peer = stream.peerDescription
        if let error {
            server.log.log(level, "http", "request", ["method": method, "path": path, "status": "\(status.code)", "bytes": "\(bytes)",
                                                       "ms": ms, "peer": peer, "error": error])
        } else {
            server.log.log(level, "http", "request", ["method": method, "path": path, "status": "\(status.code)", "bytes": "\(bytes)",
                                                       "ms": ms, "peer": peer])
        }
    }

    /// The target without its query (which may carry tokens), cut to a sane length. UUID-shaped
    /// segments are secrets (box tokens, `/api/transactions/{token}/…`) and are not written.
    static func logPath(_ target: String) -> String {
        var path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
        if path.contains("-") {
            path = path.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.count == 36 && UUID(uuidString: String($0)) != nil ? "{token}" : String($0) }.joined(separator: "/")
        }
        return path.count > 200 ? String(path.prefix(200)) + "…" : path
    }
}
