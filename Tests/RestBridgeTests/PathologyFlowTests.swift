import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestPeers
@testable import RestBridge

/// The pathology flow as a user runs it with curl: create a record, upload a 4,000×3,000
/// slide-like PNG with the signed policy, start the analysis, watch its log, download the tiles'
/// index, a tile and the annotation XML and check them against the image's ground truth, upload
/// an annotation, stop a second run mid-way; a 16-bit TIFF and a JPEG through the same pipeline;
/// jobs across a restart of the node.
final class PathologyFlowTests: XCTestCase {
    var folder: String!
    override func setUp() { folder = PeerTools.temporaryDirectory("pathology-flow") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// The outcome-prediction command of these tests: counts the tiles that are mostly tissue, and
    /// when the file `slow` exists beside it, records its pid and sleeps (so a stop can catch it).
    func predictScript() throws -> String {
        let path = folder + "/predict.py"
        try """
            import json, os, sys, time
            here = os.path.dirname(os.path.abspath(__file__))
            if os.path.exists(os.path.join(here, 'slow')):
                open(os.path.join(here, 'predict.pid'), 'w').write(str(os.getpid()))
                time.sleep(60)
            index = json.load(open(os.path.join(sys.argv[-1], 'index.json')))
            assert os.environ['PATHOLOGY_TILE_INDEX'] == os.path.join(sys.argv[-1], 'index.json')
            tissue = [t for t in index['tiles'] if (t.get('tissue_fraction') or 0) > 0.5]
            print(json.dumps({"outcome": "tissue tiles: %d of %d" % (len(tissue), len(index['tiles'])),
                              "metric": {"tissue_tiles": len(tissue), "tiles": len(index['tiles'])}}))
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func makeNode(tileSize: Int = 512, command: [String]? = nil, resume: Bool = true, dataFolder: String? = nil) throws -> TestNode {
        try TestNode {
            $0.logLevel = "warning"
            $0.pathology.tileSize = tileSize
            $0.pathology.predictCommand = command ?? []
            $0.pathology.resumeJobs = resume
            if let dataFolder { $0.dataFolder = dataFolder }
        }
    }

    func record(_ curl: Curl, _ api: String, _ uid: String) throws -> [String: Any] { try curl.get(api + "/Images/\(uid)").object() }

    /// Creates a record and uploads `file` with its policy; returns the unique id.
    func createAndUpload(_ curl: Curl, _ api: String, file: String, name: String) throws -> String {
        let created = try curl.post(api + "/Images", json: #"{"patient_id":1,"entity_id":4,"filename":"\#(name)","workarea":6,"study":5}"#)
        XCTAssertEqual(created.status, 201, created.text)
        let o = try created.object()
        let uploaded = try curl.uploadWithPolicy(try XCTUnwrap(o["response"] as? [String: Any]), file: file)
        XCTAssertEqual(uploaded.status, 201, uploaded.text)
        let uid = try XCTUnwrap(o["image_unique_id"] as? String)
        // The seed's client then marks the record uploaded itself.
        XCTAssertEqual(try curl.put(api + "/Images/\(try XCTUnwrap(o["id"] as? Int))", json: #"{"status":"Uploaded"}"#).status, 200)
        return uid
    }

    /// Follows the image's log (`?since=` the last line seen) until the job leaves Queued/In Progress.
    func watch(_ curl: Curl, _ api: String, _ uid: String, seconds: Double = 45) throws -> (record: [String: Any], log: [[String: Any]]) {
        var lines: [[String: Any]] = []
        var last = 0
        var current: [String: Any] = [:]
        try PathologyTestTools.waitFor("the analysis of \(uid) to end", seconds: seconds) {
            let new = try curl.get(api + "/LogInfo/\(uid)?since=\(last)").array()
            lines += new
            last = new.last?["id"] as? Int ?? last
            current = try record(curl, api, uid)
            return !["Queued", "In Progress"].contains(current["predict_status"] as? String ?? "")
        }
        lines += try curl.get(api + "/LogInfo/\(uid)?since=\(last)").array()
        return (current, lines)
    }

    func testWholeFlowWithASlideImage() throws {
        let node = try makeNode(command: ["python3", try predictScript()])
        defer { node.stop() }
        let api = node.pathology
        let (_, alice) = try node.addUser("alice")
        let (_, bob) = try node.addUser("bob")
        let slide = folder + "/slide.png"
        let truth = try PathologyTestTools.slide(slide, width: 4000, height: 3000, seed: 1, format: "png", folder: folder)
        let uid = try createAndUpload(alice, api, file: slide, name: "slide.png")

        // Start; a second start while it runs is refused.
        let started = try alice.get(api + "/Images/startpredict/\(uid)")
        XCTAssertEqual(started.status, 200, started.text)
        XCTAssertEqual(try started.object()["success"] as? Bool, true)
        XCTAssertTrue(["Queued", "In Progress"].contains((try started.object()["image"] as? [String: Any])?["predict_status"] as? String ?? ""), started.text)
        let again = try alice.get(api + "/Images/startpredict/\(uid)")
        XCTAssertEqual(again.status, 409, again.text)
        XCTAssertEqual(try again.object()["success"] as? Bool, false)
        XCTAssertEqual(try bob.get(api + "/Images/stoppredict/\(uid)").status, 404)

        let (done, log) = try watch(alice, api, uid)
        let messages = log.map { "\($0["type"] as? String ?? ""): \($0["message"] as? String ?? "")" }
        XCTAssertEqual(done["predict_status"] as? String, "Done", messages.joined(separator: "\n"))
        for field in ["tiling_status", "tissuearea_status", "annotation_status", "outcome_status"] {
            XCTAssertEqual(done[field] as? String, "Done", field)
        }
        // Each stage logged its start and its end, in order.
        let order = ["Tiling: Tiling started", "Tiling: Tiling done", "TissueArea: TissueArea started", "TissueArea: TissueArea done",
                     "Annotation: Annotation started", "Annotation: Annotation done", "OutcomePrediction: OutcomePrediction started",
                     "OutcomePrediction: OutcomePrediction done", "Pipeline: analysis finished"]
        var position = 0
        for expected in order {
            guard let i = messages[position...].firstIndex(where: { $0.hasPrefix(expected) }) else { XCTFail("no '\(expected)' after line \(position) in \(messages)"); break }
            position = i + 1
        }
        XCTAssertEqual(done["width"] as? Int, 4000)
        XCTAssertEqual(done["height"] as? Int, 3000)
        XCTAssertEqual(done["tile_count"] as? Int, 8 * 6)
        let fraction = try XCTUnwrap(truth["tissue_fraction"] as? Double)
        let percent = try XCTUnwrap(done["tissue_area_percent"] as? Double)
        XCTAssertEqual(percent, fraction * 100, accuracy: 1.5, "tissue area against the blobs drawn")
        XCTAssertEqual(Double(try XCTUnwrap(done["tissue_area"] as? Int)), fraction * 12_000_000, accuracy: 0.015 * 12_000_000)

        // The results, where base_raw_download_url says.
        let raw = try XCTUnwrap(done["base_raw_download_url"] as? String)
        let listing = try alice.get(raw).object()
        let paths = (listing["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        XCTAssertTrue(paths.contains("tiles/index.json") && paths.contains("tiles/7_5.png") && paths.contains("\(uid)_complete_net_prediction.xml"), "\(paths)")
        let index = try alice.get(raw + "/tiles/index.json").object()
        let tiles = try XCTUnwrap(index["tiles"] as? [[String: Any]])
        XCTAssertEqual(tiles.count, 48)
        XCTAssertEqual(index["tile_size"] as? Int, 512)
        let corner = try XCTUnwrap(tiles.first { $0["file"] as? String == "7_5.png" })
        XCTAssertEqual([corner["x"], corner["y"], corner["width"], corner["height"]].map { $0 as? Int }, [3584, 2560, 416, 440])
        let tissueTiles = tiles.filter { ($0["tissue_fraction"] as? Double ?? 0) > 0.5 }.count
        XCTAssertGreaterThan(tissueTiles, 5)
        XCTAssertLessThan(tissueTiles, 40)
        // The command's answer is the outcome; its `metric` member the metric.
        XCTAssertEqual(done["outcome_prediction"] as? String, #"{"outcome": "tissue tiles: \#(tissueTiles) of 48", "metric": {"tissue_tiles": \#(tissueTiles), "tiles": 48}}"#)
        XCTAssertEqual(done["metric"] as? String, #"{"tiles":48,"tissue_tiles":\#(tissueTiles)}"#)
        // A tile is exactly its part of the image (Pillow compares).
        let tile = folder + "/tile.png"
        try alice.get(raw + "/tiles/3_2.png").body.write(to: URL(fileURLWithPath: tile))
        let compared = try PathologyTestTools.python("""
            import sys, numpy as np
            from PIL import Image
            whole = np.array(Image.open(sys.argv[1])); part = np.array(Image.open(sys.argv[2]))
            print(part.shape, bool((whole[1024:1536, 1536:2048] == part).all()))
            """, [slide, tile])
        XCTAssertEqual(compared.trimmingCharacters(in: .whitespacesAndNewlines), "(512, 512, 3) True")
        XCTAssertEqual(try bob.get(raw + "/tiles/index.json").status, 404)
        XCTAssertEqual(try alice.get(raw + "/tiles/../../source", ["--path-as-is"]).status, 400, "dot segments are refused by the server")
        XCTAssertEqual(try alice.get(raw + "/tiles%2F..%2F..%2Fsource").status, 404, "and by the results route when encoded")
        XCTAssertEqual(try alice.get(raw + "/.hidden").status, 404)

        // The annotation XML: one outline per blob, around it.
        let xmlURL = raw + "/\(uid)_complete_net_prediction.xml"
        let xml = try alice.get(xmlURL)
        XCTAssertEqual(xml.status, 200)
        XCTAssertTrue(xml.headers.lowercased().contains("content-type: application/xml"), xml.headers)
        let regions = try Self.regions(xml.body)
        let blobs = try XCTUnwrap(truth["blobs"] as? [[String: Int]])
        XCTAssertEqual(regions.count, blobs.count, "one tissue region per blob drawn")
        for blob in blobs {
            let match = regions.first { r in
                abs(r.minX - Double(blob["x0"]!)) < 40 && abs(r.maxX - Double(blob["x1"]!)) < 40
                    && abs(r.minY - Double(blob["y0"]!)) < 40 && abs(r.maxY - Double(blob["y1"]!)) < 40
            }
            XCTAssertNotNil(match, "no outline around the blob \(blob); outlines: \(regions)")
        }

        // An annotation upload: refused unless well-formed, then it is what the XML URL serves.
        let bad = folder + "/bad.xml", good = folder + "/edited.xml"
        try "<Annotations><Annotation></Annotations>".write(toFile: bad, atomically: true, encoding: .utf8)
        try #"<?xml version="1.0"?><Annotations><Annotation Id="1" Name="edited"/></Annotations>"#.write(toFile: good, atomically: true, encoding: .utf8)
        let refused = try alice.call("POST", api + "/Annotations/upload", ["-F", "fileid=\(uid)", "-F", "imageid=\(done["id"] as! Int)", "-F", "upload_file=@\(bad)"])
        XCTAssertEqual(refused.status, 400, refused.text)
        XCTAssertEqual(try alice.get(xmlURL).body, xml.body, "a refused annotation changes nothing")
        XCTAssertEqual(try bob.call("POST", api + "/Annotations/upload", ["-F", "fileid=\(uid)", "-F", "upload_file=@\(good)"]).status, 404)
        let stored = try alice.call("POST", api + "/Annotations/upload", ["-F", "upload_file=@\(good)", "-F", "fileid=\(uid)"])
        XCTAssertEqual(stored.status, 201, stored.text)
        XCTAssertEqual(try alice.get(xmlURL).body, try Data(contentsOf: URL(fileURLWithPath: good)))
        XCTAssertEqual(try alice.get(try XCTUnwrap(try stored.object()["stored"] as? String)).status, 200)

        // A second run, stopped mid-way while it cuts tiles: the stage says Stopped, the later
        // ones were never started, no tiles of either run are left to mislead.
        XCTAssertEqual(try alice.get(api + "/Images/startpredict/\(uid)").status, 200)
        try PathologyTestTools.waitFor("the second run's tiling", seconds: 30) {
            try alice.get(api + "/LogInfo/\(uid)").array().filter { $0["message"] as? String == "Tiling started" }.count == 2
        }
        let stopped = try alice.get(api + "/Images/stoppredict/\(uid)")
        XCTAssertEqual(stopped.status, 200, stopped.text)
        XCTAssertEqual(try stopped.object()["status"] as? String, "Stopped")
        let afterStop = try record(alice, api, uid)
        XCTAssertEqual(afterStop["predict_status"] as? String, "Stopped")
        XCTAssertEqual(afterStop["tiling_status"] as? String, "Stopped")
        XCTAssertEqual([afterStop["tissuearea_status"], afterStop["annotation_status"], afterStop["outcome_status"]].map { $0 as? String }, ["Pending", "Pending", "Pending"])
        XCTAssertTrue(afterStop["tile_count"] is NSNull && afterStop["tissue_area"] is NSNull, "a stopped run has no results: \(afterStop)")
        let left = (try alice.get(raw).object()["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        XCTAssertFalse(left.contains { $0.hasPrefix("tiles") }, "\(left)")
        XCTAssertTrue(try alice.get(api + "/LogInfo/\(uid)").array().contains { ($0["message"] as? String ?? "") == "stopped by the user during Tiling" })
        XCTAssertEqual(try alice.get(api + "/Images/stoppredict/\(uid)").status, 409)
        // Stopped at once after starting, wherever it was: it ends Stopped with nothing In Progress.
        XCTAssertEqual(try alice.get(api + "/Images/startpredict/\(uid)").status, 200)
        let quick = try alice.get(api + "/Images/stoppredict/\(uid)")
        XCTAssertEqual(try quick.object()["status"] as? String, "Stopped", quick.text)
        let image = try XCTUnwrap(try quick.object()["image"] as? [String: Any])
        XCTAssertEqual(image["predict_status"] as? String, "Stopped")
        XCTAssertFalse(["tiling_status", "tissuearea_status", "annotation_status", "outcome_status"].contains { image[$0] as? String == "In Progress" }, "\(image)")

        // Deleting the image removes its files.
        XCTAssertEqual(try alice.delete(api + "/Images/\(uid)").status, 200)
        XCTAssertFalse(FileManager.default.fileExists(atPath: node.folder + "/pathology/images/\(uid)"))
    }

    func testTIFFAndJPEGInputsAndAFileThatIsNoImage() throws {
        let node = try makeNode(tileSize: 256)
        defer { node.stop() }
        let api = node.pathology
        let (_, alice) = try node.addUser("alice")
        let tiff = folder + "/slide.tif"
        let truth = try PathologyTestTools.slide(tiff, width: 1200, height: 900, seed: 5, format: "tiff16", folder: folder)
        let uid = try createAndUpload(alice, api, file: tiff, name: "slide.tif")
        XCTAssertTrue(try alice.get(api + "/S3/file/\(uid)").headers.lowercased().contains("content-type: image/tiff"))
        XCTAssertEqual(try alice.get(api + "/Images/startpredict/\(uid)").status, 200)
        let (done, log) = try watch(alice, api, uid)
        XCTAssertEqual(done["predict_status"] as? String, "Done", "\(log)")
        XCTAssertEqual(done["outcome_status"] as? String, "Skipped", "no command configured: skipped, not faked")
        XCTAssertTrue(done["outcome_prediction"] is NSNull)
        XCTAssertTrue(log.contains { ($0["message"] as? String ?? "").contains("skipped: no prediction command is configured") })
        XCTAssertEqual(done["tile_count"] as? Int, 5 * 4)
        XCTAssertEqual(try XCTUnwrap(done["tissue_area_percent"] as? Double), try XCTUnwrap(truth["tissue_fraction"] as? Double) * 100, accuracy: 2)
        // Tiles keep the 16-bit gray samples of the TIFF.
        let raw = try XCTUnwrap(done["base_raw_download_url"] as? String)
        let tile = folder + "/tile.png"
        try alice.get(raw + "/tiles/1_1.png").body.write(to: URL(fileURLWithPath: tile))
        let compared = try PathologyTestTools.python("""
            import sys, numpy as np
            from PIL import Image
            whole = np.array(Image.open(sys.argv[1])); part = np.array(Image.open(sys.argv[2]))
            print(part.dtype.itemsize * 8, part.shape, bool((whole[256:512, 256:512] == part).all()))
            """, [tiff, tile])
        XCTAssertEqual(compared.trimmingCharacters(in: .whitespacesAndNewlines), "16 (256, 256) True")
        XCTAssertEqual(try Self.regions(alice.get(raw + "/\(uid)_complete_net_prediction.xml").body).count, 5)

        // A baseline JPEG (Pillow's libjpeg): decoded by Codec's JPEG decoder, tiles equal to libjpeg's pixels.
        let jpeg = folder + "/slide.jpg"
        let jpegTruth = try PathologyTestTools.slide(jpeg, width: 1000, height: 700, seed: 9, format: "jpeg", folder: folder)
        let jpegUid = try createAndUpload(alice, api, file: jpeg, name: "slide.jpg")
        XCTAssertTrue(try alice.get(api + "/S3/file/\(jpegUid)").headers.lowercased().contains("content-type: image/jpeg"))
        XCTAssertEqual(try alice.get(api + "/Images/startpredict/\(jpegUid)").status, 200)
        let (jpegDone, jpegLog) = try watch(alice, api, jpegUid)
        XCTAssertEqual(jpegDone["predict_status"] as? String, "Done", "\(jpegLog)")
        XCTAssertEqual(jpegDone["tile_count"] as? Int, 4 * 3)
        XCTAssertEqual(try XCTUnwrap(jpegDone["tissue_area_percent"] as? Double), try XCTUnwrap(jpegTruth["tissue_fraction"] as? Double) * 100, accuracy: 2)
        try alice.get(api + "/S3/raw/\(jpegUid)/tiles/2_1.png").body.write(to: URL(fileURLWithPath: tile))
        let jpegCompared = try PathologyTestTools.python("""
            import sys, numpy as np
            from PIL import Image
            whole = np.array(Image.open(sys.argv[1]).convert('RGB')); part = np.array(Image.open(sys.argv[2]))
            print(part.shape, int(np.abs(whole[256:512, 512:768].astype(int) - part.astype(int)).max()))
            """, [jpeg, tile])
        XCTAssertEqual(jpegCompared.trimmingCharacters(in: .whitespacesAndNewlines), "(256, 256, 3) 0", "the tile against libjpeg's decoding")

        // Not an image: tiling fails with the reason, the later stages are skipped, the job failed.
        let text = folder + "/notes.txt"
        try "these are notes, not a slide".write(toFile: text, atomically: true, encoding: .utf8)
        let other = try createAndUpload(alice, api, file: text, name: "notes.png")
        XCTAssertEqual(try alice.get(api + "/Images/startpredict/\(other)").status, 200)
        let (failed, failedLog) = try watch(alice, api, other)
        XCTAssertEqual(failed["predict_status"] as? String, "Failed")
        XCTAssertEqual(failed["tiling_status"] as? String, "Failed")
        XCTAssertEqual(failed["tissuearea_status"] as? String, "Skipped")
        XCTAssertTrue(failedLog.contains { ($0["message"] as? String ?? "").contains("neither PNG, JPEG nor TIFF") }, "\(failedLog)")
        // Without a file there is nothing to analyse.
        let empty = try alice.post(api + "/Images", json: #"{"filename":"later.png"}"#).object()
        XCTAssertEqual(try alice.get(api + "/Images/startpredict/\(empty["image_unique_id"] as! String)").status, 409)
    }

    func testJobsSurviveARestart() throws {
        let data = folder + "/node"
        let script = try predictScript()
        let slide = folder + "/slide.png"
        _ = try PathologyTestTools.slide(slide, width: 900, height: 700, seed: 3, format: "png", folder: folder)
        XCTAssertTrue(FileManager.default.createFile(atPath: folder + "/slow", contents: Data()))

        var node = try makeNode(tileSize: 256, command: ["python3", script], dataFolder: data)
        var (_, alice) = try node.addUser("alice")
        let accessKey = try XCTUnwrap((try alice.post(node.pathology + "/Images", json: #"{"filename":"k.png"}"#).object()["response"] as? [String: Any])?["AWSAccessKeyId"] as? String)
        let uid = try createAndUpload(alice, node.pathology, file: slide, name: "slide.png")

        // Stopped by the user while the prediction command runs: the command is killed.
        XCTAssertEqual(try alice.get(node.pathology + "/Images/startpredict/\(uid)").status, 200)
        try PathologyTestTools.waitFor("the prediction command", seconds: 30) { FileManager.default.fileExists(atPath: self.folder + "/predict.pid") }
        let pid = Int32(try String(contentsOfFile: folder + "/predict.pid", encoding: .utf8))!
        let stopped = try alice.get(node.pathology + "/Images/stoppredict/\(uid)")
        XCTAssertEqual(try stopped.object()["status"] as? String, "Stopped", stopped.text)
        let afterStop = try record(alice, node.pathology, uid)
        XCTAssertEqual([afterStop["predict_status"], afterStop["outcome_status"], afterStop["tiling_status"]].map { $0 as? String }, ["Stopped", "Stopped", "Done"])
        XCTAssertTrue(afterStop["outcome_prediction"] is NSNull, "a stopped command gives no prediction")
        XCTAssertEqual(Self.processState(pid), "gone", "the prediction command must be killed and reaped")
        XCTAssertTrue(try alice.get(node.pathology + "/LogInfo/\(uid)").array().contains { ($0["message"] as? String ?? "") == "stopped by the user during OutcomePrediction" })
        unlink(folder + "/predict.pid")

        // Run 2: stopped by a shutdown while the command runs.
        XCTAssertEqual(try alice.get(node.pathology + "/Images/startpredict/\(uid)").status, 200)
        try PathologyTestTools.waitFor("the prediction command", seconds: 30) { FileManager.default.fileExists(atPath: self.folder + "/predict.pid") }
        node.bridge.stop(timeout: 1)
        node.node.stop(waitSeconds: 2)
        unlink(folder + "/slow")

        // Restarted: the job resumes where it was (tiling is not done again) and finishes.
        node = try makeNode(tileSize: 256, command: ["python3", script], dataFolder: data)
        alice = Curl(auth: ["-u", "alice:alice-pw"])
        let (resumed, log) = try watch(alice, node.pathology, uid)
        XCTAssertEqual(resumed["predict_status"] as? String, "Done", "\(log)")
        XCTAssertEqual(resumed["outcome_status"] as? String, "Done")
        XCTAssertNotNil(resumed["outcome_prediction"] as? String)
        let messages = log.compactMap { $0["message"] as? String }
        XCTAssertTrue(messages.contains("resumed after a restart of the node"), "\(messages)")
        XCTAssertEqual(messages.filter { $0 == "Tiling started" }.count, 2, "run 2 cut its tiles once, before the restart: \(messages)")
        // The deployment's signing key outlived the restart (same access key id, file kept private).
        let again = try XCTUnwrap((try alice.post(node.pathology + "/Images", json: #"{"filename":"k.png"}"#).object()["response"] as? [String: Any])?["AWSAccessKeyId"] as? String)
        XCTAssertEqual(again, accessKey)
        let mode = try FileManager.default.attributesOfItem(atPath: data + "/pathology/upload-signing.key")[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)

        // Run 3, cut by a shutdown again, and a node told not to resume: failed, not stuck.
        XCTAssertTrue(FileManager.default.createFile(atPath: folder + "/slow", contents: Data()))
        unlink(folder + "/predict.pid")
        XCTAssertEqual(try alice.get(node.pathology + "/Images/startpredict/\(uid)").status, 200)
        try PathologyTestTools.waitFor("the prediction command", seconds: 30) { FileManager.default.fileExists(atPath: self.folder + "/predict.pid") }
        node.bridge.stop(timeout: 1)
        node.node.stop(waitSeconds: 2)
        node = try makeNode(tileSize: 256, command: ["python3", script], resume: false, dataFolder: data)
        defer { node.stop() }
        let failed = try record(alice, node.pathology, uid)
        XCTAssertEqual(failed["predict_status"] as? String, "Failed")
        XCTAssertEqual(failed["outcome_status"] as? String, "Failed")
        XCTAssertEqual(failed["tiling_status"] as? String, "Done")
        XCTAssertTrue(try alice.get(node.pathology + "/LogInfo/\(uid)").array().contains { ($0["message"] as? String ?? "").contains("interrupted by a restart") })
    }

    // MARK: Helpers

    /// Bounding boxes of the regions of an annotation XML (Aperio form), read with Foundation's XMLParser.
    static func regions(_ data: Data) throws -> [(minX: Double, maxX: Double, minY: Double, maxY: Double)] {
        final class Reader: NSObject, XMLParserDelegate {
            var boxes: [(minX: Double, maxX: Double, minY: Double, maxY: Double)] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == "Region" { boxes.append((.infinity, -.infinity, .infinity, -.infinity)) }
                if name == "Vertex", let x = attributes["X"].flatMap(Double.init), let y = attributes["Y"].flatMap(Double.init), !boxes.isEmpty {
                    let b = boxes[boxes.count - 1]
                    boxes[boxes.count - 1] = (min(b.minX, x), max(b.maxX, x), min(b.minY, y), max(b.maxY, y))
                }
            }
        }
        let parser = XMLParser(data: data)
        let reader = Reader()
        parser.delegate = reader
        guard parser.parse(), parser.parserError == nil else { throw PeerMissing("the annotation XML does not parse: \(String(decoding: data.prefix(300), as: UTF8.self))") }
        return reader.boxes
    }

    /// The state letter of a process from /proc ("running" unless it is a zombie or gone).
    static func processState(_ pid: Int32) -> String {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return "gone" }
        return stat.contains(") Z ") ? "zombie" : "running"
    }
}
