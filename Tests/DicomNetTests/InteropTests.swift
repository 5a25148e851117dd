import Foundation
import XCTest
@testable import Codec
@testable import DicomNet

/// Our SCP and SCU against DCMTK and pynetdicom on loopback.
final class InteropTests: XCTestCase {
    /// Our SCP with folder storage on a free port.
    func startServer(aeTitle: String = "DICOMNODE", allowed: Set<String>? = nil) throws -> (DicomServer, String, TestLogger) {
        var policy = AcceptorPolicy.storageSCP(aeTitle: aeTitle)
        policy.allowedCallingAETitles = allowed
        let folder = NetTestSupport.temporaryDirectory("scp")
        let log = TestLogger()
        let server = DicomServer(policy: policy, storage: try FolderStorage(folder: folder), log: log)
        try server.start(host: "127.0.0.1", port: 0)
        return (server, folder, log)
    }

    /// The same data set, element for element, as the original file.
    func assertSameDataSet(_ received: String, _ original: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try DicomFile.read(path: received)
        let b = try DicomFile.read(path: original)
        XCTAssertEqual(a.dataSet.tags.filter { $0 != .dataSetTrailingPadding }.map(\.description).joined(separator: " "), b.dataSet.tags.filter { $0 != .dataSetTrailingPadding }.map(\.description).joined(separator: " "), "\((original as NSString).lastPathComponent)", file: file, line: line)
        // (FFFC,FFFC) trailing padding is not content (PS3.10 7.2); DCMTK drops it when sending.
        for e in b.dataSet.elements where e.vr != .SQ && e.tag != .dataSetTrailingPadding {
            XCTAssertTrue(a.dataSet[e.tag]?.bytes == e.bytes, "\((original as NSString).lastPathComponent) \(e.tag) differs", file: file, line: line)
        }
    }

    func testDCMTKEchoAndStoreIntoOurSCP() throws {
        try NetTestSupport.requireTool("/usr/bin/echoscu")
        try NetTestSupport.requireTool("/usr/bin/storescu")
        let (server, folder, log) = try startServer()
        defer { server.stop() }
        let port = String(server.port)
        let (echoStatus, _, echoErr) = try NetTestSupport.run("/usr/bin/echoscu", ["-aet", "DCMTKSCU", "-aec", "DICOMNODE", "127.0.0.1", port])
        XCTAssertEqual(echoStatus, 0, echoErr)

        let files = try NetTestSupport.sampleFiles()
        // +r: also propose each file's own (compressed) transfer syntax; -xs: explicit LE preferred.
        let (status, _, err) = try NetTestSupport.run("/usr/bin/storescu", ["-aet", "DCMTKSCU", "-aec", "DICOMNODE", "--propose-lossless", "127.0.0.1", port] + files.filter { !$0.contains("JPEG2000") && !$0.contains("rle") && !$0.contains("dfl") })
        XCTAssertEqual(status, 0, err)
        for f in files where !f.contains("JPEG2000") && !f.contains("rle") && !f.contains("dfl") {
            let uid = try StorableFile(path: f).sopInstanceUID
            let received = folder + "/" + FolderStoreOperation.fileName(for: uid)
            XCTAssertTrue(FileManager.default.fileExists(atPath: received), "\(f) not stored")
            if FileManager.default.fileExists(atPath: received) { try assertSameDataSet(received, f) }
        }
        let storeLines = log.lines.filter { $0.contains("C-STORE") && $0.contains("calling=DCMTKSCU") && $0.contains("sop=") }
        XCTAssertFalse(storeLines.isEmpty, log.lines.joined(separator: "\n"))
        // Each stored image's line says how long its receive and its commit took.
        let timing = try NSRegularExpression(pattern: #"receive_ms=\d+\.\d\d commit_ms=\d+\.\d\d"#)
        for line in storeLines {
            XCTAssertNotNil(timing.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), line)
        }
    }

