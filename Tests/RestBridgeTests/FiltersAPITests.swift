import XCTest
import Foundation
import TestPeers
import Node
@testable import RestBridge

/// Seed 002, the filters service (`/images…`) and the modality-session registry
/// (`/modality-sessions…`), through curl against a node in process; PNGs written by hand in
/// Python (numpy + zlib), DICOM sent by DCMTK's storescu, media checked by pydicom and Pillow.
final class FiltersAPITests: XCTestCase {
    var node: TestNode!
    var files: String!
    override func setUpWithError() throws {
        files = PeerTools.temporaryDirectory("filters-media")
        try makeMedia(in: files)
    }
    override func tearDown() {
        node?.stop()
        try? FileManager.default.removeItem(atPath: files)
    }

    var root: String { "http://127.0.0.1:\(node.bridge.port)" }
    var filtersFolder: String { node.folder + "/filters" }

    /// The seed's example imageInfo, on one line.
    static let info = #"{"acquisitionInfo":{"binning":"Binned2X2"},"lutInfo":{"gamma":2.3,"slope":65535,"offset":0,"totalGrays":4096,"minimumGray":3085,"maximumGray":0}}"#

    // MARK: Media made outside our code

    /// PNGs built chunk by chunk with zlib and numpy (not with our encoder), a JPEG by Pillow,
    /// and bytes that are no image.
    static let makeMediaScript = #"""
import sys, struct, zlib, os
import numpy as np
out = sys.argv[1]
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
def png(path, arr, bitdepth, colortype):
    h, w = arr.shape[:2]
    dt = '>u2' if bitdepth == 16 else 'u1'
    rows = arr.astype(dt).reshape(h, -1).tobytes()
    stride = len(rows) // h
    raw = b''.join(b'\x00' + rows[y*stride:(y+1)*stride] for y in range(h))
    ihdr = struct.pack('>IIBBBBB', w, h, bitdepth, colortype, 0, 0, 0)
    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
    open(os.path.join(out, path), 'wb').write(data)
    return data
h, w = 23, 37
ramp = (np.arange(h * w, dtype=np.int64).reshape(h, w) * 2801) % 65536
g16 = png('gray16.png', ramp, 16, 0)
png('gray8.png', ramp % 256, 8, 0)
png('rgb16.png', np.stack([ramp, ramp, ramp], axis=-1), 16, 2)
png('grayalpha16.png', np.stack([ramp, ramp], axis=-1), 16, 4)
open(os.path.join(out, 'truncated.png'), 'wb').write(g16[: len(g16) * 2 // 3])
open(os.path.join(out, 'garbage.bin'), 'wb').write(bytes(range(256)) * 4)
from PIL import Image
Image.fromarray((ramp % 256).astype('uint8')).save(os.path.join(out, 'photo.jpg'), 'JPEG')
"""#

    func makeMedia(in folder: String) throws {
        let (status, _, err) = try PeerTools.run("/usr/bin/env", ["python3", "-c", Self.makeMediaScript, folder], timeout: 60)
        guard status == 0 else { throw PeerMissing("python3 with numpy and Pillow is needed to make the test media: \(err)") }
    }

    func write(_ text: String, _ name: String) throws -> String {
        let path = files + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// POST /images with an imageInfo part read from a file and an imageMedia part.
    func upload(info: String? = FiltersAPITests.info, media: String?, type: String = "image/png", curl: Curl = Curl()) throws -> Curl.Reply {
        var form: [String] = []
        if let info { form += ["-F", "imageInfo=<\(try write(info, "info-\(UUID().uuidString).json"));type=application/json"] }
        if let media { form += ["-F", "imageMedia=@\(files + "/" + media);type=\(type)"] }
        return try curl.call("POST", root + "/images", form)
    }

    func header(_ name: String, in reply: Curl.Reply) -> String? {
        for line in reply.headers.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    func filesIn(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0 != "incoming" }.sorted()
    }

    static func date(_ s: String) throws -> Date {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let d = f.date(from: s) else { throw PeerMissing("not an ISO 8601 timestamp with milliseconds: \(s)") }
        return d
    }

    // MARK: Image resources

    func testUploadThenGetJSONAndByteIdenticalMediaThenDelete() throws {
        node = try TestNode()
        let created = try upload(media: "gray16.png")
        XCTAssertEqual(created.status, 201, created.text)
        let r = try created.object()
        let id = try XCTUnwrap(r["id"] as? String)
        XCTAssertNotNil(UUID(uuidString: id), id)
        XCTAssertEqual(Set(r.keys), ["id", "mediaType", "url", "createdOn", "expires", "imageInfo", "modalitySession"])
        XCTAssertEqual(r["mediaType"] as? String, "image/png")
        XCTAssertEqual(r["url"] as? String, "\(root)/images/\(id)/media")
        XCTAssertTrue(r["modalitySession"] is NSNull, "modalitySession is null for an upload: \(created.text)")
        XCTAssertEqual(header("Location", in: created), "\(root)/images/\(id)")
        // imageInfo comes back as sent, field by field.
        let sent = try JSONSerialization.jsonObject(with: Data(Self.info.utf8)) as! NSDictionary
        XCTAssertEqual(r["imageInfo"] as? NSDictionary, sent)
        // The seed's example: created 14:56, expires 22:56 — the default lifetime is 8 hours.
        let createdOn = try Self.date(try XCTUnwrap(r["createdOn"] as? String))
        XCTAssertEqual(try Self.date(try XCTUnwrap(r["expires"] as? String)).timeIntervalSince(createdOn), 8 * 3600, accuracy: 0.001)
        XCTAssertLessThan(abs(createdOn.timeIntervalSinceNow), 60)

        let got = try Curl().get(root + "/images/\(id)")
        XCTAssertEqual(got.status, 200)
        XCTAssertEqual(try got.object() as NSDictionary, r as NSDictionary)

        let media = try Curl().get(try XCTUnwrap(r["url"] as? String))
        XCTAssertEqual(media.status, 200)
        XCTAssertEqual(header("Content-Type", in: media), "image/png")
        let original = try Data(contentsOf: URL(fileURLWithPath: files + "/gray16.png"))
        XCTAssertEqual(media.body, original, "the media comes back byte for byte")
        XCTAssertEqual(filesIn(filtersFolder), ["\(id).png"])
        XCTAssertEqual(filesIn(filtersFolder + "/incoming"), [])

        XCTAssertEqual(try Curl().delete(root + "/images/\(id)").status, 204)
        let gone = try Curl().get(root + "/images/\(id)")
        XCTAssertEqual(gone.status, 404)
        XCTAssertNotNil(try gone.object()["error"] as? String)
        XCTAssertEqual(try Curl().get(root + "/images/\(id)/media").status, 404)
        XCTAssertEqual(try Curl().delete(root + "/images/\(id)").status, 404)
        XCTAssertEqual(filesIn(filtersFolder), [], "the file goes with the resource")
        // The Slicebox API beside it is untouched by these paths.
        XCTAssertEqual(try Curl().get(root + "/api/metadata/patients").status, 200)
    }

    func testAnythingButA16BitGrayscalePNGIs415() throws {
        node = try TestNode()
        for (media, type) in [("gray8.png", "image/png"), ("rgb16.png", "image/png"), ("grayalpha16.png", "image/png"),
                              ("photo.jpg", "image/png"), ("photo.jpg", "image/jpeg"), ("garbage.bin", "application/octet-stream"),
                              ("truncated.png", "image/png"), ("gray16.png", "image/jpeg")] {
            let reply = try upload(media: media, type: type)
            XCTAssertEqual(reply.status, 415, "\(media) as \(type): \(reply.text)")
            XCTAssertNotNil(try reply.object()["error"] as? String, reply.text)
        }
        let eight = try upload(media: "gray8.png")
        XCTAssertTrue(eight.text.contains("8-bit grayscale"), eight.text)
        XCTAssertTrue(try upload(media: "rgb16.png").text.contains("16-bit RGB"))
        // Not multipart at all.
        XCTAssertEqual(try Curl().post(root + "/images", json: Self.info).status, 415)
        // Nothing refused is left behind.
        XCTAssertEqual(filesIn(filtersFolder), [])
        XCTAssertEqual(filesIn(filtersFolder + "/incoming"), [])
    }

    func testMediaOverTheConfiguredLimitIs413() throws {
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: files + "/gray16.png")[.size] as? Int)
        node = try TestNode { $0.filters.maxMediaBytes = Int64(size - 1) }
        let reply = try upload(media: "gray16.png")
        XCTAssertEqual(reply.status, 413, reply.text)
        XCTAssertNotNil(try reply.object()["error"] as? String)
        XCTAssertEqual(filesIn(filtersFolder + "/incoming"), [])
    }

    func testBadImageInfoIs400NamingTheField() throws {
        node = try TestNode()
        let cases: [(String, String)] = [
            (#"{"acquisitionInfo":{"binning":"Unbinned"},"lutInfo":"#, "not valid JSON"),
            (#"{"acquisitionInfo":{"binning":"Unbinned"}}"#, "imageInfo.lutInfo"),
            (#"{"lutInfo":{"gamma":1,"slope":1,"offset":0,"totalGrays":4096,"minimumGray":0,"maximumGray":4095}}"#, "imageInfo.acquisitionInfo"),
            (#"{"acquisitionInfo":{"binning":"Binned3x3"},"lutInfo":{"gamma":1,"slope":1,"offset":0,"totalGrays":4096,"minimumGray":0,"maximumGray":4095}}"#, "binning"),
            (#"{"acquisitionInfo":{"binning":"Unbinned"},"lutInfo":{"gamma":1,"slope":1,"offset":0,"totalGrays":"4096","minimumGray":0,"maximumGray":4095}}"#, "imageInfo.lutInfo.totalGrays"),
            (#"{"acquisitionInfo":{"binning":"Unbinned"},"lutInfo":{"gamma":1,"slope":1,"offset":0,"totalGrays":4096.5,"minimumGray":0,"maximumGray":4095}}"#, "totalGrays"),
            (#"{"acquisitionInfo":{"binning":"Unbinned"},"lutInfo":{"gamma":1,"slope":1,"totalGrays":4096,"minimumGray":0,"maximumGray":4095}}"#, "imageInfo.lutInfo.offset"),
            (#"{"acquisitionInfo":{"binning":"Unbinned"},"lutInfo":{"gamma":1,"slope":1,"offset":0,"totalGrays":4096,"minimumGray":0,"maximumGray":5000}}"#, "maximumGray"),
            (#"{"acquisitionInfo":{"binning":"Unbinned"},"lutInfo":{"gamma":0,"slope":1,"offset":0,"totalGrays":4096,"minimumGray":0,"maximumGray":1}}"#, "gamma"),
            ("", "imageInfo"),
        ]
        for (info, mention) in cases {
            let reply = try upload(info: info, media: "gray16.png")
            XCTAssertEqual(reply.status, 400, "\(info): \(reply.text)")
            let message = try XCTUnwrap(try reply.object()["error"] as? String, reply.text)
            XCTAssertTrue(message.contains(mention), "\(info): '\(message)' should mention \(mention)")
        }
        let noInfo = try upload(info: nil, media: "gray16.png")
        XCTAssertEqual(noInfo.status, 400)
        XCTAssertTrue(noInfo.text.contains("imageInfo"), noInfo.text)
        let noMedia = try upload(media: nil)
        XCTAssertEqual(noMedia.status, 400)
        XCTAssertTrue(noMedia.text.contains("imageMedia"), noMedia.text)
        // The seed's enum spelling and extra keys of the modality API's ImageInfo are accepted.
        let full = #"{"acquisitionInfo":{"binning":"Binned2x2","exposure":12},"lutInfo":{"gamma":1,"slope":1,"offset":0,"totalGrays":65536,"minimumGray":0,"maximumGray":65535},"width":37}"#
        let ok = try upload(info: full, media: "gray16.png")
        XCTAssertEqual(ok.status, 201, ok.text)
        XCTAssertEqual((try ok.object()["imageInfo"] as? [String: Any])?.keys.sorted(), ["acquisitionInfo", "lutInfo"])
        XCTAssertEqual(filesIn(filtersFolder).count, 1)
        XCTAssertEqual(filesIn(filtersFolder + "/incoming"), [])
    }

    func testBasicAuthIsRequired() throws {
        node = try TestNode()
        for curl in [Curl(auth: []), Curl(auth: ["-u", "admin:wrong"]), Curl(auth: ["-u", "nobody:admin"]), Curl(auth: ["-H", "Authorization: Bearer abc"])] {
            let reply = try upload(media: "gray16.png", curl: curl)
            XCTAssertEqual(reply.status, 401, reply.text)
            XCTAssertEqual(header("WWW-Authenticate", in: reply)?.hasPrefix("Basic "), true, reply.headers)
            XCTAssertNotNil(try reply.object()["error"] as? String)
            XCTAssertEqual(try curl.get(root + "/images/anything").status, 401)
            XCTAssertEqual(try curl.get(root + "/modality-sessions").status, 401)
        }
        // Any of the node's users, not only the superuser.
        XCTAssertEqual(try Curl().post(root + "/api/users", json: #"{"user":"tech","password":"s3cret","role":"USER"}"#).status, 201)
        let tech = Curl(auth: ["-u", "tech:s3cret"])
        let created = try upload(media: "gray16.png", curl: tech)
        XCTAssertEqual(created.status, 201, created.text)
        XCTAssertEqual(try tech.get(root + "/images/\(try XCTUnwrap(try created.object()["id"] as? String))").status, 200)
        XCTAssertEqual(try tech.get(root + "/images/no-such-id").status, 404)
    }

    // MARK: Expiry

    func testExpiredIs404BeforeTheSweepAndTheSweepRemovesTheFile() throws {
        node = try TestNode { $0.filters.resourceLifetimeSeconds = 1; $0.filters.sweepIntervalSeconds = 3600 }
        let id = try XCTUnwrap(try upload(media: "gray16.png").object()["id"] as? String)
        XCTAssertEqual(try Curl().get(root + "/images/\(id)").status, 200)
        Thread.sleep(forTimeInterval: 1.2)
        XCTAssertEqual(try Curl().get(root + "/images/\(id)").status, 404)
        XCTAssertEqual(try Curl().get(root + "/images/\(id)/media").status, 404)
        XCTAssertEqual(filesIn(filtersFolder), ["\(id).png"], "not swept yet: the file is still there")
        XCTAssertEqual(try node.node.imageResources.sweep(), 1)
        XCTAssertEqual(filesIn(filtersFolder), [])
    }

    func testBackgroundSweeperDeletesExpiredResources() throws {
        node = try TestNode { $0.filters.resourceLifetimeSeconds = 1; $0.filters.sweepIntervalSeconds = 0.2 }
        let a = try XCTUnwrap(try upload(media: "gray16.png").object()["id"] as? String)
        XCTAssertEqual(filesIn(filtersFolder), ["\(a).png"])
        let deadline = Date().addingTimeInterval(10)
        while !filesIn(filtersFolder).isEmpty && Date() < deadline { usleep(100_000) }
        XCTAssertEqual(filesIn(filtersFolder), [], "the sweeper removed the expired file")
        XCTAssertEqual(try Curl().get(root + "/images/\(a)").status, 404)
        XCTAssertEqual(try node.node.index.db.read { try $0.scalar("SELECT count(*) FROM image_resources") }, 0)
    }

    func testRestartKeepsResourcesAndRepairsWhatACrashLeft() throws {
        node = try TestNode()
        let keep = try XCTUnwrap(try upload(media: "gray16.png").object()["id"] as? String)
        let lose = try XCTUnwrap(try upload(media: "gray16.png").object()["id"] as? String)
        let config = node.node.config, folder = node.folder
        node.bridge.stop(timeout: 1)
        node.node.stop(waitSeconds: 1)
        node = nil  // stopped here; the folder goes at the end
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let filtersFolder = folder + "/filters"
        // As a crash could leave it: a half-written upload, a file whose row never committed, a row whose file is gone.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: filtersFolder + "/incoming/abc.part"))
        try Data([4, 5, 6]).write(to: URL(fileURLWithPath: filtersFolder + "/orphan.png"))
        XCTAssertEqual(unlink(filtersFolder + "/\(lose).png"), 0)

        let server = try NodeServer(config: config)
        try server.start()
        let bridge = try RestBridge(node: server)
        try bridge.start()
        defer { bridge.stop(timeout: 1); server.stop(waitSeconds: 1) }
        let base = "http://127.0.0.1:\(bridge.port)"
        XCTAssertEqual(filesIn(filtersFolder), ["\(keep).png"])
        XCTAssertEqual(filesIn(filtersFolder + "/incoming"), [])
        XCTAssertEqual(try Curl().get(base + "/images/\(lose)").status, 404)
        let media = try Curl().get(base + "/images/\(keep)/media")
        XCTAssertEqual(media.status, 200)
        XCTAssertEqual(media.body, try Data(contentsOf: URL(fileURLWithPath: files + "/gray16.png")))
    }

    func testFiltersConfigurationKeys() throws {
        let path = files + "/config.json"
        try #"{"filters": {"sweepIntervalSeconds": 0.5}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let c = try NodeConfig.load(path: path).validated()
        XCTAssertEqual(c.filters.sweepIntervalSeconds, 0.5)
        XCTAssertEqual(c.filters.resourceLifetimeSeconds, 28_800)
        XCTAssertEqual(c.filters.maxMediaBytes, 256 << 20)
        try #"{"filters": {"sweepInterval": 5}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try NodeConfig.load(path: path)) { XCTAssertTrue("\($0)".contains("unknown key 'filters.sweepInterval'"), "\($0)") }
        try #"{"filters": {"resourceLifetimeSeconds": 0}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try NodeConfig.load(path: path).validated())
    }

    // MARK: Modality sessions

    func storescu(_ file: String, callingAE: String) throws {
        try PeerTools.requireTool("/usr/bin/storescu")
        let port = try XCTUnwrap(node.node.mainSCP?.port)
        let (status, _, err) = try PeerTools.run("/usr/bin/storescu", ["-aet", callingAE, "-aec", "DICOMNODE", "127.0.0.1", String(port), try pydicomFile(file)], timeout: 60)
        XCTAssertEqual(status, 0, "storescu \(file): \(err)")
    }

    func imageId(sopInstanceUID uid: String) throws -> String {
        let id = try node.node.index.storedImage(sopInstanceUID: uid)?.image.id
        return String(try XCTUnwrap(id, "image \(uid) is stored"))
    }

    func testModalitySessionImagesFromCStoreAndModalityResources() throws {
        node = try TestNode()
        let api = Curl()
        let ct = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322", mr = "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457"
        let rgb = "1.2.276.0.7230010.3.1.4.8323329.1099.1521494048.423534", dose = "1.9.999.999.99.9.9999.9999.20030818153516"
        let later = "1.2.826.0.1.3680043.8.498.56065470899706926608807826667383533307"

        try storescu("MR_small.dcm", callingAE: "MODALITY1")  // before the session
        usleep(20_000)
        XCTAssertEqual(try api.post(root + "/modality-sessions", json: #"{"name":"no AE"}"#).status, 400)
        XCTAssertEqual(try api.post(root + "/modality-sessions", json: #"{"aeTitle":"THIS_AE_IS_TOO_LONG"}"#).status, 400)
        XCTAssertEqual(try api.post(root + "/modality-sessions", json: #"{"aeTitle":"MODALITY1","modality":"ct;drop"}"#).status, 400)
        let started = try api.post(root + "/modality-sessions", json: #"{"aeTitle":"MODALITY1","name":"chair 3"}"#)
        XCTAssertEqual(started.status, 201, started.text)
        let session = try started.object()
        let sid = try XCTUnwrap(session["id"] as? String)
        XCTAssertEqual(session["aeTitle"] as? String, "MODALITY1")
        XCTAssertEqual(session["name"] as? String, "chair 3")
        XCTAssertEqual(session["active"] as? Bool, true)
        XCTAssertTrue(session["endedOn"] is NSNull && session["modality"] is NSNull, started.text)
        XCTAssertEqual(try api.post(root + "/modality-sessions", json: #"{"aeTitle":"MODALITY1"}"#).status, 409, "one active session per modality")
        // Another modality's session that only counts CT series.
        let other = try api.post(root + "/modality-sessions", json: #"{"aeTitle":"OTHERAE","modality":"CT"}"#)
        XCTAssertEqual(other.status, 201, other.text)
        let otherId = try XCTUnwrap(try other.object()["id"] as? String)

        try storescu("CT_small.dcm", callingAE: "MODALITY1")
        try storescu("SC_rgb_small_odd.dcm", callingAE: "MODALITY1")
        try storescu("rtdose_1frame.dcm", callingAE: "OTHERAE")  // RTDOSE: not CT

        let acquired = try api.get(root + "/modality-sessions/\(sid)/images")
        XCTAssertEqual(acquired.status, 200, acquired.text)
        XCTAssertEqual(try acquired.array().compactMap { $0["sopInstanceUID"] as? String }, [ct, rgb], acquired.text)
        let ctEntry = try XCTUnwrap(try acquired.array().first)
        XCTAssertEqual(ctEntry["imageId"] as? String, try imageId(sopInstanceUID: ct))
        XCTAssertEqual(ctEntry["modality"] as? String, "CT")
        XCTAssertEqual(try api.get(root + "/modality-sessions/\(otherId)/images").array().count, 0, "the RTDOSE image is not CT")
        XCTAssertEqual(try api.get(root + "/modality-sessions/nope/images").status, 404)
        let active = try api.get(root + "/modality-sessions?active=true").array().compactMap { $0["id"] as? String }
        XCTAssertEqual(Set(active), [sid, otherId])
        XCTAssertEqual(try api.get(root + "/modality-sessions?active=maybe").status, 400)

        // A resource from the CT image acquired in the session.
        let ctId = try imageId(sopInstanceUID: ct)
        let made = try api.post(root + "/images/modality", json: #"{"sessionId":"\#(sid)","imageId":"\#(ctId)"}"#)
        XCTAssertEqual(made.status, 201, made.text)
        let resource = try made.object()
        let rid = try XCTUnwrap(resource["id"] as? String)
        XCTAssertEqual(resource["modalitySession"] as? NSDictionary, ["sessionId": sid, "imageId": ctId] as NSDictionary)
        let lut = try XCTUnwrap((resource["imageInfo"] as? [String: Any])?["lutInfo"] as? [String: Any])
        XCTAssertEqual(lut["totalGrays"] as? Int, 65536)
        XCTAssertEqual((resource["imageInfo"] as? [String: Any])?["acquisitionInfo"] as? NSDictionary, ["binning": "Unbinned"] as NSDictionary)
        XCTAssertEqual(try api.get(root + "/images/\(rid)").object() as NSDictionary, resource as NSDictionary)
        let png = try api.get(root + "/images/\(rid)/media")
        XCTAssertEqual(png.status, 200)
        let pngPath = files + "/ct.png"
        try png.body.write(to: URL(fileURLWithPath: pngPath))
        // Pillow reads it as 16-bit grayscale; its samples are pydicom's pixel values shifted to
        // unsigned, and lutInfo's minimum and maximum are theirs.
        let check = #"""
import sys, numpy as np, pydicom
from PIL import Image
im = Image.open(sys.argv[1])
assert im.format == 'PNG' and im.mode in ('I;16', 'I;16B', 'I'), im.mode
ds = pydicom.dcmread(sys.argv[2])
expected = ds.pixel_array.astype(np.int64) + (1 << (ds.BitsStored - 1) if ds.PixelRepresentation == 1 else 0)
got = np.array(im).astype(np.int64)
assert got.shape == expected.shape, (got.shape, expected.shape)
assert (got == expected).all(), 'pixel values differ'
print(int(expected.min()), int(expected.max()))
"""#
        let (status, out, err) = try PeerTools.run("/usr/bin/env", ["python3", "-c", check, pngPath, try pydicomFile("CT_small.dcm")], timeout: 60)
        XCTAssertEqual(status, 0, err)
        let range = String(decoding: out, as: UTF8.self).split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(range, [lut["minimumGray"] as? Int, lut["maximumGray"] as? Int].compactMap { $0 })

        // Not acquired in this session, unknown, or not grayscale.
        for (body, status) in [(#"{"sessionId":"\#(sid)","imageId":"\#(try imageId(sopInstanceUID: mr))"}"#, 404),
                               (#"{"sessionId":"\#(sid)","imageId":"\#(try imageId(sopInstanceUID: dose))"}"#, 404),
                               (#"{"sessionId":"\#(sid)","imageId":"999999"}"#, 404),
                               (#"{"sessionId":"no-such-session","imageId":"\#(ctId)"}"#, 404),
                               (#"{"sessionId":"\#(sid)","imageId":"\#(try imageId(sopInstanceUID: rgb))"}"#, 400),
                               (#"{"sessionId":"\#(sid)"}"#, 400),
                               (#"{"sessionId":"\#(sid)","imageId":true}"#, 400),
                               (#"{"sessionId":"#, 400)] {
            let reply = try api.post(root + "/images/modality", json: body)
            XCTAssertEqual(reply.status, status, "\(body): \(reply.text)")
            XCTAssertNotNil(try reply.object()["error"] as? String, reply.text)
        }
        XCTAssertEqual(try Curl(auth: []).post(root + "/images/modality", json: #"{"sessionId":"\#(sid)","imageId":"\#(ctId)"}"#).status, 401)

        // Ending the session ends its resources, and later images are not acquired in it.
        let ended = try api.post(root + "/modality-sessions/\(sid)/end", json: "")
        XCTAssertEqual(ended.status, 200, ended.text)
        XCTAssertEqual(try ended.object()["active"] as? Bool, false)
        XCTAssertNotNil(try ended.object()["endedOn"] as? String)
        XCTAssertEqual(try api.get(root + "/images/\(rid)").status, 404)
        XCTAssertFalse(filesIn(filtersFolder).contains("\(rid).png"), "the session's resource file is removed")
        XCTAssertEqual(try api.post(root + "/images/modality", json: #"{"sessionId":"\#(sid)","imageId":"\#(ctId)"}"#).status, 404)
        usleep(20_000)
        try storescu("examples_overlay.dcm", callingAE: "MODALITY1")
        XCTAssertNotNil(try node.node.index.storedImage(sopInstanceUID: later))
        XCTAssertEqual(try api.get(root + "/modality-sessions/\(sid)/images").array().compactMap { $0["sopInstanceUID"] as? String }, [ct, rgb])
        XCTAssertEqual(try api.get(root + "/modality-sessions/\(sid)").object()["active"] as? Bool, false)
        XCTAssertEqual(try api.get(root + "/modality-sessions?active=true").array().compactMap { $0["id"] as? String }, [otherId])
        XCTAssertEqual(try api.post(root + "/modality-sessions/nope/end", json: "").status, 404)
        // A new session for the modality may start once the old one ended.
        XCTAssertEqual(try api.post(root + "/modality-sessions", json: #"{"aeTitle":"MODALITY1"}"#).status, 201)
    }
}
