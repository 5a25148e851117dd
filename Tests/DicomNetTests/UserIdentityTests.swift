import Foundation
import XCTest
@testable import Codec
@testable import DicomNet

/// User identity negotiation (PS3.7 D.3.3.7) with pynetdicom as the requestor and with our SCU.
final class UserIdentityTests: XCTestCase {
    func startServer() throws -> DicomServer {
        var policy = AcceptorPolicy.storageSCP(aeTitle: "DICOMNODE")
        policy.userIdentityCheck = { identity in
            guard let identity, identity.kind == .usernameAndPasscode else { return false }
            return identity.primaryField == Array("alice".utf8) && identity.secondaryField == Array("s3cret".utf8)
        }
        let server = DicomServer(policy: policy, storage: nil, log: TestLogger())
        try server.start(host: "127.0.0.1", port: 0)
        return server
    }

    func testPynetdicomWithAndWithoutCredentials() throws {
        let server = try startServer()
        defer { server.stop(waitSeconds: 2) }
        let script = """
        import sys
        from pynetdicom import AE
        from pynetdicom.pdu_primitives import UserIdentityNegotiation
        from pynetdicom.sop_class import Verification
        def attempt(user, password):
            ae = AE(ae_title="PYSCU")
            ae.add_requested_context(Verification)
            ui = UserIdentityNegotiation()
            ui.user_identity_type = 2
            ui.primary_field = user.encode()
            ui.secondary_field = password.encode()
            ui.positive_response_requested = True
            assoc = ae.associate("127.0.0.1", int(sys.argv[1]), ae_title="DICOMNODE", ext_neg=[ui])
            if not assoc.is_established:
                return "rejected" if assoc.is_rejected else "failed"
            status = assoc.send_c_echo().Status
            assoc.release()
            return f"echo {status}"
        print(attempt("alice", "s3cret"))
        print(attempt("alice", "wrong"))
        """
        let (status, out, err) = try NetTestSupport.run("/usr/bin/env", ["python3", "-c", script, String(server.port)])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(String(decoding: out, as: UTF8.self).split(separator: "\n"), ["echo 0", "rejected"])
    }

    func testOurSCUSendsCredentials() throws {
        let server = try startServer()
        defer { server.stop(waitSeconds: 2) }
        var request = AssociationRequest(callingAETitle: "OURSCU", calledAETitle: "DICOMNODE", host: "127.0.0.1", port: server.port)
        request.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.implicitVRLittleEndianUID])
        request.userIdentity = UserIdentityRequest(kind: .usernameAndPasscode, positiveResponseRequested: true,
                                                   primaryField: Array("alice".utf8), secondaryField: Array("s3cret".utf8))
        let assoc = try request.open(log: TestLogger())
        XCTAssertEqual(try assoc.echo(), .success)
        try assoc.release()

        request.userIdentity = nil
        XCTAssertThrowsError(try request.open(log: TestLogger())) { error in
            guard case AssociationError.rejected = error else { return XCTFail("\(error)") }
        }
    }
}