    func testOurSCUIntoDCMTKStoreSCP() throws {
        try NetTestSupport.requireTool("/usr/bin/storescp")
        let out = NetTestSupport.temporaryDirectory("dcmtk-storescp")
        let port = try NetTestSupport.freePort()
        let scp = try NetTestSupport.spawn("/usr/bin/storescp", ["-aet", "STORESCP", "-od", out, "-pdu", "131072", "+xa", String(port)])
        defer { scp.terminate(); scp.waitUntilExit() }
        try NetTestSupport.waitForPort(port)

        var request = AssociationRequest(callingAETitle: "OURSCU", calledAETitle: "STORESCP", host: "127.0.0.1", port: port)
        request.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.explicitVRLittleEndianUID])
        let files = try NetTestSupport.sampleFiles().map(StorableFile.init(path:))
        for f in files {
            request.propose(f.sopClassUID, transferSyntaxes: [f.transferSyntax.uid])
            request.propose(f.sopClassUID, transferSyntaxes: [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID])
        }
        let assoc = try request.open(log: TestLogger())
        XCTAssertEqual(try assoc.echo(), .success)
        for f in files {
            let result = try assoc.store(f)
            XCTAssertEqual(result.status, .success, "\(f.path): \(result.status)")
        }
        try assoc.release()
        // storescp names files <modality>.<SOPInstanceUID>; find each by its UID.
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        for f in files {
            guard let name = names.first(where: { $0.hasSuffix(f.sopInstanceUID) }) else { XCTFail("\(f.path) not received by storescp"); continue }
            try assertSameDataSet(out + "/" + name, f.path)
        }
    }

    func testCallingAETitleNotAllowedIsRejected() throws {
        let (server, _, log) = try startServer(allowed: ["FRIEND"])
        defer { server.stop() }
        var request = AssociationRequest(callingAETitle: "STRANGER", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: server.port)
        request.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        XCTAssertThrowsError(try request.open(log: TestLogger())) { error in
            guard case AssociationError.rejected(let rj) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(rj.result, .permanent)
            XCTAssertEqual(rj.reason, AssociateReject.callingAETitleNotRecognized.reason)
        }
        // The wrong called AE title: rejected with reason 7.
        var wrong = AssociationRequest(callingAETitle: "FRIEND", calledAETitle: "SOMEONEELSE", host: "127.0.0.1", port: server.port)
        wrong.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        XCTAssertThrowsError(try wrong.open(log: TestLogger())) { error in
            guard case AssociationError.rejected(let rj) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(rj.reason, AssociateReject.calledAETitleNotRecognized.reason)
        }
        // DCMTK sees the same rejection.
        let (status, _, _) = try NetTestSupport.run("/usr/bin/echoscu", ["-aet", "STRANGER", "-aec", "DICOMNODE", "127.0.0.1", String(server.port)])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(log.lines.contains { $0.contains("rejected") && $0.contains("calling=STRANGER") })
        // A friend gets in.
        var friend = AssociationRequest(callingAETitle: "FRIEND", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: server.port)
        friend.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        let assoc = try friend.open(log: TestLogger())
        XCTAssertEqual(try assoc.echo(), .success)
        try assoc.release()
    }

    func testPynetdicomSCUIntoOurSCP() throws {
        let (server, folder, _) = try startServer()
        defer { server.stop() }
        let file = try NetTestSupport.pydicomTestFiles() + "/CT_small.dcm"
        let script = """
        import sys
        from pydicom import dcmread
        from pynetdicom import AE, StoragePresentationContexts
        from pynetdicom.sop_class import Verification
        ae = AE(ae_title="PYNETDICOM")
        ae.requested_contexts = StoragePresentationContexts[:120]
        ae.add_requested_context(Verification)
        assoc = ae.associate("127.0.0.1", int(sys.argv[1]), ae_title="DICOMNODE")
        assert assoc.is_established, "association not established"
        st = assoc.send_c_echo()
        assert st.Status == 0, st
        st = assoc.send_c_store(dcmread(sys.argv[2]))
        assert st.Status == 0, st
        assoc.release()
        print("ok")
        """
        let (status, out, err) = try NetTestSupport.run("/usr/bin/env", ["python3", "-c", script, String(server.port), file])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "ok")
        let uid = try StorableFile(path: file).sopInstanceUID
        try assertSameDataSet(folder + "/" + FolderStoreOperation.fileName(for: uid), file)
    }

    func testOurSCUIntoPynetdicomSCP() throws {
        let port = try NetTestSupport.freePort()
        let script = """
        import sys, threading
        from pynetdicom import AE, evt, AllStoragePresentationContexts
        from pynetdicom.sop_class import Verification
        received = []
        def on_store(event):
            received.append(event.request.AffectedSOPInstanceUID)
            return 0x0000
        ae = AE(ae_title="PYSCP")
        ae.supported_contexts = AllStoragePresentationContexts
        ae.add_supported_context(Verification)
        server = ae.start_server(("127.0.0.1", int(sys.argv[1])), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        sys.stdin.readline()
        server.shutdown()
        print("\\n".join(received))
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, String(port)]
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = FileHandle.nullDevice
        try p.run()
        try NetTestSupport.waitForPort(port, seconds: 30)

        let file = try StorableFile(path: NetTestSupport.pydicomTestFiles() + "/MR_small.dcm")
        var request = AssociationRequest(callingAETitle: "OURSCU", calledAETitle: "PYSCP", host: "127.0.0.1", port: port)
        request.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        request.propose(file.sopClassUID, transferSyntaxes: [file.transferSyntax.uid])
        let assoc = try request.open(log: TestLogger())
        XCTAssertEqual(try assoc.echo(), .success)
        XCTAssertEqual(try assoc.store(file).status, .success)
        try assoc.release()
        stdin.fileHandleForWriting.write("\n".data(using: .utf8)!)
        let out = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertTrue(out.contains(file.sopInstanceUID), out)
    }

    func testGarbageInsteadOfAssociateRequestIsAborted() throws {
        let (server, _, log) = try startServer()
        defer { server.stop() }
        let s = try TCPSocket.connect(host: "127.0.0.1", port: server.port)
        s.readTimeout = 5
        try s.write(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        var reply = [UInt8](repeating: 0, count: 10)
        try s.readExactly(10, into: &reply)
        XCTAssertEqual(reply[0], 0x07, "A-ABORT PDU")
        XCTAssertEqual(reply[8], 2, "source: service provider")
        XCTAssertEqual(reply[9], 1, "reason: unrecognized PDU")
        for _ in 0..<100 where !log.lines.contains(where: { $0.contains("aborted") }) { usleep(10_000) }
        XCTAssertTrue(log.lines.contains { $0.contains("aborted") }, log.lines.joined(separator: "\n"))
    }
}

/// What our SCU sends, our SCP stores byte for byte: the received file is our File Meta group
/// followed by exactly the data set bytes of the original file.
final class ByteExactTransferTests: XCTestCase {
    func testStoredDataSetBytesAreTheSentBytes() throws {
        let folder = NetTestSupport.temporaryDirectory("byte-exact")
        let server = DicomServer(policy: .storageSCP(aeTitle: "DICOMNODE"), storage: try FolderStorage(folder: folder), log: TestLogger())
        try server.start(host: "127.0.0.1", port: 0)
        defer { server.stop(waitSeconds: 2) }
        let files = try NetTestSupport.sampleFiles().map(StorableFile.init(path:))
        var request = AssociationRequest(callingAETitle: "OURSCU", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: server.port)
        for f in files { request.propose(f.sopClassUID, transferSyntaxes: [f.transferSyntax.uid]) }
        let assoc = try request.open(log: TestLogger())
        defer { try? assoc.release() }
        // Checked right after each store: some of pydicom's files share a SOP Instance UID.
        for f in files {
            XCTAssertEqual(try assoc.store(f).status, .success, f.path)
            let original = try Array(Data(contentsOf: URL(fileURLWithPath: f.path)))
            let received = try Array(Data(contentsOf: URL(fileURLWithPath: folder + "/" + FolderStoreOperation.fileName(for: f.sopInstanceUID))))
            let o = try XCTUnwrap(DicomFile.read(bytes: original, options: .headerOnly).dataSetOffset)
            let r = try XCTUnwrap(DicomFile.read(bytes: received, options: .headerOnly).dataSetOffset)
            var sent = Array(original[o...])
            if f.transferSyntax.isDeflated && sent.count % 2 == 1 { sent.append(0) }  // PS3.5 A.5 padding
            XCTAssertTrue(Array(received[r...]) == sent, "\((f.path as NSString).lastPathComponent): stored data set differs from the sent one")
            let meta = try DicomFile.read(bytes: received, options: .headerOnly).meta
            XCTAssertEqual(meta.string(.transferSyntaxUID), f.transferSyntax.uid)
            XCTAssertEqual(meta.string(.mediaStorageSOPInstanceUID), f.sopInstanceUID)
        }
    }
}
