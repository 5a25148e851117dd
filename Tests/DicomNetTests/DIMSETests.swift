import Foundation
import XCTest
import Codec
@testable import DicomNet

/// DIMSE command sets (PS3.7 9.3, 10.3, E.1) and status codes (PS3.7 Annex C, PS3.4).
/// The peer checks run pydicom and pynetdicom at test time; without them the tests fail.
final class DIMSETests: XCTestCase {
    static let ctImageStorage = "1.2.840.10008.5.1.4.1.1.2"            // 25 characters: NUL-padded
    static let studyRootFind = "1.2.840.10008.5.1.4.1.2.2.1"
    static let studyRootMove = "1.2.840.10008.5.1.4.1.2.2.2"
    static let studyRootGet = "1.2.840.10008.5.1.4.1.2.2.3"
    static let instanceUID = "1.2.826.0.1.3680043.2.1125.1.23456789"    // 36 characters: no padding

    // MARK: - peer comparison (pynetdicom / pydicom)

    /// One command built by us and by pynetdicom from the same parameters.
    struct PeerCase {
        let name: String
        let ours: Command
        /// pynetdicom.dimse_primitives class and pynetdicom.dimse_messages class.
        let primitive: String
        let message: String
        /// Primitive attributes (= command element keywords) and their values: Int, String or [Int] (AT).
        let fields: [String: Any]
        /// The primitive's data set attribute to fill ("DataSet", "Identifier"...), when one follows.
        let dataSetKeyword: String?
    }

    static func peerCases() -> [PeerCase] {
        let echo = Command.echoRequest(messageID: 1)
        let store = Command.storeRequest(messageID: 65535, sopClassUID: ctImageStorage, sopInstanceUID: instanceUID,
                                         priority: .high)
        let find = Command.findRequest(messageID: 2, sopClassUID: studyRootFind)
        let get = Command.getRequest(messageID: 3, sopClassUID: studyRootGet, priority: .low)
        let move = Command.moveRequest(messageID: 4, sopClassUID: studyRootMove, destination: "DEST1")
        return [
            PeerCase(name: "C-ECHO-RQ", ours: echo, primitive: "C_ECHO", message: "C_ECHO_RQ",
                     fields: ["MessageID": 1, "AffectedSOPClassUID": "1.2.840.10008.1.1"], dataSetKeyword: nil),
            PeerCase(name: "C-ECHO-RSP", ours: .echoResponse(to: echo, status: .success), primitive: "C_ECHO", message: "C_ECHO_RSP",
                     fields: ["MessageIDBeingRespondedTo": 1, "AffectedSOPClassUID": "1.2.840.10008.1.1", "Status": 0], dataSetKeyword: nil),
            PeerCase(name: "C-STORE-RQ", ours: store, primitive: "C_STORE", message: "C_STORE_RQ",
                     fields: ["MessageID": 65535, "AffectedSOPClassUID": ctImageStorage, "AffectedSOPInstanceUID": instanceUID,
                              "Priority": 1], dataSetKeyword: "DataSet"),
            PeerCase(name: "C-STORE-RQ (C-MOVE sub-operation)",
                     ours: .storeRequest(messageID: 9, sopClassUID: ctImageStorage, sopInstanceUID: "1.2.3.4.5", priority: .low,
                                         moveOriginatorAETitle: "MOVESCU", moveOriginatorMessageID: 42),
                     primitive: "C_STORE", message: "C_STORE_RQ",
                     fields: ["MessageID": 9, "AffectedSOPClassUID": ctImageStorage, "AffectedSOPInstanceUID": "1.2.3.4.5",
                              "Priority": 2, "MoveOriginatorApplicationEntityTitle": "MOVESCU", "MoveOriginatorMessageID": 42],
                     dataSetKeyword: "DataSet"),
            PeerCase(name: "C-STORE-RSP success", ours: .storeResponse(to: store, status: .success),
                     primitive: "C_STORE", message: "C_STORE_RSP",
                     fields: ["MessageIDBeingRespondedTo": 65535, "AffectedSOPClassUID": ctImageStorage,
                              "AffectedSOPInstanceUID": instanceUID, "Status": 0], dataSetKeyword: nil),
            PeerCase(name: "C-STORE-RSP failure", ours: .storeResponse(to: store, status: .refusedOutOfResources, errorComment: "Out of disk"),
                     primitive: "C_STORE", message: "C_STORE_RSP",
                     fields: ["MessageIDBeingRespondedTo": 65535, "AffectedSOPClassUID": ctImageStorage,
                              "AffectedSOPInstanceUID": instanceUID, "Status": 0xA700, "ErrorComment": "Out of disk"],
                     dataSetKeyword: nil),
            PeerCase(name: "C-FIND-RQ", ours: find, primitive: "C_FIND", message: "C_FIND_RQ",
                     fields: ["MessageID": 2, "AffectedSOPClassUID": studyRootFind, "Priority": 0], dataSetKeyword: "Identifier"),
            PeerCase(name: "C-FIND-RSP pending", ours: .findResponse(to: find, status: .pending, hasIdentifier: true),
                     primitive: "C_FIND", message: "C_FIND_RSP",
                     fields: ["MessageIDBeingRespondedTo": 2, "AffectedSOPClassUID": studyRootFind, "Status": 0xFF00],
                     dataSetKeyword: "Identifier"),
            PeerCase(name: "C-FIND-RSP final", ours: .findResponse(to: find, status: .success, hasIdentifier: false),
                     primitive: "C_FIND", message: "C_FIND_RSP",
                     fields: ["MessageIDBeingRespondedTo": 2, "AffectedSOPClassUID": studyRootFind, "Status": 0], dataSetKeyword: nil),
            PeerCase(name: "C-GET-RQ", ours: get, primitive: "C_GET", message: "C_GET_RQ",
                     fields: ["MessageID": 3, "AffectedSOPClassUID": studyRootGet, "Priority": 2], dataSetKeyword: "Identifier"),
            PeerCase(name: "C-GET-RSP pending",
                     ours: .getResponse(to: get, status: .pending, remaining: 5, completed: 2, failed: 1, warning: 0),
                     primitive: "C_GET", message: "C_GET_RSP",
                     fields: ["MessageIDBeingRespondedTo": 3, "AffectedSOPClassUID": studyRootGet, "Status": 0xFF00,
                              "NumberOfRemainingSuboperations": 5, "NumberOfCompletedSuboperations": 2,
                              "NumberOfFailedSuboperations": 1, "NumberOfWarningSuboperations": 0], dataSetKeyword: nil),
            PeerCase(name: "C-GET-RSP final with failures",
                     ours: .getResponse(to: get, status: .subOperationsCompleteWithFailures, remaining: nil, completed: 7,
                                        failed: 1, warning: 0, hasIdentifier: true),
                     primitive: "C_GET", message: "C_GET_RSP",
                     fields: ["MessageIDBeingRespondedTo": 3, "AffectedSOPClassUID": studyRootGet, "Status": 0xB000,
                              "NumberOfCompletedSuboperations": 7, "NumberOfFailedSuboperations": 1,
                              "NumberOfWarningSuboperations": 0], dataSetKeyword: "Identifier"),
            PeerCase(name: "C-MOVE-RQ", ours: move, primitive: "C_MOVE", message: "C_MOVE_RQ",
                     fields: ["MessageID": 4, "AffectedSOPClassUID": studyRootMove, "Priority": 0, "MoveDestination": "DEST1"],
                     dataSetKeyword: "Identifier"),
            PeerCase(name: "C-MOVE-RSP pending",
                     ours: .moveResponse(to: move, status: .pending, remaining: 1000, completed: 300, failed: 2, warning: 1),
                     primitive: "C_MOVE", message: "C_MOVE_RSP",
                     fields: ["MessageIDBeingRespondedTo": 4, "AffectedSOPClassUID": studyRootMove, "Status": 0xFF00,
                              "NumberOfRemainingSuboperations": 1000, "NumberOfCompletedSuboperations": 300,
                              "NumberOfFailedSuboperations": 2, "NumberOfWarningSuboperations": 1], dataSetKeyword: nil),
            PeerCase(name: "C-MOVE-RSP refused",
                     ours: .moveResponse(to: move, status: .moveDestinationUnknown, remaining: nil, completed: 0, failed: 0, warning: 0),
                     primitive: "C_MOVE", message: "C_MOVE_RSP",
                     fields: ["MessageIDBeingRespondedTo": 4, "AffectedSOPClassUID": studyRootMove, "Status": 0xA801,
                              "NumberOfCompletedSuboperations": 0, "NumberOfFailedSuboperations": 0,
                              "NumberOfWarningSuboperations": 0], dataSetKeyword: nil),
            PeerCase(name: "C-CANCEL-RQ", ours: .cancelRequest(messageIDBeingRespondedTo: 4), primitive: "C_CANCEL",
                     message: "C_CANCEL_RQ", fields: ["MessageIDBeingRespondedTo": 4], dataSetKeyword: nil),
        ]
    }

