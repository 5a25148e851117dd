import Foundation
import XCTest
import DicomNet

/// PS3.8 Upper Layer PDUs: round trips, byte-exact interop with pynetdicom (both directions),
/// interop with DCMTK over loopback, and malformed input. The peers are required: a missing
/// python3/pynetdicom or DCMTK fails these tests, it never skips them.
final class PDUTests: XCTestCase {

    // MARK: Fixtures (the same values the pynetdicom script below builds)

    static let ct = "1.2.840.10008.5.1.4.1.1.2"

    static func userInfo(ac: Bool) -> UserInformation {
        var ui = UserInformation(maxPDULength: 16382, implementationClassUID: "1.2.826.0.1.3680043.9.3811.2.1.0",
                                 implementationVersionName: "PYNETDICOM_210")
        ui.asyncOperationsWindow = AsyncOperationsWindow(invoked: 5, performed: 3)
        ui.roleSelections = [RoleSelection(sopClassUID: ct, scuRole: false, scpRole: true),
                             RoleSelection(sopClassUID: "1.2.840.10008.5.1.4.1.1.4", scuRole: true, scpRole: true)]
        ui.extendedNegotiations = [ExtendedNegotiation(sopClassUID: "1.2.840.10008.5.1.4.1.2.1.1", info: [1, 0, 1])]
        if ac {
            ui.userIdentityResponse = Array("token-xyz".utf8)
        } else {
            ui.commonExtendedNegotiations = [CommonExtendedNegotiation(
                sopClassUID: "1.2.840.10008.5.1.4.1.1.88.22", serviceClassUID: "1.2.840.10008.4.2",
                relatedGeneralSOPClassUIDs: ["1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.33"])]
            ui.userIdentityRequest = UserIdentityRequest(kind: .usernameAndPasscode, positiveResponseRequested: true,
                                                         primaryField: Array("alice".utf8), secondaryField: Array("s3cret".utf8))
        }
        return ui
    }

