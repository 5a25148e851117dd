import Foundation
import XCTest
import TestPeers
@testable import DicomNet
@testable import RestBridge

/// The server over real sockets on a free port: raw bytes for malformed and edge cases (parsed by
/// `RawClient`, not by the server's own code), curl for real-client interop.
final class HTTPServerTests: XCTestCase {
    /// What the handlers saw, for assertions.
    final class Seen: @unchecked Sendable {
        let peers = Box<[String]>([])
        let handlerStarted = DispatchSemaphore(value: 0)
    }

    struct UploadReport: Codable {
        var bytes: Int64
        var chunks: Int
        var maxChunk: Int
        var checksum: UInt64
        var chunked: Bool
        var expect: String?
        var trailer: String?
    }

    func router(_ seen: Seen) -> Router {
        var r = Router()
        r.get("/hello") { _ in .json(["hello": "world"]) }
        r.get("/echo") { req in
            seen.peers.update { $0.append(req.peer) }
            return .json(["n": req.query["n"] ?? "", "peer": req.peer])
        }
        r.post("/echo") { req in
            .bytes(try req.body.readAll(limit: 1 << 20), contentType: req.contentType ?? "application/octet-stream")
        }
        r.get("/sleep") { req in
            seen.handlerStarted.signal()
            usleep(UInt32(try req.query.int("ms")) * 1000)
            return .text("slept \(req.query["tag"] ?? "")")
        }
        r.post("/ignore") { _ in .text("ignored", status: .created) }
        r.post("/refuse") { _ in throw HTTPError(.forbidden, "not allowed") }
        r.post("/upload") { req in
            var report = UploadReport(bytes: 0, chunks: 0, maxChunk: 0, checksum: 0, chunked: req.body.isChunked,
                                      expect: req.headers["Expect"], trailer: nil)
            var sum = HTTPTestSupport.Checksum()
            try req.body.forEachChunk { piece in
                report.chunks += 1
                report.maxChunk = max(report.maxChunk, piece.count)
                report.bytes += Int64(piece.count)
                sum.add(piece)
            }
            report.checksum = sum.value
            report.trailer = req.body.trailers["X-Trailer"]
            return .json(report)
        }
        r.get("/data") { _ in .bytes(HTTPTestSupport.pattern(1000)) }
        r.get("/stream") { req in
            let n = try req.query.int("n")
            return .stream(contentType: "application/octet-stream") { w in
                let data = HTTPTestSupport.pattern(n)
                var i = 0
                while i < n { let j = min(n, i + 7919); try w.write(Array(data[i..<j])); i = j }
            }
        }
        r.get("/stream-fails") { _ in .stream { _ in throw HTTPError(.badGateway, "upstream gone") } }
        r.get("/fail") { _ in throw CocoaError(.fileNoSuchFile) }
        r.get("/conflict") { _ in throw HTTPError(.conflict, "already there") }
        r.get("/typed") { _ in throw TypedError() }
        return r
    }

    /// An error of another module that knows its HTTP status.
    struct TypedError: HTTPStatusConvertible {
        var httpStatus: HTTPStatus { .unprocessableContent }
        var httpMessage: String { "not a DICOM file" }
    }

    func start(_ seen: Seen = Seen(), configure: (inout HTTPServer.Configuration) -> Void = { _ in }) throws -> (HTTPServer, CaptureLogger) {
        try HTTPTestSupport.start(self, handler: router(seen), configure: configure)
    }

    func url(_ server: HTTPServer, _ path: String) -> String { "http://127.0.0.1:\(server.port)\(path)" }

    // MARK: Basics

