import XCTest
import Foundation
import TestPeers

/// Tests that run the real `dicomnode serve` binary against real peers (DCMTK by absolute path
/// with TCP_NODELAY=1, pydicom/pynetdicom through `NodePeer`). Each test gets a folder and every
/// process it spawns is killed and the folder removed in tearDown, even when the test failed.
class ServeTestCase: XCTestCase {
    var folder = ""
    private var spawned: [Process] = []
    private var nodes: [NodeProcess] = []

    override func setUpWithError() throws {
        folder = makeTemporaryFolder(String(describing: type(of: self)))
        for tool in ["storescu", "storescp", "findscu", "movescu", "getscu"] { try PeerTools.requireTool("/usr/bin/" + tool) }
        _ = try NodeProcess.binary()
    }

    override func tearDown() {
        for n in nodes { n.kill9() }
        for p in spawned where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        nodes.removeAll()
        spawned.removeAll()
        if ProcessInfo.processInfo.environment["KEEP_NODE_TEST_FOLDERS"] == nil {
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    /// A node on `data` (under the test folder), not started yet.
    func makeNode(data: String = "data", options: [String] = []) throws -> NodeProcess {
        let n = try NodeProcess(dataFolder: folder + "/" + data, logFolder: folder, options: options)
        nodes.append(n)
        return n
    }

    /// A DCMTK storescp that writes what it receives bit for bit (+B) in any transfer syntax (+xa).
    func startStorescp(ae: String, outputFolder: String) throws -> (Process, UInt16) {
        try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
        let port = try PeerTools.freePort()
        let log = FileHandle(forWritingAtPath: touch(folder + "/storescp-\(ae).log"))
        let p = try PeerTools.spawn("/usr/bin/storescp", ["-aet", ae, "+xa", "+B", "-od", outputFolder, String(port)], stdout: log, stderr: log)
        spawned.append(p)
        try PeerTools.waitForPort(port)
        return (p, port)
    }

    func stopProcess(_ p: Process) {
        if p.isRunning { p.terminate(); p.waitUntilExit() }
    }

    /// The Python peer's path (written into the test folder on first use).
    var peerScript: String { NodePeer.script(in: folder) }

    /// Runs a `NodePeer` subcommand to its end; fails (throws) on a non-zero exit.
    @discardableResult
    func peer(_ args: [String], timeout: Double = 180) throws -> String {
        let (status, out, err) = try PeerTools.run("/usr/bin/env", ["python3", peerScript] + args, timeout: timeout)
        let text = String(decoding: out, as: UTF8.self)
        guard status == 0 else { throw PeerMissing("nodepeer \(args.first ?? "") exited \(status): \(err.suffix(2000)) \(text.suffix(500))") }
        return text
    }

    func peerJSON(_ args: [String], timeout: Double = 180) throws -> Any {
        let text = try peer(args, timeout: timeout)
        do { return try JSONSerialization.jsonObject(with: Data(text.utf8)) } catch {
            throw PeerMissing("nodepeer \(args.first ?? "") printed no JSON: \(text.prefix(500))")
        }
    }

    /// Top-level attributes (keyword → string) of each file, read by pydicom.
    func dump(_ files: [String]) throws -> [[String: String]] {
        guard !files.isEmpty else { return [] }
        return (try peerJSON(["dump"] + files) as? [[String: String]]) ?? []
    }

    /// The node's index as pydicom/sqlite3 read it: images (sop, key, ts), counts per table, pending file deletions.
    func readIndex(_ dataFolder: String) throws -> NodeIndexSnapshot {
        let o = try peerJSON(["index", dataFolder]) as? [String: Any] ?? [:]
        let images = (o["images"] as? [[String: String]] ?? []).map { (sop: $0["sop"] ?? "", key: $0["key"] ?? "", ts: $0["ts"] ?? "") }
        return NodeIndexSnapshot(images: images, counts: o["counts"] as? [String: Int] ?? [:], pending: o["pending"] as? [String] ?? [])
    }

    /// Element-by-element differences of two files' data sets (empty when equal), by pydicom.
    func elementDifferences(_ a: String, _ b: String) throws -> [String] {
        try peerJSON(["compare", a, b]) as? [String] ?? ["compare printed no list"]
    }

    /// DCMTK findscu (model "-P" patient root, "-S" study root); each response identifier as
    /// keyword → value (multiple values joined with a backslash). Throws when findscu fails.
    func findscu(port: UInt16, model: String, _ keys: [String], calledAE: String = "DICOMNODE") throws -> [[String: String]] {
        let out = folder + "/findscu-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let args = [model, "-aec", calledAE, "-X", "-od", out] + keys.flatMap { ["-k", $0] } + ["127.0.0.1", String(port)]
        let (status, _, err) = try PeerTools.run("/usr/bin/findscu", args, timeout: 60)
        guard status == 0 else { throw PeerMissing("findscu \(keys) exited \(status): \(err)") }
        let files = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("rsp") }.sorted().map { out + "/" + $0 }
        return try dump(files)
    }

    /// Acknowledged files are renamed from incoming/ into images/ in the background: waits until
    /// incoming/ is empty (true) or `seconds` passed (false).
    func incomingDrained(_ dataFolder: String, seconds: Double = 15) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if filesUnder(dataFolder + "/incoming").isEmpty { return true }
            usleep(20_000)
        } while Date() < deadline
        return false
    }

    /// The stored files under images/ by storage key (`<key>.dcm`, wherever the layout puts it);
    /// anything else found there is listed under its relative path with the key "?<path>".
    func storedFiles(_ dataFolder: String) -> [String: String] {
        var result: [String: String] = [:]
        for rel in filesUnder(dataFolder + "/images") {
            let name = (rel as NSString).lastPathComponent
            if name.hasSuffix(".dcm") { result[String(name.dropLast(4))] = dataFolder + "/images/" + rel } else { result["?" + rel] = rel }
        }
        return result
    }

    private func touch(_ path: String) -> String {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return path
    }
}

