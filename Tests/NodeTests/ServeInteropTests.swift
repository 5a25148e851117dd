import XCTest
import Foundation
import TestPeers

/// `dicomnode serve` against DCMTK and pynetdicom over loopback: C-STORE in, C-FIND, C-MOVE and
/// C-GET out, restart persistence, duplicates, refused instances, SQL metacharacters in keys.
///
/// About byte identity: DCMTK `storescu` sends the data set it parsed, re-encoded, not the file's
/// bytes (with these files: CT_small and MR_small lose their trailing padding (FFFC,FFFC),
/// waveform_ecg and JPEG2000 shrink as sequences and items get explicit lengths, image_dfl is
/// deflated anew), so what the node stores from storescu is compared with the original element by
/// element (pydicom; `CrashTests` checks byte identity of what pynetdicom sends as is), while
/// everything the node sends out (C-MOVE to `storescp +B`, C-GET to `getscu +B`, both writing what
/// they receive bit for bit) must be byte-identical to what the node stored — unless the peer
/// chose another transfer syntax, in which case the node must have converted it without changing
/// any value (element-by-element equal).
final class ServeInteropTests: ServeTestCase {
    static let plainFiles = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtdose.dcm", "waveform_ecg.dcm"]
    /// Compressed or deflated files need storescu told to propose their transfer syntax.
    static let encodedFiles: [(option: String, file: String)] = [("-xw", "JPEG2000.dcm"), ("-xr", "SC_rgb_rle.dcm"), ("-xd", "image_dfl.dcm")]

    // MARK: push, find, move, get, restart

