#if canImport(Glibc)
import Glibc
#endif

/// The head of one part of a multipart/form-data body (RFC 7578): its header fields and what
/// Content-Disposition and Content-Type say.
public struct MultipartPartHead: Sendable {
    public let headers: HTTPHeaders
    /// The form field name (`name=` of Content-Disposition: form-data).
    public let name: String?
    /// The file name the client gave, if the part is a file (`filename=`, or RFC 8187 `filename*=`).
    public let filename: String?
    /// The part's media type; RFC 7578 §4.4 defaults it to text/plain.
    public let contentType: String?

    init(headers: HTTPHeaders) {
        self.headers = headers
        let disposition = headers["Content-Disposition"].map(HeaderValue.init(parsing:))
        name = disposition?.parameters["name"]
        filename = disposition?.parameters["filename*"].flatMap(Self.decodeExtValue) ?? disposition?.parameters["filename"]
        contentType = headers["Content-Type"]
    }

    /// RFC 8187 `UTF-8'lang'percent-encoded`.
    static func decodeExtValue(_ v: String) -> String? {
        let parts = v.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].lowercased() == "utf-8" else { return nil }
        return PercentEncoding.decode(parts[2])
    }
}

/// A whole part in memory.
public struct MultipartPart: Sendable {
    public let head: MultipartPartHead
    public let body: [UInt8]
    public var name: String? { head.name }
    public var filename: String? { head.filename }
    public var contentType: String? { head.contentType }
    public var headers: HTTPHeaders { head.headers }
}

/// multipart/form-data (RFC 7578, syntax of RFC 2046 §5.1.1), read from a `BodyReader`.
///
/// `parse(_:onPart:)` streams: each part's content is handed over in pieces as it arrives, and
/// the parser holds at most one read (64 KiB) plus a boundary's length, so an uploaded file of
/// any size passes through bounded memory. `parseAll(_:limit:)` is the in-memory convenience
/// for small forms: every part whole, the body at most `limit` bytes.
public struct MultipartParser: Sendable {
    public let boundary: String
    /// The header section of one part.
    public var maxPartHeaderBytes = 16 * 1024
    public var maxParts = 1000

