import XCTest
import Foundation
import Codec
import TestPeers
@testable import Node

/// Anonymization of stored images with keys: pseudonyms that stay the same per patient, keys that
/// lead back to the original, in-place replacement, bulk, listing and CSV export.
final class KeyedAnonymizationTests: StoredAnonymizationCase {

    @discardableResult
    func store(_ name: String, _ id: String, study: String, series: String, sop: String, accession: String = "ACC-1",
               source: Source = Source(type: .scp, name: "MODALITY", id: 3)) throws -> Int64 {
        var ds = try DicomFile.read(bytes: try makeInstance(patientName: name, patientID: id, study: study, series: series, sop: sop)).dataSet
        try ds.set(Tag(0x0008_0050), vr: .SH, string: accession)
        try ds.set(Tag(0x0008_1030), vr: .LO, string: "Head of \(name)")
        try ds.set(Tag(0x0020_0052), vr: .UI, string: study + ".99")  // Frame of Reference, shared by the study
        let meta = DicomFile.makeMeta(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: sop, transferSyntax: .explicitVRLittleEndian)
        return try ingest.store(bytes: try DicomFile(meta: meta, dataSet: ds, transferSyntax: .explicitVRLittleEndian).encoded(),
                                source: source).outcome.imageId
    }

    func copy(_ imageId: Int64, _ profile: AnonymizationProfile = .basic) throws -> DataSet {
        try DicomFile.read(bytes: try service.anonymizedCopy(imageId: imageId, profile: profile)).dataSet
    }

    func testTheSamePatientGetsTheSamePseudonym() throws {
        let a1 = try store("Doe^John", "P1", study: "1.1", series: "1.1.1", sop: "1.1.1.1")
        let a2 = try store("Doe^John", "P1", study: "1.1", series: "1.1.1", sop: "1.1.1.2")
        let a3 = try store("Doe^John", "P1", study: "1.1", series: "1.1.2", sop: "1.1.2.1")
        let b1 = try store("Doe^John", "P1", study: "1.2", series: "1.2.1", sop: "1.2.1.1", accession: "ACC-2")
        let c1 = try store("Roe^Jane", "P2", study: "2.1", series: "2.1.1", sop: "2.1.1.1")
        let (x1, x2, x3, y1, z1) = (try copy(a1), try copy(a2), try copy(a3), try copy(b1), try copy(c1))
        for t in [Tag.patientName, .patientID] {
            XCTAssertEqual(x1.string(t), x2.string(t))
            XCTAssertEqual(x1.string(t), y1.string(t), "another study of the same patient")
            XCTAssertNotEqual(x1.string(t), z1.string(t), "another patient")
            XCTAssertTrue(x1.string(t)!.hasPrefix("2.25."))
        }
        XCTAssertEqual(x1.string(.studyInstanceUID), x3.string(.studyInstanceUID))
        XCTAssertEqual(x1.string(.seriesInstanceUID), x2.string(.seriesInstanceUID))
        XCTAssertNotEqual(x1.string(.seriesInstanceUID), x3.string(.seriesInstanceUID))
        XCTAssertNotEqual(x1.string(.studyInstanceUID), y1.string(.studyInstanceUID))
        XCTAssertEqual(x1.string(Tag(0x0020_0052)), x3.string(Tag(0x0020_0052)), "frame of reference of the study")
        XCTAssertNotEqual(x1.string(.sopInstanceUID), x2.string(.sopInstanceUID))
        // The same image again: the same anonymous instance (matched at IMAGE level).
        XCTAssertEqual(try copy(a1).string(.sopInstanceUID), x1.string(.sopInstanceUID))
        XCTAssertEqual(try service.keys(MetadataQuery()).count, 6, "one key per anonymization")
        // The level each match was found at.
        let f = try storedFile(a2)
        XCTAssertEqual(try service.anonymizer.anonymize(f, profile: .basic).matchedLevel, .image)
        var other = f.dataSet
        try other.set(.sopInstanceUID, vr: .UI, string: "1.1.1.77")
        XCTAssertEqual(try service.anonymizer.anonymize(DicomFile(dataSet: other, transferSyntax: .explicitVRLittleEndian), profile: .basic).matchedLevel, .series)
        try other.set(.seriesInstanceUID, vr: .UI, string: "1.1.77")
        XCTAssertEqual(try service.anonymizer.anonymize(DicomFile(dataSet: other, transferSyntax: .explicitVRLittleEndian), profile: .basic).matchedLevel, .study)
        try other.set(.studyInstanceUID, vr: .UI, string: "1.77")
        let newStudy = try service.anonymizer.anonymize(DicomFile(dataSet: other, transferSyntax: .explicitVRLittleEndian), profile: .basic)
        XCTAssertEqual(newStudy.matchedLevel, .patient)
        XCTAssertEqual(newStudy.file.dataSet.string(.patientID), x1.string(.patientID))
        try other.set(.patientID, vr: .LO, string: "P9")
        XCTAssertNil(try service.anonymizer.anonymize(DicomFile(dataSet: other, transferSyntax: .explicitVRLittleEndian), profile: .basic).matchedLevel)
    }

