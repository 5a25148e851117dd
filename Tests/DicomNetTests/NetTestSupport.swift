import Foundation
import XCTest
import TestPeers
@testable import Codec
@testable import DicomNet

/// Real peers on loopback: DCMTK binaries by absolute path (pynetdicom shadows some names on
/// PATH) with TCP_NODELAY=1, pynetdicom scripts through python3.
enum NetTestSupport {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func pydicomTestFiles() throws -> String {
        let (status, out, err) = try run("/usr/bin/env", ["python3", "-c", "import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), 'data', 'test_files'))"])
        guard status == 0 else { throw PeerMissing("pydicom is not importable (run scripts/install-test-peers.sh): \(err)") }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func requireTool(_ path: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else { throw PeerMissing("\(path) is missing: run scripts/install-test-peers.sh") }
    }

    static func temporaryDirectory(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "dicomnet-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A port nobody listens on right now (bind 0, read it, close).
    static func freePort() throws -> UInt16 {
        let l = try TCPListener(host: "127.0.0.1", port: 0)
        let p = l.port
        l.close()
        return p
    }

    /// DCMTK 3.6.7 leaves Nagle on unless TCP_NODELAY=1 is in its environment (11 img/s instead of ~400).
    static func peerEnvironment(_ extra: [String: String]) -> [String: String] {
        PeerProcess.environment(adding: ["TCP_NODELAY": "1"].merging(extra) { $1 })
    }

    @discardableResult
    static func run(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> (Int32, Data, String) {
        try PeerProcess.run(exe, args, environment: peerEnvironment(env))
    }

    /// Starts a long-running peer (e.g. DCMTK storescp); the caller terminates it.
    static func spawn(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.environment = peerEnvironment(env)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits until something accepts connections on `port`.
    static func waitForPort(_ port: UInt16, seconds: Double = 10) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let s = try? TCPSocket.connect(host: "127.0.0.1", port: port, timeout: 1) { s.close(); return }
            usleep(50_000)
        }
        throw PeerMissing("nothing listens on port \(port) after \(seconds) s")
    }

    /// Uncompressed single-frame test files of pydicom, small enough for quick interop runs.
    static func sampleFiles() throws -> [String] {
        let dir = try pydicomTestFiles()
        return ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm",
                "JPEG2000.dcm", "SC_rgb_rle.dcm", "image_dfl.dcm", "rtdose.dcm", "waveform_ecg.dcm"].map { dir + "/" + $0 }
    }
}

struct PeerMissing: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Collects log lines so tests can check what was logged.
final class TestLogger: NetLogger, @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    func log(_ level: NetLogLevel, _ subject: String, _ message: String, _ fields: KeyValuePairs<String, String>) {
        lock.lock(); defer { lock.unlock() }
        _lines.append("\(level.rawValue) \(subject) \(message) " + fields.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return _lines }
}
