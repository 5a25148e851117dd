import XCTest
import Foundation
import Codec
import Node
import TestPeers

/// Box-to-box transfer between two real `dicomnode serve` processes on loopback (issue 7):
/// B creates the connection (POLL box "A"), A connects with B's URL (PUSH box "B"). A pushes a
/// 200-image study to B: B is killed -9 mid-way and started again, then A is. Then B sends its
/// own 200-image study, which A polls: A is killed -9 mid-way and started again, then B is. Each
/// direction must end with exactly 200 images received, anonymized as configured, byte-identical
/// to a local anonymization of the same inputs on the sender.
final class BoxTransferTests: XCTestCase {
    var folder = ""
    var nodes: [ServeNode] = []

    override func setUpWithError() throws {
        folder = PeerTools.temporaryDirectory("boxes")
        try PeerTools.requireTool("/usr/bin/storescu")
        _ = try ServeNode.binary()
    }

    override func tearDown() {
        for n in nodes { n.kill9() }
        if ProcessInfo.processInfo.environment["KEEP_NODE_TEST_FOLDERS"] == nil { try? FileManager.default.removeItem(atPath: folder) }
    }

    /// Short intervals so a test moves quickly; small batches so a kill lands mid-way.
    nonisolated(unsafe) static let config: [String: Any] = [
        "logLevel": "info",
        "boxes": ["pushIntervalSeconds": 0.2, "pollIntervalSeconds": 0.2, "idleSeconds": 3, "onlineSeconds": 3, "batchSize": 40,
                  "parallelism": 4, "connectTimeoutSeconds": 2, "requestTimeoutSeconds": 30],
    ]

