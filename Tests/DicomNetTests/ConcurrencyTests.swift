import Foundation
import XCTest
import TestPeers
@testable import Codec
@testable import DicomNet

/// Many associations at once, silent and stalling peers, ARTIM and the association limit.
final class ConcurrencyTests: XCTestCase {
    func makeServer(_ configure: (DicomServer) -> Void = { _ in }) throws -> (DicomServer, String, TestLogger) {
        let folder = NetTestSupport.temporaryDirectory("concurrency")
        let log = TestLogger()
        let server = DicomServer(policy: .storageSCP(aeTitle: "DICOMNODE"), storage: try FolderStorage(folder: folder), log: log)
        configure(server)
        try server.start(host: "127.0.0.1", port: 0)
        return (server, folder, log)
    }

    func request(_ port: UInt16, files: [StorableFile]) -> AssociationRequest {
        var r = AssociationRequest(callingAETitle: "LOADSCU", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: port)
        r.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.explicitVRLittleEndianUID])
        for f in files { r.propose(f.sopClassUID, transferSyntaxes: [f.transferSyntax.uid]) }
        return r
    }

    func testSilentAndStallingPeersDoNotBlockOthers() throws {
        let (server, folder, _) = try makeServer()
        defer { server.stop(waitSeconds: 2) }
        // A peer that connects and says nothing, and one that sends half a PDU header and stalls.
        let silent = try TCPSocket.connect(host: "127.0.0.1", port: server.port)
        let stalling = try TCPSocket.connect(host: "127.0.0.1", port: server.port)
        try stalling.write([0x01, 0x00, 0x00])
        defer { silent.close(); stalling.close() }

        let files = try ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm"].map { try StorableFile(path: NetTestSupport.pydicomTestFiles() + "/" + $0) }
        let workers = 16
        let failures = LockedData()
        let group = DispatchGroup()
        let start = Date()
        for _ in 0..<workers {
            group.enter()
            let req = request(server.port, files: files)
            Thread {
                defer { group.leave() }
                do {
                    let assoc = try req.open(log: TestLogger())
                    for f in files where try assoc.store(f).status != .success { failures.set(Data([1])) }
                    try assoc.release()
                } catch {
                    failures.set(Data("\(error)".utf8))
                }
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "associations did not finish")
        XCTAssertFalse(failures.done, String(decoding: failures.data, as: UTF8.self))
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
        let stored = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".dcm") && !$0.hasPrefix(".") }
        XCTAssertEqual(Set(stored).count, files.count, "same three instances stored, overwritten, never duplicated or half-written")
    }

    func testARTIMClosesSilentConnections() throws {
        let (server, _, log) = try makeServer { $0.artimTimeout = 1 }
        defer { server.stop(waitSeconds: 2) }
        let silent = try TCPSocket.connect(host: "127.0.0.1", port: server.port)
        silent.readTimeout = 10
        var byte = [UInt8](repeating: 0, count: 1)
        let start = Date()
        let n = try byte.withUnsafeMutableBytes { try silent.read(into: $0) }
        XCTAssertEqual(n, 0, "the SCP closes the connection")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        for _ in 0..<100 where !log.lines.contains(where: { $0.contains("closed before negotiation") }) { usleep(10_000) }
        XCTAssertTrue(log.lines.contains { $0.contains("closed before negotiation") && $0.contains("timed out") }, log.lines.joined(separator: "\n"))
    }

    func testAssociationLimitRejectsWithLocalLimitExceeded() throws {
        let (server, _, _) = try makeServer { $0.maxAssociations = 2 }
        defer { server.stop(waitSeconds: 2) }
        let held = try (0..<2).map { _ in try request(server.port, files: []).open(log: TestLogger()) }
        XCTAssertThrowsError(try request(server.port, files: []).open(log: TestLogger())) { error in
            guard case AssociationError.rejected(let rj) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(rj.result, .transient)
            XCTAssertEqual(rj.reason, AssociateReject.localLimitExceeded.reason)
        }
        for a in held { try a.release() }
        // Once they are gone there is room again.
        for _ in 0..<100 where server.activeCount > 0 { usleep(10_000) }
        let again = try request(server.port, files: []).open(log: TestLogger())
        XCTAssertEqual(try again.echo(), .success)
        try again.release()
    }

    func testOversizedPDUIsAborted() throws {
        let (server, _, _) = try makeServer()
        defer { server.stop(waitSeconds: 2) }
        let assoc = try request(server.port, files: []).open(log: TestLogger())
        // A P-DATA-TF header claiming 64 MiB: far over the 256 KiB we negotiated.
        try assoc.stream.write([0x04, 0x00, 0x04, 0x00, 0x00, 0x00])
        var reply = [UInt8](repeating: 0, count: 10)
        try assoc.stream.readExactly(10, into: &reply)
        XCTAssertEqual(reply[0], 0x07, "A-ABORT")
        XCTAssertEqual(reply[9], 6, "invalid PDU parameter value")
    }
}
