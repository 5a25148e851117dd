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
        "meta_missing_tsyntax.dcm": "the File Meta group lacks the required Transfer Syntax UID (0002,0010); we write it (PS3.10 7.1)",
    ]

    /// Damaged files that pydicom (and dcmdump) read in part. We refuse them by default with a typed
    /// error, because a truncated image must not be stored as if whole; `allowTruncated` reads what
    /// is there (as `dicomnode dump` does), and then our values must match pydicom's.
    static let damagedFiles: [String: String] = [
        "MR_truncated.dcm": "Pixel Data is shorter than its length says",
        "rtplan_truncated.dcm": "a sequence is cut off before its stated length",
        "DICOMDIR-nooffset": "the last directory record item runs past the end of the file",
        "no_meta.dcm": "not a data set: the file lost its first bytes; pydicom (forced) reads one garbage element, dcmdump refuses it too",
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
                var options = ReadOptions.default
                if Self.damagedFiles[name] != nil {
                    XCTAssertThrowsError(try DicomFile.read(path: entry.path), "\(name) is damaged and must be refused by default")
                    if name == "no_meta.dcm" { continue }
                    options.allowTruncated = true
                }
                let file = try DicomFile.read(path: entry.path, options: options)
                let ours = JSONModel.object(file.dataSet)
                var theirs = entry.json
                if !file.encoding.littleEndian { theirs = JSONCompare.swapBinary(theirs) }
                var diffs: [String] = []
                JSONCompare.compare(ours, theirs, path: "", into: &diffs)
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
            if Self.damagedFiles[name] != nil { continue }
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
                let at = (0..<min(written.count, original.count)).first { written[$0] != original[$0] } ?? min(written.count, original.count)
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
    static func compare(_ a: Any?, _ b: Any?, path: String, into diffs: inout [String], tolerance: Double = 1e-9) {
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
                    let u = Data(base64Encoded: s) ?? Data(), v = Data(base64Encoded: t) ?? Data()
                    // An odd-length value padded with one NUL by the other side is the same value.
                    let padded = (u.count + 1 == v.count && v.last == 0 && v.prefix(u.count) == u) || (v.count + 1 == u.count && u.last == 0 && u.prefix(v.count) == v)
                    if u != v && !padded { diffs.append("\(p): binary differs") }
                    continue
                }
                compare(x[key], y[key], path: p, into: &diffs, tolerance: tolerance)
            }
        case let (x as [Any], y as [Any]):
            if x.count != y.count { diffs.append("\(path): \(x.count) values vs pydicom's \(y.count): \(short(x)) vs \(short(y))"); return }
            for (i, (u, v)) in zip(x, y).enumerated() { compare(u, v, path: "\(path)[\(i)]", into: &diffs, tolerance: tolerance) }
        case let (x as NSNumber, y as NSNumber):
            let d1 = x.doubleValue, d2 = y.doubleValue
            if d1 != d2 && !(abs(d1 - d2) <= tolerance * max(abs(d1), abs(d2))) && !(d1.isNaN && d2.isNaN) {
                diffs.append("\(path): \(x) vs pydicom \(y)")
            }
        case let (x as String, y as String):
            // pydicom keeps padding spaces inside multi-valued strings ('DERIVED ' in CS); they are
            // insignificant (PS3.5 6.2), and we trim each value. Anything else must be equal.
            if x != y && x.trimmingCharacters(in: .whitespaces) != y.trimmingCharacters(in: .whitespaces) {
                diffs.append("\(path): '\(x)' vs pydicom '\(y)'")
            }
        default:
            if isEmptyValue(a as Any) && isEmptyValue(b as Any) { return }
            diffs.append("\(path): \(short(a)) vs pydicom \(short(b))")
        }
    }

    /// pydicom keeps OW/OF/OL/OD/OV bytes of big-endian files as they are on disk; the JSON model
    /// (and our memory) hold them little endian (PS3.18 F.2.7). Swap pydicom's to compare.
    static func swapBinary(_ obj: [String: Any]) -> [String: Any] {
        var out = obj
        for (key, value) in obj {
            guard var attr = value as? [String: Any] else { continue }
            let unit = ["OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8][attr["vr"] as? String ?? ""]
            if let unit, let b64 = attr["InlineBinary"] as? String, let data = Data(base64Encoded: b64) {
                var bytes = [UInt8](data)
                ByteSwap.inPlace(&bytes, unit: unit)
                attr["InlineBinary"] = Data(bytes).base64EncodedString()
            }
            if let items = attr["Value"] as? [[String: Any]], attr["vr"] as? String == "SQ" {
                attr["Value"] = items.map(swapBinary)
            }
            out[key] = attr
        }
        return out
    }

    static func isEmptyValue(_ v: Any) -> Bool {
        if v is NSNull { return true }
        if let s = v as? String { return s.isEmpty }
        // A person name of delimiters only ("^^^^") has no name in it.
        if let pn = v as? [String: Any] { return pn.values.allSatisfy { ($0 as? String)?.allSatisfy { "^= ".contains($0) } ?? false } }
        return false
    }

    static func short(_ v: Any?) -> String {
        let s = v.map { "\($0)" } ?? "nil"
        return s.count > 80 ? String(s.prefix(80)) + "..." : s
    }
}