    func testPushAndPollSurviveKillsOfEitherSideMidway() throws {
        let a = try ServeNode(name: "a", folder: folder, config: Self.config)
        let b = try ServeNode(name: "b", folder: folder, config: Self.config)
        nodes = [a, b]
        try generateSmallInstances(folder + "/src-a", count: 200, seed: "boxpush", perSeries: 50)
        try generateSmallInstances(folder + "/src-b", count: 200, seed: "boxpoll", perSeries: 50)
        try a.start()
        try b.start()
        try a.storescu(folder + "/src-a")
        try b.storescu(folder + "/src-b")
        let aImages = try a.imageIds(), bImages = try b.imageIds()
        XCTAssertEqual(aImages.count, 200)
        XCTAssertEqual(bImages.count, 200)

        // Pairing: B is reachable and makes the URL; A connects with it.
        let admin = Curl()
        let poll = try admin.post(b.base + "/boxes/createconnection", json: #"{"name":"A","defaultProfile":{"options":[]}}"#)
        XCTAssertEqual(poll.status, 201, poll.text)
        let pollBox = try poll.object()
        let url = try XCTUnwrap(pollBox["baseUrl"] as? String)
        XCTAssertTrue(url.hasPrefix(b.base + "/transactions/"), url)
        let push = try admin.post(a.base + "/boxes/connect", json: """
            {"name":"B","baseUrl":"\(url)","defaultProfile":{"options":[{"name":"RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION"}]}}
            """)
        XCTAssertEqual(push.status, 201, push.text)
        let pushBoxId = try XCTUnwrap(try push.object()["id"] as? Int)
        let pollBoxId = try XCTUnwrap(pollBox["id"] as? Int)
        XCTAssertTrue(waitUntil(10) { (try? admin.get(a.base + "/boxes/\(pushBoxId)").object()["online"] as? Bool) == true }, "A never reached B")

        // Push A → B: the box's profile (Basic + retain temporal information) and a forced name.
        let pushBody = Self.sendBody(aImages, tag: 0x0010_0010, value: "BOX^PUSH", profile: nil)
        XCTAssertEqual(try admin.post(a.base + "/boxes/\(pushBoxId)/send", json: pushBody).status, 204)
        let atKill = try killMidway(receiver: b, sender: a, after: 40)
        try b.start()
        // Then the sender, once the transfer is under way again.
        let atSenderKill = try killMidway(receiver: b, sender: a, after: atKill + 30, killing: a)
        try a.start()
        try waitForCompletion(sender: a, receiver: b, count: 200)
        print("push: B was killed with \(atKill), A with \(atSenderKill) of 200 images received")

        // Poll B → A: this send's own profile (Basic + retain UIDs) and a forced patient ID.
        let pollBody = Self.sendBody(bImages, tag: 0x0010_0020, value: "POLL-ID", profile: "RETAIN_UIDS")
        XCTAssertEqual(try admin.post(b.base + "/boxes/\(pollBoxId)/send", json: pollBody).status, 204)
        let atKill2 = try killMidway(receiver: a, sender: b, after: 40)
        try a.start()
        let atSenderKill2 = try killMidway(receiver: a, sender: b, after: atKill2 + 30, killing: b)
        try b.start()
        try waitForCompletion(sender: b, receiver: a, count: 200)
        print("poll: A was killed with \(atKill2), B with \(atSenderKill2) of 200 images received")

        let logs = (1...a.starts).map { (try? String(contentsOfFile: "\(folder)/a-\($0).log", encoding: .utf8)) ?? "" }
            + (1...b.starts).map { (try? String(contentsOfFile: "\(folder)/b-\($0).log", encoding: .utf8)) ?? "" }
        let resent = logs.map { $0.components(separatedBy: "received again").count - 1 }.reduce(0, +)
        let reoffered = logs.map { $0.components(separatedBy: "offered again").count - 1 }.reduce(0, +)
        print("resends recognised: \(resent) pushed, \(reoffered) polled")
        XCTAssertFalse(a.log.contains(" error "), a.log)
        XCTAssertFalse(b.log.contains(" error "), b.log)
        a.stop()
        b.stop()

        // Exactly 200 received each way, one anonymization key per image sent, anonymized as
        // configured, byte-identical to the sender's own anonymization of the same images.
        let nodeA = try Self.open(a), nodeB = try Self.open(b)
        try verify(sender: nodeA, sentIds: aImages, receiver: nodeB, profile: try AnonymizationProfile(names: ["RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION"]),
                   forced: (Tag(0x0010_0010), "BOX^PUSH"), retainsUIDs: false)
        try verify(sender: nodeB, sentIds: bImages, receiver: nodeA, profile: try AnonymizationProfile(names: ["RETAIN_UIDS"]),
                   forced: (Tag(0x0010_0020), "POLL-ID"), retainsUIDs: true)
    }

    static func sendBody(_ ids: [Int64], tag: UInt32, value: String, profile: String?) -> String {
        let images = ids.map { #"{"imageId":\#($0),"tagValues":[{"tagPath":{"tag":\#(tag)},"value":"\#(value)"}]}"# }.joined(separator: ",")
        let p = profile.map { #""profile":{"options":[{"name":"\#($0)"}]},"# } ?? ""
        return "{\(p)\"imageTagValuesSet\":[\(images)]}"
    }

    /// The images the receiver has of its one incoming transaction (0 while it is down).
    func received(_ node: ServeNode) -> Int {
        guard let list = try? Curl().get(node.base + "/boxes/incoming").array(), let t = list.first else { return 0 }
        return t["receivedImageCount"] as? Int ?? 0
    }

    /// Waits until the receiver has at least `after` images but not all, then kills `killing`
    /// (the receiver by default) -9 and lets the other side run into the dead node for a moment.
    /// Returns the count at the kill.
    func killMidway(receiver: ServeNode, sender: ServeNode, after: Int, killing: ServeNode? = nil) throws -> Int {
        XCTAssertTrue(waitUntil(120) { received(receiver) >= after }, "no images arrived; sender log:\n\(sender.log.suffix(3000))")
        let n = received(receiver)
        (killing ?? receiver).kill9()
        XCTAssertGreaterThan(n, 0)
        XCTAssertLessThan(n, 200, "the transfer finished before the kill: nothing was tested")
        usleep(1_000_000)
        return n
    }

    /// Both sides report the transaction complete with `count` images.
    func waitForCompletion(sender: ServeNode, receiver: ServeNode, count: Int) throws {
        let done = waitUntil(240) {
            guard let out = try? Curl().get(sender.base + "/boxes/outgoing").array().first,
                  let inc = try? Curl().get(receiver.base + "/boxes/incoming").array().first else { return false }
            return out["status"] as? String == "FINISHED" && out["sentImageCount"] as? Int == count
                && inc["status"] as? String == "FINISHED" && inc["receivedImageCount"] as? Int == count
        }
        XCTAssertTrue(done, "not complete: sender \(String(describing: try? Curl().get(sender.base + "/boxes/outgoing").text)) receiver \(String(describing: try? Curl().get(receiver.base + "/boxes/incoming").text))\nsender log:\n\(sender.log.suffix(4000))\nreceiver log:\n\(receiver.log.suffix(4000))")
        let incoming = try Curl().get(receiver.base + "/boxes/incoming").array()
        XCTAssertEqual(incoming.count, 1, "one incoming transaction, not one per restart")
        let images = try Curl().get(receiver.base + "/boxes/incoming/\(incoming[0]["id"] as? Int ?? -1)/images?count=1000").array()
        XCTAssertEqual(images.count, count)
    }

    /// The node's folder opened in this process (the process is stopped).
    static func open(_ node: ServeNode) throws -> NodeServer {
        var c = NodeConfig()
        c.dataFolder = node.dataFolder
        c.dicom.port = 0
        c.logLevel = "error"
        return try NodeServer(config: c)
    }

    func verify(sender: NodeServer, sentIds: [Int64], receiver: NodeServer, profile: AnonymizationProfile,
                forced: (Tag, String), retainsUIDs: Bool) throws {
        // Received: exactly the 200 sent, each instance once, each sequence number once.
        let boxImages = try receiver.index.db.read { try $0.scalar("SELECT COUNT(*) FROM images WHERE source_type='box'") }
        XCTAssertEqual(boxImages, 200)
        let sequences = try receiver.index.db.read { try $0.scalar("SELECT COUNT(DISTINCT sequence_number) FROM box_incoming_images WHERE outcome <> 'rejected'") }
        XCTAssertEqual(sequences, 200)
        // One anonymous identity per image on the sender, whatever was resent: each image was
        // anonymized once (a kill between a key's commit and its spool file's rename makes the
        // next start anonymize that image again, which harmonization maps to the same identity).
        let keys = try sender.index.db.read { try $0.query("""
            SELECT COUNT(*), COUNT(DISTINCT sop_instance_uid), COUNT(DISTINCT anon_sop_instance_uid),
                   COUNT(DISTINCT sop_instance_uid || '|' || anon_sop_instance_uid || '|' || anon_patient_id) FROM anonymization_keys
            """).first?.map { $0.int ?? -1 } ?? [] }
        XCTAssertEqual(Array(keys.dropFirst()), [200, 200, 200], "keys: \(keys)")
        XCTAssertLessThanOrEqual(keys.first ?? 0, 202, "at most one extra key per kill of the sender")
        // Nothing left in the sender's spool.
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: sender.config.dataFolder + "/boxes/outgoing"))?.count, 0)

        var identical = 0
        for id in sentIds {
            let original = try XCTUnwrap(try sender.index.storedImage(id: id))
            let originalFile = try DicomFile.read(path: try XCTUnwrap(sender.store.readablePath(forKey: original.storageKey)))
            // The sender anonymizes the same stored image with the same profile and values again.
            // Its keys make that repeatable: U attributes map through the recorded UIDs, and the
            // image-level key match gives back the same pseudonyms and the same date shift.
            let local = try sender.anonymization.anonymizedCopy(imageId: id, profile: profile, tagValues: [TagValue(tagPath: TagPath(forced.0), value: forced.1)])
            let localFile = try DicomFile.read(bytes: local)
            let sop = try XCTUnwrap(localFile.dataSet.string(.sopInstanceUID))
            let stored = try XCTUnwrap(try receiver.index.storedImage(sopInstanceUID: sop), "the receiver lacks \(sop)")
            XCTAssertEqual(stored.source.type, .box)
            let path = try XCTUnwrap(receiver.store.readablePath(forKey: stored.storageKey))
            let receivedBytes = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: path)))
            if receivedBytes == local { identical += 1 }

            // Anonymized as configured.
            let ds = try DicomFile.read(path: path).dataSet
            XCTAssertEqual(ds.string(Tag(0x0012_0062)), "YES")
            XCTAssertEqual(ds.string(forced.0), forced.1)
            XCTAssertNotEqual(ds.string(.patientName), originalFile.dataSet.string(.patientName))
            if retainsUIDs {
                XCTAssertEqual(ds.string(.sopInstanceUID), originalFile.dataSet.string(.sopInstanceUID))
                XCTAssertNil(ds.string(Tag(0x0008_0020)).flatMap { $0.isEmpty ? nil : $0 }, "Study Date must go without the temporal option")
            } else {
                XCTAssertNotEqual(ds.string(.sopInstanceUID), originalFile.dataSet.string(.sopInstanceUID))
                XCTAssertEqual(ds.string(Tag(0x0008_0020)), "20260101", "Retain Longitudinal Temporal Information keeps Study Date")
            }
        }
        XCTAssertEqual(identical, 200, "received copies byte-identical to a local anonymization")
    }
}
