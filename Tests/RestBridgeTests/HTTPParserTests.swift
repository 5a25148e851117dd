import Foundation
import XCTest
@testable import DicomNet
@testable import RestBridge

/// The request syntax of RFC 9112 over in-memory streams; 1-byte reads put every boundary
/// (CR/LF, chunk sizes, trailers) across separate reads.
final class HTTPParserTests: XCTestCase {
    func input(_ raw: String, readSize: Int = 1) -> InputBuffer {
        input(Array(raw.utf8), readSize: readSize)
    }

    func input(_ raw: [UInt8], readSize: Int = 1) -> InputBuffer {
        InputBuffer(stream: MemoryStream(raw, readSize: readSize), socket: nil, capacity: 1024, maxCapacity: 200 * 1024)
    }

    func head(_ raw: String, limits: HTTPLimits = HTTPLimits(), readSize: Int = 1) throws -> RequestHead? {
        try HTTPParser.readHead(from: input(raw, readSize: readSize), limits: limits, idleTimeout: 1, headerTimeout: 1)
    }

    func assertStatus(_ expected: Int, _ raw: String, limits: HTTPLimits = HTTPLimits(), file: StaticString = #filePath, line: UInt = #line) {
        do {
            let h = try head(raw, limits: limits, readSize: 4096)
            guard let h else { return XCTFail("no head", file: file, line: line) }
            _ = try HTTPParser.messageInfo(for: h)
            XCTFail("expected \(expected), parsed \(h.method) \(h.target)", file: file, line: line)
        } catch let e as HTTPError {
            XCTAssertEqual(e.status.code, expected, e.message, file: file, line: line)
            if expected != 417 { XCTAssertTrue(e.closesConnection, "a broken head closes the connection", file: file, line: line) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    // MARK: Head

    func testRequestLineAndHeaders() throws {
        let h = try XCTUnwrap(head("\r\nPOST /api/images/12?count=5&name=a%20b+c HTTP/1.1\r\nHost: x\r\ncontent-TYPE:  application/json \r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n"))
        XCTAssertEqual(h.method, .post)
        XCTAssertEqual(h.target, "/api/images/12?count=5&name=a%20b+c")
        XCTAssertEqual(h.version, .http1_1)
        XCTAssertEqual(h.headers["Content-Type"], "application/json", "names ignore case, OWS trimmed")
        XCTAssertEqual(h.headers.values(for: "X-MULTI"), ["1", "2"])
        let r = try HTTPRequest(method: h.method, target: h.target, headers: h.headers)
        XCTAssertEqual(r.path, "/api/images/12")
        XCTAssertEqual(r.pathSegments, ["api", "images", "12"])
        XCTAssertEqual(r.query["count"], "5")
        XCTAssertEqual(r.query["name"], "a b c")
        XCTAssertEqual(try r.query.int64("count"), 5)
        XCTAssertEqual(r.contentType, "application/json")
    }

    func testBareLFLineEndingsAccepted() throws {
        let h = try XCTUnwrap(head("GET / HTTP/1.1\nHost: x\n\n"))
        XCTAssertEqual(h.headers["host"], "x")
    }

    func testEndOfStreamBeforeRequestIsNotAnError() throws {
        XCTAssertNil(try head(""))
        XCTAssertNil(try head("\r\n"))
    }

    func testTruncatedHeadIs400() {
        XCTAssertThrowsError(try head("GET / HTTP/1.1\r\nHost: x\r\n")) { XCTAssertEqual(($0 as? HTTPError)?.status, .badRequest) }
    }

    func testMalformedHeads() {
        assertStatus(400, "GET  / HTTP/1.1\r\nHost: x\r\n\r\n")             // double space
        assertStatus(400, "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n")
        assertStatus(400, "GET / HTTP/x\r\nHost: x\r\n\r\n")
        assertStatus(505, "GET / HTTP/2.0\r\nHost: x\r\n\r\n")
        assertStatus(400, "G(T / HTTP/1.1\r\nHost: x\r\n\r\n")             // method not a token
        assertStatus(400, "GET /\u{7F} HTTP/1.1\r\nHost: x\r\n\r\n")
        assertStatus(400, "GET / HTTP/1.1\r\nHost : x\r\n\r\n")             // RFC 9112 §5.1
        assertStatus(400, "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n")   // RFC 9112 §5.2
        assertStatus(400, "GET / HTTP/1.1\r\nHost: x\r\nNo-Colon\r\n\r\n")
        assertStatus(400, "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n")           // bare CR
        assertStatus(400, "GET / HTTP/1.1\r\nHost: x\r\nX: a\u{0}b\r\n\r\n") // NUL
        assertStatus(400, "GET / HTTP/1.1\r\n\r\n")                         // RFC 9112 §3.2: Host required
        assertStatus(400, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    }

    func testLimits() {
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 100
        limits.maxHeaderBytes = 200
        limits.maxHeaderFields = 5
        assertStatus(414, "GET /\(String(repeating: "a", count: 120)) HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits)
        assertStatus(431, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 250))\r\n\r\n", limits: limits)
        assertStatus(431, "GET / HTTP/1.1\r\nHost: x\r\n" + (1...5).map { "X-\($0): v\r\n" }.joined() + "\r\n", limits: limits)
        // Exactly at the limits passes.
        XCTAssertNoThrow(try head("GET / HTTP/1.1\r\nHost: x\r\n" + (1...4).map { "X-\($0): v\r\n" }.joined() + "\r\n", limits: limits))
        // A head that never ends is refused once it passes the limit, without reading on.
        let endless = "GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-Filler: 0123456789\r\n", count: 20)
        XCTAssertThrowsError(try head(endless, limits: limits)) { XCTAssertEqual(($0 as? HTTPError)?.status.code, 431) }
        XCTAssertThrowsError(try head(String(repeating: "A", count: 300), limits: limits)) { XCTAssertEqual(($0 as? HTTPError)?.status.code, 414) }
    }

    func testPipelinedHeadsStayInBuffer() throws {
        let raw = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n"
        let buf = input(raw, readSize: 4096)
        var targets: [String] = []
        while let h = try HTTPParser.readHead(from: buf, limits: HTTPLimits(), idleTimeout: 1, headerTimeout: 1) { targets.append(h.target) }
        XCTAssertEqual(targets, ["/a", "/b", "/c"])
    }

    // MARK: Message semantics

    func info(_ raw: String) throws -> MessageInfo {
        try HTTPParser.messageInfo(for: XCTUnwrap(head(raw, readSize: 4096)))
    }

    func testFraming() throws {
        XCTAssertEqual(try info("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\n\r\n").framing, .length(42))
        XCTAssertEqual(try info("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 42, 42\r\nContent-Length: 42\r\n\r\n").framing, .length(42))
        XCTAssertEqual(try info("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n").framing, .chunked)
        XCTAssertEqual(try info("POST / HTTP/1.1\r\nHost: x\r\n\r\n").framing, .length(0))
        assertStatus(400, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
        assertStatus(400, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")
        assertStatus(400, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n")
        assertStatus(400, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        assertStatus(400, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n")
        assertStatus(400, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n")
        assertStatus(400, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n")            // chunked not last
        assertStatus(400, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n")
        assertStatus(501, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        assertStatus(400, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n")                  // RFC 9112 §6.1
    }

    func testPersistenceRules() throws {
        XCTAssertTrue(try info("GET / HTTP/1.1\r\nHost: x\r\n\r\n").keepAlive)
        XCTAssertFalse(try info("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n").keepAlive)
        XCTAssertFalse(try info("GET / HTTP/1.0\r\n\r\n").keepAlive)
        XCTAssertTrue(try info("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keepAlive)
        XCTAssertFalse(try info("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keepAlive)
    }

    func testExpectations() throws {
        XCTAssertTrue(try info("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n").expectsContinue)
        XCTAssertFalse(try info("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n").expectsContinue)
        XCTAssertFalse(try info("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n").expectsContinue, "ignored from HTTP/1.0")
        assertStatus(417, "POST / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 5\r\n\r\n")
    }

    func testTargets() throws {
        let abs = try HTTPRequest(method: .get, target: "http://example.org:8080/api/x?y=1")
        XCTAssertEqual(abs.path, "/api/x")
        XCTAssertEqual(abs.query["y"], "1")
        XCTAssertEqual(try HTTPRequest(method: .get, target: "https://example.org").path, "/")
        XCTAssertEqual(try HTTPRequest(method: .get, target: "/a%2Fb/c/").pathSegments, ["a/b", "c"], "%2F stays in its segment; trailing slash dropped")
        XCTAssertEqual(try HTTPRequest(method: .get, target: "/").pathSegments, [])
        XCTAssertEqual(try HTTPRequest(method: .options, target: "*").path, "*")
        for bad in ["/a/../b", "/%2e%2e/x", "/a%zz", "/?q=%", "*", "example.org/x", "/a#frag"] {
            XCTAssertThrowsError(try HTTPRequest(method: .get, target: bad), bad) { XCTAssertEqual(($0 as? HTTPError)?.status, .badRequest, bad) }
        }
        let q = try HTTPRequest(method: .get, target: "/?ids=1&ids=2&flag&empty=&n=abc")
        XCTAssertEqual(q.query.values("ids"), ["1", "2"])
        XCTAssertEqual(q.query["flag"], "")
        XCTAssertEqual(q.query["empty"], "")
        XCTAssertEqual(try q.query.int64("missing", default: 20), 20)
        XCTAssertThrowsError(try q.query.int64("n")) { XCTAssertEqual(($0 as? HTTPError)?.status, .badRequest) }
        XCTAssertThrowsError(try q.query.int64("missing")) { XCTAssertEqual(($0 as? HTTPError)?.message, "missing query parameter missing") }
    }

    // MARK: Bodies

    func body(_ raw: String, framing: BodyFraming, readSize: Int = 1, limits: HTTPLimits = HTTPLimits()) -> BodyReader {
        BodyReader(framing: framing, input: input(raw, readSize: readSize), limits: limits, timeout: nil)
    }

    func testContentLengthBodyLeavesNextRequestInBuffer() throws {
        let buf = input("hello worldGET /next HTTP/1.1\r\nHost: x\r\n\r\n", readSize: 7)
        let reader = BodyReader(framing: .length(11), input: buf, limits: HTTPLimits(), timeout: nil)
        XCTAssertEqual(String(decoding: try reader.readAll(limit: 100), as: UTF8.self), "hello world")
        XCTAssertTrue(reader.isComplete)
        let next = try HTTPParser.readHead(from: buf, limits: HTTPLimits(), idleTimeout: 1, headerTimeout: 1)
        XCTAssertEqual(next?.target, "/next")
    }

    func testChunkedBodyWithExtensionsAndTrailers() throws {
        let raw = "5;name=value;quoted=\"a;b\\\"c\"\r\nhello\r\n6 ; ext\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\nNEXT"
        let buf = input(raw)
        let reader = BodyReader(framing: .chunked, input: buf, limits: HTTPLimits(), timeout: nil)
        var pieces: [String] = []
        while let p = try reader.read(maxLength: 4) { pieces.append(String(decoding: p, as: UTF8.self)) }
        XCTAssertEqual(pieces.joined(), "hello world")
        XCTAssertTrue(pieces.allSatisfy { $0.utf8.count <= 4 })
        XCTAssertEqual(reader.trailers["x-checksum"], "abc")
        XCTAssertEqual(reader.trailers.count, 2)
        XCTAssertNil(reader.expectedLength)
        while try buf.fill(timeout: nil) {}
        XCTAssertEqual(buf.withBytes { String(decoding: $0, as: UTF8.self) }, "NEXT", "bytes after the body stay for the next request")
    }

    func testBadChunkedBodies() {
        let cases = [
            "x\r\nhello\r\n0\r\n\r\n",                 // no hex digits
            "5 x\r\nhello\r\n0\r\n\r\n",               // garbage after the size
            "-5\r\nhello\r\n0\r\n\r\n",
            "5\r\nhelloEXTRA\r\n0\r\n\r\n",            // data longer than its size
            "5\nhello\r\n0\r\n\r\n",                   // bare LF
            "10000000000000000\r\n",                   // overflow
            "5;=v\r\nhello\r\n0\r\n\r\n",              // extension without a name
            "5\r\nhel",                                // truncated
            "0\r\nBad Trailer: x\r\n\r\n",
        ]
        for raw in cases {
            let reader = body(raw, framing: .chunked)
            XCTAssertThrowsError(try reader.readAll(limit: 1000), raw) { error in
                XCTAssertEqual((error as? HTTPError)?.status, .badRequest, raw)
                XCTAssertTrue((error as? HTTPError)?.closesConnection ?? false, raw)
            }
            XCTAssertNotNil(reader.failure, "sticky: \(raw)")
            XCTAssertThrowsError(try reader.read(maxLength: 10))
        }
    }

    func testBodyLimits() throws {
        var limits = HTTPLimits()
        limits.maxBodyBytes = 10
        let reader = body("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", framing: .chunked, limits: limits)
        XCTAssertThrowsError(try reader.readAll(limit: 100)) { XCTAssertEqual(($0 as? HTTPError)?.status, .contentTooLarge) }
        // readAll's own limit: a Content-Length over it fails before reading anything.
        let sent = Box(false)
        let r2 = BodyReader(framing: .length(20), input: input(String(repeating: "a", count: 20)), limits: HTTPLimits(), timeout: nil,
                            sendContinue: { sent.value = true })
        XCTAssertThrowsError(try r2.readAll(limit: 10)) { XCTAssertEqual(($0 as? HTTPError)?.status, .contentTooLarge) }
        XCTAssertFalse(sent.value, "no 100 Continue for a body refused by its length")
        XCTAssertEqual(r2.bytesRead, 0)
        XCTAssertTrue(r2.awaitsContinue)
        XCTAssertEqual(try r2.readAll(limit: 20).count, 20)
        XCTAssertTrue(sent.value, "100 Continue on the first read")
    }

    func testTruncatedContentLengthBody() {
        let reader = body("abc", framing: .length(10))
        XCTAssertThrowsError(try reader.readAll(limit: 100)) { XCTAssertEqual(($0 as? HTTPError)?.status, .badRequest) }
    }
}