    func testPushFindMoveGetThenRestartKeepsEverything() throws {
        let pyd = try PeerTools.pydicomTestFiles()
        let gen = folder + "/gen"
        let genInfo = try peerJSON(["gen", gen, "--seed", "interop", "--patient", "Gen^Study", "--pid", "GEN001", "--series", "CT:12,PT:8"]) as? [String: Any]
        let genStudy = try XCTUnwrap(genInfo?["study"] as? String)
        let genFiles = filesUnder(gen).map { gen + "/" + $0 }
        XCTAssertEqual(genFiles.count, 20)
        let plain = Self.plainFiles.map { pyd + "/" + $0 }
        let encoded = Self.encodedFiles.map { (option: $0.option, file: pyd + "/" + $0.file) }
        let originals = genFiles + plain + encoded.map(\.file)
        let attributes = try dump(originals)
        XCTAssertEqual(attributes.count, originals.count)
        let originalBySOP = Dictionary(uniqueKeysWithValues: attributes.map { ($0["SOPInstanceUID"] ?? "", $0["_file"] ?? "") })
        XCTAssertEqual(originalBySOP.count, originals.count, "the test files must have distinct SOP Instance UIDs")
        let expected = ExpectedStudies(attributes)

        let scpOut = folder + "/storescp"
        let (_, scpPort) = try startStorescp(ae: "STORESCP", outputFolder: scpOut)
        let node = try makeNode(options: ["--move-destination", "STORESCP=127.0.0.1:\(scpPort)"])
        try node.start()
        XCTAssertTrue(node.log.contains("info node store opened") && node.log.contains("images=0"), node.log)

        // C-STORE with storescu: one association for the uncompressed files, one per encoded file.
        try storescu(node.port, genFiles + plain)
        for e in encoded { try storescu(node.port, [e.file], options: [e.option]) }

        // What the node stored: every instance, its file, values equal to the original's.
        let index = try readIndex(node.dataFolder)
        XCTAssertEqual(index.counts["images"], originals.count, "images in the index")
        XCTAssertEqual(index.counts["studies"], expected.studies.count, "studies in the index")
        XCTAssertEqual(Set(index.images.map(\.sop)), Set(originalBySOP.keys))
        XCTAssertTrue(incomingDrained(node.dataFolder), "acknowledged files must leave incoming/: \(filesUnder(node.dataFolder + "/incoming"))")
        XCTAssertEqual(filesUnder(node.dataFolder + "/images").count, originals.count, "one file per instance in images/")
        let onDisk = storedFiles(node.dataFolder)
        XCTAssertEqual(Set(onDisk.keys), Set(index.images.map(\.key)), "the files in images/ are exactly the indexed ones")
        let storedBySOP = index.images.reduce(into: [String: (path: String, ts: String)]()) { $0[$1.sop] = (onDisk[$1.key] ?? "missing-\($1.key)", $1.ts) }
        let storedPairs = originalBySOP.sorted { $0.key < $1.key }.compactMap { sop, file in storedBySOP[sop].map { (sop, file, $0.path) } }
        let storedDiffs = try peerJSON(["compare"] + storedPairs.flatMap { [$0.1, $0.2] }) as? [[String]] ?? []
        XCTAssertEqual(storedDiffs.count, storedPairs.count)
        for (pair, diffs) in zip(storedPairs, storedDiffs) {
            XCTAssertEqual(diffs, [], "stored \(pair.0) (\((pair.1 as NSString).lastPathComponent)) differs from the original")
        }

        // C-FIND
        try checkFind(port: node.port, expected: expected, genStudy: genStudy, context: "first run")

        // C-MOVE of every study to storescp: all arrive, identical to what the node stored.
        try movescu(node.port, studies: Array(expected.studies.keys), destination: "STORESCP", expectedCount: originals.count, node: node)
        try checkReceived(in: scpOut, stored: storedBySOP, originals: originalBySOP, expectedSOPs: Set(originalBySOP.keys), what: "C-MOVE")

        // C-GET of the generated study and CT_small's (getscu proposes uncompressed syntaxes only).
        let ctSmall = try XCTUnwrap(attributes.first { ($0["_file"] ?? "").hasSuffix("/CT_small.dcm") })
        let getOut = folder + "/getscu"
        try FileManager.default.createDirectory(atPath: getOut, withIntermediateDirectories: true)
        let getStudies = [genStudy, ctSmall["StudyInstanceUID"] ?? ""]
        let (getStatus, _, getLog) = try PeerTools.run("/usr/bin/getscu", ["-v", "-S", "-aec", node.aeTitle, "+B", "-od", getOut,
                                                                           "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + getStudies.joined(separator: "\\"),
                                                                           "127.0.0.1", String(node.port)], timeout: 120)
        XCTAssertEqual(getStatus, 0, "getscu failed:\n\(getLog.suffix(3000))")
        XCTAssertTrue(getLog.contains("Number of Completed Suboperations : 21"), "getscu did not complete 21 sub-operations:\n\(getLog.suffix(3000))")
        XCTAssertTrue(getLog.contains("Number of Failed Suboperations    : 0"), getLog.suffix(3000).description)
        let getSOPs = Set(attributes.filter { getStudies.contains($0["StudyInstanceUID"] ?? "") }.compactMap { $0["SOPInstanceUID"] })
        try checkReceived(in: getOut, stored: storedBySOP, originals: originalBySOP, expectedSOPs: getSOPs, what: "C-GET")

        // Restart on the same folder: SIGTERM is a clean stop, then everything is still there.
        XCTAssertEqual(node.stop(), 0, "dicomnode serve did not exit 0 on SIGTERM; log:\n\(node.log.suffix(3000))")
        XCTAssertTrue(node.log.contains("info node stopped"), "no 'node stopped' line after SIGTERM:\n\(node.log.suffix(2000))")
        try node.start()
        XCTAssertTrue(node.log.contains("images=\(originals.count) "), "the restarted node does not report \(originals.count) images:\n\(node.log)")
        XCTAssertTrue(node.log.contains("repaired=0"), "a clean stop left something to repair:\n\(node.log)")
        try checkFind(port: node.port, expected: expected, genStudy: genStudy, context: "after restart")
        try FileManager.default.removeItem(atPath: scpOut)
        try FileManager.default.createDirectory(atPath: scpOut, withIntermediateDirectories: true)
        try movescu(node.port, studies: Array(expected.studies.keys), destination: "STORESCP", expectedCount: originals.count, node: node)
        try checkReceived(in: scpOut, stored: storedBySOP, originals: originalBySOP, expectedSOPs: Set(originalBySOP.keys), what: "C-MOVE after restart")
    }

