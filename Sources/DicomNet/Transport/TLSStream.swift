#if canImport(Glibc)
import Glibc
#endif
import Foundation
import COpenSSL

/// TLS over a connected `TCPSocket` (PS3.15 B.1): the association layer reads and writes
/// plaintext through `ByteStream` exactly as over plain TCP.
///
/// OpenSSL talks to the socket through a small BIO of ours that uses non-blocking
/// recv/send(MSG_NOSIGNAL): a peer gone mid-write costs an error, not SIGPIPE to the process,
/// and every wait is a poll(2) here, so the socket's `readTimeout` / `writeTimeout` (read at each
/// call, so callers keep adjusting them on the TCPSocket) bound TLS I/O just as they bound TCP.
public final class TLSStream: ByteStream, @unchecked Sendable {
    // @unchecked: an SSL object must not be used by two threads at once. Every SSL call holds
    // `lock` (never while waiting in poll), so close() from another thread (Association.abort)
    // is safe against a reader blocked in read().
    public let socket: TCPSocket
    public var peerDescription: String { socket.peerDescription }
    /// The peer certificate's subject (RFC 2253), nil when the peer sent none.
    public private(set) var peerCertificateSubject: String?
    /// "TLSv1.3", "TLSv1.2".
    public private(set) var protocolVersion = ""
    /// The negotiated cipher suite, OpenSSL's name.
    public private(set) var cipherSuite = ""

    private let ssl: OpaquePointer
    private let io: SocketBIOState
    private let lock = NSLock()
    private var closed = false
    /// After a fatal TLS error no close_notify may be sent (OpenSSL forbids SSL_shutdown then).
    private var broken = false
    private var established = false

    private init(socket: TCPSocket, context: TLSContext) throws {
        guard let ssl = SSL_new(context.ctx) else {
            throw TLSError.configuration("SSL_new failed: \(OpenSSLErrors.drain())")
        }
        self.ssl = ssl
        self.socket = socket
        self.io = SocketBIOState(fd: socket.fd)
        guard let method = socketBIOMethod, let bio = BIO_new(method) else {
            throw TLSError.configuration("cannot create the socket BIO: \(OpenSSLErrors.drain())")
        }
        BIO_set_data(bio, Unmanaged.passUnretained(io).toOpaque())  // `io` outlives the BIO: SSL_free in deinit comes first
        SSL_set_bio(ssl, bio, bio)  // one reference, owned by ssl from here on
    }

    deinit { SSL_free(ssl) }

    /// Server side: runs the TLS handshake on an accepted connection within `timeout` seconds.
    /// On failure the connection is closed and the error names the peer and OpenSSL's reason.
    public static func accept(over socket: TCPSocket, context: TLSContext, timeout: Double) throws -> TLSStream {
        let s = try make(socket, context)
        SSL_set_accept_state(s.ssl)
        try s.handshake(timeout: timeout)
        return s
    }

    /// Client side: handshake on a connected socket. `serverName` goes out as SNI (unless it is an
    /// IP address) and is checked against the certificate when the context's `verifyHostname` is set.
    public static func connect(over socket: TCPSocket, context: TLSContext, serverName: String?, timeout: Double) throws -> TLSStream {
        let s = try make(socket, context)
        SSL_set_connect_state(s.ssl)
        if let name = serverName, !name.isEmpty {
            let isIP = Self.isIPAddress(name)
            if !isIP {
                // SSL_set_tlsext_host_name is a macro: SSL_ctrl(SSL_CTRL_SET_TLSEXT_HOSTNAME = 55, TLSEXT_NAMETYPE_host_name = 0).
                _ = name.withCString { SSL_ctrl(s.ssl, 55, 0, UnsafeMutableRawPointer(mutating: $0)) }
            }
            if context.configuration.verifyHostname, context.configuration.verifyPeer {
                let param = SSL_get0_param(s.ssl)
                let ok = isIP ? X509_VERIFY_PARAM_set1_ip_asc(param, name) : X509_VERIFY_PARAM_set1_host(param, name, 0)
                if ok != 1 {
                    socket.close()
                    throw TLSError.configuration("cannot check the server name \(name): \(OpenSSLErrors.drain())")
                }
            }
        }
        try s.handshake(timeout: timeout)
        return s
    }

    private static func make(_ socket: TCPSocket, _ context: TLSContext) throws -> TLSStream {
        do { return try TLSStream(socket: socket, context: context) } catch { socket.close(); throw error }
    }

    // MARK: Handshake

