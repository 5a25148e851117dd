import XCTest
import Foundation

/// A fresh temporary folder per test, removed afterwards.
func makeTemporaryFolder(_ name: String = "node") -> String {
    let path = NSTemporaryDirectory() + "dicomnode-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