struct NodeIndexSnapshot {
    var images: [(sop: String, key: String, ts: String)]
    var counts: [String: Int]
    var pending: [String]
    var keyBySOP: [String: String] { Dictionary(images.map { ($0.sop, $0.key) }, uniquingKeysWith: { a, _ in a }) }
}

/// One `dicomnode serve` process at a time on a data folder; each start logs to its own file.
final class NodeProcess {
    let dataFolder: String
    let logFolder: String
    let options: [String]
    let port: UInt16
    let httpPort: UInt16
    let aeTitle = "DICOMNODE"
    private(set) var process: Process?
    private(set) var starts = 0
    private(set) var logPath = ""

    init(dataFolder: String, logFolder: String, options: [String]) throws {
        self.dataFolder = dataFolder
        self.logFolder = logFolder
        self.options = options
        port = try PeerTools.freePort()
        httpPort = try PeerTools.freePort()
    }

    /// `dicomnode` of this build: next to the test bundle, else in `.build/debug` of the repository.
    static func binary() throws -> String {
        var candidates: [String] = []
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent().appendingPathComponent("dicomnode").path) }
        for b in Bundle.allBundles { candidates.append(b.bundleURL.deletingLastPathComponent().appendingPathComponent("dicomnode").path) }
        let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(repoRoot.appendingPathComponent(".build/debug/dicomnode").path)
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw PeerMissing("the dicomnode binary is missing (looked at \(candidates.joined(separator: ", "))): build it with `swift build --build-tests`")
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// The log of the current (or last) start.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Starts the node and waits for `info node ready`; throws with the log when it does not come.
    func start(timeout: Double = 30) throws {
        precondition(!isRunning, "the node is already running")
        starts += 1
        logPath = "\(logFolder)/node-\((dataFolder as NSString).lastPathComponent)-\(starts).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        let args = ["serve", "--data", dataFolder, "--port", String(port), "--ae", aeTitle, "--http-port", String(httpPort)] + options
        process = try PeerTools.spawn(try Self.binary(), args, stderr: log)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if self.log.contains("info node ready ae=\(aeTitle) port=\(port)") { return }
            if !isRunning { throw PeerMissing("dicomnode serve exited (\(process!.terminationStatus)) before it was ready; log:\n\(self.log)") }
            usleep(20_000)
        }
        throw PeerMissing("dicomnode serve was not ready after \(timeout) s; log:\n\(self.log)")
    }

    /// SIGTERM and wait; returns the exit status (SIGKILL after `timeout`, then the status is 137-ish).
    @discardableResult
    func stop(timeout: Double = 30) -> Int32 {
        guard let p = process, p.isRunning else { return process?.terminationStatus ?? 0 }
        p.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// kill -9: no chance to clean up (a crash, a power cut as far as the process is concerned).
    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }
}

enum NodePeer {
    /// Writes the Python peer into `folder` (once) and returns its path.
    static func script(in folder: String) -> String {
        let path = folder + "/nodepeer.py"
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(nodePeerScript.utf8))
        }
        return path
    }
}

/// The data set of a Part 10 file: the bytes after the preamble, `DICM` and the File Meta group
/// (explicit VR little endian, PS3.10 7.1), whatever the data set's transfer syntax.
func dataSetBytes(ofFile path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw PeerMissing("cannot read \(path)") }
    let b = [UInt8](data)
    guard b.count >= 132, b[128..<132].elementsEqual("DICM".utf8) else { throw PeerMissing("\(path) has no DICM prefix") }
    func u16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
    func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
    let longVRs: Set<String> = ["OB", "OW", "UN", "SQ", "UT", "UC", "UR", "OD", "OF", "OL", "OV", "SV", "UV"]
    var i = 132
    while i + 8 <= b.count, u16(i) == 0x0002 {
        let vr = String(decoding: b[(i + 4)..<(i + 6)], as: UTF8.self)
        i += longVRs.contains(vr) ? 12 + u32(i + 8) : 8 + u16(i + 6)
    }
    guard i <= b.count else { throw PeerMissing("\(path): the File Meta group runs past the end") }
    return Array(b[i...])
}