    static let sampleRQ = AssociateRequest(
        calledAETitle: "ANY-SCP", callingAETitle: "PYSCU",
        presentationContexts: [
            PresentationContextProposal(id: 1, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ["1.2.840.10008.1.2"]),
            PresentationContextProposal(id: 3, abstractSyntax: ct,
                                        transferSyntaxes: ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.4.50"]),
        ],
        userInformation: userInfo(ac: false))

    static let sampleAC = AssociateAccept(
        calledAETitle: "ANY-SCP", callingAETitle: "PYSCU",
        presentationContexts: [
            PresentationContextResult(id: 1, result: .acceptance, transferSyntax: "1.2.840.10008.1.2"),
            PresentationContextResult(id: 3, result: .transferSyntaxesNotSupported, transferSyntax: ""),
        ],
        userInformation: userInfo(ac: true))

    static let sampleDataTF = DataTF(values: [
        PresentationDataValue(contextID: 1, isCommand: true, isLast: true, data: Array(0..<10)),
        PresentationDataValue(contextID: 3, isCommand: false, isLast: false, data: Array("abc".utf8)),
        PresentationDataValue(contextID: 5, isCommand: false, isLast: true, data: []),
    ])

    /// Every PDU type, with every user information sub-item.
    static var allSamples: [PDU] {
        var rqWithUnknown = sampleRQ
        rqWithUnknown.userInformation.unknownItems = [.init(type: 0x70, value: [1, 2, 3]), .init(type: 0x5A, value: [])]
        rqWithUnknown.userInformation.userIdentityRequest = UserIdentityRequest(kind: .jwt, positiveResponseRequested: false,
                                                                                primaryField: Array("eyJ.x.y".utf8))
        return [.associateRQ(sampleRQ), .associateRQ(rqWithUnknown), .associateAC(sampleAC),
                .associateRJ(.calledAETitleNotRecognized), .associateRJ(.temporaryCongestion),
                .dataTF(sampleDataTF), .releaseRQ, .releaseRP, .abort(.userInitiated), .abort(.invalidPDUParameterValue)]
    }

    // MARK: Round trips and exact bytes

    func testRoundTripEveryPDUType() throws {
        for pdu in Self.allSamples {
            let bytes = pdu.encoded()
            XCTAssertEqual(bytes[0], pdu.type.rawValue)
            let (type, length) = try bytes.withUnsafeBytes { try PDU.parseHeader($0) }
            XCTAssertEqual(type, pdu.type.rawValue)
            XCTAssertEqual(Int(length), bytes.count - 6, "\(pdu.type)")
            XCTAssertEqual(try PDU.decode(type: type, body: bytes[6...]), pdu, "\(pdu.type)")
            XCTAssertEqual(try PDU.decode(bytes), pdu)
            // encode(into:) appends: two PDUs back to back decode independently.
            var two: [UInt8] = [9, 9]
            pdu.encode(into: &two)
            pdu.encode(into: &two)
            XCTAssertEqual(Array(two[2..<2 + bytes.count]), bytes)
            XCTAssertEqual(Array(two[(2 + bytes.count)...]), bytes)
        }
    }

    func testFixedPDUBytes() {
        XCTAssertEqual(PDU.releaseRQ.encoded(), [5, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        XCTAssertEqual(PDU.releaseRP.encoded(), [6, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        XCTAssertEqual(PDU.abort(.unexpectedPDU).encoded(), [7, 0, 0, 0, 0, 4, 0, 0, 2, 2])
        XCTAssertEqual(PDU.abort(.userInitiated).encoded(), [7, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        XCTAssertEqual(PDU.associateRJ(.calledAETitleNotRecognized).encoded(), [3, 0, 0, 0, 0, 4, 0, 1, 1, 7])
        XCTAssertEqual(PDU.associateRJ(.protocolVersionNotSupported).encoded(), [3, 0, 0, 0, 0, 4, 0, 1, 2, 2])
        XCTAssertEqual(PDU.associateRJ(.localLimitExceeded).encoded(), [3, 0, 0, 0, 0, 4, 0, 2, 3, 2])
    }

    func testDescriptions() {
        XCTAssertEqual(AssociateReject.calledAETitleNotRecognized.description, "called AE title not recognized")
        XCTAssertEqual(AssociateReject.callingAETitleNotRecognized.description, "calling AE title not recognized")
        XCTAssertEqual(AssociateReject.noReasonGiven.description, "no reason given")
        XCTAssertEqual(AssociateReject.applicationContextNotSupported.description, "application context name not supported")
        XCTAssertEqual(AssociateReject.protocolVersionNotSupported.description, "protocol version not supported")
        XCTAssertEqual(AssociateReject.temporaryCongestion.description, "temporary congestion")
        XCTAssertEqual(AssociateReject.localLimitExceeded.description, "local limit exceeded")
        XCTAssertEqual(AssociateReject(result: .permanent, source: .serviceUser, reason: 5).description, "reserved reason 5")
        XCTAssertEqual(Abort.unrecognizedPDU.description, "unrecognized PDU")
        XCTAssertEqual(Abort.unexpectedPDU.description, "unexpected PDU")
        XCTAssertEqual(Abort.unrecognizedPDUParameter.description, "unrecognized PDU parameter")
        XCTAssertEqual(Abort.unexpectedPDUParameter.description, "unexpected PDU parameter")
        XCTAssertEqual(Abort.invalidPDUParameterValue.description, "invalid PDU parameter value")
        XCTAssertEqual(Abort.reasonNotSpecified.description, "reason not specified")
        XCTAssertEqual(Abort.userInitiated.description, "service user initiated abort")
        XCTAssertEqual(PDUType.dataTF.description, "P-DATA-TF")
    }

    func testPDataHeaderFastPathMatchesDataTF() throws {
        let payload: [UInt8] = Array(repeating: 0xAB, count: 1000)
        for (command, last) in [(true, true), (false, false), (false, true), (true, false)] {
            var fast: [UInt8] = []
            PDataHeader.encode(contextID: 7, isCommand: command, isLast: last, payloadLength: payload.count, into: &fast)
            XCTAssertEqual(fast.count, PDataHeader.length)
            fast += payload
            let full = PDU.dataTF(DataTF(values: [PresentationDataValue(contextID: 7, isCommand: command, isLast: last, data: payload)]))
            XCTAssertEqual(fast, full.encoded())
        }
        XCTAssertEqual(PDataHeader.maxPayloadLength(maxPDULength: 16384), 16378)
        XCTAssertEqual(PDataHeader.maxPayloadLength(maxPDULength: 0), Int(UInt32.max) - 6)
    }

    func testPDVDataSharesStorageWithBody() throws {
        var buffer: [UInt8] = [0xEE, 0xEE, 0xEE]   // the PDU sits at offset 3 of a larger buffer
        PDU.dataTF(Self.sampleDataTF).encode(into: &buffer)
        let body = buffer[(3 + 6)...]
        guard case .dataTF(let data) = try PDU.decode(type: 4, body: body) else { return XCTFail("not P-DATA") }
        XCTAssertEqual(data, Self.sampleDataTF)
        // Slices keep the indices of `buffer`: the first PDV's data starts after PDU header (6) and PDV header (6).
        XCTAssertEqual(data.values[0].data.startIndex, 3 + 6 + 6)
        body.withUnsafeBufferPointer { b in
            data.values[0].data.withUnsafeBufferPointer { d in
                XCTAssertEqual(d.baseAddress, b.baseAddress! + 6, "PDV data was copied")
            }
        }
    }

    func testTextFieldRules() throws {
        var rq = Self.sampleRQ
        rq.calledAETitle = "  PADDED"
        rq.callingAETitle = "A-VERY-LONG-AE-TITLE-INDEED"
        let bytes = PDU.associateRQ(rq).encoded()
        XCTAssertEqual(Array(bytes[10..<26]), Array("  PADDED        ".utf8))
        XCTAssertEqual(Array(bytes[26..<42]), Array("A-VERY-LONG-AE-T".utf8), "AE titles are cut to 16 bytes")
        guard case .associateRQ(let back) = try PDU.decode(bytes) else { return XCTFail() }
        XCTAssertEqual(back.calledAETitle, "PADDED", "leading and trailing spaces are not significant")
        XCTAssertEqual(back.callingAETitle, "A-VERY-LONG-AE-T")
        // No trailing NUL on an odd-length UID (PS3.8 Annex F): the application context item is 21 bytes.
        XCTAssertEqual(Array(bytes[74..<78]), [0x10, 0, 0, 21])
        XCTAssertEqual(Array(bytes[78..<99]), Array("1.2.840.10008.3.1.1.1".utf8))
    }

    func testReceivedPaddingIsStripped() throws {
        // A peer that pads UIDs with NUL (PS3.5 style) and AE titles with NULs.
        var body = [UInt8](repeating: 0, count: 68)
        body[1] = 1
        body.replaceSubrange(4..<20, with: Array("SCP\0\0\0\0\0\0\0\0\0\0\0\0\0".utf8))
        body.replaceSubrange(20..<36, with: Array(" SCU            ".utf8))
        body += item(0x10, Array("1.2.840.10008.3.1.1.1\0".utf8))
        body += item(0x20, [1, 0, 0, 0] + item(0x30, Array("1.2.840.10008.1.1\0".utf8)) + item(0x40, Array("1.2.840.10008.1.2\0".utf8)))
        body += item(0x50, item(0x51, [0, 0, 0x40, 0]) + item(0x52, Array("1.2.3 ".utf8)))
        guard case .associateRQ(let rq) = try PDU.decode(type: 1, body: body[...]) else { return XCTFail() }
        XCTAssertEqual(rq.calledAETitle, "SCP")
        XCTAssertEqual(rq.callingAETitle, "SCU")
        XCTAssertEqual(rq.applicationContextName, "1.2.840.10008.3.1.1.1")
        XCTAssertEqual(rq.presentationContexts, [PresentationContextProposal(id: 1, abstractSyntax: "1.2.840.10008.1.1",
                                                                             transferSyntaxes: ["1.2.840.10008.1.2"])])
        XCTAssertEqual(rq.userInformation.maxPDULength, 16384)
        XCTAssertEqual(rq.userInformation.implementationClassUID, "1.2.3")
    }

    func testUnknownItemsIgnoredOrPreserved() throws {
        var body = [UInt8](repeating: 0x20, count: 68)
        body[0] = 0; body[1] = 1; body[2] = 0; body[3] = 0
        body.replaceSubrange(36..<68, with: [UInt8](repeating: 0xFF, count: 32))  // reserved: not tested
        body += item(0x99, [1, 2, 3])                                           // unknown variable item: ignored
        body += item(0x10, Array("1.2.840.10008.3.1.1.1".utf8))
        body += item(0x21, [9, 0, 0, 0])                                        // AC item in an RQ: ignored
        body += item(0x20, [1, 0xFF, 0xFF, 0xFF] + item(0x30, Array("1.2".utf8)) + item(0x77, [5])
                     + item(0x40, Array("1.2.840.10008.1.2".utf8)))
        body += item(0x50, item(0x51, [0, 0, 0x40, 0]) + item(0x7E, [0xCA, 0xFE]) + item(0x58, [9, 1, 0, 1, 0x41, 0, 0]))
        guard case .associateRQ(let rq) = try PDU.decode(type: 1, body: body[...]) else { return XCTFail() }
        XCTAssertEqual(rq.calledAETitle, "")
        XCTAssertEqual(rq.presentationContexts, [PresentationContextProposal(id: 1, abstractSyntax: "1.2", transferSyntaxes: ["1.2.840.10008.1.2"])])
        XCTAssertEqual(rq.userInformation.unknownItems,
                       [.init(type: 0x7E, value: [0xCA, 0xFE]), .init(type: 0x58, value: [9, 1, 0, 1, 0x41, 0, 0])],
                       "unknown sub-items, and user identity of an unknown kind, are kept")
        XCTAssertNil(rq.userInformation.userIdentityRequest)
        // …and re-encoded as they came.
        XCTAssertEqual(try PDU.decode(PDU.associateRQ(rq).encoded()), .associateRQ(rq))
    }

    func testDefaultsWhenItemsAreMissing() throws {
        // Only the fixed part: decoding checks structure, the association judges content.
        var body = [UInt8](repeating: 0x20, count: 68)
        body[0] = 0; body[1] = 3; body[2] = 0; body[3] = 0
        guard case .associateRQ(let rq) = try PDU.decode(type: 1, body: body[...]) else { return XCTFail() }
        XCTAssertEqual(rq.protocolVersion, 3)
        XCTAssertEqual(rq.applicationContextName, "")
        XCTAssertEqual(rq.presentationContexts, [])
        XCTAssertEqual(rq.userInformation, UserInformation())
        // A rejected context's transfer syntax is "not significant" (PS3.8 Table 9-18) and may be absent.
        let acBody = [UInt8](body) + item(0x21, [5, 0, 3, 0]) + item(0x21, [7, 0, 1, 0] + item(0x40, Array("1.2.840.10008.1.2".utf8)))
        guard case .associateAC(let ac) = try PDU.decode(type: 2, body: acBody[...]) else { return XCTFail() }
        XCTAssertEqual(ac.presentationContexts, [PresentationContextResult(id: 5, result: .abstractSyntaxNotSupported, transferSyntax: ""),
                                                 PresentationContextResult(id: 7, result: .userRejection, transferSyntax: "")])
    }

    func testOversizedFieldsAreLeftOutNotCorrupted() throws {
        var rq = Self.sampleRQ
        rq.userInformation.extendedNegotiations.append(ExtendedNegotiation(sopClassUID: "1.2.3", info: [UInt8](repeating: 7, count: 70000)))
        rq.userInformation.implementationVersionName = "LAST"
        let bytes = PDU.associateRQ(rq).encoded()
        guard case .associateRQ(let back) = try PDU.decode(bytes) else { return XCTFail() }
        var expected = Self.sampleRQ   // the oversized sub-item alone is missing; those after it are there
        expected.userInformation.implementationVersionName = "LAST"
        XCTAssertEqual(back, expected)

        // Sub-items that together overflow the 16-bit user information length: a prefix is sent.
        var many = Self.sampleRQ
        many.userInformation.roleSelections = (0..<3000).map { RoleSelection(sopClassUID: "1.2.840.10008.5.1.4.1.1.\($0)", scuRole: true, scpRole: false) }
        guard case .associateRQ(let cut) = try PDU.decode(PDU.associateRQ(many).encoded()) else { return XCTFail() }
        XCTAssertGreaterThan(cut.userInformation.roleSelections.count, 1000)
        XCTAssertLessThan(cut.userInformation.roleSelections.count, 3000)
        XCTAssertEqual(cut.userInformation.roleSelections, Array(many.userInformation.roleSelections.prefix(cut.userInformation.roleSelections.count)))
        XCTAssertEqual(cut.userInformation.maxPDULength, 16382)
    }

    // MARK: Malformed input

    func testHeaderErrors() {
        func header(_ b: [UInt8]) -> PDUError? {
            do { _ = try b.withUnsafeBytes { try PDU.parseHeader($0) }; return nil } catch { return error as? PDUError }
        }
        XCTAssertEqual(header([1, 0, 0, 0, 0])?.abort, .invalidPDUParameterValue, "short header")
        for bad: UInt8 in [0, 8, 0x10, 0xFF] {
            let e = header([bad, 0, 0, 0, 0, 4])
            XCTAssertEqual(e?.abort, .unrecognizedPDU)
            XCTAssertEqual(e?.offset, 0)
        }
        XCTAssertEqual(header([5, 0, 0, 0, 0, 5])?.abort, .invalidPDUParameterValue, "A-RELEASE-RQ must be 4 bytes")
        XCTAssertEqual(header([7, 0, 0xFF, 0xFF, 0xFF, 0xFF])?.abort, .invalidPDUParameterValue, "A-ABORT must be 4 bytes")
        XCTAssertNil(header([1, 0xAA, 0xFF, 0xFF, 0xFF, 0xFF]), "the reserved byte is not tested; the length is the caller's to bound")
        let r = try? [UInt8]([4, 0, 0x12, 0x34, 0x56, 0x78]).withUnsafeBytes { try PDU.parseHeader($0) }
        XCTAssertEqual(r?.length, 0x1234_5678)
        XCTAssertEqual(decodeError(type: 0, []).abort, .unrecognizedPDU)
        XCTAssertEqual(decodeError(type: 8, [0, 0, 0, 0]).abort, .unrecognizedPDU)
        XCTAssertEqual((try? PDU.decode([5, 0, 0, 0, 0, 4, 0, 0, 0])) == nil, true, "header length must match")
    }

    func testBodyErrors() {
        let rq = PDU.associateRQ(Self.sampleRQ).encoded()
        let body = Array(rq[6...])
        XCTAssertEqual(decodeError(type: 1, Array(body[..<67])).abort, .invalidPDUParameterValue, "short fixed part")

        // Application context item length past the end of the PDU; the offset points at the item.
        var b = body
        b[70] = 0xFF
        var e = decodeError(type: 1, b)
        XCTAssertEqual(e.abort, .invalidPDUParameterValue)
        XCTAssertEqual(e.offset, 74)
        XCTAssertTrue(e.reason.contains("runs past the end"), e.reason)

        // Sub-item lengths checked against their item, not only the PDU.
        let base = [UInt8](repeating: 0x20, count: 68)
        func rqWith(_ userInfo: [UInt8]) -> [UInt8] { base + item(0x50, userInfo) }
        let cases: [(String, [UInt8])] = [
            ("max length of 3 bytes", item(0x51, [0, 0, 1])),
            ("max length of 5 bytes", item(0x51, [0, 0, 1, 0, 0])),
            ("async window of 2 bytes", item(0x53, [0, 1])),
            ("role UID past its item", item(0x54, [0, 9, 0x31, 1, 1])),
            ("role without SCP byte", item(0x54, [0, 1, 0x31, 1])),
            ("role with trailing bytes", item(0x54, [0, 1, 0x31, 1, 1, 0])),
            ("ext neg UID past its item", item(0x56, [0, 4, 0x31])),
            ("common ext related length past item", item(0x57, [0, 1, 0x31, 0, 1, 0x32, 0, 9, 0, 1, 0x33])),
            ("common ext related UID past list", item(0x57, [0, 1, 0x31, 0, 1, 0x32, 0, 3, 0, 5, 0x33])),
            ("user identity primary past item", item(0x58, [1, 0, 0, 9, 0x41])),
            ("user identity truncated", item(0x58, [1])),
            ("user identity response past item", item(0x59, [0, 3, 0x41])),
            ("sub-item header truncated", [0x51, 0, 0]),
        ]
        for (name, ui) in cases {
            e = decodeError(type: 1, rqWith(ui))
            XCTAssertEqual(e.abort, .invalidPDUParameterValue, name)
            XCTAssertGreaterThanOrEqual(e.offset, 6 + 68 + 4, name)
        }
        // A presentation context item whose sub-item runs past it (though not past the PDU).
        e = decodeError(type: 1, base + item(0x20, [1, 0, 0, 0, 0x30, 0, 0, 9]) + [UInt8](repeating: 0, count: 20))
        XCTAssertEqual(e.abort, .invalidPDUParameterValue)
        XCTAssertEqual(decodeError(type: 1, base + item(0x20, [1, 0])).abort, .invalidPDUParameterValue, "PC item shorter than 4")
        XCTAssertEqual(decodeError(type: 2, base + item(0x21, [1, 0, 9, 0])).abort, .invalidPDUParameterValue, "result 9")

        XCTAssertEqual(decodeError(type: 3, [0, 0, 1, 1]).abort, .invalidPDUParameterValue, "RJ result 0")
        XCTAssertEqual(decodeError(type: 3, [0, 1, 4, 1]).abort, .invalidPDUParameterValue, "RJ source 4")
        XCTAssertEqual(decodeError(type: 7, [0, 0, 3, 0]).abort, .invalidPDUParameterValue, "abort source 3")
        XCTAssertEqual(decodeError(type: 6, [0, 0, 0]).abort, .invalidPDUParameterValue, "short A-RELEASE-RP")
        XCTAssertEqual(try? PDU.decode(type: 7, body: [0xFF, 0xFF, 1, 0xFF][...]), .abort(Abort(source: .reserved, reason: 0xFF)),
                       "reserved bytes are not tested")

        XCTAssertEqual(decodeError(type: 4, []).abort, .invalidPDUParameterValue, "P-DATA without PDVs")
        XCTAssertEqual(decodeError(type: 4, [0, 0, 0, 1, 1]).offset, 6, "PDV length < 2")
        XCTAssertEqual(decodeError(type: 4, [0, 0, 0, 3, 1, 3]).abort, .invalidPDUParameterValue, "PDV past end")
        XCTAssertEqual(decodeError(type: 4, [0, 0, 0, 2, 1, 3, 0, 0]).abort, .invalidPDUParameterValue, "trailing partial PDV")
        XCTAssertEqual(decodeError(type: 4, [0xFF, 0xFF, 0xFF, 0xFF, 1, 3]).abort, .invalidPDUParameterValue, "4 GiB PDV")
        XCTAssertNotNil(try? PDU.decode(type: 4, body: [0, 0, 0, 2, 1, 0xFC][...]), "reserved control bits are not tested")
    }

    /// Every prefix of every sample PDU: decoding never crashes and whatever decodes round-trips;
    /// the whole-PDU decoder refuses each (its header length no longer matches).
    func testTruncationAtEveryByte() throws {
        for pdu in Self.allSamples {
            let bytes = pdu.encoded()
            for n in 0..<bytes.count {
                XCTAssertThrowsError(try PDU.decode(Array(bytes[..<n])))
                if n >= 6 { checkRoundTrip(type: bytes[0], body: bytes[6..<n]) }
            }
        }
    }

    /// A deterministic mutation fuzz of the samples (the libFuzzer target in fuzz/PDUFuzz.swift does
    /// the same for longer): decoding any bytes never crashes, and what decodes re-encodes to an equal value.
    func testMutatedInputsNeverCrashAndRoundTrip() {
        var rng = SplitMix64(seed: 0x5EED_1234)
        let samples = Self.allSamples.map { $0.encoded() }
        var decoded = 0
        for i in 0..<40_000 {
            var b = samples[i % samples.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let pos = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 6 {
                case 0: b[pos] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b[pos] ^= 1 << UInt8(rng.next() % 8)
                case 2: b.remove(at: pos)
                case 3: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
                case 4: b[pos] = [0, 1, 0x7F, 0x80, 0xFF][Int(rng.next() % 5)]
                default: b.removeSubrange(pos...)
                }
                if b.isEmpty { b = [0] }
            }
            guard b.count >= 6 else { continue }
            if checkRoundTrip(type: b[0], body: b[6...]) { decoded += 1 }
        }
        XCTAssertGreaterThan(decoded, 1000, "the mutations should not all be rejected")
    }

    // MARK: pynetdicom, both directions

    /// pynetdicom builds the same PDUs as our fixtures (from A-ASSOCIATE primitives, user information
    /// sub-items in increasing type order); its bytes must decode to our values and our encoding must
    /// be byte-identical to its.
    func testDecodeAndMatchPynetdicomBytes() throws {
        let out = try Peers.python(Self.pynetdicomEncoder)
        var pdus: [String: [UInt8]] = [:]
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: " ")
            pdus[String(parts[0])] = try XCTUnwrap(hexBytes(String(parts[1])))
        }
        let expected: [(String, PDU, Bool)] = [
            ("rq", .associateRQ(Self.sampleRQ), true),
            ("rq-pyorder", .associateRQ(Self.sampleRQ), false),       // 55H before 53H: order does not matter
            ("ac", .associateAC(Self.sampleAC), true),
            ("ac-rejected-ts", .associateAC(Self.sampleAC), false),   // a rejected context's TS is not tested
            ("rj", .associateRJ(.temporaryCongestion), true),
            ("pdata", .dataTF(Self.sampleDataTF), true),
            ("release-rq", .releaseRQ, true),
            ("release-rp", .releaseRP, true),
            ("provider-abort", .abort(.invalidPDUParameterValue), true),
            ("user-abort", .abort(.userInitiated), true),
        ]
        XCTAssertEqual(Set(pdus.keys), Set(expected.map(\.0)))
        for (name, pdu, sameBytes) in expected {
            let theirs = try XCTUnwrap(pdus[name], name)
            XCTAssertEqual(try PDU.decode(theirs), pdu, name)
            if sameBytes { XCTAssertEqual(hex(pdu.encoded()), hex(theirs), "\(name): our bytes differ from pynetdicom's") }
        }
    }

    /// Our bytes, decoded by pynetdicom (which also re-encodes them identically and converts them
    /// to its service primitives): the fields it sees must be ours.
    func testPynetdicomDecodesOurBytes() throws {
        var samples = Self.allSamples
        samples.remove(at: 1)   // pynetdicom cannot decode unknown user information sub-items
        var rq = Self.sampleRQ  // a JWT identity and a context with many transfer syntaxes
        rq.userInformation.userIdentityRequest = UserIdentityRequest(kind: .jwt, positiveResponseRequested: false, primaryField: Array("eyJhbGciOi.e30.sig".utf8))
        rq.presentationContexts.append(PresentationContextProposal(id: 255, abstractSyntax: "1.2.840.10008.5.1.4.1.1.7",
                                                                   transferSyntaxes: (1...20).map { "1.2.840.10008.1.2.4.\($0)" }))
        samples.append(.associateRQ(rq))
        let theirs = try Peers.python(Self.pynetdicomDumper, samples.map { hex($0.encoded()) })
        let ours = samples.map(canonical).joined(separator: "\n--\n") + "\n--\n"
        XCTAssertEqual(theirs, ours)
    }

    // MARK: DCMTK over loopback

    /// DCMTK's echoscu associates with us: we decode its A-ASSOCIATE-RQ, answer with our AC, receive
    /// its C-ECHO-RQ, answer through the PDataHeader fast path, and release. echoscu must succeed.
    func testDCMTKEchoscuAgainstOurPDUs() throws {
        let listener = try TestSocket.listen()
        let echoscu = try Peers.start("/usr/bin/echoscu", ["-aet", "ECHOSCU", "-aec", "OURSCP", "-ppc", "2", "-pts", "3",
                                                          "127.0.0.1", String(listener.port)])
        defer { echoscu.stop() }
        let conn = try listener.accept()
        guard case .associateRQ(let rq) = try conn.readPDU() else { return XCTFail("expected A-ASSOCIATE-RQ") }
        XCTAssertEqual(rq.calledAETitle, "OURSCP")
        XCTAssertEqual(rq.callingAETitle, "ECHOSCU")
        XCTAssertEqual(rq.protocolVersion, 1)
        XCTAssertEqual(rq.applicationContextName, "1.2.840.10008.3.1.1.1")
        XCTAssertEqual(rq.presentationContexts.map(\.id), [1, 3])
        XCTAssertEqual(rq.presentationContexts.map(\.abstractSyntax), ["1.2.840.10008.1.1", "1.2.840.10008.1.1"])
        XCTAssertEqual(rq.presentationContexts[0].transferSyntaxes.count, 3)
        XCTAssertTrue(rq.presentationContexts[0].transferSyntaxes.contains("1.2.840.10008.1.2"))
        XCTAssertEqual(rq.userInformation.maxPDULength, 16384)
        XCTAssertTrue(rq.userInformation.implementationClassUID.hasPrefix("1.2.276.0.7230010.3"), rq.userInformation.implementationClassUID)
        XCTAssertTrue(rq.userInformation.implementationVersionName?.hasPrefix("OFFIS_DCMTK") ?? false)

        let ac = AssociateAccept(calledAETitle: rq.calledAETitle, callingAETitle: rq.callingAETitle, presentationContexts: [
            PresentationContextResult(id: 1, result: .acceptance, transferSyntax: "1.2.840.10008.1.2"),
            PresentationContextResult(id: 3, result: .userRejection, transferSyntax: ""),
        ], userInformation: UserInformation(maxPDULength: 32768, implementationClassUID: "1.2.3.4.5", implementationVersionName: "PDUTEST"))
        try conn.send(PDU.associateAC(ac).encoded())

        var command: [UInt8] = []
        while true {
            guard case .dataTF(let data) = try conn.readPDU() else { return XCTFail("expected P-DATA-TF") }
            for v in data.values {
                XCTAssertEqual(v.contextID, 1)
                XCTAssertTrue(v.isCommand)
                command += v.data
            }
            if data.values.last?.isLast == true { break }
        }
        let fields = try implicitLE(command)
        XCTAssertEqual(fields[0x0000_0100].map(u16), 0x0030, "C-ECHO-RQ")
        let messageID = try XCTUnwrap(fields[0x0000_0110].map(u16))
        let response = echoResponse(messageID: messageID)
        var out: [UInt8] = []
        PDataHeader.encode(contextID: 1, isCommand: true, isLast: true, payloadLength: response.count, into: &out)
        out += response
        try conn.send(out)

        XCTAssertEqual(try conn.readPDU(), .releaseRQ)
        try conn.send(PDU.releaseRP.encoded())
        let (status, output) = echoscu.wait()
        XCTAssertEqual(status, 0, "echoscu failed:\n\(output)")
    }

    /// Our A-ASSOCIATE-RQ with every sub-item to DCMTK's storescp: it must accept, answer a C-ECHO
    /// sent with our P-DATA, and release; then a refusing storescp's A-ASSOCIATE-RJ must decode.
    func testOurPDUsAgainstDCMTKStorescp() throws {
        let port = try TestSocket.freePort()
        let dir = NSTemporaryDirectory() + "pdutest-\(getpid())-\(port)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let storescp = try Peers.start("/usr/bin/storescp", ["-aet", "STORESCP", "-od", dir, String(port)])
        defer { storescp.stop() }
        let conn = try TestSocket.connect(port: port)

        var rq = Self.sampleRQ
        rq.calledAETitle = "STORESCP"
        rq.callingAETitle = "PDUTEST"
        rq.presentationContexts[0].transferSyntaxes = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]
        rq.presentationContexts.append(PresentationContextProposal(id: 5, abstractSyntax: "1.2.3.4.5.6.7", transferSyntaxes: ["1.2.840.10008.1.2"]))
        rq.userInformation.maxPDULength = 65536
        rq.userInformation.unknownItems = [.init(type: 0x7F, value: [1, 2, 3])]
        try conn.send(PDU.associateRQ(rq).encoded())
        guard case .associateAC(let ac) = try conn.readPDU() else { return XCTFail("storescp did not accept") }
        XCTAssertEqual(ac.calledAETitle, "STORESCP")
        XCTAssertEqual(ac.callingAETitle, "PDUTEST")
        XCTAssertEqual(ac.applicationContextName, "1.2.840.10008.3.1.1.1")
        XCTAssertEqual(ac.presentationContexts.map(\.id), [1, 3, 5])
        XCTAssertEqual(ac.presentationContexts[0].result, .acceptance)
        XCTAssertTrue(["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"].contains(ac.presentationContexts[0].transferSyntax))
        XCTAssertEqual(ac.presentationContexts[1].result, .acceptance)
        XCTAssertEqual(ac.presentationContexts[1].transferSyntax, "1.2.840.10008.1.2.1")
        XCTAssertEqual(ac.presentationContexts[2].result, .abstractSyntaxNotSupported)
        XCTAssertGreaterThan(ac.userInformation.maxPDULength, 0)
        XCTAssertTrue(ac.userInformation.implementationClassUID.hasPrefix("1.2.276.0.7230010.3"))
        // C-ECHO-RQ on context 1 (a command set is always implicit VR little endian, PS3.7 6.3.1).
        let echo = echoRequest(messageID: 7)
        try conn.send(PDU.dataTF(DataTF(values: [PresentationDataValue(contextID: 1, isCommand: true, isLast: true, data: echo)])).encoded())
        var command: [UInt8] = []
        while true {
            guard case .dataTF(let data) = try conn.readPDU() else { return XCTFail("expected P-DATA-TF") }
            command += data.values.flatMap(\.data)
            if data.values.last?.isLast == true { break }
        }
        let fields = try implicitLE(command)
        XCTAssertEqual(fields[0x0000_0100].map(u16), 0x8030, "C-ECHO-RSP")
        XCTAssertEqual(fields[0x0000_0120].map(u16), 7)
        XCTAssertEqual(fields[0x0000_0900].map(u16), 0, "status success")
        try conn.send(PDU.releaseRQ.encoded())
        XCTAssertEqual(try conn.readPDU(), .releaseRP)
        storescp.stop()

        // A refusing storescp: its A-ASSOCIATE-RJ.
        let refusing = try Peers.start("/usr/bin/storescp", ["--refuse", "-od", dir, String(port)])
        defer { refusing.stop() }
        let conn2 = try TestSocket.connect(port: port)
        try conn2.send(PDU.associateRQ(rq).encoded())
        guard case .associateRJ(let rj) = try conn2.readPDU() else { return XCTFail("storescp --refuse did not reject") }
        XCTAssertEqual(rj, .noReasonGiven, rj.description)
    }

    /// DCMTK's getscu proposes SCP/SCU role selection; we decode it and reject, and getscu must
    /// report our reason — so DCMTK parsed our A-ASSOCIATE-RJ.
    func testDCMTKGetscuRoleSelectionAndOurReject() throws {
        let listener = try TestSocket.listen()
        let getscu = try Peers.start("/usr/bin/getscu", ["-d", "-aet", "GETSCU", "-aec", "OURSCP", "-P", "-k", "QueryRetrieveLevel=PATIENT",
                                                        "-k", "PatientID=1", "127.0.0.1", String(listener.port)])
        defer { getscu.stop() }
        let conn = try listener.accept()
        guard case .associateRQ(let rq) = try conn.readPDU() else { return XCTFail("expected A-ASSOCIATE-RQ") }
        XCTAssertEqual(rq.callingAETitle, "GETSCU")
        XCTAssertFalse(rq.userInformation.roleSelections.isEmpty, "getscu proposes the SCP role for storage")
        for role in rq.userInformation.roleSelections {
            XCTAssertTrue(role.scpRole, role.sopClassUID)
            XCTAssertTrue(rq.presentationContexts.contains { $0.abstractSyntax == role.sopClassUID }, role.sopClassUID)
        }
        XCTAssertTrue(rq.presentationContexts.contains { $0.abstractSyntax == "1.2.840.10008.5.1.4.1.2.1.3" }, "patient root GET")
        try conn.send(PDU.associateRJ(.calledAETitleNotRecognized).encoded())
        let (status, output) = getscu.wait()
        XCTAssertNotEqual(status, 0)
        // getscu -d prints DCMTK's reading of the A-ASSOCIATE-RJ.
        XCTAssertTrue(output.contains("Result: Rejected Permanent, Source: Service User"), output)
        XCTAssertTrue(output.contains("Reason: Called AE Title Not Recognized"), output)
    }

    // MARK: Helpers

    private func decodeError(type: UInt8, _ body: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> PDUError {
        do {
            let pdu = try PDU.decode(type: type, body: body[...])
            XCTFail("decoded \(pdu)", file: file, line: line)
        } catch let e as PDUError {
            return e
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return PDUError(offset: -1, reason: "", abort: .reasonNotSpecified)
    }

    /// Decodes, and if that works, checks that re-encoding decodes to an equal value. The body is
    /// copied so the slice starts at a non-zero index like a real receive buffer.
    @discardableResult
    private func checkRoundTrip(type: UInt8, body: ArraySlice<UInt8>, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        do {
            let pdu = try PDU.decode(type: type, body: body)
            let again = try PDU.decode(pdu.encoded())
            XCTAssertEqual(again, pdu, "re-encoded PDU decodes differently", file: file, line: line)
            return true
        } catch is PDUError {
            return false
        } catch {
            XCTFail("not a PDUError: \(error)", file: file, line: line)
            return false
        }
    }
}

// MARK: - Test support

private func item(_ type: UInt8, _ value: [UInt8]) -> [UInt8] {
    [type, 0, UInt8(value.count >> 8), UInt8(value.count & 0xFF)] + value
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

private func hexBytes(_ s: String) -> [UInt8]? {
    let chars = Array(s.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    for i in stride(from: 0, to: chars.count, by: 2) {
        guard let b = UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
        out.append(b)
    }
    return out
}

/// The text form shared with the Python dumper (PDUTests.pynetdicomDumper).
private func canonical(_ pdu: PDU) -> String {
    var out = ["type \(pdu.type.rawValue)"]
    func userInfo(_ ui: UserInformation) {
        out.append("max \(ui.maxPDULength)")
        if !ui.implementationClassUID.isEmpty { out.append("impl \(ui.implementationClassUID)") }
        if let v = ui.implementationVersionName { out.append("vername \(v)") }
        if let w = ui.asyncOperationsWindow { out.append("async \(w.invoked) \(w.performed)") }
        for r in ui.roleSelections { out.append("role \(r.sopClassUID) \(r.scuRole ? 1 : 0) \(r.scpRole ? 1 : 0)") }
        for e in ui.extendedNegotiations { out.append("ext \(e.sopClassUID) \(hex(e.info))") }
        for c in ui.commonExtendedNegotiations {
            out.append("common \(c.sopClassUID) \(c.serviceClassUID) \(c.relatedGeneralSOPClassUIDs.joined(separator: ","))")
        }
        if let id = ui.userIdentityRequest {
            out.append("idrq \(id.kind.rawValue) \(id.positiveResponseRequested ? 1 : 0) \(hex(id.primaryField)) \(hex(id.secondaryField))")
        }
        if let r = ui.userIdentityResponse { out.append("idac \(hex(r))") }
    }
    switch pdu {
    case .associateRQ(let rq):
        out += ["version \(rq.protocolVersion)", "called \(rq.calledAETitle)", "calling \(rq.callingAETitle)", "appctx \(rq.applicationContextName)"]
        for pc in rq.presentationContexts { out.append("pc \(pc.id) \(pc.abstractSyntax) \(pc.transferSyntaxes.joined(separator: ","))") }
        userInfo(rq.userInformation)
    case .associateAC(let ac):
        out += ["version \(ac.protocolVersion)", "called \(ac.calledAETitle)", "calling \(ac.callingAETitle)", "appctx \(ac.applicationContextName)"]
        for pc in ac.presentationContexts { out.append("pc \(pc.id) \(pc.result.rawValue) \(pc.transferSyntax)".trimmingCharacters(in: .whitespaces)) }
        userInfo(ac.userInformation)
    case .associateRJ(let rj):
        out.append("rj \(rj.result.rawValue) \(rj.source.rawValue) \(rj.reason)")
    case .dataTF(let d):
        for v in d.values { out.append("pdv \(v.contextID) \(v.isCommand ? 1 : 0) \(v.isLast ? 1 : 0) \(hex(Array(v.data)))") }
    case .releaseRQ, .releaseRP:
        break
    case .abort(let a):
        out.append("abort \(a.source.rawValue) \(a.reason)")
    }
    return out.joined(separator: "\n")
}

/// Deterministic random numbers for the mutation test.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: DIMSE command bytes for the DCMTK tests (implicit VR little endian, PS3.7 9.3)

private func u16(_ b: [UInt8]) -> UInt16 { b.count >= 2 ? UInt16(b[0]) | UInt16(b[1]) << 8 : 0xFFFF }

private func implicitLE(_ bytes: [UInt8]) throws -> [UInt32: [UInt8]] {
    var out: [UInt32: [UInt8]] = [:]
    var i = 0
    while i + 8 <= bytes.count {
        let group = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8
        let element = UInt32(bytes[i + 2]) | UInt32(bytes[i + 3]) << 8
        let length = Int(UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24)
        guard i + 8 + length <= bytes.count else { throw PDUError(offset: i, reason: "bad command element") }
        out[group << 16 | element] = Array(bytes[(i + 8)..<(i + 8 + length)])
        i += 8 + length
    }
    return out
}

private func commandSet(_ elements: [(UInt16, [UInt8])]) -> [UInt8] {
    func element(_ e: UInt16, _ v: [UInt8]) -> [UInt8] {
        [0, 0, UInt8(e & 0xFF), UInt8(e >> 8), UInt8(v.count & 0xFF), UInt8(v.count >> 8 & 0xFF), 0, 0] + v
    }
    let body = elements.flatMap { element($0.0, $0.1) }
    let n = UInt32(body.count)
    return element(0x0000, [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]) + body
}

private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
private let verificationUID = Array("1.2.840.10008.1.1".utf8) + [0]   // UI padded to even length with NUL

private func echoRequest(messageID: UInt16) -> [UInt8] {
    commandSet([(0x0002, verificationUID), (0x0100, le16(0x0030)), (0x0110, le16(messageID)), (0x0800, le16(0x0101))])
}

private func echoResponse(messageID: UInt16) -> [UInt8] {
    commandSet([(0x0002, verificationUID), (0x0100, le16(0x8030)), (0x0120, le16(messageID)), (0x0800, le16(0x0101)), (0x0900, le16(0))])
}

// MARK: Peers: python3 + pynetdicom, DCMTK binaries

private struct PeerError: Error, CustomStringConvertible {
    let description: String
}

private enum Peers {
    /// Runs a Python script; a missing python3 or pynetdicom is a test failure (PeerError), never a skip.
    static func python(_ script: String, _ args: [String] = []) throws -> String {
        let p = try start("/usr/bin/env", ["python3", "-c", script] + args)
        let (status, output) = p.wait()
        guard status == 0 else {
            throw PeerError(description: "python3/pynetdicom failed (status \(status)); run scripts/install-test-peers.sh\n\(output)")
        }
        return String(decoding: p.stdout, as: UTF8.self)
    }

    final class Running: @unchecked Sendable {
        let process: Process
        let outFile: String, errFile: String
        init(process: Process, outFile: String, errFile: String) {
            self.process = process
            self.outFile = outFile
            self.errFile = errFile
        }
        var stdout: Data { FileManager.default.contents(atPath: outFile) ?? Data() }
        /// Waits (at most 30 s) and returns the exit status and stdout + stderr.
        func wait() -> (Int32, String) {
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { stop() }
            process.waitUntilExit()
            let text = String(decoding: stdout, as: UTF8.self) + String(decoding: FileManager.default.contents(atPath: errFile) ?? Data(), as: UTF8.self)
            return (process.terminationStatus, text)
        }
        func stop() {
            if process.isRunning { process.terminate(); process.waitUntilExit() }
        }
        deinit {
            stop()
            try? FileManager.default.removeItem(atPath: outFile)
            try? FileManager.default.removeItem(atPath: errFile)
        }
    }

    /// Starts a program with stdout and stderr to files (no pipe can fill up and block it).
    static func start(_ path: String, _ args: [String]) throws -> Running {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw PeerError(description: "\(path) is missing; run scripts/install-test-peers.sh")
        }
        let base = NSTemporaryDirectory() + "pdutest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardOutput = FileHandle(forWritingAtPath: base + ".out")
        p.standardError = FileHandle(forWritingAtPath: base + ".err")
        try p.run()
        return Running(process: p, outFile: base + ".out", errFile: base + ".err")
    }
}

/// Minimal blocking loopback TCP for the DCMTK tests, with timeouts so a silent peer fails the test.
private final class TestSocket {
    let fd: Int32
    let port: UInt16

    private init(fd: Int32, port: UInt16) {
        self.fd = fd
        self.port = port
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return a
    }

    static func listen() throws -> TestSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerError(description: "socket: \(errno)") }
        var addr = loopback(0)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0, Glibc.listen(fd, 4) == 0 else { close(fd); throw PeerError(description: "bind/listen: \(errno)") }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return TestSocket(fd: fd, port: UInt16(bigEndian: bound.sin_port))
    }

    static func freePort() throws -> UInt16 {
        try listen().port
    }

    func accept() throws -> TestSocket {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 20_000) == 1 else { throw PeerError(description: "no connection within 20 s") }
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { throw PeerError(description: "accept: \(errno)") }
        return TestSocket(fd: c, port: port)
    }

    /// Connects, retrying for a few seconds while the peer starts listening.
    static func connect(port: UInt16) throws -> TestSocket {
        let deadline = Date().addingTimeInterval(10)
        while true {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = loopback(port)
            let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if r == 0 { return TestSocket(fd: fd, port: port) }
            close(fd)
            guard Date() < deadline else { throw PeerError(description: "cannot connect to port \(port)") }
            usleep(50_000)
        }
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw PeerError(description: "send: \(errno)") }
            sent += n
        }
    }

    func read(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw PeerError(description: "connection closed or timed out after \(got) of \(count) bytes") }
            got += n
        }
        return out
    }

