import XCTest
import Codec
import DicomNet
@testable import Node

/// The node in-process: managed SCPs and SCUs, persistence across restarts, the log, the config.
final class NodeServerTests: XCTestCase {
    var folder = ""
    var nodes: [NodeServer] = []

    override func setUp() { folder = makeTemporaryFolder("server") }
    override func tearDown() {
        for n in nodes { n.stop(waitSeconds: 1) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    func startNode(_ base: NodeConfig = NodeConfig()) throws -> NodeServer {
        var config = base
        config.dataFolder = folder
        config.dicom.port = 0
        config.logLevel = "error"
        let node = try NodeServer(config: config)
        try node.start()
        nodes.append(node)
        return node
    }

    static func freePort() throws -> UInt16 {
        let l = try TCPListener(host: "127.0.0.1", port: 0)
        defer { l.close() }
        return l.port
    }

    func echo(_ ae: String, port: UInt16) throws -> DIMSEStatus {
        var rq = AssociationRequest(callingAETitle: "TEST", calledAETitle: ae, host: "127.0.0.1", port: port)
        rq.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.explicitVRLittleEndianUID])
        let assoc = try rq.open(log: StderrLogger(minimumLevel: .error))
        defer { try? assoc.release() }
        return try assoc.echo()
    }

    func store(_ bytes: [UInt8], ae: String, port: UInt16) throws -> StoreResult {
        let path = folder + "/upload-\(UInt32.random(in: 0...UInt32.max)).dcm"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let file = try StorableFile(path: path)
        var rq = AssociationRequest(callingAETitle: "TEST", calledAETitle: ae, host: "127.0.0.1", port: port)
        rq.proposeStorage(for: [file])
        let assoc = try rq.open(log: StderrLogger(minimumLevel: .error))
        defer { try? assoc.release() }
        return try assoc.store(file)
    }

    func testManagedSCPListensStoresWithItsSourceAndSurvivesRestart() throws {
        var node = try startNode()
        let port = try Self.freePort()
        let scp = try node.addSCP(name: "ward", aeTitle: " WARD_SCP ", port: Int(port))
        XCTAssertEqual(scp.aeTitle, "WARD_SCP", "AE title trimmed")
        XCTAssertEqual(try node.addSCP(name: "ward", aeTitle: "OTHER", port: 1), scp, "same name: the existing SCP (as Slicebox)")
        XCTAssertEqual(try echo("WARD_SCP", port: port), .success)
        let r = try store(try makeInstance(sop: "4.4.4"), ae: "WARD_SCP", port: port)
        XCTAssertEqual(r.status, .success)
        let stored = try XCTUnwrap(try node.index.storedImage(sopInstanceUID: "4.4.4"))
        XCTAssertEqual(stored.source, Source(type: .scp, name: "ward", id: scp.id))

        node.stop(waitSeconds: 1)
        nodes.removeAll()
        node = try startNode()
        XCTAssertEqual(try node.listSCPs(), [scp], "persisted")
        XCTAssertEqual(try echo("WARD_SCP", port: port), .success, "listening again after restart")
        XCTAssertNotNil(try node.index.storedImage(sopInstanceUID: "4.4.4"))

        try node.removeSCP(id: scp.id)
        XCTAssertEqual(try node.listSCPs(), [])
        XCTAssertThrowsError(try echo("WARD_SCP", port: port), "no listener after removal")
    }

    func testSCPRefusals() throws {
        let node = try startNode()
        XCTAssertThrowsError(try node.addSCP(name: "a", aeTitle: "", port: 1000))
        XCTAssertThrowsError(try node.addSCP(name: "a", aeTitle: "SEVENTEEN_CHARS_X", port: 1000))
        XCTAssertThrowsError(try node.addSCP(name: "a", aeTitle: "A\\B", port: 1000))
        XCTAssertThrowsError(try node.addSCP(name: "a", aeTitle: "OK", port: 70000))
        // A port another program holds is refused and nothing is recorded.
        let held = try TCPListener(host: "127.0.0.1", port: 0)
        defer { held.close() }
        XCTAssertThrowsError(try node.addSCP(name: "b", aeTitle: "OK", port: Int(held.port))) { error in
            XCTAssertTrue("\(error)".contains("cannot listen on port"), "\(error)")
        }
        XCTAssertEqual(try node.listSCPs(), [])
        XCTAssertEqual(try node.addSCP(name: "c", aeTitle: "SIXTEEN_CHARS_AE", port: Int(try Self.freePort())).aeTitle, "SIXTEEN_CHARS_AE")
    }

