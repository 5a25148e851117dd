import Foundation
import XCTest
@testable import Codec
@testable import DicomNet

/// Bad input from a peer gets the right answer, loses nothing stored, and the SCP keeps serving.
final class NegativeTests: XCTestCase {
    func makeServer() throws -> (DicomServer, String, TestLogger) {
        let folder = NetTestSupport.temporaryDirectory("negative")
        let log = TestLogger()
        let server = DicomServer(policy: .storageSCP(aeTitle: "DICOMNODE"), storage: try FolderStorage(folder: folder), log: log)
        try server.start(host: "127.0.0.1", port: 0)
        return (server, folder, log)
    }

    func assertStillServing(_ server: DicomServer, file: StaticString = #filePath, line: UInt = #line) throws {
        var r = AssociationRequest(callingAETitle: "CHECK", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: server.port)
        r.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        let a = try r.open(log: TestLogger())
        XCTAssertEqual(try a.echo(), .success, file: file, line: line)
        try a.release()
    }

    func testUnsupportedSOPClassContextIsRejected() throws {
        let (server, _, _) = try makeServer()
        defer { server.stop(waitSeconds: 2) }
        var r = AssociationRequest(callingAETitle: "SCU", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: server.port)
        r.propose("1.2.3.4.5.6.7", transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])       // not a SOP class we know
        r.propose("1.2.840.10008.5.1.4.1.1.2", transferSyntaxes: ["1.2.3.99"])  // CT Image Storage in a transfer syntax nobody knows
        r.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        let a = try r.open(log: TestLogger())
        XCTAssertEqual(a.contexts.count, 1, "only Verification is accepted")
        XCTAssertNil(a.context(for: "1.2.3.4.5.6.7"))
        XCTAssertThrowsError(try a.store(StorableFile(path: NetTestSupport.pydicomTestFiles() + "/CT_small.dcm"))) { error in
            guard case AssociationError.noPresentationContext = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try a.echo(), .success)
        try a.release()
        // DCMTK sees the same: storescu cannot send a file whose SOP class is refused.
        let (status, _, _) = try NetTestSupport.run("/usr/bin/storescu", ["-aec", "DICOMNODE", "-R", "-xi", "127.0.0.1", String(server.port), NetTestSupport.pydicomTestFiles() + "/JPEG2000.dcm"])
        XCTAssertNotEqual(status, 0, "a J2K file proposed only as implicit LE has no context")
        try assertStillServing(server)
    }

    func testTruncatedPDUIsHandledAndOthersServed() throws {
        let (server, _, log) = try makeServer()
        defer { server.stop(waitSeconds: 2) }
        var r = AssociationRequest(callingAETitle: "TRUNC", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: server.port)
        r.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        let a = try r.open(log: TestLogger())
        // A P-DATA-TF announcing 100 bytes, of which 10 arrive before the connection closes.
        try a.stream.write([0x04, 0x00, 0x00, 0x00, 0x00, 0x64] + [UInt8](repeating: 0, count: 10))
        a.stream.close()
        for _ in 0..<200 where !log.lines.contains(where: { $0.contains("assoc=\(a.id.split(separator: "-").first ?? "")") && $0.contains("without release") }) { usleep(10_000) }
        XCTAssertTrue(log.lines.contains { $0.contains("calling=TRUNC") })
        try assertStillServing(server)
    }

    func testAbortMidTransferLeavesNothingBehind() throws {
        let (server, folder, _) = try makeServer()
        defer { server.stop(waitSeconds: 2) }
        let file = try StorableFile(path: NetTestSupport.pydicomTestFiles() + "/MR_small.dcm")
        var r = AssociationRequest(callingAETitle: "ABORTER", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: server.port)
        r.propose(file.sopClassUID, transferSyntaxes: [file.transferSyntax.uid])
        let a = try r.open(log: TestLogger())
        let ctx = try XCTUnwrap(a.context(for: file.sopClassUID))
        let rq = Command.storeRequest(messageID: a.makeMessageID(), sopClassUID: file.sopClassUID, sopInstanceUID: file.sopInstanceUID)
        try a.send(rq, contextID: ctx.id)
        // Half of a data set, then A-ABORT.
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file.path)))
        try bytes.withUnsafeBytes { raw in
            try a.sendFragments(UnsafeRawBufferPointer(rebasing: raw[0..<4000]), contextID: ctx.id, isCommand: false, isLastChunk: false)
        }
        try a.abort()
        usleep(300_000)
        let left = try FileManager.default.contentsOfDirectory(atPath: folder)
        XCTAssertEqual(left, [], "no stored file and no temporary file after an aborted transfer")
        try assertStillServing(server)
    }

    func testReleaseCollisionAndUnexpectedPDU() throws {
        let (server, _, _) = try makeServer()
        defer { server.stop(waitSeconds: 2) }
        var r = AssociationRequest(callingAETitle: "ODD", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: server.port)
        r.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        let a = try r.open(log: TestLogger())
        // A second A-ASSOCIATE-RQ on an open association is out of state (PS3.8 Table 9-10: AA-8).
        try a.stream.write(PDU.associateRQ(AssociateRequest(calledAETitle: "DICOMNODE", callingAETitle: "ODD", presentationContexts: [],
                                                            userInformation: UserInformation(maxPDULength: 0, implementationClassUID: "1.2"))).encoded())
        var reply = [UInt8](repeating: 0, count: 10)
        try a.stream.readExactly(10, into: &reply)
        XCTAssertEqual(reply[0], 0x07, "A-ABORT")
        XCTAssertEqual(reply[8], 2, "service provider")
        XCTAssertEqual(reply[9], 2, "unexpected PDU")
        try assertStillServing(server)
    }
}

/// Command sets the DIMSE fuzzer once broke (fuzz/regressions/dimse-*): decode, or fail cleanly;
/// whatever decodes re-encodes to bytes that decode again.
final class DIMSEFuzzRegressionTests: XCTestCase {
    func testRegressions() throws {
        let dir = NetTestSupport.repoRoot.appendingPathComponent("fuzz/regressions").path
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("dimse-") }
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            guard let command = try? Command.decode(bytes) else { continue }
            XCTAssertNoThrow(try Command.decode(command.encoded()), name)
        }
    }
}
