import XCTest
import Foundation
import TestPeers
@testable import RestBridge

/// Seed 000, the images data feed, under /feed through curl: health, UPSERT of the seed's own
/// example, partial updates, validation (400 naming the field), 401/403, reading back.
final class FeedAPITests: XCTestCase {
    var tokens: OpenSSLTokens!
    var node: TestNode!
    var root: String { "http://127.0.0.1:\(node.bridge.port)/feed/api" }

    override func setUpWithError() throws {
        tokens = try OpenSSLTokens()
        let t = tokens!
        node = try TestNode { $0.jwt.hs256Secret = t.hmacSecret; $0.jwt.rs256PublicKey = t.publicKey }
    }

    override func tearDown() {
        node?.stop()
        tokens?.remove()
    }

    func token(_ scope: String) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        return try tokens.rs256(["sub": "lab-uploader", "exp": now + 600, "scope": scope])
    }

    func writer() throws -> Curl { Curl(auth: ["-H", "Authorization: Bearer \(try token("Data.Write"))"]) }

    /// The request body example of the seed itself.
    func seedExample() throws -> String {
        let seeds = "/work/shared/seeds"
        guard let name = try FileManager.default.contentsOfDirectory(atPath: seeds).first(where: { $0.hasPrefix("000_") }) else {
            throw XCTSkip("seed 000 is not available at \(seeds)")
        }
        let text = try String(contentsOfFile: seeds + "/" + name, encoding: .utf8)
        let start = try XCTUnwrap(text.range(of: "```json\n"))
        let end = try XCTUnwrap(text.range(of: "```", range: start.upperBound..<text.endIndex))
        return String(text[start.upperBound..<end.lowerBound])
    }

    func testHealthAnswersTheCurrentUTCTime() throws {
        let reply = try Curl(auth: []).get(root)
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(reply.headers.lowercased().contains("content-type: application/json"))
        let text = try XCTUnwrap(try reply.json() as? String)
        // 2022-03-17T09:45:10.9359202Z: seven fractional digits, Z.
        XCTAssertNotNil(text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$"#, options: .regularExpression), text)
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try XCTUnwrap(f.date(from: text.replacingOccurrences(of: #"(\.\d{3})\d{4}"#, with: "$1", options: .regularExpression)))
        XCTAssertLessThan(abs(parsed.timeIntervalSinceNow), 5)
        // Slicebox keeps /api: the seed's clashing GET /api is only served under /feed.
        XCTAssertEqual(try Curl().get("http://127.0.0.1:\(node.bridge.port)/api/system/health").status, 200)
    }

    func testSeedExampleIsStoredAndReadBack() throws {
        let body = try seedExample()
        let reply = try writer().post(root + "/images", json: body)
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(try reply.object()["created"] as? [String], ["IM1"])
        let sent = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]])?.first)
        let stored = try Curl(auth: ["-H", "Authorization: Bearer \(try token("Data.Read"))"]).get(root + "/images/IM1").object()
        XCTAssertEqual(stored["id"] as? String, "IM1")
        XCTAssertEqual(stored["donor_id"] as? String, "DO1")
        XCTAssertEqual(stored["scanning_day"] as? Int, 14)
        XCTAssertNil(stored["scanning_date"] as? String)
        let mri = try XCTUnwrap(stored["mri_image"] as? [String: Double]), sentMRI = try XCTUnwrap(sent["mri_image"] as? [String: Double])
        XCTAssertEqual(mri, sentMRI)
        let analyses = try XCTUnwrap(stored["analyses"] as? [[String: Any]])
        XCTAssertEqual(analyses.count, 1)
        let sentAnalysis = try XCTUnwrap(sent["analysis"] as? [String: Any])
        XCTAssertEqual(analyses[0]["id"] as? String, "IA1IM1")
        XCTAssertEqual(analyses[0]["type"] as? String, "RFE")
        XCTAssertEqual(analyses[0]["parameters"] as? [String: String], sentAnalysis["parameters"] as? [String: String])
        XCTAssertEqual(analyses[0]["features"] as? [String: String], sentAnalysis["features"] as? [String: String])
        // The same batch again updates.
        XCTAssertEqual(try writer().post(root + "/images", json: body).object()["updated"] as? [String], ["IM1"])
    }

    func testPartialRecordsFillAndUpdate() throws {
        let w = try writer()
        XCTAssertEqual(try w.post(root + "/images", json: try seedExample()).status, 200)
        // Only some fields: they change, the rest stays; map entries merge key by key.
        let partial = """
            [{"id": "IM1", "scanning_date": "2022-03-01", "scanning_day": null,
              "mri_image": {"whole_tumor": 120.5, "median_mtt_edema": null},
              "analysis": {"id": "IA1IM1", "features": {"original_shape_MeshVolume": "999", "extra_feature": 1.5, "flag": true}}},
             {"id": "IM2", "donor_id": "DO1"},
             {"id": "IM2", "scanning_day": 3, "analysis": {"id": "IA1IM2", "type": "RFE"}}]
            """
        let reply = try w.post(root + "/images", json: partial)
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(try reply.object()["updated"] as? [String], ["IM1"])
        XCTAssertEqual(try reply.object()["created"] as? [String], ["IM2"])
        let im1 = try w.get(root + "/images/IM1").object()
        XCTAssertEqual(im1["donor_id"] as? String, "DO1")
        XCTAssertEqual(im1["scanning_date"] as? String, "2022-03-01")
        XCTAssertEqual(im1["scanning_day"] as? Int, 14)
        let mri = try XCTUnwrap(im1["mri_image"] as? [String: Double])
        XCTAssertEqual(mri["whole_tumor"], 120.5)
        XCTAssertEqual(mri["contrast_enhancing"], 902.0)
        XCTAssertEqual(mri["median_mtt_edema"], 2631.357421875)
        let analysis = try XCTUnwrap((im1["analyses"] as? [[String: Any]])?.first)
        XCTAssertEqual(analysis["type"] as? String, "RFE")
        let features = try XCTUnwrap(analysis["features"] as? [String: Any])
        XCTAssertEqual(features["original_shape_MeshVolume"] as? String, "999")
        XCTAssertEqual(features["extra_feature"] as? Double, 1.5)
        XCTAssertEqual(features["flag"] as? Bool, true)
        XCTAssertEqual(features["diagnostics_Image-original_Dimensionality"] as? String, "3D")
        XCTAssertEqual(features.count, 19)
        let im2 = try w.get(root + "/images/IM2").object()
        XCTAssertEqual(im2["donor_id"] as? String, "DO1")
        XCTAssertEqual(im2["scanning_day"] as? Int, 3)
        XCTAssertEqual((im2["analyses"] as? [[String: Any]])?.first?["id"] as? String, "IA1IM2")
        // A second analysis of IM1 joins the first.
        XCTAssertEqual(try w.post(root + "/images", json: #"[{"id":"IM1","analysis":{"id":"IA2IM1","type":"DL"}}]"#).status, 200)
        XCTAssertEqual((try w.get(root + "/images/IM1").object()["analyses"] as? [[String: Any]])?.map { $0["id"] as? String }, ["IA1IM1", "IA2IM1"])

        // Reading back: a paged list, filtered by donor, with the total in a header.
        XCTAssertEqual(try w.post(root + "/images", json: #"[{"id":"IM3","donor_id":"DO2"}]"#).status, 200)
        let page = try w.get(root + "/images?startindex=1&count=1")
        XCTAssertEqual(try page.array().map { $0["id"] as? String }, ["IM2"])
        XCTAssertTrue(page.headers.contains("X-Total-Count: 3"), page.headers)
        XCTAssertEqual(try w.get(root + "/images?donor_id=DO2").array().map { $0["id"] as? String }, ["IM3"])
        XCTAssertEqual(try w.get(root + "/images?count=-1").status, 400)
        XCTAssertEqual(try w.get(root + "/images/NOPE").status, 404)
    }

    func testInvalidDataIs400NamingTheField() throws {
        let w = try writer()
        let cases: [(String, String)] = [
            (#"{"id":"IM1"}"#, ""),
            (#"[{"donor_id":"DO1"}]"#, "[0].id"),
            (#"[{"id":""}]"#, "[0].id"),
            (#"[{"id":"IM1"}, {"id": 7}]"#, "[1].id"),
            (#"[{"id":"IM1","scanning_day":"14"}]"#, "[0].scanning_day"),
            (#"[{"id":"IM1","scanning_day":14.5}]"#, "[0].scanning_day"),
            (#"[{"id":"IM1","scanning_date":"2022-13-01"}]"#, "[0].scanning_date"),
            (#"[{"id":"IM1","scanning_date":"2021-02-29"}]"#, "[0].scanning_date"),
            (#"[{"id":"IM1","mri_image":{"whole_tumour":1}}]"#, "[0].mri_image.whole_tumour"),
            (#"[{"id":"IM1","mri_image":{"whole_tumor":"big"}}]"#, "[0].mri_image.whole_tumor"),
            (#"[{"id":"IM1","mri_image":[1,2]}]"#, "[0].mri_image"),
            (#"[{"id":"IM1","analysis":{"type":"RFE"}}]"#, "[0].analysis.id"),
            (#"[{"id":"IM1","analysis":{"id":"A","parameters":{"k":{"nested":1}}}}]"#, "[0].analysis.parameters.k"),
            (#"[{"id":"IM1","analysis":{"id":"A","features":"x"}}]"#, "[0].analysis.features"),
            (#"[{"id":"IM1","donorId":"DO1"}]"#, "[0].donorId"),
            ("[{\"id\":\"IM1\"", ""),
        ]
        for (body, field) in cases {
            let reply = try w.post(root + "/images", json: body)
            XCTAssertEqual(reply.status, 400, "\(body): \(reply.text)")
            XCTAssertEqual(try reply.object()["field"] as? String, field, "\(body): \(reply.text)")
            XCTAssertFalse((try reply.object()["error"] as? String ?? "").isEmpty)
        }
        // A batch is applied whole or not at all.
        let mixed = try w.post(root + "/images", json: #"[{"id":"IM9"},{"id":"IM10","scanning_day":"x"}]"#)
        XCTAssertEqual(mixed.status, 400)
        XCTAssertEqual(try w.get(root + "/images/IM9").status, 404)
        // An analysis id belongs to one image: reusing it for another fails the batch.
        XCTAssertEqual(try w.post(root + "/images", json: #"[{"id":"IM1","analysis":{"id":"A1"}}]"#).status, 200)
        let stolen = try w.post(root + "/images", json: #"[{"id":"IM5"},{"id":"IM2","analysis":{"id":"A1"}}]"#)
        XCTAssertEqual(stolen.status, 400, stolen.text)
        XCTAssertEqual(try stolen.object()["field"] as? String, "[1].analysis.id")
        XCTAssertEqual(try w.get(root + "/images/IM5").status, 404)
    }

    func testAuthorization() throws {
        let body = #"[{"id":"IM1"}]"#
        XCTAssertEqual(try Curl(auth: []).post(root + "/images", json: body).status, 401)
        XCTAssertEqual(try Curl(auth: []).get(root + "/images").status, 401)
        let reader = Curl(auth: ["-H", "Authorization: Bearer \(try token("Data.Read"))"])
        XCTAssertEqual(try reader.post(root + "/images", json: body).status, 403)
        XCTAssertEqual(try reader.get(root + "/images").status, 200)
        let other = Curl(auth: ["-H", "Authorization: Bearer \(try token("Something.Else"))"])
        XCTAssertEqual(try other.get(root + "/images").status, 403)
        XCTAssertEqual(try other.post(root + "/images", json: body).status, 403)
        XCTAssertEqual(try writer().post(root + "/images", json: body).status, 200)
        XCTAssertEqual(try writer().call("DELETE", root + "/images").status, 405)
    }
}
