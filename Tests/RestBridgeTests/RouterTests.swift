import Foundation
import XCTest
@testable import RestBridge

final class RouterTests: XCTestCase {
    func request(_ method: HTTPMethod, _ target: String) throws -> HTTPRequest {
        try HTTPRequest(method: method, target: target)
    }

    /// Runs the router like the server does: thrown errors become their JSON responses.
    func respond(_ router: Router, _ method: HTTPMethod, _ target: String) throws -> HTTPResponse {
        do { return try router.handle(request(method, target)) } catch let e as HTTPError { return e.response }
    }

    func json(_ r: HTTPResponse) -> [String: Any]? {
        guard case .bytes(let b) = r.body else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(b))) as? [String: Any]
    }

    func text(_ r: HTTPResponse) -> String {
        guard case .bytes(let b) = r.body else { return "" }
        return String(decoding: b, as: UTF8.self)
    }

    var api: Router {
        var r = Router()
        r.get("/images/{id}/png") { req in .text("png \(try req.parameters.int64("id"))") }
        r.get("/images/{id}") { req in .text("image \(req.parameters["id"]!)") }
        r.delete("/images/{id}") { req in .text("deleted \(req.parameters["id"]!)") }
        r.get("/images/export") { _ in .text("export list") }
        r.post("/images/{id}") { req in .text("post \(req.parameters["id"]!)") }
        r.get("/files/{path...}") { req in .text("file \(req.parameters["path"]!)") }
        return r
    }

    func testParametersAndSpecificity() throws {
        XCTAssertEqual(text(try respond(api, .get, "/images/42/png")), "png 42")
        XCTAssertEqual(text(try respond(api, .get, "/images/42")), "image 42")
        XCTAssertEqual(text(try respond(api, .get, "/images/export")), "export list", "a literal segment beats a parameter")
        XCTAssertEqual(text(try respond(api, .post, "/images/export")), "post export", "the method decides among matching patterns")
        XCTAssertEqual(text(try respond(api, .get, "/images/a%20b")), "image a b", "parameters are decoded")
        XCTAssertEqual(text(try respond(api, .get, "/files/a/b/c.txt")), "file a/b/c.txt")
        XCTAssertEqual(text(try respond(api, .get, "/images/42/")), "image 42", "trailing slash")
    }

    func testInt64ParameterAnswers400() throws {
        let r = try respond(api, .get, "/images/abc/png")
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertEqual(json(r)?["error"] as? String, "path parameter id must be an integer, not \"abc\"")
        XCTAssertEqual(r.headers["Content-Type"], "application/json")
        XCTAssertEqual(try respond(api, .get, "/images/99999999999999999999/png").status, .badRequest, "out of Int64 range")
    }

    func testUnknownPathIs404JSON() throws {
        let r = try respond(api, .get, "/nothing/here")
        XCTAssertEqual(r.status, .notFound)
        XCTAssertEqual(json(r)?["error"] as? String, "no resource at /nothing/here")
        XCTAssertEqual(try respond(api, .get, "/images").status, .notFound)
        XCTAssertEqual(try respond(api, .get, "/images/1/png/extra").status, .notFound)
    }

    func testWrongMethodIs405WithAllow() throws {
        let r = try respond(api, .put, "/images/7")
        XCTAssertEqual(r.status, .methodNotAllowed)
        XCTAssertEqual(r.headers["Allow"], "DELETE, GET, HEAD, OPTIONS, POST")
        XCTAssertNotNil(json(r)?["error"])
        let options = try respond(api, .options, "/images/7/png")
        XCTAssertEqual(options.status, .noContent)
        XCTAssertEqual(options.headers["Allow"], "GET, HEAD, OPTIONS")
    }

    func testHeadRunsGetRoute() throws {
        XCTAssertEqual(text(try respond(api, .head, "/images/5")), "image 5")
        var r = Router()
        r.get("/x") { _ in .text("get") }
        r.add(.head, "/x") { _ in .text("head") }
        XCTAssertEqual(text(try respond(r, .head, "/x")), "head", "an explicit HEAD route wins")
    }

    func testMountUnderPrefix() throws {
        var root = Router()
        root.mount("/api", api)
        root.get("/api/version") { _ in .text("v1") }
        var fallback = Router()
        fallback.notFound = { req in .text("index.html for \(req.path)") }
        root.mount("/", fallback)
        XCTAssertEqual(text(try respond(root, .get, "/api/images/3/png")), "png 3")
        XCTAssertEqual(text(try respond(root, .get, "/api/version")), "v1", "own routes come first")
        XCTAssertEqual(try respond(root, .put, "/api/images/3").status, .methodNotAllowed)
        XCTAssertEqual(try respond(root, .get, "/api/none").status, .notFound)
        XCTAssertEqual(text(try respond(root, .get, "/app/page")), "index.html for /app/page", "the longest prefix wins, / catches the rest")
        let req = try request(.get, "/api/images/3")
        XCTAssertEqual(req.path, "/api/images/3", "the request keeps its full path")
    }

    func testHandlerErrorsPassThrough() throws {
        var r = Router()
        r.get("/conflict") { _ in throw HTTPError(.conflict, "already there") }
        XCTAssertThrowsError(try r.handle(request(.get, "/conflict"))) { XCTAssertEqual(($0 as? HTTPError)?.status, .conflict) }
    }
}