    func testSCUsAreValidatedPersistedAndUsedAsMoveDestinations() throws {
        let node = try startNode()
        let scu = try node.addSCU(name: "pacs", aeTitle: "PACS", host: "127.0.0.1", port: 11999)
        XCTAssertEqual(try node.addSCU(name: "pacs", aeTitle: "PACS", host: "127.0.0.1", port: 11999), scu, "idempotent")
        XCTAssertThrowsError(try node.addSCU(name: "other", aeTitle: "X", host: "127.0.0.1", port: 11999), "host+port unique")
        XCTAssertThrowsError(try node.addSCU(name: "pacs", aeTitle: "Y", host: "127.0.0.2", port: 1), "name unique")
        XCTAssertThrowsError(try node.addSCU(name: "z", aeTitle: "Z", host: "", port: 1))
        let resolver = NodeMoveDestinations(node: node)
        XCTAssertEqual(resolver.destination(forAETitle: "PACS ")?.port, 11999)
        XCTAssertNil(resolver.destination(forAETitle: "NOBODY"))
        try node.removeSCU(id: scu.id)
        XCTAssertNil(resolver.destination(forAETitle: "PACS"))
    }

    func testSendToSCUDeliversStoredImages() throws {
        let node = try startNode()
        // The node sends to itself: its main SCP is a C-STORE SCP like any other.
        let a = try node.ingest.store(bytes: try makeInstance(sop: "6.1"), source: .unknown)
        let port = try Self.freePort()
        let other = try node.addSCP(name: "loop", aeTitle: "LOOP", port: Int(port))
        let scu = try node.addSCU(name: "loop", aeTitle: "LOOP", host: "127.0.0.1", port: Int(port))
        let result = try node.send(imageIds: [a.outcome.imageId], toSCU: scu.id)
        XCTAssertEqual(result.sent, 1)
        XCTAssertEqual(result.failed, [])
        XCTAssertEqual(try node.index.storedImage(sopInstanceUID: "6.1")?.source, Source(type: .scp, name: "loop", id: other.id))
        XCTAssertThrowsError(try node.send(imageIds: [a.outcome.imageId], toSCU: 999)) { error in
            guard case NodeError.notFound = error else { return XCTFail("\(error)") }
        }
    }

    func testRefusedStoreAnswersFailureAndKeepsTheAssociation() throws {
        let node = try startNode()
        let port = node.mainSCP!.port
        // Same UID twice with policy reject: second answer is a failure, first copy intact.
        node.ingest.duplicatePolicy = .reject
        XCTAssertEqual(try store(try makeInstance(sop: "9.1", description: "first"), ae: "DICOMNODE", port: port).status, .success)
        let refused = try store(try makeInstance(sop: "9.1", description: "second"), ae: "DICOMNODE", port: port)
        XCTAssertEqual(refused.status.rawValue, 0xC000)
        XCTAssertTrue(refused.errorComment?.contains("duplicate") == true, "\(refused.errorComment ?? "")")
        XCTAssertEqual(try node.index.series(MetadataQuery()).map(\.seriesDescription), ["first"])
    }

    func testLogIsPersistedAndFiltered() throws {
        let node = try startNode()
        node.log.log(.warning, "scu", "peer unreachable", ["ae": "PACS"])
        node.log.log(.info, "scp", "added", ["name": "x"])
        node.log.log(.debug, "scp", "not persisted", [:])
        node.log.flush()
        let warnings = try node.index.logEntries(type: .WARN)
        XCTAssertTrue(warnings.contains { $0.subject == "scu" && $0.message == "peer unreachable ae=PACS" }, "\(warnings)")
        let scp = try node.index.logEntries(subject: "scp")
        XCTAssertTrue(scp.contains { $0.message == "added name=x" })
        XCTAssertFalse(scp.contains { $0.message.contains("not persisted") })
        XCTAssertEqual(try node.index.logEntries(count: 1).count, 1)
        XCTAssertGreaterThan(try node.index.logEntries(subject: "node").count, 0, "start-up is logged")
        try node.index.clearLog()
        XCTAssertEqual(try node.index.logEntries().count, 0)
        // Retention: only the newest entries stay.
        let small = NodeLog(minimumLevel: .error, retention: 5)
        small.persist(to: node.index, interval: 3600)
        for i in 0..<12 { small.log(.info, "test", "entry \(i)", [:]) }
        small.flush()
        XCTAssertEqual(try node.index.logEntries(count: 100, subject: "test").map(\.message), (7..<12).reversed().map { "entry \($0)" })
        small.stop()
    }