    private func handshake(timeout: Double) throws {
        let deadline = monotonicNow() + timeout
        while true {
            lock.lock()
            ERR_clear_error()
            io.reset()
            let r = SSL_do_handshake(ssl)
            let err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r)
            var reason = ""
            if r != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE {
                reason = describeFailure(err)
                broken = true
            }
            lock.unlock()
            switch err {
            case SSL_ERROR_NONE:
                finishHandshake()
                return
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                let events = Int16(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)
                let remaining = deadline - monotonicNow()
                do {
                    guard remaining > 0 else { throw TransportError.timeout(operation: "TLS handshake", seconds: timeout) }
                    try poll(events, timeout: remaining, operation: "TLS handshake", reported: timeout)
                } catch {
                    socket.close()
                    throw TLSError.handshake(peer: peerDescription, reason: "\(error)")
                }
            default:
                closeAfterAlert()
                throw TLSError.handshake(peer: peerDescription, reason: reason)
            }
        }
    }

    /// OpenSSL has queued its alert (e.g. "certificate required") to the peer. Closing with the
    /// peer's unread bytes still in our receive buffer would send RST, and the peer would lose the
    /// alert and see only a reset: so end our side, drain briefly (bounded), then close.
    private func closeAfterAlert() {
        shutdown(socket.fd, Int32(SHUT_WR))
        let deadline = monotonicNow() + 0.5
        var scratch = [UInt8](repeating: 0, count: 4096)
        var drained = 0
        while drained < 1 << 16 {
            let remaining = deadline - monotonicNow()
            var p = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
            guard remaining > 0, Glibc.poll(&p, 1, Int32(remaining * 1000) + 1) > 0 else { break }
            let n = recv(socket.fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { break }
            drained += n
        }
        socket.close()
    }

    private func finishHandshake() {
        established = true
        protocolVersion = String(cString: SSL_get_version(ssl))
        if let c = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(c) { cipherSuite = String(cString: name) }
        if let cert = SSL_get1_peer_certificate(ssl) {
            peerCertificateSubject = Self.rfc2253(X509_get_subject_name(cert))
            X509_free(cert)
        }
    }

    /// OpenSSL's queued reasons, the certificate verification result when that failed, or the
    /// system error / EOF behind an SSL_ERROR_SYSCALL. Call with the lock held, right after the failed call.
    private func describeFailure(_ err: Int32) -> String {
        var parts: [String] = []
        let queued = OpenSSLErrors.drain()
        if !queued.isEmpty { parts.append(queued) }
        let verify = SSL_get_verify_result(ssl)
        if verify != Int(X509_V_OK) { parts.append("certificate: " + String(cString: X509_verify_cert_error_string(verify))) }
        if io.eof { parts.append("connection closed by peer") }
        if io.lastErrno != 0 { parts.append(String(cString: strerror(io.lastErrno))) }
        if parts.isEmpty { parts.append("SSL error \(err)") }
        return parts.joined(separator: "; ")
    }

    // MARK: ByteStream

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        // One deadline for the whole call: a record may arrive in several pieces.
        let timeout = socket.readTimeout
        let deadline = timeout.map { monotonicNow() + $0 }
        while true {
            lock.lock()
            if closed { lock.unlock(); return 0 }
            ERR_clear_error()
            io.reset()
            var n = 0
            let r = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &n)
            let err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r)
            let failure = fatal(err)
            lock.unlock()
            switch err {
            case SSL_ERROR_NONE: return n
            case SSL_ERROR_ZERO_RETURN: return 0  // close_notify: orderly end of stream
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                let remaining = deadline.map { $0 - monotonicNow() }
                if let remaining, remaining <= 0 { throw TransportError.timeout(operation: "read", seconds: timeout!) }
                try poll(Int16(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), timeout: remaining, operation: "read", reported: timeout)
            default:
                // EOF without close_notify reads as end of stream, like TCP: PDUs carry their own
                // lengths, so the association layer still notices a truncated one.
                if failure.eof { return 0 }
                throw failure.error(operation: "TLS read")
            }
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            lock.lock()
            if closed { lock.unlock(); throw TransportError.closedByPeer }
            ERR_clear_error()
            io.reset()
            var n = 0
            // After WANT_* OpenSSL requires the same arguments again; `done` is unchanged then.
            let r = SSL_write_ex(ssl, base + done, bytes.count - done, &n)
            let err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r)
            let failure = fatal(err)
            lock.unlock()
            switch err {
            case SSL_ERROR_NONE: done += n
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                // Like TCPSocket: the write timeout bounds each wait for progress.
                try poll(Int16(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), timeout: socket.writeTimeout, operation: "write", reported: socket.writeTimeout)
            case SSL_ERROR_ZERO_RETURN: throw TransportError.closedByPeer
            default:
                if failure.eof { throw TransportError.closedByPeer }
                throw failure.error(operation: "TLS write")
            }
        }
    }

    /// Sends close_notify (one non-blocking attempt: we do not wait for the peer's), then shuts
    /// the socket down, which also wakes a thread blocked in read().
    public func close() {
        lock.lock()
        if !closed {
            closed = true
            if established && !broken {
                ERR_clear_error()
                _ = SSL_shutdown(ssl)
                ERR_clear_error()
            }
        }
        lock.unlock()
        socket.close()
    }

    // MARK: Helpers

    private struct Failure {
        var eof = false
        var errnum: Int32 = 0
        var reason = ""
        func error(operation: String) -> TransportError {
            if errnum == ECONNRESET || errnum == EPIPE { return .closedByPeer }
            // TransportError has no TLS case; OpenSSL's reason rides in the operation text.
            return .io(operation: reason.isEmpty ? operation : "\(operation) (\(reason))", errno: errnum != 0 ? errnum : EPROTO)
        }
    }

    /// For SSL_ERROR_SSL / SSL_ERROR_SYSCALL: marks the connection broken and collects why.
    private func fatal(_ err: Int32) -> Failure {
        guard err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL else { return Failure() }
        broken = true
        let eof = io.eof
        return Failure(eof: eof, errnum: io.lastErrno, reason: OpenSSLErrors.drain())
    }

    /// Waits for the socket to become readable / writable; `timeout` nil waits without limit.
    private func poll(_ events: Int16, timeout: Double?, operation: String, reported: Double?) throws {
        var p = pollfd(fd: socket.fd, events: events, revents: 0)
        let ms = timeout.map { Int32(min(max($0 * 1000, 1), Double(Int32.max))) } ?? -1
        while true {
            let n = Glibc.poll(&p, 1, ms)
            if n > 0 { return }
            if n == 0 { throw TransportError.timeout(operation: operation, seconds: reported ?? 0) }
            if errno != EINTR { throw TransportError.io(operation: "poll", errno: errno) }
        }
    }

    private static func isIPAddress(_ s: String) -> Bool {
        var buf = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, s, &buf) == 1 || inet_pton(AF_INET6, s, &buf) == 1
    }

    /// "CN=client,O=Example" (RFC 2253 order and escaping).
    private static func rfc2253(_ name: OpaquePointer?) -> String? {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        // XN_FLAG_RFC2253 (a compound macro Swift does not import): ASN1_STRFLGS_RFC2253 (0x317)
        // | XN_FLAG_SEP_COMMA_PLUS (1 << 16) | XN_FLAG_DN_REV (1 << 20) | XN_FLAG_DUMP_UNKNOWN_FIELDS (1 << 24).
        let flags: UInt = 0x317 | 1 << 16 | 1 << 20 | 1 << 24
        guard X509_NAME_print_ex(bio, name, 0, flags) >= 0 else { return nil }
        var out = [UInt8](repeating: 0, count: 4096)
        let n = BIO_read(bio, &out, Int32(out.count))
        return n > 0 ? String(decoding: out[0..<Int(n)], as: UTF8.self) : ""
    }
}

