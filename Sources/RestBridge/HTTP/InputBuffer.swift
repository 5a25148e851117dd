#if canImport(Glibc)
import Glibc
#endif
import DicomNet

/// Bytes read from a connection and not yet consumed. Whatever follows one request stays here
/// for the next, so pipelined requests are parsed in order (RFC 9112 §9.3.2). Each `fill` waits
/// at most its timeout through the socket's poll-based read timeout, which TLSStream honours too.
final class InputBuffer {
    let stream: ByteStream
    /// The TCP socket under `stream` (itself, or the one under TLS); nil for in-memory streams.
    let socket: TCPSocket?
    private var storage: [UInt8]
    private(set) var start = 0
    private(set) var end = 0
    /// The buffer grows up to this for a long request head; bodies never need more than the base size.
    let maxCapacity: Int

    init(stream: ByteStream, socket: TCPSocket?, capacity: Int = 64 * 1024, maxCapacity: Int = 64 * 1024) {
        self.stream = stream
        self.socket = socket
        self.storage = [UInt8](repeating: 0, count: capacity)
        self.maxCapacity = max(capacity, maxCapacity)
    }

    var count: Int { end - start }
    var isEmpty: Bool { start == end }

    /// The unconsumed byte at offset `i`.
    subscript(i: Int) -> UInt8 { storage[start + i] }

    /// One read from the stream into free space. False at end of stream; throws the stream's
    /// `TransportError` (`.timeout` after `timeout` seconds without data; nil waits forever), or
    /// 400 when the buffer is full at `maxCapacity`.
    func fill(timeout: Double?) throws -> Bool {
        if start == end { start = 0; end = 0 }
        if end == storage.count {
            if start > 0 {
                compact()
            } else {
                // Callers check their own limits first; this is the backstop.
                guard storage.count < maxCapacity else { throw HTTPError.badRequest("request line or header section too long", close: true) }
                storage.append(contentsOf: repeatElement(0, count: min(storage.count, maxCapacity - storage.count)))
            }
        }
        socket?.readTimeout = timeout
        let n = try storage.withUnsafeMutableBytes { raw in
            try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
        end += n
        return n > 0
    }

    /// True when `fill` cannot make room (the caller's limit is the buffer's size).
    var isFull: Bool { start == 0 && end == storage.count && storage.count >= maxCapacity }

    func consume(_ n: Int) {
        precondition(n <= count)
        start += n
        if start == end { start = 0; end = 0 }
    }

    /// Moves up to `max` unconsumed bytes into `buffer`; returns how many.
    func take(into buffer: UnsafeMutableRawBufferPointer, max: Int) -> Int {
        let n = Swift.min(max, count, buffer.count)
        guard n > 0 else { return 0 }
        storage.withUnsafeBytes { raw in
            buffer.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: n)
        }
        consume(n)
        return n
    }

    /// The unconsumed bytes, valid only inside `body`.
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { p in try body(UnsafeBufferPointer(rebasing: p[start..<end])) }
    }

    /// Offset (from the first unconsumed byte) of the first LF at or after `from`.
    func firstLF(from: Int = 0) -> Int? {
        guard from < count else { return nil }
        return withBytes { p in
            guard let hit = memchr(p.baseAddress! + from, 0x0A, p.count - from) else { return nil }
            return p.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Drops leading empty lines before a request line (RFC 9112 §2.2: a server SHOULD ignore
    /// at least one). A lone CR at the end stays until its LF arrives.
    func skipLeadingEmptyLines() {
        while count > 0 {
            if self[0] == 0x0A { consume(1) } else if count >= 2, self[0] == 0x0D, self[1] == 0x0A { consume(2) } else { return }
        }
    }

    private func compact() {
        let n = count
        storage.withUnsafeMutableBytes { raw in
            _ = memmove(raw.baseAddress!, raw.baseAddress! + start, n)
        }
        start = 0
        end = n
    }
}

/// A `ByteStream` over bytes in memory, handing out at most `readSize` bytes per read: a request
/// body built in code, and the parser tests (1-byte reads exercise every boundary).
final class MemoryStream: ByteStream, @unchecked Sendable {
    private var bytes: [UInt8]
    private var offset = 0
    private let readSize: Int
    private(set) var written: [UInt8] = []
    let peerDescription = "memory"

    init(_ bytes: [UInt8], readSize: Int = .max) {
        self.bytes = bytes
        self.readSize = readSize
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset, readSize)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }

    func write(_ b: UnsafeRawBufferPointer) throws { written.append(contentsOf: b) }
    func close() {}
}
