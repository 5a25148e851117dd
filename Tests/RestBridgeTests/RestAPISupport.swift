import XCTest
import Foundation
import Node
import TestPeers
@testable import RestBridge

/// A node with its REST side, in process, on free ports and a fresh folder.
final class TestNode {
    let folder: String
    let node: NodeServer
    let bridge: RestBridge
    var base: String { "http://127.0.0.1:\(bridge.port)/api" }

    init(configure: (inout NodeConfig) -> Void = { _ in }) throws {
        folder = PeerTools.temporaryDirectory("rest")
        var config = NodeConfig()
        config.dataFolder = folder
        config.dicom.port = 0
        config.http.port = 0
        config.logLevel = "error"
        configure(&config)
        node = try NodeServer(config: config)
        try node.start()
        bridge = try RestBridge(node: node)
        try bridge.start()
    }

    func stop() {
        bridge.stop(timeout: 1)
        node.stop(waitSeconds: 2)
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// curl as the HTTP client, as users call the API.
struct Curl {
    struct Reply {
        var status: Int
        var body: Data
        var headers: String
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> Any { try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
        func object() throws -> [String: Any] {
            guard let o = try json() as? [String: Any] else { throw PeerMissing("not a JSON object: \(text)") }
            return o
        }
        func array() throws -> [[String: Any]] {
            guard let a = try json() as? [[String: Any]] else { throw PeerMissing("not a JSON array: \(text)") }
            return a
        }
    }

    /// Credentials for every call: `-u user:pass`, or a cookie jar.
    var auth: [String] = ["-u", "admin:admin"]

    static let folder = PeerTools.temporaryDirectory("curl")

    func call(_ method: String, _ url: String, _ extra: [String] = []) throws -> Reply {
        try PeerTools.requireTool("/usr/bin/curl")
        let out = Curl.folder + "/body-\(UUID().uuidString)", head = Curl.folder + "/head-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: Curl.folder, withIntermediateDirectories: true)
        defer { unlink(out); unlink(head) }
        let (status, stdout, stderr) = try PeerTools.run("/usr/bin/curl", ["-s", "-S", "-X", method, "-o", out, "-D", head, "-w", "%{http_code}",
                                                                        "-A", "dicomnode-tests"] + auth + extra + [url], timeout: 60)
        guard status == 0 else { throw PeerMissing("curl \(method) \(url) failed (\(status)): \(stderr)") }
        return Reply(status: Int(String(decoding: stdout, as: UTF8.self)) ?? 0,
                     body: FileManager.default.contents(atPath: out) ?? Data(),
                     headers: (try? String(contentsOfFile: head, encoding: .utf8)) ?? "")
    }

    func get(_ url: String, _ extra: [String] = []) throws -> Reply { try call("GET", url, extra) }
    func delete(_ url: String) throws -> Reply { try call("DELETE", url) }
    func post(_ url: String, json: String) throws -> Reply { try call("POST", url, ["-H", "Content-Type: application/json", "--data-binary", json]) }
    func put(_ url: String, json: String) throws -> Reply { try call("PUT", url, ["-H", "Content-Type: application/json", "--data-binary", json]) }
    func upload(_ url: String, file: String, multipart: Bool = true) throws -> Reply {
        multipart ? try call("POST", url, ["-F", "file=@\(file)"])
                  : try call("POST", url, ["-H", "Content-Type: application/octet-stream", "--data-binary", "@\(file)"])
    }
}

func pydicomFile(_ name: String) throws -> String { try PeerTools.pydicomTestFiles() + "/" + name }
