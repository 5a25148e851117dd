import XCTest
import Foundation
import TestPeers
@testable import Node

/// kill -9 of `dicomnode serve` in the middle of a C-STORE stream, then a restart on the same
/// folder: every instance the node acknowledged with Success is there, whole, and the store is
/// tidy (no `.part` left, no file the index does not know, every repair logged).
final class CrashTests: ServeTestCase {
    static let instances = 1000

    func testKillDuringStoreLosesNoAcknowledgedInstance() throws {
        let originals = folder + "/originals"
        try peer(["gen", originals, "--seed", "crash", "--patient", "Crash^Test", "--pid", "CRASH1",
                  "--series", "CT:250,MR:250,CT:250,PT:250", "--size", "16"])
        XCTAssertEqual(filesUnder(originals).count, Self.instances)

        let node = try makeNode(data: "data")
        try node.start()
        // Four kills at different points: one random count in each quarter of 200…800.
        let targets = [200..<350, 350..<500, 500..<650, 650..<801].map { Int.random(in: $0) }.shuffled()
        print("CrashTests: kill -9 after \(targets) acknowledged images")
        var acknowledged: [String: String] = [:]   // SOP Instance UID → original file, over all rounds
        var repairsSeen = 0

        for (round, target) in targets.enumerated() {
            let context = "round \(round + 1) (kill after \(target))"
            // Each round sends the 1,000 in another order: new instances and re-sent ones (replaced).
            let pushed = try pushUntil(target, port: node.port, shuffle: "round\(round)", originals: originals,
                                       incoming: node.dataFolder + "/incoming", killMidInstance: round % 2 == 0) { node.kill9() }
            XCTAssertFalse(node.isRunning, "\(context): the node must be dead")
            let failures = pushed.filter { $0.status != 0 }
            XCTAssertEqual(failures.count, 0, "\(context): no C-STORE may fail before the kill: \(failures.prefix(5))")
            let ok = pushed.filter { $0.status == 0 }
            XCTAssertGreaterThanOrEqual(ok.count, target, "\(context): the pusher saw fewer Success responses than the kill point")
            for p in ok { acknowledged[p.sop] = p.file }

            // The state the crash left, before the restart repairs it.
            let parts = filesUnder(node.dataFolder + "/incoming")
            let crashed = try readIndex(node.dataFolder)
            let known = Set(crashed.images.map(\.key))
            let partKeys = parts.map { String($0.dropLast(".part".count)) }
            XCTAssertTrue(parts.allSatisfy { $0.hasSuffix(".part") }, "\(context): only .part files in incoming/: \(parts)")
            print("CrashTests: \(context): \(ok.count) acknowledged, \(parts.count) .part left (\(partKeys.filter(known.contains).count) committed), \(crashed.pending.count) pending deletions")

            try node.start()
            let log = node.log
            var expectedRepairs = 0
            let repairLines = log.split(separator: "\n").filter { $0.contains(" repair: ") }
            func repairLine(_ key: String) -> String? { repairLines.first { $0.contains("key=\(key)") }.map(String.init) }
            for key in partKeys {
                // A committed file is moved into place (or, had its data not reached the disk,
                // removed with its row); any other .part was never acknowledged and is removed.
                let line = repairLine(key)
                XCTAssertNotNil(line, "\(context): the restart must log a repair line for \(key).part; log:\n\(log)")
                if !known.contains(key), let line {
                    XCTAssertTrue(line.contains("removed"), "\(context): an unindexed .part must be removed: \(line)")
                }
                if known.contains(key), let line, line.contains("removed") {
                    print("CrashTests: \(context): a committed .part was removed as torn: \(line)")
                }
                expectedRepairs += 1
            }
            for key in crashed.pending where !known.contains(key) {
                XCTAssertNotNil(repairLine(key), "\(context): no repair line for the pending deletion of \(key); log:\n\(log)")
                expectedRepairs += 1
            }
            XCTAssertTrue(log.contains("repaired=\(expectedRepairs)"), "\(context): the store opened line must count \(expectedRepairs) repairs; log:\n\(log)")
            repairsSeen += expectedRepairs

            try verifyStore(node: node, acknowledged: acknowledged, context: context)
        }
        XCTAssertEqual(node.stop(), 0, "clean stop at the end")
        print("CrashTests: \(acknowledged.count) distinct instances acknowledged, \(repairsSeen) repairs over \(targets.count) restarts")
    }