// MARK: Socket BIO

/// What the BIO callbacks need: the descriptor, and what the last recv/send saw, so a failed
/// SSL call can tell a peer's EOF or reset from a TLS protocol error. Only touched under the
/// owning stream's lock.
final class SocketBIOState {
    let fd: Int32
    var eof = false
    var lastErrno: Int32 = 0
    init(fd: Int32) { self.fd = fd }
    func reset() { eof = false; lastErrno = 0 }
}

// BIO_FLAGS_* and BIO_CTRL_FLUSH from bio.h (the retry helpers are macros over BIO_set_flags).
private let bioFlagRead: Int32 = 0x01, bioFlagWrite: Int32 = 0x02, bioFlagIOSpecial: Int32 = 0x04, bioFlagShouldRetry: Int32 = 0x08
private let bioCtrlFlush: Int32 = 11

private func bioState(_ bio: OpaquePointer?) -> SocketBIOState? {
    guard let bio, let p = BIO_get_data(bio) else { return nil }
    return Unmanaged<SocketBIOState>.fromOpaque(p).takeUnretainedValue()
}

/// One method table for all streams, created on first use and kept for the process's life.
nonisolated(unsafe) private let socketBIOMethod: OpaquePointer? = {
    // BIO_TYPE_SOURCE_SINK (0x0400) | BIO_TYPE_DESCRIPTOR (0x0100) with a fresh index.
    guard let m = BIO_meth_new(BIO_get_new_index() | 0x0400 | 0x0100, "dicomnet socket") else { return nil }
    _ = BIO_meth_set_write(m) { bio, data, len in
        guard let s = bioState(bio) else { return -1 }
        BIO_clear_flags(bio, bioFlagRead | bioFlagWrite | bioFlagIOSpecial | bioFlagShouldRetry)
        while true {
            let n = send(s.fd, data, Int(len), Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if n >= 0 { return Int32(n) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                BIO_set_flags(bio, bioFlagWrite | bioFlagShouldRetry)
            } else {
                s.lastErrno = errno
            }
            return -1
        }
    }
    _ = BIO_meth_set_read(m) { bio, data, len in
        guard let s = bioState(bio) else { return -1 }
        BIO_clear_flags(bio, bioFlagRead | bioFlagWrite | bioFlagIOSpecial | bioFlagShouldRetry)
        while true {
            let n = recv(s.fd, data, Int(len), Int32(MSG_DONTWAIT))
            if n > 0 { return Int32(n) }
            if n == 0 { s.eof = true; return 0 }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                BIO_set_flags(bio, bioFlagRead | bioFlagShouldRetry)
            } else {
                s.lastErrno = errno
            }
            return -1
        }
    }
    // Nothing is buffered in the BIO, so flush succeeds; other controls are unsupported.
    _ = BIO_meth_set_ctrl(m) { _, cmd, _, _ in cmd == bioCtrlFlush ? 1 : 0 }
    _ = BIO_meth_set_create(m) { bio in BIO_set_init(bio, 1); return 1 }
    return m
}()
