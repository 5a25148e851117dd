import XCTest
import Foundation
import Codec
import TestPeers
@testable import RestBridge

/// Seed 004, the DICOM service, through curl on real files: accounts and tokens, developer
/// profiles, the API key lifecycle, allowed fields, reading files and ZIPs (images decoded by our
/// PNG decoder and by Pillow), generating Secondary Capture files (read by pydicom and dcmdump),
/// and the monthly quota.
final class DicomServiceAPITests: XCTestCase {
    var node: TestNode!
    var folder: String!
    var root: String { "http://127.0.0.1:\(node.bridge.port)" }

    override func setUpWithError() throws {
        node = try TestNode()
        folder = PeerTools.temporaryDirectory("dicomservice")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        node?.stop()
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
    }

    // MARK: helpers

    let anonymous = Curl(auth: [])
    func bearer(_ token: String) -> Curl { Curl(auth: ["-H", "Authorization: Bearer \(token)"]) }
    func apiKey(_ key: String) -> Curl { Curl(auth: ["-H", "Authorization: ApiKey \(key)"]) }

    /// Registers, logs in, creates a profile and a key: the seed's "Example API Key Flow".
    func developer(_ email: String) throws -> (access: String, key: String) {
        XCTAssertEqual(try anonymous.post(root + "/api/accounts/register/", json: #"{"email":"\#(email)","password":"securepassword123"}"#).status, 201)
        let tokens = try anonymous.post(root + "/api/token/", json: #"{"email":"\#(email)","password":"securepassword123"}"#).object()
        let access = try XCTUnwrap(tokens["access"] as? String)
        XCTAssertEqual(try bearer(access).post(root + "/api/developer/profiles/", json: #"{"purpose":"testing","organization":"My Organization"}"#).status, 201)
        let key = try bearer(access).post(root + "/api-keys/", json: #"{"name":"New API Key"}"#).object()
        return (access, try XCTUnwrap(key["key"] as? String))
    }

    func python(_ script: String, _ args: [String] = []) throws -> String {
        let (status, out, err) = try PeerTools.run("/usr/bin/env", ["python3", "-W", "error", "-c", script] + args, timeout: 120)
        guard status == 0 else { throw PeerMissing("python failed: \(err)") }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func read(_ curl: Curl, _ file: String, _ form: [String] = []) throws -> Curl.Reply {
        try curl.call("POST", root + "/api/dicom/read/file/", ["-F", "file=@\(file)"] + form.flatMap { ["-F", $0] })
    }

    // MARK: accounts, tokens, profiles, keys

    func testAccountsTokensAndProfiles() throws {
        let register = root + "/api/accounts/register/"
        let created = try anonymous.post(register, json: #"{"email":"user5@example.com","password":"securepassword123"}"#)
        XCTAssertEqual(created.status, 201, created.text)
        XCTAssertEqual(try created.object()["email"] as? String, "user5@example.com")
        XCTAssertNil(try created.object()["password"])
        XCTAssertEqual(try anonymous.post(register, json: #"{"email":"USER5@example.com","password":"securepassword123"}"#).status, 400)
        XCTAssertEqual(try anonymous.post(register, json: #"{"email":"not-an-address","password":"securepassword123"}"#).status, 400)
        XCTAssertEqual(try anonymous.post(register, json: #"{"email":"a@b.org","password":"short"}"#).status, 400)
        XCTAssertEqual(try anonymous.post(register, json: #"{"email":"a@b.org"}"#).status, 400)

        XCTAssertEqual(try anonymous.post(root + "/api/token/", json: #"{"email":"user5@example.com","password":"wrong-password"}"#).status, 401)
        XCTAssertEqual(try anonymous.post(root + "/api/token/", json: #"{"email":"nobody@example.com","password":"securepassword123"}"#).status, 401)
        XCTAssertEqual(try anonymous.get(root + "/api/token/").status, 405)
        let pair = try anonymous.post(root + "/api/token/", json: #"{"email":"user5@example.com","password":"securepassword123"}"#).object()
        let access = try XCTUnwrap(pair["access"] as? String), refresh = try XCTUnwrap(pair["refresh"] as? String)
        // HS256 JWTs (decoded here without our code's help).
        let encodedHeader = String(access.split(separator: ".")[0])
        let padded = encodedHeader + String(repeating: "=", count: (4 - encodedHeader.count % 4) % 4)
        let header = try JSONSerialization.jsonObject(with: XCTUnwrap(Data(base64Encoded: padded))) as? [String: Any]
        XCTAssertEqual(header?["alg"] as? String, "HS256")

        let refreshed = try anonymous.post(root + "/api/token/refresh/", json: #"{"refresh":"\#(refresh)"}"#)
        XCTAssertEqual(refreshed.status, 200, refreshed.text)
        let newAccess = try XCTUnwrap(try refreshed.object()["access"] as? String)
        XCTAssertEqual(try anonymous.post(root + "/api/token/refresh/", json: #"{"refresh":"\#(access)"}"#).status, 401)  // an access token does not refresh
        XCTAssertEqual(try bearer(refresh).get(root + "/api-keys/").status, 401)                                            // nor does a refresh token call
        XCTAssertEqual(try anonymous.post(root + "/api/token/refresh/", json: #"{"refresh":"garbage"}"#).status, 401)

        let profiles = root + "/api/developer/profiles/"
        XCTAssertEqual(try anonymous.post(profiles, json: #"{"purpose":"testing","organization":"Org"}"#).status, 401)
        XCTAssertEqual(try bearer(newAccess).get(profiles).array().count, 0)
        XCTAssertEqual(try bearer(newAccess).post(root + "/api-keys/", json: #"{"name":"early"}"#).status, 403)  // profile first
        XCTAssertEqual(try bearer(newAccess).post(profiles, json: #"{"organization":"Org"}"#).status, 400)
        let profile = try bearer(newAccess).post(profiles, json: #"{"purpose":"testing","organization":"My Organization"}"#)
        XCTAssertEqual(profile.status, 201, profile.text)
        XCTAssertEqual(try profile.object() as NSDictionary, ["purpose": "testing", "organization": "My Organization"] as NSDictionary)
        XCTAssertEqual(try bearer(access).post(profiles, json: #"{"purpose":"again","organization":""}"#).status, 400)
        XCTAssertEqual(try bearer(access).get(profiles).array().first?["organization"] as? String, "My Organization")
        // The Slicebox API is untouched by these routes.
        XCTAssertEqual(try Curl().get(root + "/api/users/current").status, 200)
        XCTAssertEqual(try Curl().get(root + "/api/metadata/patients").status, 200)
    }

    func testClosedRegistrationNeedsAnAdministrator() throws {
        node.stop()
        node = try TestNode { $0.dicomService.openRegistration = false }
        let body = #"{"email":"dev@example.com","password":"securepassword123"}"#
        XCTAssertEqual(try anonymous.post(root + "/api/accounts/register/", json: body).status, 401)
        XCTAssertEqual(try Curl().post(root + "/api/accounts/register/", json: body).status, 201)  // admin:admin
    }

    func testAPIKeyLifecycle() throws {
        let (access, key) = try developer("keys@example.com")
        // The key has the seed's shape and is shown once: the list has only its prefix.
        XCTAssertNotNil(key.range(of: #"^[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}$"#, options: .regularExpression), key)
        let list = try bearer(access).get(root + "/api-keys/").array()
        XCTAssertEqual(list.count, 1)
        XCTAssertEqual(list[0]["name"] as? String, "New API Key")
        XCTAssertEqual(list[0]["prefix"] as? String, String(key.prefix(8)))
        XCTAssertNil(list[0]["key"])
        XCTAssertFalse(try bearer(access).get(root + "/api-keys/").text.contains(String(key.suffix(32))))
        let id = try XCTUnwrap(list[0]["id"] as? Int)
        XCTAssertEqual(try bearer(access).post(root + "/api-keys/", json: #"{"name":""}"#).status, 400)

        // The key authenticates the DICOM endpoints (also as Api-Key), not key management.
        let ct = try pydicomFile("CT_small.dcm")
        XCTAssertEqual(try read(apiKey(key), ct, ["fields=PatientName"]).status, 200)
        XCTAssertEqual(try read(Curl(auth: ["-H", "Authorization: Api-Key \(key)"]), ct, ["fields=PatientName"]).status, 200)
        XCTAssertEqual(try apiKey(key).get(root + "/api-keys/").status, 401)
        XCTAssertNotNil(try bearer(access).get(root + "/api-keys/").array().first?["last_used"] as? String)
        // Wrong keys: unknown, right prefix with another secret, malformed.
        XCTAssertEqual(try read(apiKey(String(key.prefix(9)) + String(repeating: "A", count: 32)), ct).status, 401)
        XCTAssertEqual(try read(apiKey("nonsense"), ct).status, 401)
        XCTAssertEqual(try read(anonymous, ct).status, 401)

        // Another developer cannot delete this key.
        let other = try developer("other@example.com")
        XCTAssertEqual(try bearer(other.access).call("DELETE", root + "/api-keys/delete/\(id)/").status, 404)
        XCTAssertEqual(try bearer(access).call("DELETE", root + "/api-keys/delete/\(id)/").status, 204)
        XCTAssertEqual(try read(apiKey(key), ct).status, 401)
        XCTAssertEqual(try bearer(access).call("DELETE", root + "/api-keys/delete/\(id)/").status, 404)
        XCTAssertEqual(try bearer(access).get(root + "/api-keys/").array().count, 0)
        XCTAssertEqual(try read(apiKey(other.key), ct, ["fields=Rows"]).status, 200)
        // Only a hash is stored.
        let stored = try node.node.index.db.read { try $0.query("SELECT key_hash, prefix FROM developer_api_keys") }
        XCTAssertEqual(stored.count, 1)
        XCTAssertFalse(stored[0][0].string!.contains(String(other.key.suffix(32))))
        XCTAssertEqual(stored[0][0].string!.count, 64)
    }

    // MARK: allowed fields

    func testAllowedFieldsAndTheirFilters() throws {
        let url = root + "/api/dicom-format/allowed-fields/"
        let all = try XCTUnwrap(try anonymous.get(url).object()["allowedFields"] as? [String])
        XCTAssertGreaterThan(all.count, 4000)
        XCTAssertTrue(all.contains("PatientName") && all.contains("PixelData"))
        XCTAssertFalse(all.contains("CommandGroupLength") || all.contains("TransferSyntaxUID"))

        let contains = try XCTUnwrap(try anonymous.get(url + "?fields__contains=Patient").object()["allowedFields"] as? [String])
        XCTAssertTrue(contains.contains("PatientName") && contains.contains("PatientInsurancePlanCodeSequence") && contains.contains("IssuerOfPatientID"))
        XCTAssertTrue(contains.allSatisfy { $0.contains("Patient") })
        XCTAssertEqual(contains.count, all.filter { $0.contains("Patient") }.count)
        let starts = try XCTUnwrap(try anonymous.get(url + "?fields__startswith=Patient").object()["allowedFields"] as? [String])
        XCTAssertTrue(starts.allSatisfy { $0.hasPrefix("Patient") } && !starts.contains("IssuerOfPatientID") && starts.contains("PatientID"))
        let ends = try XCTUnwrap(try anonymous.get(url + "?fields__endswith=InstanceUID").object()["allowedFields"] as? [String])
        XCTAssertTrue(ends.contains("SOPInstanceUID") && ends.contains("StudyInstanceUID") && ends.allSatisfy { $0.hasSuffix("InstanceUID") })
        let regex = try anonymous.get(url + "?fields__regex=%5EStudy.*Date%24").object()
        XCTAssertEqual(Set(try XCTUnwrap(regex["allowedFields"] as? [String])), Set(all.filter { $0.hasPrefix("Study") && $0.hasSuffix("Date") }))
        XCTAssertTrue((regex["allowedFields"] as? [String])?.contains("StudyDate") ?? false)
        XCTAssertEqual(regex["dicomVersion"] as? String, "3.0")
        let both = try XCTUnwrap(try anonymous.get(url + "?fields__startswith=Patient&fields__endswith=Date").object()["allowedFields"] as? [String])
        XCTAssertTrue(both.contains("PatientBirthDate") && both.allSatisfy { $0.hasPrefix("Patient") && $0.hasSuffix("Date") })
        XCTAssertEqual(try anonymous.get(url + "?fields__contains=NoSuchThing").object()["allowedFields"] as? [String], [])
        XCTAssertEqual(try anonymous.get(url + "?fields__regex=%5B").status, 400)  // "["
        XCTAssertEqual(try anonymous.get(url + "?fields__icontains=x").status, 400)

        let types = try anonymous.get(root + "/api/dicom-format/required-field-type/").object()
        let map = try XCTUnwrap(types["requiredFieldTypes"] as? [String: String])
        XCTAssertEqual(map["PatientName"], "PersonName")
        XCTAssertEqual(map["Rows"], "int")
        XCTAssertEqual(map["SliceThickness"], "float")
        XCTAssertEqual(map["StudyDate"], "str")
        XCTAssertEqual(map["ReferencedImageSequence"], "Sequence")
        XCTAssertEqual(map["CommandGroupLength"], "int")
        XCTAssertEqual(map["Item"], "")
        XCTAssertEqual(map["PixelData"], "bytes")
        XCTAssertEqual(Set((try anonymous.get(root + "/api/dicom-format/required-field-type/?fields__startswith=Pixel").object()["requiredFieldTypes"] as? [String: String] ?? [:]).keys),
                       Set(map.keys.filter { $0.hasPrefix("Pixel") }))
    }

    // MARK: read/file

    func testReadFileReturnsFieldsAndEveryFrame() throws {
        let (_, key) = try developer("reader@example.com")
        let ct = try pydicomFile("CT_small.dcm")
        let reply = try read(apiKey(key), ct, ["fields=PatientName,Rows, Columns,Modality,ImageType,PixelSpacing,AccessionNumber,BurnedInAnnotation", "return_format=png"])
        XCTAssertEqual(reply.status, 200, reply.text)
        let o = try reply.object()
        XCTAssertEqual(o["PatientName"] as? String, "CompressedSamples^CT1")
        XCTAssertEqual(o["Rows"] as? String, "128")
        XCTAssertEqual(o["Modality"] as? String, "CT")
        XCTAssertEqual(o["ImageType"] as? String, "['ORIGINAL', 'PRIMARY', 'AXIAL']")
        XCTAssertEqual(o["PixelSpacing"] as? String, "[0.661468, 0.661468]")
        XCTAssertEqual(o["AccessionNumber"] as? String, "")  // present, empty
        XCTAssertTrue(o["BurnedInAnnotation"] is NSNull)    // absent
        XCTAssertNil(o["StudyDate"])
        XCTAssertEqual(o["ImageFormat"] as? String, "PNG")
        let images = try XCTUnwrap(o["Images"] as? [String])
        XCTAssertEqual(images.count, 1)
        // The PNG decodes (our decoder) to exactly the frame our renderer makes of the file...
        let png = try PNGDecoder.decode([UInt8](try XCTUnwrap(Data(base64Encoded: images[0]))))
        let file = try DicomFile.read(path: ct)
        XCTAssertEqual(png, try FrameRenderer.render(file.dataSet, transferSyntax: file.transferSyntax))
        XCTAssertEqual([png.width, png.height, png.channels], [128, 128, 1])
        // ...and Pillow reads it at the expected size.
        let pngPath = folder + "/ct.png"
        try Data(base64Encoded: images[0])!.write(to: URL(fileURLWithPath: pngPath))
        XCTAssertEqual(try python("import sys; from PIL import Image; im = Image.open(sys.argv[1]); im.load(); print(im.size, im.mode)", [pngPath]), "(128, 128) L")

        // JPEG and GIF, as Pillow reads them: same size; GIF keeps the gray values exactly, JPEG
        // (quality 90) stays close to them.
        for format in ["jpeg", "gif", "JPG"] {
            let other = try read(apiKey(key), ct, ["fields=Rows", "return_format=\(format)"]).object()
            XCTAssertEqual(other["ImageFormat"] as? String, format == "gif" ? "GIF" : "JPEG")
            let encoded = try XCTUnwrap((other["Images"] as? [String])?.first.flatMap { Data(base64Encoded: $0) })
            try encoded.write(to: URL(fileURLWithPath: folder + "/ct.\(format)"))
        }
        XCTAssertEqual(try python("""
            import sys, numpy as np
            from PIL import Image
            d = sys.argv[1]
            ref = np.asarray(Image.open(d + '/ct.png')).astype(int)
            out = []
            for name in ('ct.jpeg', 'ct.gif'):
                im = Image.open(d + '/' + name)
                a = np.asarray(im.convert('L')).astype(int)
                out.append('%s %s %d %.1f' % (im.format, im.size, np.abs(a - ref).max() if name.endswith('gif') else 0, np.abs(a - ref).mean()))
            print(' | '.join(out))
            """, [folder]).replacingOccurrences(of: #"JPEG \(128, 128\) 0 [01]\.\d"#, with: "JPEG ok", options: .regularExpression),
            "JPEG ok | GIF (128, 128) 0 0.0")

        // Without `fields`: every field, pydicom-style strings, no raw pixel data.
        let everything = try read(apiKey(key), ct).object()
        XCTAssertEqual(everything["SOPInstanceUID"] as? String, file.dataSet.string(.sopInstanceUID))
        XCTAssertEqual(everything["StudyDate"] as? String, "20040119")
        XCTAssertNil(everything["PixelData"])
        XCTAssertNil(everything["TransferSyntaxUID"])
        XCTAssertEqual((everything["Images"] as? [String])?.count, 1)
        XCTAssertGreaterThan(everything.count, 40)

        // A multi-frame file: one image per frame (15 frames of 10×10, 32-bit dose).
        let dose = try read(apiKey(key), try pydicomFile("rtdose.dcm"), ["fields=NumberOfFrames"]).object()
        let doseImages = try XCTUnwrap(dose["Images"] as? [String])
        XCTAssertEqual(dose["NumberOfFrames"] as? String, "15")
        XCTAssertEqual(doseImages.count, 15)
        let doseFile = try DicomFile.read(path: try pydicomFile("rtdose.dcm"))
        for (i, b64) in doseImages.enumerated() {
            XCTAssertEqual(try PNGDecoder.decode([UInt8](Data(base64Encoded: b64)!)),
                           try FrameRenderer.render(doseFile.dataSet, transferSyntax: doseFile.transferSyntax, options: RenderOptions(frame: i)))
        }
        // RLE-compressed color, two frames.
        let rle = try read(apiKey(key), try pydicomFile("SC_rgb_rle_2frame.dcm"), ["fields=PhotometricInterpretation"]).object()
        let rleImages = try XCTUnwrap(rle["Images"] as? [String])
        XCTAssertEqual(rleImages.count, 2)
        XCTAssertEqual(try PNGDecoder.decode([UInt8](Data(base64Encoded: rleImages[1])!)).channels, 3)
        // JPEG Baseline (YBR_FULL_422), 30 frames, as GIF.
        let ybr = try read(apiKey(key), try pydicomFile("examples_ybr_color.dcm"), ["fields=NumberOfFrames", "return_format=gif"]).object()
        let ybrImages = try XCTUnwrap(ybr["Images"] as? [String])
        XCTAssertEqual(ybrImages.count, 30)
        XCTAssertEqual(ybr["ImageFormat"] as? String, "GIF")
        try Data(base64Encoded: ybrImages[29])!.write(to: URL(fileURLWithPath: folder + "/ybr.gif"))
        XCTAssertEqual(try python("import sys; from PIL import Image; im = Image.open(sys.argv[1]); print(im.format, im.size)", [folder + "/ybr.gif"]),
                       "GIF (320, 240)")
        // JPEG 2000 pixel data, which we cannot decode: the fields still come, with the reason.
        let lossy = try read(apiKey(key), try pydicomFile("JPEG2000.dcm"), ["fields=Rows"]).object()
        XCTAssertEqual(lossy["Rows"] as? String, "1024")
        XCTAssertEqual((lossy["Images"] as? [String])?.count, 0)
        XCTAssertNotNil(lossy["ImageError"] as? String)
    }

    func testReadFileFromAZip() throws {
        let (_, key) = try developer("zipper@example.com")
        let zip = folder + "/batch.zip"
        // Python's zipfile: deflated and stored entries, a folder, a text file, macOS clutter.
        _ = try python("""
            import sys, zipfile
            with zipfile.ZipFile(sys.argv[1], 'w') as z:
                z.write(sys.argv[2], 'scans/ct.dcm', compress_type=zipfile.ZIP_DEFLATED)
                z.write(sys.argv[3], 'scans/mr.dcm', compress_type=zipfile.ZIP_STORED)
                z.write(sys.argv[4], 'dose.dcm', compress_type=zipfile.ZIP_DEFLATED)
                z.writestr('README.txt', 'not dicom')
                z.writestr('__MACOSX/._ct.dcm', 'resource fork')
                z.writestr('empty/', '')
            """, [zip, try pydicomFile("CT_small.dcm"), try pydicomFile("MR_small.dcm"), try pydicomFile("rtdose.dcm")])
        let reply = try read(apiKey(key), zip, ["fields=Modality,Rows", "return_format=png"])
        XCTAssertEqual(reply.status, 200, reply.text)
        let results = try reply.array()
        XCTAssertEqual(results.map { $0["FileName"] as? String }, ["scans/ct.dcm", "scans/mr.dcm", "dose.dcm", "README.txt"])
        XCTAssertEqual(results.map { $0["Modality"] as? String }, ["CT", "MR", "RTDOSE", nil])
        XCTAssertEqual(results.map { ($0["Images"] as? [String])?.count }, [1, 1, 15, nil])
        XCTAssertNotNil(results[3]["error"] as? String)
        let mr = try PNGDecoder.decode([UInt8](Data(base64Encoded: (results[1]["Images"] as! [String])[0])!))
        XCTAssertEqual([mr.width, mr.height], [64, 64])
        // Zip made by Info-ZIP's zip as well.
        let zip2 = folder + "/infozip.zip"
        try FileManager.default.copyItem(atPath: try pydicomFile("MR_small.dcm"), toPath: folder + "/mr.dcm")
        let (status, _, err) = try PeerTools.run("/usr/bin/zip", ["-j", "-9", zip2, folder + "/mr.dcm"], timeout: 30)
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(try read(apiKey(key), zip2, ["fields=Rows"]).array().first?["Rows"] as? String, "64")

        // A ZIP without DICOM, a corrupt ZIP, a file that is neither.
        let textOnly = folder + "/text.zip"
        _ = try python("import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr('a.txt', 'hello'); z.close()", [textOnly])
        XCTAssertEqual(try read(apiKey(key), textOnly).status, 400)
        var corrupt = [UInt8](try Data(contentsOf: URL(fileURLWithPath: zip)))
        corrupt[60] ^= 0xFF  // inside the first entry's deflated data: CRC or inflate fails
        try Data(corrupt).write(to: URL(fileURLWithPath: folder + "/corrupt.zip"))
        let damaged = try read(apiKey(key), folder + "/corrupt.zip", ["fields=Rows"])
        XCTAssertEqual(damaged.status, 200, damaged.text)
        XCTAssertNotNil(try damaged.array().first?["error"] as? String)
        try Data("PK\u{3}\u{4}garbage".utf8).write(to: URL(fileURLWithPath: folder + "/broken.zip"))
        XCTAssertEqual(try read(apiKey(key), folder + "/broken.zip").status, 400)
    }

    func testReadFileErrors() throws {
        let (access, key) = try developer("errors@example.com")
        let ct = try pydicomFile("CT_small.dcm")
        let k = apiKey(key)
        func status(_ reply: Curl.Reply, _ expected: Int, _ fragment: String, line: UInt = #line) {
            XCTAssertEqual(reply.status, expected, reply.text, line: line)
            XCTAssertTrue(reply.text.contains(fragment), "'\(fragment)' not in \(reply.text)", line: line)
        }
        status(try k.call("POST", root + "/api/dicom/read/file/", ["-F", "fields=Rows"]), 400, "'file'")
        status(try k.call("POST", root + "/api/dicom/read/file/", ["-H", "Content-Type: application/json", "--data-binary", "{}"]), 415, "multipart")
        status(try read(k, ct, ["fields=Rows,NotAKeyword,AlsoNot"]), 400, "'NotAKeyword', 'AlsoNot'")
        status(try read(k, ct, ["return_format=bmp"]), 400, "return_format")
        let text = folder + "/notes.txt"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        status(try read(k, text), 400, "neither a .dcm nor a .zip")
        let fake = folder + "/fake.dcm"
        try Data(repeating: 0x41, count: 300).write(to: URL(fileURLWithPath: fake))
        status(try read(k, fake), 400, "not a DICOM file")
        // A bearer token of a developer works too; an account without profile gets 403.
        XCTAssertEqual(try read(bearer(access), ct, ["fields=Rows"]).status, 200)
        XCTAssertEqual(try anonymous.post(root + "/api/accounts/register/", json: #"{"email":"np@example.com","password":"securepassword123"}"#).status, 201)
        let np = try XCTUnwrap(try anonymous.post(root + "/api/token/", json: #"{"email":"np@example.com","password":"securepassword123"}"#).object()["access"] as? String)
        status(try read(bearer(np), ct), 403, "developer profile")
        status(try read(Curl(auth: ["-H", "Authorization: Basic YWRtaW46YWRtaW4="]), ct), 401, "Bearer or ApiKey")
    }

    // MARK: generate

    func testGenerateFromPNGAndJPEG() throws {
        try PeerTools.requireTool("/usr/bin/dcmdump")
        let (_, key) = try developer("maker@example.com")
        // Source images made by Pillow: 8-bit RGB PNG, 16-bit gray PNG, RGBA PNG, baseline JPEGs.
        _ = try python("""
            import sys
            from PIL import Image
            d = sys.argv[1]
            rgb = Image.new('RGB', (37, 21))
            rgb.putdata([((x * 7) % 256, (y * 11) % 256, (x * y) % 256) for y in range(21) for x in range(37)])
            rgb.save(d + '/rgb.png')
            rgb.save(d + '/rgb.jpg', quality=92)
            rgb.save(d + '/rgb444.jpg', quality=92, subsampling=0)
            rgb.save(d + '/progressive.jpg', progressive=True)
            rgb.convert('L').save(d + '/gray.jpg', quality=95)
            rgb.save(d + '/image.gif')
            gray = Image.new('I;16', (19, 13))
            gray.putdata([(x * 3000 + y * 17) % 65536 for y in range(13) for x in range(19)])
            gray.save(d + '/gray16.png')
            rgba = rgb.convert('RGBA')
            rgba.putalpha(128)
            rgba.save(d + '/rgba.png')
            """, [folder])
        func generate(_ image: String, _ fields: [String] = [], name: String = "example_dicom") throws -> Curl.Reply {
            try apiKey(key).call("POST", root + "/api/dicom/generate/",
                                 ["-F", "file_name=\(name)", "-F", "image=@\(image)"] + fields.flatMap { ["-F", $0] })
        }
        /// Reads the file with pydicom (warnings are errors) and compares its pixels with Pillow's
        /// decoding of the source image; answers "shape photometric syntax maxdiff".
        func check(_ reply: Curl.Reply, against source: String, mode: String) throws -> String {
            XCTAssertEqual(reply.status, 200, reply.text)
            XCTAssertTrue(reply.headers.lowercased().contains("content-type: application/dicom"), reply.headers)
            let path = folder + "/generated-\(UUID().uuidString).dcm"
            try reply.body.write(to: URL(fileURLWithPath: path))
            let (status, dump, err) = try PeerTools.run("/usr/bin/dcmdump", ["-dc", path], timeout: 30)
            XCTAssertEqual(status, 0, err)
            XCTAssertFalse(err.lowercased().contains("warn") || err.lowercased().contains("error"), err)
            XCTAssertTrue(String(decoding: dump, as: UTF8.self).contains("=SecondaryCaptureImageStorage"))
            return try python("""
                import sys, warnings, numpy as np, pydicom
                from PIL import Image
                from pydicom import config
                config.settings.reading_validation_mode = config.RAISE
                ds = pydicom.dcmread(sys.argv[1])
                ds.remove_private_tags()
                a = ds.pixel_array.astype(np.int64)
                b = np.asarray(Image.open(sys.argv[2]).convert(sys.argv[3]) if sys.argv[3] != 'I;16' else Image.open(sys.argv[2])).astype(np.int64)
                print(a.shape, ds.PhotometricInterpretation, ds.file_meta.TransferSyntaxUID, int(np.abs(a - b).max()))
                """, [path, source, mode])
        }
        let png = try generate(folder + "/rgb.png", ["PatientName=Doe^John", "Modality=CT", "PatientID=123", "StudyDescription=Tëst ünïcode",
                                                       "StudyDate=20240229", "SeriesDescription=From PNG"])
        XCTAssertTrue(png.headers.contains("filename=\"example_dicom.dcm\""), png.headers)
        XCTAssertEqual(try check(png, against: folder + "/rgb.png", mode: "RGB"), "(21, 37, 3) RGB 1.2.840.10008.1.2.1 0")
        let file = try DicomFile.read(bytes: [UInt8](png.body))
        XCTAssertEqual(file.dataSet.string(.patientName), "Doe^John")
        XCTAssertEqual(file.dataSet.string(Tag(0x0008_1030)), "Tëst ünïcode")
        XCTAssertEqual(file.dataSet.string(.modality), "CT")
        XCTAssertEqual(file.dataSet.string(.sopClassUID), "1.2.840.10008.5.1.4.1.1.7")
        XCTAssertEqual(file.meta.string(.mediaStorageSOPInstanceUID), file.dataSet.string(.sopInstanceUID))
        XCTAssertTrue(file.dataSet.string(.sopInstanceUID)!.hasPrefix("2.25."))
        XCTAssertEqual(try check(try generate(folder + "/gray16.png"), against: folder + "/gray16.png", mode: "I;16"),
                       "(13, 19) MONOCHROME2 1.2.840.10008.1.2.1 0")
        XCTAssertEqual(try check(try generate(folder + "/rgba.png"), against: folder + "/rgba.png", mode: "RGB"), "(21, 37, 3) RGB 1.2.840.10008.1.2.1 0")

        // JPEG: wrapped unchanged, decoded by pydicom (through Pillow) like Pillow decodes the source.
        let jpegSource = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/rgb.jpg")))
        let jpeg = try generate(folder + "/rgb.jpg", ["PatientName=Doe^Jane"])
        XCTAssertEqual(try check(jpeg, against: folder + "/rgb.jpg", mode: "RGB"), "(21, 37, 3) YBR_FULL_422 1.2.840.10008.1.2.4.50 0")
        let wrapped = try DicomFile.read(bytes: [UInt8](jpeg.body))
        let fragment = Array(try XCTUnwrap(wrapped.dataSet[.pixelData]?.encapsulated?.fragments.first))
        XCTAssertEqual(Array(fragment.prefix(jpegSource.count)), jpegSource)
        XCTAssertEqual(wrapped.dataSet.string(Tag(0x0028_2110)), "01")
        // Without subsampling pydicom converts YCbCr to RGB itself: its rounding may differ from libjpeg's by 1.
        let full = try check(try generate(folder + "/rgb444.jpg"), against: folder + "/rgb444.jpg", mode: "RGB")
        XCTAssertTrue(full.hasPrefix("(21, 37, 3) YBR_FULL 1.2.840.10008.1.2.4.50 "), full)
        XCTAssertLessThanOrEqual(Int(full.split(separator: " ").last ?? "") ?? 99, 1, full)
        XCTAssertEqual(try check(try generate(folder + "/gray.jpg"), against: folder + "/gray.jpg", mode: "L"),
                       "(21, 37) MONOCHROME2 1.2.840.10008.1.2.4.50 0")
    }

    func testGenerateErrors() throws {
        let (_, key) = try developer("bad@example.com")
        _ = try python("""
            import sys
            from PIL import Image
            im = Image.new('RGB', (8, 8), (10, 20, 30))
            im.save(sys.argv[1] + '/ok.png'); im.save(sys.argv[1] + '/image.gif'); im.save(sys.argv[1] + '/prog.jpg', progressive=True)
            big = Image.effect_noise((64, 64), 40).convert('RGB'); big.save(sys.argv[1] + '/big.jpg', quality=95)
            """, [folder])
        let ok = folder + "/ok.png"
        func generate(_ form: [String]) throws -> Curl.Reply {
            try apiKey(key).call("POST", root + "/api/dicom/generate/", form.flatMap { ["-F", $0] })
        }
        func expect(_ form: [String], _ status: Int, _ fragment: String, line: UInt = #line) throws {
            let reply = try generate(form)
            XCTAssertEqual(reply.status, status, reply.text, line: line)
            XCTAssertTrue(reply.text.contains(fragment), "'\(fragment)' not in \(reply.text)", line: line)
        }
        try expect(["image=@\(ok)"], 400, "file_name")
        try expect(["file_name=x"], 400, "image")
        try expect(["file_name=../", "image=@\(ok)"], 400, "file_name")
        try expect(["file_name=x", "image=@\(folder!)/image.gif"], 415, "PNG and JPEG")
        try expect(["file_name=x", "image=@\(folder!)/prog.jpg"], 415, "progressive")
        var cut = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/big.jpg")))
        cut.removeLast(cut.count / 2)
        try Data(cut).write(to: URL(fileURLWithPath: folder + "/cut.jpg"))
        try expect(["file_name=x", "image=@\(folder!)/cut.jpg"], 400, "cannot be decoded")
        try expect(["file_name=x", "image=@\(ok)", "PatientNmae=Doe"], 400, "PatientNmae: not a DICOM keyword")
        try expect(["file_name=x", "image=@\(ok)", "Rows=10"], 400, "Rows: set by the service")
        try expect(["file_name=x", "image=@\(ok)", "SOPClassUID=1.2.3"], 400, "SOPClassUID")
        try expect(["file_name=x", "image=@\(ok)", "StudyDate=20231301"], 400, "StudyDate")
        try expect(["file_name=x", "image=@\(ok)", "StudyInstanceUID=1.2.03"], 400, "StudyInstanceUID")
        try expect(["file_name=x", "image=@\(ok)", "SOPInstanceUID="], 400, "Type 1")
        try expect(["file_name=x", "image=@\(ok)", "Modality=ct"], 400, "Modality")
        try expect(["file_name=x", "image=@\(ok)", "ReferencedImageSequence=x"], 400, "sequence")
        try expect(["file_name=x", "image=@\(ok)", "PatientName=A", "PatientName=B"], 400, "twice")
        var truncated = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ok)))
        truncated.removeLast(20)
        try Data(truncated).write(to: URL(fileURLWithPath: folder + "/truncated.png"))
        try expect(["file_name=x", "image=@\(folder!)/truncated.png"], 400, "image")
        XCTAssertEqual(try anonymous.call("POST", root + "/api/dicom/generate/", ["-F", "file_name=x", "-F", "image=@\(ok)"]).status, 401)
        // A file name is made safe for the header; a user-chosen UID is kept.
        let named = try generate(["file_name=a/b/ok é.dcm", "image=@\(ok)", "SOPInstanceUID=1.2.826.0.1.3680043.2.1125.1"])
        XCTAssertEqual(named.status, 200, named.text)
        XCTAssertTrue(named.headers.contains("filename=\"ok _.dcm\""), named.headers)
        XCTAssertEqual(try DicomFile.read(bytes: [UInt8](named.body)).meta.string(.mediaStorageSOPInstanceUID), "1.2.826.0.1.3680043.2.1125.1")
    }

    // MARK: quota and activity

    func testMonthlyQuotaAndActivitySummary() throws {
        node.stop()
        node = try TestNode { $0.dicomService.monthlyReadQuota = 2 }
        let (access, key) = try developer("quota@example.com")
        let ct = try pydicomFile("CT_small.dcm")
        XCTAssertEqual(try read(apiKey(key), ct, ["fields=Rows"]).status, 200)
        XCTAssertEqual(try read(bearer(access), ct, ["fields=Rows"]).status, 200)
        let over = try read(apiKey(key), ct, ["fields=Rows"])
        XCTAssertEqual(over.status, 429, over.text)
        let retry = try XCTUnwrap(over.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("retry-after:") })
        XCTAssertLessThanOrEqual(Int(retry.split(separator: " ").last ?? "") ?? 0, 31 * 86_400)
        XCTAssertGreaterThan(Int(retry.split(separator: " ").last ?? "") ?? 0, 0)
        XCTAssertEqual(try over.object() as NSDictionary,
                       ["error": "Monthly API request for '/api/dicom/read/file/' limit exceeded.", "quota": 2, "requests_used": 3] as NSDictionary)
        // Another developer has their own quota.
        let other = try developer("other@example.com")
        XCTAssertEqual(try read(apiKey(other.key), ct, ["fields=Rows"]).status, 200)

        let summary = try bearer(access).get(root + "/api/developer/profiles/activity-summary/").object()
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let c = utc.dateComponents([.year, .month, .day], from: Date())
        let today = String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        XCTAssertEqual(summary["daily_activity"] as? [NSDictionary], [["day": today, "count": 3] as NSDictionary])
        XCTAssertEqual(summary["monthly_total"] as? Int, 3)
        XCTAssertEqual(try apiKey(other.key).get(root + "/api/developer/profiles/activity-summary/").object()["monthly_total"] as? Int, 1)
        XCTAssertEqual(try anonymous.get(root + "/api/developer/profiles/activity-summary/").status, 401)
    }
}