    /// Pushes the originals with pynetdicom (exact bytes, one association), calls `kill` once
    /// `target` Success responses have arrived (as soon as a file is in `incoming` when
    /// `killMidInstance`, else 0–12 ms later), and returns every response the pusher printed.
    private func pushUntil(_ target: Int, port: UInt16, shuffle: String, originals: String, incoming: String,
                           killMidInstance: Bool, kill: () -> Void) throws -> [(sop: String, status: Int, file: String)] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", peerScript, "push", "127.0.0.1", String(port), "DICOMNODE", "--shuffle", shuffle, originals]
        let out = Pipe()
        let errPath = folder + "/push-\(shuffle).err"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: errPath)
        let lines = LineCollector()
        try p.run()
        let reader = Thread {
            let h = out.fileHandleForReading
            while true {
                let d = h.availableData
                if d.isEmpty { break }
                lines.append(d)
            }
            lines.finish()
        }
        reader.start()
        defer {
            if p.isRunning { Glibc.kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(90)
        var killed = false
        while Date() < deadline {
            if lines.successes >= target {
                if killMidInstance {
                    // While the next instance is in incoming/ (received, being written, synced or
                    // committed): the restart has something to repair.
                    let until = Date().addingTimeInterval(0.2)
                    while Date() < until, ((try? FileManager.default.contentsOfDirectory(atPath: incoming)) ?? []).isEmpty { usleep(200) }
                } else {
                    usleep(UInt32.random(in: 0...12_000))   // anywhere in the next few ms
                }
                kill()
                killed = true
                break
            }
            if lines.finished { break }
            usleep(2_000)
        }
        let finishBy = Date().addingTimeInterval(30)
        while !lines.finished && Date() < finishBy { usleep(10_000) }
        let text = lines.text
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        guard killed else {
            throw PeerMissing("the pusher stopped at \(lines.successes) Success responses before the kill point \(target):\n\(text.suffix(1500))\n\(err.suffix(1500))")
        }
        XCTAssertTrue(lines.finished, "the pusher did not end after the node was killed")
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", maxSplits: 3).map(String.init)
            guard f.count == 4, f[0] == "ACK", let s = Int(f[2].dropFirst(2), radix: 16) else { return nil }
            return (f[1], s, f[3])
        }
    }

    /// Every acknowledged instance is indexed, its file exists, parses and holds the original's data
    /// set byte for byte; nothing in incoming/; no file in images/ the index does not reference.
    private func verifyStore(node: NodeProcess, acknowledged: [String: String], context: String) throws {
        let index = try readIndex(node.dataFolder)
        let keyBySOP = index.keyBySOP
        XCTAssertEqual(filesUnder(node.dataFolder + "/incoming"), [], "\(context): incoming/ must be empty after the restart")
        XCTAssertEqual(index.pending, [], "\(context): no pending file deletion after the restart")
        let onDisk = storedFiles(node.dataFolder)
        var missing: [String] = [], wrong: [String] = []
        var checked: [String] = []
        for (sop, original) in acknowledged.sorted(by: { $0.key < $1.key }) {
            guard let key = keyBySOP[sop] else { missing.append(sop); continue }
            guard let path = onDisk[key] else { missing.append("\(sop) (no file for key \(key))"); continue }
            if try dataSetBytes(ofFile: path) != dataSetBytes(ofFile: original) { wrong.append("\(sop) (\(path))") }
            checked.append(path)
        }
        XCTAssertEqual(missing, [], "\(context): \(missing.count) acknowledged instance(s) lost")
        XCTAssertEqual(wrong, [], "\(context): \(wrong.count) stored data set(s) differ from the original")
        let unparsable = try peerJSON(["parse"] + checked) as? [String] ?? ["parse printed nothing"]
        XCTAssertEqual(unparsable, [], "\(context): stored files pydicom cannot read")

        let referenced = Set(index.images.map(\.key))
        let present = Set(onDisk.keys)
        XCTAssertEqual(present.subtracting(referenced).sorted().map { onDisk[$0] ?? $0 }, [], "\(context): files in images/ that the index does not reference")
        XCTAssertEqual(referenced.subtracting(present).sorted(), [], "\(context): index rows (storage keys) whose file is missing")
        XCTAssertEqual(index.counts["images"], index.images.count)
        XCTAssertGreaterThanOrEqual(index.images.count, acknowledged.count, "\(context): the index holds at least what was acknowledged")
    }
}