    /// DIMSE-N commands made by pynetdicom only (we have no constructors for them): we must read
    /// them, find them valid, and write them back unchanged.
    static func peerOnlyCases() -> [(name: String, primitive: String, message: String, field: CommandField,
                                     fields: [String: Any], dataSetKeyword: String?)] {
        let printer = "1.2.840.10008.5.1.1.16", printerInstance = "1.2.840.10008.5.1.1.17"
        let commitment = "1.2.840.10008.1.20.1", commitmentInstance = "1.2.840.10008.1.20.1.1"
        return [
            ("N-EVENT-REPORT-RQ", "N_EVENT_REPORT", "N_EVENT_REPORT_RQ", .nEventReportRQ,
             ["MessageID": 11, "AffectedSOPClassUID": commitment, "AffectedSOPInstanceUID": commitmentInstance, "EventTypeID": 1],
             "EventInformation"),
            ("N-EVENT-REPORT-RSP", "N_EVENT_REPORT", "N_EVENT_REPORT_RSP", .nEventReportRSP,
             ["MessageIDBeingRespondedTo": 11, "AffectedSOPClassUID": commitment, "AffectedSOPInstanceUID": commitmentInstance,
              "EventTypeID": 1, "Status": 0], nil),
            ("N-GET-RQ", "N_GET", "N_GET_RQ", .nGetRQ,
             ["MessageID": 12, "RequestedSOPClassUID": printer, "RequestedSOPInstanceUID": printerInstance,
              "AttributeIdentifierList": [0x2110_0010, 0x2110_0020]], nil),
            ("N-GET-RSP", "N_GET", "N_GET_RSP", .nGetRSP,
             ["MessageIDBeingRespondedTo": 12, "AffectedSOPClassUID": printer, "AffectedSOPInstanceUID": printerInstance,
              "Status": 0x0107], "AttributeList"),
            ("N-SET-RQ", "N_SET", "N_SET_RQ", .nSetRQ,
             ["MessageID": 13, "RequestedSOPClassUID": printer, "RequestedSOPInstanceUID": printerInstance], "ModificationList"),
            ("N-ACTION-RQ", "N_ACTION", "N_ACTION_RQ", .nActionRQ,
             ["MessageID": 14, "RequestedSOPClassUID": commitment, "RequestedSOPInstanceUID": commitmentInstance,
              "ActionTypeID": 1], "ActionInformation"),
            ("N-ACTION-RSP", "N_ACTION", "N_ACTION_RSP", .nActionRSP,
             ["MessageIDBeingRespondedTo": 14, "AffectedSOPClassUID": commitment, "AffectedSOPInstanceUID": commitmentInstance,
              "ActionTypeID": 1, "Status": 0x0110, "ErrorComment": "no such storage", "ErrorID": 7], nil),
            ("N-CREATE-RQ", "N_CREATE", "N_CREATE_RQ", .nCreateRQ,
             ["MessageID": 15, "AffectedSOPClassUID": "1.2.840.10008.3.1.2.3.3"], "AttributeList"),
            ("N-DELETE-RQ", "N_DELETE", "N_DELETE_RQ", .nDeleteRQ,
             ["MessageID": 16, "RequestedSOPClassUID": "1.2.840.10008.5.1.1.1", "RequestedSOPInstanceUID": "1.2.3.4.5.6"], nil),
            ("N-DELETE-RSP", "N_DELETE", "N_DELETE_RSP", .nDeleteRSP,
             ["MessageIDBeingRespondedTo": 16, "Status": 0x0112], nil),
        ]
    }

