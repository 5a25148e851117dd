import Foundation
import DicomNet
#if canImport(Glibc)
import Glibc
#endif

/// One connection of the client: a TCP (or TLS over TCP) stream with a read buffer. Used by one
/// request at a time; kept for the next request to the same origin while the server allows
/// (HTTP/1.1 persistence, RFC 9112 §9.3).
final class HTTPClientConnection {
    let stream: ByteStream
    let socket: TCPSocket
    let origin: String
    var lastUsed = Date()
    /// Requests this connection carried (a failure on a reused one may just be a server that
    /// closed it while idle: the client then tries once more on a new connection).
    var requests = 0
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var start = 0, end = 0

    init(stream: ByteStream, socket: TCPSocket, origin: String) {
        self.stream = stream
        self.socket = socket
        self.origin = origin
    }

    func close() { stream.close() }

    // MARK: reading

    /// Reads more bytes into the buffer; false at the end of the stream.
    private func fill() throws -> Bool {
        if start == end { start = 0; end = 0 }
        if end == buffer.count {
            if start > 0 {
                buffer.replaceSubrange(0..<(end - start), with: buffer[start..<end])
                end -= start
                start = 0
            } else {
                buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
            }
        }
        let n = try buffer.withUnsafeMutableBytes { try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[end...])) }
        end += n
        return n > 0
    }

    /// One line without its CRLF (a bare LF is accepted in the head, RFC 9112 §2.2); nil at the
    /// end of the stream before any byte of it.
    func readLine(limit: Int) throws -> String? {
        // Bytes after `start` already searched; `fill` may move the buffered bytes.
        var scanned = 0
        while true {
            if let lf = buffer[(start + scanned)..<end].firstIndex(of: 0x0A) {
                var stop = lf
                if stop > start && buffer[stop - 1] == 0x0D { stop -= 1 }
                let line = String(decoding: buffer[start..<stop], as: UTF8.self)
                start = lf + 1
                return line
            }
            scanned = end - start
            if end - start > limit { throw HTTPClientError.malformedResponse("a header line is longer than \(limit) bytes") }
            if try !fill() {
                if start == end { return nil }
                throw HTTPClientError.malformedResponse("the connection ended inside the response head")
            }
        }
    }

    /// Copies up to `max` buffered (or newly read) bytes into `out`; 0 at the end of the stream.
    func read(into out: UnsafeMutableRawBufferPointer, max: Int) throws -> Int {
        if start == end, try !fill() { return 0 }
        let n = min(max, end - start, out.count)
        buffer.withUnsafeBytes { src in out.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n) }
        start += n
        return n
    }

    // MARK: writing

    func write(_ bytes: [UInt8]) throws { try stream.write(bytes) }
    func write(_ bytes: UnsafeRawBufferPointer) throws { try stream.write(bytes) }
}

/// Where a streamed request body is written: chunked transfer coding, gathered into 64 KiB
/// chunks (RFC 9112 §7.1).
public final class HTTPBodySink {
    private let connection: HTTPClientConnection
    /// Bytes ready for the connection (the request head, framed chunks).
    private var pending: [UInt8]
    /// Content not framed yet.
    private var payload: [UInt8] = []
    public private(set) var bytesWritten: Int64 = 0
    static let chunkSize = 64 * 1024

