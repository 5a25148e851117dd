import Foundation
import XCTest
@testable import Codec
@testable import DicomNet

/// A toy archive over a folder of files, for the Query/Retrieve tests only (Node does the real
/// matching): single value and wildcard matching (PS3.4 C.2.2.2.1, C.2.2.2.4) of a few keys,
/// UID lists (C.2.2.2.2), one match per entity of the level.
struct TestArchive: QueryHandler, RetrieveHandler {
    struct Entry: Sendable {
        let header: DataSet
        let file: StorableFile
    }
    let entries: [Entry]
    /// Pause before each C-FIND match, so a C-CANCEL can overtake the matches.
    var delayPerMatch: UInt32 = 0

    init(folder: String) throws {
        var entries: [Entry] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
            let path = folder + "/" + name
            entries.append(Entry(header: try DicomFile.read(path: path, options: .headerOnly).dataSet, file: try StorableFile(path: path)))
        }
        self.entries = entries
    }

    static let matchingKeys: [Tag] = [.patientID, .studyInstanceUID, .seriesInstanceUID, .sopInstanceUID, .modality]

    static func levelKey(_ level: String) -> Tag {
        switch level {
        case "PATIENT": return .patientID
        case "STUDY": return .studyInstanceUID
        case "SERIES": return .seriesInstanceUID
        default: return .sopInstanceUID
        }
    }

    func matching(_ identifier: DataSet) -> [Entry] {
        entries.filter { entry in
            TestArchive.matchingKeys.allSatisfy { tag in
                guard let key = identifier[tag], let values = identifier.strings(tag), !values.allSatisfy(\.isEmpty) else { return true }
                let value = entry.header.string(tag) ?? ""
                if key.vr == .UI { return values.contains(value) }
                return TestArchive.wildcard(values[0], matches: value)
            }
        }
    }

    /// `*` any run of characters, `?` one character (PS3.4 C.2.2.2.4).
    static func wildcard(_ pattern: String, matches value: String) -> Bool {
        let p = Array(pattern), v = Array(value)
        var memo: [Int: Bool] = [:]
        func go(_ i: Int, _ j: Int) -> Bool {
            if let r = memo[i * (v.count + 1) + j] { return r }
            let r: Bool
            if i == p.count { r = j == v.count }
            else if p[i] == "*" { r = go(i + 1, j) || (j < v.count && go(i, j + 1)) }
            else { r = j < v.count && (p[i] == "?" || p[i] == v[j]) && go(i + 1, j + 1) }
            memo[i * (v.count + 1) + j] = r
            return r
        }
        return go(0, 0)
    }

    func find(_ request: QueryRequest, isCancelled: () -> Bool) throws -> AnySequence<DataSet> {
        let key = TestArchive.levelKey(request.level)
        var seen: Set<String> = []
        let matches = matching(request.identifier).filter { seen.insert($0.header.string(key) ?? "").inserted }.map(\.header)
        let delay = delayPerMatch
        return AnySequence(matches.lazy.map { header in
            if delay > 0 { usleep(delay) }
            return header
        })
    }

    func instances(for request: RetrieveRequest) throws -> [StorableFile] {
        matching(request.identifier).map(\.file)
    }
}

/// Stores into a folder but slowly, or refusing some instances: to watch cancels and failures.
struct TestStorage: StorageHandler {
    let folder: FolderStorage
    var refuse: Set<String> = []
    var delay: UInt32 = 0

    func begin(_ request: StoreRequest) throws -> StoreOperation {
        if delay > 0 { usleep(delay) }
        // Answered with a failure status; a throwing `begin` would end the association instead.
        if refuse.contains(request.sopInstanceUID) { return Refusal() }
        return try folder.begin(request)
    }

    final class Refusal: StoreOperation {
        func write(_ bytes: UnsafeRawBufferPointer) throws {}
        func finish() -> StoreResult { StoreResult(status: .refusedOutOfResources, errorComment: "refused by the test") }
        func cancel() {}
    }
}

/// Query/Retrieve (PS3.4 C) of our SCP against DCMTK findscu/movescu/getscu and storescp, and of
/// our SCU against our SCP.
final class QueryRetrieveTests: XCTestCase {
    static let patient1 = "QRPAT1"
    static let study1 = "1.2.826.0.1.3680043.2.1125.99.1"
    static let series1A = study1 + ".1"
    static let series1B = study1 + ".2"
    static let study2 = "1.2.826.0.1.3680043.2.1125.99.2"

