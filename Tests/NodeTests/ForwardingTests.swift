import XCTest
import Foundation
import Codec
import DicomNet
import TestPeers
@testable import Node

/// Forwarding rules end to end: a node (in-process `NodeServer`) forwards what a source stores to
/// a real DCMTK storescp on loopback; a second node that refuses duplicates plays a PACS that
/// refuses an instance for good.
final class ForwardingTests: XCTestCase {
    var folder = ""
    var nodes: [NodeServer] = []
    var peers: [Process] = []

    /// The source the tests' rules forward from, and one they do not.
    let ward = Source(type: .user, name: "ward", id: 7)
    let other = Source(type: .user, name: "other", id: 8)

    override func setUpWithError() throws {
        folder = makeTemporaryFolder("forwarding")
        try PeerTools.requireTool("/usr/bin/storescp")
    }

    override func tearDown() {
        for n in nodes { n.stop(waitSeconds: 1) }
        for p in peers where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        nodes.removeAll()
        peers.removeAll()
        try? FileManager.default.removeItem(atPath: folder)
    }

    static var fast: ForwardingSettings {
        var s = ForwardingSettings()
        s.idleSeconds = 0.3
        s.pollSeconds = 0.05
        s.retryBaseSeconds = 0.2
        s.retryMaxSeconds = 0.8
        return s
    }

    /// A node on `dataFolder` (main SCP on a free port), forwarding with short timings.
    func startNode(_ dataFolder: String? = nil, ae: String = "FWDNODE", policy: String = "replace", start: Bool = true) throws -> NodeServer {
        var config = NodeConfig()
        config.dataFolder = dataFolder ?? folder + "/node"
        config.dicom.port = 0
        config.dicom.aeTitle = ae
        config.duplicatePolicy = policy
        config.logLevel = "error"
        let node = try NodeServer(config: config)
        node.forwarding.settings = Self.fast
        if start { try node.start() }
        nodes.append(node)
        return node
    }

    /// DCMTK storescp accepting every transfer syntax, writing what it receives to `output`.
    func startStorescp(port: UInt16, output: String, extra: [String] = []) throws -> Process {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let p = try PeerTools.spawn("/usr/bin/storescp", ["-aet", "STORESCP", "+xa"] + extra + ["-od", output, String(port)])
        peers.append(p)
        try PeerTools.waitForPort(port)
        return p
    }

    /// SOP Instance UIDs of the files storescp wrote.
    func received(_ output: String) -> [String] {
        // A file being written may not parse yet: it counts once it does.
        filesUnder(output).compactMap { try? DicomFile.read(path: output + "/" + $0, options: .headerOnly).dataSet.string(.sopInstanceUID) }
    }

