import XCTest
import Foundation
import TestPeers
@testable import RestBridge
import Node

/// Users, roles, basic auth and sessions (research notes §2 and Slicebox's user tests).
final class AuthTests: XCTestCase {
    var node: TestNode!
    override func setUpWithError() throws { node = try TestNode() }
    override func tearDown() { node.stop() }

    func testRolesAndCredentials() throws {
        let admin = Curl()
        // Adding a user twice is idempotent; the hash never leaves the node.
        let added = try admin.post(node.base + "/users", json: #"{"user":"ann","password":"secret1","role":"USER"}"#)
        XCTAssertEqual(added.status, 201, added.text)
        let again = try admin.post(node.base + "/users", json: #"{"user":"ann","password":"other","role":"USER"}"#)
        XCTAssertEqual(try again.object()["id"] as? Int, try added.object()["id"] as? Int)
        let users = try admin.get(node.base + "/users")
        XCTAssertFalse(users.text.contains("pbkdf2"), users.text)
        XCTAssertFalse(users.text.lowercased().contains("password"), users.text)
        XCTAssertEqual(try admin.post(node.base + "/users", json: #"{"user":"root2","password":"x","role":"SUPERUSER"}"#).status, 400)
        XCTAssertEqual(try admin.post(node.base + "/users", json: #"{"user":"x","password":"x","role":"KING"}"#).status, 400)
        XCTAssertEqual(try admin.post(node.base + "/users", json: #"{"user":"x"}"#).status, 400)

        // A USER reads but cannot administer; bad credentials are 401 with the reason.
        let ann = Curl(auth: ["-u", "ann:secret1"])
        XCTAssertEqual(try ann.get(node.base + "/metadata/patients").status, 200)
        let forbidden = try ann.post(node.base + "/scps", json: #"{"name":"x","aeTitle":"X","port":0}"#)
        XCTAssertEqual(forbidden.status, 403)
        XCTAssertTrue((try forbidden.object()["error"] as? String ?? "").contains("ADMINISTRATOR"))
        XCTAssertEqual(try ann.delete(node.base + "/users/1").status, 403)
        let wrong = try Curl(auth: ["-u", "ann:nope"]).get(node.base + "/metadata/patients")
        XCTAssertEqual(wrong.status, 401)
        XCTAssertTrue(wrong.headers.lowercased().contains("www-authenticate: basic"), wrong.headers)
        XCTAssertEqual(try Curl(auth: ["-H", "Authorization: Bearer abc"]).get(node.base + "/metadata/patients").status, 401)

        // Login: bad password → 401 and no cookie; a bad cookie with good basic auth → 200.
        let badLogin = try Curl(auth: []).post(node.base + "/users/login", json: #"{"user":"ann","pass":"wrong"}"#)
        XCTAssertEqual(badLogin.status, 401)
        XCTAssertFalse(badLogin.headers.contains("slicebox-session="))
        XCTAssertEqual(try Curl(auth: ["-u", "ann:secret1", "-H", "Cookie: slicebox-session=nonsense"]).get(node.base + "/metadata/patients").status, 200)

        // A session cookie from another client (other User-Agent) does not work.
        let jar = Curl.folder + "/jar-\(UUID().uuidString)"
        defer { unlink(jar) }
        XCTAssertEqual(try Curl(auth: ["-c", jar]).post(node.base + "/users/login", json: #"{"user":"ann","pass":"secret1"}"#).status, 201)
        XCTAssertEqual(try Curl(auth: ["-b", jar]).get(node.base + "/users/current").status, 200)
        XCTAssertEqual(try Curl(auth: ["-b", jar, "-A", "another-agent"]).get(node.base + "/users/current").status, 401)

        // The superuser cannot be deleted; an unknown user deletes as 204; a deleted user is out.
        XCTAssertEqual(try admin.delete(node.base + "/users/1").status, 400)
        XCTAssertEqual(try admin.delete(node.base + "/users/424242").status, 204)
        let annId = try XCTUnwrap(try added.object()["id"] as? Int)
        XCTAssertEqual(try admin.delete(node.base + "/users/\(annId)").status, 204)
        XCTAssertEqual(try ann.get(node.base + "/metadata/patients").status, 401)
        XCTAssertEqual(try Curl(auth: ["-b", jar]).get(node.base + "/users/current").status, 401)
    }

    func testPasswordHashesVerifyAndDiffer() throws {
        let a = try PasswordHasher.hash("pw"), b = try PasswordHasher.hash("pw")
        XCTAssertNotEqual(a, b)  // salted
        XCTAssertTrue(PasswordHasher.verify("pw", against: a))
        XCTAssertFalse(PasswordHasher.verify("pW", against: a))
        XCTAssertFalse(PasswordHasher.verify("pw", against: "pbkdf2-sha256$1$AAAA$AAAA"))
        XCTAssertFalse(PasswordHasher.verify("pw", against: "garbage"))
        // RFC 6070-style check of the PBKDF2 itself (SHA-256 vector, 1 iteration).
        let derived = try PasswordHasher.derive("password", salt: Array("salt".utf8), iterations: 1)
        XCTAssertEqual(derived.map { String(format: "%02x", $0) }.joined(), "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
    }

    func testSCPAndSCURoutes() throws {
        let admin = Curl()
        XCTAssertEqual(try admin.post(node.base + "/scps", json: #"{"name":"s","aeTitle":"A_TITLE_THAT_IS_TOO_LONG","port":0}"#).status, 400)
        let port = try PeerTools.freePort()
        let scp = try admin.post(node.base + "/scps", json: #"{"name":"s","aeTitle":"  SIXTEEN_CHARS_X  ","port":\#(port)}"#)
        XCTAssertEqual(scp.status, 201, scp.text)
        XCTAssertEqual(try scp.object()["aeTitle"] as? String, "SIXTEEN_CHARS_X")
        XCTAssertTrue(PeerTools.isListening(port))
        XCTAssertEqual(try admin.get(node.base + "/scps").array().count, 1)
        XCTAssertTrue(try admin.get(node.base + "/sources").array().contains { $0["sourceType"] as? String == "scp" && $0["sourceName"] as? String == "s" })

        let deadPort = try PeerTools.freePort()
        let scu = try admin.post(node.base + "/scus", json: #"{"name":"pacs","aeTitle":"PACS","host":"127.0.0.1","port":\#(deadPort)}"#)
        XCTAssertEqual(scu.status, 201, scu.text)
        let scuId = try XCTUnwrap(try scu.object()["id"] as? Int)
        let ct = try pydicomFile("CT_small.dcm")
        let imageId = try XCTUnwrap(try admin.upload(node.base + "/images", file: ct).object()["id"] as? Int)
        let unreachable = try admin.post(node.base + "/scus/\(scuId)/send", json: "[\(imageId)]")
        XCTAssertEqual(unreachable.status, 502, unreachable.text)
        XCTAssertEqual(try admin.post(node.base + "/scus/999/send", json: "[\(imageId)]").status, 404)
        XCTAssertTrue(try admin.get(node.base + "/destinations").array().contains { $0["destinationName"] as? String == "pacs" })
        XCTAssertEqual(try admin.delete(node.base + "/scus/\(scuId)").status, 204)
        let scpId = try XCTUnwrap(try scp.object()["id"] as? Int)
        XCTAssertEqual(try admin.delete(node.base + "/scps/\(scpId)").status, 204)
        XCTAssertFalse(PeerTools.isListening(port))

        // The log has the events, filterable by subject.
        let log = try admin.get(node.base + "/log?subject=scu").array()
        XCTAssertTrue(log.contains { $0["subject"] as? String == "scu" }, "\(log)")
        XCTAssertEqual(try admin.get(node.base + "/log?type=LOUD").status, 400)
    }

    func testHTTPSFromTheConfiguration() throws {
        let dir = PeerTools.temporaryDirectory("https")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (status, _, err) = try PeerTools.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem",
                                                                      "-out", dir + "/cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1",
                                                                      "-addext", "subjectAltName=IP:127.0.0.1"])
        XCTAssertEqual(status, 0, err)
        let secure = try TestNode { $0.http.tlsCertificate = dir + "/cert.pem"; $0.http.tlsKey = dir + "/key.pem" }
        defer { secure.stop() }
        let url = "https://127.0.0.1:\(secure.bridge.port)/api"
        let curl = Curl(auth: ["-u", "admin:admin", "--cacert", dir + "/cert.pem"])
        XCTAssertEqual(try curl.get(url + "/metadata/patients").status, 200)
        let spec = try curl.get(url + "/openapi.json").object()
        XCTAssertEqual((spec["servers"] as? [[String: Any]])?.first?["url"] as? String, url)
        // The login cookie is marked Secure over HTTPS.
        let login = try Curl(auth: ["--cacert", dir + "/cert.pem"]).post(url + "/users/login", json: #"{"user":"admin","pass":"admin"}"#)
        XCTAssertTrue(login.headers.contains("; Secure"), login.headers)
        // Plain HTTP on the HTTPS port is refused, not served.
        XCTAssertNotEqual((try? Curl().get("http://127.0.0.1:\(secure.bridge.port)/api/system/health"))?.status, 200)
    }
}
