import XCTest
import Foundation
import TestPeers

/// A fresh temporary folder per test, removed afterwards.
func makeTemporaryFolder(_ name: String = "node") -> String { PeerTools.temporaryDirectory(name) }

import Codec
@testable import Node

/// A small, valid Part 10 CT instance with the given identity (8×8 pixels).
func makeInstance(patientName: String = "Doe^John", patientID: String = "P1", study: String = "1.2.3.1",
                  series: String = "1.2.3.1.1", sop: String, modality: String = "CT", description: String = "",
                  instanceNumber: Int = 1, studyDate: String = "20240102") throws -> [UInt8] {
    var ds = DataSet()
    if patientName.unicodeScalars.contains(where: { !$0.isASCII }) { try ds.set(.specificCharacterSet, vr: .CS, string: "ISO_IR 192") }
    try ds.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.2")
    try ds.set(.sopInstanceUID, vr: .UI, string: sop)
    try ds.set(Tag(0x0008_0020), vr: .DA, string: studyDate)
    try ds.set(.modality, vr: .CS, string: modality)
    try ds.set(Tag(0x0008_103E), vr: .LO, string: description)
    try ds.set(.patientName, vr: .PN, string: patientName)
    try ds.set(.patientID, vr: .LO, string: patientID)
    try ds.set(.studyInstanceUID, vr: .UI, string: study)
    try ds.set(.seriesInstanceUID, vr: .UI, string: series)
    try ds.set(Tag(0x0020_0013), vr: .IS, string: String(instanceNumber))
    try ds.set(.rows, vr: .US, integers: [8])
    try ds.set(.columns, vr: .US, integers: [8])
    try ds.set(.bitsAllocated, vr: .US, integers: [16])
    try ds.set(.bitsStored, vr: .US, integers: [16])
    try ds.set(.highBit, vr: .US, integers: [15])
    try ds.set(.pixelRepresentation, vr: .US, integers: [0])
    try ds.set(.samplesPerPixel, vr: .US, integers: [1])
    try ds.set(.photometricInterpretation, vr: .CS, string: "MONOCHROME2")
    ds.set(DataElement(tag: .pixelData, vr: .OW, bytes: [UInt8](repeating: 7, count: 128)))
    let meta = DicomFile.makeMeta(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: sop, transferSyntax: .explicitVRLittleEndian)
    return try DicomFile(meta: meta, dataSet: ds, transferSyntax: .explicitVRLittleEndian).encoded()
}

/// A node's store, index and ingest on a fresh folder (no network).
func makeIngest(_ folder: String, policy: DuplicatePolicy = .replace) throws -> Ingest {
    let store = try FileStore(root: folder)
    let index = try SQLiteIndex(path: folder + "/index.sqlite")
    return Ingest(store: store, index: index, log: NodeLog(minimumLevel: .error), duplicatePolicy: policy)
}

func filesUnder(_ folder: String) -> [String] {
    (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []).filter {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: folder + "/" + $0, isDirectory: &d) && !d.boolValue
    }.sorted()
}

/// Three patients; Bravo has two studies, one of them with a CT and an MR series. The third
/// patient's name is `thirdPatient` (a quote, non-ASCII letters, …). Each series gets
/// `perSeries` instances `<series>.1`, `<series>.2`, …; `source` picks each series' source.
func seedThreePatients(_ ingest: Ingest, thirdPatient: String, perSeries: Int = 1,
                       source: (Int) -> Source = { _ in .unknown }) throws {
    let rows: [(String, String, String, String, String, String)] = [
        ("Alpha^Ann", "P1", "1.1", "1.1.1", "CT", "20230105"),
        ("Bravo^Bob", "P2", "2.1", "2.1.1", "MR", "20240210"),
        ("Bravo^Bob", "P2", "2.2", "2.2.1", "CT", "20240315"),
        ("Bravo^Bob", "P2", "2.2", "2.2.2", "MR", "20240315"),
        (thirdPatient, "P3", "3.1", "3.1.1", "US", "20250101"),
    ]
    for (n, r) in rows.enumerated() {
        for i in 1...perSeries {
            _ = try ingest.store(bytes: try makeInstance(patientName: r.0, patientID: r.1, study: r.2, series: r.3, sop: r.3 + ".\(i)",
                                                         modality: r.4, instanceNumber: i, studyDate: r.5), source: source(n))
        }
    }
}

/// A crash window staged by hand: `bytes` written to incoming/ and its row committed, as if the
/// node died before moving it. `torn`: the recorded checksum does not match (its data never
/// all reached the disk).
@discardableResult
func stageCommitted(_ ingest: Ingest, sop: String, bytes: [UInt8], torn: Bool = false) throws -> IncomingFile {
    let file = try ingest.store.create()
    try file.write(bytes)
    try file.finishWriting()
    _ = try ingest.index.add(IndexRecord(values: ["sop_instance_uid": sop, "study_instance_uid": "1.2.3.1", "series_instance_uid": "1.2.3.1.1"],
                                         transferSyntaxUID: TransferSyntax.explicitVRLittleEndianUID, storageKey: file.key,
                                         fileSize: Int64(file.size), checksum: torn ? file.checksum ^ 1 : file.checksum, source: .unknown),
                             policy: .replace)
    return file
}
