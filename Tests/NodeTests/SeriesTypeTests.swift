import XCTest
import Foundation
import Codec
import TestPeers
@testable import Node

/// pydicom's test files, looked up once (a python3 start per test adds seconds).
let cachedPydicomTestFiles = Result { try PeerTools.pydicomTestFiles() }

/// Waits (as a route polling `seriestypeupdatestatus` would) until no relabelling runs.
func waitForSeriesTypeUpdate(_ service: SeriesTypeService, seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line) {
    let deadline = Date().addingTimeInterval(seconds)
    while service.updateStatus().running {
        guard Date() < deadline else { XCTFail("the relabelling did not finish in \(seconds) s", file: file, line: line); return }
        usleep(5_000)
    }
}

/// The stored copy of an image, parsed.
func storedDataSet(_ ingest: Ingest, imageId: Int64) throws -> DicomFile {
    ingest.settle()
    let image = try XCTUnwrap(try ingest.index.storedImage(id: imageId))
    return try DicomFile.read(path: try XCTUnwrap(ingest.store.readablePath(forKey: image.storageKey)))
}

final class SeriesTypeTests: XCTestCase {
    var folder = ""
    var ingest: Ingest!
    var types: SeriesTypeService!
    var files = ""

    override func setUpWithError() throws {
        folder = makeTemporaryFolder("seriestypes")
        ingest = try makeIngest(folder)
        types = SeriesTypeService(index: ingest.index, store: ingest.store, log: ingest.log)
        ingest.add(observer: types)
        files = try cachedPydicomTestFiles.get()
    }

    override func tearDown() {
        types?.stop()
        ingest?.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    func store(_ name: String) throws -> Ingest.Result {
        try ingest.store(path: files + "/" + name, source: Source(type: .user, name: "admin", id: 1))
    }

    /// Blocks the relabelling queue until the returned semaphore is signalled.
    func holdWorker() -> DispatchSemaphore {
        let gate = DispatchSemaphore(value: 0)
        types.worker.async { gate.wait() }
        return gate
    }

    func typeNames(_ seriesId: Int64) throws -> [String] { try types.seriesTypes(seriesId: seriesId).map(\.name).sorted() }

    /// A type with one rule made of `conditions` (tag path text, values).
    @discardableResult
    func addType(_ name: String, _ conditions: [(String, String)]) throws -> (SeriesType, SeriesTypeRule) {
        let type = try types.addSeriesType(name: name)
        let rule = try types.addRule(seriesTypeId: type.id)
        for (path, values) in conditions { _ = try types.addAttribute(ruleId: rule.id, path: try TagPath(parsing: path), values: values) }
        return (type, rule)
    }

    func testRulesLabelTheRightSeries() throws {
        try addType("CT", [("Modality", "CT")])
        try addType("MR", [("(0008,0060)", "MR")])
        // Multi-valued: the values joined with "," must equal exactly.
        try addType("Axial", [("ImageType", "ORIGINAL,PRIMARY,AXIAL")])
        try addType("Original", [("ImageType", "ORIGINAL")])
        // Through a sequence: CT_small's OtherPatientIDsSequence holds ABCD1234 then 1234ABCD.
        try addType("FirstOtherID", [("OtherPatientIDsSequence[0].PatientID", "ABCD1234")])
        try addType("SecondItemAsFirst", [("OtherPatientIDsSequence[0].PatientID", "1234ABCD")])
        try addType("AnyOtherID", [("(0010,1002)[*].(0010,0020)", "1234ABCD")])
        // Slicebox's form: decimal sequence tags (first item) above `tag`.
        let (sb, _) = try addType("SliceboxPath", [])
        let sbRule = try types.rules(seriesTypeId: sb.id)[0]
        let attribute = try types.addAttribute(ruleId: sbRule.id, tag: 0x0010_0020, name: nil, tagPath: "1052674", namePath: nil, values: "ABCD1234")
        XCTAssertEqual(attribute.tagPath, "(0010,1002)[0].(0010,0020)")
        XCTAssertEqual(attribute.namePath, "OtherPatientIDsSequence[0].PatientID")
        XCTAssertEqual(attribute.name, "PatientID")
        XCTAssertEqual([attribute.group, attribute.element], [0x0010, 0x0020])
        waitForSeriesTypeUpdate(types)

        let ct = try store("CT_small.dcm")
        let mr = try store("MR_small.dcm")
        ingest.drainEvents()
        XCTAssertEqual(try typeNames(ct.outcome.seriesId), ["AnyOtherID", "Axial", "CT", "FirstOtherID", "SliceboxPath"])
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), ["MR"])
        XCTAssertEqual(try types.attributes(ruleId: sbRule.id), [attribute])

