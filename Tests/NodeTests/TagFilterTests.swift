import XCTest
import Foundation
import Codec
import TestPeers
@testable import Node

final class TagFilterTests: XCTestCase {
    var folder = ""
    var ingest: Ingest!
    var filters: TagFilterService!
    var files = ""
    let scp = Source(type: .scp, name: "CT room", id: 5)
    let user = Source(type: .user, name: "admin", id: 1)

    override func setUpWithError() throws {
        folder = makeTemporaryFolder("tagfilters")
        ingest = try makeIngest(folder)
        filters = try TagFilterService(index: ingest.index, log: ingest.log)
        ingest.add(transform: filters)
        files = try cachedPydicomTestFiles.get()
    }

    override func tearDown() {
        ingest?.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    func original(_ name: String) throws -> DicomFile { try DicomFile.read(path: files + "/" + name) }

    /// A copy of a test file under another SOP Instance UID (so both copies can be stored).
    func copy(_ name: String, sop: String) throws -> [UInt8] {
        var f = try original(name)
        try f.dataSet.set(.sopInstanceUID, vr: .UI, string: sop)
        try f.meta.set(.mediaStorageSOPInstanceUID, vr: .UI, string: sop)
        return try f.encoded()
    }

    func path(_ s: String) throws -> TagPath { try TagPath(parsing: s) }

    func testBlacklistedTagsAreAbsentForThatSourceAndPresentForAnother() throws {
        let filter = try filters.addFilter(name: "no birth date", tagFilterType: .BLACKLIST,
                                           tags: [try path("PatientBirthDate"), try path("(0009,xxxx)"), try path("OtherPatientIDsSequence[*].TypeOfPatientID")])
        _ = try filters.addAssociation(source: scp, tagFilterId: filter.id)
        XCTAssertTrue(filters.applies(to: scp))
        XCTAssertFalse(filters.applies(to: user))
        XCTAssertFalse(filters.applies(to: Source(type: .box, name: "CT room", id: 5)), "a source is its type and id")

        let ct = try original("CT_small.dcm")
        let filtered = try ingest.store(path: files + "/CT_small.dcm", source: scp)
        let stored = try storedDataSet(ingest, imageId: filtered.outcome.imageId).dataSet
        XCTAssertNil(stored[Tag(0x0010_0030)])
        XCTAssertFalse(stored.tags.contains { $0.group == 0x0009 })
        let others = try XCTUnwrap(stored.sequence(Tag(0x0010_1002)))
        XCTAssertEqual(others.map(\.tags), [[.patientID], [.patientID]])
        XCTAssertEqual(others.map { $0.string(.patientID) }, ["ABCD1234", "1234ABCD"])
        // Everything else is untouched.
        XCTAssertEqual(stored.tags, ct.dataSet.tags.filter { $0 != Tag(0x0010_0030) && $0.group != 0x0009 })
        XCTAssertEqual(stored[.pixelData], ct.dataSet[.pixelData])
        XCTAssertEqual(stored.string(.patientName), "CompressedSamples^CT1")

        // Another source: the same data (under another UID) is stored byte for byte.
        let bytes = try copy("CT_small.dcm", sop: "1.2.3.99")
        let plain = try ingest.store(bytes: bytes, source: user)
        ingest.settle()
        let image = try XCTUnwrap(try ingest.index.storedImage(id: plain.outcome.imageId))
        XCTAssertEqual([UInt8](FileManager.default.contents(atPath: try XCTUnwrap(ingest.store.readablePath(forKey: image.storageKey)))!), bytes)
        let unfiltered = try storedDataSet(ingest, imageId: plain.outcome.imageId).dataSet
        XCTAssertNotNil(unfiltered[Tag(0x0010_0030)])
        XCTAssertTrue(unfiltered.tags.contains(Tag(0x0009_1001)))
        XCTAssertEqual(unfiltered.sequence(Tag(0x0010_1002))?.first?.tags, [.patientID, Tag(0x0010_0022)])
    }

    func testWhitelistKeepsOnlyItsTagsAndWhatTheNodeNeeds() throws {
        let filter = try filters.addFilter(name: "few", tagFilterType: .WHITELIST,
                                           tags: [try path("Modality"), try path("OtherPatientIDsSequence[*].PatientID"), try path("PixelData"),
                                                  try path("(0009,1001)")])
        _ = try filters.addAssociation(source: scp, tagFilterId: filter.id)
        let ct = try original("CT_small.dcm")
        let r = try ingest.store(path: files + "/CT_small.dcm", source: scp)
        let stored = try storedDataSet(ingest, imageId: r.outcome.imageId)
        let kept: Set<Tag> = [.specificCharacterSet, .sopClassUID, .sopInstanceUID, .modality, Tag(0x0009_0010), Tag(0x0009_1001), .patientID,
                              Tag(0x0010_1002), .studyInstanceUID, .seriesInstanceUID, .samplesPerPixel, .photometricInterpretation, .rows, .columns,
                              .bitsAllocated, .bitsStored, .highBit, .pixelRepresentation, .pixelData]
        XCTAssertEqual(stored.dataSet.tags, ct.dataSet.tags.filter { kept.contains($0) })
        XCTAssertEqual(stored.dataSet.tags.count, kept.count)
        XCTAssertEqual(stored.dataSet.sequence(Tag(0x0010_1002))?.map(\.tags), [[.patientID], [.patientID]])
        XCTAssertEqual(stored.dataSet[.pixelData], ct.dataSet[.pixelData])
        XCTAssertEqual(stored.dataSet.string(Tag(0x0009_0010)), ct.dataSet.string(Tag(0x0009_0010)), "the private creator of a kept private element stays")
        // The File Meta group is not filtered, and the image is filed under its own identity.
        XCTAssertEqual(stored.meta.string(.mediaStorageSOPInstanceUID), ct.meta.string(.mediaStorageSOPInstanceUID))
        XCTAssertEqual(stored.transferSyntax, ct.transferSyntax)
        let flat = try XCTUnwrap(try ingest.index.flatSeries(MetadataQuery()).first)
        XCTAssertEqual(flat.patient.patientID, "1CT1")
        XCTAssertEqual(flat.patient.patientName, "", "Patient Name was not whitelisted")
        XCTAssertEqual(flat.study.studyInstanceUID, ct.dataSet.string(.studyInstanceUID))
        XCTAssertEqual(flat.series.seriesInstanceUID, ct.dataSet.string(.seriesInstanceUID))
        XCTAssertEqual(flat.series.modality, "CT")
    }

    func testBlacklistsGoFirstThenTheUnionOfWhitelists() throws {
        let w1 = try filters.addFilter(name: "w1", tagFilterType: .WHITELIST, tags: [try path("Modality"), try path("SeriesDescription")])
        let w2 = try filters.addFilter(name: "w2", tagFilterType: .WHITELIST, tags: [try path("PatientName")])
        let b = try filters.addFilter(name: "b", tagFilterType: .BLACKLIST, tags: [try path("Modality")])
        for f in [w1, w2, b] { _ = try filters.addAssociation(source: scp, tagFilterId: f.id) }
        let mr = try original("MR_small.dcm")
        let r = try ingest.store(path: files + "/MR_small.dcm", source: scp)
        let stored = try storedDataSet(ingest, imageId: r.outcome.imageId).dataSet
        let expected = mr.dataSet.tags.filter { TagFilterRules.identity.contains($0) || $0 == .patientName || $0 == Tag(0x0008_103E) }
        XCTAssertEqual(stored.tags, expected)
        XCTAssertNil(stored[.modality], "blacklisted even though whitelisted")
        XCTAssertNil(stored[.pixelData], "not whitelisted: no pixels, and no pixel description either")
        XCTAssertNil(stored[.rows])
        XCTAssertEqual(stored.string(.patientName), mr.dataSet.string(.patientName))
    }

    func testABlacklistCannotTakeTheIdentityAway() throws {
        let b = try filters.addFilter(name: "groups", tagFilterType: .BLACKLIST, tags: [try path("(0008,xxxx)"), try path("(0020,xxxx)"), try path("(0010,xxxx)")])
        _ = try filters.addAssociation(source: scp, tagFilterId: b.id)
        let ct = try original("CT_small.dcm")
        let r = try ingest.store(path: files + "/CT_small.dcm", source: scp)
        XCTAssertTrue(r.outcome.added)
        let stored = try storedDataSet(ingest, imageId: r.outcome.imageId).dataSet
        let identity: [Tag] = [.specificCharacterSet, .sopClassUID, .sopInstanceUID, .patientID, .studyInstanceUID, .seriesInstanceUID]
        XCTAssertEqual(stored.tags.filter { [0x0008, 0x0010, 0x0020].contains($0.group) }, identity)
        for t in identity { XCTAssertEqual(stored.string(t), ct.dataSet.string(t), "\(t)") }
        XCTAssertNotNil(stored[.rows])
        let flat = try XCTUnwrap(try ingest.index.flatSeries(MetadataQuery()).first)
        XCTAssertEqual(flat.study.studyInstanceUID, ct.dataSet.string(.studyInstanceUID))
        XCTAssertEqual(flat.series.modality, "", "Modality was blacklisted")
    }

    func testFiltersAndAssociationsAreKeptAndDropped() throws {
        let f = try filters.addFilter(name: "f", tagFilterType: .BLACKLIST, tags: [try path("PatientName"), try path("PatientName")])
        XCTAssertEqual(f.tags, [try path("PatientName")], "a path listed twice is kept once")
        let a = try filters.addAssociation(source: scp, tagFilterId: f.id)
        XCTAssertEqual(a, SourceTagFilter(id: a.id, sourceType: "scp", sourceName: "CT room", sourceId: 5, tagFilterId: f.id, tagFilterName: "f"))
        XCTAssertEqual(try filters.addAssociation(source: scp, tagFilterId: f.id), a, "the same pair again changes nothing")
        _ = try filters.addAssociation(source: user, tagFilterId: f.id)
        XCTAssertEqual(try filters.associations().count, 2)
        XCTAssertEqual(try filters.associations(sourceType: .scp, sourceId: 5), [a])

        // Paths of a filter.
        let p = try filters.addTagPath(filterId: f.id, tagPath: try path("(0010,1002)[*].(0010,0022)"))
        XCTAssertEqual(try filters.addTagPath(filterId: f.id, tagPath: try path("OtherPatientIDsSequence[*].TypeOfPatientID")), p, "same path, same row")
        XCTAssertEqual(try filters.tagPaths(filterId: f.id).map(\.tagPath.description), ["(0010,0010)", "(0010,1002)[*].(0010,0022)"])
        try filters.removeTagPath(filterId: f.id, tagPathId: p.id)
        XCTAssertEqual(try filters.filter(id: f.id)?.tags, [try path("PatientName")])

        // Saving a filter by the same name replaces its type and paths.
        let updated = try filters.addFilter(name: "f", tagFilterType: .WHITELIST, tags: [try path("Modality")])
        XCTAssertEqual(updated.id, f.id)
        XCTAssertEqual(try filters.filters(), [updated])

        // Kept across a restart.
        let reopened = try TagFilterService(index: ingest.index, log: ingest.log)
        XCTAssertTrue(reopened.applies(to: scp))
        XCTAssertTrue(reopened.applies(to: user))

        // A deleted source takes its associations with it.
        XCTAssertEqual(try filters.removeAssociations(sourceType: .scp, sourceId: 5), 1)
        XCTAssertFalse(filters.applies(to: scp))
        XCTAssertTrue(filters.applies(to: user))
        let r = try ingest.store(path: files + "/MR_small.dcm", source: scp)
        XCTAssertNotNil(try storedDataSet(ingest, imageId: r.outcome.imageId).dataSet[.pixelData], "no filter for this source any more")

        // Deleting the filter deletes its associations.
        try filters.removeFilter(id: f.id)
        XCTAssertFalse(filters.applies(to: user))
        XCTAssertEqual(try filters.associations(), [])
        try filters.removeFilter(id: 4242)
        try filters.removeAssociation(id: 4242)
    }

    func testBadInput() throws {
        XCTAssertThrowsError(try filters.addFilter(name: " ", tagFilterType: .BLACKLIST)) { XCTAssertEqual("\($0)", "a tag filter needs a name") }
        XCTAssertThrowsError(try TagFilterType(parsing: "GREYLIST")) { XCTAssertEqual("\($0)", "tagFilterType 'GREYLIST' is neither WHITELIST nor BLACKLIST") }
        XCTAssertEqual(try TagFilterType(parsing: "whitelist"), .WHITELIST)
        XCTAssertThrowsError(try filters.tagPaths(filterId: 77)) { XCTAssertEqual("\($0)", "not found: tag filter 77") }
        XCTAssertThrowsError(try filters.addTagPath(filterId: 77, tagPath: TagPath(.modality))) { XCTAssertEqual("\($0)", "not found: tag filter 77") }
        XCTAssertThrowsError(try filters.addAssociation(source: scp, tagFilterId: 77)) { XCTAssertEqual("\($0)", "not found: tag filter 77") }
        let f = try filters.addFilter(name: "f", tagFilterType: .BLACKLIST)
        XCTAssertThrowsError(try filters.addAssociation(sourceType: "printer", sourceId: 1, tagFilterId: f.id)) {
            XCTAssertEqual("\($0)", "sourceType 'printer' is not one of user, box, directory, scp, import")
        }
        XCTAssertThrowsError(try filters.associations(startIndex: -2)) { XCTAssertEqual("\($0)", "startIndex and count must not be negative") }
        XCTAssertFalse(filters.applies(to: scp))
    }
}

/// The node wires the services: a filter associated with the main SCP's source applies to what
/// arrives through the node's ingest, and rules label what it stores.
final class NodeAutomationWiringTests: XCTestCase {
    func testNodeServerAppliesFiltersAndRules() throws {
        let folder = makeTemporaryFolder("wiring")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var config = NodeConfig()
        config.dataFolder = folder
        config.dicom.port = 0
        config.logLevel = "error"
        let node = try NodeServer(config: config)
        try node.start()
        defer { node.stop(waitSeconds: 1) }
        let source = Source(type: .scp, name: config.dicom.aeTitle, id: 0)
        let f = try node.tagFilters.addFilter(name: "no name", tagFilterType: .BLACKLIST, tags: [TagPath(.patientName)])
        _ = try node.tagFilters.addAssociation(source: source, tagFilterId: f.id)
        let type = try node.seriesTypes.addSeriesType(name: "CT")
        _ = try node.seriesTypes.addAttribute(ruleId: try node.seriesTypes.addRule(seriesTypeId: type.id).id, path: TagPath(.modality), values: "CT")
        waitForSeriesTypeUpdate(node.seriesTypes)
        let r = try node.ingest.store(bytes: try makeInstance(patientName: "Secret^Name", sop: "5.5.5"), source: source)
        node.ingest.drainEvents()
        XCTAssertNil(try storedDataSet(node.ingest, imageId: r.outcome.imageId).dataSet[.patientName])
        XCTAssertEqual(try node.seriesTypes.seriesTypes(seriesId: r.outcome.seriesId), [type])

        // Removing a managed SCP drops the filters of its source.
        let scp = try node.addSCP(name: "extra", aeTitle: "EXTRA", port: Int(try PeerTools.freePort()))
        let scpSource = Source(type: .scp, name: scp.name, id: scp.id)
        _ = try node.tagFilters.addAssociation(source: scpSource, tagFilterId: f.id)
        XCTAssertTrue(node.tagFilters.applies(to: scpSource))
        try node.removeSCP(id: scp.id)
        XCTAssertFalse(node.tagFilters.applies(to: scpSource))
        XCTAssertTrue(node.tagFilters.applies(to: source))
    }
}