    /// STUDY, SERIES and IMAGE level in both models, counts, ModalitiesInStudy, a wildcard.
    private func checkFind(port: UInt16, expected: ExpectedStudies, genStudy: String, context: String) throws {
        // Study Root, STUDY level, every study.
        let studies = try findscu(port: port, model: "-S", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientName", "PatientID",
                                                              "NumberOfStudyRelatedInstances", "NumberOfStudyRelatedSeries", "ModalitiesInStudy"])
        XCTAssertEqual(Set(studies.compactMap { $0["StudyInstanceUID"] }), Set(expected.studies.keys), "\(context): STUDY level answers")
        XCTAssertEqual(studies.count, expected.studies.count, "\(context): one answer per study")
        for s in studies {
            guard let uid = s["StudyInstanceUID"], let e = expected.studies[uid] else { continue }
            XCTAssertEqual(s["NumberOfStudyRelatedInstances"], String(e.instances), "\(context): NumberOfStudyRelatedInstances of \(uid)")
            XCTAssertEqual(s["NumberOfStudyRelatedSeries"], String(e.series.count), "\(context): NumberOfStudyRelatedSeries of \(uid)")
            XCTAssertEqual(Set((s["ModalitiesInStudy"] ?? "").split(separator: "\\").map(String.init)), e.modalities,
                           "\(context): ModalitiesInStudy of \(uid)")
            XCTAssertEqual(trimmedName(s["PatientName"] ?? ""), trimmedName(e.patientName), "\(context): PatientName of \(uid)")
            XCTAssertEqual(s["PatientID"] ?? "", e.patientID, "\(context): PatientID of \(uid)")
        }
        let gen = try XCTUnwrap(expected.studies[genStudy])
        XCTAssertEqual(gen.instances, 20)
        XCTAssertEqual(gen.modalities, ["CT", "PT"])

        // Wildcard on PatientName, Study Root STUDY level and Patient Root PATIENT level.
        let comp = expected.studies.filter { $0.value.patientName.hasPrefix("Comp") }
        XCTAssertEqual(comp.count, 3, "CT_small, MR_small and JPEG2000 are CompressedSamples^…")
        let compStudies = try findscu(port: port, model: "-S", ["QueryRetrieveLevel=STUDY", "PatientName=Comp*", "StudyInstanceUID"])
        XCTAssertEqual(Set(compStudies.compactMap { $0["StudyInstanceUID"] }), Set(comp.keys), "\(context): Study Root PatientName=Comp* (answers \(compStudies))")
        let compPatients = try findscu(port: port, model: "-P", ["QueryRetrieveLevel=PATIENT", "PatientName=Comp*", "PatientID", "NumberOfPatientRelatedInstances"])
        XCTAssertEqual(Set(compPatients.compactMap { $0["PatientName"] }), Set(comp.values.map(\.patientName)),
                       "\(context): Patient Root PatientName=Comp* (answers \(compPatients))")
        for p in compPatients { XCTAssertEqual(p["NumberOfPatientRelatedInstances"], "1", "\(context): \(p)") }
        let none = try findscu(port: port, model: "-P", ["QueryRetrieveLevel=PATIENT", "PatientName=Nobody*"])
        XCTAssertEqual(none.count, 0, "\(context): PatientName=Nobody* must match nothing: \(none)")

        // Study Root SERIES level of the generated study.
        let series = try findscu(port: port, model: "-S", ["QueryRetrieveLevel=SERIES", "StudyInstanceUID=" + genStudy, "SeriesInstanceUID",
                                                             "Modality", "NumberOfSeriesRelatedInstances"])
        XCTAssertEqual(Set(series.compactMap { $0["SeriesInstanceUID"] }), gen.series, "\(context): SERIES level answers")
        XCTAssertEqual(Dictionary(series.map { ($0["Modality"] ?? "?", $0["NumberOfSeriesRelatedInstances"] ?? "?") }, uniquingKeysWith: { a, b in a + "," + b }),
                       ["CT": "12", "PT": "8"], "\(context): SERIES level modality and counts")