        let both = try types.seriesTypes(seriesIds: [mr.outcome.seriesId, ct.outcome.seriesId, 999])
        XCTAssertEqual(both.filter { $0.seriesid == mr.outcome.seriesId }.map(\.seriestype.name), ["MR"])
        XCTAssertEqual(both.filter { $0.seriesid == ct.outcome.seriesId }.count, 5)
    }

    func testSliceboxPathAttributeMatchesOnlyWhereTheSequenceHasIt() throws {
        // The rule with the decimal path labels CT (which has the sequence) and not MR (which has none).
        let type = try types.addSeriesType(name: "sb")
        let rule = try types.addRule(seriesTypeId: type.id)
        _ = try types.addAttribute(ruleId: rule.id, tag: nil, name: "PatientID", tagPath: "1052674", namePath: nil, values: "ABCD1234")
        waitForSeriesTypeUpdate(types)
        let ct = try store("CT_small.dcm")
        let mr = try store("MR_small.dcm")
        ingest.drainEvents()
        XCTAssertEqual(try typeNames(ct.outcome.seriesId), ["sb"])
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), [])
    }

    func testRuleWithTwoAttributesNeedsBoth() throws {
        try addType("CT of P1", [("Modality", "CT"), ("PatientID", "P1")])
        waitForSeriesTypeUpdate(types)
        let a = try ingest.store(bytes: try makeInstance(patientID: "P1", study: "9.1", series: "9.1.1", sop: "9.1.1.1", modality: "CT"), source: .unknown)
        let b = try ingest.store(bytes: try makeInstance(patientID: "P2", study: "9.2", series: "9.2.1", sop: "9.2.1.1", modality: "CT"), source: .unknown)
        let c = try ingest.store(bytes: try makeInstance(patientID: "P1", study: "9.1", series: "9.1.2", sop: "9.1.2.1", modality: "MR"), source: .unknown)
        ingest.drainEvents()
        XCTAssertEqual(try typeNames(a.outcome.seriesId), ["CT of P1"])
        XCTAssertEqual(try typeNames(b.outcome.seriesId), [])
        XCTAssertEqual(try typeNames(c.outcome.seriesId), [])

        // A second rule of the same type: ANY rule labels.
        let type = try XCTUnwrap(try types.seriesTypes().first)
        let rule2 = try types.addRule(seriesTypeId: type.id)
        _ = try types.addAttribute(ruleId: rule2.id, path: TagPath(.modality), values: "MR")
        waitForSeriesTypeUpdate(types)
        XCTAssertEqual(try typeNames(c.outcome.seriesId), ["CT of P1"])
        XCTAssertEqual(try typeNames(b.outcome.seriesId), [])

        // A rule without attributes matches every series.
        _ = try types.addRule(seriesTypeId: type.id)
        waitForSeriesTypeUpdate(types)
        XCTAssertEqual(try typeNames(b.outcome.seriesId), ["CT of P1"])
    }

    func testChangingRulesRelabelsExistingSeriesInTheBackground() throws {
        types.batchSize = 7  // several transactions per pass
        let ct = try store("CT_small.dcm")
        let mr = try store("MR_small.dcm")
        var generated: [Int64] = []
        for i in 0..<24 {
            generated.append(try ingest.store(bytes: try makeInstance(patientID: "G\(i)", study: "7.\(i)", series: "7.\(i).1", sop: "7.\(i).1.1",
                                                                      modality: i % 2 == 0 ? "CT" : "MR"), source: .unknown).outcome.seriesId)
        }
        ingest.drainEvents()
        XCTAssertFalse(types.updateStatus().running)
        XCTAssertEqual(try typeNames(ct.outcome.seriesId), [])

        // The change returns at once; the status says running until every series was evaluated
        // (the worker is held back a moment so the status is seen before the pass can end).
        var gate = holdWorker()
        let (type, rule) = try addType("Scanner", [])
        XCTAssertTrue(types.updateStatus().running)
        gate.signal()
        waitForSeriesTypeUpdate(types)
        XCTAssertFalse(types.updateStatus().running)
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), ["Scanner"], "a rule without attributes labels every series")

        gate = holdWorker()
        let attribute = try types.addAttribute(ruleId: rule.id, path: TagPath(.modality), values: "CT")
        XCTAssertTrue(types.updateStatus().running)
        XCTAssertEqual(try typeNames(ct.outcome.seriesId), ["Scanner"], "labels change only when the pass gets to them")
        gate.signal()
        waitForSeriesTypeUpdate(types)
        XCTAssertEqual(try typeNames(ct.outcome.seriesId), ["Scanner"])
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), [])
        for (i, s) in generated.enumerated() { XCTAssertEqual(try typeNames(s), i % 2 == 0 ? ["Scanner"] : [], "series \(i)") }

        // Swap the condition: CT → MR.
        try types.removeAttribute(ruleId: rule.id, attributeId: attribute.id)
        _ = try types.addAttribute(ruleId: rule.id, path: TagPath(.modality), values: "MR")
        waitForSeriesTypeUpdate(types)
        XCTAssertEqual(try typeNames(ct.outcome.seriesId), [])
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), ["Scanner"])
        for (i, s) in generated.enumerated() { XCTAssertEqual(try typeNames(s), i % 2 == 1 ? ["Scanner"] : [], "series \(i)") }

        // Removing the rule takes the labels away.
        try types.removeRule(id: rule.id)
        waitForSeriesTypeUpdate(types)
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), [])
        XCTAssertEqual(try types.rules(seriesTypeId: type.id), [])
    }

    func testChangesDuringARelabellingAreNotLost() throws {
        types.batchSize = 3
        var series: [(Int64, String)] = []
        for i in 0..<30 {
            let modality = ["CT", "MR", "US"][i % 3]
            series.append((try ingest.store(bytes: try makeInstance(patientID: "Q\(i)", study: "8.\(i)", series: "8.\(i).1", sop: "8.\(i).1.1",
                                                                    modality: modality), source: .unknown).outcome.seriesId, modality))
        }
        ingest.drainEvents()
        let (_, rule) = try addType("T", [("Modality", "CT")])
        // Changes in quick succession, most while a pass runs: the labels follow the last one.
        var last = try types.attributes(ruleId: rule.id)[0]
        for modality in ["MR", "US", "CT", "MR", "US"] {
            try types.removeAttribute(ruleId: rule.id, attributeId: last.id)
            last = try types.addAttribute(ruleId: rule.id, path: TagPath(.modality), values: modality)
        }
        waitForSeriesTypeUpdate(types)
        for (id, modality) in series { XCTAssertEqual(try typeNames(id), modality == "US" ? ["T"] : [], "series \(id) \(modality)") }
        XCTAssertEqual(try ingest.index.db.read { try $0.scalar("SELECT pending FROM series_type_update") }, 0)
    }

    func testAPendingRelabellingResumesAtStart() throws {
        let ct = try store("CT_small.dcm")
        ingest.drainEvents()
        // A node stopped before its relabelling ran: the change is committed and marked pending.
        types.stop()
        try addType("CT", [("Modality", "CT")])
        XCTAssertFalse(types.updateStatus().running)
        XCTAssertEqual(try typeNames(ct.outcome.seriesId), [])
        XCTAssertEqual(try ingest.index.db.read { try $0.scalar("SELECT pending FROM series_type_update") }, 1)

        let restarted = SeriesTypeService(index: ingest.index, store: ingest.store, log: ingest.log)
        defer { restarted.stop() }
        try restarted.start()
        waitForSeriesTypeUpdate(restarted)
        XCTAssertEqual(try restarted.seriesTypes(seriesId: ct.outcome.seriesId).map(\.name), ["CT"])
        XCTAssertEqual(try ingest.index.db.read { try $0.scalar("SELECT pending FROM series_type_update") }, 0)
    }

    func testLabelsSetByHandSurviveEvaluation() throws {
        let (ctType, _) = try addType("CT", [("Modality", "CT")])
        let reviewed = try types.addSeriesType(name: "Reviewed")
        waitForSeriesTypeUpdate(types)
        let mr = try store("MR_small.dcm")
        ingest.drainEvents()
        try types.addSeriesTypeToSeries(seriesTypeId: reviewed.id, seriesId: mr.outcome.seriesId)
        try types.addSeriesTypeToSeries(seriesTypeId: reviewed.id, seriesId: mr.outcome.seriesId)  // twice: one label
        try types.addSeriesTypeToSeries(seriesTypeId: ctType.id, seriesId: mr.outcome.seriesId)
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), ["CT", "Reviewed"])
        try types.updateAllSeries()
        waitForSeriesTypeUpdate(types)
        // The same image again (replaced): evaluated again; hand-set labels stay.
        _ = try store("MR_small.dcm")
        ingest.drainEvents()
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), ["CT", "Reviewed"])

        try types.removeSeriesTypeFromSeries(seriesTypeId: ctType.id, seriesId: mr.outcome.seriesId)
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), ["Reviewed"])
        try types.removeAllSeriesTypes(seriesId: mr.outcome.seriesId)
        XCTAssertEqual(try typeNames(mr.outcome.seriesId), [])

        XCTAssertThrowsError(try types.addSeriesTypeToSeries(seriesTypeId: reviewed.id, seriesId: 4242)) { XCTAssertEqual("\($0)", "not found: series 4242") }
        XCTAssertThrowsError(try types.addSeriesTypeToSeries(seriesTypeId: 4242, seriesId: mr.outcome.seriesId)) {
            XCTAssertEqual("\($0)", "not found: series type 4242")
        }
        XCTAssertThrowsError(try types.seriesTypes(seriesId: 4242)) { XCTAssertEqual("\($0)", "not found: series 4242") }

        // Deleting the series' images drops its labels with it.
        try types.addSeriesTypeToSeries(seriesTypeId: reviewed.id, seriesId: mr.outcome.seriesId)
        _ = try ingest.delete(imageIds: [mr.outcome.imageId])
        XCTAssertEqual(try ingest.index.db.read { try $0.scalar("SELECT count(*) FROM series_series_types") }, 0)
    }

    func testTypesCrudAndBadInput() throws {
        let a = try types.addSeriesType(name: "  Head CT ")
        XCTAssertEqual(a.name, "Head CT")
        XCTAssertThrowsError(try types.addSeriesType(name: "Head CT")) { XCTAssertEqual("\($0)", "a series type named 'Head CT' already exists") }
        XCTAssertThrowsError(try types.addSeriesType(name: " ")) { XCTAssertEqual("\($0)", "a series type needs a name") }
        let b = try types.addSeriesType(name: "Chest")
        XCTAssertThrowsError(try types.updateSeriesType(id: b.id, name: "Head CT")) { XCTAssertEqual("\($0)", "a series type named 'Head CT' already exists") }
        XCTAssertEqual(try types.updateSeriesType(id: b.id, name: "Thorax"), SeriesType(id: b.id, name: "Thorax"))
        XCTAssertThrowsError(try types.updateSeriesType(id: 999, name: "x")) { XCTAssertEqual("\($0)", "not found: series type 999") }
        XCTAssertEqual(try types.seriesTypes().map(\.name), ["Head CT", "Thorax"])
        XCTAssertEqual(try types.seriesTypes(startIndex: 1, count: 1).map(\.name), ["Thorax"])
        XCTAssertThrowsError(try types.seriesTypes(startIndex: -1)) { XCTAssertEqual("\($0)", "startIndex and count must not be negative") }

        XCTAssertThrowsError(try types.addRule(seriesTypeId: 999)) { XCTAssertEqual("\($0)", "not found: series type 999") }
        XCTAssertThrowsError(try types.rules(seriesTypeId: 999)) { XCTAssertEqual("\($0)", "not found: series type 999") }
        let rule = try types.addRule(seriesTypeId: a.id)
        XCTAssertThrowsError(try types.attributes(ruleId: 999)) { XCTAssertEqual("\($0)", "not found: series type rule 999") }
        XCTAssertThrowsError(try types.addAttribute(ruleId: 999, path: TagPath(.modality), values: "CT")) {
            XCTAssertEqual("\($0)", "not found: series type rule 999")
        }
        func refused(_ tag: Int?, _ name: String?, _ tagPath: String?, _ message: String, line: UInt = #line) {
            XCTAssertThrowsError(try types.addAttribute(ruleId: rule.id, tag: tag, name: name, tagPath: tagPath, namePath: nil, values: "x"), line: line) {
                XCTAssertEqual("\($0)", message, line: line)
            }
        }
        refused(nil, nil, nil, "a rule attribute needs a tag, name, tagPath or namePath")
        refused(nil, "NoSuchKeyword", nil, "'NoSuchKeyword' is not a DICOM keyword or tag")
        refused(0x0008_0060, "PatientID", nil, "tag (0008,0060) and name 'PatientID' name different elements")
        refused(0x0008_0060, nil, "OtherPatientIDsSequence[0].PatientID", "tag path 'OtherPatientIDsSequence[0].PatientID' ends in (0010,0020), not in the attribute's element (0008,0060)")
        refused(nil, nil, "(0009,xxxx)", "tag path '(0009,xxxx)': a rule compares one element; x wildcards in tags are not allowed")
        refused(nil, nil, "1052674", "a tagPath of sequence tags needs the element's tag or name")
        refused(nil, nil, "OtherPatientIDsSequence.PatientID",
                "invalid tag path 'OtherPatientIDsSequence.PatientID': 'OtherPatientIDsSequence' is followed by a step but names no item ([n] or [*])")
        refused(-5, nil, nil, "tag -5 is not a DICOM tag (group << 16 | element)")
        XCTAssertEqual(try types.attributes(ruleId: rule.id), [])

        // Removing a type takes its rules with it; unknown ids are not errors.
        try types.removeSeriesType(id: a.id)
        try types.removeSeriesType(id: 12345)
        try types.removeRule(id: 12345)
        XCTAssertEqual(try types.seriesTypes().map(\.name), ["Thorax"])
        XCTAssertEqual(try ingest.index.db.read { try $0.scalar("SELECT count(*) FROM series_type_rules") }, 0)
        waitForSeriesTypeUpdate(types)
    }
}