    /// Our encoding of each command is byte for byte what pynetdicom encodes from the same
    /// parameters; pydicom reads ours with the same elements and values; we read pynetdicom's
    /// to the same typed values, find it valid, and write it back unchanged.
    func testCommandSetsMatchPynetdicom() throws {
        let cases = Self.peerCases()
        var input: [[String: Any]] = []
        for c in cases {
            var entry: [String: Any] = ["name": c.name, "primitive": c.primitive, "message": c.message, "fields": c.fields,
                                        "ours": Self.hex(c.ours.encoded())]
            if let k = c.dataSetKeyword { entry["dataset"] = k }
            input.append(entry)
        }
        for c in Self.peerOnlyCases() {
            var entry: [String: Any] = ["name": c.name, "primitive": c.primitive, "message": c.message, "fields": c.fields]
            if let k = c.dataSetKeyword { entry["dataset"] = k }
            input.append(entry)
        }
        let results = try PythonPeer.run(Self.peerScript, input: input)

        for c in cases {
            guard let r = results[c.name] as? [String: Any], let theirsHex = r["theirs"] as? String,
                  let oursByPydicom = r["ours"] as? [String: [String: Any]], let order = r["oursOrder"] as? [String] else {
                XCTFail("\(c.name): no result from the Python peer: \(String(describing: results[c.name]))"); continue
            }
            let ours = c.ours.encoded()
            let theirs = Self.bytes(hex: theirsHex)

            // 1. Byte for byte.
            XCTAssertEqual(Self.hex(ours), theirsHex,
                           "\(c.name): our bytes differ from pynetdicom's\n ours:   \(Self.dump(ours))\n theirs: \(Self.dump(theirs))")

            // 2. pydicom reads our bytes as the elements we meant, (0000,0000) first and true.
            XCTAssertEqual(order.first, "00000000", "\(c.name): (0000,0000) must come first")
            XCTAssertEqual(order, order.sorted(), "\(c.name): elements must be in ascending tag order")
            var expected: [String: Any] = c.fields
            expected["CommandGroupLength"] = ours.count - 12
            expected["CommandField"] = Int(c.ours.commandField!.rawValue)
            expected["CommandDataSetType"] = c.dataSetKeyword == nil ? 0x0101 : 0x0001
            let byKeyword = Dictionary(uniqueKeysWithValues: oursByPydicom.values.map { ($0["keyword"] as? String ?? "?", $0) })
            XCTAssertEqual(Set(byKeyword.keys), Set(expected.keys), "\(c.name): pydicom reads other elements from our bytes")
            for (keyword, value) in expected {
                guard let element = byKeyword[keyword] else { continue }
                XCTAssertTrue(Self.jsonEqual(element["value"], value),
                              "\(c.name): pydicom reads \(keyword) as \(element["value"] ?? "nil"), we meant \(value)")
                let tag = Tag(parsing: keyword)!
                XCTAssertEqual(element["vr"] as? String, DataDictionary.vr(for: tag).description, "\(c.name): VR of \(keyword)")
            }

            // 3. We read pynetdicom's bytes to the same command, valid, and write them back unchanged.
            do {
                let decoded = try Command.decode(theirs)
                XCTAssertNoThrow(try decoded.validate(), "\(c.name): pynetdicom's command fails our validation")
                XCTAssertEqual(Self.summary(decoded), Self.summary(c.ours), "\(c.name): we read pynetdicom's bytes differently")
                XCTAssertEqual(decoded.encoded(), theirs, "\(c.name): rewriting pynetdicom's command changes it")
            } catch {
                XCTFail("\(c.name): we cannot read pynetdicom's command: \(error)")
            }
        }

        for c in Self.peerOnlyCases() {
            guard let r = results[c.name] as? [String: Any], let theirsHex = r["theirs"] as? String else {
                XCTFail("\(c.name): no result from the Python peer"); continue
            }
            let theirs = Self.bytes(hex: theirsHex)
            do {
                let decoded = try Command.decode(theirs)
                XCTAssertEqual(decoded.commandField, c.field, c.name)
                XCTAssertEqual(decoded.validationErrors(), [], "\(c.name): pynetdicom's command fails our validation")
                XCTAssertEqual(decoded.hasDataSet, c.dataSetKeyword != nil, c.name)
                XCTAssertEqual(decoded.encoded(), theirs, "\(c.name): rewriting pynetdicom's command changes it")
                for (keyword, value) in c.fields {
                    let tag = Tag(parsing: keyword)!
                    let ours: Any? = switch DataDictionary.vr(for: tag) {
                    case .US: decoded.uint16(tag).map { Int($0) }
                    case .AT: decoded.tags(tag).map { $0.map { Int($0.value) } }
                    default: decoded.text(tag)
                    }
                    XCTAssertTrue(Self.jsonEqual(ours, value), "\(c.name): we read \(keyword) as \(ours ?? "nil"), pynetdicom wrote \(value)")
                }
            } catch {
                XCTFail("\(c.name): we cannot read pynetdicom's command: \(error)")
            }
        }
    }