    func testConfigDefaultsPartialFilesAndTypos() throws {
        let path = folder + "/config.json"
        try #"{"dicom": {"port": 4242}, "duplicatePolicy": "keep"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let c = try NodeConfig.load(path: path)
        XCTAssertEqual(c.dicom.port, 4242)
        XCTAssertEqual(c.dicom.aeTitle, "DICOMNODE")
        XCTAssertEqual(c.http.port, 5000)
        XCTAssertEqual(c.dataFolder, "./data")
        XCTAssertEqual(c.duplicatePolicy, "keep")
        try #"{"dicom": {"prot": 4242}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try NodeConfig.load(path: path)) { XCTAssertTrue("\($0)".contains("unknown key 'dicom.prot'"), "\($0)") }
        try #"{"duplicatePolicy": "sometimes"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try NodeConfig.load(path: path).validated())
        try #"{"dicom": {"port": "x"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try NodeConfig.load(path: path))
        // Forwarding's settings: a section given in part keeps the other keys' defaults, and reaches the service.
        try #"{"forwarding": {"idleSeconds": 2, "retryMaxSeconds": 60}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        var forwarding = try NodeConfig.load(path: path)
        var expected = ForwardingSettings()
        (expected.idleSeconds, expected.retryMaxSeconds) = (2, 60)
        XCTAssertEqual(forwarding.forwarding, expected)
        forwarding.dataFolder = folder
        forwarding.dicom.port = 0
        let unstarted = try NodeServer(config: forwarding)
        XCTAssertEqual(unstarted.forwarding.settings, expected)
        unstarted.stop(waitSeconds: 1)
        try #"{"forwarding": {"idleSecond": 2}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try NodeConfig.load(path: path)) { XCTAssertTrue("\($0)".contains("unknown key 'forwarding.idleSecond'"), "\($0)") }
        var slow = NodeConfig()
        slow.forwarding.retryMaxSeconds = 1
        XCTAssertThrowsError(try slow.validated()) { XCTAssertTrue("\($0)".contains("retryMaxSeconds at least retryBaseSeconds"), "\($0)") }
    }

    /// C-MOVE destinations from the config: TLS ones get a client context made at start-up and
    /// win over a managed SCU of the same AE title; plain ones yield to it (as before); typos and
    /// half-given TLS settings are refused with the key named.
    func testConfiguredMoveDestinationsWithTLS() throws {
        let path = folder + "/config.json"
        try #"{"moveDestinations": {"SECURE": {"host": "127.0.0.1", "port": 11998, "tls": true}, "PLAIN": {"host": "127.0.0.1", "port": 11997}}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let config = try NodeConfig.load(path: path)
        XCTAssertEqual(config.moveDestinations["SECURE"], NodeConfig.Destination(host: "127.0.0.1", port: 11998, tls: true))
        let node = try startNode(config)
        let resolver = NodeMoveDestinations(node: node)
        XCTAssertNotNil(resolver.destination(forAETitle: "SECURE")?.tls)
        XCTAssertNil(resolver.destination(forAETitle: "PLAIN")?.tls)
        XCTAssertEqual(resolver.destination(forAETitle: "PLAIN")?.port, 11997)
        _ = try node.addSCU(name: "secure", aeTitle: "SECURE", host: "127.0.0.1", port: 12001)
        _ = try node.addSCU(name: "plain", aeTitle: "PLAIN", host: "127.0.0.1", port: 12002)
        XCTAssertEqual(resolver.destination(forAETitle: "SECURE")?.port, 11998, "a TLS destination is never replaced by a plain SCU")
        XCTAssertNotNil(resolver.destination(forAETitle: "SECURE")?.tls)
        XCTAssertEqual(resolver.destination(forAETitle: "PLAIN")?.port, 12002, "a managed SCU comes before a plain configured destination")

        for (json, message) in [
            (#"{"moveDestinations": {"SECURE": {"host": "h", "port": 1, "tls": true, "tlsCa": "/x"}}}"#, "unknown key 'moveDestinations.SECURE.tlsCa'"),
        ] {
            try json.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try NodeConfig.load(path: path)) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
        for (destination, message) in [
            (NodeConfig.Destination(host: "h", port: 1, tlsCA: "/x"), "need \"tls\": true"),
            (NodeConfig.Destination(host: "h", port: 1, tls: true, tlsCertificate: "/c"), "tlsCertificate and tlsKey go together"),
            (NodeConfig.Destination(host: "h", port: 0), "port must be 1–65535"),
        ] {
            var c = NodeConfig()
            c.moveDestinations["DEST"] = destination
            XCTAssertThrowsError(try c.validated()) { XCTAssertTrue("\($0)".contains("moveDestinations.DEST: ") && "\($0)".contains(message), "\($0)") }
        }
        var missing = config
        missing.dataFolder = folder
        missing.moveDestinations = ["SECURE": NodeConfig.Destination(host: "h", port: 1, tls: true, tlsCA: folder + "/no-such-ca.pem")]
        XCTAssertThrowsError(try NodeServer(config: missing)) { XCTAssertTrue("\($0)".contains("moveDestinations.SECURE"), "\($0)") }
    }
}
