import Foundation
import XCTest
@testable import RestBridge

final class MultipartParserTests: XCTestCase {
    let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"

    func form(_ parts: [(headers: String, body: [UInt8])], preamble: String = "", epilogue: String = "") -> [UInt8] {
        var out = Array(preamble.utf8)
        for (i, p) in parts.enumerated() {
            out += Array(((i == 0 && preamble.isEmpty) ? "" : "\r\n").utf8)
            out += Array("--\(boundary)\r\n\(p.headers)\r\n".utf8) + p.body
        }
        out += Array("\r\n--\(boundary)--\(epilogue)".utf8)
        return out
    }

    func reader(_ bytes: [UInt8], readSize: Int = .max) -> BodyReader {
        BodyReader(framing: .length(Int64(bytes.count)), input: InputBuffer(stream: MemoryStream(bytes, readSize: readSize), socket: nil),
                   limits: HTTPLimits(), timeout: nil)
    }

    func testFieldsAndFiles() throws {
        let file = HTTPTestSupport.pattern(100_000)
        let body = form([
            ("Content-Disposition: form-data; name=\"description\"\r\n", Array("a CT \r\n--almost a boundary".utf8)),
            ("Content-Disposition: form-data; name=\"file\"; filename=\"CT 1.dcm\"\r\nContent-Type: application/dicom\r\n", file),
            ("Content-Disposition: form-data; name=\"utf\"; filename*=UTF-8''%C3%A9t%C3%A9.dcm\r\n", []),
        ], preamble: "ignored preamble\r\n", epilogue: "\r\nignored epilogue")
        let parser = try MultipartParser(contentType: "multipart/form-data; boundary=\"\(boundary)\"")
        let parts = try parser.parseAll(reader(body), limit: body.count)
        XCTAssertEqual(parts.count, 3)
        XCTAssertEqual(parts[0].name, "description")
        XCTAssertNil(parts[0].filename)
        XCTAssertEqual(String(decoding: parts[0].body, as: UTF8.self), "a CT \r\n--almost a boundary")
        XCTAssertEqual(parts[1].name, "file")
        XCTAssertEqual(parts[1].filename, "CT 1.dcm")
        XCTAssertEqual(parts[1].contentType, "application/dicom")
        XCTAssertEqual(parts[1].body, file)
        XCTAssertEqual(parts[2].filename, "été.dcm")
        XCTAssertEqual(parts[2].body, [])
    }

    func testStreamingGivesSameBytesAcrossEveryBoundary() throws {
        let file = HTTPTestSupport.pattern(5000, seed: 7)
        let body = form([("Content-Disposition: form-data; name=\"a\"\r\n", Array("x".utf8)),
                         ("Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n", file)])
        let parser = try MultipartParser(boundary: boundary)
        for readSize in [1, 2, 3, 7, 64, 1000] {
            var received: [String: [UInt8]] = [:]
            var maxPiece = 0
            try parser.parse(reader(body, readSize: readSize)) { head in
                let name = head.name!
                received[name] = []
                return { piece in
                    maxPiece = max(maxPiece, piece.count)
                    received[name]! += piece
                }
            }
            XCTAssertEqual(received["a"], Array("x".utf8), "read size \(readSize)")
            XCTAssertEqual(received["file"], file, "read size \(readSize)")
            XCTAssertLessThanOrEqual(maxPiece, readSize + boundary.count + 4, "pieces follow the reads: nothing is gathered whole")
        }
    }

    func testMalformedBodies() throws {
        let parser = try MultipartParser(boundary: "b")
        let cases: [String] = [
            "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",       // no closing delimiter
            "no boundary at all",
            "--bX\r\n\r\nv\r\n--b--",                                               // boundary followed by junk
            "--b\r\nBad Header\r\n\r\nv\r\n--b--",
        ]
        for c in cases {
            XCTAssertThrowsError(try parser.parseAll(Array(c.utf8)), c) { XCTAssertEqual(($0 as? HTTPError)?.status, .badRequest, c) }
        }
        XCTAssertEqual(try parser.parseAll(Array("--b\r\n\r\nno headers\r\n--b--".utf8)).first.map { String(decoding: $0.body, as: UTF8.self) }, "no headers")
    }

    func testContentTypeAndLimits() throws {
        XCTAssertThrowsError(try MultipartParser(contentType: "application/json")) { XCTAssertEqual(($0 as? HTTPError)?.status.code, 415) }
        XCTAssertThrowsError(try MultipartParser(contentType: nil)) { XCTAssertEqual(($0 as? HTTPError)?.status.code, 415) }
        XCTAssertThrowsError(try MultipartParser(contentType: "multipart/form-data")) { XCTAssertEqual(($0 as? HTTPError)?.status.code, 400) }
        XCTAssertThrowsError(try MultipartParser(boundary: String(repeating: "x", count: 71)))
        let body = form([("Content-Disposition: form-data; name=\"f\"\r\n", [UInt8](repeating: 1, count: 1000))])
        let parser = try MultipartParser(boundary: boundary)
        XCTAssertThrowsError(try parser.parseAll(reader(body), limit: 500)) { XCTAssertEqual(($0 as? HTTPError)?.status, .contentTooLarge) }
        // A chunked body (no length known up front) hits the limit while parsing.
        let chunked = Array("\(String(body.count, radix: 16))\r\n".utf8) + body + Array("\r\n0\r\n\r\n".utf8)
        let r = BodyReader(framing: .chunked, input: InputBuffer(stream: MemoryStream(chunked), socket: nil), limits: HTTPLimits(), timeout: nil)
        XCTAssertThrowsError(try parser.parseAll(r, limit: 500)) { XCTAssertEqual(($0 as? HTTPError)?.status, .contentTooLarge) }
    }
}
