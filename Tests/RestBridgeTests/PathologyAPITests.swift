import XCTest
import Foundation
import TestPeers
@testable import RestBridge

/// Seed 001 under /pathology through curl: records, sharing and who may do what, logs, login,
/// and the signed upload policies (valid, forged, expired, condition-violating).
final class PathologyAPITests: XCTestCase {
    static let signingKey = "pathology-test-signing-key"
    var node: TestNode!
    override func setUpWithError() throws {
        node = try TestNode { $0.logLevel = "warning"; $0.pathology.signingKey = Self.signingKey }
    }
    override func tearDown() { node.stop() }

    func testRecordsSharingPermissionsAndLogs() throws {
        let api = node.pathology, admin = Curl()
        let (aliceId, alice) = try node.addUser("alice")
        let (bobId, bob) = try node.addUser("bob")
        let (carolId, carol) = try node.addUser("carol")

        // Create: the seed's request and answer.
        let created = try alice.post(api + "/Images", json: #"{"patient_id":1,"entity_id":4,"filename":"Test.png","userid":\#(aliceId),"workarea":6,"study":5}"#)
        XCTAssertEqual(created.status, 201, created.text)
        let image = try created.object()
        let uid = try XCTUnwrap(image["image_unique_id"] as? String)
        let id = try XCTUnwrap(image["id"] as? Int)
        XCTAssertNotNil(uid.range(of: "^[0-9a-f]{32}$", options: .regularExpression), uid)
        XCTAssertEqual(image["entity_id"] as? String, "4")
        XCTAssertEqual(image["patient_id"] as? String, "1")
        XCTAssertEqual(image["workarea_id"] as? String, "6")
        XCTAssertEqual(image["study"] as? String, "5")
        XCTAssertEqual(image["status"] as? String, "In Progress")
        XCTAssertEqual(image["shared"] as? String, "\(aliceId)")
        for field in ["annotation_status", "tissuearea_status", "tiling_status"] { XCTAssertEqual(image[field] as? String, "Pending", field) }
        for field in ["base_download_url", "base_raw_download_url", "tissue_area", "outcome_prediction", "metric", "location"] {
            XCTAssertTrue(image[field] is NSNull, "\(field) should be null before an upload: \(image[field] ?? "missing")")
        }
        let adddate = try XCTUnwrap(image["adddate"] as? String)
        XCTAssertNotNil(adddate.range(of: #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$"#, options: .regularExpression), adddate)
        let response = try XCTUnwrap(image["response"] as? [String: Any])
        XCTAssertEqual(response["url"] as? String, api + "/S3/upload")
        XCTAssertEqual(response["key"] as? String, uid)
        let policy = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(response["policy"] as? String)))
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: policy) as? [String: Any])
        XCTAssertNotNil(document["expiration"] as? String)
        XCTAssertEqual((document["conditions"] as? [Any])?.count, 3)
        XCTAssertEqual(try XCTUnwrap(response["signature"] as? String).count, 44, "base64 of a 32-byte HMAC-SHA256")

