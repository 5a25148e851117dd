import XCTest
import Codec
@testable import Node

final class IngestTests: XCTestCase {
    var folder = ""
    override func setUp() { folder = makeTemporaryFolder("ingest") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func testStoreIndexesEveryLevelAndFileIsByteIdentical() throws {
        let ingest = try makeIngest(folder)
        let bytes = try makeInstance(sop: "1.2.3.1.1.1")
        let r = try ingest.store(bytes: bytes, source: Source(type: .user, name: "admin", id: 1))
        XCTAssertTrue(r.outcome.added)
        let stored = try XCTUnwrap(try ingest.index.storedImage(id: r.outcome.imageId))
        XCTAssertEqual(stored.image.sopInstanceUID, "1.2.3.1.1.1")
        XCTAssertEqual(stored.source, Source(type: .user, name: "admin", id: 1))
        ingest.settle()
        let path = try XCTUnwrap(ingest.store.readablePath(forKey: stored.storageKey))
        XCTAssertTrue(path.hasSuffix(".dcm") && path.contains("/images/"), path)
        XCTAssertEqual([UInt8](FileManager.default.contents(atPath: path)!), bytes)
        let c = try ingest.index.counts()
        XCTAssertEqual([c.patients, c.studies, c.series, c.images], [1, 1, 1, 1])
        XCTAssertEqual(filesUnder(folder + "/incoming"), [])
    }

    func testFolderLayoutKeepsFoldersSmall() throws {
        let ingest = try makeIngest(folder)
        for i in 0..<50 { _ = try ingest.store(bytes: try makeInstance(sop: "1.2.9.\(i)"), source: .unknown) }
        ingest.settle()
        let files = filesUnder(folder + "/images")
        XCTAssertEqual(files.count, 50)
        // images/YYYY/MMDD/HHMMnnn/<key>.dcm, files that arrive together share a folder.
        for f in files {
            let parts = f.split(separator: "/")
            XCTAssertEqual(parts.count, 4, f)
            XCTAssertEqual(parts.map(\.count).prefix(3), [4, 4, 7], f)
        }
        XCTAssertLessThanOrEqual(Set(files.map { $0.split(separator: "/").dropLast().joined(separator: "/") }).count, 2)
        // No folder takes more than `filesPerFolder` keys.
        var perFolder: [String: Int] = [:]
        for _ in 0..<(2 * FileStore.filesPerFolder + 10) { perFolder[ingest.store.folder(forKey: ingest.store.newKey()), default: 0] += 1 }
        XCTAssertGreaterThanOrEqual(perFolder.count, 3)
        XCTAssertLessThanOrEqual(perFolder.values.max() ?? 0, FileStore.filesPerFolder)
    }

    func testReplacePolicyKeepsIdAndLeavesOneFile() throws {
        let ingest = try makeIngest(folder)
        let first = try ingest.store(bytes: try makeInstance(sop: "1.2.3.9", description: "first"), source: .unknown)
        let second = try ingest.store(bytes: try makeInstance(sop: "1.2.3.9", description: "second"), source: .unknown)
        XCTAssertEqual(first.outcome.imageId, second.outcome.imageId)
        XCTAssertTrue(first.outcome.added)
        XCTAssertFalse(second.outcome.added)
        ingest.settle()
        XCTAssertEqual(filesUnder(folder + "/images").count, 1, "the replaced file is removed")
        XCTAssertEqual(try ingest.index.counts().images, 1)
        XCTAssertEqual(try ingest.index.pendingFileDeletions(), [])
        let series = try ingest.index.db.read { try $0.query("SELECT series_description FROM series") }
        XCTAssertEqual(series.map { $0[0].string }, ["second"], "non-key attributes follow the newest copy")
    }

    func testKeepPolicyDiscardsTheNewCopy() throws {
        let ingest = try makeIngest(folder, policy: .keep)
        let first = try ingest.store(bytes: try makeInstance(sop: "1.2.3.9", description: "first"), source: .unknown)
        ingest.settle()
        let before = filesUnder(folder + "/images")
        let second = try ingest.store(bytes: try makeInstance(sop: "1.2.3.9", description: "second"), source: .unknown)
        ingest.settle()
        XCTAssertFalse(second.outcome.stored)
        XCTAssertEqual(second.outcome.imageId, first.outcome.imageId)
        XCTAssertEqual(filesUnder(folder + "/images"), before)
        XCTAssertEqual(filesUnder(folder + "/incoming"), [])
    }

    func testRejectPolicyRefusesWithDuplicateError() throws {
        let ingest = try makeIngest(folder, policy: .reject)
        _ = try ingest.store(bytes: try makeInstance(sop: "1.2.3.9"), source: .unknown)
        XCTAssertThrowsError(try ingest.store(bytes: try makeInstance(sop: "1.2.3.9"), source: .unknown)) { error in
            guard case NodeError.duplicate = error else { return XCTFail("\(error)") }
            XCTAssertNotEqual((error as! NodeError).storeStatus.rawValue & 0xF000, 0, "a failure status")
        }
        ingest.settle()
        XCTAssertEqual(filesUnder(folder + "/images").count, 1)
        XCTAssertEqual(filesUnder(folder + "/incoming"), [])
    }

    func testGarbageIsRefusedAndLeavesNothing() throws {
        let ingest = try makeIngest(folder)
        XCTAssertThrowsError(try ingest.store(bytes: Array("not dicom at all".utf8), source: .unknown)) { error in
            guard case NodeError.invalidData = error else { return XCTFail("\(error)") }
        }
        var truncated = try makeInstance(sop: "1.2.3.4")
        truncated.removeLast(60)
        XCTAssertThrowsError(try ingest.store(bytes: truncated, source: .unknown))
        XCTAssertEqual(filesUnder(folder), ["index.sqlite", "index.sqlite-shm", "index.sqlite-wal"].filter { FileManager.default.fileExists(atPath: folder + "/" + $0) })
        XCTAssertEqual(try ingest.index.counts().images, 0)
    }

    func testMovingAnInstanceToAnotherPatientRemovesEmptyParents() throws {
        let ingest = try makeIngest(folder)
        _ = try ingest.store(bytes: try makeInstance(patientName: "A", patientID: "1", sop: "1.9"), source: .unknown)
        _ = try ingest.store(bytes: try makeInstance(patientName: "B", patientID: "2", study: "1.2.3.2", series: "1.2.3.2.1", sop: "1.9"), source: .unknown)
        let c = try ingest.index.counts()
        XCTAssertEqual([c.patients, c.studies, c.series, c.images], [1, 1, 1, 1])
        let names = try ingest.index.db.read { try $0.query("SELECT patient_name FROM patients") }
        XCTAssertEqual(names.map { $0[0].string }, ["B"])
    }

    func testDeleteRemovesRowsParentsAndFile() throws {
        let ingest = try makeIngest(folder)
        let a = try ingest.store(bytes: try makeInstance(sop: "1.1"), source: .unknown)
        let b = try ingest.store(bytes: try makeInstance(series: "1.2.3.1.2", sop: "1.2"), source: .unknown)
        XCTAssertEqual(try ingest.delete(imageIds: [a.outcome.imageId]), 1)
        var c = try ingest.index.counts()
        XCTAssertEqual([c.patients, c.studies, c.series, c.images], [1, 1, 1, 1])
        XCTAssertEqual(filesUnder(folder + "/images").count, 1)
        XCTAssertEqual(try ingest.delete(imageIds: [b.outcome.imageId, 999]), 1)
        c = try ingest.index.counts()
        XCTAssertEqual([c.patients, c.studies, c.series, c.images], [0, 0, 0, 0])
        XCTAssertEqual(filesUnder(folder + "/images"), [])
    }

    /// A deleted image's id is never given to a new image (rows elsewhere may still name it),
    /// not even the highest one and not after a restart.
    func testImageIdsAreNeverReused() throws {
        var ingest = try makeIngest(folder)
        let a = try ingest.store(bytes: try makeInstance(sop: "3.1"), source: .unknown)
        let b = try ingest.store(bytes: try makeInstance(sop: "3.2"), source: .unknown)
        XCTAssertGreaterThan(b.outcome.imageId, a.outcome.imageId)
        XCTAssertEqual(try ingest.delete(imageIds: [b.outcome.imageId]), 1)
        let c = try ingest.store(bytes: try makeInstance(sop: "3.3"), source: .unknown)
        XCTAssertGreaterThan(c.outcome.imageId, b.outcome.imageId)
        XCTAssertEqual(try ingest.delete(imageIds: [a.outcome.imageId, c.outcome.imageId]), 2)
        ingest.stop()
        ingest = try makeIngest(folder)
        let d = try ingest.store(bytes: try makeInstance(sop: "3.4"), source: .unknown)
        XCTAssertGreaterThan(d.outcome.imageId, c.outcome.imageId)
        // A re-sent instance still keeps its id.
        XCTAssertEqual(try ingest.store(bytes: try makeInstance(sop: "3.4"), source: .unknown).outcome.imageId, d.outcome.imageId)
    }

    /// The three crash windows, staged by hand, repaired at start-up with nothing acknowledged lost.
    func testRepairAfterCrash() throws {
        var ingest = try makeIngest(folder)
        // 1. Crash after the index commit, before the rename: the file is still in incoming/.
        let committed = try stageCommitted(ingest, sop: "7.1", bytes: try makeInstance(sop: "7.1"))
        // 1b. Committed, but the crash came before its data was all on disk (checksum differs): its
        // store was never acknowledged, so row and file go.
        try stageCommitted(ingest, sop: "7.3", bytes: try makeInstance(sop: "7.3"), torn: true)
        // 2. Crash before the commit: a .part nobody knows (never acknowledged).
        let orphan = try ingest.store.create()
        try orphan.write([1, 2, 3])
        // 3. Crash after a delete's commit, before the unlink.
        let deleted = try ingest.store(bytes: try makeInstance(sop: "7.2"), source: .unknown)
        ingest.settle()
        let key = try XCTUnwrap(try ingest.index.storedImage(id: deleted.outcome.imageId)).storageKey
        _ = try ingest.index.deleteImages(ids: [deleted.outcome.imageId])
        XCTAssertNotNil(ingest.store.readablePath(forKey: key))
        XCTAssertNotNil(ingest.store.readablePath(forKey: committed.key), "readable from incoming/ before the move")

        ingest = try makeIngest(folder)
        let r = try ingest.repair()
        XCTAssertEqual(r.completed, 1)
        XCTAssertEqual(r.removed, 2)
        XCTAssertNil(try ingest.index.storedImage(sopInstanceUID: "7.3"))
        XCTAssertNotNil(try ingest.index.storedImage(sopInstanceUID: "7.1"))
        XCTAssertEqual(r.deleted, 1)
        XCTAssertEqual(filesUnder(folder + "/incoming"), [])
        XCTAssertEqual(ingest.store.readablePath(forKey: committed.key), ingest.store.finalPath(forKey: committed.key))
        XCTAssertNil(ingest.store.readablePath(forKey: key))
        XCTAssertEqual(try ingest.index.pendingFileDeletions(), [])
        XCTAssertEqual(try ingest.repair().completed + ingest.repair().removed, 0, "a second start finds nothing to do")
    }

    /// Parallel stores share index transactions (one flush for several), and each keeps its own
    /// outcome: rejected duplicates fail alone, everything else is stored once.
    func testParallelCommitsShareTransactionsAndKeepTheirOwnOutcomes() throws {
        let ingest = try makeIngest(folder, policy: .reject)
        let instances = try (0..<48).map { try makeInstance(sop: "9.\($0)") }
        for i in stride(from: 0, to: 48, by: 6) { _ = try ingest.store(bytes: instances[i], source: .unknown) }
        final class Outcomes: @unchecked Sendable {
            let lock = NSLock()
            var stored: [Int] = [], rejected: [Int] = [], other: [String] = []
            func add(_ i: Int, _ error: Error?) {
                lock.lock(); defer { lock.unlock() }
                switch error {
                case nil: stored.append(i)
                case NodeError.duplicate?: rejected.append(i)
                case let e?: other.append("\(i): \(e)")
                }
            }
        }
        let outcomes = Outcomes()
        // One thread per store (concurrentPerform runs only as many as there are cores), and the
        // index's writer held until several commits are waiting behind the first: whether commits
        // overlap must not depend on the machine's timing.
        let finished = DispatchGroup()
        let grouped = ingest.index.groupedAdds!
        try ingest.index.db.write { _ in
            for i in 0..<48 {
                finished.enter()
                Thread.detachNewThread {
                    do { _ = try ingest.store(bytes: instances[i], source: .unknown); outcomes.add(i, nil) } catch { outcomes.add(i, error) }
                    finished.leave()
                }
            }
            let deadline = Date().addingTimeInterval(60)
            while grouped.queued < 8, Date() < deadline { usleep(1_000) }
            XCTAssertGreaterThanOrEqual(grouped.queued, 8, "stores queue behind a commit that is waiting for the writer")
        }
        XCTAssertEqual(finished.wait(timeout: .now() + 120), .success)
        let (stored, rejected) = (outcomes.stored, outcomes.rejected)
        XCTAssertEqual(outcomes.other, [])
        XCTAssertEqual(rejected.sorted(), Array(stride(from: 0, to: 48, by: 6)))
        XCTAssertEqual(stored.count, 40)
        ingest.settle()
        for i in 0..<48 {
            let image = try XCTUnwrap(try ingest.index.storedImage(sopInstanceUID: "9.\(i)"), "9.\(i)")
            let path = try XCTUnwrap(ingest.store.readablePath(forKey: image.storageKey))
            XCTAssertEqual([UInt8](try XCTUnwrap(FileManager.default.contents(atPath: path))), instances[i])
        }
        XCTAssertEqual(try ingest.index.db.read { try $0.scalar("SELECT count(*) FROM images") }, 48)
        XCTAssertGreaterThan(ingest.index.groupedAdds.largestBatch, 1, "some commits carried several images")
    }

    func testDataWithoutMetaGroupGetsOne() throws {
        let ingest = try makeIngest(folder)
        let full = try DicomFile.read(bytes: try makeInstance(sop: "5.5"))
        let raw = try DicomFile.encode(full.dataSet, transferSyntax: .implicitVRLittleEndian)
        let r = try ingest.store(bytes: raw, source: .unknown)
        let stored = try XCTUnwrap(try ingest.index.storedImage(id: r.outcome.imageId))
        XCTAssertEqual(stored.transferSyntaxUID, TransferSyntax.implicitVRLittleEndianUID)
        ingest.settle()
        let back = try DicomFile.read(path: ingest.store.finalPath(forKey: stored.storageKey))
        XCTAssertEqual(back.meta.string(.mediaStorageSOPInstanceUID), "5.5")
        XCTAssertEqual(back.dataSet.string(.sopInstanceUID), "5.5")
    }

    func testValuesWithQuotesAreStoredAsGiven() throws {
        // Bound parameters only: SQL metacharacters are data.
        let ingest = try makeIngest(folder)
        let name = "O'Brien^x'); DROP TABLE images;--"
        _ = try ingest.store(bytes: try makeInstance(patientName: name, sop: "8.8"), source: .unknown)
        let names = try ingest.index.db.read { try $0.query("SELECT patient_name FROM patients") }
        XCTAssertEqual(names.map { $0[0].string }, [name])
        XCTAssertEqual(try ingest.index.counts().images, 1)
    }

    func testMigrationsRecordTheSchemaVersion() throws {
        _ = try makeIngest(folder)
        let index = try SQLiteIndex(path: folder + "/index.sqlite")
        XCTAssertEqual(try index.db.withWriter { try $0.scalar("PRAGMA user_version") }, Int64(Migrations.all.count))
        XCTAssertEqual(try index.db.withWriter { try $0.query("PRAGMA journal_mode").first?.first?.string }, "wal")
        XCTAssertEqual(try index.db.withWriter { try $0.scalar("PRAGMA foreign_keys") }, 1)
        // A newer database than the program is refused, not silently used.
        try index.db.withWriter { try $0.execute("PRAGMA user_version = 999") }
        XCTAssertThrowsError(try SQLiteIndex(path: folder + "/index.sqlite"))
    }
}

final class ChecksumTests: XCTestCase {
    func testChunkingDoesNotChangeTheValueAndChangesAreSeen() {
        var bytes = [UInt8](repeating: 0, count: 100_003)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        let whole = Checksum.of(bytes)
        for chunk in [1, 7, 31, 32, 33, 4096, 65_537] {
            var c = Checksum()
            var i = 0
            while i < bytes.count {
                let n = min(chunk, bytes.count - i)
                bytes[i..<(i + n)].withUnsafeBytes { c.update($0) }
                i += n
            }
            XCTAssertEqual(c.value, whole, "chunk \(chunk)")
        }
        // A torn write: one zeroed 4 KiB block, a flipped bit, a lost tail, a zero-filled file.
        var zeroed = bytes; for i in 8192..<12288 { zeroed[i] = 0 }
        var flipped = bytes; flipped[50_000] ^= 1
        let variants = [zeroed, flipped, Array(bytes.dropLast(1)), [UInt8](repeating: 0, count: bytes.count)]
        for v in variants { XCTAssertNotEqual(Checksum.of(v), whole) }
        XCTAssertNotEqual(Checksum.of([]), Checksum.of([0]))
    }
}