final class HTTPResponseTests: XCTestCase {
    struct Image: Codable, Equatable { var id: Int64; var name: String; var url: String }

    func bytes(_ r: HTTPResponse) -> [UInt8] {
        guard case .bytes(let b) = r.body else { return [] }
        return b
    }

    func testJSONHelpers() throws {
        let e = HTTPResponse.json(Image(id: 3, name: "x", url: "/a/b"), status: .created)
        XCTAssertEqual(e.status, .created)
        XCTAssertEqual(e.headers["content-type"], "application/json")
        XCTAssertEqual(String(decoding: bytes(e), as: UTF8.self), #"{"id":3,"name":"x","url":"/a/b"}"#)
        XCTAssertEqual(try JSONDecoder().decode(Image.self, from: Data(bytes(e))), Image(id: 3, name: "x", url: "/a/b"))

        let any: [String: Any] = ["b": 1, "a": [true, "s"], "n": NSNull()]
        XCTAssertEqual(String(decoding: bytes(.json(any)), as: UTF8.self), #"{"a":[true,"s"],"b":1,"n":null}"#)
        XCTAssertEqual(String(decoding: bytes(.json(Data(#"[1,2]"#.utf8))), as: UTF8.self), "[1,2]", "Data is taken as JSON already")
        let arr: [Any] = [1, "two"]
        XCTAssertEqual(String(decoding: bytes(.json(arr)), as: UTF8.self), #"[1,"two"]"#)
        XCTAssertEqual(HTTPResponse.json(["bad": Date()] as [String: Any]).status, .internalServerError)
    }

    func testErrorShape() throws {
        let r = HTTPResponse.error(.notFound, "no \"image\" 7")
        XCTAssertEqual(r.status.code, 404)
        XCTAssertEqual(r.headers["Content-Type"], "application/json")
        let obj = try JSONSerialization.jsonObject(with: Data(bytes(r))) as? [String: Any]
        XCTAssertEqual(obj?.count, 1)
        XCTAssertEqual(obj?["error"] as? String, "no \"image\" 7")
    }

    func testResponseHeadSerialization() {
        let head = String(decoding: ResponseHead.serialize(status: .ok, headers: ["X-Evil": "a\r\nSet-Cookie: x", "Content-Length": "999"],
                                                           framing: .length(3), contentLength: 3, keepAlive: true,
                                                           requestVersion: .http1_0, serverName: "t"), as: UTF8.self)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        XCTAssertTrue(head.contains("X-Evil: a  Set-Cookie: x\r\n"), "no response splitting")
        XCTAssertTrue(head.contains("Content-Length: 3\r\n"))
        XCTAssertFalse(head.contains("999"), "framing fields are the server's")
        XCTAssertTrue(head.contains("Connection: keep-alive\r\n"), "HTTP/1.0 persistence is explicit")
        XCTAssertTrue(head.hasSuffix("\r\n\r\n"))
        XCTAssertEqual(ResponseHead.httpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT")
        let noContent = String(decoding: ResponseHead.serialize(status: .noContent, headers: [:], framing: .none, contentLength: nil,
                                                                keepAlive: true, requestVersion: .http1_1, serverName: nil), as: UTF8.self)
        XCTAssertFalse(noContent.contains("Content-Length"), "RFC 9110 §8.6: none with 204")
        XCTAssertFalse(noContent.contains("Transfer-Encoding"))
    }

    func testBodyWriterChunksAndLengthChecks() throws {
        let out = MemoryStream([])
        let w = BodyWriter(stream: out, framing: .chunked, head: Array("HEAD\r\n\r\n".utf8))
        try w.write("abc")
        try w.write([UInt8](repeating: 0x41, count: 70_000))  // large: sent as its own chunk
        try w.finish()
        let s = String(decoding: out.written, as: UTF8.self)
        XCTAssertTrue(s.hasPrefix("HEAD\r\n\r\n\(String(70_003, radix: 16))\r\nabcAAA"))
        XCTAssertTrue(s.hasSuffix("AAA\r\n0\r\n\r\n"))

        let short = BodyWriter(stream: MemoryStream([]), framing: .length(5), head: [])
        try short.write("abc")
        XCTAssertThrowsError(try short.finish())
        XCTAssertThrowsError(try short.write("abc"), "more than Content-Length")
    }
}
