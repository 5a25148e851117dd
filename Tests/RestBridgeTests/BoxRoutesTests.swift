import XCTest
import Foundation
import Codec
import TestPeers
@testable import RestBridge

/// `/api/boxes` and `/api/transactions/{token}` through curl, with curl playing the other node
/// where the protocol needs one (research notes §4 "Boxes/transactions").
final class BoxRoutesTests: XCTestCase {
    var node: TestNode!
    let admin = Curl()
    /// The other node: no user, the token authenticates.
    let peer = Curl(auth: [])

    override func setUpWithError() throws {
        // A fixed port: box URLs are built from the configured one.
        node = try Self.makeNode()
    }

    /// A node on a fixed free port with short box intervals.
    static func makeNode() throws -> TestNode {
        let port = try PeerTools.freePort()
        return try TestNode {
            $0.logLevel = "warning"
            $0.http.port = Int(port)
            $0.boxes.pushIntervalSeconds = 0.2
            $0.boxes.pollIntervalSeconds = 0.2
        }
    }
    override func tearDown() { node.stop() }

    func upload(_ name: String) throws -> Int {
        let r = try admin.upload(node.base + "/images", file: try pydicomFile(name))
        XCTAssertEqual(r.status, 201, r.text)
        return try XCTUnwrap(try r.object()["id"] as? Int)
    }