        // IMAGE level: Study Root and Patient Root, the CT series of the generated study.
        let ctSeries = try XCTUnwrap(series.first { $0["Modality"] == "CT" }?["SeriesInstanceUID"])
        let expectedImages = expected.instances.filter { $0["SeriesInstanceUID"] == ctSeries }
        let wanted = Dictionary(uniqueKeysWithValues: expectedImages.map { ($0["SOPInstanceUID"] ?? "", $0["InstanceNumber"] ?? "") })
        XCTAssertEqual(wanted.count, 12)
        for (model, keys) in [("-S", ["QueryRetrieveLevel=IMAGE", "StudyInstanceUID=" + genStudy, "SeriesInstanceUID=" + ctSeries]),
                              ("-P", ["QueryRetrieveLevel=IMAGE", "PatientID=GEN001", "StudyInstanceUID=" + genStudy, "SeriesInstanceUID=" + ctSeries])] {
            let images = try findscu(port: port, model: model, keys + ["SOPInstanceUID", "InstanceNumber", "SOPClassUID"])
            XCTAssertEqual(Dictionary(images.map { ($0["SOPInstanceUID"] ?? "", $0["InstanceNumber"] ?? "") }, uniquingKeysWith: { a, _ in a }), wanted,
                           "\(context): IMAGE level \(model) SOPInstanceUID → InstanceNumber")
            XCTAssertEqual(images.count, 12, "\(context): IMAGE level \(model) answers")
            XCTAssertTrue(images.allSatisfy { $0["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2" }, "\(context): IMAGE level \(model) SOPClassUID")
        }
    }

    /// movescu at STUDY level (Study Root) with the studies as a list of UIDs.
    private func movescu(_ port: UInt16, studies: [String], destination: String, expectedCount: Int, node: NodeProcess) throws {
        let (status, _, log) = try PeerTools.run("/usr/bin/movescu", ["-v", "-S", "-aec", node.aeTitle, "-aem", destination,
                                                                      "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + studies.joined(separator: "\\"),
                                                                      "127.0.0.1", String(port)], timeout: 120)
        XCTAssertEqual(status, 0, "movescu failed:\n\(log.suffix(3000))")
        XCTAssertTrue(log.contains("Received Final Move Response (Success)"), "movescu did not get a final Success:\n\(log.suffix(3000))")
        let line = node.log.split(separator: "\n").last { $0.contains("C-MOVE") && $0.contains("destination=\(destination)") }.map(String.init) ?? ""
        XCTAssertTrue(line.contains("completed=\(expectedCount) failed=0"), "the node's C-MOVE log line: \(line)")
    }

