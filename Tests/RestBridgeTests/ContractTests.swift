import XCTest
import Foundation
import TestPeers
import Node
@testable import RestBridge

/// Seed 003's contract, checked by schemathesis against a real node: every route, generated
/// requests, no 5xx and no response that violates the schema (`response_schema_conformance`).
final class ContractTests: XCTestCase {
    func testSchemathesisFindsNoServerErrorsOrSchemaViolations() throws {
        let node = try TestNode { $0.logLevel = "warning" }
        defer { node.stop() }
        // Data for the routes to find: two studies, an SCU, a user.
        let admin = Curl()
        for name in ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm"] {
            XCTAssertLessThan(try admin.upload(node.base + "/images", file: try pydicomFile(name)).status, 300)
        }
        XCTAssertEqual(try admin.post(node.base + "/users", json: #"{"user":"ann","password":"pw","role":"USER"}"#).status, 201)

        let (status, out, err) = try PeerTools.run("/usr/bin/env", [
            "schemathesis", "run", node.base + "/openapi.json",
            "-H", "Authorization: Basic " + Data("admin:admin".utf8).base64EncodedString(),
            "--checks", "not_a_server_error,response_schema_conformance",
            "--phases", "examples,coverage,fuzzing", "--max-examples", "12", "--workers", "2",
            "--seed", "20261123", "--no-color",
        ], env: ["SCHEMATHESIS_HOOKS": ""], timeout: 900)
        let text = String(decoding: out, as: UTF8.self)
        let summary = text.components(separatedBy: "SUMMARY").last ?? text
        XCTAssertEqual(status, 0, "schemathesis found problems:\n\(text.suffix(6000))\n\(err.suffix(2000))")
        XCTAssertTrue(summary.contains("passed"), summary)
        // The node is still healthy and still has its data (stop was called by the run only if
        // the onStop hook did something; in process it does not).
        XCTAssertEqual(try admin.get(node.base + "/system/health").status, 200)
    }
}
