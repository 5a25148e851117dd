import XCTest
import Foundation
import Codec
import DicomNet
import Node
import TestPeers
@testable import RestBridge

/// Node's HTTP client (the boxes' transport) against the node's own HTTP server: framing both
/// ways, persistent connections, a server that dropped an idle one, timeouts, TLS; and the
/// content decoder that takes gzip, deflate and Slicebox's header-less zlib bodies.
final class HTTPClientTests: XCTestCase {
    struct Echo: Decodable { var bytes: Int64; var checksum: UInt64; var transferEncoding: String; var contentLength: String }

    /// GET /fixed (Content-Length), /chunked (unknown length), /peer, /slow, /empty (204), /close;
    /// POST /echo (the body's size and checksum, and how it was framed).
    func startServer(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in }) throws -> HTTPServer {
        var r = Router()
        let fixed = HTTPTestSupport.pattern(100_000, seed: 1), chunked = HTTPTestSupport.pattern(300_000, seed: 2)
        r.get("/fixed") { _ in .bytes(fixed) }
        r.get("/chunked") { _ in .stream { w in
            for i in stride(from: 0, to: chunked.count, by: 7000) {
                try chunked[i..<min(i + 7000, chunked.count)].withUnsafeBytes { try w.write($0) }
            }
        } }
        r.get("/peer") { req in .text(req.peer) }
        r.get("/slow") { _ in usleep(2_000_000); return .text("late") }
        r.get("/empty") { _ in .empty() }
        r.get("/close") { _ in HTTPResponse.text("bye").with("Connection", "close") }
        r.post("/echo") { req in
            var sum = HTTPTestSupport.Checksum()
            try req.body.forEachChunk { sum.add($0) }
            return .json(["bytes": req.body.bytesRead, "checksum": sum.value, "transferEncoding": req.headers["Transfer-Encoding"] ?? "",
                          "contentLength": req.headers["Content-Length"] ?? ""] as [String: Any])
        }
        let (server, _) = try HTTPTestSupport.start(self, handler: r, configure: configure)
        return server
    }

    func testFramingBothWaysAndPersistentConnections() throws {
        let server = try startServer()
        let base = try HTTPEndpoint("http://127.0.0.1:\(server.port)/")
        let client = HTTPClient()
        defer { client.closeIdle() }

        let fixed = try client.send(HTTPClientRequest("GET", base.appending("fixed")))
        XCTAssertEqual(fixed.status, 200)
        XCTAssertEqual(fixed.body, HTTPTestSupport.pattern(100_000, seed: 1))
        let chunked = try client.send(HTTPClientRequest("GET", base.appending("chunked")))
        XCTAssertEqual(chunked.header("Transfer-Encoding"), "chunked")
        XCTAssertEqual(chunked.body, HTTPTestSupport.pattern(300_000, seed: 2))
        XCTAssertEqual(try client.send(HTTPClientRequest("GET", base.appending("empty"))).status, 204)
        XCTAssertThrowsError(try client.send(HTTPClientRequest("GET", base.appending("fixed")), limit: 1000)) {
            guard case HTTPClientError.tooLarge = $0 else { return XCTFail("\($0)") }
        }

        // Bodies: bytes and a file with Content-Length, a callback chunked.
        let payload = HTTPTestSupport.pattern(1_000_003, seed: 3)
        var sum = HTTPTestSupport.Checksum()
        sum.add(payload)
        let path = HTTPTestSupport.temporaryDirectory("client") + "/body.bin"
        try Data(payload).write(to: URL(fileURLWithPath: path))
        for body: HTTPClientRequest.Body in [.bytes(payload), .file(path: path), .stream({ sink in
            for i in stride(from: 0, to: payload.count, by: 10_007) { try sink.write(Array(payload[i..<min(i + 10_007, payload.count)])) }
        })] {
            let r = try client.send(HTTPClientRequest("POST", base.appending("echo"), body: body))
            let echo = try JSONDecoder().decode(Echo.self, from: Data(r.body))
            XCTAssertEqual(echo.bytes, Int64(payload.count))
            XCTAssertEqual(echo.checksum, sum.value)
            if case .stream = body { XCTAssertEqual(echo.transferEncoding, "chunked") } else { XCTAssertEqual(echo.contentLength, "\(payload.count)") }
        }
        let empty = try JSONDecoder().decode(Echo.self, from: Data(try client.send(HTTPClientRequest("POST", base.appending("echo"))).body))
        XCTAssertEqual(empty.bytes, 0)

        // One connection carried all of that; `Connection: close` ends it.
        let peers = try (0..<3).map { _ in String(decoding: try client.send(HTTPClientRequest("GET", base.appending("peer"))).body, as: UTF8.self) }
        XCTAssertEqual(Set(peers).count, 1)
        XCTAssertEqual(try client.send(HTTPClientRequest("GET", base.appending("close"))).status, 200)
        let after = String(decoding: try client.send(HTTPClientRequest("GET", base.appending("peer"))).body, as: UTF8.self)
        XCTAssertNotEqual(after, peers[0])

        // Streaming a response body piece by piece.
        var streamed = 0
        let status = try client.send(HTTPClientRequest("GET", base.appending("chunked"))) { head, body -> Int in
            try body.forEachChunk { streamed += $0.count }
            return head.status
        }
        XCTAssertEqual(status, 200)
        XCTAssertEqual(streamed, 300_000)
    }

    func testAConnectionTheServerDroppedIsReplacedAndTimeoutsHold() throws {
        let server = try startServer { $0.idleTimeout = 0.3 }
        let base = try HTTPEndpoint("http://127.0.0.1:\(server.port)")
        var settings = HTTPClient.Settings()
        settings.ioTimeout = 0.5
        let client = HTTPClient(settings: settings)
        defer { client.closeIdle() }
        let first = String(decoding: try client.send(HTTPClientRequest("GET", base.appending("peer"))).body, as: UTF8.self)
        usleep(1_000_000)  // the server closes the idle connection; the client still holds it
        let second = try client.send(HTTPClientRequest("GET", base.appending("peer")))
        XCTAssertEqual(second.status, 200)
        XCTAssertNotEqual(String(decoding: second.body, as: UTF8.self), first)

        XCTAssertThrowsError(try client.send(HTTPClientRequest("GET", base.appending("slow")))) {
            XCTAssertTrue("\($0)".contains("timed out"), "\($0)")
        }
        let closed = try HTTPEndpoint("http://127.0.0.1:\(try PeerTools.freePort())/x")
        XCTAssertThrowsError(try client.send(HTTPClientRequest("GET", closed))) {
            XCTAssertTrue("\($0)".contains("cannot connect"), "\($0)")
        }
    }

    func testTLSWithATrustedCertificateOnly() throws {
        let dir = HTTPTestSupport.temporaryDirectory("client-tls")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PeerTools.requireTool("/usr/bin/openssl")
        let (s, _, e) = try PeerProcess.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem",
                                                                     "-out", dir + "/cert.pem", "-days", "2", "-subj", "/CN=localhost",
                                                                     "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        XCTAssertEqual(s, 0, e)
        let tls = try TLSContext(.server(certificate: dir + "/cert.pem", key: dir + "/key.pem", requireClientCertificate: false), isServer: true)
        let server = try startServer { $0.tls = tls }
        let url = try HTTPEndpoint("https://127.0.0.1:\(server.port)/fixed")
        XCTAssertEqual(url.port, server.port)
        let trusted = HTTPClient(trustedCertificates: dir + "/cert.pem")
        XCTAssertEqual(try trusted.send(HTTPClientRequest("GET", url)).body, HTTPTestSupport.pattern(100_000, seed: 1))
        XCTAssertThrowsError(try HTTPClient().send(HTTPClientRequest("GET", url)), "a self-signed certificate is not in the system's trust store")

        // A trusted certificate for another name is refused: the host name is checked.
        let (s2, _, e2) = try PeerProcess.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key2.pem",
                                                                       "-out", dir + "/cert2.pem", "-days", "2", "-subj", "/CN=elsewhere.example",
                                                                       "-addext", "subjectAltName=DNS:elsewhere.example"])
        XCTAssertEqual(s2, 0, e2)
        let other = try TLSContext(.server(certificate: dir + "/cert2.pem", key: dir + "/key2.pem", requireClientCertificate: false), isServer: true)
        let server2 = try startServer { $0.tls = other }
        let url2 = try HTTPEndpoint("https://127.0.0.1:\(server2.port)/fixed")
        XCTAssertThrowsError(try HTTPClient(trustedCertificates: dir + "/cert2.pem").send(HTTPClientRequest("GET", url2))) {
            XCTAssertTrue("\($0)".contains("TLS"), "\($0)")
        }
        XCTAssertEqual(try HTTPClient(verifyServer: false).send(HTTPClientRequest("GET", url2)).status, 200, "unchecked, for tests only")
    }

    func testEndpoints() throws {
        let e = try HTTPEndpoint("https://node.example:8443/api/transactions/abc?x=1")
        XCTAssertEqual([e.host, "\(e.port)", e.target], ["node.example", "8443", "/api/transactions/abc?x=1"])
        XCTAssertEqual(e.appending("outgoing/poll", query: [("n", "2"), ("q", "a b&c")]).target, "/api/transactions/abc/outgoing/poll?n=2&q=a%20b%26c")
        XCTAssertEqual(try HTTPEndpoint("http://h").port, 80)
        XCTAssertEqual(try HTTPEndpoint("https://h").port, 443)
        XCTAssertEqual(try HTTPEndpoint("http://[::1]:5000/x").host, "::1")
        for bad in ["", "h:80/x", "ftp://h/x", "http://", "http://u:p@h/x", "http://h:0/x"] {
            XCTAssertThrowsError(try HTTPEndpoint(bad), bad)
        }
    }

    func testContentDecoderCodings() throws {
        let dicom = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try pydicomFile("CT_small.dcm"))))
        func encode(_ format: Zlib.Format) throws -> [UInt8] {
            var out: [UInt8] = []
            let s = try DeflateStream(format: format)
            try s.write(dicom) { out.append(contentsOf: $0) }
            try s.finish { out.append(contentsOf: $0) }
            return out
        }
        func decode(_ body: [UInt8], _ coding: String?, sniff: Bool = true, piece: Int = 1000) throws -> [UInt8] {
            let d = try ContentDecoder(contentEncoding: coding, sniff: sniff)
            var out: [UInt8] = []
            for i in stride(from: 0, to: body.count, by: piece) { try d.write(Array(body[i..<min(i + piece, body.count)])) { out.append(contentsOf: $0) } }
            try d.finish { out.append(contentsOf: $0) }
            return out
        }
        let gzip = try encode(.gzip), zlib = try encode(.zlib), raw = try encode(.raw)
        XCTAssertEqual(try decode(gzip, "gzip"), dicom)
        XCTAssertEqual(try decode(gzip, "x-gzip", piece: 1), dicom)
        XCTAssertEqual(try decode(zlib, "deflate"), dicom)
        XCTAssertEqual(try decode(raw, "deflate"), dicom, "raw DEFLATE under 'deflate', as some servers send")
        XCTAssertEqual(try decode(zlib, nil), dicom, "Slicebox: zlib without Content-Encoding")
        XCTAssertEqual(try decode(gzip, nil), dicom)
        XCTAssertEqual(try decode(dicom, nil), dicom, "plain DICOM passes")
        XCTAssertEqual(try decode(dicom, "identity"), dicom)
        XCTAssertEqual(try decode(zlib, nil, sniff: false), zlib)
        XCTAssertEqual(try decode([7], nil), [7])
        XCTAssertEqual(try decode([], nil), [])
        XCTAssertThrowsError(try ContentDecoder(contentEncoding: "br", sniff: true)) { guard case NodeError.unsupported = $0 else { return XCTFail("\($0)") } }
        XCTAssertThrowsError(try ContentDecoder(contentEncoding: "gzip, gzip", sniff: true))
        XCTAssertThrowsError(try decode(Array(gzip.dropLast(4)), "gzip")) { guard case NodeError.invalidData = $0 else { return XCTFail("\($0)") } }
        var damaged = gzip
        damaged[damaged.count / 2] ^= 0xFF
        XCTAssertThrowsError(try decode(damaged, "gzip")) { guard case NodeError.invalidData = $0 else { return XCTFail("\($0)") } }
        let d = try ContentDecoder(contentEncoding: "gzip", sniff: false, maxOutput: 1000)
        XCTAssertThrowsError(try d.write(gzip) { _ in })
    }
}
