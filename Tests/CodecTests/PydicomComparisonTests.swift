import Foundation
import XCTest
@testable import Codec

/// Every file of pydicom's test data that pydicom reads must be read by us with the same tags,
/// VRs and values (compared through the DICOM JSON model, PS3.18 F, which both sides produce),
/// and must be written back byte for byte unless a documented reason says otherwise.
final class PydicomComparisonTests: XCTestCase {
    /// Files whose rewrite differs from the input, and why. Anything else must round-trip exactly.
    static let roundTripExceptions: [String: String] = [
        "image_dfl.dcm": "Deflated transfer syntax: our zlib stream differs from the original encoder's; the inflated data set is compared instead",
        "no_meta_group_length.dcm": "the File Meta group lacks the required (0002,0000) group length; we write it (PS3.10 7.1)",
    ]

    struct Entry {
        let path: String
        let json: [String: Any]
        let meta: [String: Any]
    }

    static func pydicomExport() throws -> [Entry] {
        let data = try TestSupport.pydicomDataDir()
        let out = TestSupport.temporaryDirectory("pyexport")
        let script = TestSupport.repoRoot.appendingPathComponent("conformance/tools/pydicom_export.py").path
        let (status, _, err) = try TestSupport.run("python3", [script, out, data + "/test_files", data + "/charset_files"])
        guard status == 0 else { throw XCTSkipFailure("pydicom export failed: \(err)") }
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/index.json"))) as! [[String: Any]]
        return index.compactMap { e in
            guard e["ok"] as? Bool == true else { return nil }
            return Entry(path: e["path"] as! String, json: e["json"] as! [String: Any], meta: e["meta"] as? [String: Any] ?? [:])
        }
    }

    func testSameTagsAndValuesAsPydicom() throws {
        let entries = try Self.pydicomExport()
        XCTAssertGreaterThan(entries.count, 150, "pydicom's test data should give well over 150 readable files")
        var mismatches: [String] = []
        for entry in entries {
            let name = (entry.path as NSString).lastPathComponent
            do {
                let file = try DicomFile.read(path: entry.path)
                let ours = JSONModel.object(file.dataSet)
                var diffs: [String] = []
                JSONCompare.compare(ours, entry.json, path: "", into: &diffs)
                if !file.meta.isEmpty || !entry.meta.isEmpty {
                    JSONCompare.compare(JSONModel.object(file.meta), entry.meta, path: "meta.", into: &diffs)
                }
                if !diffs.isEmpty {
                    mismatches.append("\(name): " + diffs.prefix(5).joined(separator: "; ") + (diffs.count > 5 ? " (+\(diffs.count - 5) more)" : ""))
                }
            } catch {
                mismatches.append("\(name): we fail to read what pydicom reads: \(error)")
            }
        }
        XCTAssert(mismatches.isEmpty, "\(mismatches.count) of \(entries.count) files differ from pydicom:\n" + mismatches.joined(separator: "\n"))
    }

    func testRoundTripIsByteExact() throws {
        let entries = try Self.pydicomExport()
        var failures: [String] = []
        var exact = 0
        for entry in entries {
            let name = (entry.path as NSString).lastPathComponent
            do {
                let original = try Array(Data(contentsOf: URL(fileURLWithPath: entry.path)))
                let file = try DicomFile.read(bytes: original)
                let written = try file.encoded()
                if written == original { exact += 1; continue }
                if Self.roundTripExceptions[name] != nil {
                    // Still require that what we wrote reads back to the same data set.
                    let again = try DicomFile.read(bytes: written)
                    if again.dataSet != file.dataSet { failures.append("\(name): rewritten file reads back differently") }
                    continue
                }
                let at = zip(written, original).firstIndex { $0 != $1 } ?? min(written.count, original.count)
                failures.append("\(name): differs at byte \(at) (written \(written.count) bytes, original \(original.count))")
            } catch {
                failures.append("\(name): \(error)")
            }
        }
        XCTAssert(failures.isEmpty, "round trip failures:\n" + failures.joined(separator: "\n"))
        XCTAssertGreaterThan(exact, 150)
    }
}

/// Compares two DICOM JSON model trees: numbers numerically, base64 by decoded bytes, null ≡ "".
enum JSONCompare {
    static func compare(_ a: Any?, _ b: Any?, path: String, into diffs: inout [String]) {
        switch (a, b) {
        case let (x as [String: Any], y as [String: Any]):
            for key in Set(x.keys).union(y.keys).sorted() {
                let p = path.isEmpty ? key : path + "." + key
                guard x[key] != nil || y[key] != nil else { continue }
                if x[key] == nil {
                    if key == "Value", let arr = y[key] as? [Any], arr.allSatisfy(isEmptyValue) { continue }
                    diffs.append("\(p): missing in ours (pydicom: \(short(y[key])))"); continue
                }
                if y[key] == nil {
                    if key == "Value", let arr = x[key] as? [Any], arr.allSatisfy(isEmptyValue) { continue }
                    diffs.append("\(p): extra in ours (\(short(x[key])))"); continue
                }
                if key == "InlineBinary", let s = x[key] as? String, let t = y[key] as? String {
                    if Data(base64Encoded: s) != Data(base64Encoded: t) { diffs.append("\(p): binary differs") }
                    continue
                }
                compare(x[key], y[key], path: p, into: &diffs)
            }
        case let (x as [Any], y as [Any]):
            if x.count != y.count { diffs.append("\(path): \(x.count) values vs pydicom's \(y.count): \(short(x)) vs \(short(y))"); return }
            for (i, (u, v)) in zip(x, y).enumerated() { compare(u, v, path: "\(path)[\(i)]", into: &diffs) }
        case let (x as NSNumber, y as NSNumber):
            let d1 = x.doubleValue, d2 = y.doubleValue
            if d1 != d2 && !(abs(d1 - d2) <= 1e-9 * max(abs(d1), abs(d2))) && !(d1.isNaN && d2.isNaN) {
                diffs.append("\(path): \(x) vs pydicom \(y)")
            }
        case let (x as String, y as String):
            if x != y { diffs.append("\(path): '\(x)' vs pydicom '\(y)'") }
        default:
            if isEmptyValue(a as Any) && isEmptyValue(b as Any) { return }
            diffs.append("\(path): \(short(a)) vs pydicom \(short(b))")
        }
    }

    static func isEmptyValue(_ v: Any) -> Bool {
        if v is NSNull { return true }
        if let s = v as? String { return s.isEmpty }
        return false
    }

    static func short(_ v: Any?) -> String {
        let s = v.map { "\($0)" } ?? "nil"
        return s.count > 80 ? String(s.prefix(80)) + "..." : s
    }
}
