import Foundation
import DicomNet

/// Limits on a request before and around its body. Head limits answer 414 / 431 (RFC 9112 §3,
/// RFC 6585 §5); the body limit answers 413 (RFC 9110 §15.5.14).
public struct HTTPLimits: Sendable {
    /// Request line, e.g. `GET /path?query HTTP/1.1` (without CRLF).
    public var maxRequestLineBytes = 8 * 1024
    /// The header section after the request line, all field lines together.
    public var maxHeaderBytes = 64 * 1024
    public var maxHeaderFields = 100
    /// A chunk-size line with its extensions (RFC 9112 §7.1.1).
    public var maxChunkLineBytes = 4 * 1024
    /// Any request body, Content-Length or chunked. Handlers set lower limits with `readAll(limit:)`.
    public var maxBodyBytes: Int64 = 4 << 30

    public init() {}
}

/// The request line and header section, before any body is read.
struct RequestHead {
    var method: HTTPMethod
    var target: String
    var version: HTTPVersion
    var headers: HTTPHeaders
}

/// How the body of a request is delimited (RFC 9112 §6.3).
enum BodyFraming: Equatable {
    case length(Int64)
    case chunked
}

/// What the head says about the message as a whole.
struct MessageInfo: Equatable {
    var framing: BodyFraming
    /// The client lets the connection persist after this request (RFC 9112 §9.3).
    var keepAlive: Bool
    /// `Expect: 100-continue` on a request with content (RFC 9110 §10.1.1).
    var expectsContinue: Bool
}

/// The HTTP/1.1 request syntax of RFC 9112: the head (request line and fields), the framing
/// rules, and the pieces of chunked transfer coding. The server reads through this; tests
/// feed it bytes directly.
public enum HTTPParser {
    static let CR: UInt8 = 0x0D, LF: UInt8 = 0x0A, SP: UInt8 = 0x20, HT: UInt8 = 0x09

    // MARK: Reading a head from a connection

    /// Reads one request head. Returns nil when the connection ended or stayed idle for
    /// `idleTimeout` before any byte of a request (nothing to answer). Once the first byte is in,
    /// the whole head must arrive within `headerTimeout` (a slow client gets 408) and within the
    /// limits (414 / 431). `onFirstByte` runs when a request begins.
    static func readHead(from input: InputBuffer, limits: HTTPLimits, idleTimeout: Double, headerTimeout: Double,
                         onFirstByte: () -> Void = {}) throws -> RequestHead? {
        var deadline: Double? = nil
        var scanned = 0
        while true {
            if deadline == nil {
                input.skipLeadingEmptyLines()
                if input.count > 0 && !(input.count == 1 && input[0] == CR) {
                    deadline = monotonicNow() + headerTimeout
                    onFirstByte()
                }
            }
            if deadline != nil, let end = findHeadEnd(input, scanned: &scanned) {
                let head = try input.withBytes { try parseHead(UnsafeBufferPointer(rebasing: $0[0..<end]), limits: limits) }
                input.consume(end)
                return head
            }
            if deadline != nil {
                try checkIncompleteHead(input, limits: limits)
            }
            let timeout = deadline.map { max($0 - monotonicNow(), 0.001) } ?? idleTimeout
            let more: Bool
            do {
                more = try input.fill(timeout: timeout)
            } catch TransportError.timeout {
                if deadline == nil { return nil }  // idle keep-alive connection: close quietly
                throw HTTPError(.requestTimeout, "the request head did not arrive within \(formatSeconds(headerTimeout)) s", closesConnection: true)
            } catch TransportError.closedByPeer {
                return nil
            }
            if !more {
                if deadline == nil { return nil }
                throw HTTPError.badRequest("the connection ended in the middle of the request head", close: true)
            }
        }
    }

    /// Offset just past the empty line ending the head (CRLF CRLF, or LF LF: RFC 9112 §2.2 lets a
    /// recipient take a bare LF as a line terminator). `scanned` remembers where to resume.
    static func findHeadEnd(_ input: InputBuffer, scanned: inout Int) -> Int? {
        var from = scanned
        while let lf = input.firstLF(from: from) {
            if lf + 1 < input.count, input[lf + 1] == LF { return lf + 2 }
            if lf + 2 < input.count, input[lf + 1] == CR, input[lf + 2] == LF { return lf + 3 }
            if lf + 2 >= input.count { scanned = lf; return nil }  // wait for the next bytes
            from = lf + 1
        }
        scanned = max(0, input.count - 1)
        return nil
    }