    func testAnonymizeReplacesTheImageAndTheKeyLeadsBackToTheOriginal() throws {
        let source = Source(type: .scp, name: "MODALITY", id: 3)
        let id = try store("Doe^John", "P1", study: "1.1", series: "1.1.1", sop: "1.1.1.1", source: source)
        let image = try service.anonymize(imageId: id, profile: .basic)
        XCTAssertNotEqual(image.id, id)
        XCTAssertNil(try ingest.index.storedImage(id: id), "the original is gone")
        XCTAssertEqual(try ingest.index.counts().images, 1)
        let stored = try XCTUnwrap(try ingest.index.storedImage(id: image.id))
        XCTAssertEqual(stored.source, source, "the anonymized image keeps the original's source")
        let file = try storedFile(image.id)
        XCTAssertEqual(file.dataSet.string(.patientIdentityRemoved), "YES")
        XCTAssertNotEqual(file.dataSet.string(.patientName), "Doe^John")
        XCTAssertEqual(file.meta.string(.mediaStorageSOPInstanceUID), file.dataSet.string(.sopInstanceUID))
        XCTAssertEqual(file.dataSet.string(.sopInstanceUID), image.sopInstanceUID)

        // The key: the anonymous image back to the real identity.
        var q = MetadataQuery()
        q.properties = [.init(name: "anonSOPInstanceUID", op: "=", value: image.sopInstanceUID)]
        let key = try XCTUnwrap(try service.keys(q).first)
        XCTAssertEqual(key.imageId, image.id)
        XCTAssertEqual([key.patientName, key.patientID, key.studyInstanceUID, key.seriesInstanceUID, key.sopInstanceUID],
                       ["Doe^John", "P1", "1.1", "1.1.1", "1.1.1.1"])
        XCTAssertEqual([key.anonPatientName, key.anonPatientID, key.anonStudyInstanceUID, key.anonSeriesInstanceUID],
                       [file.dataSet.string(.patientName), file.dataSet.string(.patientID), file.dataSet.string(.studyInstanceUID),
                        file.dataSet.string(.seriesInstanceUID)].map { $0 ?? "" })
        XCTAssertEqual(try service.key(id: key.id), key)
        let values = try XCTUnwrap(try service.keyValues(keyId: key.id))
        func recorded(_ t: UInt32) -> AnonymizationKeyValue? { values.first { $0.tagPath == TagPath(Tag(t)) } }
        XCTAssertEqual(recorded(0x0008_0050)?.value, "ACC-1")
        XCTAssertEqual(recorded(0x0008_0050)?.anonymizedValue, "")
        XCTAssertEqual(recorded(0x0008_0050)?.level, .study)
        XCTAssertEqual(recorded(0x0008_1030)?.value, "Head of Doe^John")
        XCTAssertEqual(recorded(0x0020_0052)?.value, "1.1.99")
        XCTAssertEqual(recorded(0x0020_0052)?.anonymizedValue, file.dataSet.string(Tag(0x0020_0052)))
        XCTAssertEqual(recorded(0x0012_0062)?.anonymizedValue, "YES")
        XCTAssertNil(try service.keyValues(keyId: 9999))
        XCTAssertThrowsError(try service.anonymize(imageId: 9999, profile: .basic)) { e in
            guard case NodeError.notFound = e else { return XCTFail("\(e)") }
        }
    }

