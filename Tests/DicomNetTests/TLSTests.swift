import Foundation
import XCTest
@testable import Codec
@testable import DicomNet

/// DICOM over TLS (PS3.15 B.1): our SCU and SCP with each other and with DCMTK's `+tls`.
/// Certificates come from the openssl command line at test time: a CA, a server certificate
/// (CN=localhost, SAN localhost / 127.0.0.1), a client certificate, and a client certificate
/// from a second CA nobody trusts.
final class TLSTests: XCTestCase {
    struct PKI: Sendable {
        let dir: String
        var ca: String { dir + "/ca.pem" }
        var serverCert: String { dir + "/server.pem" }
        var serverKey: String { dir + "/server.key" }
        var clientCert: String { dir + "/client.pem" }
        var clientKey: String { dir + "/client.key" }
        var rogueCert: String { dir + "/rogue.pem" }
        var rogueKey: String { dir + "/rogue.key" }
    }

    /// Made once per test run (RSA key generation takes a moment).
    static let pkiResult: Result<PKI, any Error> = Result { try makePKI() }

    static func makePKI() throws -> PKI {
        try NetTestSupport.requireTool("/usr/bin/openssl")
        let dir = NetTestSupport.temporaryDirectory("tls-pki")
        // Our own config, so the system openssl.cnf cannot add or clash with extensions.
        let cnf = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [v3_ca]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        [v3_leaf]
        basicConstraints = CA:FALSE
        keyUsage = critical, digitalSignature, keyEncipherment
        extendedKeyUsage = serverAuth, clientAuth
        subjectAltName = DNS:localhost, IP:127.0.0.1
        authorityKeyIdentifier = keyid
        """
        try cnf.write(toFile: dir + "/openssl.cnf", atomically: true, encoding: .utf8)
        func openssl(_ args: [String]) throws {
            let (status, _, err) = try NetTestSupport.run("/usr/bin/openssl", args)
            guard status == 0 else { throw PeerMissing("openssl \(args.joined(separator: " ")) failed: \(err)") }
        }
        func makeCA(_ name: String, _ cn: String) throws {
            try openssl(["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).pem",
                         "-days", "2", "-subj", "/CN=\(cn)", "-config", "\(dir)/openssl.cnf", "-extensions", "v3_ca"])
        }
        func makeLeaf(_ name: String, _ subject: String, ca: String) throws {
            try openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr",
                         "-subj", subject, "-config", "\(dir)/openssl.cnf"])
            try openssl(["x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/\(ca).pem", "-CAkey", "\(dir)/\(ca).key",
                         "-CAcreateserial", "-days", "2", "-out", "\(dir)/\(name).pem", "-extfile", "\(dir)/openssl.cnf", "-extensions", "v3_leaf"])
        }
        try makeCA("ca", "DicomNet Test CA")
        try makeCA("rogueca", "Nobody Trusts This CA")
        try makeLeaf("server", "/O=DicomNet Test/CN=localhost", ca: "ca")
        try makeLeaf("client", "/O=DicomNet Test/CN=OURSCU", ca: "ca")
        try makeLeaf("rogue", "/O=Elsewhere/CN=ROGUE", ca: "rogueca")
        return PKI(dir: dir)
    }

    var pki: PKI { get throws { try Self.pkiResult.get() } }

    /// DCMTK's `+tls` needs a build with OpenSSL; without it these tests fail (not skip).
    func requireDCMTKTLS(_ tool: String) throws {
        try NetTestSupport.requireTool(tool)
        let (_, out, err) = try NetTestSupport.run(tool, ["--help"])
        let help = String(decoding: out, as: UTF8.self) + err
        guard help.contains("+tls") else { throw PeerMissing("\(tool) is built without OpenSSL: no +tls option in --help; install a DCMTK with TLS support") }
    }

    /// Our TLS SCP with folder storage on a free port.
    func startTLSServer(requireClientCertificate: Bool = true, artimTimeout: Double? = nil) throws -> (DicomServer, String, TestLogger) {
        let pki = try pki
        let folder = NetTestSupport.temporaryDirectory("tls-scp")
        let log = TestLogger()
        let server = DicomServer(policy: .storageSCP(aeTitle: "DICOMNODE"), storage: try FolderStorage(folder: folder), log: log)
        server.tls = try TLSContext(.server(certificate: pki.serverCert, key: pki.serverKey, trusted: pki.ca,
                                            requireClientCertificate: requireClientCertificate), isServer: true)
        if let artimTimeout { server.artimTimeout = artimTimeout }
        try server.start(host: "127.0.0.1", port: 0)
        return (server, folder, log)
    }

    func clientContext(certificate: Bool = true, rogue: Bool = false) throws -> TLSContext {
        let pki = try pki
        let config: TLSConfiguration
        if rogue {
            config = .client(trusted: pki.ca, certificate: pki.rogueCert, key: pki.rogueKey)
        } else if certificate {
            config = .client(trusted: pki.ca, certificate: pki.clientCert, key: pki.clientKey)
        } else {
            config = .client(trusted: pki.ca)
        }
        return try TLSContext(config, isServer: false)
    }

    func echoRequest(port: UInt16, calledAETitle: String = "DICOMNODE", tls: TLSContext?) -> AssociationRequest {
        var request = AssociationRequest(callingAETitle: "OURSCU", calledAETitle: calledAETitle, host: "127.0.0.1", port: port)
        request.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        request.associateTimeout = 10
        request.tls = tls
        return request
    }

    /// Waits (briefly) until the server has logged a line matching `predicate`.
    func waitForLog(_ log: TestLogger, _ predicate: (String) -> Bool) -> Bool {
        for _ in 0..<300 {
            if log.lines.contains(where: predicate) { return true }
            usleep(10_000)
        }
        return false
    }

    /// Every non-sequence element of `original` arrived with the same bytes.
    func assertSameElements(_ received: String, _ original: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try DicomFile.read(path: received).dataSet
        let b = try DicomFile.read(path: original).dataSet
        for e in b.elements where e.vr != .SQ && e.tag != .dataSetTrailingPadding {
            XCTAssertTrue(a[e.tag]?.bytes == e.bytes, "\((original as NSString).lastPathComponent) \(e.tag) differs", file: file, line: line)
        }
    }

    // MARK: (a) our SCU ↔ our SCP

    func testOurSCUToOurSCPOverTLS() throws {
        let (server, folder, log) = try startTLSServer()
        defer { server.stop() }
        let file = try StorableFile(path: NetTestSupport.pydicomTestFiles() + "/CT_small.dcm")
        let big = try StorableFile(path: try makeLargeFile())
        var request = echoRequest(port: server.port, tls: try clientContext())
        request.propose(file.sopClassUID, transferSyntaxes: [file.transferSyntax.uid])
        let assoc = try request.open(log: TestLogger())
        let stream = try XCTUnwrap(assoc.stream as? TLSStream, "the association runs over TLS")
        XCTAssertTrue(stream.protocolVersion == "TLSv1.2" || stream.protocolVersion == "TLSv1.3", stream.protocolVersion)
        XCTAssertEqual(stream.peerCertificateSubject, "CN=localhost,O=DicomNet Test")
        XCTAssertEqual(try assoc.echo(), .success)
        // A data set of a few TLS records, then one that fills the socket buffers many times over.
        XCTAssertEqual(try assoc.store(file).status, .success)
        XCTAssertEqual(try assoc.store(big).status, .success)
        try assoc.release()
        try assertSameElements(folder + "/" + FolderStoreOperation.fileName(for: file.sopInstanceUID), file.path)
        try assertSameElements(folder + "/" + FolderStoreOperation.fileName(for: big.sopInstanceUID), big.path)
        XCTAssertTrue(waitForLog(log) { $0.contains("tls established") && $0.contains("subject=CN=OURSCU,O=DicomNet Test") }, log.lines.joined(separator: "\n"))
        XCTAssertTrue(log.lines.contains { $0.contains("C-ECHO") && $0.contains("calling=OURSCU") })
    }

    /// CT_small with 16 MiB of random pixel data and a new SOP Instance UID, written by pydicom.
    func makeLargeFile() throws -> String {
        let path = NetTestSupport.temporaryDirectory("tls-large") + "/large.dcm"
        let script = """
        import os, sys, pydicom
        from pydicom.uid import generate_uid
        ds = pydicom.dcmread(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "CT_small.dcm"))
        ds.Rows, ds.Columns = 2048, 4096
        ds.PixelData = os.urandom(2048 * 4096 * 2)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(sys.argv[1])
        """
        let (status, _, err) = try NetTestSupport.run("/usr/bin/env", ["python3", "-c", script, path])
        guard status == 0 else { throw PeerMissing("cannot write a large test file with pydicom: \(err)") }
        return path
    }

    // MARK: (b) DCMTK SCU → our SCP

    func testDCMTKEchoAndStoreIntoOurTLSSCP() throws {
        try requireDCMTKTLS("/usr/bin/echoscu")
        let pki = try pki
        let (server, folder, log) = try startTLSServer()
        defer { server.stop() }
        let tls = ["+tls", pki.clientKey, pki.clientCert, "+cf", pki.ca]
        // DCMTK's default profile (+py, non-downgrading BCP 195) negotiates TLS 1.3 with us;
        // +pz (extended BCP 195) is TLS 1.2 only.
        for (profile, version) in [("+py", "TLSv1.3"), ("+pz", "TLSv1.2")] {
            let (status, _, err) = try NetTestSupport.run("/usr/bin/echoscu", [profile] + tls + ["-aet", "DCMTKSCU", "-aec", "DICOMNODE", "127.0.0.1", String(server.port)],
                                                         env: ["TCP_NODELAY": "1"])
            XCTAssertEqual(status, 0, "\(profile): \(err)")
            XCTAssertTrue(waitForLog(log) { $0.contains("tls established") && $0.contains("version=\(version)") && $0.contains("subject=CN=OURSCU") },
                          "\(profile): " + log.lines.joined(separator: "\n"))
        }
        XCTAssertEqual(log.lines.filter { $0.contains("C-ECHO") && $0.contains("calling=DCMTKSCU") }.count, 2, log.lines.joined(separator: "\n"))

        try requireDCMTKTLS("/usr/bin/storescu")
        let file = try NetTestSupport.pydicomTestFiles() + "/MR_small.dcm"
        let (storeStatus, _, storeErr) = try NetTestSupport.run("/usr/bin/storescu", tls + ["-aet", "DCMTKSCU", "-aec", "DICOMNODE", "127.0.0.1", String(server.port), file],
                                                               env: ["TCP_NODELAY": "1"])
        XCTAssertEqual(storeStatus, 0, storeErr)
        try assertSameElements(folder + "/" + FolderStoreOperation.fileName(for: try StorableFile(path: file).sopInstanceUID), file)
    }

    // MARK: (c) our SCU → DCMTK SCP

    func testOurTLSSCUIntoDCMTKStoreSCP() throws {
        try requireDCMTKTLS("/usr/bin/storescp")
        let pki = try pki
        let out = NetTestSupport.temporaryDirectory("tls-storescp")
        let port = try NetTestSupport.freePort()
        let scp = try NetTestSupport.spawn("/usr/bin/storescp", ["+tls", pki.serverKey, pki.serverCert, "+cf", pki.ca,
                                                                 "-aet", "STORESCP", "-od", out, String(port)], env: ["TCP_NODELAY": "1"])
        defer { scp.terminate(); scp.waitUntilExit() }
        try waitForTLSPort(port)

        let file = try StorableFile(path: NetTestSupport.pydicomTestFiles() + "/CT_small.dcm")
        var request = echoRequest(port: port, calledAETitle: "STORESCP", tls: try clientContext())
        request.propose(file.sopClassUID, transferSyntaxes: [file.transferSyntax.uid])
        let assoc = try request.open(log: TestLogger())
        XCTAssertEqual((assoc.stream as? TLSStream)?.peerCertificateSubject, "CN=localhost,O=DicomNet Test")
        XCTAssertEqual(try assoc.echo(), .success)
        XCTAssertEqual(try assoc.store(file).status, .success)
        try assoc.release()
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        guard let name = names.first(where: { $0.hasSuffix(file.sopInstanceUID) }) else { return XCTFail("CT_small.dcm not received by storescp: \(names)") }
        try assertSameElements(out + "/" + name, file.path)
    }

    /// storescp is up once it answers a TCP connect (the probe's failed handshake only costs it
    /// that one connection; it keeps listening).
    func waitForTLSPort(_ port: UInt16) throws {
        try NetTestSupport.waitForPort(port)
    }

    // MARK: (d) client certificate required

    func testClientWithoutCertificateIsRefused() throws {
        let pki = try pki
        let (server, _, log) = try startTLSServer(requireClientCertificate: true)
        defer { server.stop() }
        XCTAssertThrowsError(try echoRequest(port: server.port, tls: try clientContext(certificate: false)).open(log: TestLogger())) { error in
            // TLS 1.3 finishes the client's side of the handshake before the server checks the
            // certificate, so the refusal may arrive as the server's alert on the first read.
            XCTAssertTrue(error is TLSError || error is AssociationError, "\(error)")
        }
        XCTAssertTrue(waitForLog(log) { $0.contains("tls handshake failed") && $0.contains("peer=127.0.0.1:") && $0.contains("certificate") },
                      log.lines.joined(separator: "\n"))
        XCTAssertFalse(log.lines.contains { $0.contains("C-ECHO") || $0.contains("accepted") })

        // A certificate from a CA the server does not trust is refused too.
        XCTAssertThrowsError(try echoRequest(port: server.port, tls: try clientContext(rogue: true)).open(log: TestLogger()))
        XCTAssertTrue(waitForLog(log) { $0.contains("tls handshake failed") && $0.contains("unable to get local issuer certificate") },
                      log.lines.joined(separator: "\n"))

        // DCMTK without a certificate (+tla, anonymous TLS) gets nowhere either.
        try requireDCMTKTLS("/usr/bin/echoscu")
        let (status, _, _) = try NetTestSupport.run("/usr/bin/echoscu", ["+tla", "+cf", pki.ca, "-aec", "DICOMNODE", "127.0.0.1", String(server.port)],
                                                   env: ["TCP_NODELAY": "1"])
        XCTAssertNotEqual(status, 0)

        // Whoever has the right certificate still gets in.
        let assoc = try echoRequest(port: server.port, tls: try clientContext()).open(log: TestLogger())
        XCTAssertEqual(try assoc.echo(), .success)
        try assoc.release()
    }

    func testServerWithoutClientCertificatesAcceptsAnonymousClient() throws {
        let (server, _, _) = try startTLSServer(requireClientCertificate: false)
        defer { server.stop() }
        let assoc = try echoRequest(port: server.port, tls: try clientContext(certificate: false)).open(log: TestLogger())
        XCTAssertEqual(try assoc.echo(), .success)
        try assoc.release()
    }

    // MARK: (e) plain TCP against TLS, and the reverse

    func testPlainClientToTLSSCPFailsCleanly() throws {
        let (server, _, log) = try startTLSServer()
        defer { server.stop() }
        let start = Date()
        XCTAssertThrowsError(try echoRequest(port: server.port, tls: nil).open(log: TestLogger())) { error in
            XCTAssertTrue(error is AssociationError, "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "refused at once, not by a timeout")
        XCTAssertTrue(waitForLog(log) { $0.contains("tls handshake failed") && $0.contains("peer=127.0.0.1:") }, log.lines.joined(separator: "\n"))

        try NetTestSupport.requireTool("/usr/bin/echoscu")
        let (status, _, _) = try NetTestSupport.run("/usr/bin/echoscu", ["-aec", "DICOMNODE", "127.0.0.1", String(server.port)], env: ["TCP_NODELAY": "1"])
        XCTAssertNotEqual(status, 0)

        // The SCP keeps serving TLS clients, and the failed connections are not held open.
        let assoc = try echoRequest(port: server.port, tls: try clientContext()).open(log: TestLogger())
        XCTAssertEqual(try assoc.echo(), .success)
        try assoc.release()
        for _ in 0..<200 where server.activeCount > 0 { usleep(10_000) }
        XCTAssertEqual(server.activeCount, 0)
    }

    func testTLSClientToPlainSCPFailsCleanly() throws {
        let server = DicomServer(policy: .storageSCP(aeTitle: "DICOMNODE"), storage: nil, log: TestLogger())
        try server.start(host: "127.0.0.1", port: 0)
        defer { server.stop() }
        XCTAssertThrowsError(try echoRequest(port: server.port, tls: try clientContext()).open(log: TestLogger())) { error in
            guard case TLSError.handshake(let peer, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(peer, "127.0.0.1:\(server.port)")
        }
    }

    /// A connection that never starts its handshake costs the SCP one ARTIM period, no more.
    func testSilentClientTimesOutInHandshake() throws {
        let (server, _, log) = try startTLSServer(artimTimeout: 0.5)
        defer { server.stop() }
        let s = try TCPSocket.connect(host: "127.0.0.1", port: server.port)
        defer { s.close() }
        XCTAssertTrue(waitForLog(log) { $0.contains("tls handshake failed") && $0.contains("timed out") }, log.lines.joined(separator: "\n"))
        s.readTimeout = 2
        var byte = [UInt8](repeating: 0, count: 1)
        XCTAssertEqual(try byte.withUnsafeMutableBytes { try s.read(into: $0) }, 0, "closed by the SCP")
    }

    // MARK: Configuration errors name the file and OpenSSL's reason

    func testConfigurationErrors() throws {
        let pki = try pki
        XCTAssertThrowsError(try TLSContext(.server(certificate: pki.dir + "/missing.pem", key: pki.serverKey, trusted: pki.ca), isServer: true)) { error in
            XCTAssertEqual(error as? TLSError, .file(path: pki.dir + "/missing.pem", what: "certificate", reason: "No such file or directory"))
        }
        XCTAssertThrowsError(try TLSContext(.server(certificate: pki.ca, key: pki.ca, trusted: pki.ca), isServer: true)) { error in
            guard case TLSError.file(let path, let what, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, pki.ca)
            XCTAssertEqual(what, "private key")
            XCTAssertFalse(reason.isEmpty)
        }
        XCTAssertThrowsError(try TLSContext(.server(certificate: pki.serverCert, key: pki.clientKey, trusted: pki.ca), isServer: true)) { error in
            XCTAssertTrue("\(error)".contains("does not match certificate"), "\(error)")
        }
        XCTAssertThrowsError(try TLSContext(.server(certificate: pki.serverCert, key: pki.serverKey, trusted: nil), isServer: true)) { error in
            guard case TLSError.configuration = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try TLSContext(.client(trusted: pki.serverKey), isServer: false)) { error in
            guard case TLSError.file(pki.serverKey, "trusted certificates", let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("error:"), reason)
        }
    }
}