/// The pusher's stdout as it arrives, with the count of Success responses so far.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var partial = Data()
    private var _successes = 0
    private var _finished = false

    func append(_ d: Data) {
        lock.lock(); defer { lock.unlock() }
        data.append(d)
        partial.append(d)
        while let nl = partial.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: partial[partial.startIndex..<nl], as: UTF8.self)
            partial = Data(partial[(nl + 1)...])
            if line.hasPrefix("ACK ") && line.contains(" 0x0000 ") { _successes += 1 }
        }
    }
    func finish() { lock.lock(); _finished = true; lock.unlock() }
    var successes: Int { lock.lock(); defer { lock.unlock() }; return _successes }
    var finished: Bool { lock.lock(); defer { lock.unlock() }; return _finished }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}

/// The crash window of a *replacement* (default duplicate policy): the index already points at the
/// new copy, whose data never reached the disk (power loss between the index commit and the
/// data's fdatasync, which run side by side). The new copy was never acknowledged, but the old
/// one was: start-up repair must fall back to it, not forget the instance.
final class TornReplacementTests: XCTestCase {
    var folder = ""
    override func setUp() { folder = makeTemporaryFolder("torn-replace") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func testTornReplacementKeepsThePreviousAcknowledgedCopy() throws {
        var ingest = try makeIngest(folder)
        let first = try makeInstance(sop: "8.1", description: "first")
        _ = try ingest.store(bytes: first, source: .unknown)      // acknowledged
        ingest.settle()
        let firstKey = try XCTUnwrap(try ingest.index.storedImage(sopInstanceUID: "8.1")).storageKey

        // The re-sent copy: written, indexed (replacing the row), but torn on disk.
        let torn = try stageCommitted(ingest, sop: "8.1", bytes: try makeInstance(sop: "8.1", description: "second"), torn: true)
        XCTAssertEqual(try ingest.index.storedImage(sopInstanceUID: "8.1")?.storageKey, torn.key, "staged: the row points at the new copy")

        ingest = try makeIngest(folder)                            // restart
        _ = try ingest.repair()
        let stored = try ingest.index.storedImage(sopInstanceUID: "8.1")
        XCTAssertNotNil(stored, "an instance acknowledged before must survive a torn re-send (it was deleted with its old file)")
        if let stored {
            XCTAssertEqual(stored.storageKey, firstKey, "the row must point at the acknowledged copy again")
            let path = try XCTUnwrap(ingest.store.readablePath(forKey: stored.storageKey), "the acknowledged copy's file")
            XCTAssertEqual(FileManager.default.contents(atPath: path).map { [UInt8]($0) }, first, "the acknowledged copy's bytes")
        }
        XCTAssertNotNil(ingest.store.readablePath(forKey: firstKey), "the acknowledged copy's file must not be deleted")
        XCTAssertEqual(filesUnder(folder + "/incoming"), [])
    }
}

extension TornReplacementTests {
    /// The same crash while the acknowledged copy itself was still in incoming/ (not yet moved).
    func testTornReplacementWhoseAcknowledgedCopyWasNotMovedYet() throws {
        var ingest = try makeIngest(folder)
        let first = try makeInstance(sop: "8.2", description: "first")
        // Acknowledged copy committed but still in incoming/ (as if the mover had not run).
        let ack = try stageCommitted(ingest, sop: "8.2", bytes: first)
        try stageCommitted(ingest, sop: "8.2", bytes: try makeInstance(sop: "8.2", description: "second"), torn: true)
        ingest = try makeIngest(folder)
        _ = try ingest.repair()
        let stored = try XCTUnwrap(try ingest.index.storedImage(sopInstanceUID: "8.2"))
        XCTAssertEqual(stored.storageKey, ack.key)
        XCTAssertEqual(ingest.store.readablePath(forKey: ack.key), ingest.store.finalPath(forKey: ack.key), "moved into place")
        XCTAssertEqual(FileManager.default.contents(atPath: ingest.store.finalPath(forKey: ack.key)).map { [UInt8]($0) }, first)
        XCTAssertEqual(filesUnder(folder + "/incoming"), [])
        XCTAssertEqual(try ingest.index.pendingFileDeletions(), [])
    }
}