    var archiveFolder = ""
    /// SOP Instance UIDs of study 1 (CT, series A then B) and study 2 (MR).
    var study1Instances: [String] = []
    var series1AInstances: [String] = []
    var study2Instances: [String] = []
    /// The pydicom JPEG 2000 file: its own study, to move in its compressed transfer syntax.
    var jpeg2000: StorableFile!

    override func setUpWithError() throws {
        let source = try NetTestSupport.pydicomTestFiles()
        archiveFolder = NetTestSupport.temporaryDirectory("qr-archive")
        // Study 1: five CTs in two series; study 2: two MRs of another patient.
        for i in 1...5 {
            let series = i <= 3 ? QueryRetrieveTests.series1A : QueryRetrieveTests.series1B
            let uid = series + ".\(i)"
            try derive(source + "/CT_small.dcm", patientID: QueryRetrieveTests.patient1, study: QueryRetrieveTests.study1, series: series, sop: uid)
            study1Instances.append(uid)
            if i <= 3 { series1AInstances.append(uid) }
        }
        for i in 1...2 {
            let uid = QueryRetrieveTests.study2 + ".1.\(i)"
            try derive(source + "/MR_small.dcm", patientID: "QRPAT2", study: QueryRetrieveTests.study2, series: QueryRetrieveTests.study2 + ".1", sop: uid)
            study2Instances.append(uid)
        }
        for name in ["JPEG2000.dcm", "rtplan.dcm"] {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: archiveFolder + "/" + name)
        }
        jpeg2000 = try StorableFile(path: archiveFolder + "/JPEG2000.dcm")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: archiveFolder)
    }

    /// A copy of `source` as a new instance of the given patient, study and series.
    func derive(_ source: String, patientID: String, study: String, series: String, sop: String) throws {
        var file = try DicomFile.read(path: source)
        try file.dataSet.set(.patientID, string: patientID)
        try file.dataSet.set(.studyInstanceUID, string: study)
        try file.dataSet.set(.seriesInstanceUID, string: series)
        try file.dataSet.set(.sopInstanceUID, string: sop)
        try file.meta.set(.mediaStorageSOPInstanceUID, string: sop)
        try file.write(toPath: archiveFolder + "/\(sop).dcm")
    }

    func startQRServer(delayPerMatch: UInt32 = 0, destinations: [String: MoveDestination] = [:],
                       tls: TLSContext? = nil) throws -> (DicomServer, TestLogger) {
        var archive = try TestArchive(folder: archiveFolder)
        archive.delayPerMatch = delayPerMatch
        let log = TestLogger()
        let server = DicomServer(policy: .queryRetrieveSCP(aeTitle: "QRSCP"), storage: nil, log: log)
        server.queryHandler = archive
        server.retrieveHandler = archive
        server.moveDestinations = StaticMoveDestinations(destinations)
        server.tls = tls
        try server.start(host: "127.0.0.1", port: 0)
        return (server, log)
    }

    /// A storage SCP of ours as a C-MOVE destination.
    func startDestination(aeTitle: String, storage: (FolderStorage) -> StorageHandler = { $0 }) throws -> (DicomServer, String) {
        let folder = NetTestSupport.temporaryDirectory("qr-dest")
        let server = DicomServer(policy: .storageSCP(aeTitle: aeTitle), storage: storage(try FolderStorage(folder: folder, durable: false)), log: TestLogger())
        try server.start(host: "127.0.0.1", port: 0)
        return (server, folder)
    }

    func openSCU(_ port: UInt16, model: QueryRetrieveModel = .studyRoot, getStorage: [String] = []) throws -> Association {
        var request = AssociationRequest(callingAETitle: "OURSCU", calledAETitle: "QRSCP", host: "127.0.0.1", port: port)
        for uid in [model.findSOPClass, model.moveSOPClass, model.getSOPClass] {
            request.propose(uid, transferSyntaxes: AcceptorPolicy.queryRetrieveTransferSyntaxes)
        }
        request.proposeStorageForGet(getStorage)
        return try request.open(log: TestLogger())
    }

    func identifier(_ level: String, _ keys: [(Tag, String)]) throws -> DataSet {
        var ds = DataSet()
        try ds.set(.queryRetrieveLevel, vr: .CS, string: level)
        for (tag, value) in keys {
            if value.isEmpty { ds.set(DataElement(tag: tag, vr: DataDictionary.vr(for: tag), bytes: [])) } else { try ds.set(tag, string: value) }
        }
        return ds
    }

    /// SOP Instance UIDs of the DICOM files in a folder (any names).
    func receivedInstances(_ folder: String) throws -> Set<String> {
        var uids: Set<String> = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where !name.hasPrefix(".") {
            if let uid = try? DicomFile.read(path: folder + "/" + name, options: .headerOnly).dataSet.string(.sopInstanceUID) { uids.insert(uid) }
        }
        return uids
    }

    // MARK: DCMTK against our SCP

    func testDCMTKFindscuGetsMatchesWithRequestedKeysOnly() throws {
        try NetTestSupport.requireTool("/usr/bin/findscu")
        let (server, log) = try startQRServer()
        defer { server.stop() }
        let out = NetTestSupport.temporaryDirectory("findscu")
        let (status, _, err) = try NetTestSupport.run("/usr/bin/findscu", [
            "-S", "-aet", "FINDSCU", "-aec", "QRSCP", "-X", "-od", out,
            "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=QRPAT?", "-k", "StudyInstanceUID", "-k", "PatientName",
            "127.0.0.1", String(server.port)])
        XCTAssertEqual(status, 0, err)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("rsp") }.sorted()
        XCTAssertEqual(files.count, 2, "\(files) \(err)")
        var studies: Set<String> = []
        for f in files {
            let ds = try DicomFile.read(path: out + "/" + f).dataSet
            studies.insert(ds.string(.studyInstanceUID) ?? "")
            XCTAssertEqual(ds.string(.queryRetrieveLevel), "STUDY")
            XCTAssertTrue(ds.string(.patientID)?.hasPrefix("QRPAT") ?? false)
            // Only what was asked for (PS3.4 C.4.1.1.3.2), whatever the archive holds.
            let allowed: Set<Tag> = [.specificCharacterSet, .queryRetrieveLevel, .patientName, .patientID, .studyInstanceUID]
            XCTAssertTrue(Set(ds.tags).isSubset(of: allowed), "\(ds.tags)")
            XCTAssertTrue(ds.contains(.patientName), "requested key returned, empty or not")
        }
        XCTAssertEqual(studies, [QueryRetrieveTests.study1, QueryRetrieveTests.study2])
        XCTAssertTrue(log.lines.contains { $0.contains("C-FIND") && $0.contains("matches=2") && $0.contains("status=0x0000") }, log.lines.joined(separator: "\n"))

        // Series level within one study, by exact Study Instance UID.
        let out2 = NetTestSupport.temporaryDirectory("findscu")
        let (status2, _, err2) = try NetTestSupport.run("/usr/bin/findscu", [
            "-S", "-aet", "FINDSCU", "-aec", "QRSCP", "-X", "-od", out2,
            "-k", "QueryRetrieveLevel=SERIES", "-k", "StudyInstanceUID=\(QueryRetrieveTests.study1)", "-k", "SeriesInstanceUID", "-k", "Modality",
            "127.0.0.1", String(server.port)])
        XCTAssertEqual(status2, 0, err2)
        let series = try FileManager.default.contentsOfDirectory(atPath: out2).filter { $0.hasPrefix("rsp") }
            .map { try DicomFile.read(path: out2 + "/" + $0).dataSet }
        XCTAssertEqual(Set(series.compactMap { $0.string(.seriesInstanceUID) }), [QueryRetrieveTests.series1A, QueryRetrieveTests.series1B])
        XCTAssertEqual(Set(series.compactMap { $0.string(.modality) }), ["CT"])
    }

    func testDCMTKFindscuCancel() throws {
        try NetTestSupport.requireTool("/usr/bin/findscu")
        let (server, log) = try startQRServer(delayPerMatch: 100_000)
        defer { server.stop() }
        // Seven images match; findscu sends C-CANCEL-FIND-RQ after the first response.
        let (status, out, err) = try NetTestSupport.run("/usr/bin/findscu", [
            "-S", "-v", "-aet", "FINDSCU", "-aec", "QRSCP", "--cancel", "1",
            "-k", "QueryRetrieveLevel=IMAGE", "-k", "PatientID=QRPAT*", "-k", "SOPInstanceUID",
            "127.0.0.1", String(server.port)])
        let text = String(decoding: out, as: UTF8.self) + err
        XCTAssertEqual(status, 0, text)
        for _ in 0..<100 where !log.lines.contains(where: { $0.contains("C-FIND") }) { usleep(10_000) }
        let line = log.lines.first { $0.contains("C-FIND") } ?? ""
        XCTAssertTrue(line.contains("status=0xFE00"), log.lines.joined(separator: "\n"))
        XCTAssertFalse(line.contains("matches=7"), line)
    }

    func testDCMTKMovescuIntoDCMTKStorescp() throws {
        try NetTestSupport.requireTool("/usr/bin/movescu")
        try NetTestSupport.requireTool("/usr/bin/storescp")
        let received = NetTestSupport.temporaryDirectory("qr-storescp")
        let destPort = try NetTestSupport.freePort()
        let scp = try NetTestSupport.spawn("/usr/bin/storescp", ["-aet", "DEST", "+xa", "-od", received, String(destPort)])
        defer { scp.terminate(); scp.waitUntilExit() }
        try NetTestSupport.waitForPort(destPort)
        let (server, log) = try startQRServer(destinations: ["DEST": MoveDestination(host: "127.0.0.1", port: destPort)])
        defer { server.stop() }

        let (status, out, err) = try NetTestSupport.run("/usr/bin/movescu", [
            "-S", "-v", "-aet", "MOVESCU", "-aec", "QRSCP", "-aem", "DEST",
            "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=\(QueryRetrieveTests.study1)",
            "127.0.0.1", String(server.port)])
        let text = String(decoding: out, as: UTF8.self) + err
        XCTAssertEqual(status, 0, text)
        XCTAssertEqual(try receivedInstances(received), Set(study1Instances), text)
        // A pending C-MOVE-RSP after each of the five sub-operations, then the final one.
        XCTAssertEqual(text.components(separatedBy: "(Pending)").count - 1, 5, text)
        XCTAssertTrue(text.contains("(Success)"), text)
        XCTAssertTrue(log.lines.contains { $0.contains("C-MOVE") && $0.contains("completed=5") && $0.contains("status=0x0000") }, log.lines.joined(separator: "\n"))

        // A JPEG 2000 instance goes in its own transfer syntax: its study at IMAGE level.
        let (status2, _, err2) = try NetTestSupport.run("/usr/bin/movescu", [
            "-S", "-aet", "MOVESCU", "-aec", "QRSCP", "-aem", "DEST",
            "-k", "QueryRetrieveLevel=IMAGE", "-k", "StudyInstanceUID=\(jpeg2000.file.studyUID)",
            "-k", "SeriesInstanceUID=\(jpeg2000.file.seriesUID)", "-k", "SOPInstanceUID=\(jpeg2000.sopInstanceUID)",
            "127.0.0.1", String(server.port)])
        XCTAssertEqual(status2, 0, err2)
        let name = try FileManager.default.contentsOfDirectory(atPath: received).first { $0.hasSuffix(jpeg2000.sopInstanceUID) }
        XCTAssertNotNil(name)
        if let name { XCTAssertEqual(try StorableFile(path: received + "/" + name).transferSyntax, jpeg2000.transferSyntax) }
    }

    func testDCMTKGetscuFromOurSCP() throws {
        try NetTestSupport.requireTool("/usr/bin/getscu")
        let (server, log) = try startQRServer()
        defer { server.stop() }
        let out = NetTestSupport.temporaryDirectory("getscu")
        let (status, o, err) = try NetTestSupport.run("/usr/bin/getscu", [
            "-S", "-v", "-aet", "GETSCU", "-aec", "QRSCP", "-od", out,
            "-k", "QueryRetrieveLevel=SERIES", "-k", "StudyInstanceUID=\(QueryRetrieveTests.study1)",
            "-k", "SeriesInstanceUID=\(QueryRetrieveTests.series1A)",
            "127.0.0.1", String(server.port)])
        let text = String(decoding: o, as: UTF8.self) + err
        XCTAssertEqual(status, 0, text)
        XCTAssertEqual(try receivedInstances(out), Set(series1AInstances), text)
        XCTAssertTrue(log.lines.contains { $0.contains("C-GET") && $0.contains("completed=3") && $0.contains("status=0x0000") }, log.lines.joined(separator: "\n"))
    }

    // MARK: our SCU against DCMTK's Q/R SCP

    func testOurSCUAgainstDCMTKQueryRetrieveSCP() throws {
        try NetTestSupport.requireTool("/usr/bin/dcmqrscp")
        try NetTestSupport.requireTool("/usr/bin/dcmqridx")
        let (dest, received) = try startDestination(aeTitle: "OURDEST")
        defer { dest.stop() }
        let base = NetTestSupport.temporaryDirectory("dcmqrscp")
        try FileManager.default.createDirectory(atPath: base + "/db", withIntermediateDirectories: true)
        let port = try NetTestSupport.freePort()
        let config = """
        NetworkTCPPort  = \(port)
        MaxPDUSize      = 16384
        MaxAssociations = 16
        HostTable BEGIN
        ourdest = (OURDEST, 127.0.0.1, \(dest.port))
        HostTable END
        VendorTable BEGIN
        VendorTable END
        AETable BEGIN
        DCMQRSCP  \(base)/db  RW (100, 1024mb) ANY
        AETable END

        """
        try config.write(toFile: base + "/dcmqrscp.cfg", atomically: true, encoding: .utf8)
        let files = (study1Instances + study2Instances).map { archiveFolder + "/\($0).dcm" }
        let (indexed, _, indexErr) = try NetTestSupport.run("/usr/bin/dcmqridx", [base + "/db"] + files)
        XCTAssertEqual(indexed, 0, indexErr)
        // Not --single-process: that mode of DCMTK 3.6.7 crashes after the first association.
        let scp = try NetTestSupport.spawn("/usr/bin/dcmqrscp", ["-c", base + "/dcmqrscp.cfg"])
        defer { scp.terminate(); scp.waitUntilExit() }
        try NetTestSupport.waitForPort(port)

        var request = AssociationRequest(callingAETitle: "OURSCU", calledAETitle: "DCMQRSCP", host: "127.0.0.1", port: port)
        let model = QueryRetrieveModel.studyRoot
        for uid in [model.findSOPClass, model.moveSOPClass, model.getSOPClass] {
            request.propose(uid, transferSyntaxes: AcceptorPolicy.queryRetrieveTransferSyntaxes)
        }
        request.proposeStorageForGet(["1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"])
        let assoc = try request.open(log: TestLogger())

        var studies: Set<String> = []
        XCTAssertEqual(try assoc.find(identifier: identifier("STUDY", [(.patientID, "QRPAT*"), (.studyInstanceUID, "")]),
                                      model: model.findSOPClass) { studies.insert($0.string(.studyInstanceUID) ?? ""); return true }, .success)
        XCTAssertEqual(studies, [QueryRetrieveTests.study1, QueryRetrieveTests.study2])

        var progress: [RetrieveProgress] = []
        let moved = try assoc.move(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study1)]),
                                   model: model.moveSOPClass, destination: "OURDEST") { progress.append($0); return true }
        XCTAssertEqual(moved.status, .success)
        XCTAssertEqual(moved.completed, 5)
        XCTAssertEqual(progress.last?.remaining, 0)
        XCTAssertEqual(try receivedInstances(received), Set(study1Instances))

        let out = NetTestSupport.temporaryDirectory("dcmqrscp-get")
        let got = try assoc.get(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study2)]),
                                model: model.getSOPClass, storage: try FolderStorage(folder: out))
        XCTAssertEqual(got.status, .success)
        XCTAssertEqual(got.completed, 2)
        XCTAssertEqual(try receivedInstances(out), Set(study2Instances))
        try assoc.release()
    }

    // MARK: our SCU against our SCP

    func testOurFindAtEachLevel() throws {
        let (server, _) = try startQRServer()
        defer { server.stop() }
        let assoc = try openSCU(server.port)
        defer { try? assoc.release() }
        var studies: [DataSet] = []
        let status = try assoc.find(identifier: identifier("STUDY", [(.patientID, "QRPAT*"), (.studyInstanceUID, ""), (.patientName, "")]),
                                    model: QueryRetrieveModel.studyRoot.findSOPClass) { studies.append($0); return true }
        XCTAssertEqual(status, .success)
        XCTAssertEqual(Set(studies.compactMap { $0.string(.studyInstanceUID) }), [QueryRetrieveTests.study1, QueryRetrieveTests.study2])

        var images: [String] = []
        XCTAssertEqual(try assoc.find(identifier: identifier("IMAGE", [(.studyInstanceUID, QueryRetrieveTests.study1), (.sopInstanceUID, "")]),
                                      model: QueryRetrieveModel.studyRoot.findSOPClass) { images.append($0.string(.sopInstanceUID) ?? ""); return true },
                       .success)
        XCTAssertEqual(Set(images), Set(study1Instances))

        // UID list matching (PS3.4 C.2.2.2.2) and no match at all.
        var two = 0
        XCTAssertEqual(try assoc.find(identifier: identifier("IMAGE", [(.sopInstanceUID, study1Instances[0] + "\\" + study2Instances[1])]),
                                      model: QueryRetrieveModel.studyRoot.findSOPClass) { _ in two += 1; return true }, .success)
        XCTAssertEqual(two, 2)
        var none = 0
        XCTAssertEqual(try assoc.find(identifier: identifier("STUDY", [(.patientID, "NOBODY")]),
                                      model: QueryRetrieveModel.studyRoot.findSOPClass) { _ in none += 1; return true }, .success)
        XCTAssertEqual(none, 0)

        // PATIENT is no level of the Study Root model (PS3.4 C.6.2.1): A900H.
        XCTAssertEqual(try assoc.find(identifier: identifier("PATIENT", [(.patientID, "")]),
                                      model: QueryRetrieveModel.studyRoot.findSOPClass) { _ in true }, .identifierDoesNotMatchSOPClass)
    }

    func testOurFindPatientRoot() throws {
        let (server, _) = try startQRServer()
        defer { server.stop() }
        let assoc = try openSCU(server.port, model: .patientRoot)
        defer { try? assoc.release() }
        var patients: [String] = []
        XCTAssertEqual(try assoc.find(identifier: identifier("PATIENT", [(.patientID, "QRPAT*")]),
                                      model: QueryRetrieveModel.patientRoot.findSOPClass) { patients.append($0.string(.patientID) ?? ""); return true },
                       .success)
        XCTAssertEqual(Set(patients), ["QRPAT1", "QRPAT2"])
    }

    func testOurFindCancelAfterFirstMatch() throws {
        let (server, _) = try startQRServer(delayPerMatch: 100_000)
        defer { server.stop() }
        let assoc = try openSCU(server.port)
        var matches = 0
        let status = try assoc.find(identifier: identifier("IMAGE", [(.patientID, "QRPAT*"), (.sopInstanceUID, "")]),
                                    model: QueryRetrieveModel.studyRoot.findSOPClass) { _ in matches += 1; return false }
        XCTAssertEqual(status, .cancel)
        XCTAssertEqual(matches, 1)
        // The association goes on: the next query is answered in full.
        var all = 0
        XCTAssertEqual(try assoc.find(identifier: identifier("STUDY", [(.patientID, "QRPAT*")]),
                                      model: QueryRetrieveModel.studyRoot.findSOPClass) { _ in all += 1; return true }, .success)
        XCTAssertEqual(all, 2)
        try assoc.release()
    }

    /// Under TLS the SCP looks for the cancel on the socket beneath (PS3.15 B.1).
    func testOurFindCancelOverTLS() throws {
        let pki = try TLSTests.pkiResult.get()
        let (server, _) = try startQRServer(delayPerMatch: 100_000, tls: TLSContext(
            .server(certificate: pki.serverCert, key: pki.serverKey, trusted: pki.ca, requireClientCertificate: false), isServer: true))
        defer { server.stop() }
        var request = AssociationRequest(callingAETitle: "OURSCU", calledAETitle: "QRSCP", host: "127.0.0.1", port: server.port)
        request.propose(QueryRetrieveModel.studyRoot.findSOPClass, transferSyntaxes: AcceptorPolicy.queryRetrieveTransferSyntaxes)
        request.tls = try TLSContext(.client(trusted: pki.ca), isServer: false)
        let assoc = try request.open(log: TestLogger())
        var matches = 0
        let status = try assoc.find(identifier: identifier("IMAGE", [(.patientID, "QRPAT*"), (.sopInstanceUID, "")]),
                                    model: QueryRetrieveModel.studyRoot.findSOPClass) { _ in matches += 1; return false }
        XCTAssertEqual(status, .cancel)
        XCTAssertEqual(matches, 1)
        try assoc.release()
    }

    func testOurMoveIntoOurStorageSCPWithProgress() throws {
        let (dest, folder) = try startDestination(aeTitle: "OURDEST")
        defer { dest.stop() }
        let (server, _) = try startQRServer(destinations: ["OURDEST": MoveDestination(host: "127.0.0.1", port: dest.port)])
        defer { server.stop() }
        let assoc = try openSCU(server.port)
        defer { try? assoc.release() }
        var progress: [RetrieveProgress] = []
        let result = try assoc.move(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study1)]),
                                    model: QueryRetrieveModel.studyRoot.moveSOPClass, destination: "OURDEST") { progress.append($0); return true }
        XCTAssertEqual(result.status, .success)
        XCTAssertEqual(result.completed, 5)
        XCTAssertEqual(result.failed, 0)
        XCTAssertNil(result.remaining)
        // The files were there before success was said (PS3.4 C.4.2.1.5): one pending per sub-operation.
        XCTAssertEqual(progress.map(\.remaining), [4, 3, 2, 1, 0])
        XCTAssertEqual(progress.map(\.completed), [1, 2, 3, 4, 5])
        XCTAssertEqual(try receivedInstances(folder), Set(study1Instances))
        // Move Originator AE Title / Message ID reach the destination's storage (PS3.4 C.4.2.2.1): the stored files name us.
        let any = try DicomFile.read(path: folder + "/" + FolderStoreOperation.fileName(for: study1Instances[0]), options: .headerOnly)
        XCTAssertEqual(any.meta.string(.sourceApplicationEntityTitle), "QRSCP")

        // An unknown destination: A801H, nothing sent.
        let unknown = try assoc.move(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study1)]),
                                     model: QueryRetrieveModel.studyRoot.moveSOPClass, destination: "NOBODY")
        XCTAssertEqual(unknown.status, .moveDestinationUnknown)
        XCTAssertEqual(unknown.pendingResponses, 0)
    }

    /// A destination with a TLS context gets its sub-association over TLS (PS3.15 B.1): the same
    /// TLS-only destination reached without TLS, or with TLS but without the client certificate it
    /// requires, receives nothing, and every sub-operation is counted failed.
    func testOurMoveToATLSDestination() throws {
        let pki = try TLSTests.pkiResult.get()
        let folder = NetTestSupport.temporaryDirectory("qr-dest-tls")
        let dest = DicomServer(policy: .storageSCP(aeTitle: "TLSDEST"), storage: try FolderStorage(folder: folder, durable: false), log: TestLogger())
        dest.tls = try TLSContext(.server(certificate: pki.serverCert, key: pki.serverKey, trusted: pki.ca, requireClientCertificate: true),
                                  isServer: true)
        try dest.start(host: "127.0.0.1", port: 0)
        defer { dest.stop() }
        let port = dest.port
        let (server, _) = try startQRServer(destinations: [
            "TLSDEST": MoveDestination(host: "127.0.0.1", port: port,
                                       tls: try TLSContext(.client(trusted: pki.ca, certificate: pki.clientCert, key: pki.clientKey), isServer: false)),
            "PLAIN": MoveDestination(host: "127.0.0.1", port: port),
            "NOCERT": MoveDestination(host: "127.0.0.1", port: port, tls: try TLSContext(.client(trusted: pki.ca), isServer: false)),
        ])
        defer { server.stop() }
        let assoc = try openSCU(server.port)
        defer { try? assoc.release() }
        let study = try identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study1)])
        for refused in ["PLAIN", "NOCERT"] {
            let result = try assoc.move(identifier: study, model: QueryRetrieveModel.studyRoot.moveSOPClass, destination: refused)
            XCTAssertEqual(result.status, .refusedOutOfResourcesSubOperations, refused)
            XCTAssertEqual(result.failed, 5, refused)
            XCTAssertEqual(try receivedInstances(folder), [], refused)
        }
        let result = try assoc.move(identifier: study, model: QueryRetrieveModel.studyRoot.moveSOPClass, destination: "TLSDEST")
        XCTAssertEqual(result.status, .success)
        XCTAssertEqual(result.completed, 5)
        XCTAssertEqual(try receivedInstances(folder), Set(study1Instances))
    }

    func testOurMoveWithFailedSubOperations() throws {
        let refused = study1Instances[2]
        let (dest, folder) = try startDestination(aeTitle: "PICKY") { TestStorage(folder: $0, refuse: [refused]) }
        defer { dest.stop() }
        let (server, _) = try startQRServer(destinations: ["PICKY": MoveDestination(host: "127.0.0.1", port: dest.port)])
        defer { server.stop() }
        let assoc = try openSCU(server.port)
        defer { try? assoc.release() }
        let result = try assoc.move(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study1)]),
                                    model: QueryRetrieveModel.studyRoot.moveSOPClass, destination: "PICKY")
        XCTAssertEqual(result.status, .subOperationsCompleteWithFailures)
        XCTAssertEqual(result.completed, 4)
        XCTAssertEqual(result.failed, 1)
        XCTAssertEqual(result.failedSOPInstanceUIDs, [refused])
        XCTAssertEqual(try receivedInstances(folder), Set(study1Instances).subtracting([refused]))

        // A destination that is not listening: every sub-operation fails, A702H.
        let deadPort = try NetTestSupport.freePort()
        server.moveDestinations = StaticMoveDestinations(["GONE": MoveDestination(host: "127.0.0.1", port: deadPort)])
        let gone = try assoc.move(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study2)]),
                                  model: QueryRetrieveModel.studyRoot.moveSOPClass, destination: "GONE")
        XCTAssertEqual(gone.status, .refusedOutOfResourcesSubOperations)
        XCTAssertEqual(gone.failed, 2)
        XCTAssertEqual(Set(gone.failedSOPInstanceUIDs), Set(study2Instances))
    }

    func testOurMoveCancelBetweenSubOperations() throws {
        let (dest, folder) = try startDestination(aeTitle: "SLOW") { TestStorage(folder: $0, delay: 100_000) }
        defer { dest.stop() }
        let (server, _) = try startQRServer(destinations: ["SLOW": MoveDestination(host: "127.0.0.1", port: dest.port)])
        defer { server.stop() }
        let assoc = try openSCU(server.port)
        defer { try? assoc.release() }
        let result = try assoc.move(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study1)]),
                                    model: QueryRetrieveModel.studyRoot.moveSOPClass, destination: "SLOW") { _ in false }
        XCTAssertEqual(result.status, .cancel)
        XCTAssertGreaterThan(result.remaining ?? 0, 0)
        XCTAssertEqual(result.completed + (result.remaining ?? 0), 5)
        XCTAssertEqual(try receivedInstances(folder).count, result.completed)
    }

    func testOurGetIntoFolder() throws {
        let (server, log) = try startQRServer()
        defer { server.stop() }
        let ct = "1.2.840.10008.5.1.4.1.1.2", mr = "1.2.840.10008.5.1.4.1.1.4"
        let assoc = try openSCU(server.port, getStorage: [ct, mr])
        let out = NetTestSupport.temporaryDirectory("qr-get")
        var progress: [RetrieveProgress] = []
        let result = try assoc.get(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study1 + "\\" + QueryRetrieveTests.study2)]),
                                   model: QueryRetrieveModel.studyRoot.getSOPClass, storage: try FolderStorage(folder: out)) { progress.append($0); return true }
        XCTAssertEqual(result.status, .success, log.lines.joined(separator: "\n"))
        XCTAssertEqual(result.completed, 7)
        XCTAssertEqual(progress.count, 7)
        XCTAssertEqual(try receivedInstances(out), Set(study1Instances + study2Instances))
        // Received as sent: the data set of a retrieved file is the archive's.
        let original = try DicomFile.read(path: archiveFolder + "/\(study1Instances[0]).dcm")
        let copy = try DicomFile.read(path: out + "/" + FolderStoreOperation.fileName(for: study1Instances[0]))
        XCTAssertEqual(copy.dataSet.string(.patientID), original.dataSet.string(.patientID))
        XCTAssertEqual(copy.dataSet[.pixelData]?.bytes, original.dataSet[.pixelData]?.bytes)

        // An RT Plan has no context with our SCP role: that sub-operation fails, and only it (B000H).
        let mixed = try assoc.get(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study2 + "\\1.22.333.4.555555.6.7777777777777777777777777777")]),
                                  model: QueryRetrieveModel.studyRoot.getSOPClass, storage: try FolderStorage(folder: out))
        XCTAssertEqual(mixed.status, .subOperationsCompleteWithFailures)
        XCTAssertEqual(mixed.completed, 2)
        XCTAssertEqual(mixed.failedSOPInstanceUIDs, ["1.2.777.777.77.7.7777.7777.20030903150023"])
        try assoc.release()
    }

    func testOurGetCancel() throws {
        let (server, _) = try startQRServer()
        defer { server.stop() }
        let assoc = try openSCU(server.port, getStorage: ["1.2.840.10008.5.1.4.1.1.2"])
        let out = NetTestSupport.temporaryDirectory("qr-get")
        // Slow storage on our side: the cancel reaches the SCP while it waits for a C-STORE-RSP.
        let result = try assoc.get(identifier: identifier("STUDY", [(.studyInstanceUID, QueryRetrieveTests.study1)]),
                                   model: QueryRetrieveModel.studyRoot.getSOPClass,
                                   storage: TestStorage(folder: try FolderStorage(folder: out), delay: 100_000)) { _ in false }
        XCTAssertEqual(result.status, .cancel)
        XCTAssertEqual(result.completed + (result.remaining ?? 0), 5)
        XCTAssertGreaterThan(result.remaining ?? 0, 0)
        XCTAssertEqual(try receivedInstances(out).count, result.completed)
        // The association is still usable after the cancel.
        var n = 0
        XCTAssertEqual(try assoc.find(identifier: identifier("STUDY", [(.patientID, "QRPAT1")]),
                                      model: QueryRetrieveModel.studyRoot.findSOPClass) { _ in n += 1; return true }, .success)
        XCTAssertEqual(n, 1)
        try assoc.release()
    }
}

private extension StorableFile {
    var file: (studyUID: String, seriesUID: String) {
        let ds = (try? DicomFile.read(path: path, options: .headerOnly).dataSet) ?? DataSet()
        return (ds.string(.studyInstanceUID) ?? "", ds.string(.seriesInstanceUID) ?? "")
    }
}
