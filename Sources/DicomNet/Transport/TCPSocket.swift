#if canImport(Glibc)
import Glibc
#endif

/// A connected TCP socket with TCP_NODELAY (DIMSE's request/response turns otherwise stall
/// ~40 ms each on Nagle + delayed ACK) and read/write timeouts enforced with poll(2),
/// so a slow or silent peer costs its own association a timeout and nobody else anything.
public final class TCPSocket: ByteStream, @unchecked Sendable {
    // @unchecked: the descriptor is used by one association's thread at a time; close() may come
    // from another thread to interrupt it, which the kernel handles (shutdown wakes poll/recv).
    public let fd: Int32
    public let peerDescription: String
    public var readTimeout: Double?
    public var writeTimeout: Double?

    init(fd: Int32, peer: String) {
        self.fd = fd
        self.peerDescription = peer
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
        // Larger kernel buffers let a 128 KiB PDU go out in one write.
        var size: Int32 = 1 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { Glibc.close(fd) }

    /// Connects to `host:port` (IPv4 or IPv6, first address that answers) within `timeout` seconds.
    public static func connect(host: String, port: UInt16, timeout: Double = 10) throws -> TCPSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw TransportError.resolve(host: host, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }
        var lastErrno: Int32 = ECONNREFUSED
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd < 0 { lastErrno = errno; continue }
            // Non-blocking connect so the timeout holds, then back to blocking I/O.
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var r = Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen)
            if r != 0 && errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let n = poll(&p, 1, Int32(timeout * 1000))
                if n == 1 {
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                    if err == 0 { r = 0 } else { errno = err }
                } else if n == 0 {
                    errno = ETIMEDOUT
                }
            }
            if r == 0 {
                _ = fcntl(fd, F_SETFL, flags)
                return TCPSocket(fd: fd, peer: "\(host):\(port)")
            }
            lastErrno = errno
            Glibc.close(fd)
        }
        throw TransportError.connect(host: host, port: port, errno: lastErrno)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if let t = readTimeout { try wait(for: Int16(POLLIN), timeout: t, operation: "read") }
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == ECONNRESET { throw TransportError.closedByPeer }
            throw TransportError.io(operation: "recv", errno: errno)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            if let t = writeTimeout { try wait(for: Int16(POLLOUT), timeout: t, operation: "write") }
            let n = send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE || errno == ECONNRESET { throw TransportError.closedByPeer }
                throw TransportError.io(operation: "send", errno: errno)
            }
            done += n
        }
    }

    private func wait(for events: Int16, timeout: Double, operation: String) throws {
        var p = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let n = poll(&p, 1, Int32(min(timeout * 1000, Double(Int32.max))))
            if n > 0 { return }
            if n == 0 { throw TransportError.timeout(operation: operation, seconds: timeout) }
            if errno != EINTR { throw TransportError.io(operation: "poll", errno: errno) }
        }
    }

    /// Ends both directions; a thread blocked in read on this socket wakes up with end of stream.
    public func close() {
        shutdown(fd, Int32(SHUT_RDWR))
    }
}

/// A listening TCP socket.
public final class TCPListener: @unchecked Sendable {
    public let fd: Int32
    public let host: String
    /// The bound port (the kernel's choice when asked for 0).
    public let port: UInt16

    public init(host: String = "127.0.0.1", port: UInt16, backlog: Int32 = 128) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let a = list else { throw TransportError.resolve(host: host, reason: String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(list) }
        let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
        guard fd >= 0 else { throw TransportError.listen(host: host, port: port, errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0, listen(fd, backlog) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw TransportError.listen(host: host, port: port, errno: e)
        }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let boundPort: UInt16 = withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        self.fd = fd
        self.host = host
        self.port = boundPort
    }

    deinit { Glibc.close(fd) }

    /// Waits for the next connection; nil once the listener is closed.
    public func accept() -> TCPSocket? {
        while true {
            var storage = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let c = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &len) }
            }
            if c >= 0 {
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)  // accept4 is not exported to Swift here
                return TCPSocket(fd: c, peer: TCPListener.describe(&storage))
            }
            if errno == EINTR || errno == ECONNABORTED { continue }
            return nil
        }
    }

    /// Stops accepting; a thread blocked in accept() returns nil.
    public func close() { shutdown(fd, Int32(SHUT_RDWR)) }

    static func describe(_ s: inout sockaddr_storage) -> String {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var serv = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let rc = withUnsafePointer(to: &s) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, socklen_t(MemoryLayout<sockaddr_storage>.size), &host, socklen_t(host.count), &serv, socklen_t(serv.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard rc == 0 else { return "unknown" }
        let text = { (c: [CChar]) in String(decoding: c.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return text(host) + ":" + text(serv)
    }
}
