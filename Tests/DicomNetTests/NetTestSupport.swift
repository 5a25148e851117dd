import Foundation
import XCTest
import TestPeers
@testable import Codec
@testable import DicomNet

/// Real peers on loopback: DCMTK binaries by absolute path (pynetdicom shadows some names on
/// PATH) with TCP_NODELAY=1, pynetdicom scripts through python3.
enum NetTestSupport {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    // The generic helpers live in TestPeers (shared with NodeTests); these forward to them.
    static func pydicomTestFiles() throws -> String { try PeerTools.pydicomTestFiles() }
    static func requireTool(_ path: String) throws { try PeerTools.requireTool(path) }
    static func temporaryDirectory(_ name: String) -> String { PeerTools.temporaryDirectory(name, prefix: "dicomnet") }
    /// A port nobody listens on right now (bind 0, read it, close).
    static func freePort() throws -> UInt16 { try PeerTools.freePort() }
    /// DCMTK 3.6.7 leaves Nagle on unless TCP_NODELAY=1 is in its environment (11 img/s instead of ~400).
    static func peerEnvironment(_ extra: [String: String]) -> [String: String] { PeerTools.peerEnvironment(extra) }
    @discardableResult
    static func run(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> (Int32, Data, String) {
        try PeerTools.run(exe, args, env: env)
    }
    /// Starts a long-running peer (e.g. DCMTK storescp); the caller terminates it.
    static func spawn(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> Process {
        try PeerTools.spawn(exe, args, env: env)
    }
    /// Waits until something accepts connections on `port`.
    static func waitForPort(_ port: UInt16, seconds: Double = 10) throws { try PeerTools.waitForPort(port, seconds: seconds) }

    /// Uncompressed single-frame test files of pydicom, small enough for quick interop runs.
    static func sampleFiles() throws -> [String] {
        let dir = try pydicomTestFiles()
        return ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm",
                "JPEG2000.dcm", "SC_rgb_rle.dcm", "image_dfl.dcm", "rtdose.dcm", "waveform_ecg.dcm"].map { dir + "/" + $0 }
    }
}

/// TestPeers' error, by its old name for the files of this target that do not import TestPeers.
typealias PeerMissing = TestPeers.PeerMissing

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
