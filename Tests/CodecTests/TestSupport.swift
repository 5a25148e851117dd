import Foundation
import XCTest
import TestPeers

/// Helpers for tests that check our codec against real peers (pydicom, DCMTK) at run time.
enum TestSupport {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a program found on PATH and returns (status, stdout, stderr).
    @discardableResult
    static func run(_ executable: String, _ args: [String]) throws -> (Int32, Data, String) {
        try PeerProcess.run("/usr/bin/env", [executable] + args)
    }

    /// The folder of pydicom's own test data (`pydicom/data`). pydicom is a required test peer:
    /// its absence fails the test instead of skipping it.
    static func pydicomDataDir() throws -> String {
        (try PeerTools.pydicomTestFiles() as NSString).deletingLastPathComponent
    }

    static func temporaryDirectory(_ name: String) -> String { PeerTools.temporaryDirectory(name) }
}

/// An error that fails (never skips) a test whose peer is missing.
struct XCTSkipFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