    /// One PDU: the header through PDU.parseHeader, then the body it announces.
    func readPDU() throws -> PDU {
        let header = try read(PDU.headerLength)
        let (type, length) = try header.withUnsafeBytes { try PDU.parseHeader($0) }
        guard length < 1 << 24 else { throw PeerError(description: "PDU of \(length) bytes") }
        let body = try read(Int(length))
        return try PDU.decode(type: type, body: body[...])
    }
}

// MARK: Python scripts

extension PDUTests {
    /// Builds, with pynetdicom's own classes, the PDUs of our fixtures and prints `name hex` lines.
    static let pynetdicomEncoder = #"""
import sys
from pynetdicom.pdu_primitives import *
from pynetdicom.pdu import *
from pynetdicom.presentation import PresentationContext

CT = '1.2.840.10008.5.1.4.1.1.2'
def ctx(i, a, ts, result=None):
    c = PresentationContext(); c.context_id = i; c.transfer_syntax = ts
    if a: c.abstract_syntax = a
    if result is not None: c.result = result
    return c

def user_info(ac, pynetdicom_order):
    ml = MaximumLengthNotification(); ml.maximum_length_received = 16382
    ic = ImplementationClassUIDNotification(); ic.implementation_class_uid = '1.2.826.0.1.3680043.9.3811.2.1.0'
    iv = ImplementationVersionNameNotification(); iv.implementation_version_name = 'PYNETDICOM_210'
    aw = AsynchronousOperationsWindowNegotiation(); aw.maximum_number_operations_invoked = 5; aw.maximum_number_operations_performed = 3
    roles = []
    for uid, scu, scp in [(CT, False, True), ('1.2.840.10008.5.1.4.1.1.4', True, True)]:
        r = SCP_SCU_RoleSelectionNegotiation(); r.sop_class_uid = uid; r.scu_role = scu; r.scp_role = scp; roles.append(r)
    en = SOPClassExtendedNegotiation(); en.sop_class_uid = '1.2.840.10008.5.1.4.1.2.1.1'; en.service_class_application_information = b'\x01\x00\x01'
    ui = UserIdentityNegotiation()
    if ac:
        ui.server_response = b'token-xyz'
        rest = [en, ui]
    else:
        ce = SOPClassCommonExtendedNegotiation(); ce.sop_class_uid = '1.2.840.10008.5.1.4.1.1.88.22'; ce.service_class_uid = '1.2.840.10008.4.2'
        ce.related_general_sop_class_identification = ['1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.88.33']
        ui.user_identity_type = 2; ui.positive_response_requested = True; ui.primary_field = b'alice'; ui.secondary_field = b's3cret'
        rest = [en, ce, ui]
    # Ours: increasing item type. pynetdicom's association code puts 55H before 53H and 54H.
    return [ml, ic, iv, aw] + roles + rest if pynetdicom_order else [ml, ic, aw] + roles + [iv] + rest

def rq(order):
    p = A_ASSOCIATE()
    p.application_context_name = '1.2.840.10008.3.1.1.1'
    p.calling_ae_title = 'PYSCU'; p.called_ae_title = 'ANY-SCP'
    p.presentation_context_definition_list = [ctx(1, '1.2.840.10008.1.1', ['1.2.840.10008.1.2']),
        ctx(3, CT, ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2', '1.2.840.10008.1.2.4.50'])]
    p.user_information = user_info(False, order)
    return A_ASSOCIATE_RQ(p)

def ac(order, empty_rejected_ts):
    a = A_ASSOCIATE()
    a.application_context_name = '1.2.840.10008.3.1.1.1'
    a.calling_ae_title = 'PYSCU'; a.called_ae_title = 'ANY-SCP'; a.result = 0
    a.presentation_context_definition_results_list = [ctx(1, None, ['1.2.840.10008.1.2'], 0), ctx(3, None, ['1.2.840.10008.1.2.1'], 4)]
    a.user_information = user_info(True, order)
    pdu = A_ASSOCIATE_AC(a)
    if empty_rejected_ts:  # an empty transfer syntax sub-item for the rejected context, as DCMTK and we send
        pdu.presentation_context[1].transfer_syntax_sub_item[0]._transfer_syntax_name = ''
    return pdu

out = {'rq': rq(False), 'rq-pyorder': rq(True), 'ac': ac(False, True), 'ac-rejected-ts': ac(True, False)}
j = A_ASSOCIATE(); j.result = 2; j.result_source = 3; j.diagnostic = 1
out['rj'] = A_ASSOCIATE_RJ(j)
d = P_DATA(); d.presentation_data_value_list = [[1, b'\x03' + bytes(range(10))], [3, b'\x00' + b'abc'], [5, b'\x02']]
out['pdata'] = P_DATA_TF(d)
out['release-rq'] = A_RELEASE_RQ(A_RELEASE())
r = A_RELEASE(); r.result = 'affirmative'
out['release-rp'] = A_RELEASE_RP(r)
x = A_P_ABORT(); x.provider_reason = 6
out['provider-abort'] = A_ABORT_RQ(x)
x = A_ABORT(); x.abort_source = 0
out['user-abort'] = A_ABORT_RQ(x)
for k, v in out.items():
    print(k, v.encode().hex())
"""#

    /// Decodes each hex argument with pynetdicom, checks pynetdicom re-encodes it byte for byte and
    /// converts it to primitives, and prints its fields in the text form of `canonical`.
    static let pynetdicomDumper = #"""
import sys
from pynetdicom.pdu import *
from pynetdicom.pdu_items import *

def s(v):
    if v is None: return ''
    if isinstance(v, bytes): return v.decode('latin-1')
    return str(v)

def dump(b):
    t = b[0]
    cls = {1: A_ASSOCIATE_RQ, 2: A_ASSOCIATE_AC, 3: A_ASSOCIATE_RJ, 4: P_DATA_TF, 5: A_RELEASE_RQ, 6: A_RELEASE_RP, 7: A_ABORT_RQ}[t]
    pdu = cls(); pdu.decode(b)
    if t == 2:  # pynetdicom reads an empty transfer syntax as None but cannot write None back
        for c in pdu.presentation_context:
            for ts in c.transfer_syntax_sub_item:
                if ts.transfer_syntax_name is None: ts._transfer_syntax_name = ''
    assert pdu.encode() == b, 'pynetdicom re-encodes our PDU differently'
    if t != 4: pdu.to_primitive()
    out = ['type %d' % t]
    if t in (1, 2):
        out += ['version %d' % pdu.protocol_version, 'called ' + s(pdu.called_ae_title).strip(),
                'calling ' + s(pdu.calling_ae_title).strip(), 'appctx ' + s(pdu.application_context_name)]
        for c in pdu.presentation_context:
            if t == 1: out.append('pc %d %s %s' % (c.context_id, c.abstract_syntax, ','.join(map(str, c.transfer_syntax))))
            else: out.append(('pc %d %d %s' % (c.context_id, c.result_reason, s(c.transfer_syntax) if c.result_reason == 0 else '')).rstrip())
        ui = pdu.user_information.user_data
        def of(k): return [i for i in ui if isinstance(i, k)]
        for i in of(MaximumLengthSubItem): out.append('max %d' % i.maximum_length_received)
        for i in of(ImplementationClassUIDSubItem): out.append('impl ' + s(i.implementation_class_uid))
        for i in of(ImplementationVersionNameSubItem): out.append('vername ' + s(i.implementation_version_name))
        for i in of(AsynchronousOperationsWindowSubItem): out.append('async %d %d' % (i.maximum_number_operations_invoked, i.maximum_number_operations_performed))
        for i in of(SCP_SCU_RoleSelectionSubItem): out.append('role %s %d %d' % (i.sop_class_uid, i.scu_role, i.scp_role))
        for i in of(SOPClassExtendedNegotiationSubItem): out.append('ext %s %s' % (i.sop_class_uid, i.service_class_application_information.hex()))
        for i in of(SOPClassCommonExtendedNegotiationSubItem): out.append('common %s %s %s' % (i.sop_class_uid, i.service_class_uid, ','.join(map(str, i.related_general_sop_class_identification))))
        for i in of(UserIdentitySubItemRQ): out.append('idrq %d %d %s %s' % (i.user_identity_type, i.positive_response_requested, i.primary_field.hex(), (i.secondary_field or b'').hex()))
        for i in of(UserIdentitySubItemAC): out.append('idac ' + (i.server_response or b'').hex())
    elif t == 3:
        out.append('rj %d %d %d' % (pdu.result, pdu.source, pdu.reason_diagnostic))
    elif t == 4:
        for v in pdu.presentation_data_value_items:
            h = v.presentation_data_value[0]
            out.append('pdv %d %d %d %s' % (v.presentation_context_id, h & 1, (h >> 1) & 1, v.presentation_data_value[1:].hex()))
    elif t == 7:
        out.append('abort %d %d' % (pdu.source, pdu.reason_diagnostic))
    return '\n'.join(out)

for h in sys.argv[1:]:
    print(dump(bytes.fromhex(h)))
    print('--')
"""#
}