    /// A head still incomplete but already past a limit: answer now rather than buffer more.
    static func checkIncompleteHead(_ input: InputBuffer, limits: HTTPLimits) throws {
        let lineEnd = input.firstLF() ?? input.count
        if lineEnd > limits.maxRequestLineBytes + 1 {
            throw HTTPError(.uriTooLong, "the request line is longer than \(limits.maxRequestLineBytes) bytes", closesConnection: true)
        }
        if input.count - lineEnd > limits.maxHeaderBytes + 2 || input.isFull {
            throw HTTPError(.requestHeaderFieldsTooLarge, "the header section is larger than \(limits.maxHeaderBytes) bytes", closesConnection: true)
        }
    }

    // MARK: Parsing a complete head

    /// Parses a head (request line, field lines, the empty line). Errors close the connection:
    /// after a malformed head nothing says where the next request starts.
    static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, limits: HTTPLimits) throws -> RequestHead {
        var lines: [Range<Int>] = []
        var lineStart = 0
        for i in 0..<bytes.count where bytes[i] == LF {
            var end = i
            if end > lineStart && bytes[end - 1] == CR { end -= 1 }
            lines.append(lineStart..<end)
            lineStart = i + 1
        }
        guard let requestLine = lines.first else { throw HTTPError.badRequest("empty request", close: true) }
        if requestLine.count > limits.maxRequestLineBytes {
            throw HTTPError(.uriTooLong, "the request line is longer than \(limits.maxRequestLineBytes) bytes", closesConnection: true)
        }
        let fieldLines = lines.dropFirst().dropLast()  // the last one is the empty line
        let headerBytes = fieldLines.reduce(0) { $0 + $1.count + 2 }
        if headerBytes > limits.maxHeaderBytes {
            throw HTTPError(.requestHeaderFieldsTooLarge, "the header section is larger than \(limits.maxHeaderBytes) bytes", closesConnection: true)
        }
        if fieldLines.count > limits.maxHeaderFields {
            throw HTTPError(.requestHeaderFieldsTooLarge, "more than \(limits.maxHeaderFields) header fields", closesConnection: true)
        }
        var head = try parseRequestLine(UnsafeBufferPointer(rebasing: bytes[requestLine]))
        for line in fieldLines {
            let (name, value) = try parseFieldLine(UnsafeBufferPointer(rebasing: bytes[line]))
            head.headers.add(name, value)
        }
        return head
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 §3), single spaces, no bare CR.
    static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws -> RequestHead {
        let parts = line.split(separator: SP, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw HTTPError.badRequest("malformed request line", close: true)
        }
        guard parts[0].allSatisfy(isTokenChar) else { throw HTTPError.badRequest("malformed method", close: true) }
        // The target is ASCII without controls or spaces (RFC 3986 §2; RFC 9112 §3.2).
        guard parts[1].allSatisfy({ $0 > SP && $0 < 0x7F }) else {
            throw HTTPError.badRequest("the request target contains spaces, controls or non-ASCII bytes", close: true)
        }
        let version = try parseVersion(parts[2])
        return RequestHead(method: HTTPMethod(String(decoding: parts[0], as: UTF8.self)),
                           target: String(decoding: parts[1], as: UTF8.self), version: version, headers: HTTPHeaders())
    }

    /// `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3). Other majors than 1 get 505 (RFC 9110 §15.6.6).
    static func parseVersion(_ v: Slice<UnsafeBufferPointer<UInt8>>) throws -> HTTPVersion {
        let b = Array(v)
        guard b.count == 8, b[0..<5].elementsEqual("HTTP/".utf8), isDigit(b[5]), b[6] == 0x2E, isDigit(b[7]) else {
            throw HTTPError.badRequest("malformed HTTP version", close: true)
        }
        let version = HTTPVersion(major: Int(b[5] - 0x30), minor: Int(b[7] - 0x30))
        guard version.major == 1 else {
            throw HTTPError(.httpVersionNotSupported, "\(version) is not supported; use HTTP/1.1", closesConnection: true)
        }
        return version
    }

    /// `field-name ":" OWS field-value OWS` (RFC 9112 §5). No whitespace before the colon
    /// (§5.1: MUST reject with 400), no obs-fold (§5.2), no CR / NUL / other controls in the
    /// value (RFC 9110 §5.5).
    static func parseFieldLine(_ line: UnsafeBufferPointer<UInt8>) throws -> (String, String) {
        if let first = line.first, first == SP || first == HT {
            throw HTTPError.badRequest("obsolete line folding in a header field", close: true)
        }
        guard let colon = line.firstIndex(of: 0x3A), colon > 0 else {
            throw HTTPError.badRequest("malformed header field line", close: true)
        }
        let nameBytes = line[0..<colon]
        guard nameBytes.allSatisfy(isTokenChar) else {
            throw HTTPError.badRequest("malformed header field name", close: true)
        }
        var lo = colon + 1, hi = line.count
        while lo < hi, line[lo] == SP || line[lo] == HT { lo += 1 }
        while hi > lo, line[hi - 1] == SP || line[hi - 1] == HT { hi -= 1 }
        let valueBytes = line[lo..<hi]
        guard valueBytes.allSatisfy({ $0 == HT || ($0 >= SP && $0 != 0x7F) }) else {
            throw HTTPError.badRequest("control characters in header field \(String(decoding: nameBytes, as: UTF8.self))", close: true)
        }
        return (String(decoding: nameBytes, as: UTF8.self), decodeFieldValue(valueBytes))
    }

    /// Field values are ASCII in practice; other octets (obs-text) are taken as UTF-8 when they
    /// form it, else as ISO-8859-1 so no byte is lost (RFC 9110 §5.5).
    static func decodeFieldValue<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    // MARK: Message semantics from the head

    /// Host, framing, persistence and expectations; errors here close the connection except 417.
    static func messageInfo(for head: RequestHead) throws -> MessageInfo {
        let headers = head.headers
        // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, or with more than one.
        let hosts = headers.values(for: "Host")
        if hosts.count > 1 { throw HTTPError.badRequest("more than one Host header field", close: true) }
        if hosts.isEmpty && head.version >= .http1_1 { throw HTTPError.badRequest("an HTTP/1.1 request needs a Host header field", close: true) }

        let framing = try bodyFraming(headers, version: head.version)

        // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
        let connection = headers.tokens("Connection")
        let keepAlive = !connection.contains("close") && (head.version >= .http1_1 || connection.contains("keep-alive"))

        // RFC 9110 §10.1.1: 100-continue is the only expectation; ignored from HTTP/1.0 clients.
        var expectsContinue = false
        let expect = headers.tokens("Expect")
        if !expect.isEmpty && head.version >= .http1_1 {
            guard expect.allSatisfy({ $0 == "100-continue" }) else {
                throw HTTPError(.expectationFailed, "unsupported expectation: \(headers.values(for: "Expect").joined(separator: ", "))", closesConnection: true)
            }
            expectsContinue = framing != .length(0)
        }
        return MessageInfo(framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue)
    }

    /// RFC 9112 §6.3, strict where requests could be read two ways (request smuggling):
    /// both Transfer-Encoding and Content-Length → 400; chunked not last → 400 (item 4);
    /// other codings before chunked → 501 (§6.1); Content-Length that is not one number → 400 (item 5).
    static func bodyFraming(_ headers: HTTPHeaders, version: HTTPVersion) throws -> BodyFraming {
        let te = headers.values(for: "Transfer-Encoding")
        let cl = headers.values(for: "Content-Length")
        if !te.isEmpty {
            if !cl.isEmpty {
                throw HTTPError.badRequest("both Transfer-Encoding and Content-Length: ambiguous message length", close: true)
            }
            if version < .http1_1 {
                // §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
                throw HTTPError.badRequest("Transfer-Encoding in an HTTP/1.0 request", close: true)
            }
            let codings = headers.tokens("Transfer-Encoding").map { lowercasedASCII(trimOWS($0.split(separator: ";", maxSplits: 1).first ?? "")) }
            guard codings.last == "chunked" else {
                throw HTTPError.badRequest("Transfer-Encoding does not end in chunked: the body length cannot be determined", close: true)
            }
            guard codings.filter({ $0 == "chunked" }).count == 1 else {
                throw HTTPError.badRequest("chunked applied more than once", close: true)  // §7
            }
            guard codings.count == 1 else {
                throw HTTPError(.notImplemented, "unsupported transfer coding: \(codings.dropLast().joined(separator: ", "))", closesConnection: true)
            }
            return .chunked
        }
        if !cl.isEmpty {
            // RFC 9110 §8.6: a list of identical values ("5, 5") may be taken as that value.
            let values = cl.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { trimOWS($0) }
            guard let first = values.first, !first.isEmpty, first.utf8.allSatisfy(isDigit), values.allSatisfy({ $0 == first }) else {
                throw HTTPError.badRequest("invalid or conflicting Content-Length", close: true)
            }
            guard let n = Int64(first) else { throw HTTPError.badRequest("Content-Length out of range", close: true) }
            return .length(n)
        }
        return .length(0)  // §6.3 item 7: a request without either has no content
    }

    // MARK: Request target

    /// Splits a request-target (RFC 9112 §3.2) into its path and query. Origin form
    /// (`/path?query`), absolute form (`http://host/path`, §3.2.2: servers MUST accept it),
    /// and `*` for OPTIONS. Returns the raw (still percent-encoded) path.
    static func splitTarget(_ target: String, method: HTTPMethod) throws -> (path: Substring, query: Substring?) {
        if target == "*" {
            guard method == .options else { throw HTTPError.badRequest("* is a request target for OPTIONS only") }
            return ("*", nil)
        }
        guard !target.contains("#") else { throw HTTPError.badRequest("a request target has no fragment") }
        var rest = Substring(target)
        if !rest.hasPrefix("/") {
            let lower = lowercasedASCII(rest.prefix(8))
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
                throw HTTPError.badRequest("unsupported request target form")
            }
            rest = rest[rest.index(rest.startIndex, offsetBy: lower.hasPrefix("http://") ? 7 : 8)...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = rest[slash...]
                if rest.hasPrefix("?") { return ("/", rest.dropFirst()) }
            } else {
                return ("/", nil)
            }
        }
        if let q = rest.firstIndex(of: "?") { return (rest[..<q], rest[rest.index(after: q)...]) }
        return (rest, nil)
    }

    /// Decoded path segments: `/api/images/12/` → ["api", "images", "12"]. Segments are
    /// decoded one by one, so an encoded "/" (%2F) stays inside its segment. Dot segments are
    /// refused (they would mean something else to a file system behind a route).
    static func pathSegments(_ path: Substring) throws -> [String] {
        if path == "*" { return ["*"] }
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.count > 1, parts.last == "" { parts = parts.dropLast() }  // trailing slash
        if parts.count == 1, parts.first == "" { return [] }
        return try parts.map { raw in
            guard let s = PercentEncoding.decode(raw) else { throw HTTPError.badRequest("malformed percent-encoding in the path") }
            guard s != "." && s != ".." else { throw HTTPError.badRequest("dot segments in the path") }
            return s
        }
    }

    // MARK: Chunked transfer coding (RFC 9112 §7.1)

    /// `chunk-size [ chunk-ext ]` of one chunk line (CRLF removed): the size, extensions checked
    /// for syntax and ignored (§7.1.1: a recipient MUST ignore unrecognized extensions).
    static func parseChunkSizeLine<C: Collection>(_ line: C) throws -> Int64 where C.Element == UInt8, C.Index == Int {
        var i = line.startIndex
        var size: Int64 = 0
        var digits = 0
        while i < line.endIndex, let h = PercentEncoding.hexValue(line[i]) {
            if size > (Int64.max >> 4) { throw HTTPError.badRequest("chunk size out of range", close: true) }
            size = size << 4 | Int64(h)
            digits += 1
            i += 1
        }
        guard digits > 0 else { throw HTTPError.badRequest("malformed chunk size", close: true) }
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
        func skipBWS() { while i < line.endIndex, line[i] == SP || line[i] == HT { i += 1 } }
        func token() -> Bool {
            let s = i
            while i < line.endIndex, isTokenChar(line[i]) { i += 1 }
            return i > s
        }
        func quoted() -> Bool {
            guard i < line.endIndex, line[i] == 0x22 else { return false }
            i += 1
            while i < line.endIndex {
                let c = line[i]
                if c == 0x22 { i += 1; return true }
                if c == 0x5C { i += 2; continue }
                if c < SP && c != HT || c == 0x7F { return false }
                i += 1
            }
            return false
        }
        skipBWS()
        while i < line.endIndex {
            guard line[i] == 0x3B else { throw HTTPError.badRequest("malformed chunk extension", close: true) }
            i += 1
            skipBWS()
            guard token() else { throw HTTPError.badRequest("malformed chunk extension", close: true) }
            skipBWS()
            if i < line.endIndex, line[i] == 0x3D {
                i += 1
                skipBWS()
                guard token() || quoted() else { throw HTTPError.badRequest("malformed chunk extension value", close: true) }
                skipBWS()
            }
        }
        return size
    }

    // MARK: Character classes

    /// tchar (RFC 9110 §5.6.2).
    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
        default: return false
        }
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
}

func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? String(Int(s)) : String(format: "%.3g", s)
}