    /// The Python side: builds each command with pynetdicom (dimse_primitives → dimse_messages →
    /// command_set encoded Implicit VR Little Endian) and reads our bytes with pydicom.
    static let peerScript = #"""
import json, sys
from io import BytesIO
import pydicom
from pydicom.filereader import read_dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pynetdicom import dimse_primitives, dimse_messages
from pynetdicom.dsutils import encode

def plain(v):
    if isinstance(v, (list, MultiValue)):
        return [plain(x) for x in v]
    if isinstance(v, BaseTag):
        return int(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, bytes):
        return v.hex()
    return str(v)

cases = json.load(open(sys.argv[1]))
out = {}
for case in cases:
    primitive = getattr(dimse_primitives, case["primitive"])()
    for keyword, value in case["fields"].items():
        setattr(primitive, keyword, value)
    if "dataset" in case:
        # Any encoded data set will do: only its presence shows in the command set.
        setattr(primitive, case["dataset"], BytesIO(b"\x08\x00\x52\x00\x06\x00\x00\x00STUDY "))
    message = getattr(dimse_messages, case["message"])()
    message.primitive_to_message(primitive)
    result = {"theirs": encode(message.command_set, True, True).hex()}
    if "ours" in case:
        ds = read_dataset(BytesIO(bytes.fromhex(case["ours"])), True, True)
        result["ours"] = {f"{int(e.tag):08X}": {"keyword": e.keyword, "vr": e.VR, "value": plain(e.value)} for e in ds}
        result["oursOrder"] = [f"{int(e.tag):08X}" for e in ds]
    out[case["name"]] = result
json.dump(out, open(sys.argv[2], "w"))
"""#

    // MARK: - round trips and layout

    func testEachConstructorRoundTrips() throws {
        for c in Self.peerCases() {
            let bytes = c.ours.encoded()
            let decoded = try Command.decode(bytes)
            XCTAssertEqual(Self.summary(decoded), Self.summary(c.ours), c.name)
            XCTAssertEqual(decoded.encoded(), bytes, "\(c.name): decode → encode must be byte-exact")
            XCTAssertEqual(c.ours.validationErrors(), [], "\(c.name): our own constructor must be valid")
            XCTAssertEqual(decoded.validationErrors(), [], c.name)
        }
    }

    func testConstructorsSetTheRequiredElementsOnly() {
        let store = Command.storeRequest(messageID: 1, sopClassUID: Self.ctImageStorage, sopInstanceUID: "1.2.3")
        XCTAssertEqual(store.dataSet.tags.map(\.value), [0x0002, 0x0100, 0x0110, 0x0700, 0x0800, 0x1000])
        XCTAssertEqual(store.priority, .medium)
        XCTAssertTrue(store.hasDataSet)
        XCTAssertNil(store.moveOriginatorAETitle)

        let echo = Command.echoRequest(messageID: 5)
        XCTAssertEqual(echo.dataSet.tags.map(\.value), [0x0002, 0x0100, 0x0110, 0x0800])
        XCTAssertEqual(echo.affectedSOPClassUID, "1.2.840.10008.1.1")
        XCTAssertFalse(echo.hasDataSet)
        XCTAssertEqual(echo.commandDataSetType, 0x0101)

        let cancel = Command.cancelRequest(messageIDBeingRespondedTo: 3)
        XCTAssertEqual(cancel.dataSet.tags.map(\.value), [0x0100, 0x0120, 0x0800])
        XCTAssertNil(cancel.messageID)

        let move = Command.moveRequest(messageID: 8, sopClassUID: Self.studyRootMove, destination: "ARCHIVE", priority: .high)
        let final = Command.moveResponse(to: move, status: .success, remaining: nil, completed: 3, failed: 0, warning: 0)
        XCTAssertNil(final.remainingSubOperations, "the final C-MOVE-RSP has no remaining count (PS3.4 C.4.2.1.5)")
        XCTAssertEqual(final.messageIDBeingRespondedTo, 8)
        XCTAssertEqual(final.affectedSOPClassUID, Self.studyRootMove)
        XCTAssertEqual(final.completedSubOperations, 3)
        XCTAssertFalse(final.hasDataSet)

        let findFinal = Command.findResponse(to: .findRequest(messageID: 2, sopClassUID: Self.studyRootFind), status: .success,
                                             hasIdentifier: false)
        XCTAssertEqual(findFinal.dataSet.tags.map(\.value), [0x0002, 0x0100, 0x0120, 0x0800, 0x0900])
    }

    func testGenericFailureResponse() throws {
        let store = Command.storeRequest(messageID: 21, sopClassUID: Self.ctImageStorage, sopInstanceUID: "1.2.3")
        let refused = try XCTUnwrap(Command.response(to: store, status: .sopClassNotSupported, errorComment: "not here"))
        XCTAssertEqual(refused.encoded(),
                       Command.storeResponse(to: store, status: .sopClassNotSupported, errorComment: "not here").encoded())

        var nGet = Command()
        nGet.commandField = .nGetRQ
        nGet.messageID = 22
        nGet.requestedSOPClassUID = "1.2.840.10008.5.1.1.16"
        nGet.requestedSOPInstanceUID = "1.2.840.10008.5.1.1.17"
        nGet.hasDataSet = false
        XCTAssertEqual(nGet.validationErrors(), [])
        let rsp = try XCTUnwrap(Command.response(to: nGet, status: .unrecognizedOperation))
        XCTAssertEqual(rsp.commandField, .nGetRSP)
        XCTAssertEqual(rsp.messageIDBeingRespondedTo, 22)
        XCTAssertEqual(rsp.affectedSOPClassUID, "1.2.840.10008.5.1.1.16")
        XCTAssertEqual(rsp.affectedSOPInstanceUID, "1.2.840.10008.5.1.1.17")
        XCTAssertEqual(rsp.status, .unrecognizedOperation)
        XCTAssertEqual(rsp.validationErrors(), [])

        XCTAssertNil(Command.response(to: .cancelRequest(messageIDBeingRespondedTo: 1), status: .success))
        XCTAssertNil(Command.response(to: refused, status: .success), "responses are not answered")
        var anonymous = store
        anonymous.messageID = nil
        XCTAssertNil(Command.response(to: anonymous, status: .cannotUnderstand), "no Message ID: nothing to answer")
    }

    func testEncodingLayout() throws {
        let c = Command.storeRequest(messageID: 0x1234, sopClassUID: Self.ctImageStorage, sopInstanceUID: "1.2.3",
                                     moveOriginatorAETitle: "ABC", moveOriginatorMessageID: 7)
        let b = c.encoded()
        // (0000,0000) UL 4 <length of the rest>, implicit VR little endian.
        XCTAssertEqual(Array(b[0..<8]), [0, 0, 0, 0, 4, 0, 0, 0])
        let groupLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
        XCTAssertEqual(groupLength, b.count - 12)
        // Affected SOP Class UID: 25 characters + one NUL.
        XCTAssertEqual(Array(b[12..<20]), [0, 0, 2, 0, 26, 0, 0, 0])
        XCTAssertEqual(Array(b[20..<46]), Array(Self.ctImageStorage.utf8) + [0])
        // Command Field 0001H, Message ID 1234H.
        XCTAssertEqual(Array(b[46..<56]), [0, 0, 0, 1, 2, 0, 0, 0, 1, 0])
        XCTAssertEqual(Array(b[56..<66]), [0, 0, 0x10, 1, 2, 0, 0, 0, 0x34, 0x12])
        // "1.2.3" is NUL-padded, the AE title "ABC" space-padded.
        let text = Self.hex(b)
        XCTAssertTrue(text.contains("00000010" + "06000000" + Self.hex(Array("1.2.3".utf8)) + "00"), text)
        XCTAssertTrue(text.contains("00003010" + "04000000" + Self.hex(Array("ABC".utf8)) + "20"), text)
        // Read back, padding is gone.
        let d = try Command.decode(b)
        XCTAssertEqual(d.affectedSOPInstanceUID, "1.2.3")
        XCTAssertEqual(d.moveOriginatorAETitle, "ABC")
        XCTAssertEqual(d.moveOriginatorMessageID, 7)
    }

    func testGroupLengthIsRecomputedAndElementsSorted() throws {
        // A stale (0000,0000) and elements out of order in `dataSet` still encode correctly.
        var ds = DataSet()
        ds.set(DataElement(tag: Command.Tags.commandGroupLength, vr: .UL, bytes: [99, 0, 0, 0]))
        var c = Command(dataSet: ds)
        c.status = .success
        c.commandField = .cEchoRSP
        c.messageIDBeingRespondedTo = 1
        c.hasDataSet = false
        c.errorComment = String(repeating: "x", count: 100) + "é"
        XCTAssertEqual(c.errorComment?.count, 64, "LO is cut to 64 characters")
        let b = c.encoded()
        XCTAssertEqual(Int(b[8]) | Int(b[9]) << 8, b.count - 12)
        let d = try Command.decode(b)
        XCTAssertEqual(d.dataSet.tags.map(\.value), [0x0000, 0x0100, 0x0120, 0x0800, 0x0900, 0x0902])
        c.errorComment = "disque plein: é"
        XCTAssertEqual(c.errorComment, "disque plein: ?", "no character set in a command set: default repertoire only")
        c.errorComment = nil
        XCTAssertFalse(c.dataSet.contains(Command.Tags.errorComment))
        c.offendingElements = [Tag(0x0010_0010), Tag(0x0008_0018)]
        XCTAssertEqual(try Command.decode(c.encoded()).offendingElements, [Tag(0x0010_0010), Tag(0x0008_0018)])
    }

    // MARK: - decode errors

    func testDecodeRefusesWhatIsNotACommandSet() {
        func expect(_ bytes: [UInt8], _ error: DIMSEError, line: UInt = #line) {
            XCTAssertThrowsError(try Command.decode(bytes), line: line) { e in
                XCTAssertEqual(e as? DIMSEError, error, line: line)
                XCTAssertFalse("\(e)".isEmpty, line: line)
            }
        }
        let echo = Command.echoRequest(messageID: 1)

        var noField = echo
        noField.commandField = nil
        expect(noField.encoded(), .missingCommandField)
        expect([], .missingCommandField)

        var unknown = echo
        unknown.dataSet.set(DataElement(tag: Command.Tags.commandField, vr: .US, bytes: [0x99, 0x00]))
        expect(unknown.encoded(), .unknownCommandField(0x0099))

        // A data set element after the command elements: a data set sent as a command.
        var withData = echo.encoded()
        withData += [0x10, 0x00, 0x10, 0x00, 4, 0, 0, 0] + Array("DOE^".utf8)
        expect(withData, .notACommandElement(Tag(0x0010_0010)))

        // A value running past the end, and an element cut off inside its header.
        for cut in [1, 4] {
            var truncated = echo.encoded()
            truncated.removeLast(cut)
            XCTAssertThrowsError(try Command.decode(truncated), "cut by \(cut)") { e in
                guard case .unreadable = e as? DIMSEError else { return XCTFail("expected .unreadable, got \(e)") }
            }
        }

        // A 4-byte Command Field.
        var wide = echo
        wide.dataSet.set(DataElement(tag: Command.Tags.commandField, vr: .US, bytes: [0x30, 0, 0, 0]))
        XCTAssertThrowsError(try Command.decode(wide.encoded())) { e in
            guard case .invalidValue(let tag, _) = e as? DIMSEError else { return XCTFail("got \(e)") }
            XCTAssertEqual(tag, Command.Tags.commandField)
        }
    }

    // MARK: - validation

    func testValidationFindsMissingAndWrongElements() throws {
        var store = Command.storeRequest(messageID: 1, sopClassUID: Self.ctImageStorage, sopInstanceUID: "1.2.3")
        store.affectedSOPInstanceUID = nil
        XCTAssertThrowsError(try store.validate()) { e in
            XCTAssertEqual(e as? DIMSEError, .missingElement(Command.Tags.affectedSOPInstanceUID, command: .cStoreRQ))
        }
        store.affectedSOPInstanceUID = "1.2.3"
        store.hasDataSet = false
        XCTAssertEqual(store.validationErrors(), [.unexpectedDataSetType(command: .cStoreRQ, hasDataSet: false)])
        store.hasDataSet = true
        store.dataSet.set(DataElement(tag: Command.Tags.priority, vr: .US, bytes: [3, 0]))
        XCTAssertEqual(store.priority, nil)
        guard case .invalidValue(Command.Tags.priority, _)? = store.validationErrors().first else {
            return XCTFail("a priority of 3 must be refused: \(store.validationErrors())")
        }
        store.priority = .low
        store.dataSet.set(DataElement(tag: Command.Tags.affectedSOPClassUID, vr: .UI, bytes: []))
        guard case .invalidValue(Command.Tags.affectedSOPClassUID, _)? = store.validationErrors().first else {
            return XCTFail("an empty Affected SOP Class UID must be refused: \(store.validationErrors())")
        }

        var echo = Command.echoRequest(messageID: 1)
        echo.hasDataSet = true
        XCTAssertEqual(echo.validationErrors(), [.unexpectedDataSetType(command: .cEchoRQ, hasDataSet: true)])
        echo.hasDataSet = false
        echo.messageID = nil
        echo.dataSet.set(DataElement(tag: Tag(0x0008_0016), vr: .UI, bytes: Array("1.2".utf8) + [0]))
        XCTAssertEqual(Set(echo.validationErrors().map(\.description)),
                       Set([DIMSEError.notACommandElement(Tag(0x0008_0016)),
                            .missingElement(Command.Tags.messageID, command: .cEchoRQ)].map(\.description)))

        let move = Command.moveRequest(messageID: 4, sopClassUID: Self.studyRootMove, destination: "X")
        var noDestination = move
        noDestination.moveDestination = nil
        XCTAssertEqual(noDestination.validationErrors(), [.missingElement(Command.Tags.moveDestination, command: .cMoveRQ)])

        // Pending C-MOVE/C-GET responses must carry all four counts.
        var pending = Command.moveResponse(to: move, status: .pending, remaining: 3, completed: 1, failed: 0, warning: 0)
        XCTAssertEqual(pending.validationErrors(), [])
        pending.remainingSubOperations = nil
        XCTAssertEqual(pending.validationErrors(), [.missingElement(Command.Tags.numberOfRemainingSuboperations, command: .cMoveRSP)])
        pending.status = .success
        XCTAssertEqual(pending.validationErrors(), [], "the final response has no remaining count")

        var response = Command.storeResponse(to: Command.storeRequest(messageID: 1, sopClassUID: "1.2", sopInstanceUID: "1.3"),
                                             status: .success)
        response.status = nil
        XCTAssertEqual(response.validationErrors(), [.missingElement(Command.Tags.status, command: .cStoreRSP)])

        XCTAssertEqual(Command().validationErrors(), [.missingCommandField])

        // A request with a fault still gives the Message ID a failure response needs.
        var faulty = Command.findRequest(messageID: 77, sopClassUID: Self.studyRootFind)
        faulty.priority = nil
        let decoded = try Command.decode(faulty.encoded())
        XCTAssertThrowsError(try decoded.validate())
        XCTAssertEqual(Command.findResponse(to: decoded, status: .unableToProcess, hasIdentifier: false).messageIDBeingRespondedTo, 77)
    }

    // MARK: - command fields and statuses

    func testCommandFields() {
        XCTAssertEqual(CommandField.allCases.count, 23)
        let names: [CommandField: String] = [
            .cStoreRQ: "C-STORE-RQ", .cStoreRSP: "C-STORE-RSP", .cGetRQ: "C-GET-RQ", .cGetRSP: "C-GET-RSP",
            .cFindRQ: "C-FIND-RQ", .cFindRSP: "C-FIND-RSP", .cMoveRQ: "C-MOVE-RQ", .cMoveRSP: "C-MOVE-RSP",
            .cEchoRQ: "C-ECHO-RQ", .cEchoRSP: "C-ECHO-RSP", .cCancelRQ: "C-CANCEL-RQ",
            .nEventReportRQ: "N-EVENT-REPORT-RQ", .nEventReportRSP: "N-EVENT-REPORT-RSP", .nGetRQ: "N-GET-RQ",
            .nGetRSP: "N-GET-RSP", .nSetRQ: "N-SET-RQ", .nSetRSP: "N-SET-RSP", .nActionRQ: "N-ACTION-RQ",
            .nActionRSP: "N-ACTION-RSP", .nCreateRQ: "N-CREATE-RQ", .nCreateRSP: "N-CREATE-RSP",
            .nDeleteRQ: "N-DELETE-RQ", .nDeleteRSP: "N-DELETE-RSP",
        ]
        for field in CommandField.allCases {
            XCTAssertEqual(field.name, names[field])
            XCTAssertEqual(field.isResponse, field.name.hasSuffix("-RSP"))
            XCTAssertEqual(field.isNormalized, field.name.hasPrefix("N-"))
            if let rsp = field.response {
                XCTAssertEqual(rsp.request, field)
                XCTAssertEqual(rsp.rawValue, field.rawValue | 0x8000)
            }
        }
        XCTAssertNil(CommandField.cCancelRQ.response)
        XCTAssertEqual(CommandField.cMoveRQ.rawValue, 0x0021)
        XCTAssertEqual(CommandField.nDeleteRSP.rawValue, 0x8150)
        XCTAssertEqual(Priority.medium.rawValue, 0)
        XCTAssertEqual(Priority.high.rawValue, 1)
        XCTAssertEqual(Priority.low.rawValue, 2)
    }

    func testStatusCategories() {
        let table: [(UInt16, DIMSEStatus.Category)] = [
            (0x0000, .success),
            (0xFF00, .pending), (0xFF01, .pending),
            (0xFE00, .cancel),
            (0x0001, .warning), (0x0107, .warning), (0x0116, .warning),
            (0xB000, .warning), (0xB006, .warning), (0xB007, .warning), (0xB123, .warning), (0xBFFF, .warning),
            (0xA700, .failure), (0xA7FF, .failure), (0xA701, .failure), (0xA702, .failure), (0xA801, .failure),
            (0xA900, .failure), (0xA9FF, .failure), (0xAA00, .failure),
            (0xC000, .failure), (0xC001, .failure), (0xCFFF, .failure),
            (0x0105, .failure), (0x0106, .failure), (0x0110, .failure), (0x0111, .failure), (0x0112, .failure),
            (0x0115, .failure), (0x0117, .failure), (0x0118, .failure), (0x0119, .failure), (0x0120, .failure),
            (0x0121, .failure), (0x0122, .failure), (0x0123, .failure), (0x0124, .failure),
            (0x0210, .failure), (0x0211, .failure), (0x0212, .failure), (0x0213, .failure),
            // Not defined anywhere: never success, never pending.
            (0x0002, .failure), (0x1234, .failure), (0xFF02, .failure), (0xFE01, .failure),
        ]
        for (code, category) in table {
            XCTAssertEqual(DIMSEStatus(code).category, category, DIMSEStatus(code).hexCode)
            XCTAssertEqual(DIMSEStatus(code).isFinal, category != .pending)
        }
    }

    /// Our classes against pynetdicom's `code_to_category` for every code it knows.
    func testStatusCategoriesMatchPynetdicom() throws {
        let script = #"""
import json, sys
from pynetdicom.status import code_to_category
json.dump({str(c): code_to_category(c) for c in range(0x10000)}, open(sys.argv[2], "w"))
"""#
        let theirs = try PythonPeer.run(script, input: [])
        XCTAssertEqual(theirs.count, 0x10000)
        var known = 0
        for (key, value) in theirs {
            guard let code = UInt16(key), let category = value as? String, category != "Unknown" else { continue }
            known += 1
            XCTAssertEqual(DIMSEStatus(code).category.rawValue, category.lowercased(), DIMSEStatus(code).hexCode)
        }
        XCTAssertGreaterThan(known, 8000, "pynetdicom classes the A000–CFFF ranges and more")
    }

    func testStatusNamesAndDescriptions() {
        XCTAssertEqual(DIMSEStatus.refusedOutOfResources.description, "0xA700 Refused: Out of Resources")
        XCTAssertEqual(DIMSEStatus.success.description, "0x0000 Success")
        XCTAssertEqual(DIMSEStatus(0xA7C3).description, "0xA7C3 Refused: Out of Resources")
        XCTAssertEqual(DIMSEStatus.moveDestinationUnknown.description, "0xA801 Refused: Move Destination unknown")
        XCTAssertEqual(DIMSEStatus.coercionOfDataElements.description(for: .cStoreRSP), "0xB000 Warning: Coercion of Data Elements")
        XCTAssertEqual(DIMSEStatus(0xB000).description(for: .cMoveRQ),
                       "0xB000 Warning: Sub-operations Complete – One or More Failures")
        XCTAssertEqual(DIMSEStatus(0xC123).description(for: .cStoreRSP), "0xC123 Error: Cannot understand")
        XCTAssertEqual(DIMSEStatus(0xC123).description(for: .cFindRSP), "0xC123 Failure: Unable to process")
        XCTAssertEqual(DIMSEStatus(0xA900).meaning(for: .cStoreRQ), "Error: Data Set does not match SOP Class")
        XCTAssertEqual(DIMSEStatus(0xA900).meaning(for: .cGetRSP), "Failure: Identifier does not match SOP Class")
        XCTAssertEqual(DIMSEStatus(0xFE00).meaning(for: .cFindRSP), "Cancel: Matching terminated due to Cancel request")
        XCTAssertEqual(DIMSEStatus(0x1234).description, "0x1234 Failure")
        XCTAssertEqual(DIMSEStatus(0xB0F0).description, "0xB0F0 Warning")
        XCTAssertTrue(DIMSEStatus.sopClassNotSupported.description.hasPrefix("0x0122 Refused: SOP Class Not Supported"))

        // The named codes are the standard's.
        let named: [(DIMSEStatus, UInt16)] = [
            (.success, 0x0000), (.pending, 0xFF00), (.pendingWithWarnings, 0xFF01), (.cancel, 0xFE00), (.warning, 0x0001),
            (.refusedOutOfResources, 0xA700), (.refusedOutOfResourcesNumberOfMatches, 0xA701),
            (.refusedOutOfResourcesSubOperations, 0xA702), (.moveDestinationUnknown, 0xA801),
            (.dataSetDoesNotMatchSOPClass, 0xA900), (.identifierDoesNotMatchSOPClass, 0xA900),
            (.cannotUnderstand, 0xC000), (.unableToProcess, 0xC000), (.coercionOfDataElements, 0xB000),
            (.elementsDiscarded, 0xB006), (.dataSetDoesNotMatchSOPClassWarning, 0xB007),
            (.subOperationsCompleteWithFailures, 0xB000), (.sopClassNotSupported, 0x0122), (.notAuthorized, 0x0124),
            (.noSuchSOPClass, 0x0118), (.invalidArgumentValue, 0x0115), (.duplicateInvocation, 0x0210),
            (.unrecognizedOperation, 0x0211), (.mistypedArgument, 0x0212), (.resourceLimitation, 0x0213),
            (.processingFailure, 0x0110), (.duplicateSOPInstance, 0x0111), (.noSuchObjectInstance, 0x0112),
            (.noSuchAttribute, 0x0105), (.invalidAttributeValue, 0x0106), (.attributeListError, 0x0107),
            (.attributeValueOutOfRange, 0x0116), (.missingAttribute, 0x0120), (.missingAttributeValue, 0x0121),
        ]
        for (status, code) in named { XCTAssertEqual(status.rawValue, code, status.description) }
        let literal: DIMSEStatus = 0xA700
        XCTAssertEqual(literal, .refusedOutOfResources)
    }

    func testErrorDescriptions() {
        XCTAssertEqual(DIMSEError.missingElement(Command.Tags.messageID, command: .cEchoRQ).description,
                       "C-ECHO-RQ lacks (0000,0110) MessageID, which PS3.7 requires")
        XCTAssertEqual(DIMSEError.unknownCommandField(0x0099).description, "unknown command field 0x0099 in (0000,0100)")
        XCTAssertTrue(DIMSEError.notACommandElement(Tag(0x0010_0010)).description.contains("(0010,0010)"))
        let c = Command.storeRequest(messageID: 3, sopClassUID: "1.2", sopInstanceUID: "1.3")
        XCTAssertEqual(c.description, "C-STORE-RQ #3 1.2 +data set")
    }

    // MARK: - helpers

    /// Every typed view of a command, for comparing two commands element by element.
    static func summary(_ c: Command) -> [String] {
        [
            "commandField=\(String(describing: c.commandField))", "messageID=\(String(describing: c.messageID))",
            "respondedTo=\(String(describing: c.messageIDBeingRespondedTo))",
            "affectedClass=\(String(describing: c.affectedSOPClassUID))",
            "affectedInstance=\(String(describing: c.affectedSOPInstanceUID))",
            "requestedClass=\(String(describing: c.requestedSOPClassUID))",
            "requestedInstance=\(String(describing: c.requestedSOPInstanceUID))",
            "priority=\(String(describing: c.priority))", "hasDataSet=\(c.hasDataSet)",
            "status=\(String(describing: c.status))", "moveDestination=\(String(describing: c.moveDestination))",
            "moveOriginator=\(String(describing: c.moveOriginatorAETitle))",
            "moveOriginatorID=\(String(describing: c.moveOriginatorMessageID))",
            "remaining=\(String(describing: c.remainingSubOperations))",
            "completed=\(String(describing: c.completedSubOperations))",
            "failed=\(String(describing: c.failedSubOperations))", "warning=\(String(describing: c.warningSubOperations))",
            "errorComment=\(String(describing: c.errorComment))", "offending=\(String(describing: c.offendingElements))",
            "errorID=\(String(describing: c.errorID))",
        ]
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    static func bytes(hex: String) -> [UInt8] {
        let chars = Array(hex.utf8)
        return stride(from: 0, to: chars.count - 1, by: 2).map { UInt8(String(decoding: chars[$0...$0 + 1], as: UTF8.self), radix: 16)! }
    }

    /// The elements of a command set, one `(gggg,eeee)=hex` each, to show where two encodings differ.
    static func dump(_ bytes: [UInt8]) -> String {
        guard let ds = try? DicomFile.decode(bytes, transferSyntax: .implicitVRLittleEndian) else { return hex(bytes) }
        return ds.elements.map { "\($0.tag)=\(hex(Array($0.bytes)))" }.joined(separator: " ")
    }

    /// JSON values from the peer against the Swift values we meant (Int, String, [Int]).
    static func jsonEqual(_ a: Any?, _ b: Any?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case let (x as Int, y as Int): return x == y
        case let (x as NSNumber, y as Int): return x.intValue == y
        case let (x as String, y as String): return x.trimmingCharacters(in: CharacterSet(charactersIn: " \0")) == y
        case let (x as [Any], y as [Int]): return x.count == y.count && zip(x, y).allSatisfy { jsonEqual($0, $1) }
        case let (x as Int, y as [Int]): return y == [x]  // pydicom gives a single AT value unwrapped
        default: return false
        }
    }
}

/// Runs a Python script (pydicom / pynetdicom) with a JSON input file and reads its JSON output file.
/// A missing or broken Python peer throws, failing the test instead of skipping it.
private enum PythonPeer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ script: String, input: Any) throws -> [String: Any] {
        let dir = NSTemporaryDirectory() + "dicomnode-dimse-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scriptPath = dir + "/peer.py", inPath = dir + "/in.json", outPath = dir + "/out.json", errPath = dir + "/stderr"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        try JSONSerialization.data(withJSONObject: input).write(to: URL(fileURLWithPath: inPath))
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer { try? errHandle.close() }

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", scriptPath, inPath, outPath]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = errHandle  // a file, not a pipe: a chatty child cannot block on it
        do {
            try p.run()
        } catch {
            throw Failure(description: "cannot start python3, a required test peer (scripts/install-test-peers.sh): \(error)")
        }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw Failure(description: "python3 with pydicom and pynetdicom is a required test peer "
                + "(scripts/install-test-peers.sh); the script failed with status \(p.terminationStatus):\n\(err)")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: outPath))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(description: "the Python peer wrote no JSON object")
        }
        return object
    }
}
