import XCTest
import Foundation
import Codec
import TestPeers
@testable import Node

/// Watched folders on real files: pydicom's test files and generated instances, written the ways
/// files arrive (copied, moved in, written slowly, into new subfolders), with real inotify.
final class DirectoryWatchTests: XCTestCase {
    var root = ""
    var data = ""
    var inbox = ""
    var nodes: [WatchNode] = []

    /// Counts the ingest's `imageAdded` events (how many times each image was stored).
    final class StoreEvents: IngestObserver, @unchecked Sendable {
        private let lock = NSLock()
        private var events: [(imageId: Int64, added: Bool, source: Source)] = []
        func ingest(_ event: IngestEvent) {
            if case .imageAdded(let id, _, let source, let added) = event { lock.lock(); events.append((id, added, source)); lock.unlock() }
        }
        var all: [(imageId: Int64, added: Bool, source: Source)] { lock.lock(); defer { lock.unlock() }; return events }
        func count(imageId: Int64) -> Int { all.filter { $0.imageId == imageId }.count }
    }

    /// Waits up to `seconds` for `condition`; false if it never held.
    func eventually(_ seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    override func setUp() {
        root = makeTemporaryFolder("watch")
        data = root + "/data"
        inbox = root + "/inbox"
        try? FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for n in nodes { stopNode(n) }
        try? FileManager.default.removeItem(atPath: root)
    }

    struct WatchNode {
        var ingest: Ingest
        var log: NodeLog
        var events: StoreEvents
        var watches: DirectoryWatches
    }

    /// A store on `data` with a persisted log, an event counter and a started watch service.
    func startNode(settle: Double = 0.3, retry: Double = 0.3) throws -> WatchNode {
        let ingest = try makeIngest(data)
        let log = NodeLog(minimumLevel: .error)
        log.persist(to: ingest.index, interval: 3600)
        let events = StoreEvents()
        ingest.add(observer: events)
        let watches = DirectoryWatches(ingest: ingest, log: log, settleInterval: settle, retryInterval: retry)
        try watches.start()
        let node = WatchNode(ingest: ingest, log: log, events: events, watches: watches)
        nodes.append(node)
        return node
    }

    func stopNode(_ node: WatchNode) {
        node.watches.stop()
        node.ingest.stop()
        node.log.stop()
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)), path)
    }

    func sopInstanceUID(_ path: String) throws -> String {
        try XCTUnwrap(try DicomFile.read(path: path).dataSet.string(.sopInstanceUID))
    }

    func stored(_ node: WatchNode, _ sop: String) throws -> StoredImage? { try node.ingest.index.storedImage(sopInstanceUID: sop) }

    func storedBytes(_ node: WatchNode, _ image: StoredImage) throws -> [UInt8] {
        node.ingest.settle()
        let path = try XCTUnwrap(node.ingest.store.readablePath(forKey: image.storageKey))
        return [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: path)))
    }

    /// The watch's warnings in the persisted log.
    func warnings(_ node: WatchNode) throws -> [String] {
        node.log.flush()
        return try node.ingest.index.logEntries(count: 1000, subject: "watch", type: .WARN).map(\.message)
    }

    func waitIdle(_ node: WatchNode, _ watch: WatchedDirectory, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(eventually { node.watches.isIdle(id: watch.id) }, "the watch settles", file: file, line: line)
    }

    // MARK: tests

    func testDroppedFilesAreStoredWithTheWatchAsSource() throws {
        let testFiles = try PeerTools.pydicomTestFiles()
        // Present before the watch starts: imported by the start-up scan.
        try FileManager.default.copyItem(atPath: testFiles + "/CT_small.dcm", toPath: inbox + "/CT_small.dcm")
        // A symbolic link is never followed.
        let outside = root + "/outside.dcm"
        try write(try makeInstance(sop: "1.2.826.0.1.3680043.2.1.9.9"), to: outside)
        try FileManager.default.createSymbolicLink(atPath: inbox + "/link.dcm", withDestinationPath: outside)

        let node = try startNode()
        let watch = try node.watches.add(name: "inbox", path: inbox)
        XCTAssertTrue(watch.active)
        XCTAssertEqual(watch.source, Source(type: .directory, name: "inbox", id: watch.id))

        let ct = try sopInstanceUID(testFiles + "/CT_small.dcm")
        XCTAssertTrue(try eventually { try stored(node, ct) != nil }, "a file there at start is imported")

        // Copied in while watched (cp: create, write, close).
        try FileManager.default.copyItem(atPath: testFiles + "/MR_small.dcm", toPath: inbox + "/MR_small.dcm")
        let mr = try sopInstanceUID(testFiles + "/MR_small.dcm")
        XCTAssertTrue(try eventually { try stored(node, mr) != nil }, "a file copied in is imported")
        // Moved in (rename from outside the watch: IN_MOVED_TO).
        let generated = try makeInstance(patientName: "Moved^In", patientID: "M1", sop: "1.2.826.0.1.3680043.2.1.9.10")
        try write(generated, to: root + "/staging.dcm")
        try FileManager.default.moveItem(atPath: root + "/staging.dcm", toPath: inbox + "/moved.dcm")
        XCTAssertTrue(try eventually { try stored(node, "1.2.826.0.1.3680043.2.1.9.10") != nil }, "a file moved in is imported")
        waitIdle(node, watch)

        for (sop, original) in [(ct, testFiles + "/CT_small.dcm"), (mr, testFiles + "/MR_small.dcm")] {
            let image = try XCTUnwrap(try stored(node, sop))
            XCTAssertEqual(image.source, watch.source)
            XCTAssertEqual(try storedBytes(node, image), [UInt8](FileManager.default.contents(atPath: original)!), "stored whole, byte for byte")
        }
        XCTAssertNil(try stored(node, "1.2.826.0.1.3680043.2.1.9.9"), "the symbolic link was not followed")
        XCTAssertEqual(try node.ingest.index.counts().images, 3)
        XCTAssertEqual(node.events.all.count, 3, "each file stored once")
        XCTAssertTrue(FileManager.default.fileExists(atPath: inbox + "/MR_small.dcm"), "left in place by default")
    }

    func testFilesInNewSubfoldersAreImported() throws {
        let node = try startNode()
        let watch = try node.watches.add(name: "inbox", path: inbox)
        waitIdle(node, watch)
        // A nested tree made in one go (the inner folders exist before their parent is watched),
        // a file written into it at once, and one written later into a folder made after.
        try write(try makeInstance(sop: "7.1"), to: inbox + "/a/b/c/deep.dcm")
        XCTAssertTrue(try eventually { try stored(node, "7.1") != nil }, "a file in a new nested folder")
        try FileManager.default.createDirectory(atPath: inbox + "/a/b/later", withIntermediateDirectories: true)
        usleep(200_000)
        try write(try makeInstance(sop: "7.2"), to: inbox + "/a/b/later/x.dcm")
        XCTAssertTrue(try eventually { try stored(node, "7.2") != nil }, "a file in a folder made after the scan")
        // A whole folder moved in from outside.
        try write(try makeInstance(sop: "7.3"), to: root + "/batch/one.dcm")
        try write(try makeInstance(sop: "7.4"), to: root + "/batch/sub/two.dcm")
        try FileManager.default.moveItem(atPath: root + "/batch", toPath: inbox + "/batch")
        XCTAssertTrue(try eventually { try stored(node, "7.3") != nil && stored(node, "7.4") != nil }, "a folder moved in")
        waitIdle(node, watch)
        XCTAssertEqual(node.events.all.count, 4)
        for e in node.events.all { XCTAssertEqual(e.source, watch.source) }
    }

    func testSlowlyWrittenFileIsImportedOnceAndWhole() throws {
        let node = try startNode(settle: 1.0)
        let watch = try node.watches.add(name: "inbox", path: inbox)
        waitIdle(node, watch)
        let bytes = try makeInstance(sop: "1.2.826.0.1.3680043.2.1.8.1")
        // The first chunk ends where the pixel data element starts: on its own it is a valid,
        // complete-looking instance, so importing it at the first close would store a part.
        let cuts = [0, bytes.count - 140, bytes.count - 70, bytes.count]

        // A writer that closes and reopens between chunks (appends), pausing shorter than the settle time.
        let appended = inbox + "/appended.dcm"
        for i in 0..<3 {
            if i == 0 { XCTAssertTrue(FileManager.default.createFile(atPath: appended, contents: nil)) }
            let handle = try XCTUnwrap(FileHandle(forWritingAtPath: appended))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(bytes[cuts[i]..<cuts[i + 1]]))
            try handle.close()
            usleep(300_000)
        }
        // A writer that creates the file, reopens it and pauses longer than the settle time while
        // it holds it open: waited for until it closes.
        let second = try makeInstance(sop: "1.2.826.0.1.3680043.2.1.8.2")
        let held = inbox + "/held.dcm"
        XCTAssertTrue(FileManager.default.createFile(atPath: held, contents: nil))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: held))
        for i in 0..<3 {
            try handle.write(contentsOf: Data(second[cuts[i]..<min(cuts[i + 1], second.count)]))
            usleep(1_500_000)
        }
        XCTAssertNil(try stored(node, "1.2.826.0.1.3680043.2.1.8.2"), "not imported while still open for writing")
        try handle.close()

        XCTAssertTrue(try eventually { try stored(node, "1.2.826.0.1.3680043.2.1.8.1") != nil && stored(node, "1.2.826.0.1.3680043.2.1.8.2") != nil })
        waitIdle(node, watch)
        node.ingest.drainEvents()
        for (sop, whole) in [("1.2.826.0.1.3680043.2.1.8.1", bytes), ("1.2.826.0.1.3680043.2.1.8.2", second)] {
            let image = try XCTUnwrap(try stored(node, sop))
            XCTAssertEqual(node.events.count(imageId: image.image.id), 1, "\(sop) stored exactly once")
            XCTAssertEqual(try storedBytes(node, image), whole, "\(sop) stored whole")
        }
        XCTAssertEqual(try warnings(node), [], "no partial file was tried and refused")
    }

    func testNonDICOMAndBrokenFilesAreLoggedOnceAndTheWatchGoesOn() throws {
        let testFiles = try PeerTools.pydicomTestFiles()
        var node = try startNode()
        let watch = try node.watches.add(name: "inbox", path: inbox)
        waitIdle(node, watch)
        let ct = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: testFiles + "/CT_small.dcm")))
        try write(Array("results are in the attached report\n".utf8), to: inbox + "/notes.txt")
        try write(Array(ct.prefix(ct.count / 2)), to: inbox + "/sub/truncated.dcm")
        try write([], to: inbox + "/empty.dcm")
        try write(try makeInstance(sop: "5.5.1"), to: inbox + "/good.dcm")
        XCTAssertTrue(try eventually { try stored(node, "5.5.1") != nil }, "a good file after bad ones is imported")
        waitIdle(node, watch)
        // Time for any retry to show.
        usleep(1_000_000)
        try write(try makeInstance(sop: "5.5.2"), to: inbox + "/good2.dcm")
        XCTAssertTrue(try eventually { try stored(node, "5.5.2") != nil }, "the watch still runs")
        waitIdle(node, watch)

        func linesAbout(_ name: String) throws -> Int { try warnings(node).filter { $0.contains(name) }.count }
        for name in ["notes.txt", "sub/truncated.dcm", "empty.dcm"] {
            XCTAssertEqual(try linesAbout(name), 1, "\(name): one log line")
        }
        let lines = try warnings(node)
        XCTAssertTrue(lines.contains { $0.contains("truncated.dcm") && $0.contains("invalid DICOM data") }, lines.joined(separator: "\n"))
        XCTAssertEqual(try node.ingest.index.counts().images, 2)

        // After a restart the refused files are not tried (nor reported) again…
        stopNode(node)
        node = try startNode()
        waitIdle(node, watch)
        for name in ["notes.txt", "sub/truncated.dcm", "empty.dcm"] {
            XCTAssertEqual(try linesAbout(name), 1, "\(name): not reported again after a restart")
        }
        // …until they change: the completed file is imported.
        let sop = try sopInstanceUID(testFiles + "/CT_small.dcm")
        try write(ct, to: inbox + "/sub/truncated.dcm")
        XCTAssertTrue(try eventually { try stored(node, sop) != nil }, "a refused file that changed is tried again")
        XCTAssertEqual(node.events.all.count, 1)
    }

    func testRestartDoesNotImportAgain() throws {
        var node = try startNode()
        let watch = try node.watches.add(name: "inbox", path: inbox)
        for (i, path) in ["one.dcm", "sub/two.dcm", "sub/deeper/three.dcm"].enumerated() {
            try write(try makeInstance(sop: "3.3.\(i)"), to: inbox + "/" + path)
        }
        XCTAssertTrue(try eventually { try node.ingest.index.counts().images == 3 })
        waitIdle(node, watch)
        node.ingest.drainEvents()
        XCTAssertEqual(node.events.all.count, 3)
        // A file renamed inside the watch is known under its new name.
        try FileManager.default.moveItem(atPath: inbox + "/one.dcm", toPath: inbox + "/sub/one-renamed.dcm")
        usleep(200_000)
        waitIdle(node, watch)
        node.ingest.drainEvents()
        XCTAssertEqual(node.events.all.count, 3, "a file renamed inside the watch is not stored again")
        stopNode(node)

        // While the node is down: one new file, one file rewritten with another instance.
        try write(try makeInstance(sop: "3.3.9"), to: inbox + "/sub/new.dcm")
        try write(try makeInstance(sop: "3.3.8"), to: inbox + "/sub/deeper/three.dcm")

        node = try startNode()  // a new ingest, index connection and service on the same folders
        XCTAssertTrue(try eventually { try stored(node, "3.3.9") != nil && stored(node, "3.3.8") != nil })
        waitIdle(node, watch)
        usleep(500_000)
        node.ingest.drainEvents()
        XCTAssertEqual(node.events.all.map(\.added), [true, true], "only the new and the changed file are stored after the restart")
        XCTAssertEqual(try node.ingest.index.counts().images, 5)
        let known = try node.ingest.index.db.read { try $0.query("SELECT path, outcome FROM directory_watch_files ORDER BY path") }
        XCTAssertEqual(known.map { $0[0].string ?? "" },
                       ["sub/deeper/three.dcm", "sub/new.dcm", "sub/one-renamed.dcm", "sub/two.dcm"])
        XCTAssertEqual(Set(known.map { $0[1].string ?? "" }), ["imported"])
        // A file deleted while watched is forgotten.
        try FileManager.default.removeItem(atPath: inbox + "/sub/new.dcm")
        XCTAssertTrue(try eventually {
            try node.ingest.index.db.read { try $0.scalar("SELECT count(*) FROM directory_watch_files WHERE path='sub/new.dcm'") } == 0
        })
    }

    func testMoveAndDeleteAfterImport() throws {
        let node = try startNode()
        let done = root + "/done/imported"
        let moving = try node.watches.add(name: "mover", path: inbox, afterImport: .move, moveTo: done)
        XCTAssertEqual(moving.moveTo, done, "the folder for imported files is created")
        let dropbox = root + "/dropbox"
        try FileManager.default.createDirectory(atPath: dropbox, withIntermediateDirectories: true)
        let deleting = try node.watches.add(name: "deleter", path: dropbox, afterImport: .delete)

        let a = try makeInstance(sop: "6.1")
        try write(a, to: inbox + "/series1/a.dcm")
        try write(try makeInstance(sop: "6.2"), to: dropbox + "/b.dcm")
        try write(Array("not dicom".utf8), to: dropbox + "/readme.txt")
        XCTAssertTrue(try eventually { try stored(node, "6.1") != nil && stored(node, "6.2") != nil })
        XCTAssertTrue(eventually { !FileManager.default.fileExists(atPath: inbox + "/series1/a.dcm") }, "moved away")
        XCTAssertEqual(FileManager.default.contents(atPath: done + "/series1/a.dcm").map { [UInt8]($0) }, a, "moved under the same relative path")
        XCTAssertTrue(eventually { !FileManager.default.fileExists(atPath: dropbox + "/b.dcm") }, "deleted")
        waitIdle(node, moving)
        waitIdle(node, deleting)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dropbox + "/readme.txt"), "a refused file is neither moved nor deleted")
        XCTAssertEqual(try stored(node, "6.1")?.source, moving.source)
        XCTAssertEqual(try stored(node, "6.2")?.source, deleting.source)

        // The same name again lands next to the first, never over it.
        let again = try makeInstance(sop: "6.3")
        try write(again, to: inbox + "/series1/a.dcm")
        XCTAssertTrue(eventually { FileManager.default.fileExists(atPath: done + "/series1/a-2.dcm") })
        XCTAssertEqual(FileManager.default.contents(atPath: done + "/series1/a-2.dcm").map { [UInt8]($0) }, again)
        XCTAssertEqual(FileManager.default.contents(atPath: done + "/series1/a.dcm").map { [UInt8]($0) }, a)
        // Nothing is remembered for files that are gone.
        let known = try node.ingest.index.db.read { try $0.query("SELECT path, outcome FROM directory_watch_files ORDER BY path") }
        XCTAssertEqual(known.map { [$0[0].string ?? "", $0[1].string ?? ""] }, [["readme.txt", "rejected"]])
    }

    func testValidationAsSlicebox() throws {
        let node = try startNode()
        let w = try node.watches.add(name: "inbox", path: inbox)
        XCTAssertEqual(try node.watches.add(name: "inbox", path: inbox + "/"), w, "same name and path: the existing watch")
        try FileManager.default.createDirectory(atPath: inbox + "/child", withIntermediateDirectories: true)
        try write([1, 2, 3], to: root + "/file.bin")

        func refused(_ name: String, _ path: String, _ after: AfterImport = .leave, _ moveTo: String? = nil, _ words: String,
                     line: UInt = #line) {
            XCTAssertThrowsError(try node.watches.add(name: name, path: path, afterImport: after, moveTo: moveTo), line: line) { e in
                guard case NodeError.badRequest(let m) = e else { return XCTFail("\(e)", line: line) }
                XCTAssertTrue(m.contains(words), m, line: line)
            }
        }
        refused("x", root + "/nowhere", .leave, nil, "does not exist")
        refused("x", root + "/file.bin", .leave, nil, "is not a folder")
        refused("other", inbox, .leave, nil, "already watched")
        refused("inbox", root, .leave, nil, "already exists")
        refused("x", inbox + "/child", .leave, nil, "is inside the watched folder")
        refused("x", root, .leave, nil, "contains the watched folder")
        refused("x", data, .leave, nil, "data folder")
        refused("", root + "/nowhere", .leave, nil, "needs a name")
        let second = root + "/second"
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
        refused("x", second, .move, nil, "moveTo")
        refused("x", second, .move, inbox + "/done", "watched by 'inbox'")
        XCTAssertFalse(FileManager.default.fileExists(atPath: inbox + "/done"), "a refused watch creates nothing")
        refused("x", second, .move, second + "/done", "inside the watched folder")
        refused("x", second, .delete, root + "/done", "only used when")
        refused("inbox", inbox, .delete, nil, "other settings")

        // A symbolic link to a folder is the folder.
        try FileManager.default.createSymbolicLink(atPath: root + "/alias", withDestinationPath: second)
        let s = try node.watches.add(name: "second", path: root + "/alias")
        XCTAssertEqual(s.path, try DirectoryWatches.existingFolder(second))
        XCTAssertEqual(try node.watches.list().map(\.name), ["inbox", "second"])
        XCTAssertEqual(try node.watches.list(startIndex: 1, count: 5).map(\.name), ["second"])
        try node.watches.remove(id: w.id)
        try node.watches.remove(id: 9999)
        XCTAssertEqual(try node.watches.list().map(\.id), [s.id])
        XCTAssertThrowsError(try node.watches.watch(id: w.id)) { e in
            guard case NodeError.notFound = e else { return XCTFail("\(e)") }
        }
        // The removed watch no longer imports.
        try write(try makeInstance(sop: "8.8"), to: inbox + "/after-removal.dcm")
        try write(try makeInstance(sop: "8.9"), to: second + "/kept.dcm")
        XCTAssertTrue(try eventually { try stored(node, "8.9") != nil })
        usleep(600_000)
        XCTAssertNil(try stored(node, "8.8"))
    }

    func testMissingFolderKeepsTheWatchInactiveUntilItIsBack() throws {
        var node = try startNode()
        let watch = try node.watches.add(name: "inbox", path: inbox)
        waitIdle(node, watch)
        // Removed while watched: inactive, not dropped.
        try FileManager.default.removeItem(atPath: inbox)
        XCTAssertTrue(try eventually { try node.watches.watch(id: watch.id).active == false })
        XCTAssertEqual(try node.watches.list().map(\.id), [watch.id])
        // Back, with a file in it: watched again.
        try write(try makeInstance(sop: "9.1"), to: inbox + "/back.dcm")
        XCTAssertTrue(try eventually { try stored(node, "9.1") != nil }, "the folder is watched again when it is back")
        XCTAssertTrue(try node.watches.watch(id: watch.id).active)
        stopNode(node)

        // Gone at start-up: logged, kept inactive, started when it appears.
        try FileManager.default.removeItem(atPath: inbox)
        node = try startNode()
        XCTAssertFalse(try node.watches.watch(id: watch.id).active)
        let lines = try warnings(node)
        XCTAssertTrue(lines.contains { $0.contains("missing") }, lines.joined(separator: "\n"))
        try write(try makeInstance(sop: "9.2"), to: inbox + "/later.dcm")
        XCTAssertTrue(try eventually { try stored(node, "9.2") != nil })
        XCTAssertTrue(try node.watches.watch(id: watch.id).active)
    }

    func testNodeServerStartsPersistedWatches() throws {
        var config = NodeConfig()
        config.dataFolder = data
        config.dicom.port = 0
        config.logLevel = "error"
        var server = try NodeServer(config: config)
        try server.start()
        let watch = try server.directoryWatches.add(name: "inbox", path: inbox)
        server.stop(waitSeconds: 1)
        try write(try makeInstance(sop: "4.2.1"), to: inbox + "/while-down.dcm")
        server = try NodeServer(config: config)
        try server.start()
        defer { server.stop(waitSeconds: 1) }
        XCTAssertEqual(try server.directoryWatches.list().map(\.id), [watch.id])
        XCTAssertTrue(try eventually { try server.index.storedImage(sopInstanceUID: "4.2.1") != nil }, "imported by the watch the node started")
        XCTAssertEqual(try server.index.storedImage(sopInstanceUID: "4.2.1")?.source, watch.source)
    }
}