    func waitFor(_ what: String, seconds: Double = 20, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(20_000)
        }
        XCTFail("timed out waiting for \(what)")
        throw PeerMissing("timed out waiting for \(what)")
    }

    /// Stores a generated study of `series` × `perSeries` CT instances from `source`; returns the SOP Instance UIDs.
    @discardableResult
    func storeStudy(_ node: NodeServer, study: String, series: Int, perSeries: Int, source: Source) throws -> [String] {
        var sops: [String] = []
        for s in 1...series {
            for i in 1...perSeries {
                let sop = "\(study).\(s).\(i)"
                _ = try node.ingest.store(bytes: try makeInstance(study: study, series: "\(study).\(s)", sop: sop, instanceNumber: i), source: source)
                sops.append(sop)
            }
        }
        return sops
    }

    func sopsInIndex(_ node: NodeServer) throws -> Set<String> {
        Set(try node.index.db.read { try $0.query("SELECT sop_instance_uid FROM images").compactMap { $0[0].string } })
    }

    // MARK: rules

    func testRulesAreValidatedIdempotentPersistedAndRemovedWithTheirDestination() throws {
        var node = try startNode()
        let scu = try node.addSCU(name: "pacs", aeTitle: "PACS", host: "127.0.0.1", port: Int(try PeerTools.freePort()))
        let rule = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: scu.id),
                                                              keepImages: true))
        XCTAssertEqual(rule.destination.destinationName, "pacs", "the name comes from the SCU")
        let again = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "x", destinationId: scu.id),
                                                               keepImages: false))
        XCTAssertEqual(again, rule, "same source and destination: the existing rule, first keepImages kept (as Slicebox)")
        XCTAssertEqual(try node.forwarding.destinations(), [Destination(destinationType: .scu, destinationName: "pacs", destinationId: scu.id)])

        XCTAssertThrowsError(try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: scu.id + 100),
                                                                        keepImages: true))) {
            XCTAssertTrue("\($0)".contains("scu destination \(scu.id + 100)"), "\($0)")
        }
        XCTAssertThrowsError(try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .box, destinationName: "", destinationId: 1),
                                                                        keepImages: true))) {
            XCTAssertTrue("\($0)".contains("box destination 1"), "a box rule to a box that does not exist: \($0)")
        }
        XCTAssertThrowsError(try node.forwarding.addRule(ForwardingRule(source: .unknown, destination: rule.destination, keepImages: true)))

        node.stop(waitSeconds: 1)
        nodes.removeAll()
        node = try startNode()
        XCTAssertEqual(try node.forwarding.rules(), [rule], "persisted")
        XCTAssertEqual(try node.forwarding.rules(startIndex: 1, count: 20), [])

        try node.removeSCU(id: scu.id)
        XCTAssertEqual(try node.forwarding.rules(), [], "a rule goes with its destination")
        let scp = try node.addSCP(name: "ward-scp", aeTitle: "WARD", port: Int(try PeerTools.freePort()))
        let scu2 = try node.addSCU(name: "pacs2", aeTitle: "PACS2", host: "127.0.0.1", port: Int(try PeerTools.freePort()))
        _ = try node.forwarding.addRule(ForwardingRule(source: Source(type: .scp, name: "ward-scp", id: scp.id),
                                                       destination: Destination(destinationType: .scu, destinationName: "", destinationId: scu2.id), keepImages: true))
        try node.removeSCP(id: scp.id)
        XCTAssertEqual(try node.forwarding.rules(), [], "a rule goes with its source")
    }

    func testStoreStatusesAndAssociationBatches() {
        // PS3.4 B.2.3: warnings count as delivered, A7xx may pass, other failures are final.
        XCTAssertEqual(SCUForwardingSender.result(StoreResult(status: 0x0000)), .delivered(status: 0))
        XCTAssertEqual(SCUForwardingSender.result(StoreResult(status: 0xB000)), .delivered(status: 0xB000))
        guard case .deferred(0xA700, _) = SCUForwardingSender.result(StoreResult(status: 0xA700)) else { return XCTFail("A700 defers") }
        guard case .refused(0xA900, let reason) = SCUForwardingSender.result(StoreResult(status: 0xA900, errorComment: "mismatch")) else { return XCTFail("A900 refuses") }
        XCTAssertTrue(reason.contains("0xA900") && reason.contains("mismatch"), reason)
        guard case .refused(0x0122, _) = SCUForwardingSender.result(StoreResult(status: 0x0122)) else { return XCTFail("0122 refuses") }

        // 200 SOP classes need 200 contexts: two associations, each within PS3.8's 128.
        let files = (0..<200).map { StorableFile(path: "/x", sopClassUID: "1.2.\($0)", sopInstanceUID: "9.\($0)", transferSyntax: .explicitVRLittleEndian) }
        let batches = SCUForwardingSender.batches(files)
        XCTAssertEqual(batches.map(\.count), [128, 72])
        XCTAssertEqual(batches.flatMap { $0 }, Array(0..<200))
        // A compressed syntax takes a context of its own beside the native one.
        let j2k = TransferSyntax(uid: "1.2.840.10008.1.2.4.90")
        XCTAssertEqual(SCUForwardingSender.batches((0..<100).map { StorableFile(path: "/x", sopClassUID: "1.2.\($0)", sopInstanceUID: "9.\($0)", transferSyntax: j2k) })
                        .map(\.count), [64, 36])
        XCTAssertEqual(SCUForwardingSender.batches(Array(repeating: files[0], count: 500)).map(\.count), [500], "one class: one association")
    }

    // MARK: delivery

    func testNoMatchingRuleSendsNothingThenAMatchingSourceIsForwarded() throws {
        let node = try startNode()
        let port = try PeerTools.freePort()
        let output = folder + "/storescp"
        _ = try startStorescp(port: port, output: output)
        let scu = try node.addSCU(name: "pacs", aeTitle: "STORESCP", host: "127.0.0.1", port: Int(port))
        _ = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: scu.id), keepImages: true))

        try storeStudy(node, study: "9.1", series: 1, perSeries: 3, source: other)
        _ = try node.ingest.store(bytes: try makeInstance(sop: "9.2.1"), source: Source(type: .scp, name: "FWDNODE", id: 0))
        node.ingest.drainEvents()
        Thread.sleep(forTimeInterval: Self.fast.idleSeconds * 4)
        XCTAssertEqual(try node.forwarding.transactions(), [], "no transaction for images of other sources")
        XCTAssertEqual(received(output), [], "nothing sent")

        // The same setup does deliver what the rule's source stores.
        try storeStudy(node, study: "9.3", series: 1, perSeries: 1, source: ward)
        try waitFor("the ward's image at storescp") { received(output) == ["9.3.1.1"] }
    }

    func testRuleDeliversAStudyToStorescpOneTransactionPerSeries() throws {
        let pyd = try PeerTools.pydicomTestFiles()
        let node = try startNode()
        // Long enough that each series is still collecting when the last image is stored again.
        node.forwarding.settings.idleSeconds = 2
        let port = try PeerTools.freePort()
        let output = folder + "/storescp"
        _ = try startStorescp(port: port, output: output)
        let scu = try node.addSCU(name: "pacs", aeTitle: "STORESCP", host: "127.0.0.1", port: Int(port))
        let rule = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: scu.id),
                                                              keepImages: true))

        var sops = try storeStudy(node, study: "1.5", series: 2, perSeries: 4, source: ward)
        // pydicom's real files: an uncompressed CT and a JPEG 2000 one (sent in its own syntax).
        for name in ["CT_small.dcm", "JPEG2000.dcm"] {
            let r = try node.ingest.store(path: pyd + "/" + name, source: ward)
            sops.append(r.sopInstanceUID)
        }
        // The same image stored twice while its transaction collects: offered once.
        _ = try node.ingest.store(bytes: try makeInstance(study: "1.5", series: "1.5.1", sop: "1.5.1.1"), source: ward)
        node.ingest.drainEvents()

        let series = try node.index.db.read { try $0.scalar("SELECT count(*) FROM series") } ?? 0
        XCTAssertEqual(series, 4)
        try waitFor("every transaction delivered") {
            let t = try node.forwarding.transactions(ruleId: rule.id)
            return t.count == 4 && t.allSatisfy { $0.status == .delivered }
        }
        let transactions = try node.forwarding.transactions()
        XCTAssertEqual(transactions.map(\.totalImageCount).sorted(), [1, 1, 4, 4], "one transaction per series, deduplicated")
        XCTAssertEqual(Set(transactions.map(\.seriesId)).count, 4)
        for t in transactions {
            XCTAssertEqual(t.sentImageCount, t.totalImageCount)
            XCTAssertEqual(t.failedImageCount, 0)
            XCTAssertEqual(t.attempts, 1)
            XCTAssertNil(t.lastError)
            XCTAssertNil(t.nextAttempt)
            XCTAssertEqual(t.destination.destinationName, "pacs")
            XCTAssertEqual(t.source, ward)
            XCTAssertTrue(try node.forwarding.transactionImages(id: t.id).allSatisfy { $0.status == .delivered && $0.dimseStatus == 0 })
        }
        let got = received(output)
        XCTAssertEqual(Set(got), Set(sops), "storescp holds the same SOP Instance UIDs")
        XCTAssertEqual(got.count, sops.count, "each once")
        XCTAssertEqual(try sopsInIndex(node), Set(sops), "keepImages: every image stays")
    }

    func testKeepImagesFalseDeletesDeliveredImagesAndARefusedImageHoldsBackOnlyItself() throws {
        let node = try startNode()
        let port = try PeerTools.freePort()
        let output = folder + "/storescp"
        _ = try startStorescp(port: port, output: output)
        // A second node as a PACS that refuses an instance it already holds (C-STORE 0xC000).
        let refuser = try startNode(folder + "/refuser", ae: "REFUSER", policy: "reject")
        let held = "3.1.1.2"
        _ = try refuser.ingest.store(bytes: try makeInstance(study: "3.1", series: "3.1.1", sop: held, instanceNumber: 2), source: .unknown)
        let refuserPort = try XCTUnwrap(refuser.mainSCP?.port)

        let pacs = try node.addSCU(name: "pacs", aeTitle: "STORESCP", host: "127.0.0.1", port: Int(port))
        let archive = try node.addSCU(name: "archive", aeTitle: "REFUSER", host: "127.0.0.1", port: Int(refuserPort))
        // The relay: source 7's images go to both, and to the PACS only for source 8.
        let toPACS = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: pacs.id), keepImages: false))
        let toArchive = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: archive.id), keepImages: false))
        _ = try node.forwarding.addRule(ForwardingRule(source: other, destination: Destination(destinationType: .scu, destinationName: "", destinationId: pacs.id), keepImages: false))

        let wardSOPs = try storeStudy(node, study: "3.1", series: 1, perSeries: 3, source: ward)
        let otherSOPs = try storeStudy(node, study: "3.2", series: 1, perSeries: 2, source: other)
        try waitFor("every transaction finished") {
            let t = try node.forwarding.transactions()
            return t.count == 3 && t.allSatisfy { $0.status == .delivered || $0.status == .failed }
        }
        let archiveTransaction = try XCTUnwrap(try node.forwarding.transactions(ruleId: toArchive.id).first)
        XCTAssertEqual(archiveTransaction.status, .failed)
        XCTAssertEqual(archiveTransaction.sentImageCount, 2)
        XCTAssertEqual(archiveTransaction.failedImageCount, 1)
        XCTAssertEqual(archiveTransaction.attempts, 1, "a refusal is not retried")
        XCTAssertTrue(archiveTransaction.lastError?.contains(held) == true, archiveTransaction.lastError ?? "")
        let refused = try XCTUnwrap(try node.forwarding.transactionImages(id: archiveTransaction.id).first { $0.status == .failed })
        XCTAssertEqual(refused.sopInstanceUID, held)
        XCTAssertEqual(refused.dimseStatus, 0xC000, "the destination's status is recorded")
        XCTAssertEqual(try node.forwarding.transactions(ruleId: toPACS.id).first?.status, .delivered)

        XCTAssertEqual(Set(received(output)), Set(wardSOPs + otherSOPs))
        // Deleted: everything delivered everywhere; kept: only the refused instance (not the whole source, Slicebox #317).
        try waitFor("delivered images deleted") { try sopsInIndex(node) == [held] }
        node.ingest.settle()
        XCTAssertEqual(filesUnder(folder + "/node/images").count, 1, "their files too")

        // Waiting a while changes nothing: the refusal is final.
        Thread.sleep(forTimeInterval: Self.fast.retryMaxSeconds * 2)
        XCTAssertEqual(try node.forwarding.transaction(id: archiveTransaction.id)?.attempts, 1)

        // Giving up on the archive's copy releases it: the PACS has it, so it goes too.
        try node.forwarding.removeTransaction(id: archiveTransaction.id)
        XCTAssertEqual(try sopsInIndex(node), [])
        XCTAssertNil(try node.forwarding.transaction(id: archiveTransaction.id))
    }

    func testRetryTransactionOffersRefusedImagesAgain() throws {
        let node = try startNode()
        let refuser = try startNode(folder + "/refuser", ae: "REFUSER", policy: "reject")
        _ = try refuser.ingest.store(bytes: try makeInstance(study: "4.1", series: "4.1.1", sop: "4.1.1.1"), source: .unknown)
        let archive = try node.addSCU(name: "archive", aeTitle: "REFUSER", host: "127.0.0.1", port: Int(try XCTUnwrap(refuser.mainSCP?.port)))
        _ = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: archive.id), keepImages: true))
        try storeStudy(node, study: "4.1", series: 1, perSeries: 2, source: ward)
        try waitFor("refused") { try node.forwarding.transactions().first?.status == .failed }
        let id = try XCTUnwrap(try node.forwarding.transactions().first?.id)

        // The archive's operator fixes the cause; the transaction is retried and delivers.
        _ = try refuser.ingest.delete(imageIds: [try XCTUnwrap(try refuser.index.storedImage(sopInstanceUID: "4.1.1.1")).image.id])
        try node.forwarding.retryTransaction(id: id)
        try waitFor("delivered after the retry") { try node.forwarding.transaction(id: id)?.status == .delivered }
        let t = try XCTUnwrap(try node.forwarding.transaction(id: id))
        XCTAssertEqual([t.sentImageCount, t.failedImageCount, t.attempts], [2, 0, 1])
        XCTAssertNotNil(try refuser.index.storedImage(sopInstanceUID: "4.1.1.1"))
    }

    func testDestinationDownIsRetriedWithBackoffAndDeliversOnceItListens() throws {
        let node = try startNode()
        let port = try PeerTools.freePort()
        let scu = try node.addSCU(name: "pacs", aeTitle: "STORESCP", host: "127.0.0.1", port: Int(port))
        _ = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: scu.id), keepImages: true))
        let sops = try storeStudy(node, study: "5.1", series: 1, perSeries: 3, source: ward)

        // Each failed attempt schedules the next after base × 2^(attempts−1), capped.
        var waits: [Int: Int64] = [:]
        try waitFor("four failed attempts", seconds: 30) {
            guard let t = try node.forwarding.transactions().first else { return false }
            if t.status == .pending, t.attempts > 0, let next = t.nextAttempt {
                waits[t.attempts] = next - t.updated
                XCTAssertTrue(t.lastError?.contains("connect") == true, t.lastError ?? "no error recorded")
            }
            return t.attempts >= 4 && t.status == .pending
        }
        XCTAssertGreaterThanOrEqual(waits.count, 2, "several attempts seen: \(waits)")
        for (attempts, wait) in waits {
            XCTAssertEqual(wait, Int64(Self.fast.backoff(afterAttempts: attempts) * 1000), "wait after attempt \(attempts)")
        }
        XCTAssertEqual(Self.fast.backoff(afterAttempts: 1), 0.2)
        XCTAssertEqual(Self.fast.backoff(afterAttempts: 2), 0.4)
        XCTAssertEqual(Self.fast.backoff(afterAttempts: 4), 0.8, "capped")

        let output = folder + "/storescp"
        _ = try startStorescp(port: port, output: output)
        try waitFor("delivered once storescp listens") { try node.forwarding.transactions().first?.status == .delivered }
        let t = try XCTUnwrap(try node.forwarding.transactions().first)
        XCTAssertNil(t.lastError)
        XCTAssertGreaterThanOrEqual(t.attempts, 5)
        XCTAssertEqual(Set(received(output)), Set(sops))
    }

    // MARK: restarts

    func testRestartWhilePendingResendsEverything() throws {
        var node = try startNode()
        let port = try PeerTools.freePort()
        let scu = try node.addSCU(name: "pacs", aeTitle: "STORESCP", host: "127.0.0.1", port: Int(port))
        _ = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: scu.id), keepImages: false))
        let sops = try storeStudy(node, study: "6.1", series: 2, perSeries: 3, source: ward)
        try waitFor("a failed attempt") { try node.forwarding.transactions().contains { $0.attempts > 0 } }
        node.stop(waitSeconds: 1)
        nodes.removeAll()

        let output = folder + "/storescp"
        _ = try startStorescp(port: port, output: output)
        node = try startNode()
        try waitFor("delivered after the restart") {
            let t = try node.forwarding.transactions()
            return t.count == 2 && t.allSatisfy { $0.status == .delivered }
        }
        XCTAssertEqual(Set(received(output)), Set(sops))
        try waitFor("deleted after delivery") { try sopsInIndex(node).isEmpty }
    }

    func testRestartWhileSendingResendsWhatWasNotConfirmed() throws {
        var node = try startNode()
        let port = try PeerTools.freePort()
        let output = folder + "/storescp"
        // A slow PACS: one second after each image, so the node can be stopped in the middle.
        let slow = try startStorescp(port: port, output: output, extra: ["--sleep-after", "1"])
        let scu = try node.addSCU(name: "pacs", aeTitle: "STORESCP", host: "127.0.0.1", port: Int(port))
        _ = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: scu.id), keepImages: true))
        let sops = try storeStudy(node, study: "7.1", series: 1, perSeries: 4, source: ward)
        try waitFor("sending, part delivered") {
            guard let t = try node.forwarding.transactions().first else { return false }
            return t.status == .sending && t.sentImageCount >= 1
        }
        // Stopped without waiting: the send under way is abandoned as by a crash.
        node.forwarding.stop(waitSeconds: 0)
        let id = try XCTUnwrap(try node.forwarding.transactions().first?.id)
        node.stop(waitSeconds: 1)
        nodes.removeAll()
        kill(slow.processIdentifier, SIGKILL)
        slow.waitUntilExit()

        node = try startNode(start: false)
        let left = try XCTUnwrap(try node.forwarding.transaction(id: id))
        XCTAssertEqual(left.status, .sending, "the index says sending, as after a crash")
        XCTAssertLessThan(left.sentImageCount, 4)
        _ = try startStorescp(port: port, output: output)
        try node.start()
        try waitFor("delivered after the restart") { try node.forwarding.transaction(id: id)?.status == .delivered }
        XCTAssertEqual(try node.forwarding.transaction(id: id)?.sentImageCount, 4)
        XCTAssertEqual(try node.forwarding.transactions().count, 1, "the same transaction finished")
        XCTAssertEqual(Set(received(output)), Set(sops), "every image arrived")
    }

    func testImagesStoredWithoutTheirEventAreTakenInAtStart() throws {
        var node = try startNode()
        let port = try PeerTools.freePort()
        let scu = try node.addSCU(name: "pacs", aeTitle: "STORESCP", host: "127.0.0.1", port: Int(port))
        _ = try node.forwarding.addRule(ForwardingRule(source: ward, destination: Destination(destinationType: .scu, destinationName: "", destinationId: scu.id), keepImages: true))
        let before = try storeStudy(node, study: "8.1", series: 1, perSeries: 1, source: ward)
        node.stop(waitSeconds: 1)
        nodes.removeAll()

        // Stored and committed, but the process died before the event reached forwarding.
        let bare = try makeIngest(folder + "/node")
        var lost: [String] = []
        for i in 1...3 {
            lost.append(try bare.store(bytes: try makeInstance(study: "8.2", series: "8.2.1", sop: "8.2.1.\(i)"), source: ward).sopInstanceUID)
        }
        _ = try bare.store(bytes: try makeInstance(study: "8.3", series: "8.3.1", sop: "8.3.1.1"), source: other)
        bare.settle()
        bare.stop()

        let output = folder + "/storescp"
        _ = try startStorescp(port: port, output: output)
        node = try startNode()
        try waitFor("delivered") {
            let t = try node.forwarding.transactions()
            return t.count == 2 && t.allSatisfy { $0.status == .delivered }
        }
        let got = received(output)
        XCTAssertEqual(Set(got), Set(before + lost), "the lost images and the one pending before; not the other source's")
        XCTAssertEqual(got.count, 4)
    }
}
