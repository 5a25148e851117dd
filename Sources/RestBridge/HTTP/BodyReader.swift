import Foundation
import DicomNet

/// A request body, pulled by the handler piece by piece as it arrives, so a 1 GB upload never
/// sits whole in memory: `read(maxLength:)` / `read(into:)` return what the connection has (at
/// most the size asked), `forEachChunk` loops over them, and `readAll(limit:)` collects a body
/// the handler wants whole. Chunked transfer coding is removed here (RFC 9112 §7.1).
///
/// With `Expect: 100-continue` the interim `100 Continue` goes out on the first read, i.e. only
/// once the handler has decided it wants the body (RFC 9110 §10.1.1). A handler that answers
/// without reading simply never triggers it.
///
/// Framing errors, timeouts and the connection's body limit are sticky: the reader fails the
/// same way on every later call, and the server answers with that error whatever the handler
/// returns, then closes the connection.
public final class BodyReader {
    /// Content-Length of the request; nil for a chunked body.
    public let expectedLength: Int64?
    public var isChunked: Bool { expectedLength == nil }
    /// Body bytes delivered so far (after removing the chunked coding).
    public private(set) var bytesRead: Int64 = 0
    /// Trailer fields of a chunked body (RFC 9112 §7.1.2), once the body has been read to its end.
    /// Kept apart from the header fields, as the RFC allows.
    public private(set) var trailers = HTTPHeaders()
    /// True once the whole body has been read.
    public var isComplete: Bool { state == .done }

    enum State: Equatable {
        case length(remaining: Int64)
        case chunkSize
        case chunkData(remaining: Int64)
        case chunkDataEnd
        case trailers
        case done
    }

    private var state: State
    private let input: InputBuffer
    private let limits: HTTPLimits
    /// Seconds one read may wait for the next bytes.
    private let timeout: Double?
    /// Sends `100 Continue`; set while the client awaits it.
    private var sendContinue: (() throws -> Void)?
    /// A failure that ended the message (framing, timeout, limit): rethrown on every call.
    private(set) var failure: HTTPError?

    init(framing: BodyFraming, input: InputBuffer, limits: HTTPLimits, timeout: Double?, sendContinue: (() throws -> Void)? = nil) {
        switch framing {
        case .length(let n):
            expectedLength = n
            state = n == 0 ? .done : .length(remaining: n)
        case .chunked:
            expectedLength = nil
            state = .chunkSize
        }
        self.input = input
        self.limits = limits
        self.timeout = timeout
        self.sendContinue = state == .done ? nil : sendContinue
    }

    /// A body held in memory (requests built in code, tests).
    public convenience init(bytes: [UInt8]) {
        self.init(framing: .length(Int64(bytes.count)), input: InputBuffer(stream: MemoryStream(bytes), socket: nil), limits: HTTPLimits(), timeout: nil)
    }

    /// An empty body.
    public convenience init() { self.init(bytes: []) }

    /// True while the client waits for `100 Continue` that has not been sent: it may not have
    /// sent the body at all, so the connection cannot be reused unless the body is read.
    var awaitsContinue: Bool { sendContinue != nil }

    // MARK: Reading

    /// Copies the next body bytes into `buffer`; returns 0 at the end of the body.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let failure { throw failure }
        guard buffer.count > 0, state != .done else { return 0 }
        do {
            if let send = sendContinue {
                sendContinue = nil
                do { try send() } catch { throw HTTPError.badRequest("cannot send 100 Continue: \(error)", close: true) }
            }
            let n = try readBody(into: buffer)
            bytesRead += Int64(n)
            if bytesRead > limits.maxBodyBytes {
                throw HTTPError(.contentTooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes", closesConnection: true)
            }
            return n
        } catch let e as HTTPError {
            if e.closesConnection { failure = e }
            throw e
        }
    }

