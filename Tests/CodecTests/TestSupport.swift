import Foundation
import XCTest

/// Helpers for tests that check our codec against real peers (pydicom, DCMTK) at run time.
enum TestSupport {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a program and returns (status, stdout, stderr). Fails the test if it cannot start.
    @discardableResult
    static func run(_ executable: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (Int32, Data, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [executable] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        let errData = LockedData()
        let t = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        t.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !errData.done { usleep(1000) }
        return (p.terminationStatus, o, String(decoding: errData.data, as: UTF8.self))
    }

    /// The folder of pydicom's own test data (`pydicom/data`). pydicom is a required test peer:
    /// its absence fails the test instead of skipping it.
    static func pydicomDataDir() throws -> String {
        let (status, out, err) = try run("python3", ["-c", "import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), 'data'))"])
        guard status == 0 else {
            throw XCTSkipFailure("pydicom is not importable (run scripts/install-test-peers.sh): \(err)")
        }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func temporaryDirectory(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "dicomnode-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// An error that fails (never skips) a test whose peer is missing.
struct XCTSkipFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var _data = Data()
    private var _done = false
    func set(_ d: Data) { lock.lock(); _data = d; _done = true; lock.unlock() }
    var done: Bool { lock.lock(); defer { lock.unlock() }; return _done }
    var data: Data { lock.lock(); defer { lock.unlock() }; return _data }
}
