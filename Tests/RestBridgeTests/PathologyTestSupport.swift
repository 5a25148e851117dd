import XCTest
import Foundation
import TestPeers
@testable import RestBridge

/// What the pathology tests share: the API's base URL, users made through `/api/users`, uploads
/// the way the seed's clients do them (the policy fields, then the file, with curl), and polling.
extension TestNode {
    var pathology: String { "http://127.0.0.1:\(bridge.port)/pathology" }

    /// A USER account `name` with password `name`-pw; returns its id and a curl for it.
    func addUser(_ name: String) throws -> (id: Int, curl: Curl) {
        let reply = try Curl().post(base + "/users", json: #"{"user":"\#(name)","password":"\#(name)-pw","role":"USER"}"#)
        guard reply.status == 201, let id = try reply.object()["id"] as? Int else { throw PeerMissing("cannot add user \(name): \(reply.text)") }
        return (id, Curl(auth: ["-u", "\(name):\(name)-pw"]))
    }
}

extension Curl {
    /// The seed's upload: a multipart POST to `response.url` with the policy fields, then the file.
    func uploadWithPolicy(_ response: [String: Any], file: String, override: [String: String] = [:], fileLast: Bool = true) throws -> Reply {
        guard let url = response["url"] as? String else { throw PeerMissing("no upload url in \(response)") }
        var fields: [String: String] = [:]
        for name in ["key", "AWSAccessKeyId", "policy", "signature"] { fields[name] = response[name] as? String }
        fields["upload_file"] = "true"
        for (k, v) in override { fields[k] = v }
        var arguments: [String] = []
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { arguments += ["--form-string", "\(k)=\(v)"] }
        arguments = fileLast ? arguments + ["-F", "file=@\(file)"] : ["-F", "file=@\(file)"] + arguments
        return try Curl(auth: []).call("POST", url, arguments)
    }
}

enum PathologyTestTools {
    /// Runs python3 with `code`, returns stdout; fails the test with stderr when it fails.
    static func python(_ code: String, _ arguments: [String] = []) throws -> String {
        let (status, out, err) = try PeerTools.run("/usr/bin/env", ["python3", "-c", code] + arguments, timeout: 120)
        guard status == 0 else { throw PeerMissing("python3 failed (numpy and Pillow are required test peers): \(err)") }
        return String(decoding: out, as: UTF8.self)
    }

    /// A slide-like image written by the Python tool: its ground truth (blobs, tissue fraction).
    static func slide(_ path: String, width: Int, height: Int, seed: Int, format: String, folder: String) throws -> [String: Any] {
        let script = try SlideImageScript.install(in: folder)
        let (status, out, err) = try PeerTools.run("/usr/bin/env", ["python3", script, "slide", path, "\(width)", "\(height)", "\(seed)", format], timeout: 120)
        guard status == 0, let truth = try JSONSerialization.jsonObject(with: out) as? [String: Any] else {
            throw PeerMissing("the slide generator failed (numpy is a required test peer): \(err)")
        }
        return truth
    }

    /// Policies signed the way the node signs (HMAC-SHA256 over the base64 text, base64), by
    /// Python's hmac: one (document, key) pair each, in one Python run.
    static func sign(_ pairs: [(document: String, key: String)]) throws -> [(policy: String, signature: String)] {
        let input = String(decoding: try JSONSerialization.data(withJSONObject: pairs.map { [$0.document, $0.key] }), as: UTF8.self)
        let out = try python("""
            import base64, hashlib, hmac, json, sys
            result = []
            for document, key in json.loads(sys.argv[1]):
                p = base64.b64encode(document.encode()).decode()
                result.append([p, base64.b64encode(hmac.new(key.encode(), p.encode(), hashlib.sha256).digest()).decode()])
            print(json.dumps(result))
            """, [input])
        let signed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String]])
        return signed.map { ($0[0], $0[1]) }
    }

    static func waitFor(_ what: String, seconds: Double = 40, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what)")
        throw PeerMissing("timed out waiting for \(what)")
    }
}
