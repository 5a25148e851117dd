#if canImport(Glibc)
import Glibc
#endif
import Foundation
import DicomNet

/// Where a streaming response writes its content. Small writes are gathered into 64 KiB pieces
/// (one chunk each when the length is unknown); large writes go straight to the socket.
public final class BodyWriter {
    enum Framing: Equatable {
        /// Content-Length was sent: exactly this many bytes must follow.
        case length(Int64)
        /// Transfer-Encoding: chunked (RFC 9112 §7.1).
        case chunked
        /// HTTP/1.0 client and unknown length: the end of the connection ends the content (RFC 9112 §6.3 item 8).
        case untilClose
        /// HEAD, 204, 304: the head only (RFC 9110 §9.3.2).
        case none
    }

    public enum Failure: Error, CustomStringConvertible {
        case tooLong(declared: Int64)
        case tooShort(declared: Int64, written: Int64)
        public var description: String {
            switch self {
            case .tooLong(let n): return "the response content is longer than its Content-Length \(n)"
            case let .tooShort(n, w): return "the response content ended after \(w) of \(n) bytes"
            }
        }
    }

    let stream: ByteStream
    let framing: Framing
    /// Content bytes accepted so far.
    public private(set) var bytesWritten: Int64 = 0
    /// Bytes ready for the socket: the response head, chunk frames.
    private var pending: [UInt8]
    /// Content not yet framed.
    private var payload: [UInt8] = []
    static let pieceSize = 64 * 1024

    init(stream: ByteStream, framing: Framing, head: [UInt8]) {
        self.stream = stream
        self.framing = framing
        self.pending = head
        payload.reserveCapacity(Self.pieceSize)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        if case .length(let n) = framing, bytesWritten + Int64(bytes.count) > n { throw Failure.tooLong(declared: n) }
        bytesWritten += Int64(bytes.count)
        if framing == .none { return }
        if payload.count + bytes.count <= Self.pieceSize {
            payload.append(contentsOf: bytes)
            if payload.count == Self.pieceSize { try flush() }
            return
        }
        // A large write: frame what is buffered together with it, and send it without copying.
        if framing == .chunked { pending += Self.chunkHeader(payload.count + bytes.count) }
        pending += payload
        payload.removeAll(keepingCapacity: true)
        try sendPending()
        headSent = true
        try stream.write(bytes)
        if framing == .chunked { try stream.write(Self.crlf) }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }
    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Sends what is buffered now (e.g. before a slow step, so the client sees progress).
    public func flush() throws {
        if !payload.isEmpty && framing != .none {
            if framing == .chunked { pending += Self.chunkHeader(payload.count) }
            pending += payload
            if framing == .chunked { pending += Self.crlf }
            payload.removeAll(keepingCapacity: true)
        }
        try sendPending()
    }

    /// Ends the content: the last chunk for chunked coding, a length check otherwise.
    func finish() throws {
        if case .length(let n) = framing, bytesWritten != n { throw Failure.tooShort(declared: n, written: bytesWritten) }
        try flush()
        if framing == .chunked {
            // last-chunk, no trailers, CRLF (RFC 9112 §7.1)
            pending += Array("0\r\n\r\n".utf8)
            try sendPending()
        }
    }

    /// True once anything (the head first) has gone to the socket.
    private(set) var headSent = false

    private func sendPending() throws {
        guard !pending.isEmpty else { return }
        headSent = true
        try stream.write(pending)
        pending.removeAll(keepingCapacity: true)
    }

    static let crlf: [UInt8] = [0x0D, 0x0A]
    static func chunkHeader(_ n: Int) -> [UInt8] { Array((String(n, radix: 16) + "\r\n").utf8) }
}

/// The status line and header section of a response (RFC 9112 §4, §5).
enum ResponseHead {
    static func serialize(status: HTTPStatus, headers: HTTPHeaders, framing: BodyWriter.Framing, contentLength: Int64?,
                          keepAlive: Bool, requestVersion: HTTPVersion, serverName: String?) -> [UInt8] {
        var s = "HTTP/1.1 \(status.code) \(clean(status.reason))\r\n"
        if !headers.contains("Date") { s += "Date: \(httpDate())\r\n" }  // RFC 9110 §6.6.1
        if let serverName, !headers.contains("Server") { s += "Server: \(serverName)\r\n" }
        for (name, value) in headers {
            if HTTPHeaders.same(name, "Content-Length") || HTTPHeaders.same(name, "Transfer-Encoding") || HTTPHeaders.same(name, "Connection") { continue }
            guard !name.isEmpty, name.utf8.allSatisfy(HTTPParser.isTokenChar) else { continue }
            s += "\(name): \(clean(value))\r\n"
        }
        // No Content-Length with 1xx / 204 (RFC 9110 §8.6); with 304 it could only repeat GET's.
        if status.allowsBody {
            if let contentLength {
                s += "Content-Length: \(contentLength)\r\n"
            } else if framing == .chunked || (framing == .none && requestVersion >= .http1_1) {
                s += "Transfer-Encoding: chunked\r\n"
            }
        }
        if !keepAlive {
            s += "Connection: close\r\n"
        } else if requestVersion < .http1_1 {
            s += "Connection: keep-alive\r\n"  // RFC 9112 §9.3: HTTP/1.0 persistence is opt-in
        }
        s += "\r\n"
        return Array(s.utf8)
    }

    /// Response splitting guard: a CR or LF from a handler's value becomes a space.
    static func clean(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else { return value }
        return String(String.UnicodeScalarView(value.unicodeScalars.map { $0 == "\r" || $0 == "\n" || $0 == "\0" ? " " : $0 }))
    }

    /// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7).
    static func httpDate(_ t: time_t = time(nil)) -> String {
        var t = t
        var tm = tm()
        gmtime_r(&t, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }
}
