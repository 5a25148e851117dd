import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The store-agnostic helpers every test target that talks to real peers needs: where pydicom's
/// test files are, required tools, temporary folders, free ports, DCMTK's environment, starting
/// and waiting for peers. Plain Glibc sockets: this target depends on no module of the package.
public enum PeerTools {
    /// `pydicom/data/test_files`. pydicom is a required test peer: its absence throws (fails, never skips).
    public static func pydicomTestFiles() throws -> String {
        let (status, out, err) = try PeerProcess.run("/usr/bin/env", ["python3", "-c", "import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), 'data', 'test_files'))"])
        guard status == 0 else { throw PeerMissing("pydicom is not importable (run scripts/install-test-peers.sh): \(err)") }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Throws (so the test fails with the reason) when `path` is not an executable.
    public static func requireTool(_ path: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else { throw PeerMissing("\(path) is missing: run scripts/install-test-peers.sh") }
    }

    /// A new, empty folder under the system's temporary folder: `<prefix>-<name>-<pid>-<random>`.
    public static func temporaryDirectory(_ name: String, prefix: String = "dicomnode") -> String {
        let dir = NSTemporaryDirectory() + "\(prefix)-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A TCP port nobody listens on right now on 127.0.0.1 (bind port 0, read it, close).
    public static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerMissing("socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw PeerMissing("bind(127.0.0.1:0): \(String(cString: strerror(errno)))") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw PeerMissing("getsockname(): \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// True when something accepts a TCP connection on 127.0.0.1:`port` now.
    public static func isListening(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = loopback(port: port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Waits until something accepts connections on 127.0.0.1:`port`.
    public static func waitForPort(_ port: UInt16, seconds: Double = 10) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if isListening(port) { return }
            usleep(50_000)
        }
        throw PeerMissing("nothing listens on port \(port) after \(seconds) s")
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    /// This process's environment with `extra` on top and TCP_NODELAY=1: DCMTK 3.6.7 leaves Nagle
    /// on without it (11 img/s instead of ~400).
    public static func peerEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        PeerProcess.environment(adding: ["TCP_NODELAY": "1"].merging(extra) { $1 })
    }

    /// Runs a peer to its end in `peerEnvironment`; returns its status, stdout and stderr. A peer
    /// still running after `timeout` seconds is killed (its status is then SIGKILL's).
    @discardableResult
    public static func run(_ exe: String, _ args: [String], env: [String: String] = [:], timeout: Double? = nil) throws -> (Int32, Data, String) {
        try PeerProcess.run(exe, args, environment: peerEnvironment(env), timeout: timeout)
    }

    /// Starts a long-running peer (e.g. DCMTK storescp) in `peerEnvironment`; the caller ends it.
    /// Its output goes to `stdout`/`stderr` when given, else nowhere.
    public static func spawn(_ exe: String, _ args: [String], env: [String: String] = [:],
                             stdout: FileHandle? = nil, stderr: FileHandle? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.environment = peerEnvironment(env)
        p.standardOutput = stdout ?? FileHandle.nullDevice
        p.standardError = stderr ?? FileHandle.nullDevice
        try p.run()
        return p
    }
}

/// A required peer (tool, Python module, port) is not there: the test fails with this text.
public struct PeerMissing: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