    /// A POLL box named "peer": what the other node gets to connect with.
    func pollBox() throws -> (id: Int, url: String, token: String) {
        let r = try admin.post(node.base + "/boxes/createconnection", json: #"{"name":"peer"}"#)
        XCTAssertEqual(r.status, 201, r.text)
        let o = try r.object()
        return (try XCTUnwrap(o["id"] as? Int), try XCTUnwrap(o["baseUrl"] as? String), try XCTUnwrap(o["token"] as? String))
    }

    func send(_ box: Int, _ ids: [Int], forcing name: String? = nil) throws -> Curl.Reply {
        let images = ids.map { id in
            name.map { #"{"imageId":\#(id),"tagValues":[{"tagPath":{"tag":1048592},"value":"\#($0)"}]}"# } ?? #"{"imageId":\#(id)}"#
        }
        return try admin.post(node.base + "/boxes/\(box)/send", json: #"{"imageTagValuesSet":[\#(images.joined(separator: ","))]}"#)
    }

    func outgoing() throws -> [[String: Any]] { try admin.get(node.base + "/boxes/outgoing").array() }
    func incoming() throws -> [[String: Any]] { try admin.get(node.base + "/boxes/incoming").array() }

    /// A file of `bytes` for curl's --data-binary.
    func file(_ bytes: [UInt8]) throws -> String {
        let path = Curl.folder + "/body-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { unlink(path) }
        return path
    }

    static func compress(_ bytes: [UInt8], _ format: Zlib.Format) throws -> [UInt8] {
        var out: [UInt8] = []
        let s = try DeflateStream(format: format)
        try s.write(bytes) { out.append(contentsOf: $0) }
        try s.finish { out.append(contentsOf: $0) }
        return out
    }

    static func inflate(_ bytes: [UInt8], _ format: Zlib.Format) throws -> [UInt8] {
        var out: [UInt8] = []
        let s = try InflateStream(format: format)
        try s.write(bytes) { out.append(contentsOf: $0) }
        try s.finish()
        return out
    }

    // MARK: boxes

    func testConnectionsAreIdempotentAndValidated() throws {
        let (id, url, token) = try pollBox()
        XCTAssertEqual(url, node.base + "/transactions/" + token)
        XCTAssertNotNil(UUID(uuidString: token))
        let again = try admin.post(node.base + "/boxes/createconnection", json: #"{"name":"peer"}"#)
        XCTAssertEqual(again.status, 201)
        XCTAssertEqual(try again.object()["id"] as? Int, id)
        XCTAssertEqual(try admin.post(node.base + "/boxes/createconnection", json: #"{"value":"old style"}"#).status, 201)

        let remote = "http://127.0.0.1:9/api/transactions/\(UUID().uuidString.lowercased())"
        let connect = try admin.post(node.base + "/boxes/connect", json: #"{"name":"remote","baseUrl":"\#(remote)"}"#)
        XCTAssertEqual(connect.status, 201, connect.text)
        let pushBox = try connect.object()
        XCTAssertEqual(pushBox["sendMethod"] as? String, "PUSH")
        XCTAssertEqual(pushBox["online"] as? Bool, false)
        let profile = (pushBox["profile"] as? [String: Any])?["options"] as? [[String: Any]]
        XCTAssertEqual(profile?.map { $0["name"] as? String }, ["BASIC_PROFILE"])
        let connectAgain = try admin.post(node.base + "/boxes/connect", json: #"{"name":"remote","baseUrl":"\#(remote)"}"#)
        XCTAssertEqual(try connectAgain.object()["id"] as? Int, pushBox["id"] as? Int)
        // Same name, other URL; a POLL box's name; a PUSH box's name for a new connection.
        XCTAssertEqual(try admin.post(node.base + "/boxes/connect", json: #"{"name":"remote","baseUrl":"http://127.0.0.1:9/api/transactions/\#(UUID())"}"#).status, 400)
        XCTAssertEqual(try admin.post(node.base + "/boxes/connect", json: #"{"name":"peer","baseUrl":"\#(remote)"}"#).status, 400)
        XCTAssertEqual(try admin.post(node.base + "/boxes/createconnection", json: #"{"name":"remote"}"#).status, 400)
        // Bad URLs: no UUID token, not a URL, not http(s), unknown profile option.
        XCTAssertEqual(try admin.post(node.base + "/boxes/connect", json: #"{"name":"x","baseUrl":"http://127.0.0.1:9/api/transactions/abc"}"#).status, 400)
        XCTAssertEqual(try admin.post(node.base + "/boxes/connect", json: #"{"name":"x","baseUrl":"not a url"}"#).status, 400)
        XCTAssertEqual(try admin.post(node.base + "/boxes/connect", json: #"{"name":"x","baseUrl":"ftp://h/\#(UUID())"}"#).status, 400)
        XCTAssertEqual(try admin.post(node.base + "/boxes/connect",
                                      json: #"{"name":"x","baseUrl":"\#(remote)","defaultProfile":{"options":[{"name":"NO_SUCH"}]}}"#).status, 400)
        XCTAssertEqual(try admin.post(node.base + "/boxes/createconnection", json: #"{"name":"  "}"#).status, 400)

        // Roles: a user lists and sends, only an administrator connects and removes.
        XCTAssertEqual(try admin.post(node.base + "/users", json: #"{"user":"ann","password":"pw","role":"USER"}"#).status, 201)
        let ann = Curl(auth: ["-u", "ann:pw"])
        XCTAssertEqual(try ann.post(node.base + "/boxes/createconnection", json: #"{"name":"z"}"#).status, 403)
        XCTAssertEqual(try ann.post(node.base + "/boxes/connect", json: #"{"name":"z","baseUrl":"\#(remote)"}"#).status, 403)
        XCTAssertEqual(try ann.delete(node.base + "/boxes/\(id)").status, 403)
        XCTAssertEqual(try ann.get(node.base + "/boxes").array().count, 3)
        XCTAssertEqual(try ann.post(node.base + "/boxes/\(id)/send", json: #"{"imageTagValuesSet":[]}"#).status, 204)
        XCTAssertEqual(try Curl(auth: []).get(node.base + "/boxes").status, 401)

        // Boxes are sources and destinations.
        let sources = try admin.get(node.base + "/sources").array()
        XCTAssertEqual(sources.filter { $0["sourceType"] as? String == "box" }.compactMap { $0["sourceName"] as? String }.sorted(), ["old style", "peer", "remote"])
        let destinations = try admin.get(node.base + "/destinations").array()
        XCTAssertTrue(destinations.contains { $0["destinationType"] as? String == "box" && $0["destinationId"] as? Int == id })
        XCTAssertEqual(try admin.get(node.base + "/boxes?startindex=1&count=1").array().count, 1)
        XCTAssertEqual(try admin.get(node.base + "/boxes?count=-1").status, 400)

        XCTAssertEqual(try admin.delete(node.base + "/boxes/\(id)").status, 204)
        XCTAssertEqual(try admin.delete(node.base + "/boxes/424242").status, 204)
        XCTAssertEqual(try admin.get(node.base + "/boxes/\(id)").status, 404)
        XCTAssertEqual(try peer.get(url + "/outgoing/poll").status, 401, "a removed box's token no longer works")
    }

    func testBoxURLOfANodeWhosePortIsPickedAtStart() throws {
        let picked = try TestNode { $0.logLevel = "warning" }  // http.port 0
        defer { picked.stop() }
        let r = try admin.post(picked.base + "/boxes/createconnection", json: #"{"name":"peer"}"#)
        XCTAssertEqual(r.status, 201, r.text)
        let url = try XCTUnwrap(try r.object()["baseUrl"] as? String)
        XCTAssertTrue(url.hasPrefix(picked.base + "/transactions/"), url)
        XCTAssertEqual(try peer.get(url + "/outgoing/poll").status, 404, "the URL reaches the node")
    }

    func testSendIsValidated() throws {
        let image = try upload("CT_small.dcm")
        let (id, _, _) = try pollBox()
        XCTAssertEqual(try send(424242, [image]).status, 404)
        XCTAssertEqual(try send(id, []).status, 204)
        XCTAssertEqual(try outgoing().count, 0, "an empty send makes no transaction")
        XCTAssertEqual(try send(id, [image, 999_999]).status, 404)
        XCTAssertEqual(try outgoing().count, 0, "nothing is queued when an image is unknown")
        XCTAssertEqual(try admin.post(node.base + "/boxes/\(id)/send", json: #"{"imageTagValuesSet":[{"imageId":\#(image),"tagValues":[{"tagPath":{"tag":"x"},"value":"v"}]}]}"#).status, 400)
        XCTAssertEqual(try admin.post(node.base + "/boxes/\(id)/send", json: #"{"profile":{"options":[{"name":"CLEAN_PIXEL_DATA"}]},"imageTagValuesSet":[{"imageId":\#(image)}]}"#).status, 400)
        XCTAssertEqual(try send(id, [image, image]).status, 204)
        let t = try XCTUnwrap(try outgoing().first)
        XCTAssertEqual(t["totalImageCount"] as? Int, 1, "an image listed twice is sent once")
        XCTAssertEqual(t["status"] as? String, "WAITING")
        XCTAssertEqual(t["sentImageCount"] as? Int, 0)
    }

    // MARK: the other node polls

    func testPollFetchDoneFailedRetry() throws {
        let ct = try upload("CT_small.dcm"), mr = try upload("MR_small.dcm")
        let (box, url, token) = try pollBox()
        XCTAssertEqual(try peer.get(url + "/outgoing/poll").status, 404, "nothing to send yet")
        XCTAssertEqual(try send(box, [ct, mr], forcing: "BOX^FORCED").status, 204)

        // A wrong token is refused everywhere.
        let bad = node.base + "/transactions/\(UUID().uuidString.lowercased())"
        XCTAssertEqual(try peer.get(bad + "/outgoing/poll").status, 401)
        XCTAssertEqual(try peer.get(bad + "/outgoing?transactionid=1&imageid=1").status, 401)
        XCTAssertEqual(try peer.post(bad + "/outgoing/done", json: "{}").status, 401)
        XCTAssertEqual(try peer.post(bad + "/outgoing/failed", json: "{}").status, 401)
        XCTAssertEqual(try peer.get(bad + "/status?transactionid=1").status, 401)
        XCTAssertEqual(try peer.call("POST", bad + "/image?transactionid=1&sequencenumber=1&totalimagecount=1", ["--data-binary", "x"]).status, 401)

        // A fresh poll: oldest image first, nothing sent, WAITING until now.
        let first = try peer.get(url + "/outgoing/poll")
        XCTAssertEqual(first.status, 200, first.text)
        let items = try first.array()
        XCTAssertEqual(items.count, 1)
        let t = try XCTUnwrap(items[0]["transaction"] as? [String: Any]), i1 = try XCTUnwrap(items[0]["image"] as? [String: Any])
        XCTAssertEqual(t["sentImageCount"] as? Int, 0)
        XCTAssertEqual(t["totalImageCount"] as? Int, 2)
        XCTAssertEqual(t["status"] as? String, "WAITING")
        XCTAssertEqual(i1["sequenceNumber"] as? Int, 1)
        XCTAssertEqual(i1["imageId"] as? Int, ct)
        XCTAssertEqual(try outgoing().first?["status"] as? String, "PROCESSING")
        let both = try peer.get(url + "/outgoing/poll?n=5").array()
        XCTAssertEqual(both.count, 2, "unacknowledged images stay offered")
        XCTAssertEqual(try peer.get(url + "/outgoing/poll?n=0").status, 400)

        // The image: gzip when asked for, else a zlib stream without Content-Encoding (Slicebox).
        let tid = try XCTUnwrap(t["id"] as? Int), iid = try XCTUnwrap(i1["id"] as? Int)
        let gz = try peer.get(url + "/outgoing?transactionid=\(tid)&imageid=\(iid)", ["-H", "Accept-Encoding: gzip"])
        XCTAssertEqual(gz.status, 200)
        XCTAssertTrue(gz.headers.lowercased().contains("content-encoding: gzip"), gz.headers)
        let dicom = try Self.inflate([UInt8](gz.body), .gzip)
        let plain = try peer.get(url + "/outgoing?transactionid=\(tid)&imageid=\(iid)")
        XCTAssertFalse(plain.headers.lowercased().contains("content-encoding"), plain.headers)
        XCTAssertEqual(plain.body.first, 0x78, "a zlib header")
        XCTAssertEqual(try Self.inflate([UInt8](plain.body), .zlib), dicom, "the same anonymized copy both ways")
        let ds = try DicomFile.read(bytes: dicom).dataSet
        XCTAssertEqual(ds.string(.patientName), "BOX^FORCED")
        XCTAssertEqual(ds.string(Tag(0x0012_0062)), "YES")
        let original = try DicomFile.read(path: try pydicomFile("CT_small.dcm")).dataSet
        XCTAssertNotEqual(ds.string(.sopInstanceUID), original.string(.sopInstanceUID))
        XCTAssertNotEqual(ds.string(.patientID), original.string(.patientID))
        XCTAssertEqual(try peer.get(url + "/outgoing?transactionid=\(tid)&imageid=424242").status, 404)

        // done: sent; the poll offers the other image only.
        XCTAssertEqual(try peer.post(url + "/outgoing/done", json: String(decoding: try JSONSerialization.data(withJSONObject: items[0]), as: UTF8.self)).status, 204)
        let rest = try peer.get(url + "/outgoing/poll?n=5").array()
        XCTAssertEqual(rest.count, 1)
        XCTAssertEqual((rest[0]["image"] as? [String: Any])?["sequenceNumber"] as? Int, 2)
        XCTAssertEqual(try peer.get(url + "/outgoing?transactionid=\(tid)&imageid=\(iid)").status, 404, "a sent image is no longer offered")
        XCTAssertEqual(try outgoing().first?["sentImageCount"] as? Int, 1)

        // failed: the transaction is FAILED, the image refused, nothing left to poll.
        let failed = #"{"transactionImage":\#(String(decoding: try JSONSerialization.data(withJSONObject: rest[0]), as: UTF8.self)),"message":"cannot store it"}"#
        XCTAssertEqual(try peer.post(url + "/outgoing/failed", json: failed).status, 204)
        XCTAssertEqual(try peer.get(url + "/outgoing/poll").status, 404)
        var tx = try XCTUnwrap(try outgoing().first)
        XCTAssertEqual(tx["status"] as? String, "FAILED")
        XCTAssertEqual(tx["failedImageCount"] as? Int, 1)
        XCTAssertTrue((tx["lastError"] as? String ?? "").contains("cannot store it"))
        let states = try admin.get(node.base + "/boxes/outgoing/\(tid)/outgoingimages").array()
        XCTAssertEqual(states.map { $0["status"] as? String }, ["sent", "failed"])

        // retry: offered again; done → FINISHED.
        XCTAssertEqual(try admin.post(node.base + "/boxes/outgoing/\(tid)/retry", json: "").status, 204)
        XCTAssertEqual(try admin.post(node.base + "/boxes/outgoing/424242/retry", json: "").status, 404)
        let again = try peer.get(url + "/outgoing/poll").array()
        XCTAssertEqual(again.count, 1)
        XCTAssertEqual(try peer.post(url + "/outgoing/done", json: String(decoding: try JSONSerialization.data(withJSONObject: again[0]), as: UTF8.self)).status, 204)
        tx = try XCTUnwrap(try outgoing().first)
        XCTAssertEqual(tx["status"] as? String, "FINISHED")
        XCTAssertEqual(tx["sentImageCount"] as? Int, 2)
        XCTAssertEqual(try admin.get(node.base + "/boxes/outgoing/\(tid)/images").array().compactMap { $0["id"] as? Int }.sorted(), [ct, mr].sorted())
        XCTAssertEqual(try admin.get(node.base + "/boxes/outgoing/424242/images").status, 404)
        // The box was polled just now: online.
        XCTAssertEqual(try admin.get(node.base + "/boxes/\(box)").object()["online"] as? Bool, true)

        // The token is a secret: the request lines logged for the 404s and 401s do not show it.
        node.node.log.flush()
        let lines = try admin.get(node.base + "/log?subject=http&count=10000").array().compactMap { $0["message"] as? String }
        XCTAssertTrue(lines.contains { $0.contains("/api/transactions/{token}/outgoing") }, "\(lines.prefix(5))")
        XCTAssertFalse(lines.contains { $0.contains(token) })
    }

    func testOldestTransactionFirstAndDeletionsStopSending() throws {
        let ct = try upload("CT_small.dcm"), mr = try upload("MR_small.dcm"), rt = try upload("rtplan.dcm")
        let (box, url, _) = try pollBox()
        XCTAssertEqual(try send(box, [mr]).status, 204)
        XCTAssertEqual(try send(box, [ct, rt]).status, 204)
        let txs = try outgoing()
        XCTAssertEqual(txs.count, 2)
        let older = try XCTUnwrap(txs.map { $0["id"] as? Int ?? 0 }.min()), newer = try XCTUnwrap(txs.map { $0["id"] as? Int ?? 0 }.max())
        let first = try peer.get(url + "/outgoing/poll").array()
        XCTAssertEqual((first[0]["transaction"] as? [String: Any])?["id"] as? Int, older)

        // A deleted image leaves the transaction it was waiting in.
        XCTAssertEqual(try admin.delete(node.base + "/images/\(ct)").status, 204)
        XCTAssertTrue(waitUntil(10) { (try? self.admin.get(self.node.base + "/boxes/outgoing/\(newer)").object()["totalImageCount"] as? Int) == 1 })
        let offered = try peer.get(url + "/outgoing/poll?n=10").array().map { ($0["image"] as? [String: Any])?["imageId"] as? Int }
        XCTAssertEqual(offered, [mr, rt])

        // A deleted transaction is no longer offered; its images are not fetchable.
        let rtItem = try XCTUnwrap(try peer.get(url + "/outgoing/poll?n=10").array().last)
        let rtImage = try XCTUnwrap(rtItem["image"] as? [String: Any])
        XCTAssertEqual(try admin.delete(node.base + "/boxes/outgoing/\(newer)").status, 204)
        XCTAssertEqual(try admin.get(node.base + "/boxes/outgoing/\(newer)").status, 404)
        XCTAssertEqual(try peer.get(url + "/outgoing?transactionid=\(newer)&imageid=\(rtImage["id"] as? Int ?? -1)").status, 404)
        XCTAssertEqual(try peer.get(url + "/outgoing/poll?n=10").array().count, 1)
        // done for an image of a deleted transaction is accepted and changes nothing.
        XCTAssertEqual(try peer.post(url + "/outgoing/done", json: String(decoding: try JSONSerialization.data(withJSONObject: rtItem), as: UTF8.self)).status, 204)
        XCTAssertEqual(try outgoing().count, 1)
        // A new transaction never takes a deleted one's id (the other node keys what it received by it).
        XCTAssertEqual(try send(box, [rt]).status, 204)
        XCTAssertGreaterThan(try outgoing().compactMap { $0["id"] as? Int }.max() ?? 0, newer)

        // Removing the box removes its transactions.
        XCTAssertEqual(try admin.delete(node.base + "/boxes/\(box)").status, 204)
        XCTAssertEqual(try outgoing().count, 0)
    }

    // MARK: the other node pushes

    func testPushedImagesAreStoredOnceAndRefusalsCount() throws {
        let (box, url, _) = try pollBox()
        let ct = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try pydicomFile("CT_small.dcm"))))
        let mr = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try pydicomFile("MR_small.dcm"))))
        func push(_ seq: Int, _ body: [UInt8], _ headers: [String] = [], total: Int = 3, transaction: Int = 7) throws -> Curl.Reply {
            try peer.call("POST", url + "/image?transactionid=\(transaction)&sequencenumber=\(seq)&totalimagecount=\(total)",
                          ["-H", "Content-Type: application/octet-stream"] + headers + ["--data-binary", "@" + (try file(body))])
        }
        let gz = try push(1, try Self.compress(ct, .gzip), ["-H", "Content-Encoding: gzip"])
        XCTAssertEqual(gz.status, 204, gz.text)
        var t = try XCTUnwrap(try incoming().first)
        XCTAssertEqual(t["receivedImageCount"] as? Int, 1)
        XCTAssertEqual(t["totalImageCount"] as? Int, 3)
        XCTAssertEqual(t["status"] as? String, "PROCESSING")
        XCTAssertEqual(t["outgoingTransactionId"] as? Int, 7)
        XCTAssertEqual(t["boxId"] as? Int, box)
        // The same image again (its answer was lost): acknowledged, not counted twice.
        XCTAssertEqual(try push(1, try Self.compress(ct, .gzip), ["-H", "Content-Encoding: gzip"]).status, 204)
        XCTAssertEqual(try incoming().first?["receivedImageCount"] as? Int, 1)
        // A zlib stream without Content-Encoding, as Slicebox pushes.
        XCTAssertEqual(try push(2, try Self.compress(mr, .zlib)).status, 204)
        // Not DICOM: 400, counted as refused, the transaction FAILED.
        XCTAssertEqual(try push(3, Array("not dicom at all".utf8)).status, 400)
        t = try XCTUnwrap(try incoming().first)
        XCTAssertEqual([t["receivedImageCount"], t["rejectedImageCount"], t["addedImageCount"]].map { $0 as? Int }, [2, 1, 2])
        XCTAssertEqual(t["status"] as? String, "FAILED")
        XCTAssertEqual(try push(3, ct, ["-H", "Content-Encoding: br"]).status, 415)
        XCTAssertEqual(try push(3, ct, total: 2).status, 400, "a sequence number past the total")
        XCTAssertEqual(try push(3, try Self.compress(ct, .gzip).dropLast(12).map { $0 }, ["-H", "Content-Encoding: gzip"]).status, 400, "a truncated gzip body")

        // The images are stored, from the box.
        let tid = try XCTUnwrap(t["id"] as? Int)
        let images = try admin.get(node.base + "/boxes/incoming/\(tid)/images").array()
        XCTAssertEqual(images.count, 2)
        let series = try XCTUnwrap(images.first?["seriesId"] as? Int)
        let source = try admin.get(node.base + "/metadata/series/\(series)/source").object()
        XCTAssertEqual(source["sourceType"] as? String, "box")
        XCTAssertEqual(source["sourceName"] as? String, "peer")
        XCTAssertEqual(try admin.get(node.base + "/boxes/incoming/424242/images").status, 404)

        // Status as the sender sees it, and set by it.
        XCTAssertEqual(try peer.get(url + "/status?transactionid=7").text, "FAILED")
        XCTAssertEqual(try peer.get(url + "/status?transactionid=8").status, 404)
        XCTAssertEqual(try peer.put(url + "/status?transactionid=7", json: #""UNKNOWN""#).status, 400)
        XCTAssertEqual(try peer.put(url + "/status?transactionid=8", json: #""FINISHED""#).status, 404)
        XCTAssertEqual(try peer.put(url + "/status?transactionid=7", json: #""FINISHED""#).status, 204)
        XCTAssertEqual(try peer.get(url + "/status?transactionid=7").text, "FINISHED")

        // A deleted incoming transaction: images arriving later start a new one with the rest.
        XCTAssertEqual(try admin.delete(node.base + "/boxes/incoming/\(tid)").status, 204)
        XCTAssertEqual(try incoming().count, 0)
        XCTAssertEqual(try push(3, try Self.compress(ct, .gzip), ["-H", "Content-Encoding: gzip"]).status, 204)
        t = try XCTUnwrap(try incoming().first)
        XCTAssertNotEqual(t["id"] as? Int, tid)
        XCTAssertEqual(t["receivedImageCount"] as? Int, 1)
        XCTAssertEqual(try admin.get(node.base + "/metadata/patients").array().count, 2, "CT and MR patients, each once")
    }

    // MARK: forwarding

    func testForwardingRuleToABoxDeletesOnlyWhatTheOtherNodeHas() throws {
        let receiver = try Self.makeNode()
        defer { receiver.stop() }
        receiver.node.forwarding.settings.idleSeconds = 0.3
        node.node.forwarding.settings.idleSeconds = 0.3
        let url = try XCTUnwrap(try admin.post(receiver.base + "/boxes/createconnection", json: #"{"name":"sender"}"#).object()["baseUrl"] as? String)
        let box = try XCTUnwrap(try admin.post(node.base + "/boxes/connect", json: #"{"name":"receiver","baseUrl":"\#(url)"}"#).object()["id"] as? Int)
        let rule = try admin.post(node.base + "/forwarding/rules", json: """
            {"source":{"sourceType":"user","sourceName":"admin","sourceId":1},
             "destination":{"destinationType":"box","destinationName":"receiver","destinationId":\(box)},"keepImages":false}
            """)
        XCTAssertEqual(rule.status, 201, rule.text)
        XCTAssertEqual(try (rule.object()["destination"] as? [String: Any])?["destinationName"] as? String, "receiver")
        _ = try upload("CT_small.dcm")
        _ = try upload("MR_small.dcm")
        // Forwarded through the box, then deleted here (keepImages false) once the other node has them.
        XCTAssertTrue(waitUntil(60) {
            (try? self.admin.get(self.node.base + "/forwarding/transactions?status=delivered").array().count) == 2
                && (try? self.admin.get(self.node.base + "/metadata/patients").array().count) == 0
        }, "forwarding: \(String(describing: try? admin.get(node.base + "/forwarding/transactions").text))")
        let received = try admin.get(receiver.base + "/boxes/incoming").array()
        XCTAssertEqual(received.map { $0["receivedImageCount"] as? Int }, [1, 1])
        XCTAssertEqual(try admin.get(receiver.base + "/metadata/patients").array().count, 2)
        let sent = try outgoing()
        XCTAssertEqual(sent.count, 2)
        XCTAssertTrue(sent.allSatisfy { $0["status"] as? String == "FINISHED" })
        // Removing the box removes the rule that forwards to it.
        XCTAssertEqual(try admin.delete(node.base + "/boxes/\(box)").status, 204)
        XCTAssertEqual(try admin.get(node.base + "/forwarding/rules").array().count, 0)
    }

    // MARK: HTTPS

    func testPushingZlibBodiesAsToASlicebox() throws {
        let receiver = try Self.makeNode()
        defer { receiver.stop() }
        let sender = try TestNode {
            $0.logLevel = "warning"
            $0.boxes.pushIntervalSeconds = 0.2
            $0.boxes.pushEncoding = "zlib"
        }
        defer { sender.stop() }
        let url = try XCTUnwrap(try admin.post(receiver.base + "/boxes/createconnection", json: #"{"name":"sender"}"#).object()["baseUrl"] as? String)
        let box = try XCTUnwrap(try admin.post(sender.base + "/boxes/connect", json: #"{"name":"receiver","baseUrl":"\#(url)"}"#).object()["id"] as? Int)
        let images = try ["CT_small.dcm", "MR_small.dcm"].map { try XCTUnwrap(try admin.upload(sender.base + "/images", file: try pydicomFile($0)).object()["id"] as? Int) }
        XCTAssertEqual(try admin.post(sender.base + "/boxes/\(box)/send", json: #"{"imageTagValuesSet":[\#(images.map { #"{"imageId":\#($0)}"# }.joined(separator: ","))]}"#).status, 204)
        XCTAssertTrue(waitUntil(30) { (try? self.admin.get(receiver.base + "/boxes/incoming").array().first?["receivedImageCount"] as? Int) == 2 })
        XCTAssertEqual(try admin.get(receiver.base + "/metadata/patients").array().count, 2)
    }

    func testPushAndPollOverHTTPS() throws {
        let dir = PeerTools.temporaryDirectory("box-tls")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PeerTools.requireTool("/usr/bin/openssl")
        let (s, _, e) = try PeerTools.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem",
                                                                "-out", dir + "/cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
                                                                "-addext", "subjectAltName=IP:127.0.0.1"])
        XCTAssertEqual(s, 0, e)
        let port = try PeerTools.freePort()
        let secure = try TestNode {
            $0.logLevel = "warning"
            $0.http.port = Int(port)
            $0.http.tlsCertificate = dir + "/cert.pem"
            $0.http.tlsKey = dir + "/key.pem"
        }
        defer { secure.stop() }
        let sender = try TestNode {
            $0.logLevel = "warning"
            $0.boxes.pushIntervalSeconds = 0.2
            $0.boxes.pollIntervalSeconds = 0.2
            $0.boxes.trustedCertificates = dir + "/cert.pem"
        }
        defer { sender.stop() }
        let https = Curl(auth: ["-u", "admin:admin", "--cacert", dir + "/cert.pem"])
        let base = "https://127.0.0.1:\(port)/api"
        let url = try XCTUnwrap(try https.post(base + "/boxes/createconnection", json: #"{"name":"sender"}"#).object()["baseUrl"] as? String)
        XCTAssertTrue(url.hasPrefix("https://127.0.0.1:\(port)/api/transactions/"), url)
        let box = try XCTUnwrap(try admin.post(sender.base + "/boxes/connect", json: #"{"name":"secure","baseUrl":"\#(url)"}"#).object()["id"] as? Int)
        let image = try XCTUnwrap(try admin.upload(sender.base + "/images", file: try pydicomFile("CT_small.dcm")).object()["id"] as? Int)
        XCTAssertEqual(try admin.post(sender.base + "/boxes/\(box)/send", json: #"{"imageTagValuesSet":[{"imageId":\#(image)}]}"#).status, 204)
        XCTAssertTrue(waitUntil(30) { (try? https.get(base + "/boxes/incoming").array().first?["status"] as? String) == "FINISHED" },
                      "push over https: \(String(describing: try? admin.get(sender.base + "/boxes/\(box)").text))")
        // And back, polled over https.
        let pollBox = try XCTUnwrap(try https.get(base + "/boxes").array().first?["id"] as? Int)
        let received = try XCTUnwrap(try https.get(base + "/boxes/incoming/1/images").array().first?["id"] as? Int)
        XCTAssertEqual(try https.post(base + "/boxes/\(pollBox)/send", json: #"{"imageTagValuesSet":[{"imageId":\#(received)}]}"#).status, 204)
        XCTAssertTrue(waitUntil(30) { (try? self.admin.get(sender.base + "/boxes/incoming").array().first?["status"] as? String) == "FINISHED" })
    }
}