    func testRetainUIDsReplacesTheImageInPlace() throws {
        let id = try store("Doe^John", "P1", study: "1.1", series: "1.1.1", sop: "1.1.1.1")
        let image = try service.anonymize(imageId: id, profile: try AnonymizationProfile(options: [.retainUIDs]))
        XCTAssertEqual(image.id, id, "same SOP Instance UID: the stored image is replaced, keeping its id")
        XCTAssertEqual(image.sopInstanceUID, "1.1.1.1")
        XCTAssertEqual(try storedFile(id).dataSet.string(.patientIdentityRemoved), "YES")
        XCTAssertEqual(try service.keys(MetadataQuery()).first?.imageId, id)
    }

    func testAlreadyAnonymousImagesAreCopiedUnchangedButReanonymizedInPlace() throws {
        let id = try store("Doe^John", "P1", study: "1.1", series: "1.1.1", sop: "1.1.1.1")
        let image = try service.anonymize(imageId: id, profile: .basic)
        let storedBytes = try Array(Data(contentsOf: URL(fileURLWithPath: ingest.store.readablePath(forKey: try ingest.index.storedImage(id: image.id)!.storageKey)!)))
        XCTAssertEqual(try service.anonymizedCopy(imageId: image.id, profile: .basic), storedBytes)
        XCTAssertEqual(try service.keys(MetadataQuery()).count, 1, "nothing anonymized, no key")
        let again = try service.anonymize(imageId: image.id, profile: .basic)
        XCTAssertNotEqual(again.sopInstanceUID, image.sopInstanceUID)
        XCTAssertEqual(try service.keys(MetadataQuery()).count, 2)
    }

    func testBulkAnonymizationSkipsUnknownImages() throws {
        let ids = [try store("Doe^John", "P1", study: "1.1", series: "1.1.1", sop: "1.1.1.1"),
                   try store("Doe^John", "P1", study: "1.1", series: "1.1.1", sop: "1.1.1.2"),
                   try store("Roe^Jane", "P2", study: "2.1", series: "2.1.1", sop: "2.1.1.1")]
        let images = try service.anonymize(images: ids.map { ImageTagValues(imageId: $0) } + [ImageTagValues(imageId: 4242)],
                                           profile: .basic)
        XCTAssertEqual(images.count, 3)
        XCTAssertEqual(try ingest.index.counts().images, 3)
        XCTAssertEqual(try ingest.index.counts().patients, 2, "two pseudonymous patients")
        let patients = try ingest.index.patients(MetadataQuery())
        XCTAssertFalse(patients.contains { $0.patientName == "Doe^John" || $0.patientName == "Roe^Jane" })
        XCTAssertEqual(images[0].seriesId, images[1].seriesId, "the same anonymous series")
    }