final class SeriesTagTests: XCTestCase {
    var folder = ""
    var ingest: Ingest!
    var tags: SeriesTagService!

    override func setUpWithError() throws {
        folder = makeTemporaryFolder("seriestags")
        ingest = try makeIngest(folder)
        tags = SeriesTagService(index: ingest.index)
    }

    override func tearDown() {
        ingest?.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    func seriesId(_ uid: String) throws -> Int64 {
        var q = MetadataQuery()
        q.properties = [.init(name: "seriesInstanceUID", op: "=", value: uid)]
        return try XCTUnwrap(try ingest.index.series(q).first).id
    }

    func testTagsOnSeries() throws {
        try seedThreePatients(ingest, thirdPatient: "Charlie^C")
        let s1 = try seriesId("1.1.1"), s2 = try seriesId("2.1.1")
        let red = try tags.addSeriesTag(name: "red", seriesId: s1)
        XCTAssertEqual(try tags.addSeriesTag(name: "red", seriesId: s2), red, "the tag is found by name")
        XCTAssertEqual(try tags.addSeriesTag(name: "red", seriesId: s2), red, "tagging twice changes nothing")
        let blue = try tags.addSeriesTag(name: "blue", seriesId: s1)
        XCTAssertEqual(try tags.seriesTags(seriesId: s1).map(\.name), ["blue", "red"])
        XCTAssertEqual(try tags.seriesTags(seriesId: s2), [red])
        XCTAssertThrowsError(try tags.addSeriesTag(name: "red", seriesId: 4242)) { XCTAssertEqual("\($0)", "not found: series 4242") }
        XCTAssertThrowsError(try tags.seriesTags(seriesId: 4242)) { XCTAssertEqual("\($0)", "not found: series 4242") }

        try tags.removeSeriesTag(id: red.id, seriesId: s1)
        XCTAssertEqual(try tags.seriesTags(seriesId: s1), [blue])
        XCTAssertEqual(try tags.seriesTag(id: red.id), red, "unlinking keeps the tag")

        // Renaming keeps the links; deleting removes them.
        XCTAssertEqual(try tags.updateSeriesTag(id: red.id, name: "crimson").name, "crimson")
        XCTAssertEqual(try tags.seriesTags(seriesId: s2).map(\.name), ["crimson"])
        XCTAssertThrowsError(try tags.updateSeriesTag(id: red.id, name: "blue")) { XCTAssertEqual("\($0)", "a series tag named 'blue' already exists") }
        XCTAssertThrowsError(try tags.updateSeriesTag(id: 999, name: "x")) { XCTAssertEqual("\($0)", "not found: series tag 999") }
        try tags.deleteSeriesTag(id: red.id)
        XCTAssertEqual(try tags.seriesTags(seriesId: s2), [])

        // The tag outlives its series.
        let image = try XCTUnwrap(try ingest.index.images({ var q = MetadataQuery(); q.properties = [.init(name: "seriesId", op: "=", value: "\(s1)")]; return q }()).first)
        _ = try ingest.delete(imageIds: [image.id])
        XCTAssertEqual(try tags.seriesTag(name: "blue"), blue)
        XCTAssertEqual(try ingest.index.db.read { try $0.scalar("SELECT count(*) FROM series_series_tags") }, 0)
    }

    func testListCreateAndBadInput() throws {
        for name in ["beta", "Alpha", "gamma_1", "gamma%2"] { _ = try tags.createSeriesTag(name: name) }
        XCTAssertThrowsError(try tags.createSeriesTag(name: "beta")) { XCTAssertEqual("\($0)", "a series tag named 'beta' already exists") }
        XCTAssertThrowsError(try tags.createSeriesTag(name: "  ")) { XCTAssertEqual("\($0)", "a series tag needs a name") }
        XCTAssertEqual(try tags.seriesTags().map(\.name), ["beta", "Alpha", "gamma_1", "gamma%2"])
        XCTAssertEqual(try tags.seriesTags(orderBy: "name").map(\.name), ["Alpha", "beta", "gamma%2", "gamma_1"])
        XCTAssertEqual(try tags.seriesTags(orderBy: "name", ascending: false, filter: "GAMMA").map(\.name), ["gamma_1", "gamma%2"])
        XCTAssertEqual(try tags.seriesTags(filter: "a_").map(\.name), ["gamma_1"], "_ is a literal character")
        XCTAssertEqual(try tags.seriesTags(filter: "%").map(\.name), ["gamma%2"], "% is a literal character")
        XCTAssertEqual(try tags.seriesTags(startIndex: 1, count: 2).map(\.name), ["Alpha", "gamma_1"])
        XCTAssertThrowsError(try tags.seriesTags(orderBy: "name; DROP TABLE series_tags")) {
            XCTAssertEqual("\($0)", "Property name; DROP TABLE series_tags does not exist")
        }
        XCTAssertThrowsError(try tags.seriesTags(count: -1)) { XCTAssertEqual("\($0)", "startIndex and count must not be negative") }
    }
}

/// Seed 003 `query.filters.seriesTypeIds` / `seriesTagIds` in the metadata queries.
final class SeriesFilterQueryTests: XCTestCase {
    var folder = ""
    var ingest: Ingest!
    var types: SeriesTypeService!
    var tags: SeriesTagService!

