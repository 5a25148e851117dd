import XCTest
import Foundation
import TestPeers
@testable import RestBridge

/// The main flows of seed 003 as a user runs them with curl against a real node.
final class SliceboxFlowTests: XCTestCase {
    var node: TestNode!
    override func setUpWithError() throws { node = try TestNode() }
    override func tearDown() { node.stop() }

    func testLoginUploadQueryRenderExportDelete() throws {
        let jar = Curl.folder + "/jar-\(UUID().uuidString)"
        defer { unlink(jar) }
        // Log in with the session cookie (no basic auth afterwards).
        let anonymous = Curl(auth: [])
        XCTAssertEqual(try anonymous.get(node.base + "/metadata/patients").status, 401)
        let login = try Curl(auth: ["-c", jar]).post(node.base + "/users/login", json: #"{"user":"admin","pass":"admin"}"#)
        XCTAssertEqual(login.status, 201, login.text)
        XCTAssertTrue(login.headers.contains("slicebox-session="), login.headers)
        let user = Curl(auth: ["-b", jar])
        XCTAssertEqual(try user.get(node.base + "/users/current").object()["user"] as? String, "admin")

        // Upload: a multipart file and a raw body; the same instance again answers 200.
        let ct = try pydicomFile("CT_small.dcm"), mr = try pydicomFile("MR_small.dcm")
        let first = try user.upload(node.base + "/images", file: ct)
        XCTAssertEqual(first.status, 201, first.text)
        let ctId = try XCTUnwrap(try first.object()["id"] as? Int)
        XCTAssertEqual(try user.upload(node.base + "/images", file: mr, multipart: false).status, 201)
        XCTAssertEqual(try user.upload(node.base + "/images", file: ct, multipart: false).status, 200)
        let garbage = Curl.folder + "/garbage-\(UUID().uuidString)"
        try Data("this is not DICOM".utf8).write(to: URL(fileURLWithPath: garbage))
        defer { unlink(garbage) }
        let refused = try user.upload(node.base + "/images", file: garbage)
        XCTAssertEqual(refused.status, 400)
        XCTAssertNotNil(try refused.object()["error"] as? String)

        // Query flat series: like on the patient name, ordered, paged.
        let flat = try user.post(node.base + "/metadata/flatseries/query", json: """
            {"startIndex":0,"count":10,"order":{"orderBy":"patientName","orderAscending":false},
             "queryProperties":[{"propertyName":"patientName","operator":"like","propertyValue":"compressed"}]}
            """).array()
        XCTAssertEqual(flat.count, 2)
        XCTAssertEqual(((flat[0]["patient"] as? [String: Any])?["patientName"] as? [String: Any])?["value"] as? String, "CompressedSamples^MR1")
        let page = try user.get(node.base + "/metadata/patients?startindex=1&count=1&orderby=patientName").array()
        XCTAssertEqual(((page.first?["patientName"]) as? [String: Any])?["value"] as? String, "CompressedSamples^MR1")
        XCTAssertEqual(try user.get(node.base + "/metadata/patients?orderby=nosuch").status, 400)
        XCTAssertEqual(try user.get(node.base + "/metadata/patients?filter=1CT1").array().count, 1)

        // PNG: a real PNG of the requested height; a window changes the pixels.
        let png = try user.get(node.base + "/images/\(ctId)/png?imageheight=64")
        XCTAssertEqual(png.status, 200)
        let decoded = try PNGDecoderForTests.size(png.body)
        XCTAssertEqual(decoded.height, 64)
        let windowed = try user.get(node.base + "/images/\(ctId)/png?windowmin=900&windowmax=1100")
        XCTAssertNotEqual(windowed.body, try user.get(node.base + "/images/\(ctId)/png").body)

        // The file comes back byte for byte; attributes and image information from it.
        let fetched = try user.get(node.base + "/images/\(ctId)")
        XCTAssertEqual(fetched.body, FileManager.default.contents(atPath: ct))
        let attributes = try user.get(node.base + "/images/\(ctId)/attributes").array()
        XCTAssertTrue(attributes.contains { $0["name"] as? String == "PatientName" && $0["value"] as? String == "CompressedSamples^CT1" })
        let info = try user.get(node.base + "/images/\(ctId)/imageinformation").object()
        XCTAssertEqual(info["numberOfFrames"] as? Int, 1)
        XCTAssertEqual(info["minimumPixelValue"] as? Int, 128)  // pydicom: CT_small pixel_array.min()

        // Export both images as a ZIP and open it with Python.
        let all = try user.get(node.base + "/metadata/images?seriesid=\(try XCTUnwrap(first.object()["seriesId"] as? Int))").array()
        XCTAssertEqual(all.count, 1)
        let set = try user.post(node.base + "/images/export", json: "[\(ctId), \(ctId + 1)]")
        XCTAssertEqual(set.status, 201)
        let setId = try XCTUnwrap(try set.object()["value"] as? Int)
        let zip = try user.get(node.base + "/images/export?id=\(setId)")
        XCTAssertEqual(zip.status, 200)
        let zipPath = Curl.folder + "/export-\(UUID().uuidString).zip"
        try zip.body.write(to: URL(fileURLWithPath: zipPath))
        defer { unlink(zipPath) }
        let (status, out, err) = try PeerTools.run("/usr/bin/env", ["python3", "-c", """
            import zipfile, pydicom, io, sys
            z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
            for n in sorted(z.namelist()):
                ds = pydicom.dcmread(io.BytesIO(z.read(n)))
                print(n, ds.PatientName)
            """, zipPath])
        XCTAssertEqual(status, 0, err)
        let listing = String(decoding: out, as: UTF8.self)
        XCTAssertTrue(listing.contains("_CompressedSamples^CT1-1CT1/") && listing.contains("CompressedSamples^MR1"), listing)

        // Modify: the new value is stored; delete: the image and its parents go.
        let modified = try user.put(node.base + "/images/\(ctId)/modify", json: #"[{"tagPath":{"tag":528446},"value":"Modified series"}]"#)
        XCTAssertEqual(modified.status, 201, modified.text)
        let seriesId = try XCTUnwrap(try modified.object()["seriesId"] as? Int)
        XCTAssertEqual((try user.get(node.base + "/metadata/series/\(seriesId)").object()["seriesDescription"] as? [String: Any])?["value"] as? String,
                       "Modified series")
        let modifiedId = try XCTUnwrap(try modified.object()["id"] as? Int)
        XCTAssertEqual(try user.delete(node.base + "/images/\(modifiedId)").status, 204)
        XCTAssertEqual(try user.get(node.base + "/images/\(modifiedId)").status, 404)
        XCTAssertEqual(try user.get(node.base + "/metadata/series/\(seriesId)").status, 404)
        XCTAssertEqual(try user.post(node.base + "/images/delete", json: "[999999, \(ctId + 1)]").status, 204)
        XCTAssertEqual(try user.get(node.base + "/metadata/patients").array().count, 0)

        // Log out: the cookie no longer works.
        XCTAssertEqual(try user.call("POST", node.base + "/users/logout").status, 201)
        XCTAssertEqual(try user.get(node.base + "/metadata/patients").status, 401)
    }
}

extension SliceboxFlowTests {
    func testAnonymizeKeysAndAnonymizedCopy() throws {
        let user = Curl()
        let ct = try pydicomFile("CT_small.dcm")
        let uploaded = try user.upload(node.base + "/images", file: ct).object()
        let id = try XCTUnwrap(uploaded["id"] as? Int)
        XCTAssertEqual(try user.get(node.base + "/anonymization/options").array().first { $0["name"] as? String == "RETAIN_UIDS" }?["rank"] as? Int, 120)

        // A copy, not stored: no identity left; the stored image is untouched.
        let copy = try user.call("POST", node.base + "/images/\(id)/anonymized", ["-H", "Content-Type: application/json", "--data-binary",
                                                                                  #"{"profile":{"options":[{"name":"BASIC_PROFILE"}]},"tagValues":[]}"#])
        XCTAssertEqual(copy.status, 200)
        XCTAssertFalse(copy.body.range(of: Data("CompressedSamples^CT1".utf8)) != nil)
        XCTAssertEqual(try user.get(node.base + "/metadata/patients").array().count, 1)

        // Anonymize in place: a new image with a pseudonym (the custom name honoured); the key leads back.
        let anonymized = try user.put(node.base + "/images/\(id)/anonymize", json: """
            {"profile":{"options":[{"name":"BASIC_PROFILE"}]},"tagValues":[{"tagPath":{"tag":1048592},"value":"Anon^Patient"}]}
            """)
        XCTAssertEqual(anonymized.status, 200, anonymized.text)
        let newId = try XCTUnwrap(try anonymized.object()["id"] as? Int)
        XCTAssertNotEqual(newId, id)
        XCTAssertEqual(try user.get(node.base + "/images/\(id)").status, 404)
        let patients = try user.get(node.base + "/metadata/patients").array()
        XCTAssertEqual(patients.map { ($0["patientName"] as? [String: Any])?["value"] as? String }, ["Anon^Patient"])
        let keys = try user.get(node.base + "/anonymization/keys").array()
        XCTAssertEqual(keys.count, 1)
        XCTAssertEqual(keys.first?["patientName"] as? String, "CompressedSamples^CT1")
        XCTAssertEqual(keys.first?["anonPatientName"] as? String, "Anon^Patient")
        XCTAssertEqual(keys.first?["imageId"] as? Int, newId)
        let keyId = try XCTUnwrap(keys.first?["id"] as? Int)
        XCTAssertFalse(try user.get(node.base + "/anonymization/keys/\(keyId)/keyvalues").array().isEmpty)
        let csv = try user.get(node.base + "/anonymization/keys/export/csv")
        XCTAssertEqual(csv.status, 200)
        XCTAssertTrue(csv.text.contains("CompressedSamples^CT1"), csv.text)
        XCTAssertEqual(try user.post(node.base + "/anonymization/keys/query", json: """
            {"startIndex":0,"count":5,"queryProperties":[{"propertyName":"patientName","operator":"like","propertyValue":"CT1"}]}
            """).array().count, 1)
        XCTAssertEqual(try user.put(node.base + "/images/\(newId)/anonymize", json: #"{"profile":{"options":[{"name":"NO_SUCH_OPTION"}]}}"#).status, 400)
        XCTAssertEqual(try user.put(node.base + "/images/424242/anonymize", json: "{}").status, 404)
    }
}

extension SliceboxFlowTests {
    func testJPEGWrappedAsSecondaryCaptureInTheStudy() throws {
        let user = Curl()
        let ct = try user.upload(node.base + "/images", file: try pydicomFile("CT_small.dcm")).object()
        let series = try user.get(node.base + "/metadata/series/\(try XCTUnwrap(ct["seriesId"] as? Int))").object()
        let studyId = try XCTUnwrap(series["studyId"] as? Int)
        // A photo made by Pillow (an independent encoder).
        let jpeg = Curl.folder + "/photo-\(UUID().uuidString).jpg"
        defer { unlink(jpeg) }
        let (made, _, err) = try PeerTools.run("/usr/bin/env", ["python3", "-c", """
            import sys; from PIL import Image
            img = Image.new("RGB", (120, 80));
            img.putdata([(x * 2, y * 3, 128) for y in range(80) for x in range(120)]); img.save(sys.argv[1], quality=90)
            """, jpeg])
        XCTAssertEqual(made, 0, err)
        let wrapped = try user.call("POST", node.base + "/images/jpeg?studyid=\(studyId)&description=Photo%20of%20the%20lesion",
                                    ["-H", "Content-Type: image/jpeg", "--data-binary", "@" + jpeg])
        XCTAssertEqual(wrapped.status, 201, wrapped.text)
        let imageId = try XCTUnwrap(try wrapped.object()["id"] as? Int)
        let newSeries = try user.get(node.base + "/metadata/series/\(try XCTUnwrap(try wrapped.object()["seriesId"] as? Int))").object()
        XCTAssertEqual((newSeries["seriesDescription"] as? [String: Any])?["value"] as? String, "Photo of the lesion")
        XCTAssertEqual(newSeries["studyId"] as? Int, studyId)
        // The JPEG is inside unchanged; pydicom decodes it to the right size; we render it.
        let file = try user.get(node.base + "/images/\(imageId)")
        let path = Curl.folder + "/sc-\(UUID().uuidString).dcm"
        try file.body.write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let (status, out, err2) = try PeerTools.run("/usr/bin/env", ["python3", "-c", """
            import sys, pydicom
            ds = pydicom.dcmread(sys.argv[1]); jpeg = open(sys.argv[2], "rb").read()
            frag = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
            assert frag.rstrip(b"\\0") == jpeg.rstrip(b"\\0"), "the JPEG was changed"
            print(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID, ds.pixel_array.shape, ds.PatientName)
            """, path, jpeg])
        XCTAssertEqual(status, 0, err2)
        XCTAssertEqual(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                       "1.2.840.10008.5.1.4.1.1.7 1.2.840.10008.1.2.4.50 (80, 120, 3) CompressedSamples^CT1")
        XCTAssertEqual(try PNGDecoderForTests.size(try user.get(node.base + "/images/\(imageId)/png").body).width, 120)
        // Bad bytes and unknown studies are refused.
        XCTAssertEqual(try user.call("POST", node.base + "/images/jpeg?studyid=\(studyId)", ["--data-binary", "not a jpeg"]).status, 400)
        XCTAssertEqual(try user.call("POST", node.base + "/images/jpeg?studyid=424242", ["--data-binary", "@" + jpeg]).status, 404)
    }
}

/// Reads a PNG's size from its IHDR (the pixels are checked by Codec's own PNG tests).
enum PNGDecoderForTests {
    static func size(_ data: Data) throws -> (width: Int, height: Int) {
        let b = [UInt8](data)
        guard b.count > 24, b[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw PeerMissing("not a PNG") }
        func be32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
        return (be32(16), be32(20))
    }
}
