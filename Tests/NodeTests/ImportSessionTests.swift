import XCTest
import Foundation
import Codec
import TestPeers
@testable import Node

/// Import sessions on real uploads: pydicom's test files, generated instances, a real JPEG.
final class ImportSessionTests: XCTestCase {
    var folder = ""
    var ingest: Ingest!
    var sessions: ImportSessions!

    override func setUpWithError() throws {
        folder = makeTemporaryFolder("import")
        ingest = try makeIngest(folder)
        sessions = ImportSessions(ingest: ingest, log: NodeLog(minimumLevel: .error))
    }

    override func tearDown() {
        ingest?.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    nonisolated(unsafe) static var testFiles: String?

    func testFile(_ name: String) throws -> [UInt8] {
        if Self.testFiles == nil { Self.testFiles = try PeerTools.pydicomTestFiles() }
        return [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: Self.testFiles! + "/" + name)))
    }

    /// A JPEG file: the first frame of pydicom's JPEG-compressed secondary capture.
    func jpeg() throws -> [UInt8] {
        let file = try DicomFile.read(bytes: try testFile("SC_rgb_jpeg_dcmtk.dcm"))
        let frame = try PixelFrames.frame(0, of: file.dataSet, transferSyntax: file.transferSyntax)
        XCTAssertEqual(Array(frame.prefix(2)), [0xFF, 0xD8], "a JPEG starts with SOI")
        return Array(frame)
    }

    func counters(_ id: Int64) throws -> [Int] {
        let s = try sessions.session(id: id)
        return [s.filesImported, s.filesAdded, s.filesRejected]
    }

    func testCountersForNewDuplicateAndRejectedUploadsAsSlicebox() throws {
        let session = try sessions.create(name: "ward 3", userId: 1, user: "admin")
        XCTAssertEqual(try counters(session.id), [0, 0, 0])
        let ct = try testFile("CT_small.dcm")

        guard case .added(let image) = try sessions.addImage(sessionId: session.id, bytes: ct) else { return XCTFail("new → added (201)") }
        XCTAssertEqual(try counters(session.id), [1, 1, 0])
        guard case .alreadyStored(let again) = try sessions.addImage(sessionId: session.id, bytes: ct) else {
            return XCTFail("same instance → already stored (200)")
        }
        XCTAssertEqual(again, image)
        XCTAssertEqual(try counters(session.id), [2, 1, 0])

        let other = try sessions.create(name: "jpeg upload", userId: 1, user: "admin")
        guard case .rejected(let error) = try sessions.addImage(sessionId: other.id, bytes: try jpeg()) else {
            return XCTFail("a JPEG is refused (400)")
        }
        guard case .invalidData = error else { return XCTFail("\(error)") }
        XCTAssertEqual(try counters(other.id), [0, 0, 1])
        XCTAssertEqual(try counters(session.id), [2, 1, 0], "the other session's counters are its own")

        // The stored image came through the session.
        let stored = try XCTUnwrap(try ingest.index.storedImage(id: image.id))
        XCTAssertEqual(stored.source, Source(type: .import, name: "ward 3", id: session.id))
        XCTAssertEqual(stored.image.sopInstanceUID, try DicomFile.read(bytes: ct).dataSet.string(.sopInstanceUID))
        XCTAssertEqual(try ingest.index.counts().images, 1)
    }

    func testBrokenUploadsAreRejectedWithTheirReason() throws {
        let session = try sessions.create(name: "broken", userId: 2, user: "ann")
        let ct = try testFile("CT_small.dcm")
        for bytes in [Array(ct.prefix(ct.count / 2)), try testFile("MR_truncated.dcm"), Array("hello".utf8), []] {
            guard case .rejected(let e) = try sessions.addImage(sessionId: session.id, bytes: bytes) else {
                return XCTFail("\(bytes.count) bytes accepted")
            }
            XCTAssertTrue("\(e)".hasPrefix("invalid DICOM data"), "\(e)")
        }
        XCTAssertEqual(try counters(session.id), [0, 0, 4])
        XCTAssertEqual(try ingest.index.counts().images, 0)
        XCTAssertEqual(try sessions.images(sessionId: session.id), [])
    }

    func testNamesAreUniquePerUser() throws {
        let s = try sessions.create(name: "study 7", userId: 1, user: "admin")
        _ = try sessions.addImage(sessionId: s.id, bytes: try makeInstance(sop: "2.2.2"))
        let same = try sessions.create(name: " study 7 ", userId: 1, user: "admin")
        XCTAssertEqual(same.id, s.id, "same user, same name: the existing session")
        XCTAssertEqual([same.filesImported, same.filesAdded], [1, 1])
        XCTAssertThrowsError(try sessions.create(name: "study 7", userId: 2, user: "bob")) { e in
            guard case NodeError.badRequest(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("another user"), m)
        }
        XCTAssertThrowsError(try sessions.create(name: "  ", userId: 1, user: "admin")) { e in
            guard case NodeError.badRequest = e else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(try sessions.list().map(\.name), ["study 7"])
    }

    func testListGetDeleteAndImagesOfASession() throws {
        let a = try sessions.create(name: "a", userId: 1, user: "admin")
        let b = try sessions.create(name: "b", userId: 2, user: "bob")
        XCTAssertEqual(a.user, "admin")
        XCTAssertEqual(b.userId, 2)
        XCTAssertEqual(a.created, a.lastUpdated)
        XCTAssertEqual(try sessions.list().map(\.id), [a.id, b.id])
        XCTAssertEqual(try sessions.list(startIndex: 1, count: 1).map(\.id), [b.id])
        XCTAssertThrowsError(try sessions.list(startIndex: -1))

        let ct = try testFile("CT_small.dcm"), mr = try testFile("MR_small.dcm")
        usleep(5_000)
        let first = try XCTUnwrap(try sessions.addImage(sessionId: a.id, bytes: ct).image)
        let second = try XCTUnwrap(try sessions.addImage(sessionId: a.id, bytes: mr).image)
        _ = try sessions.addImage(sessionId: a.id, bytes: ct)
        _ = try sessions.addImage(sessionId: b.id, bytes: mr)
        XCTAssertEqual(try sessions.images(sessionId: a.id), [first, second], "each image once")
        XCTAssertEqual(try sessions.images(sessionId: b.id), [second], "an image another session brought first counts for b too")
        XCTAssertGreaterThan(try sessions.session(id: a.id).lastUpdated, a.created)

        // A deleted image leaves the session's list; the counters stay what happened.
        _ = try ingest.delete(imageIds: [first.id])
        XCTAssertEqual(try sessions.images(sessionId: a.id), [second])
        XCTAssertEqual(try counters(a.id), [3, 2, 0])

        // Unknown sessions: not found, and nothing is stored for them.
        XCTAssertThrowsError(try sessions.addImage(sessionId: 999, bytes: try makeInstance(sop: "9.9.9"))) { e in
            guard case NodeError.notFound = e else { return XCTFail("\(e)") }
        }
        XCTAssertNil(try ingest.index.storedImage(sopInstanceUID: "9.9.9"))
        XCTAssertThrowsError(try sessions.session(id: 999))
        XCTAssertThrowsError(try sessions.images(sessionId: 999))

        try sessions.delete(id: a.id)
        try sessions.delete(id: 12345)
        XCTAssertEqual(try sessions.list().map(\.id), [b.id])
        XCTAssertThrowsError(try sessions.images(sessionId: a.id))
        XCTAssertNotNil(try ingest.index.storedImage(id: second.id), "images stay in the store")
        let links = try ingest.index.db.read { try $0.scalar("SELECT count(*) FROM import_session_images WHERE session_ref=?", [.integer(a.id)]) }
        XCTAssertEqual(links, 0)
    }

    func testStreamedUploadsAreCountedToo() throws {
        let s = try sessions.create(name: "streamed", userId: 1, user: "admin")
        let mr = try testFile("MR_small.dcm")
        let outcome = try sessions.addImage(sessionId: s.id) { file in
            for start in stride(from: 0, to: mr.count, by: 1000) { try file.write(Array(mr[start..<min(start + 1000, mr.count)])) }
        }
        guard case .added(let image) = outcome else { return XCTFail("\(outcome)") }
        ingest.settle()
        let stored = try XCTUnwrap(try ingest.index.storedImage(id: image.id))
        XCTAssertEqual([UInt8](try XCTUnwrap(FileManager.default.contents(atPath: try XCTUnwrap(ingest.store.readablePath(forKey: stored.storageKey))))), mr)
        guard case .rejected = try sessions.addImage(sessionId: s.id, writing: { try $0.write(Array("not an image".utf8)) }) else { return XCTFail() }
        // The client went away mid-upload: nothing was received, nothing is counted.
        struct Disconnected: Error {}
        XCTAssertThrowsError(try sessions.addImage(sessionId: s.id) { file in try file.write(Array(mr.prefix(100))); throw Disconnected() })
        XCTAssertEqual(try counters(s.id), [1, 1, 1])
        XCTAssertEqual(try ingest.index.counts().images, 1)
    }

    func testSessionsSurviveARestart() throws {
        let s = try sessions.create(name: "night", userId: 1, user: "admin")
        _ = try sessions.addImage(sessionId: s.id, bytes: try makeInstance(sop: "1.1.1"))
        _ = try sessions.addImage(sessionId: s.id, bytes: Array("x".utf8))
        ingest.stop()
        ingest = try makeIngest(folder)
        sessions = ImportSessions(ingest: ingest, log: NodeLog(minimumLevel: .error))
        XCTAssertEqual(try counters(s.id), [1, 1, 1])
        XCTAssertEqual(try sessions.images(sessionId: s.id).map(\.sopInstanceUID), ["1.1.1"])
        guard case .alreadyStored = try sessions.addImage(sessionId: s.id, bytes: try makeInstance(sop: "1.1.1")) else { return XCTFail() }
        XCTAssertEqual(try counters(s.id), [2, 1, 1])
    }
}