    /// RFC 2046 §5.1.1: 1 to 70 characters, not ending in a space.
    public init(boundary: String) throws {
        guard (1...70).contains(boundary.utf8.count), !boundary.hasSuffix(" "),
              boundary.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw HTTPError(.badRequest, "invalid multipart boundary")
        }
        self.boundary = boundary
    }

    /// Takes the boundary from a Content-Type of `multipart/form-data; boundary=...`:
    /// 415 for another media type, 400 without a usable boundary.
    public init(contentType: String?) throws {
        guard let contentType else { throw HTTPError(.unsupportedMediaType, "expected multipart/form-data, got no Content-Type") }
        let value = HeaderValue(parsing: contentType)
        guard value.value == "multipart/form-data" else {
            throw HTTPError(.unsupportedMediaType, "expected multipart/form-data, got \(value.value)")
        }
        guard let boundary = value.parameters["boundary"] else { throw HTTPError(.badRequest, "multipart/form-data without a boundary") }
        try self.init(boundary: boundary)
    }

    /// Streams the parts of `body`: `onPart` gets each part's head and returns a sink for its
    /// content, which then receives the content in order (pieces valid only during the call;
    /// the last call of a part may be empty). Throws 400 for a malformed or truncated body.
    public func parse(_ body: BodyReader, onPart: (MultipartPartHead) throws -> ((UnsafeRawBufferPointer) throws -> Void)) throws {
        var scanner = Scanner(body: body, delimiter: Array("\r\n--\(boundary)".utf8))
        // The first delimiter has no CRLF before it (RFC 2046: the preamble may be empty):
        // start the search as if a CRLF preceded the body.
        scanner.buffer = [0x0D, 0x0A]
        // Preamble: dropped.
        try scanner.skipToDelimiter()
        var parts = 0
        while true {
            if try scanner.afterDelimiterIsClose() {
                try scanner.dropEpilogue()
                return
            }
            parts += 1
            if parts > maxParts { throw HTTPError(.contentTooLarge, "more than \(maxParts) parts") }
            let headers = try scanner.readPartHeaders(limit: maxPartHeaderBytes)
            let sink = try onPart(MultipartPartHead(headers: headers))
            try scanner.copyToDelimiter(sink)
        }
    }

    /// Every part in memory; 413 when the body is longer than `limit` bytes.
    public func parseAll(_ body: BodyReader, limit: Int) throws -> [MultipartPart] {
        if let n = body.expectedLength, n > Int64(limit) { throw BodyReader.tooLarge(limit) }
        var parts: [MultipartPart] = []
        var total = 0
        var current: (MultipartPartHead, [UInt8])? = nil
        func close() { if let (h, b) = current { parts.append(MultipartPart(head: h, body: b)) } }
        try parse(body) { head in
            close()
            current = (head, [])
            return { piece in
                total += piece.count
                if total > limit { throw BodyReader.tooLarge(limit) }
                current!.1.append(contentsOf: piece)
            }
        }
        close()
        return parts
    }

    /// Parses a whole multipart body held in memory.
    public func parseAll(_ bytes: [UInt8]) throws -> [MultipartPart] {
        try parseAll(BodyReader(bytes: bytes), limit: bytes.count)
    }

    /// A window over the body: `buffer[position...]` is unconsumed.
    struct Scanner {
        let body: BodyReader
        let delimiter: [UInt8]
        var buffer: [UInt8] = []
        var position = 0
        var ended = false

        init(body: BodyReader, delimiter: [UInt8]) {
            self.body = body
            self.delimiter = delimiter
        }

        var available: Int { buffer.count - position }

        /// Appends the next piece of the body; false at its end.
        mutating func more() throws -> Bool {
            if ended { return false }
            if position > 0 && (position >= 64 * 1024 || position * 2 >= buffer.count) {
                buffer.removeSubrange(0..<position)
                position = 0
            }
            guard let piece = try body.read(maxLength: 64 * 1024) else { ended = true; return false }
            buffer.append(contentsOf: piece)
            return true
        }

        mutating func need(_ n: Int) throws {
            while available < n {
                if !(try more()) { throw HTTPError(.badRequest, "the multipart body ends before its closing boundary") }
            }
        }

        /// Offset of the delimiter at or after `position`, nil when not (yet) buffered.
        func findDelimiter() -> Int? {
            buffer.withUnsafeBufferPointer { p -> Int? in
                let base = p.baseAddress!
                var i = position
                while p.count - i >= delimiter.count {
                    guard let hit = memchr(base + i, Int32(delimiter[0]), p.count - i - delimiter.count + 1) else { return nil }
                    let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + at, delimiter, delimiter.count) == 0 { return at }
                    i = at + 1
                }
                return nil
            }
        }

        mutating func skipToDelimiter() throws {
            try copyToDelimiter { _ in }
        }

        /// Hands the bytes up to the next delimiter to `sink` and consumes the delimiter. Bytes
        /// that could be the start of a delimiter stay until the next read decides.
        mutating func copyToDelimiter(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
            while true {
                if let at = findDelimiter() {
                    try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[position..<at])) }
                    position = at + delimiter.count
                    return
                }
                let safe = buffer.count - (delimiter.count - 1)
                if safe > position {
                    try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[position..<safe])) }
                    position = safe
                }
                if !(try more()) { throw HTTPError(.badRequest, "the multipart body ends before its closing boundary") }
            }
        }

        /// After a delimiter: `--` closes the body; otherwise optional whitespace (transport
        /// padding) and CRLF start a part.
        mutating func afterDelimiterIsClose() throws -> Bool {
            try need(2)
            if buffer[position] == 0x2D && buffer[position + 1] == 0x2D {
                position += 2
                return true
            }
            while true {
                try need(1)
                let c = buffer[position]
                if c == 0x20 || c == 0x09 { position += 1; continue }
                try need(2)
                guard c == 0x0D, buffer[position + 1] == 0x0A else { throw HTTPError(.badRequest, "malformed multipart boundary line") }
                position += 2
                return false
            }
        }

        /// Header lines up to the empty line (none at all is allowed: defaults apply).
        mutating func readPartHeaders(limit: Int) throws -> HTTPHeaders {
            var headers = HTTPHeaders()
            var size = 0
            while true {
                var lineEnd: Int? = nil
                while lineEnd == nil {
                    if let lf = buffer[position...].firstIndex(of: 0x0A) {
                        lineEnd = lf
                    } else {
                        if available > limit - size { throw HTTPError(.badRequest, "a multipart part's header section is too large") }
                        try need(available + 1)
                    }
                }
                let lf = lineEnd!
                guard lf > position, buffer[lf - 1] == 0x0D else { throw HTTPError(.badRequest, "multipart header line not ended by CRLF") }
                let line = Array(buffer[position..<(lf - 1)])
                position = lf + 1
                size += line.count + 2
                if size > limit { throw HTTPError(.badRequest, "a multipart part's header section is too large") }
                if line.isEmpty { return headers }
                do {
                    let (name, value) = try line.withUnsafeBufferPointer { try HTTPParser.parseFieldLine($0) }
                    headers.add(name, value)
                } catch let e as HTTPError {
                    throw HTTPError(.badRequest, "multipart part: \(e.message)")
                }
            }
        }

        /// Reads and drops whatever follows the close delimiter.
        mutating func dropEpilogue() throws {
            position = buffer.count
            while try more() { position = buffer.count }
        }
    }
}