    /// The next piece of the body, at most `maxLength` bytes; nil at the end.
    public func read(maxLength: Int = 64 * 1024) throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: maxLength)
        let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
        if n == 0 { return nil }
        chunk.removeSubrange(n...)
        return chunk
    }

    /// Calls `body` with each piece of the body in order (at most `maxLength` bytes each, valid
    /// only during the call), until the end.
    public func forEachChunk(maxLength: Int = 64 * 1024, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var scratch = [UInt8](repeating: 0, count: maxLength)
        try scratch.withUnsafeMutableBytes { buf in
            while true {
                let n = try read(into: buf)
                if n == 0 { return }
                try body(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            }
        }
    }

    /// The whole body; 413 when it is (or turns out to be) longer than `limit` bytes. A
    /// Content-Length over the limit fails before anything is read (and before `100 Continue`).
    public func readAll(limit: Int) throws -> [UInt8] {
        if let n = expectedLength, n > Int64(limit) { throw Self.tooLarge(limit) }
        var out = [UInt8]()
        out.reserveCapacity(Int(min(expectedLength ?? 0, Int64(limit))))
        try forEachChunk { piece in
            if out.count + piece.count > limit { throw Self.tooLarge(limit) }
            out.append(contentsOf: piece)
        }
        return out
    }

    public func readAllData(limit: Int) throws -> Data { Data(try readAll(limit: limit)) }

    static func tooLarge(_ limit: Int) -> HTTPError {
        HTTPError(.contentTooLarge, "the request body is larger than \(limit) bytes")
    }

    /// Reads and drops the rest of the body, at most `limit` bytes: true when the body ended, so the
    /// connection can carry the next request. Never sends `100 Continue`.
    func discardRest(limit: Int64) -> Bool {
        if failure != nil { return false }
        if state == .done { return true }
        if awaitsContinue { return false }
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        var dropped: Int64 = 0
        return scratch.withUnsafeMutableBytes { buf in
            while dropped <= limit {
                guard let n = try? read(into: buf) else { return false }
                if n == 0 { return true }
                dropped += Int64(n)
            }
            return false
        }
    }

    // MARK: Framing

    private func readBody(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            switch state {
            case .done:
                return 0
            case .length(let remaining):
                let n = try pull(into: buffer, max: Int(min(Int64(buffer.count), remaining)))
                state = remaining - Int64(n) == 0 ? .done : .length(remaining: remaining - Int64(n))
                return n
            case .chunkSize:
                let line = try readLine(limit: limits.maxChunkLineBytes, what: "chunk size line")
                let size = try HTTPParser.parseChunkSizeLine(line)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let n = try pull(into: buffer, max: Int(min(Int64(buffer.count), remaining)))
                state = remaining - Int64(n) == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - Int64(n))
                return n
            case .chunkDataEnd:
                // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
                let line = try readLine(limit: 0, what: "chunk data end")
                guard line.isEmpty else { throw HTTPError.badRequest("chunk data longer than its size", close: true) }
                state = .chunkSize
            case .trailers:
                // trailer-section = *( field-line CRLF ), then CRLF (RFC 9112 §7.1.2)
                var size = 0
                while true {
                    let line = try readLine(limit: limits.maxHeaderBytes, what: "trailer section")
                    if line.isEmpty { break }
                    size += line.count + 2
                    if size > limits.maxHeaderBytes || trailers.count >= limits.maxHeaderFields {
                        throw HTTPError(.requestHeaderFieldsTooLarge, "the trailer section is too large", closesConnection: true)
                    }
                    let (name, value) = try line.withUnsafeBufferPointer { try HTTPParser.parseFieldLine($0) }
                    trailers.add(name, value)
                }
                state = .done
                return 0
            }
        }
    }

    /// Copies buffered bytes, reading from the connection when none are buffered.
    private func pull(into buffer: UnsafeMutableRawBufferPointer, max: Int) throws -> Int {
        if input.isEmpty { try fill() }
        return input.take(into: buffer, max: max)
    }

    /// One line of the chunked coding without its CRLF. Here CRLF is required: being lenient
    /// inside bodies is how request smuggling starts.
    private func readLine(limit: Int, what: String) throws -> [UInt8] {
        var scanned = 0
        while true {
            if let lf = input.firstLF(from: scanned) {
                guard lf > 0, input[lf - 1] == HTTPParser.CR else { throw HTTPError.badRequest("\(what) not ended by CRLF", close: true) }
                let line = input.withBytes { Array($0[0..<(lf - 1)]) }
                input.consume(lf + 1)
                if line.contains(HTTPParser.CR) { throw HTTPError.badRequest("bare CR in \(what)", close: true) }
                return line
            }
            scanned = input.count
            if input.count > limit + 1 { throw HTTPError.badRequest("\(what) too long", close: true) }
            try fill()
        }
    }

    private func fill() throws {
        let more: Bool
        do {
            more = try input.fill(timeout: timeout)
        } catch TransportError.timeout {
            throw HTTPError(.requestTimeout, "no request body bytes for \(formatSeconds(timeout ?? 0)) s", closesConnection: true)
        } catch {
            throw HTTPError.badRequest("reading the request body failed: \(error)", close: true)
        }
        if !more { throw HTTPError.badRequest("the connection ended before the request body was complete", close: true) }
    }
}
