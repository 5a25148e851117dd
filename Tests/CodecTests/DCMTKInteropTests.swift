import Foundation
import XCTest
@testable import Codec

/// Our writer's output must be read by DCMTK, and DCMTK's output by us, in every native syntax.
final class DCMTKInteropTests: XCTestCase {
    static func requireDCMTK() throws {
        for tool in ["/usr/bin/dcmdump", "/usr/bin/dcmconv", "/usr/bin/dcm2json"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else {
                throw XCTSkipFailure("\(tool) is missing: run scripts/install-test-peers.sh")
            }
        }
    }

    func testDCMTKReadsWhatWeWrite() throws {
        try Self.requireDCMTK()
        let dir = TestSupport.temporaryDirectory("dcmtk-reads")
        let ds = try ReaderWriterTests.sample()
        for (ts, flag) in [(TransferSyntax.implicitVRLittleEndian, "Little Endian Implicit"),
                           (.explicitVRLittleEndian, "Little Endian Explicit"),
                           (.explicitVRBigEndian, "Big Endian Explicit"),
                           (.deflatedExplicitVRLittleEndian, "Deflated Explicit VR Little Endian")] {
            let path = dir + "/out-\(ts.uid).dcm"
            let meta = DicomFile.makeMeta(sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: "1.2.3.4.5", transferSyntax: ts)
            try DicomFile(meta: meta, dataSet: ds, transferSyntax: ts).write(toPath: path)
            let (status, out, err) = try TestSupport.run("/usr/bin/dcmdump", ["+U8", path])
            let text = String(decoding: out, as: UTF8.self)
            XCTAssertEqual(status, 0, "dcmdump failed on our \(ts): \(err)")
            XCTAssertTrue(err.isEmpty || !err.contains("E:"), "dcmdump complained about our \(ts): \(err)")
            XCTAssertTrue(text.contains("# Used TransferSyntax: \(flag)"), "\(ts): \(text.prefix(400))")
            XCTAssertTrue(text.contains("Müller^Jürgen"), "\(ts)")
            XCTAssertTrue(text.contains("(0008,1155) UI [1.2.3.9]"), "sequence items are intact in \(ts)")
            XCTAssertTrue(text.contains("(0028,1053) DS [1.5]"), "\(ts)")
        }
    }

    func testWeReadWhatDCMTKWrites() throws {
        try Self.requireDCMTK()
        let dir = TestSupport.temporaryDirectory("we-read")
        let data = try TestSupport.pydicomDataDir()
        let source = data + "/test_files/CT_small.dcm"
        let original = try DicomFile.read(path: source)
        for (flag, uid) in [("+ti", TransferSyntax.implicitVRLittleEndianUID), ("+te", TransferSyntax.explicitVRLittleEndianUID),
                            ("+tb", TransferSyntax.explicitVRBigEndianUID), ("+td", TransferSyntax.deflatedExplicitVRLittleEndianUID)] {
            let path = dir + "/dcmtk\(flag).dcm"
            let (status, _, err) = try TestSupport.run("/usr/bin/dcmconv", [flag, source, path])
            XCTAssertEqual(status, 0, err)
            let ours = try DicomFile.read(path: path)
            XCTAssertEqual(ours.transferSyntax.uid, uid)
            // Same values element by element (VRs can differ: implicit loses private VRs, which become UN).
            for e in original.dataSet.elements where !e.tag.isPrivate {
                guard let mine = ours.dataSet[e.tag] else { XCTFail("\(flag): \(e.tag) missing"); continue }
                if e.vr == .SQ { XCTAssertEqual(mine.items?.count, e.items?.count, "\(flag) \(e.tag)"); continue }
                XCTAssertEqual(mine.bytes, e.bytes, "\(flag): \(e.tag) differs")
            }
        }
    }

    /// DCMTK's own JSON writer (dcm2json) is a second, independent opinion on what files contain.
    func testSameJSONAsDCMTK() throws {
        try Self.requireDCMTK()
        let data = try TestSupport.pydicomDataDir() + "/test_files/"
        var compared = 0
        for name in ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm",
                     "image_dfl.dcm", "test-SR.dcm", "rtstruct.dcm", "reportsi.dcm", "nested_priv_SQ.dcm"] {
            let (status, out, err) = try TestSupport.run("/usr/bin/dcm2json", ["-fc", data + name])
            guard status == 0 else { XCTFail("dcm2json failed on \(name): \(err)"); continue }
            guard var theirs = try JSONSerialization.jsonObject(with: out) as? [String: Any] else { XCTFail(name); continue }
            let file = try DicomFile.read(path: data + name)
            var ours = JSONModel.object(file.dataSet)
            // dcm2json leaves bulk data out of the model; compare only what it prints inline.
            for key in Array(theirs.keys) where (theirs[key] as? [String: Any])?["BulkDataURI"] != nil {
                theirs.removeValue(forKey: key); ours.removeValue(forKey: key)
            }
            // dcm2json converts text to UTF-8 and says so in (0008,0005); it prints FL with float precision.
            theirs.removeValue(forKey: "00080005"); ours.removeValue(forKey: "00080005")
            var diffs: [String] = []
            JSONCompare.compare(ours, theirs, path: "", into: &diffs, tolerance: 1e-6)
            XCTAssert(diffs.isEmpty, "\(name) differs from dcm2json:\n" + diffs.prefix(10).joined(separator: "\n"))
            compared += 1
        }
        XCTAssertEqual(compared, 10)
    }
}