        // Who may create what.
        XCTAssertEqual(try alice.post(api + "/Images", json: #"{"filename":"x.png","userid":\#(bobId)}"#).status, 403)
        let forBob = try admin.post(api + "/Images", json: #"{"filename":"bob.tif","userid":\#(bobId)}"#)
        XCTAssertEqual(forBob.status, 201, forBob.text)
        let bobUid = try XCTUnwrap(try forBob.object()["image_unique_id"] as? String)
        XCTAssertEqual(try alice.post(api + "/Images", json: #"{"filename":"x.png","colour":"red"}"#).status, 400)
        XCTAssertEqual(try alice.post(api + "/Images", json: #"{"patient_id":1}"#).status, 400)
        XCTAssertEqual(try alice.post(api + "/Images", json: #"{"filename":"x.png","userid":999}"#).status, 403)
        XCTAssertEqual(try admin.post(api + "/Images", json: #"{"filename":"x.png","userid":999}"#).status, 400)
        XCTAssertEqual(try Curl(auth: []).post(api + "/Images", json: #"{"filename":"x.png"}"#).status, 401)

        // Read and change: the owner and administrators; nobody else even sees it.
        XCTAssertEqual(try alice.get(api + "/Images/\(uid)").status, 200)
        XCTAssertEqual(try admin.get(api + "/Images/\(id)").status, 200)
        let changed = try alice.put(api + "/Images/\(id)", json: #"{"status":"Uploaded","description":"xxxxxxxx","location":"dddd","workarea_id":7,"study_id":"5"}"#)
        XCTAssertEqual(changed.status, 200, changed.text)
        let after = try changed.object()
        XCTAssertEqual(after["status"] as? String, "Uploaded")
        XCTAssertEqual(after["description"] as? String, "xxxxxxxx")
        XCTAssertEqual(after["workarea_id"] as? String, "7")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(after["moddate"] as? String), adddate)
        XCTAssertEqual(try alice.put(api + "/Images/\(id)", json: #"{"image_unique_id":"x"}"#).status, 400)
        XCTAssertEqual(try alice.put(api + "/Images/\(id)", json: #"{"status":null}"#).status, 400)

        for (what, reply) in [("read", try bob.get(api + "/Images/\(uid)")),
                              ("change", try bob.put(api + "/Images/\(id)", json: #"{"status":"mine"}"#)),
                              ("download", try bob.get(api + "/S3/file/\(uid)")),
                              ("results", try bob.get(api + "/S3/raw/\(uid)")),
                              ("share", try bob.post(api + "/Images/adduser", json: #"{"userid":[\#(bobId)],"imageid":"\#(uid)"}"#)),
                              ("delete", try bob.delete(api + "/Images/\(uid)")),
                              ("logs", try bob.get(api + "/LogInfo/\(uid)")),
                              ("log", try bob.post(api + "/LogInfo", json: #"{"imageid":"\#(uid)","type":"Note","message":"hi"}"#)),
                              ("policy", try bob.get(api + "/Images/policy/\(uid)")),
                              ("analyse", try bob.get(api + "/Images/startpredict/\(uid)"))] {
            XCTAssertEqual(reply.status, 404, "bob must not \(what) alice's unshared image: \(reply.text)")
        }
        XCTAssertEqual(try alice.get(api + "/Images/\(uid)").status, 200, "nothing bob tried changed or deleted it")

        // Listing per user: oneself, or anyone for administrators.
        XCTAssertEqual(try alice.get(api + "/Images/userid/\(bobId)").status, 403)
        let bobs = try bob.get(api + "/Images/userid/\(bobId)").array()
        XCTAssertEqual(bobs.map { $0["image_unique_id"] as? String }, [bobUid])
        XCTAssertEqual(try admin.get(api + "/Images/userid/\(aliceId)").array().count, 1)
        XCTAssertEqual(try admin.get(api + "/Images/userid/4242").status, 404)

        // Sharing: add, replace, remove; the owner stays.
        let shared = try alice.post(api + "/Images/adduser", json: #"{"userid":[\#(bobId)],"imageid":"\#(uid)"}"#)
        XCTAssertEqual(shared.status, 200, shared.text)
        XCTAssertEqual(try shared.object()["success"] as? Bool, true)
        XCTAssertEqual((try shared.object()["image"] as? [String: Any])?["shared"] as? String, "\(aliceId),\(bobId)")
        XCTAssertEqual(try bob.get(api + "/Images/\(uid)").status, 200)
        XCTAssertEqual(try bob.get(api + "/Images/userid/\(bobId)").array().count, 2)
        XCTAssertEqual(try bob.get(api + "/S3/file/\(uid)").status, 404, "shared, but no file uploaded yet")
        XCTAssertEqual(try bob.post(api + "/LogInfo", json: #"{"imageid":"\#(uid)","type":"Review","message":"looked at it"}"#).status, 201)
        // Shared is not owned: no changing, sharing or deleting.
        XCTAssertEqual(try bob.put(api + "/Images/\(id)", json: #"{"status":"mine"}"#).status, 403)
        XCTAssertEqual(try bob.post(api + "/Images/adduser", json: #"{"userid":[\#(carolId)],"imageid":"\#(uid)"}"#).status, 403)
        XCTAssertEqual(try bob.delete(api + "/Images/\(uid)").status, 403)
        XCTAssertEqual(try carol.get(api + "/Images/\(uid)").status, 404)
        let replaced = try alice.post(api + "/Images/updateuser", json: #"{"userid":[\#(carolId)],"imageid":"\#(uid)"}"#)
        XCTAssertEqual((try replaced.object()["image"] as? [String: Any])?["shared"] as? String, "\(aliceId),\(carolId)")
        XCTAssertEqual(try bob.get(api + "/Images/\(uid)").status, 404)
        XCTAssertEqual(try carol.get(api + "/Images/\(uid)").status, 200)
        XCTAssertEqual(try alice.post(api + "/Images/removeuser", json: #"{"userid":[\#(aliceId)],"imageid":"\#(uid)"}"#).status, 400)
        XCTAssertEqual(try alice.post(api + "/Images/adduser", json: #"{"userid":[9999],"imageid":"\#(uid)"}"#).status, 400)
        let removed = try alice.post(api + "/Images/removeuser", json: #"{"userid":[\#(carolId)],"imageid":"\#(uid)"}"#)
        XCTAssertEqual((try removed.object()["image"] as? [String: Any])?["shared"] as? String, "\(aliceId)")
        XCTAssertEqual(try carol.get(api + "/Images/\(uid)").status, 404)

        // Logs: per image, everything visible, and only the new ones after `since`.
        let logged = try alice.post(api + "/LogInfo", json: #"{"imageid":"\#(uid)","type":"Tiling","message":"Tiling is running"}"#)
        XCTAssertEqual(logged.status, 201, logged.text)
        XCTAssertEqual(try logged.object()["success"] as? Bool, true)
        let lines = try alice.get(api + "/LogInfo/\(uid)").array()
        XCTAssertEqual(lines.map { $0["type"] as? String }, ["Review", "Tiling"])
        XCTAssertEqual(lines.last?["message"] as? String, "Tiling is running")
        XCTAssertEqual(lines.last?["imageid"] as? String, uid)
        XCTAssertEqual(lines.first?["userid"] as? Int, bobId)
        let first = try XCTUnwrap(lines.first?["id"] as? Int)
        XCTAssertEqual(try alice.get(api + "/LogInfo/\(uid)?since=\(first)").array().count, 1)
        XCTAssertEqual(try admin.post(api + "/LogInfo", json: #"{"imageid":"\#(bobUid)","type":"Note","message":"for bob"}"#).status, 201)
        XCTAssertEqual(Set(try alice.get(api + "/LogInfo").array().map { $0["imageid"] as? String }), [uid])
        XCTAssertEqual(Set(try bob.get(api + "/LogInfo").array().map { $0["imageid"] as? String }), [bobUid])
        XCTAssertEqual(Set(try admin.get(api + "/LogInfo").array().compactMap { $0["imageid"] as? String }), [uid, bobUid])
        XCTAssertEqual(try alice.post(api + "/LogInfo", json: #"{"imageid":"\#(uid)","type":"Tiling"}"#).status, 400)

        // Grouped by user: every account for administrators, oneself otherwise.
        let groups = try admin.get(api + "/Users/imagelist").array()
        XCTAssertEqual(Set(groups.compactMap { $0["userid"] as? Int }), [1, aliceId, bobId, carolId])
        XCTAssertEqual((groups.first { $0["userid"] as? Int == aliceId }?["images"] as? [Any])?.count, 1)
        let own = try alice.get(api + "/Users/imagelist").array()
        XCTAssertEqual(own.count, 1)
        XCTAssertEqual(own.first?["userid"] as? Int, aliceId)

        // Delete: the record, its logs, and nothing else.
        let deleted = try alice.delete(api + "/Images/\(uid)")
        XCTAssertEqual(deleted.status, 200, deleted.text)
        XCTAssertEqual(try deleted.object()["success"] as? Bool, true)
        XCTAssertEqual(try alice.get(api + "/Images/\(uid)").status, 404)
        XCTAssertEqual(try alice.delete(api + "/Images/\(uid)").status, 404)
        XCTAssertEqual(Set(try admin.get(api + "/LogInfo").array().compactMap { $0["imageid"] as? String }), [bobUid])
        XCTAssertEqual(try bob.get(api + "/Images/\(bobUid)").status, 200)
        XCTAssertEqual(try alice.get(api + "/Images/not-an-id").status, 400)
    }

    func testLoginCookieWorksForThePathologyAPI() throws {
        let api = node.pathology
        let (aliceId, _) = try node.addUser("alice")
        let jar = Curl.folder + "/jar-\(UUID().uuidString)"
        defer { unlink(jar) }
        XCTAssertEqual(try Curl(auth: ["-c", jar]).post(api + "/Users/login", json: #"{"user":"alice","pass":"wrong"}"#).status, 401)
        let login = try Curl(auth: ["-c", jar]).post(api + "/Users/login", json: #"{"user":"alice","pass":"alice-pw"}"#)
        XCTAssertEqual(login.status, 201, login.text)
        XCTAssertTrue(login.headers.contains("Path=/pathology"), login.headers)
        let session = Curl(auth: ["-b", jar])
        let groups = try session.get(api + "/Users/imagelist").array()
        XCTAssertEqual(groups.first?["userid"] as? Int, aliceId)
        // A session opened at /api/users/login is the same kind of session.
        let apiJar = Curl.folder + "/jar-\(UUID().uuidString)"
        defer { unlink(apiJar) }
        XCTAssertEqual(try Curl(auth: ["-c", apiJar]).post(node.base + "/users/login", json: #"{"user":"alice","pass":"alice-pw"}"#).status, 201)
        let token = try XCTUnwrap(String(contentsOfFile: apiJar, encoding: .utf8).split(separator: "\n").last?.split(separator: "\t").last)
        XCTAssertEqual(try Curl(auth: ["-H", "Cookie: slicebox-session=\(token)"]).get(api + "/Users/imagelist").status, 200)
        XCTAssertEqual(try session.post(api + "/Users/logout", json: "{}").status, 200)
        XCTAssertEqual(try session.get(api + "/Users/imagelist").status, 401)
    }

    func testUploadPolicies() throws {
        let api = node.pathology
        let (_, alice) = try node.addUser("alice")
        let (_, bob) = try node.addUser("bob")
        let folder = PeerTools.temporaryDirectory("policy")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/slide.png"
        let content = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
        try content.write(to: URL(fileURLWithPath: file))

        func create(_ name: String) throws -> (uid: String, response: [String: Any]) {
            let o = try alice.post(api + "/Images", json: #"{"filename":"\#(name)"}"#).object()
            return (try XCTUnwrap(o["image_unique_id"] as? String), try XCTUnwrap(o["response"] as? [String: Any]))
        }
        let (a, policyA) = try create("a.png")
        let (b, policyB) = try create("b.png")
        let accessKey = try XCTUnwrap(policyA["AWSAccessKeyId"] as? String)
        func hasFile(_ uid: String) throws -> Bool { !(try alice.get(api + "/Images/\(uid)").object()["base_download_url"] is NSNull) }
        func expectRefused(_ reply: Curl.Reply, _ status: Int, _ text: String, _ why: String) throws {
            XCTAssertEqual(reply.status, status, "\(why): \(reply.text)")
            XCTAssertTrue(reply.text.contains(text), "\(why): \(reply.text)")
        }

        // Policies signed by Python's hmac: with another key, and with the deployment's key.
        let far = "2099-01-01T00:00:00Z", bucket = #"{"bucket":"dicomnode-pathology"}"#
        let signed = try PathologyTestTools.sign([
            (String(decoding: Data(base64Encoded: policyB["policy"] as! String)!, as: UTF8.self), "not-the-key"),
            (#"{"expiration":"2022-08-17T07:59:27Z","conditions":[\#(bucket),{"key":"\#(b)"},["content-length-range",1,1000000]]}"#, Self.signingKey),
            (#"{"expiration":"\#(far)","conditions":[\#(bucket),{"key":"\#(b)"},["content-length-range",1,1000]]}"#, Self.signingKey),
            (#"{"expiration":"\#(far)","conditions":[\#(bucket),{"key":"\#(b)"},["content-length-range",500000,900000]]}"#, Self.signingKey),
            (#"{"expiration":"\#(far)","conditions":[{"bucket":"elsewhere"},{"key":"\#(b)"}]}"#, Self.signingKey),
            (#"{"expiration":"\#(far)","conditions":[\#(bucket)]}"#, Self.signingKey),
            (#"{"expiration":"\#(far)","conditions":[\#(bucket),{"key":"\#(b)"},["content-length-range",1,1000000]]}"#, Self.signingKey),
        ])
        let (forged, expired, small, big, otherBucket, anyKey, python) = (signed[0], signed[1], signed[2], signed[3], signed[4], signed[5], signed[6])

        // Forged: a signature by another key, and a policy changed after signing.
        try expectRefused(try alice.uploadWithPolicy(policyB, file: file, override: ["signature": forged.signature]), 403, "signature does not match", "forged signature")
        let widened = #"{"conditions":[{"bucket":"dicomnode-pathology"},["starts-with","$key",""],["content-length-range",1,99999999999]],"expiration":"2099-01-01T00:00:00Z"}"#
        try expectRefused(try alice.uploadWithPolicy(policyB, file: file, override: ["policy": Data(widened.utf8).base64EncodedString()]),
                          403, "signature does not match", "policy edited after signing")
        try expectRefused(try alice.uploadWithPolicy(policyB, file: file, override: ["AWSAccessKeyId": "AKIA3EZURXYHVJR7DR7X"]), 403, "unknown access key id", "foreign access key")
        // Expired (correctly signed with the deployment key).
        try expectRefused(try alice.uploadWithPolicy(policyB, file: file, override: ["policy": expired.policy, "signature": expired.signature]), 403, "expired", "expired policy")
        // Conditions: another image's key, a file outside the size range, another bucket, no key condition.
        try expectRefused(try alice.uploadWithPolicy(policyA, file: file, override: ["key": b]), 403, "condition failed: key", "policy of A used for B")
        try expectRefused(try alice.uploadWithPolicy(policyB, file: file, override: ["policy": small.policy, "signature": small.signature]), 400, "content-length-range", "file larger than the range")
        try expectRefused(try alice.uploadWithPolicy(policyB, file: file, override: ["policy": big.policy, "signature": big.signature]), 400, "fewer than", "file smaller than the range")
        try expectRefused(try alice.uploadWithPolicy(policyB, file: file, override: ["policy": otherBucket.policy, "signature": otherBucket.signature]), 403, "condition failed: bucket", "another bucket")
        try expectRefused(try alice.uploadWithPolicy(policyB, file: file, override: ["policy": anyKey.policy, "signature": anyKey.signature]), 403, "does not constrain the key", "no key condition")
        // Fields after the file do not count (S3's rule): the check sees no policy.
        try expectRefused(try alice.uploadWithPolicy(policyB, file: file, fileLast: false), 403, "no AWSAccessKeyId", "fields after the file")
        XCTAssertFalse(try hasFile(b), "no refused upload left a file")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: node.folder + "/pathology/images/\(b)")
        XCTAssertFalse(leftovers.contains { $0.hasSuffix(".partial") || $0 == "source" }, "\(leftovers)")

        // A policy signed by Python's HMAC-SHA256 with the deployment key is as good as the node's own.
        let accepted = try alice.uploadWithPolicy(["url": api + "/S3/upload", "key": b, "AWSAccessKeyId": accessKey], file: file,
                                                  override: ["policy": python.policy, "signature": python.signature])
        XCTAssertEqual(accepted.status, 201, accepted.text)
        XCTAssertEqual(try accepted.object()["size"] as? Int, content.count)
        // The node's own policy: accepted, the record says so, the file comes back byte for byte.
        let upload = try alice.uploadWithPolicy(policyA, file: file)
        XCTAssertEqual(upload.status, 201, upload.text)
        let record = try alice.get(api + "/Images/\(a)").object()
        XCTAssertEqual(record["status"] as? String, "Uploaded")
        XCTAssertEqual(record["file_size"] as? Int, content.count)
        XCTAssertEqual(record["base_download_url"] as? String, api + "/S3/file/\(a)")
        XCTAssertEqual(record["base_raw_download_url"] as? String, api + "/S3/raw/\(a)")
        let download = try alice.get(try XCTUnwrap(record["base_download_url"] as? String))
        XCTAssertEqual(download.status, 200)
        XCTAssertEqual(download.body, content)
        XCTAssertTrue(download.headers.lowercased().contains("content-disposition: attachment; filename=\"a.png\""), download.headers)
        XCTAssertEqual(try bob.get(api + "/S3/file/\(a)").status, 404)
        XCTAssertEqual(try Curl(auth: []).get(api + "/S3/file/\(a)").status, 401)
        // A fresh policy for the record replaces the file.
        let fresh = try XCTUnwrap(try alice.get(api + "/Images/policy/\(a)").object()["response"] as? [String: Any])
        let second = folder + "/second.bin"
        try Data("second file".utf8).write(to: URL(fileURLWithPath: second))
        XCTAssertEqual(try alice.uploadWithPolicy(fresh, file: second).status, 201)
        XCTAssertEqual(try alice.get(api + "/S3/file/\(a)").body, Data("second file".utf8))
    }
}