    override func setUpWithError() throws {
        folder = makeTemporaryFolder("seriesfilter")
        ingest = try makeIngest(folder)
        types = SeriesTypeService(index: ingest.index, store: ingest.store, log: ingest.log)
        ingest.add(observer: types)
        tags = SeriesTagService(index: ingest.index)
    }

    override func tearDown() {
        types?.stop()
        ingest?.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    func testQueriesFilterBySeriesTypeAndSeriesTag() throws {
        // Series: 1.1.1 CT (P1), 2.1.1 MR (P2), 2.2.1 CT (P2), 2.2.2 MR (P2), 3.1.1 US (P3); sources scp:7 for the first two.
        try seedThreePatients(ingest, thirdPatient: "Charlie^C", perSeries: 2) { i in Source(type: i < 2 ? .scp : .user, name: "s", id: i < 2 ? 7 : 1) }
        ingest.drainEvents()
        let mrType = try types.addSeriesType(name: "MR")
        _ = try types.addAttribute(ruleId: try types.addRule(seriesTypeId: mrType.id).id, path: TagPath(.modality), values: "MR")
        let usType = try types.addSeriesType(name: "US")
        _ = try types.addAttribute(ruleId: try types.addRule(seriesTypeId: usType.id).id, path: TagPath(.modality), values: "US")
        waitForSeriesTypeUpdate(types)

        func q(types: [Int64] = [], tags: [Int64] = [], sources: [(SourceType, Int64)] = []) -> MetadataQuery {
            var m = MetadataQuery()
            m.count = 100
            m.seriesTypeIds = types
            m.seriesTagIds = tags
            m.sources = sources.map { (type: $0.0, id: $0.1) }
            return m
        }
        let index = ingest.index
        XCTAssertEqual(try index.series(q(types: [mrType.id])).map(\.seriesInstanceUID), ["2.1.1", "2.2.2"])
        XCTAssertEqual(try index.series(q(types: [mrType.id, usType.id])).map(\.seriesInstanceUID), ["2.1.1", "2.2.2", "3.1.1"], "ids of one kind are ORed")
        XCTAssertEqual(try index.flatSeries(q(types: [usType.id])).map(\.patient.patientID), ["P3"])
        XCTAssertEqual(try index.images(q(types: [mrType.id])).map(\.sopInstanceUID), ["2.1.1.1", "2.1.1.2", "2.2.2.1", "2.2.2.2"])
        XCTAssertEqual(try index.studies(q(types: [mrType.id])).map(\.studyInstanceUID), ["2.1", "2.2"])
        XCTAssertEqual(try index.patients(q(types: [mrType.id])).map(\.patientID), ["P2"], "a patient matches through any of its series")
        XCTAssertEqual(try index.series(q(types: [9999])).count, 0)

        let seriesCT = try XCTUnwrap(try index.series({ var m = q(); m.properties = [.init(name: "seriesInstanceUID", op: "=", value: "2.2.1")]; return m }()).first)
        let seriesMR = try XCTUnwrap(try index.series({ var m = q(); m.properties = [.init(name: "seriesInstanceUID", op: "=", value: "2.1.1")]; return m }()).first)
        let keep = try tags.addSeriesTag(name: "keep", seriesId: seriesCT.id)
        _ = try tags.addSeriesTag(name: "keep", seriesId: seriesMR.id)
        let later = try tags.addSeriesTag(name: "later", seriesId: seriesMR.id)
        XCTAssertEqual(try index.series(q(tags: [keep.id])).map(\.seriesInstanceUID), ["2.1.1", "2.2.1"])
        XCTAssertEqual(try index.series(q(tags: [later.id])).map(\.seriesInstanceUID), ["2.1.1"])
        XCTAssertEqual(try index.studies(q(tags: [keep.id])).map(\.studyInstanceUID), ["2.1", "2.2"])
        // Kinds are ANDed: MR type and tag "keep" → 2.1.1 only; with source scp:7 still 2.1.1; with user:1 none.
        XCTAssertEqual(try index.series(q(types: [mrType.id], tags: [keep.id])).map(\.seriesInstanceUID), ["2.1.1"])
        XCTAssertEqual(try index.series(q(types: [mrType.id], tags: [keep.id], sources: [(.scp, 7)])).map(\.seriesInstanceUID), ["2.1.1"])
        XCTAssertEqual(try index.series(q(types: [mrType.id], tags: [keep.id], sources: [(.user, 1)])).count, 0)
        XCTAssertEqual(try index.patients(q(types: [usType.id], tags: [keep.id])).count, 0, "type and tag must hold for one same series")
        // Other filters and paging still apply on top.
        var m = q(types: [mrType.id])
        m.properties = [.init(name: "patientName", op: "like", value: "Bravo")]
        m.orderBy = "seriesInstanceUID"
        m.ascending = false
        m.count = 1
        XCTAssertEqual(try index.series(m).map(\.seriesInstanceUID), ["2.2.2"])
        // Source filters now work at patient level too.
        XCTAssertEqual(try index.patients(q(sources: [(.scp, 7)])).map(\.patientID), ["P1", "P2"])
    }
}
