import XCTest
import Foundation
import TestPeers
#if canImport(Glibc)
import Glibc
#endif

/// One real `dicomnode serve` process on a data folder, with its DICOM and REST ports fixed for
/// its life, so it can be killed (-9) and started again where it was.
final class ServeNode {
    let name: String
    let dataFolder: String
    let logFolder: String
    let configPath: String
    let port: UInt16
    let httpPort: UInt16
    private(set) var process: Process?
    private(set) var starts = 0
    private(set) var logPath = ""

    var base: String { "http://127.0.0.1:\(httpPort)/api" }

    init(name: String, folder: String, config: [String: Any]) throws {
        self.name = name
        dataFolder = folder + "/" + name
        logFolder = folder
        configPath = folder + "/\(name)-config.json"
        port = try PeerTools.freePort()
        httpPort = try PeerTools.freePort()
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
    }

    /// `dicomnode` of this build: next to the test bundle, else `.build/debug` of the repository.
    static func binary() throws -> String {
        var candidates: [String] = []
        for b in Bundle.allBundles { candidates.append(b.bundleURL.deletingLastPathComponent().appendingPathComponent("dicomnode").path) }
        candidates.append(repositoryRoot + "/.build/debug/dicomnode")
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw PeerMissing("the dicomnode binary is missing (looked at \(candidates.joined(separator: ", "))): build it with `swift build --build-tests`")
    }

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    var isRunning: Bool { process?.isRunning ?? false }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Starts the node and waits until its REST side answers.
    func start(timeout: Double = 60) throws {
        precondition(!isRunning, "\(name) is already running")
        starts += 1
        logPath = "\(logFolder)/\(name)-\(starts).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let args = ["serve", "--config", configPath, "--data", dataFolder, "--port", String(port), "--http-port", String(httpPort)]
        process = try PeerTools.spawn(try Self.binary(), args, stderr: FileHandle(forWritingAtPath: logPath))
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let r = try? Curl().get(base + "/system/health"), r.status == 200 { return }
            if !isRunning { throw PeerMissing("\(name) exited (\(process!.terminationStatus)) before it answered; log:\n\(log)") }
            usleep(50_000)
        }
        throw PeerMissing("\(name) did not answer within \(timeout) s; log:\n\(log)")
    }

    /// kill -9: the process gets no chance to clean up.
    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL after `timeout`.
    func stop(timeout: Double = 30) {
        guard let p = process, p.isRunning else { return }
        p.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// Stores every file of `folder` through DCMTK storescu (one association).
    func storescu(_ folder: String) throws {
        let (status, _, err) = try PeerTools.run("/usr/bin/storescu", ["-aec", "DICOMNODE", "+sd", "+r", "127.0.0.1", String(port), folder], timeout: 300)
        guard status == 0 else { throw PeerMissing("storescu to \(name) exited \(status): \(err)") }
    }

    /// Ids of every stored image (REST: flat series, then each series' images).
    func imageIds() throws -> [Int64] {
        var ids: [Int64] = []
        for s in try Curl().get(base + "/metadata/flatseries?count=100000").array() {
            let series = s["id"] as? Int ?? -1
            ids += try Curl().get(base + "/metadata/images?seriesid=\(series)&count=100000").array().compactMap { ($0["id"] as? Int).map(Int64.init) }
        }
        return ids.sorted()
    }
}

/// Generates `n` small CT instances (64×64, ~9 KB) with bench/gen_small.py: 4 series of
/// `perSeries` per study, UIDs derived from `seed`.
func generateSmallInstances(_ folder: String, count: Int, seed: String, perSeries: Int) throws {
    let script = ServeNode.repositoryRoot + "/bench/gen_small.py"
    let (status, _, err) = try PeerTools.run("/usr/bin/env", ["python3", script, folder, String(count), "--seed", seed, "--per-series", String(perSeries)],
                                             timeout: 300)
    guard status == 0 else { throw PeerMissing("gen_small.py failed (numpy and pydicom are needed): \(err)") }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
@discardableResult
func waitUntil(_ timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try condition() { return true }
        usleep(50_000)
    } while Date() < deadline
    return try condition()
}