    /// The files a peer wrote (storescp, getscu): exactly `expectedSOPs`, each data set byte-identical
    /// to the stored one in the same transfer syntax, and equal value by value to the original.
    private func checkReceived(in dir: String, stored: [String: (path: String, ts: String)], originals: [String: String], expectedSOPs: Set<String>, what: String) throws {
        let received = try dump(filesUnder(dir).map { dir + "/" + $0 })
        let bySOP = Dictionary(received.map { ($0["SOPInstanceUID"] ?? "", $0["_file"] ?? "") }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(Set(bySOP.keys), expectedSOPs, "\(what): the instances received")
        XCTAssertEqual(received.count, expectedSOPs.count, "\(what): one file per instance")
        var sameSyntax = 0
        var pairs: [(String, String, String)] = []
        for (sop, file) in bySOP.sorted(by: { $0.key < $1.key }) {
            guard let st = stored[sop], let original = originals[sop] else { continue }
            let (storedFile, storedSyntax) = (st.path, st.ts)
            let receivedSyntax = received.first { $0["SOPInstanceUID"] == sop }?["TransferSyntaxUID"]
            if storedSyntax == receivedSyntax {
                sameSyntax += 1
                XCTAssertTrue(try dataSetBytes(ofFile: file) == dataSetBytes(ofFile: storedFile),
                              "\(what): \(sop) (\((original as NSString).lastPathComponent)) is not byte-identical to the stored data set")
            }
            pairs.append((sop, storedFile, file))
            pairs.append((sop, original, file))
        }
        XCTAssertGreaterThanOrEqual(sameSyntax, expectedSOPs.count - 2, "\(what): only the implicit VR files (rtplan, rtdose) may arrive in another transfer syntax")
        let diffs = try peerJSON(["compare"] + pairs.flatMap { [$0.1, $0.2] }) as? [[String]] ?? []
        XCTAssertEqual(diffs.count, pairs.count)
        for (p, d) in zip(pairs, diffs) { XCTAssertEqual(d, [], "\(what): \(p.2) differs from \(p.1)") }
    }

    // MARK: duplicates

    func testResendingTheSameInstancesDoesNotDuplicateThem() throws {
        let gen = folder + "/gen"
        let info = try peerJSON(["gen", gen, "--seed", "dups", "--pid", "DUP001", "--series", "CT:6,MR:4"]) as? [String: Any]
        let study = try XCTUnwrap(info?["study"] as? String)
        let ct = try PeerTools.pydicomTestFiles() + "/CT_small.dcm"
        let all = filesUnder(gen).map { gen + "/" + $0 } + [ct]
        let node = try makeNode()
        try node.start()
        try storescu(node.port, all)
        let before = try readIndex(node.dataFolder)
        XCTAssertEqual(before.counts["images"], 11)
        XCTAssertTrue(incomingDrained(node.dataFolder), "acknowledged files must leave incoming/")
        XCTAssertEqual(filesUnder(node.dataFolder + "/images").count, 11)

        try storescu(node.port, all)    // the default policy (replace) answers Success
        try storescu(node.port, Array(all.prefix(3)))
        let after = try readIndex(node.dataFolder)
        XCTAssertEqual(after.counts, before.counts, "re-sent instances must not add rows at any level")
        XCTAssertEqual(Set(after.images.map(\.sop)), Set(before.images.map(\.sop)))
        XCTAssertTrue(incomingDrained(node.dataFolder), "acknowledged files must leave incoming/")
        let afterIndex = try readIndex(node.dataFolder)   // pending deletions are done by the mover too
        XCTAssertEqual(afterIndex.pending, [], "no file deletion left pending")
        XCTAssertEqual(filesUnder(node.dataFolder + "/images").count, 11, "a replaced copy's old file must be removed: \(filesUnder(node.dataFolder + "/images"))")
        XCTAssertEqual(Set(storedFiles(node.dataFolder).keys), Set(afterIndex.images.map(\.key)), "the files in images/ are exactly the indexed ones")
        let studyAnswer = try findscu(port: node.port, model: "-S", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID=" + study, "NumberOfStudyRelatedInstances"])
        XCTAssertEqual(studyAnswer.map { $0["NumberOfStudyRelatedInstances"] }, ["10"], "C-FIND counts after re-sending")
    }

    func testRejectPolicyRefusesADuplicateAndKeepsTheStoredCopy() throws {
        let gen = folder + "/gen"
        try peer(["gen", gen, "--seed", "reject", "--pid", "REJ001", "--series", "CT:3"])
        let all = filesUnder(gen).map { gen + "/" + $0 }
        let node = try makeNode(options: ["--duplicates", "reject"])
        try node.start()
        try storescu(node.port, all)
        XCTAssertTrue(incomingDrained(node.dataFolder), "acknowledged files must leave incoming/")
        let before = try readIndex(node.dataFolder)
        XCTAssertEqual(before.counts["images"], 3)
        let filesBefore = storedFiles(node.dataFolder)
        let storedBefore = try Dictionary(uniqueKeysWithValues: before.images.map {
            ($0.key, try XCTUnwrap(filesBefore[$0.key].flatMap { FileManager.default.contents(atPath: $0) }, "stored file of \($0.sop)"))
        })

        // storescu: the duplicate gets a failure status, storescu says so and exits non-zero.
        let (status, _, log) = try PeerTools.run("/usr/bin/storescu", ["-v", "-aec", node.aeTitle, "127.0.0.1", String(node.port), all[0]], timeout: 60)
        XCTAssertNotEqual(status, 0, "storescu must report the refused duplicate through its exit status:\n\(log)")
        XCTAssertTrue(log.range(of: #"Received Store Response \((Error|Failure|Refused)"#, options: .regularExpression) != nil,
                      "storescu must log a failure response for the duplicate:\n\(log)")
        XCTAssertFalse(log.contains("Received Store Response (Success)"), log)
        // pynetdicom: the exact status is a failure (PS3.4 B.2.3: A7xx, A9xx, Cxxx; or 0111 Duplicate SOP Instance).
        let pushed = try peer(["push", "127.0.0.1", String(node.port), node.aeTitle, all[1]])
        let st = try XCTUnwrap(statuses(pushed).first, pushed)
        XCTAssertTrue(isFailure(st.status), "a rejected duplicate must get a failure status, got \(String(format: "0x%04X", st.status))")
        XCTAssertTrue(node.log.contains("duplicate"), "the node logs why it refused:\n\(node.log.suffix(2000))")

        let after = try readIndex(node.dataFolder)
        XCTAssertEqual(after.counts, before.counts)
        XCTAssertEqual(Set(after.images.map(\.key)), Set(before.images.map(\.key)), "the stored copies keep their storage keys")
        let filesAfter = storedFiles(node.dataFolder)
        XCTAssertEqual(filesAfter, filesBefore, "the stored files stay where they were")
        for (key, bytes) in storedBefore {
            XCTAssertEqual(filesAfter[key].flatMap { FileManager.default.contents(atPath: $0) }, bytes, "stored copy \(key) changed")
        }
        XCTAssertEqual(filesUnder(node.dataFolder + "/images").count, 3)
        XCTAssertEqual(filesUnder(node.dataFolder + "/incoming"), [], "the refused copy must not stay in incoming/")
    }

    // MARK: refused instances

    func testMismatchedOrGarbageDataSetIsRefusedAndNothingIsStored() throws {
        let bad = folder + "/bad"
        try peer(["bad", bad])
        let node = try makeNode()
        try node.start()
        // One association: the three refusals, then a good instance (the association goes on).
        let out = try peer(["push", "127.0.0.1", String(node.port), node.aeTitle] + filesUnder(bad).map { bad + "/" + $0 })
        let results = statuses(out)
        XCTAssertEqual(results.map { ($0.file as NSString).lastPathComponent },
                       ["1_instance_mismatch.dcm", "2_class_mismatch.dcm", "3_garbage.dcm", "4_good.dcm"], "a response for each, in order:\n\(out)")
        guard results.count == 4 else { return }
        XCTAssertTrue((0xA900...0xA9FF).contains(results[0].status),
                      "data set SOP Instance UID ≠ Affected SOP Instance UID: want A9xx, got \(String(format: "0x%04X", results[0].status))")
        XCTAssertTrue((0xA900...0xA9FF).contains(results[1].status),
                      "data set SOP Class UID ≠ Affected SOP Class UID: want A9xx, got \(String(format: "0x%04X", results[1].status))")
        XCTAssertTrue(isFailure(results[2].status), "a truncated data set must be refused, got \(String(format: "0x%04X", results[2].status))")
        XCTAssertEqual(results[3].status, 0, "the association must go on after refusals")

        let index = try readIndex(node.dataFolder)
        XCTAssertEqual(index.images.map(\.sop), [results[3].sop], "only the good instance is indexed")
        XCTAssertEqual(index.counts["patients"], 1, "no patient row for the refused instances")

        XCTAssertTrue(incomingDrained(node.dataFolder), "refused data must not stay in incoming/: \(filesUnder(node.dataFolder + "/incoming"))")
        XCTAssertEqual(filesUnder(node.dataFolder + "/images").count, 1, "only the good instance has a file: \(filesUnder(node.dataFolder + "/images"))")
        XCTAssertEqual(node.log.components(separatedBy: "C-STORE refused").count - 1, 3, "one log line per refusal:\n\(node.log)")
    }

    // MARK: SQL metacharacters

    func testFindKeysWithSQLMetacharactersReturnOnlyTrueMatches() throws {
        let pats = folder + "/patients"
        let bobby = "Robert'); DROP TABLE patients;--^Bobby"
        try peer(["patients", pats, "O'Brien^Pat|OB1", "O'Brien^Sam|OB2", "OXBrien^Max|OB3", "OBrien^Ned|OB4", "Smith^John|SM1",
                  bobby + "|RB1", "100%^Percent|PC1"])
        let node = try makeNode()
        try node.start()
        let pushed = statuses(try peer(["push", "127.0.0.1", String(node.port), node.aeTitle, pats]))
        XCTAssertEqual(pushed.count, 7)
        XCTAssertTrue(pushed.allSatisfy { $0.status == 0 }, "\(pushed)")

        // (keys, model, level, the names that truly match, why)
        let cases: [([String], String, String, Set<String>, String)] = [
            (["PatientName=O'Brien*"], "patient", "PATIENT", ["O'Brien^Pat", "O'Brien^Sam"], "O'Brien* matches the two O'Briens only"),
            (["PatientName=O'Brien^Pat"], "patient", "PATIENT", ["O'Brien^Pat"], "an exact name with a quote"),
            (["PatientName=x' OR '1'='1"], "patient", "PATIENT", [], "a classic injection matches nothing"),
            (["PatientName=*' OR '1'='1"], "patient", "PATIENT", [], "an injection after a wildcard matches nothing"),
            (["PatientName=O_Brien*"], "patient", "PATIENT", [], "_ is not a DICOM wildcard (it is SQL LIKE's)"),
            (["PatientName=O%"], "patient", "PATIENT", [], "% is not a DICOM wildcard (it is SQL LIKE's)"),
            (["PatientName=100%*"], "patient", "PATIENT", ["100%^Percent"], "a literal % in a name, then a wildcard"),
            (["PatientName=O?Brien^Pat"], "patient", "PATIENT", ["O'Brien^Pat"], "? matches the quote as one character"),
            (["PatientName=" + bobby], "patient", "PATIENT", [bobby], "a name that is an SQL statement matches itself"),
            (["PatientName=*", "PatientID=OB1' OR '1'='1"], "patient", "PATIENT", [], "an injection in PatientID"),
            (["PatientName=O'Brien^Sam"], "study", "STUDY", ["O'Brien^Sam"], "Study Root with a quote"),
        ]
        var args = ["find", "127.0.0.1", String(node.port), node.aeTitle]
        for (i, c) in cases.enumerated() {
            let withID = c.0.contains { $0.hasPrefix("PatientID=") } ? c.0 : c.0 + ["PatientID="]
            args += (i > 0 ? ["--"] : []) + [c.1, c.2] + withID
        }
        let results = try peerJSON(args) as? [[String: Any]] ?? []
        XCTAssertEqual(results.count, cases.count, "one result per C-FIND")
        for (c, r) in zip(cases, results) {
            XCTAssertEqual(r["status"] as? Int, 0, "C-FIND \(c.0): final status \(r)")
            let names = Set((r["matches"] as? [[String: String]] ?? []).compactMap { $0["PatientName"] })
            XCTAssertEqual(names, c.3, "C-FIND \(c.0): \(c.4)")
        }

        let index = try readIndex(node.dataFolder)
        XCTAssertEqual(index.counts["patients"], 7, "the tables are intact after the queries")
        XCTAssertEqual(index.counts["images"], 7)
    }

    // MARK: helpers

    /// storescu -v of `files` over one association; every file must get a Success response.
    private func storescu(_ port: UInt16, _ files: [String], options: [String] = []) throws {
        let (status, _, log) = try PeerTools.run("/usr/bin/storescu", ["-v"] + options + ["-aec", "DICOMNODE", "127.0.0.1", String(port)] + files, timeout: 120)
        let successes = log.components(separatedBy: "Received Store Response (Success)").count - 1
        XCTAssertEqual(status, 0, "storescu \(options) exited \(status):\n\(log.suffix(3000))")
        XCTAssertEqual(successes, files.count, "storescu \(options): Success responses for \(files.count) files:\n\(log.suffix(3000))")
    }

    private func statuses(_ pushOutput: String) -> [(sop: String, status: Int, file: String)] {
        pushOutput.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", maxSplits: 3).map(String.init)
            guard f.count == 4, f[0] == "ACK", let s = Int(f[2].dropFirst(2), radix: 16) else { return nil }
            return (f[1], s, f[3])
        }
    }

    private func isFailure(_ s: Int) -> Bool {
        (0xA700...0xA7FF).contains(s) || (0xA900...0xA9FF).contains(s) || (0xC000...0xCFFF).contains(s) || (0x0100...0x01FF).contains(s) || (0x0200...0x02FF).contains(s)
    }

    private func trimmedName(_ s: String) -> String {
        var t = Substring(s)
        while t.hasSuffix("^") || t.hasSuffix(" ") { t = t.dropLast() }
        return String(t)
    }
}

/// What the originals say about their studies, for the C-FIND checks.
struct ExpectedStudies {
    struct Study {
        var patientName = "", patientID = "", instances = 0
        var series = Set<String>(), modalities = Set<String>()
    }
    var studies: [String: Study] = [:]
    let instances: [[String: String]]

    init(_ attributes: [[String: String]]) {
        instances = attributes
        for a in attributes {
            let uid = a["StudyInstanceUID"] ?? ""
            var s = studies[uid] ?? Study()
            s.patientName = a["PatientName"] ?? ""
            s.patientID = a["PatientID"] ?? ""
            s.instances += 1
            if let se = a["SeriesInstanceUID"] { s.series.insert(se) }
            if let m = a["Modality"], !m.isEmpty { s.modalities.insert(m) }
            studies[uid] = s
        }
    }
}