    func testKeyListingOrderFilterQueryDeleteAndCSV() throws {
        for (i, name) in ["Alpha^Ann", "Bravo^Bob", "Charlie^Cid"].enumerated() {
            let id = try store(name, "P\(i)", study: "\(i).1", series: "\(i).1.1", sop: "\(i).1.1.1")
            _ = try service.anonymizedCopy(imageId: id, profile: .basic)
        }
        var q = MetadataQuery()
        q.orderBy = "patientName"; q.ascending = false
        XCTAssertEqual(try service.keys(q).map(\.patientName), ["Charlie^Cid", "Bravo^Bob", "Alpha^Ann"])
        q.startIndex = 1; q.count = 1
        XCTAssertEqual(try service.keys(q).map(\.patientName), ["Bravo^Bob"])
        var f = MetadataQuery()
        f.filter = "bRaVo"
        XCTAssertEqual(try service.keys(f).map(\.patientName), ["Bravo^Bob"])
        f.filter = "%"
        XCTAssertEqual(try service.keys(f).count, 0, "% is matched literally")
        var p = MetadataQuery()
        p.properties = [.init(name: "patientID", op: "like", value: "2")]
        XCTAssertEqual(try service.keys(p).map(\.patientName), ["Charlie^Cid"])
        p.properties = [.init(name: "nope", op: "=", value: "x")]
        XCTAssertThrowsError(try service.keys(p)) { XCTAssertTrue("\($0)".contains("Property nope does not exist")) }
        var o = MetadataQuery(); o.orderBy = "patient_name"
        XCTAssertThrowsError(try service.keys(o), "column names are not property names")

        let csv = try service.exportCSV()
        let lines = csv.split(separator: "\r\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: ";").count, 16)
        XCTAssertTrue(lines[0].hasPrefix("ID;Image ID;Created;Patient Name;Anonymous Patient Name"))
        let alpha = lines.filter { $0.contains(";Alpha^Ann;") }
        XCTAssertGreaterThan(alpha.count, 5, "one row per key value")
        XCTAssertTrue(alpha.contains { $0.hasSuffix(";(0008,0050);ACC-1;") })

        let first = try XCTUnwrap(try service.keys(MetadataQuery()).first)
        try service.deleteKey(id: first.id)
        XCTAssertNil(try service.key(id: first.id))
        XCTAssertEqual(try service.keys(MetadataQuery()).count, 2)
    }

    func testCSVQuotesFieldsWithSeparators() throws {
        let id = try store("Semi;Colon^\"Quoted\"", "P;1", study: "1.1", series: "1.1.1", sop: "1.1.1.1")
        _ = try service.anonymizedCopy(imageId: id, profile: .basic)
        let row = try XCTUnwrap(try service.exportCSV().split(separator: "\r\n").dropFirst().first)
        XCTAssertTrue(row.contains(";\"Semi;Colon^\"\"Quoted\"\"\";"), String(row))
        XCTAssertTrue(row.contains(";\"P;1\";"), String(row))
    }

    func testKeysOfDeletedImagesArePurged() throws {
        let id = try store("Doe^John", "P1", study: "1.1", series: "1.1.1", sop: "1.1.1.1")
        let keep = try store("Roe^Jane", "P2", study: "2.1", series: "2.1.1", sop: "2.1.1.1")
        _ = try service.anonymizedCopy(imageId: id, profile: .basic)
        _ = try service.anonymizedCopy(imageId: keep, profile: .basic)
        _ = try ingest.delete(imageIds: [id])
        ingest.drainEvents()
        XCTAssertEqual(try service.keys(MetadataQuery()).map(\.imageId), [keep])

        // Configured off, keys stay.
        let other = makeTemporaryFolder("anonkeep")
        defer { try? FileManager.default.removeItem(atPath: other) }
        let ingest2 = try makeIngest(other)
        defer { ingest2.stop() }
        var settings = AnonymizationSettings()
        settings.purgeKeysOfDeletedImages = false
        let service2 = AnonymizationService(ingest: ingest2, settings: settings)
        let id2 = try ingest2.store(bytes: try makeInstance(sop: "3.3.3"), source: .unknown).outcome.imageId
        _ = try service2.anonymizedCopy(imageId: id2, profile: .basic)
        _ = try ingest2.delete(imageIds: [id2])
        ingest2.drainEvents()
        XCTAssertEqual(try service2.keys(MetadataQuery()).count, 1)
    }

    func testConfigurationAndServerWiring() throws {
        let path = folder + "/config.json"
        try Data(#"""
            {"dataFolder": "\#(folder)/node", "anonymization": {"purgeKeysOfDeletedImages": false,
             "keyAttributes": [{"level": "SERIES", "attribute": "BodyPartExamined"}, {"level": "patient", "attribute": "(0010,0040)"}]}}
            """#.utf8).write(to: URL(fileURLWithPath: path))
        let config = try NodeConfig.load(path: path)
        XCTAssertFalse(config.anonymization.purgeKeysOfDeletedImages)
        XCTAssertTrue(config.anonymization.reverseAnonymization)
        XCTAssertEqual(config.anonymization.keyAttributes, [KeyAttribute(level: .series, tag: Tag(0x0018_0015)),
                                                            KeyAttribute(level: .patient, tag: Tag(0x0010_0040))])
        try Data(#"{"anonymization": {"purgeKeys": true}}"#.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try NodeConfig.load(path: path)) { XCTAssertTrue("\($0)".contains("anonymization.purgeKeys")) }
        try Data(#"{"anonymization": {"keyAttributes": [{"level": "SERIES", "attribute": "NoSuchKeyword"}]}}"#.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try NodeConfig.load(path: path)) { XCTAssertTrue("\($0)".contains("NoSuchKeyword")) }

        let server = try NodeServer(config: config, log: NodeLog(minimumLevel: .error))
        defer { server.ingest.stop() }
        XCTAssertEqual(server.anonymization.settings, config.anonymization)
        var ds = try DicomFile.read(bytes: try makeInstance(sop: "4.4.4")).dataSet
        try ds.set(Tag(0x0018_0015), vr: .CS, string: "HEAD")
        let id = try server.ingest.store(bytes: try DicomFile(meta: DicomFile.makeMeta(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: "4.4.4",
                                                                                  transferSyntax: .explicitVRLittleEndian),
                                                            dataSet: ds, transferSyntax: .explicitVRLittleEndian).encoded(), source: .unknown).outcome.imageId
        let image = try server.anonymization.anonymize(imageId: id, profile: .basic)
        let key = try XCTUnwrap(try server.anonymization.keys(MetadataQuery()).first)
        let values = try XCTUnwrap(try server.anonymization.keyValues(keyId: key.id))
        XCTAssertEqual(values.first { $0.tagPath == TagPath(Tag(0x0018_0015)) }?.value, "HEAD", "the configured key attribute is recorded")
        XCTAssertNil(values.first { $0.tagPath == TagPath(Tag(0x0008_0050)) }, "the defaults were replaced")
        XCTAssertEqual(key.imageId, image.id)
    }
}

/// Reverse anonymization on ingest: anonymized data coming back gets its real identity.
final class ReverseAnonymizationTests: StoredAnonymizationCase {
    func stored(_ id: Int64) throws -> DataSet { try storedFile(id).dataSet }

    func testAnAnonymizedCopyComingBackGetsItsRealIdentity() throws {
        let ct = try pydicomFile("CT_small.dcm")
        let real = ct.dataSet
        let id = try ingest.store(bytes: try ct.encoded(), source: Source(type: .scp, name: "CT", id: 1)).outcome.imageId
        XCTAssertTrue(service.keys.isEmpty)
        let copy = try service.anonymizedCopy(imageId: id, profile: .basic)
        XCTAssertFalse(service.keys.isEmpty)
        let anonymous = try DicomFile.read(bytes: copy).dataSet
        XCTAssertNotEqual(anonymous.string(.patientName), real.string(.patientName))

        // Back from a box: the instance is the original again (the same SOP Instance UID replaces it).
        let back = try ingest.store(bytes: copy, source: Source(type: .box, name: "remote", id: 7))
        XCTAssertEqual(back.outcome.imageId, id)
        XCTAssertEqual(back.sopInstanceUID, real.string(.sopInstanceUID))
        let restored = try stored(id)
        for t in [Tag.patientName, .patientID, .studyInstanceUID, .seriesInstanceUID, .sopInstanceUID, Tag(0x0020_0052), Tag(0x0020_0010)] {
            XCTAssertEqual(restored.string(t), real.string(t), "\(t)")
        }
        XCTAssertNil(restored[.patientIdentityRemoved], "the original had no marker")
        XCTAssertNil(restored[.deidentificationMethod])
        XCTAssertNil(restored[.deidentificationMethodCodeSequence])
        XCTAssertEqual(try ingest.index.counts().images, 1)
        // Only the root data set: the anonymized referenced UIDs inside sequences stay anonymous.
        XCTAssertEqual(restored[.pixelData]?.bytes, real[.pixelData]?.bytes)
    }

    func testANewImageOfAnAnonymousStudyGetsThePatientAndStudyBack() throws {
        let id = try ingest.store(bytes: try makeInstance(patientName: "Doe^John", patientID: "P1", study: "1.1", series: "1.1.1", sop: "1.1.1.1"),
                                  source: .unknown).outcome.imageId
        let anonymous = try DicomFile.read(bytes: try service.anonymizedCopy(imageId: id, profile: .basic)).dataSet
        // A derived series made elsewhere on the anonymous data: new series and instance, same study.
        var derived = anonymous
        try derived.set(.seriesInstanceUID, vr: .UI, string: "2.25.1111")
        try derived.set(.sopInstanceUID, vr: .UI, string: "2.25.1111.1")
        let meta = DicomFile.makeMeta(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: "2.25.1111.1", transferSyntax: .explicitVRLittleEndian)
        let result = try ingest.store(bytes: try DicomFile(meta: meta, dataSet: derived, transferSyntax: .explicitVRLittleEndian).encoded(),
                                      source: Source(type: .box, name: "remote", id: 7))
        let back = try stored(result.outcome.imageId)
        XCTAssertEqual(back.string(.patientName), "Doe^John")
        XCTAssertEqual(back.string(.patientID), "P1")
        XCTAssertEqual(back.string(.studyInstanceUID), "1.1")
        XCTAssertEqual(back.string(.seriesInstanceUID), "2.25.1111", "below the matched level nothing is restored")
        XCTAssertEqual(back.string(.sopInstanceUID), "2.25.1111.1")
        XCTAssertNil(back[.patientIdentityRemoved], "the identity is back")
        let studies = try ingest.index.studies(MetadataQuery())
        XCTAssertEqual(studies.map(\.studyInstanceUID), ["1.1"], "the derived series joined the real study")
    }

    func testUnknownAnonymousDataIsStoredAsItCame() throws {
        let id = try ingest.store(bytes: try makeInstance(sop: "1.1.1.1"), source: .unknown).outcome.imageId
        _ = try service.anonymizedCopy(imageId: id, profile: .basic)
        var other = try DicomFile.read(bytes: try makeInstance(patientName: "2.25.5", patientID: "2.25.6", study: "2.25.7", series: "2.25.8", sop: "2.25.9"))
        try other.dataSet.set(.patientIdentityRemoved, vr: .CS, string: "YES")
        let result = try ingest.store(bytes: try other.encoded(), source: .unknown)
        let back = try stored(result.outcome.imageId)
        XCTAssertEqual(back.string(.patientName), "2.25.5")
        XCTAssertEqual(back.string(.patientIdentityRemoved), "YES")
    }

    func testTheAnonymizedImageStoredByTheNodeStaysAnonymous() throws {
        let id = try ingest.store(bytes: try makeInstance(patientName: "Doe^John", sop: "1.1.1.1"), source: .unknown).outcome.imageId
        _ = try service.anonymizedCopy(imageId: id, profile: .basic)  // a key exists: reverse anonymization is active
        let image = try service.anonymize(imageId: id, profile: .basic)
        XCTAssertNotEqual(try stored(image.id).string(.patientName), "Doe^John")
    }

    func testReverseAnonymizationCanBeSwitchedOff() throws {
        let other = makeTemporaryFolder("anonnorev")
        defer { try? FileManager.default.removeItem(atPath: other) }
        let ingest2 = try makeIngest(other)
        defer { ingest2.stop() }
        var settings = AnonymizationSettings()
        settings.reverseAnonymization = false
        let service2 = AnonymizationService(ingest: ingest2, settings: settings)
        let id = try ingest2.store(bytes: try makeInstance(patientName: "Doe^John", sop: "1.1.1.1"), source: .unknown).outcome.imageId
        let copy = try service2.anonymizedCopy(imageId: id, profile: .basic)
        let back = try ingest2.store(bytes: copy, source: .unknown)
        XCTAssertNotEqual(back.sopInstanceUID, "1.1.1.1")
        XCTAssertEqual(try ingest2.index.counts().images, 2, "stored beside the original, still anonymous")
    }
}