    init(connection: HTTPClientConnection, head: [UInt8]) {
        self.connection = connection
        pending = head
        payload.reserveCapacity(Self.chunkSize)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        bytesWritten += Int64(bytes.count)
        var offset = 0
        while offset < bytes.count {
            let n = min(Self.chunkSize - payload.count, bytes.count - offset)
            payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
            if payload.count == Self.chunkSize { try flush(last: false) }
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Frames the payload as one chunk (and the last chunk with an empty trailer section when
    /// `last`), then sends everything pending.
    private func flush(last: Bool) throws {
        if !payload.isEmpty {
            pending += Array((String(payload.count, radix: 16) + "\r\n").utf8)
            pending += payload
            pending += [0x0D, 0x0A]
            payload.removeAll(keepingCapacity: true)
        }
        if last { pending += Array("0\r\n\r\n".utf8) }
        if !pending.isEmpty { try connection.write(pending) }
        pending.removeAll(keepingCapacity: true)
    }

    func finish() throws { try flush(last: true) }
}

/// The body of a response as it arrives, with its framing removed (Content-Length, chunked, or
/// until the connection closes; RFC 9112 §6.3). Content codings stay: see `ContentDecoder`.
public final class HTTPResponseBody {
    enum Framing { case none, length(Int64), chunked, untilClose }
    private enum State { case length(Int64), chunkSize, chunkData(Int64), chunkEnd, trailers, untilClose, done }

    private let connection: HTTPClientConnection
    private var state: State
    public private(set) var bytesRead: Int64 = 0
    var isComplete: Bool { if case .done = state { return true }; return false }
    /// The connection can carry another request once the body was read to its end.
    let reusable: Bool

    init(connection: HTTPClientConnection, framing: Framing, keepAlive: Bool) {
        self.connection = connection
        switch framing {
        case .none: state = .done
        case .length(let n): state = n == 0 ? .done : .length(n)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
        if case .untilClose = framing { reusable = false } else { reusable = keepAlive }
    }

    /// Calls `body` with each piece of the content (valid only during the call) until the end.
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        try scratch.withUnsafeMutableBytes { buf in
            while true {
                let n = try read(into: buf)
                if n == 0 { return }
                try body(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            }
        }
    }

    /// The whole content; `HTTPClientError.tooLarge` past `limit` bytes.
    public func readAll(limit: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        try forEachChunk { piece in
            if out.count + piece.count > limit { throw HTTPClientError.tooLarge(limit: limit) }
            out.append(contentsOf: piece)
        }
        return out
    }

    /// The next content bytes; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            switch state {
            case .done:
                return 0
            case .length(let remaining):
                let n = try connection.read(into: buffer, max: Int(min(Int64(buffer.count), remaining)))
                if n == 0 { throw HTTPClientError.malformedResponse("the connection ended \(remaining) bytes before the end of the body") }
                state = remaining == Int64(n) ? .done : .length(remaining - Int64(n))
                bytesRead += Int64(n)
                return n
            case .untilClose:
                let n = try connection.read(into: buffer, max: buffer.count)
                if n == 0 { state = .done }
                bytesRead += Int64(n)
                return n
            case .chunkSize:
                guard let line = try connection.readLine(limit: 4096) else {
                    throw HTTPClientError.malformedResponse("the connection ended inside a chunked body")
                }
                let hex = line.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces)
                guard let size = Int64(hex, radix: 16), size >= 0 else { throw HTTPClientError.malformedResponse("bad chunk size line '\(line.prefix(40))'") }
                state = size == 0 ? .trailers : .chunkData(size)
            case .chunkData(let remaining):
                let n = try connection.read(into: buffer, max: Int(min(Int64(buffer.count), remaining)))
                if n == 0 { throw HTTPClientError.malformedResponse("the connection ended inside a chunk") }
                state = remaining == Int64(n) ? .chunkEnd : .chunkData(remaining - Int64(n))
                bytesRead += Int64(n)
                return n
            case .chunkEnd:
                guard let line = try connection.readLine(limit: 2), line.isEmpty else {
                    throw HTTPClientError.malformedResponse("chunk data longer than its size")
                }
                state = .chunkSize
            case .trailers:
                // Trailer fields are read and dropped (RFC 9112 §7.1.2 lets a recipient do so).
                while let line = try connection.readLine(limit: 16 * 1024), !line.isEmpty {}
                state = .done
            }
        }
    }

    /// Reads and drops what is left (at most `limit` bytes): true when the body ended there.
    func discardRest(limit: Int64) -> Bool {
        var dropped: Int64 = 0
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        return scratch.withUnsafeMutableBytes { buf in
            while dropped <= limit {
                guard let n = try? read(into: buf) else { return false }
                if n == 0 { return true }
                dropped += Int64(n)
            }
            return false
        }
    }
}