    func testJSONResponseAndLogLine() throws {
        let (server, log) = try start()
        let c = try RawClient(port: server.port)
        try c.send("GET /hello HTTP/1.1\r\nHost: test\r\n\r\n")
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, #"{"hello":"world"}"#)
        XCTAssertEqual(r.header("Content-Type"), "application/json")
        XCTAssertEqual(r.header("Content-Length"), "17")
        XCTAssertNotNil(r.header("Date"))
        XCTAssertNil(r.header("Connection"), "HTTP/1.1 persists by default")
        let line = try XCTUnwrap(log.waitForRequestLines(1).first)
        XCTAssertTrue(line.hasPrefix("debug http request method=GET path=/hello status=200 bytes=17 ms="), line)  // successes are debug lines
        XCTAssertTrue(line.contains("peer=127.0.0.1:"), line)
        try c.send("OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 204)
        try c.send("GET /hello?token=secret HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try c.readResponse().header("Connection"), "close")
        XCTAssertTrue(c.isClosedByServer())
        XCTAssertFalse(log.waitForRequestLines(3).contains { $0.contains("secret") }, "queries stay out of the log")
    }

    func testPipelinedRequestsAnsweredInOrder() throws {
        let (server, log) = try start()
        let c = try RawClient(port: server.port)
        // Three requests in one write; the first is the slowest.
        try c.send("GET /sleep?ms=300&tag=first HTTP/1.1\r\nHost: x\r\n\r\n"
                   + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nContent-Type: text/plain\r\n\r\nsecond"
                   + "GET /echo?n=third HTTP/1.1\r\nHost: x\r\n\r\nGET /hel")
        XCTAssertEqual(try c.readResponse().text, "slept first")
        XCTAssertEqual(try c.readResponse().text, "second")
        XCTAssertEqual(try c.readResponse().json?["n"] as? String, "third")
        // The bytes after the third request were kept for the fourth, completed by a later write.
        usleep(100_000)
        try c.send("lo HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 200)
        XCTAssertEqual(log.waitForRequestLines(4).count, 4)
    }

    func testHeadHasNoContent() throws {
        let (server, _) = try start()
        let c = try RawClient(port: server.port)
        try c.send("HEAD /data HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try c.readResponse(head: true)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), "1000", "the length GET would send")
        try c.send("HEAD /stream?n=10 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try c.readResponse(head: true).header("Transfer-Encoding"), "chunked")
        // Had any content followed, this response would not parse.
        try c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try c.readResponse().text, #"{"hello":"world"}"#)

        let (status, out, err) = try HTTPTestSupport.curl(["-sS", "-I", url(server, "/data")])
        XCTAssertEqual(status, 0, err)
        let text = String(decoding: out, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 200 OK"), text)
        XCTAssertTrue(text.contains("Content-Length: 1000"), text)
    }

    func testStreamedResponsesChunkedOrCloseDelimited() throws {
        let (server, _) = try start()
        let c = try RawClient(port: server.port)
        try c.send("GET /stream?n=200000 HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try c.readResponse()
        XCTAssertEqual(r.header("Transfer-Encoding"), "chunked")
        XCTAssertNil(r.header("Content-Length"))
        XCTAssertEqual(r.body, HTTPTestSupport.pattern(200000))

        // HTTP/1.0 has no chunked coding: the content ends with the connection.
        let c10 = try RawClient(port: server.port)
        try c10.send("GET /stream?n=5000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let r10 = try c10.readResponse()
        XCTAssertNil(r10.header("Transfer-Encoding"))
        XCTAssertEqual(r10.header("Connection"), "close")
        XCTAssertEqual(r10.body, HTTPTestSupport.pattern(5000))

        // HTTP/1.0 keep-alive with a known length persists and says so.
        let k = try RawClient(port: server.port)
        try k.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(try k.readResponse().header("Connection"), "keep-alive")
        try k.send("GET /hello HTTP/1.0\r\n\r\n")
        let last = try k.readResponse()
        XCTAssertEqual(last.header("Connection"), "close")
        XCTAssertTrue(k.isClosedByServer())

        // A stream failing before any byte went out still gets its error response.
        let f = try RawClient(port: server.port)
        try f.send("GET /stream-fails HTTP/1.1\r\nHost: x\r\n\r\n")
        let failed = try f.readResponse()
        XCTAssertEqual(failed.status, 502)
        XCTAssertEqual(failed.errorMessage, "upstream gone")
    }

    func testHandlerErrorsBecomeJSONAndKeepTheConnection() throws {
        let (server, log) = try start()
        let c = try RawClient(port: server.port)
        try c.send("GET /fail HTTP/1.1\r\nHost: x\r\n\r\nGET /conflict HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
                   + "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        let fail = try c.readResponse()
        XCTAssertEqual(fail.status, 500)
        XCTAssertEqual(fail.errorMessage, "internal server error")
        let conflict = try c.readResponse()
        XCTAssertEqual(conflict.status, 409)
        XCTAssertEqual(conflict.errorMessage, "already there")
        XCTAssertEqual(try c.readResponse().status, 404)
        let wrong = try c.readResponse()
        XCTAssertEqual(wrong.status, 405)
        XCTAssertEqual(wrong.header("Allow"), "GET, HEAD, OPTIONS")
        try c.send("GET /typed HTTP/1.1\r\nHost: x\r\n\r\n")
        let typed = try c.readResponse()
        XCTAssertEqual(typed.status, 422)
        XCTAssertEqual(typed.errorMessage, "not a DICOM file")
        XCTAssertTrue(log.waitForRequestLines(4).contains { $0.hasPrefix("warning http request method=GET path=/fail status=500") && $0.contains("error=") })
    }

    // MARK: Malformed requests

    /// Sends `raw` on a new connection; expects one JSON error with `status`, Connection: close, then the end.
    func assertRejected(_ server: HTTPServer, _ raw: String, _ status: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try RawClient(port: server.port)
        try c.send(raw)
        let r = try c.readResponse()
        XCTAssertEqual(r.status, status, "\(raw.prefix(80))", file: file, line: line)
        XCTAssertNotNil(r.errorMessage, "JSON error body", file: file, line: line)
        XCTAssertEqual(r.header("Content-Type"), "application/json", file: file, line: line)
        XCTAssertEqual(r.header("Connection"), "close", file: file, line: line)
        XCTAssertTrue(c.isClosedByServer(), "closed after \(status), nothing more answered", file: file, line: line)
    }

    func testMalformedRequestsGet4xxJSONAndClose() throws {
        let (server, _) = try start { $0.limits.maxBodyBytes = 10_000 }
        let smuggled = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
        try assertRejected(server, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400)
        try assertRejected(server, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg" + smuggled, 400)
        try assertRejected(server, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" + smuggled, 400)
        try assertRejected(server, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n" + smuggled, 400)
        try assertRejected(server, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501)
        try assertRejected(server, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400)
        try assertRejected(server, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n", 413)
        try assertRejected(server, "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400)
        try assertRejected(server, "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400)
        try assertRejected(server, "GET /hello HTTP/1.1\r\n\r\n", 400)
        try assertRejected(server, "GET /hello HTTP/3.0\r\nHost: x\r\n\r\n", 505)
        try assertRejected(server, "GET /hello\r\nHost: x\r\n\r\n", 400)
        try assertRejected(server, "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}\r\n\r\n", 400)  // TLS on the plain port
        try assertRejected(server, "POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\n", 417)
    }

    func testChunkedBodyOverLimitIs413() throws {
        let (server, _) = try start { $0.limits.maxBodyBytes = 1000 }
        let chunk = String(repeating: "a", count: 800)
        try assertRejected(server, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n\(chunk)\r\n320\r\n\(chunk)\r\n0\r\n\r\n", 413)
    }

    func testOversizeHeadersGet431() throws {
        let (server, _) = try start()
        // 70 KiB of header fields: past the 64 KiB limit before the head ends.
        let big = (0..<70).map { "X-Filler-\($0): \(String(repeating: "v", count: 1000))\r\n" }.joined()
        try assertRejected(server, "GET /hello HTTP/1.1\r\nHost: x\r\n" + big + "\r\n", 431)
        let many = (0..<101).map { "X-\($0): v\r\n" }.joined()
        try assertRejected(server, "GET /hello HTTP/1.1\r\nHost: x\r\n" + many + "\r\n", 431)
        try assertRejected(server, "GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: x\r\n\r\n", 414)
    }

    // MARK: Timeouts

    func testSlowHeadGets408() throws {
        let (server, log) = try start { $0.headerTimeout = 0.5 }
        let c = try RawClient(port: server.port)
        let t0 = Date()
        try c.send("GET /hello HTTP/1.1\r\nHost: x\r\n")  // and nothing more
        let r = try? c.readResponse()
        let elapsed = Date().timeIntervalSince(t0)
        if let r {
            XCTAssertEqual(r.status, 408)
            XCTAssertEqual(r.header("Connection"), "close")
        }
        XCTAssertTrue(c.isClosedByServer())
        XCTAssertGreaterThan(elapsed, 0.4)
        XCTAssertLessThan(elapsed, 5)
        XCTAssertTrue(log.waitForRequestLines(1).contains { $0.contains("status=408") })
    }

    func testSlowBodyGets408() throws {
        let (server, _) = try start { $0.bodyTimeout = 0.5 }
        let c = try RawClient(port: server.port)
        try c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 408)
        XCTAssertNotNil(r.errorMessage)
        XCTAssertTrue(c.isClosedByServer())
    }

    func testIdleKeepAliveConnectionIsClosed() throws {
        let (server, _) = try start { $0.idleTimeout = 0.5 }
        let c = try RawClient(port: server.port)
        try c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 200)
        let t0 = Date()
        XCTAssertTrue(c.isClosedByServer(), "closed quietly, no 408 for a connection between requests")
        XCTAssertGreaterThan(Date().timeIntervalSince(t0), 0.3)
    }

    // MARK: Bodies

    func testUnreadBodies() throws {
        let (server, _) = try start()
        // A small unread body is dropped and the connection carries on.
        let c = try RawClient(port: server.port)
        try c.send("POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + String(repeating: "z", count: 100)
                   + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 201)
        XCTAssertEqual(try c.readResponse().status, 200)

        // A large one ends the connection after the response, which the client still receives.
        let big = try RawClient(port: server.port)
        try big.send("POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
        let sender = Thread { [socket = big.socket] in
            let block = [UInt8](repeating: 0x61, count: 64 * 1024)
            for _ in 0..<77 { guard (try? socket.write(block)) != nil else { return } }
        }
        sender.start()
        let r = try big.readResponse()
        XCTAssertEqual(r.status, 201)
        XCTAssertEqual(r.header("Connection"), "close")
    }

    func testExpectContinueNotSentWhenHandlerDoesNotRead() throws {
        let (server, _) = try start()
        let c = try RawClient(port: server.port)
        try c.send("POST /refuse HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10000000\r\n\r\n")
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 403, "the final answer comes without 100 Continue")
        XCTAssertEqual(r.header("Connection"), "close", "the client may or may not send the body now: close")
        XCTAssertTrue(c.isClosedByServer())

        let ok = try RawClient(port: server.port)
        try ok.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        XCTAssertEqual(try ok.readResponse().status, 100, "the handler reads: 100 Continue first")
        try ok.send("hello")
        XCTAssertEqual(try ok.readResponse().text, "hello")
    }

    /// 50 MB through a handler that pulls it in pieces: the handler sees ≤ 64 KiB at a time and
    /// the process's peak memory does not grow by anything like the body.
    func testFiftyMegabyteUploadStreamsInBoundedMemory() throws {
        let (server, _) = try start()
        let total = 50 << 20
        let peakResetWorks = HTTPTestSupport.resetPeak()
        let rssBefore = HTTPTestSupport.residentBytes()
        let c = try RawClient(port: server.port, timeout: 60)
        let sent = Box<UInt64>(0)
        let sender = Thread { [socket = c.socket] in
            try? socket.write(Array("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: \(total)\r\n\r\n".utf8))
            var block = HTTPTestSupport.pattern(64 * 1024)
            var sum = HTTPTestSupport.Checksum()
            for i in 0..<(total / block.count) {
                block[0] = UInt8(truncatingIfNeeded: i)  // every block differs
                sum.add(block)
                guard (try? socket.write(block)) != nil else { return }
            }
            sent.value = sum.value
        }
        sender.start()
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 200, r.text)
        let report = try JSONDecoder().decode(UploadReport.self, from: Data(r.body))
        XCTAssertEqual(report.bytes, Int64(total))
        XCTAssertFalse(report.chunked)
        XCTAssertLessThanOrEqual(report.maxChunk, 64 * 1024, "pieces, not the whole body")
        XCTAssertGreaterThanOrEqual(report.chunks, total / (64 * 1024))
        XCTAssertEqual(report.checksum, sent.value)
        let growth = (peakResetWorks ? HTTPTestSupport.peakResidentBytes() : HTTPTestSupport.residentBytes()) - rssBefore
        XCTAssertLessThan(growth, 20 << 20, "peak memory grew by \(growth >> 20) MiB for a \(total >> 20) MiB body")
    }

    // MARK: Connections

    func testMaxConnectionsAnswers503() throws {
        let (server, log) = try start { $0.maxConnections = 1 }
        let first = try RawClient(port: server.port)
        try first.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try first.readResponse().status, 200)  // and stays open

        let second = try RawClient(port: server.port)
        try second.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try second.readResponse()
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.header("Retry-After"), "1")
        XCTAssertNotNil(r.errorMessage)
        XCTAssertTrue(second.isClosedByServer())
        XCTAssertTrue(log.lines.contains { $0.contains("too many connections") })

        first.close()
        let deadline = Date().addingTimeInterval(5)
        while server.activeConnections > 0 && Date() < deadline { usleep(10_000) }
        let third = try RawClient(port: server.port)
        try third.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try third.readResponse().status, 200)
    }

    func testGracefulStopFinishesRequestsInProgress() throws {
        let seen = Seen()
        let (server, _) = try start(seen)
        let idle = try RawClient(port: server.port)
        try idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try idle.readResponse().status, 200)

        let busy = try RawClient(port: server.port)
        try busy.send("GET /sleep?ms=700 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(seen.handlerStarted.wait(timeout: .now() + 5), .success)
        let stopped = Box<Date?>(nil)
        let stopper = Thread {
            server.stop(timeout: 10)
            stopped.value = Date()
        }
        stopper.start()
        XCTAssertTrue(idle.isClosedByServer(), "an idle connection is closed at once")
        XCTAssertNil(stopped.value, "stop() waits for the request in progress")
        let r = try busy.readResponse()
        let answered = Date()
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Connection"), "close")
        let deadline = Date().addingTimeInterval(5)
        while stopped.value == nil && Date() < deadline { usleep(10_000) }
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(stopped.value), answered.addingTimeInterval(-0.05))
        XCTAssertThrowsError(try RawClient(port: server.port).send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), "no longer listening")
    }

    // MARK: curl

    func testCurlReusesKeepAliveConnection() throws {
        let seen = Seen()
        let (server, _) = try start(seen)
        let (status, out, err) = try HTTPTestSupport.curl(["-sv", url(server, "/echo?n=1"), url(server, "/echo?n=2")])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(String(decoding: out, as: UTF8.self).components(separatedBy: "\"peer\"").count, 3)
        XCTAssertTrue(err.contains("Re-using existing connection"), err)
        let peers = seen.peers.value
        XCTAssertEqual(peers.count, 2)
        XCTAssertEqual(Set(peers).count, 1, "both requests on one connection: \(peers)")
    }

    func testCurlChunkedUpload() throws {
        let (server, _) = try start()
        let dir = HTTPTestSupport.temporaryDirectory("chunked")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = HTTPTestSupport.pattern(3 << 20, seed: 42)
        try Data(data).write(to: URL(fileURLWithPath: dir + "/body.bin"))
        let (status, out, err) = try HTTPTestSupport.curl(["-sS", "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/octet-stream",
                                                          "--data-binary", "@\(dir)/body.bin", url(server, "/upload")])
        XCTAssertEqual(status, 0, err)
        let report = try JSONDecoder().decode(UploadReport.self, from: out)
        var sum = HTTPTestSupport.Checksum()
        sum.add(data)
        XCTAssertTrue(report.chunked)
        XCTAssertEqual(report.bytes, Int64(data.count))
        XCTAssertEqual(report.checksum, sum.value)
    }

    func testCurlExpectContinueWithLargeUpload() throws {
        let (server, _) = try start()
        let dir = HTTPTestSupport.temporaryDirectory("expect")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = HTTPTestSupport.pattern(20 << 20, seed: 3)
        try Data(data).write(to: URL(fileURLWithPath: dir + "/body.bin"))
        let t0 = Date()
        let (status, out, err) = try HTTPTestSupport.curl(["-sS", "-v", "-H", "Expect: 100-continue", "--data-binary", "@\(dir)/body.bin",
                                                          url(server, "/upload")])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(err.contains("HTTP/1.1 100 Continue"), err)
        XCTAssertFalse(err.contains("Done waiting for 100-continue"), "curl got our 100 before its own 1 s timer")
        let report = try JSONDecoder().decode(UploadReport.self, from: out)
        XCTAssertEqual(report.expect, "100-continue")
        XCTAssertEqual(report.bytes, Int64(data.count))
        var sum = HTTPTestSupport.Checksum()
        sum.add(data)
        XCTAssertEqual(report.checksum, sum.value)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 30)
    }

    func testTLSWithCurl() throws {
        let dir = HTTPTestSupport.temporaryDirectory("tls")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { throw ToolMissing("/usr/bin/openssl is missing") }
        let (s, _, e) = try PeerProcess.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem",
                                                                     "-out", dir + "/cert.pem", "-days", "2", "-subj", "/CN=localhost",
                                                                     "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        XCTAssertEqual(s, 0, e)
        let tls = try TLSContext(.server(certificate: dir + "/cert.pem", key: dir + "/key.pem", requireClientCertificate: false), isServer: true)
        let seen = Seen()
        let (server, _) = try start(seen) { $0.tls = tls }
        let base = "https://localhost:\(server.port)"
        let (status, out, err) = try HTTPTestSupport.curl(["-sv", "--cacert", dir + "/cert.pem", "--resolve", "localhost:\(server.port):127.0.0.1",
                                                          base + "/echo?n=1", base + "/echo?n=2"])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(String(decoding: out, as: UTF8.self).contains(#""n":"2""#))
        XCTAssertTrue(err.contains("Re-using existing connection"), err)
        XCTAssertEqual(Set(seen.peers.value).count, 1)

        let body = HTTPTestSupport.pattern(1 << 20, seed: 9)
        try Data(body).write(to: URL(fileURLWithPath: dir + "/body.bin"))
        let (s2, out2, err2) = try HTTPTestSupport.curl(["-sS", "--cacert", dir + "/cert.pem", "--resolve", "localhost:\(server.port):127.0.0.1",
                                                        "--data-binary", "@\(dir)/body.bin", base + "/upload"])
        XCTAssertEqual(s2, 0, err2)
        let report = try JSONDecoder().decode(UploadReport.self, from: out2)
        XCTAssertEqual(report.bytes, Int64(body.count))

        // Plain HTTP on the TLS port gets no HTTP answer: the handshake fails and the connection closes.
        let plain = try RawClient(port: server.port)
        try plain.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertFalse(String(decoding: (try? plain.readToEnd()) ?? [], as: UTF8.self).contains("HTTP/1.1 200"))
    }
}
