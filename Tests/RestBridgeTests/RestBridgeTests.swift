import XCTest
import Foundation
import Node
@testable import RestBridge

/// The node's HTTP side on a real node: health answers, unknown paths get a JSON 404.
final class RestBridgeTests: XCTestCase {
    func testHealthAndUnknownPaths() throws {
        let folder = NSTemporaryDirectory() + "dicomnode-rest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var config = NodeConfig()
        config.dataFolder = folder
        config.dicom.port = 0
        config.http.port = 0
        config.logLevel = "error"
        let node = try NodeServer(config: config)
        try node.start()
        let bridge = try RestBridge(node: node)
        try bridge.start()
        defer { bridge.stop(timeout: 1); node.stop(waitSeconds: 1) }
        XCTAssertNotEqual(bridge.port, 0)

        let client = try RawClient(port: bridge.port)
        defer { client.close() }
        try client.send("GET /api/system/health HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        try client.send("GET /api/no/such/route HTTP/1.1\r\nHost: x\r\n\r\n")
        let missing = try client.readResponse()
        XCTAssertEqual(missing.status, 404)
        XCTAssertNotNil(missing.errorMessage, missing.text)
        try client.send("POST /api/system/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 405)
    }
}
