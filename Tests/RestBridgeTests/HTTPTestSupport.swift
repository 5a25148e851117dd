import Foundation
import XCTest
import TestPeers
@testable import DicomNet
@testable import RestBridge

/// Collects log lines for assertions.
final class CaptureLogger: NetLogger, @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    func log(_ level: NetLogLevel, _ subject: String, _ message: String, _ fields: KeyValuePairs<String, String>) {
        lock.lock(); defer { lock.unlock() }
        _lines.append("\(level.rawValue) \(subject) \(message) " + fields.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return _lines }
    var requestLines: [String] { lines.filter { $0.contains("http request") } }

    /// The server logs a request after its response went out: a client may see the response first.
    func waitForRequestLines(_ n: Int, seconds: Double = 5) -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        while requestLines.count < n && Date() < deadline { usleep(5_000) }
        return requestLines
    }
}

/// Thread-safe values shared between a handler (on the server's threads) and the test.
final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: T
    init(_ v: T) { _value = v }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return _value }
        set { lock.lock(); _value = newValue; lock.unlock() }
    }
    func update(_ f: (inout T) -> Void) { lock.lock(); f(&_value); lock.unlock() }
}

/// A response as read off the wire by `RawClient` (its own small parser, independent of the server's).
struct RawResponse {
    var status: Int
    var reason: String
    var headers: [(String, String)]
    var body: [UInt8]
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    var errorMessage: String? { json?["error"] as? String }
}

/// A client over a real socket that sends raw bytes and parses responses itself.
final class RawClient {
    let socket: TCPSocket
    private var buffer: [UInt8] = []

    init(port: UInt16, timeout: Double = 10) throws {
        socket = try TCPSocket.connect(host: "127.0.0.1", port: port)
        socket.readTimeout = timeout
        socket.writeTimeout = timeout
    }

    func send(_ text: String) throws { try socket.write(Array(text.utf8)) }
    func send(_ bytes: [UInt8]) throws { try socket.write(bytes) }

    /// Reads more bytes; false at end of stream (or reset).
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n: Int
        do { n = try chunk.withUnsafeMutableBytes { try socket.read(into: $0) } } catch TransportError.closedByPeer { return false }
        buffer += chunk[0..<n]
        return n > 0
    }

    private func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<i]
                buffer.removeFirst(i + 1)
                return String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
            }
            guard try fill() else { throw TransportError.closedByPeer }
        }
    }

    private func readBytes(_ n: Int) throws -> [UInt8] {
        while buffer.count < n { guard try fill() else { throw TransportError.closedByPeer } }
        let out = Array(buffer[..<n])
        buffer.removeFirst(n)
        return out
    }

    /// The next response (1xx included); `head` for a response to HEAD (no content).
    func readResponse(head: Bool = false) throws -> RawResponse {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw TransportError.io(operation: "bad status line: \(statusLine)", errno: 0)
        }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            let colon = line.firstIndex(of: ":")!
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var r = RawResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: [])
        if head || status < 200 || status == 204 || status == 304 { return r }
        if r.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while true {
                let sizeLine = try readLine()
                let size = Int(sizeLine.split(separator: ";")[0], radix: 16)!
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                r.body += try readBytes(size)
                guard try readLine().isEmpty else { throw TransportError.io(operation: "bad chunk end", errno: 0) }
            }
        } else if let cl = r.header("Content-Length") {
            r.body = try readBytes(Int(cl)!)
        } else {
            r.body = try readToEnd()
        }
        return r
    }

    /// Everything until the server closes.
    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { buffer.removeAll() }
        return buffer
    }

    /// True when the server has closed the connection (end of stream, with nothing else sent).
    func isClosedByServer() -> Bool {
        guard buffer.isEmpty else { return false }
        return (try? fill()) == false
    }

    func close() { socket.close() }
}

enum HTTPTestSupport {
    /// Starts a server on a free port; stopped when the test ends.
    static func start(_ test: XCTestCase, handler: any HTTPHandler, configure: (inout HTTPServer.Configuration) -> Void = { _ in })
        throws -> (HTTPServer, CaptureLogger) {
        var config = HTTPServer.Configuration()
        configure(&config)
        let log = CaptureLogger()
        let server = HTTPServer(configuration: config, handler: handler, log: log)
        try server.start(port: 0)
        test.addTeardownBlock { server.stop(timeout: 5) }
        return (server, log)
    }

    static func curl(_ args: [String]) throws -> (status: Int32, out: Data, err: String) {
        // Missing curl fails the test (like DCMTK in DicomNetTests): interop is part of the contract.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw ToolMissing("/usr/bin/curl is missing: apt-get install curl") }
        let (s, o, e) = try PeerProcess.run("/usr/bin/curl", args)
        return (s, o, e)
    }

    static func temporaryDirectory(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "restbridge-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Deterministic pseudo-random bytes (xorshift), the same for the same seed.
    static func pattern(_ count: Int, seed: UInt64 = 0x9E3779B97F4A7C15) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var x = seed
        for i in 0..<count {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            out[i] = UInt8(truncatingIfNeeded: x)
        }
        return out
    }

    /// FNV-1a over bytes, to compare bodies without keeping them.
    struct Checksum {
        var value: UInt64 = 0xcbf29ce484222325
        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            for b in bytes { value = (value ^ UInt64(b)) &* 0x100000001b3 }
        }
        mutating func add(_ bytes: [UInt8]) { bytes.withUnsafeBytes { add($0) } }
    }

    /// Peak resident memory (VmHWM) in bytes; `resetPeak` starts a new measurement.
    static func peakResidentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    static func residentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    /// Resets VmHWM to the current RSS (Linux clear_refs 5); false where not permitted.
    static func resetPeak() -> Bool {
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? h.close() }
        return (try? h.write(contentsOf: Data("5".utf8))) != nil
    }
}

struct ToolMissing: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
