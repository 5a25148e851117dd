import XCTest
import Foundation
import TestPeers
@testable import RestBridge

/// Directory watches, import sessions and forwarding through the REST routes, on real peers.
final class AutomationRoutesTests: XCTestCase {
    var node: TestNode!
    override func setUpWithError() throws {
        node = try TestNode { $0.logLevel = "warning" }
        node.node.forwarding.settings.idleSeconds = 0.3
    }
    override func tearDown() { node.stop() }

    func waitFor(_ what: String, seconds: Double = 20, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what)")
    }

    func testWatchedFolderImportsADroppedFile() throws {
        let admin = Curl()
        let inbox = PeerTools.temporaryDirectory("inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: inbox) }
        XCTAssertEqual(try admin.post(node.base + "/directorywatches", json: #"{"path":"/no/such/folder"}"#).status, 400)
        let watch = try admin.post(node.base + "/directorywatches", json: #"{"name":"inbox","path":"\#(inbox)"}"#)
        XCTAssertEqual(watch.status, 201, watch.text)
        XCTAssertEqual(try Curl(auth: ["-u", "nobody:x"]).post(node.base + "/directorywatches", json: "{}").status, 401)
        try FileManager.default.copyItem(atPath: try pydicomFile("CT_small.dcm"), toPath: inbox + "/ct.dcm")
        try waitFor("the dropped file to be imported") { try admin.get(node.base + "/metadata/patients").array().count == 1 }
        let watchId = try XCTUnwrap(try watch.object()["id"] as? Int)
        let sources = try admin.get(node.base + "/sources").array()
        XCTAssertTrue(sources.contains { $0["sourceType"] as? String == "directory" && $0["sourceId"] as? Int == watchId })
        let series = try admin.get(node.base + "/metadata/series?studyid=1").array()
        let source = try admin.get(node.base + "/metadata/series/\(try XCTUnwrap(series.first?["id"] as? Int))/source").object()
        XCTAssertEqual(source["sourceType"] as? String, "directory")
        XCTAssertEqual(try admin.delete(node.base + "/directorywatches/\(watchId)").status, 204)
        XCTAssertEqual(try admin.get(node.base + "/directorywatches").array().count, 0)
    }

    func testImportSessionCounters() throws {
        let admin = Curl()
        let session = try admin.post(node.base + "/import/sessions", json: #"{"name":"batch 1"}"#)
        XCTAssertEqual(session.status, 201, session.text)
        let id = try XCTUnwrap(try session.object()["id"] as? Int)
        XCTAssertEqual(try admin.upload(node.base + "/import/sessions/\(id)/images", file: try pydicomFile("CT_small.dcm")).status, 201)
        XCTAssertEqual(try admin.upload(node.base + "/import/sessions/\(id)/images", file: try pydicomFile("CT_small.dcm"), multipart: false).status, 200)
        let jpeg = Curl.folder + "/cat-\(UUID().uuidString).jpg"
        try Data([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0x20, count: 200)).write(to: URL(fileURLWithPath: jpeg))
        defer { unlink(jpeg) }
        XCTAssertEqual(try admin.upload(node.base + "/import/sessions/\(id)/images", file: jpeg).status, 400)
        let counted = try admin.get(node.base + "/import/sessions/\(id)").object()
        XCTAssertEqual([counted["filesImported"], counted["filesAdded"], counted["filesRejected"]].map { $0 as? Int }, [2, 1, 1])
        XCTAssertEqual(try admin.get(node.base + "/import/sessions/\(id)/images").array().count, 1)
        XCTAssertEqual(try admin.upload(node.base + "/import/sessions/424242/images", file: jpeg).status, 404)
        XCTAssertEqual(try admin.delete(node.base + "/import/sessions/\(id)").status, 204)
        XCTAssertEqual(try admin.get(node.base + "/import/sessions/\(id)").status, 404)
    }

    func testForwardingRuleDeliversUploadsToStorescp() throws {
        try PeerTools.requireTool("/usr/bin/storescp")
        let admin = Curl()
        let output = PeerTools.temporaryDirectory("fwd-out")
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let port = try PeerTools.freePort()
        let storescp = try PeerTools.spawn("/usr/bin/storescp", ["-aet", "STORESCP", "+xa", "-od", output, String(port)])
        defer { storescp.terminate(); storescp.waitUntilExit() }
        try PeerTools.waitForPort(port)
        let scu = try admin.post(node.base + "/scus", json: #"{"name":"pacs","aeTitle":"STORESCP","host":"127.0.0.1","port":\#(port)}"#)
        let scuId = try XCTUnwrap(try scu.object()["id"] as? Int)
        XCTAssertEqual(try admin.post(node.base + "/forwarding/rules", json: """
            {"source":{"sourceType":"user","sourceName":"admin","sourceId":1},
             "destination":{"destinationType":"scu","destinationName":"pacs","destinationId":999},"keepImages":true}
            """).status, 404)
        let rule = try admin.post(node.base + "/forwarding/rules", json: """
            {"source":{"sourceType":"user","sourceName":"admin","sourceId":1},
             "destination":{"destinationType":"scu","destinationName":"pacs","destinationId":\(scuId)},"keepImages":true}
            """)
        XCTAssertEqual(rule.status, 201, rule.text)
        XCTAssertEqual(try admin.get(node.base + "/forwarding/rules").array().count, 1)
        for name in ["CT_small.dcm", "MR_small.dcm"] {
            XCTAssertEqual(try admin.upload(node.base + "/images", file: try pydicomFile(name)).status, 201)
        }
        try waitFor("both images at storescp") {
            try admin.get(node.base + "/forwarding/transactions?status=delivered").array().count == 2
        }
        let received = (FileManager.default.enumerator(atPath: output)?.allObjects as? [String] ?? []).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(received.count, 2, "\(received)")
        let t = try admin.get(node.base + "/forwarding/transactions").array()
        XCTAssertEqual(t.map { $0["sentImageCount"] as? Int }, [1, 1])
        XCTAssertEqual(try admin.get(node.base + "/metadata/images?seriesid=1").array().count, 1)  // kept
        let ruleId = try XCTUnwrap(try rule.object()["id"] as? Int)
        XCTAssertEqual(try admin.delete(node.base + "/forwarding/rule/\(ruleId)").status, 204)
        XCTAssertEqual(try admin.get(node.base + "/forwarding/rules").array().count, 0)
    }

    func testSeriesTypesTagsAndFiltersThroughREST() throws {
        let admin = Curl()
        // A blacklist on uploads of user 1: StationName goes before storage.
        let filter = try admin.post(node.base + "/filtering/filters", json: #"{"name":"no station","tagFilterType":"BLACKLIST","tags":[{"tag":528400}]}"#)
        XCTAssertEqual(filter.status, 201, filter.text)
        let filterId = try XCTUnwrap(try filter.object()["id"] as? Int)
        XCTAssertEqual(try admin.post(node.base + "/filtering/associations", json: #"{"sourceType":"user","sourceId":1,"tagFilterId":\#(filterId)}"#).status, 201)
        XCTAssertEqual(try admin.get(node.base + "/filtering/filters/\(filterId)/tagpaths").array().first?["name"] as? String, "StationName")
        XCTAssertEqual(try admin.post(node.base + "/filtering/filters", json: #"{"name":"x","tagFilterType":"GREYLIST"}"#).status, 400)

        // A series type CT by Modality; MR and CT uploaded; only the CT series gets it.
        let type = try admin.post(node.base + "/seriestypes", json: #"{"name":"CT series"}"#)
        XCTAssertEqual(type.status, 201, type.text)
        let typeId = try XCTUnwrap(try type.object()["id"] as? Int)
        let rule = try admin.post(node.base + "/seriestypes/rules", json: #"{"seriesTypeId":\#(typeId)}"#)
        let ruleId = try XCTUnwrap(try rule.object()["id"] as? Int)
        let attribute = try admin.post(node.base + "/seriestypes/rules/\(ruleId)/attributes", json: #"{"group":8,"element":96,"value":"CT"}"#)
        XCTAssertEqual(attribute.status, 201, attribute.text)
        XCTAssertEqual(try attribute.object()["name"] as? String, "Modality")
        let ct = try admin.upload(node.base + "/images", file: try pydicomFile("CT_small.dcm"))
        let mr = try admin.upload(node.base + "/images", file: try pydicomFile("MR_small.dcm"))
        let ctSeries = try XCTUnwrap(try ct.object()["seriesId"] as? Int), mrSeries = try XCTUnwrap(try mr.object()["seriesId"] as? Int)
        try waitFor("the CT series to be labelled") {
            try admin.get(node.base + "/metadata/series/\(ctSeries)/seriestypes").array().first?["name"] as? String == "CT series"
        }
        try waitFor("relabelling to end") { try admin.get(node.base + "/seriestypes/rules/updatestatus").object()["running"] as? Bool == false }
        XCTAssertEqual(try admin.get(node.base + "/metadata/series/\(mrSeries)/seriestypes").array().count, 0)
        let typed = try admin.get(node.base + "/metadata/flatseries?seriestypes=\(typeId)").array()
        XCTAssertEqual(typed.map { $0["id"] as? Int }, [ctSeries])
        XCTAssertEqual(try admin.get(node.base + "/metadata/series/424242/seriestypes").status, 404)

        // The blacklisted attribute is not in the stored file.
        let ctId = try XCTUnwrap(try ct.object()["id"] as? Int)
        let attributes = try admin.get(node.base + "/images/\(ctId)/attributes").array()
        XCTAssertFalse(attributes.contains { $0["name"] as? String == "StationName" })
        XCTAssertTrue(attributes.contains { $0["name"] as? String == "Manufacturer" })

        // Series tags: tag the MR series, filter by the tag.
        let tag = try admin.post(node.base + "/metadata/series/\(mrSeries)/seriestags", json: #"{"name":"follow-up"}"#)
        XCTAssertEqual(tag.status, 201, tag.text)
        let tagId = try XCTUnwrap(try tag.object()["id"] as? Int)
        XCTAssertEqual(try admin.get(node.base + "/metadata/series/\(mrSeries)/seriestags").array().first?["name"] as? String, "follow-up")
        XCTAssertEqual(try admin.post(node.base + "/metadata/patients/query", json: """
            {"startIndex":0,"count":10,"queryProperties":[],"filters":{"seriesTagIds":[\(tagId)]}}
            """).array().count, 1)
        XCTAssertEqual(try admin.delete(node.base + "/metadata/series/\(mrSeries)/seriestags/\(tagId)").status, 204)
        XCTAssertEqual(try admin.get(node.base + "/metadata/flatseries?seriestags=\(tagId)").array().count, 0)
        XCTAssertEqual(try Curl(auth: ["-u", "admin:admin"]).post(node.base + "/seriestypes/series/query", json: #"{"ids":[\#(ctSeries)]}"#).object().keys.first,
                       "seriesidseriestypes")
    }
}
