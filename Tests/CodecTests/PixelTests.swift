import Foundation
import XCTest
@testable import Codec

/// Pixel decoding and rendering, checked against pydicom + numpy at run time (a missing peer fails
/// the test) and against hand-computed values for the windowing arithmetic.
final class PixelTests: XCTestCase {

    // MARK: pydicom as the reference

    /// What pydicom says about one file: stored values (raw, all frames, flattened as float64),
    /// compressed frame CRCs, and the display values it computes (YBR→RGB, palette, window).
    struct Expected: Sendable {
        let path: String
        let name: String
        let transferSyntax: String
        let frames: Int
        let error: String?
        let raw: [Double]?
        let frameCRCs: [UInt32]?
        let rgb: [UInt8]?
        let palette: [UInt16]?
        let display: [Double]?
    }

    /// Written to a temporary file and run with python3; writes index.json and binary arrays to argv[1].
    static let exportScript = #"""
    import json, os, sys, warnings, zlib
    warnings.simplefilter("ignore")
    import numpy as np
    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.encaps import generate_frames
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_windowing, pixel_array

    out, files = sys.argv[1], sys.argv[2:]
    index = []
    for path in files:
        name = os.path.basename(path)
        e = {"path": path, "name": name}
        index.append(e)
        try:
            ds = pydicom.dcmread(path)
            if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
                e["error"] = "no pixel data"
                continue
            ts = ds.file_meta.TransferSyntaxUID
            e["ts"] = str(ts)
            nf = int(ds.get("NumberOfFrames", 1) or 1)
            e["frames"] = nf
            if ts.is_compressed:
                frames = list(generate_frames(ds.PixelData, number_of_frames=nf))
                e["frameCRCs"] = [zlib.crc32(f) for f in frames]
                e["frames"] = len(frames)
            if ts.is_compressed and ts != pydicom.uid.RLELossless:
                continue
            raw = pixel_array(ds, raw=True)
            raw.astype("<f8").tofile(os.path.join(out, name + ".raw"))
            e["raw"] = True
            pi = ds.PhotometricInterpretation
            first = raw[0] if nf > 1 else raw
            if pi in ("YBR_FULL", "YBR_FULL_422"):
                pixel_array(ds, index=0).astype("u1").tofile(os.path.join(out, name + ".rgb"))
                e["rgb"] = True
            elif pi == "PALETTE COLOR":
                apply_color_lut(first, ds).astype("<u2").tofile(os.path.join(out, name + ".pal"))
                e["palette"] = True
            elif pi.startswith("MONOCHROME"):
                mod = apply_modality_lut(first, ds).astype("f8")
                if "WindowCenter" in ds and "WindowWidth" in ds:
                    # pydicom's windowing into 0..255: an 8-bit unsigned output range, no rescale.
                    c, w = ds["WindowCenter"], ds["WindowWidth"]
                    out_ds = Dataset()
                    out_ds.BitsStored, out_ds.PixelRepresentation = 8, 0
                    out_ds.PhotometricInterpretation = "MONOCHROME2"
                    out_ds.WindowCenter = float(c.value[0] if c.VM > 1 else c.value)
                    out_ds.WindowWidth = float(w.value[0] if w.VM > 1 else w.value)
                    out_ds.VOILUTFunction = ds.get("VOILUTFunction", "LINEAR")
                    y = apply_windowing(mod, out_ds)
                else:
                    lo, hi = mod.min(), mod.max()
                    y = (mod - lo) / (hi - lo) * 255 if hi > lo else mod * 0
                if pi == "MONOCHROME1":
                    y = 255 - y
                y.astype("<f8").tofile(os.path.join(out, name + ".display"))
                e["display"] = True
        except Exception as ex:
            e["error"] = type(ex).__name__ + ": " + str(ex)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)
    """#

    struct ExportFailure: Error, Sendable, CustomStringConvertible { let description: String }

    /// pydicom's view of every file in its test_files folder, computed once for all tests.
    static let pydicomExport: Result<[Expected], ExportFailure> = {
        do { return .success(try pydicomExpectations(files: try testFiles())) }
        catch { return .failure(ExportFailure(description: "\(error)")) }
    }()

    static func pydicomExpectations() throws -> [Expected] {
        try pydicomExport.get()
    }

    static func pydicomExpectations(files: [String]) throws -> [Expected] {
        let out = TestSupport.temporaryDirectory("pixels")
        let script = out + "/export.py"
        try exportScript.write(toFile: script, atomically: true, encoding: .utf8)
        let (status, _, err) = try TestSupport.run("python3", [script, out] + files)
        guard status == 0 else { throw XCTSkipFailure("pydicom/numpy export failed (python3 with pydicom and numpy is required): \(err)") }
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/index.json"))) as! [[String: Any]]
        func load(_ name: String) -> Data? { FileManager.default.contents(atPath: out + "/" + name) }
        return index.map { e in
            let name = e["name"] as! String
            let raw: [Double]? = e["raw"] as? Bool == true ? load(name + ".raw").map { d in
                d.withUnsafeBytes { b in (0..<d.count / 8).map { Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) } }
            } : nil
            let display: [Double]? = e["display"] as? Bool == true ? load(name + ".display").map { d in
                d.withUnsafeBytes { b in (0..<d.count / 8).map { Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) } }
            } : nil
            let palette: [UInt16]? = e["palette"] as? Bool == true ? load(name + ".pal").map { d in
                d.withUnsafeBytes { b in (0..<d.count / 2).map { UInt16(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) } }
            } : nil
            return Expected(path: e["path"] as! String, name: name, transferSyntax: e["ts"] as? String ?? "",
                            frames: e["frames"] as? Int ?? 0, error: e["error"] as? String, raw: raw,
                            frameCRCs: (e["frameCRCs"] as? [NSNumber])?.map { $0.uint32Value },
                            rgb: e["rgb"] as? Bool == true ? load(name + ".rgb").map { [UInt8]($0) } : nil,
                            palette: palette, display: display)
        }
    }

    static func testFiles() throws -> [String] {
        let dir = try TestSupport.pydicomDataDir() + "/test_files"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".dcm") }.sorted()
        return names.map { dir + "/" + $0 }
    }

    static func crc32(_ b: Bytes) -> UInt32 {
        b.withUnsafeBytes { Zlib.crc32($0) }
    }

    /// Stored values of every native and RLE file pydicom decodes equal pydicom's `pixel_array(raw=True)`,
    /// frame by frame; and every frame renders to a PNG of the right size.
    func testStoredValuesMatchPydicom() throws {
        let expected = try Self.pydicomExpectations()
        var compared: [String] = [], failures: [String] = []
        for e in expected {
            guard let raw = e.raw else { continue }
            do {
                let file = try DicomFile.read(path: e.path)
                let ds = file.dataSet
                var ours: [Double] = []
                for f in 0..<e.frames {
                    ours += try FrameRenderer.samples(ds, transferSyntax: file.transferSyntax, frame: f)
                }
                if ours.count != raw.count {
                    failures.append("\(e.name): \(ours.count) samples, pydicom \(raw.count)")
                } else if let i = ours.indices.first(where: { ours[$0] != raw[$0] }) {
                    let n = ours.indices.filter { ours[$0] != raw[$0] }.count
                    failures.append("\(e.name): \(n) sample(s) differ, first at \(i): ours \(ours[i]), pydicom \(raw[i])")
                }
                // Every frame renders, and the PNG decodes to the frame's size.
                let d = try PixelDescription(ds)
                for f in 0..<e.frames {
                    let png = try FrameRenderer.png(ds, transferSyntax: file.transferSyntax, options: RenderOptions(frame: f))
                    let img = try PNGDecoder.decode(png)
                    if img.width != d.columns || img.height != d.rows || img.bitDepth != 8 || img.channels != (d.samplesPerPixel == 1 && d.photometricInterpretation != "PALETTE COLOR" ? 1 : 3) {
                        failures.append("\(e.name) frame \(f): PNG is \(img.width)x\(img.height)x\(img.channels)@\(img.bitDepth)")
                    }
                }
                compared.append(e.name)
            } catch {
                failures.append("\(e.name): \(error)")
            }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) file(s) differ from pydicom:\n" + failures.joined(separator: "\n"))
        // Guard against a silent export: the data holds these, native and RLE, 1 to 32 bits, 1 and 3 samples.
        for must in ["CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "SC_rgb_rle.dcm",
                     "SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_rle_32bit_2frame.dcm", "rtdose.dcm", "rtdose_rle.dcm",
                     "rtdose_expb.dcm", "examples_palette.dcm", "SC_ybr_full_422_uncompressed.dcm", "liver_1frame.dcm",
                     "liver_expb_1frame.dcm", "ExplVR_BigEnd.dcm", "SC_rgb_small_odd_big_endian.dcm", "examples_overlay.dcm"] {
            XCTAssert(compared.contains(must), "\(must) was not compared")
        }
        XCTAssertGreaterThanOrEqual(compared.count, 30, "compared: \(compared)")
    }

    /// Encapsulated files: the same number of frames as pydicom's `generate_frames`, byte for byte.
    func testEncapsulatedFramesMatchPydicom() throws {
        let expected = try Self.pydicomExpectations()
        var compared = 0, failures: [String] = []
        for e in expected {
            guard let crcs = e.frameCRCs else { continue }
            do {
                let file = try DicomFile.read(path: e.path)
                let frames = try PixelFrames.frames(of: file.dataSet, transferSyntax: file.transferSyntax)
                let ours = frames.map(Self.crc32)
                if ours != crcs {
                    failures.append("\(e.name): \(frames.count) frame(s), pydicom \(crcs.count); CRCs \(ours.prefix(3)) vs \(crcs.prefix(3))")
                }
                // Compression other than RLE and JPEG Baseline/Extended is refused with a clear
                // error naming the syntax (JPEGTests compares the JPEG ones with DCMTK).
                if !["1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"].contains(e.transferSyntax) {
                    XCTAssertThrowsError(try FrameRenderer.render(file.dataSet, transferSyntax: file.transferSyntax)) { error in
                        guard case PixelError.unsupportedCompression(let name) = error else {
                            return XCTFail("\(e.name): expected unsupportedCompression, got \(error)")
                        }
                        XCTAssert(name.contains(e.transferSyntax), "\(e.name): \(name)")
                    }
                }
                compared += 1
            } catch {
                failures.append("\(e.name): \(error)")
            }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
        XCTAssertGreaterThanOrEqual(compared, 30)
        XCTAssert(expected.contains { $0.name == "examples_ybr_color.dcm" && $0.frameCRCs?.count == 30 })
    }

    /// Rendered values against pydicom's own pipelines: windowing (apply_modality_lut + apply_windowing),
    /// YBR→RGB conversion, palette LUTs; and min–max scaling when there is no window.
    func testRenderingMatchesPydicom() throws {
        let expected = try Self.pydicomExpectations()
        var checked: [String] = [], failures: [String] = []
        for e in expected where e.display != nil || e.rgb != nil || e.palette != nil {
            do {
                let file = try DicomFile.read(path: e.path)
                let img = try FrameRenderer.render(file.dataSet, transferSyntax: file.transferSyntax)
                let ours = img.pixels.map(Double.init)
                let reference: [Double]
                if let display = e.display {
                    reference = display
                } else if let rgb = e.rgb {
                    reference = rgb.map(Double.init)
                } else {
                    // pydicom gives the LUT entries; 16-bit entries scale to 8 bits.
                    let bits = try PixelDescription(file.dataSet).palette!.red.bitsPerEntry
                    let maxValue = Double((1 << bits) - 1)
                    reference = e.palette!.map { Double($0) * 255 / maxValue }
                }
                guard ours.count == reference.count else {
                    failures.append("\(e.name): \(ours.count) values, reference \(reference.count)")
                    continue
                }
                // ±1 allows for rounding of values that fall on .5 and float32 color math in pydicom.
                let worst = zip(ours, reference).map { abs($0 - $1) }.max() ?? 0
                if worst > 1 { failures.append("\(e.name): differs by up to \(worst)") }
                checked.append(e.name)
            } catch {
                failures.append("\(e.name): \(error)")
            }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
        for must in ["MR_small.dcm", "CT_small.dcm", "examples_overlay.dcm", "examples_palette.dcm", "SC_ybr_full_422_uncompressed.dcm"] {
            XCTAssert(checked.contains(must), "\(must) not checked; checked \(checked)")
        }
    }

    /// Well-known color palettes, including segmented ones (PS3.3 C.7.9.2), expand as pydicom expands them.
    func testPalettesMatchPydicom() throws {
        let dir = try TestSupport.pydicomDataDir() + "/palettes"
        let script = """
        import sys, json, numpy as np, pydicom
        from pydicom.pixels import apply_color_lut
        out = {}
        for p in sys.argv[1:]:
            ds = pydicom.dcmread(p)
            out[p] = apply_color_lut(np.arange(256, dtype="u1"), ds).T.astype(int).tolist()
        print(json.dumps(out))
        """
        let files = ["hotiron", "pet", "spring", "summer", "fall", "winter"].map { "\(dir)/\($0).dcm" }
        let (status, data, err) = try TestSupport.run("python3", ["-c", script] + files)
        guard status == 0 else { throw XCTSkipFailure("pydicom palette export failed: \(err)") }
        let expected = try JSONSerialization.jsonObject(with: data) as! [String: [[Int]]]
        var segmented = 0
        for f in files {
            let ds = try DicomFile.read(path: f).dataSet
            if ds.contains(Tag(0x0028_1221)) { segmented += 1 }
            let palette = try PixelAttributes.palette(ds, signedInput: false)
            let ours = [palette.red, palette.green, palette.blue].map { lut in (0..<256).map { lut.lookup($0) } }
            XCTAssertEqual(ours, expected[f], f)
        }
        XCTAssertGreaterThanOrEqual(segmented, 4)
    }

    // MARK: windowing arithmetic on a synthetic image

    /// A 2×2 CT-like image: signed 16-bit stored values 0, 1024, 1064, 2000 with rescale -1024
    /// give -1024, 0, 40, 976 HU.
    static func syntheticCT(photometric: String = "MONOCHROME2", function: String? = nil,
                            window: (Double, Double)? = nil) throws -> DataSet {
        var ds = DataSet()
        let us: [(Tag, Int)] = [(.samplesPerPixel, 1), (.rows, 2), (.columns, 2), (.bitsAllocated, 16),
                                (.bitsStored, 16), (.highBit, 15), (.pixelRepresentation, 1)]
        for (tag, v) in us { ds.set(try DataElement(tag: tag, vr: .US, integers: [Int64(v)])) }
        ds.set(try DataElement(tag: .photometricInterpretation, vr: .CS, strings: [photometric]))
        ds.set(try DataElement(tag: .rescaleIntercept, vr: .DS, strings: ["-1024"]))
        ds.set(try DataElement(tag: .rescaleSlope, vr: .DS, strings: ["1"]))
        if let (c, w) = window {
            ds.set(try DataElement(tag: .windowCenter, vr: .DS, strings: [String(c), "0"]))
            ds.set(try DataElement(tag: .windowWidth, vr: .DS, strings: [String(w), "1"]))
        }
        if let function { ds.set(try DataElement(tag: Tag(0x0028_1056), vr: .CS, strings: [function])) }
        var pixels: [UInt8] = []
        for v in [0, 1024, 1064, 2000] as [Int16] { pixels.appendLE(UInt16(bitPattern: v)) }
        ds.set(DataElement(tag: .pixelData, vr: .OW, bytes: pixels))
        return ds
    }

    func render(_ ds: DataSet, _ options: RenderOptions = .init()) throws -> [UInt8] {
        try FrameRenderer.render(ds, transferSyntax: .explicitVRLittleEndian, options: options).pixels
    }

    func testWindowLinear40_400() throws {
        // LINEAR (PS3.3 C.11.2.1.2.1), c 40, w 400: below -160 → 0; above 239 → 255;
        // 0 HU → ((0 - 39.5) / 399 + 0.5) × 255 = 102.26; 40 HU → 127.82.
        let ds = try Self.syntheticCT()
        XCTAssertEqual(try render(ds, RenderOptions(windowCenter: 40, windowWidth: 400)), [0, 102, 128, 255])
        // The same window from the data set (first of two values), and MONOCHROME1 inverted.
        XCTAssertEqual(try render(try Self.syntheticCT(window: (40, 400))), [0, 102, 128, 255])
        XCTAssertEqual(try render(try Self.syntheticCT(photometric: "MONOCHROME1", window: (40, 400))), [255, 153, 127, 0])
        // Explicit options override the data set's window.
        XCTAssertEqual(try render(try Self.syntheticCT(window: (40, 400)), RenderOptions(windowCenter: 0, windowWidth: 2)), [0, 255, 255, 255])
        // No window: the frame's min–max (-1024…976) → 0…255: 0 HU → 130.56, 40 HU → 135.66.
        XCTAssertEqual(try render(Self.syntheticCT()), [0, 131, 136, 255])
        let stored = try FrameRenderer.storedValues(Self.syntheticCT(), transferSyntax: .explicitVRLittleEndian)
        XCTAssertEqual(stored, [0, 1024, 1064, 2000])
    }

    func testWindowLinearExactAndSigmoid() throws {
        // LINEAR_EXACT (C.11.2.1.3.2): 0 HU → ((0 - 40) / 400 + 0.5) × 255 = 102; 40 HU → 127.5.
        XCTAssertEqual(try render(Self.syntheticCT(function: "LINEAR_EXACT", window: (40, 400))), [0, 102, 128, 255])
        // SIGMOID (C.11.2.1.3.1): 255 / (1 + exp(-4 (x - 40) / 400)): -1024 HU → 4.0e-3 → 0,
        // 0 HU → 102.33, 40 HU → 127.5, 976 HU → 254.98.
        XCTAssertEqual(try render(Self.syntheticCT(function: "SIGMOID", window: (40, 400))), [0, 102, 128, 255])
        XCTAssertEqual(FrameRenderer.window(0, center: 40, width: 400, function: .sigmoid), 255 / (1 + exp(0.4)), accuracy: 1e-9)
        // LINEAR with width 1 is a threshold at c - 0.5.
        XCTAssertEqual(FrameRenderer.window(39.5, center: 40, width: 1), 0)
        XCTAssertEqual(FrameRenderer.window(39.6, center: 40, width: 1), 255)
        // Invalid explicit windows are refused.
        XCTAssertThrowsError(try render(Self.syntheticCT(), RenderOptions(windowCenter: 40, windowWidth: 0.5)))
        XCTAssertThrowsError(try render(Self.syntheticCT(), RenderOptions(windowCenter: 40)))
    }

    func testLUTSequencesAndFunctionalGroups() throws {
        // Modality LUT Sequence (C.11.1) instead of rescale: stored 0…3 → 0, 100, 200, 300; then a
        // VOI LUT Sequence (C.11.2) of 8-bit entries mapping from 100: below → first entry, above → last.
        var ds = try Self.syntheticCT()
        ds.remove(.rescaleSlope)
        ds.remove(.rescaleIntercept)
        ds.set(try DataElement(tag: .pixelRepresentation, vr: .US, integers: [0]))
        var px: [UInt8] = []
        for v in [0, 1, 2, 3] as [UInt16] { px.appendLE(v) }
        ds.set(DataElement(tag: .pixelData, vr: .OW, bytes: px))
        var modality = DataSet()
        modality.set(try DataElement(tag: PixelAttributes.lutDescriptor, vr: .US, integers: [4, 0, 16]))
        modality.set(try DataElement(tag: PixelAttributes.lutData, vr: .US, integers: [0, 100, 200, 300]))
        ds.set(PixelAttributes.modalityLUTSequence, items: [modality])
        // Min–max of the modality output: 0…300.
        XCTAssertEqual(try render(ds), [0, 85, 170, 255])
        var voi = DataSet()
        voi.set(try DataElement(tag: PixelAttributes.lutDescriptor, vr: .US, integers: [3, 100, 8]))
        voi.set(try DataElement(tag: PixelAttributes.lutData, vr: .US, integers: [10, 20, 30]))
        ds.set(PixelAttributes.voiLUTSequence, items: [voi])
        XCTAssertEqual(try render(ds), [10, 10, 30, 30])
        // A window takes precedence over the VOI LUT; explicit options over both.
        ds.set(try DataElement(tag: .windowCenter, vr: .DS, strings: ["150"]))
        ds.set(try DataElement(tag: .windowWidth, vr: .DS, strings: ["101"]))
        XCTAssertEqual(try render(ds, RenderOptions(windowCenter: 150, windowWidth: 101, voiLUTFunction: .linearExact)), [0, 1, 254, 255])

        // Enhanced multi-frame: the shared group's rescale and frame 1's window (PS3.3 C.7.6.16.2).
        var mf = try Self.syntheticCT()
        mf.set(try DataElement(tag: .numberOfFrames, vr: .IS, strings: ["2"]))
        mf.set(DataElement(tag: .pixelData, vr: .OW, bytes: Array(mf[.pixelData]!.bytes) + Array(mf[.pixelData]!.bytes)))
        var transform = DataSet(), shared = DataSet(), frameVOI = DataSet(), frame1 = DataSet()
        transform.set(try DataElement(tag: .rescaleSlope, vr: .DS, strings: ["1"]))
        transform.set(try DataElement(tag: .rescaleIntercept, vr: .DS, strings: ["-1000"]))
        shared.set(PixelAttributes.pixelValueTransformationSequence, items: [transform])
        frameVOI.set(try DataElement(tag: .windowCenter, vr: .DS, strings: ["64"]))
        frameVOI.set(try DataElement(tag: .windowWidth, vr: .DS, strings: ["400"]))
        frame1.set(PixelAttributes.frameVOILUTSequence, items: [frameVOI])
        mf.set(PixelAttributes.sharedFunctionalGroups, items: [shared])
        mf.set(PixelAttributes.perFrameFunctionalGroups, items: [DataSet(), frame1])
        let d1 = try PixelDescription(mf).forFrame(1, in: mf)
        XCTAssertEqual(d1.rescaleIntercept, -1000)
        XCTAssertEqual(d1.windowCenters, [64])
        // Frame 1: HU -1000, 24, 64, 1000 with c 64 w 400 → same outputs as 40/400 on -1024…976 shifted by 24.
        XCTAssertEqual(try render(mf, RenderOptions(frame: 1)), [0, 102, 128, 255])
        XCTAssertThrowsError(try render(mf, RenderOptions(frame: 2))) {
            XCTAssertEqual($0 as? PixelError, .frameOutOfRange(index: 2, count: 2))
        }
    }

    func testFloatPixelData() throws {
        // Float Pixel Data (7FE0,0008) has no Bits Stored or Pixel Representation (PS3.3 C.7.6.24).
        var ds = DataSet()
        for (tag, v) in [(Tag.samplesPerPixel, 1), (.rows, 1), (.columns, 3), (.bitsAllocated, 32)] {
            ds.set(try DataElement(tag: tag, vr: .US, integers: [Int64(v)]))
        }
        ds.set(try DataElement(tag: .photometricInterpretation, vr: .CS, strings: ["MONOCHROME2"]))
        ds.set(try DataElement(tag: .floatPixelData, vr: .OF, doubles: [-1.5, 0.25, 3.25]))
        XCTAssertEqual(try FrameRenderer.samples(ds, transferSyntax: .explicitVRLittleEndian), [-1.5, 0.25, 3.25])
        // Min–max: 0.25 → 1.75 / 4.75 × 255 = 93.9.
        XCTAssertEqual(try render(ds), [0, 94, 255])
        XCTAssertEqual(try PixelFrames.frames(of: ds, transferSyntax: .explicitVRLittleEndian).map(\.count), [12])
    }

    func testBitsStoredMaskingAndSignExtension() throws {
        // 12 bits stored in 16 (High Bit 11), signed: 0xF800 has junk above bit 11 → 0x800 → -2048;
        // 0x07FF → 2047; 0x1001 → 1.
        var ds = try Self.syntheticCT()
        ds.set(try DataElement(tag: .bitsStored, vr: .US, integers: [12]))
        ds.set(try DataElement(tag: .highBit, vr: .US, integers: [11]))
        ds.set(DataElement(tag: .pixelData, vr: .OW, bytes: [0x00, 0xF8, 0xFF, 0x07, 0x01, 0x10, 0xFF, 0xFF]))
        XCTAssertEqual(try FrameRenderer.storedValues(ds, transferSyntax: .explicitVRLittleEndian), [-2048, 2047, 1, -1])
        // High Bit 15 with 12 bits stored: the value sits in the top bits (PS3.5 8.1.1).
        ds.set(try DataElement(tag: .highBit, vr: .US, integers: [15]))
        ds.set(try DataElement(tag: .pixelRepresentation, vr: .US, integers: [0]))
        XCTAssertEqual(try FrameRenderer.storedValues(ds, transferSyntax: .explicitVRLittleEndian), [0xF80, 0x07F, 0x100, 0xFFF])
    }

    func testMissingAndInvalidAttributes() throws {
        var ds = try Self.syntheticCT()
        ds.remove(.rows)
        XCTAssertThrowsError(try PixelDescription(ds)) { error in
            XCTAssertEqual(error as? PixelError, .missingAttribute(.rows, name: "Rows"))
            XCTAssert("\(error)".contains("Rows (0028,0010)"), "\(error)")
        }
        ds = try Self.syntheticCT()
        ds.set(try DataElement(tag: .bitsStored, vr: .US, integers: [17]))
        XCTAssertThrowsError(try PixelDescription(ds)) { error in
            guard case PixelError.invalidAttribute(.bitsStored, _, _) = error else { return XCTFail("\(error)") }
        }
        ds = try Self.syntheticCT()
        ds.set(DataElement(tag: .pixelData, vr: .OW, bytes: [1, 2, 3, 4, 5, 6]))
        XCTAssertThrowsError(try render(ds)) { error in
            XCTAssertEqual(error as? PixelError, .pixelDataTooShort(expected: 8, actual: 6))
        }
        ds.remove(.pixelData)
        XCTAssertThrowsError(try render(ds)) { XCTAssertEqual($0 as? PixelError, .noPixelData) }
        let d = try PixelDescription(Self.syntheticCT())
        XCTAssertEqual(d.frameLength, 8)
        XCTAssertEqual(d.rescaleIntercept, -1024)
        XCTAssertEqual(d.numberOfFrames, 1)
    }

    func testTruncatedPixelDataIsAnError() throws {
        // MR_truncated.dcm (pydicom: "less than expected (8130 vs 8192 bytes)") with the value cut in memory,
        // since our reader already refuses the file's length field.
        let dir = try TestSupport.pydicomDataDir() + "/test_files"
        var ds = try DicomFile.read(path: dir + "/MR_small.dcm").dataSet
        ds.set(DataElement(tag: .pixelData, vr: .OW, bytes: Array(ds[.pixelData]!.bytes.prefix(8130))))
        XCTAssertThrowsError(try FrameRenderer.render(ds, transferSyntax: .explicitVRLittleEndian)) { error in
            XCTAssertEqual(error as? PixelError, .pixelDataTooShort(expected: 8192, actual: 8130))
        }
        XCTAssertThrowsError(try DicomFile.read(path: dir + "/MR_truncated.dcm"))
    }

    func testLazyReadLoadsOneFrame() throws {
        let dir = try TestSupport.pydicomDataDir() + "/test_files"
        let eager = try DicomFile.read(path: dir + "/rtdose.dcm")
        let lazy = try DicomFile.read(path: dir + "/rtdose.dcm", options: ReadOptions(deferValuesLongerThan: 16))
        guard case .deferred = lazy.dataSet[.pixelData]!.value else { return XCTFail("pixel data should be deferred") }
        for f in [0, 7, 14] {
            XCTAssertEqual(try PixelFrames.frame(f, of: lazy.dataSet, transferSyntax: lazy.transferSyntax),
                           try PixelFrames.frames(of: eager.dataSet, transferSyntax: eager.transferSyntax)[f])
        }
        XCTAssertThrowsError(try PixelFrames.frame(15, of: lazy.dataSet, transferSyntax: lazy.transferSyntax)) {
            XCTAssertEqual($0 as? PixelError, .frameOutOfRange(index: 15, count: 15))
        }
    }

    // MARK: synthetic frames

    func testOneBitFramesArePackedAcrossBytes() throws {
        // Two 3×3 1-bit frames = 18 bits: frame 1 starts at bit 9 (PS3.5 8.1.1).
        var d = PixelDescription(rows: 3, columns: 3, bitsAllocated: 1)
        d.numberOfFrames = 2
        // frame 0 bits: 1 0 1 0 1 0 1 0 1; frame 1 bits: 0 1 1 0 0 0 0 0 1
        var bits = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1]
        var bytes = [UInt8](repeating: 0, count: 3)
        for (i, b) in bits.enumerated() where b == 1 { bytes[i / 8] |= 1 << (i % 8) }
        let frames = try PixelFrames.nativeFrames(bytes[...], description: d)
        XCTAssertEqual(frames.count, 2)
        XCTAssertEqual(d.frameLength, 2)
        bits = Array(bits[9...])
        let unpacked = (0..<9).map { Int(frames[1][frames[1].startIndex + $0 / 8] >> ($0 % 8) & 1) }
        XCTAssertEqual(unpacked, bits)
        XCTAssertThrowsError(try PixelFrames.nativeFrames(bytes[..<2], description: d))
    }

    func testEncapsulatedFrameSplitting() throws {
        let soi: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0], eoi: [UInt8] = [0xFF, 0xD9]
        let a0: Bytes = (soi + [1, 2])[...], a1: Bytes = ([3, 4] + eoi)[...]
        let b0: Bytes = (soi + [5, 6, 7, 8])[...], b1: Bytes = ([9] + eoi + [0])[...]
        let fragments = [a0, a1, b0, b1]
        let expected: [Bytes] = [(a0 + a1)[...], (b0 + b1)[...]]
        // Basic Offset Table: item offsets include the 8-byte item headers.
        var bot: [UInt8] = []
        bot.appendLE(UInt32(0)); bot.appendLE(UInt32(8 + a0.count + 8 + a1.count))
        XCTAssertEqual(try PixelFrames.encapsulatedFrames(EncapsulatedPixelData(offsetTable: bot[...], fragments: fragments), numberOfFrames: 2), expected)
        // No table: JPEG SOI starts, and the Extended Offset Table with lengths trimming the pad byte.
        XCTAssertEqual(try PixelFrames.encapsulatedFrames(EncapsulatedPixelData(fragments: fragments), numberOfFrames: 2), expected)
        let eot = try PixelFrames.encapsulatedFrames(EncapsulatedPixelData(fragments: fragments), numberOfFrames: 2,
                                                     extendedOffsets: [0, UInt64(16 + a0.count + a1.count)],
                                                     extendedLengths: [UInt64(a0.count + a1.count), UInt64(b0.count + b1.count - 1)])
        XCTAssertEqual(eot, [expected[0], expected[1].dropLast()])
        // Ends only (no SOI at the fragment starts): split after EOI.
        let noSOI = fragments.map { f -> Bytes in f.first == 0xFF ? ([0x00] + f)[...] : f }
        XCTAssertEqual(try PixelFrames.encapsulatedFrames(EncapsulatedPixelData(fragments: noSOI), numberOfFrames: 2).count, 2)
        // JPEG 2000 codestreams (SOC SIZ) start frames too.
        let j2k: [Bytes] = [[0xFF, 0x4F, 0xFF, 0x51, 1], [2, 3], [0xFF, 0x4F, 0xFF, 0x51, 4]]
        XCTAssertEqual(try PixelFrames.encapsulatedFrames(EncapsulatedPixelData(fragments: j2k), numberOfFrames: 2).map(\.count), [7, 5])
        // One frame: everything; as many fragments as frames: one each; otherwise an error.
        XCTAssertEqual(try PixelFrames.encapsulatedFrames(EncapsulatedPixelData(fragments: fragments), numberOfFrames: 1).first?.count, 22)
        XCTAssertEqual(try PixelFrames.encapsulatedFrames(EncapsulatedPixelData(fragments: fragments), numberOfFrames: 4), fragments)
        XCTAssertThrowsError(try PixelFrames.encapsulatedFrames(EncapsulatedPixelData(fragments: [[1, 2], [3, 4], [5, 6]]), numberOfFrames: 2)) {
            guard case PixelError.malformedEncapsulation = $0 else { return XCTFail("\($0)") }
        }
        // A broken Basic Offset Table is ignored in favour of the markers.
        var badBOT: [UInt8] = []
        badBOT.appendLE(UInt32(0)); badBOT.appendLE(UInt32(5))
        XCTAssertEqual(try PixelFrames.encapsulatedFrames(EncapsulatedPixelData(offsetTable: badBOT[...], fragments: fragments), numberOfFrames: 2), expected)
    }

    // MARK: RLE (PS3.5 Annex G)

    /// One segment per byte plane: a 64-byte header then the PackBits segments.
    static func rleFrame(_ segments: [[UInt8]]) -> Bytes {
        var header: [UInt8] = []
        header.appendLE(UInt32(segments.count))
        var offset = 64
        for s in segments { header.appendLE(UInt32(offset)); offset += s.count }
        header += [UInt8](repeating: 0, count: 64 - header.count)
        return (header + segments.joined())[...]
    }

    func testRLEDecodesPackBitsAndBytePlanes() throws {
        // 2×2, 16-bit: high bytes [0x01, 0x01, 0x01, 0x02] as a replicate run (-2 → 3 copies) + literal;
        // low bytes [0x10, 0x20, 0x30, 0x40] as one literal run, then a -128 no-op.
        let frame = Self.rleFrame([[0xFE, 0x01, 0x00, 0x02], [0x03, 0x10, 0x20, 0x30, 0x40, 0x80]])
        let out = try RLEDecoder.decode(frame, rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: 16)
        XCTAssertEqual(out, [0x10, 0x01, 0x20, 0x01, 0x30, 0x01, 0x40, 0x02])
        // RGB 8-bit, 1×2: planes R, G, B become interleaved, or planar on request.
        let rgb = Self.rleFrame([[0x01, 1, 2], [0xFF, 9], [0x01, 5, 6]])
        XCTAssertEqual(try RLEDecoder.decode(rgb, rows: 1, columns: 2, samplesPerPixel: 3, bitsAllocated: 8), [1, 9, 5, 2, 9, 6])
        XCTAssertEqual(try RLEDecoder.decode(rgb, rows: 1, columns: 2, samplesPerPixel: 3, bitsAllocated: 8, planarConfiguration: 1), [1, 2, 9, 9, 5, 6])
    }

    func testRLERejectsMalformedInput() throws {
        let good = Self.rleFrame([[0x03, 1, 2, 3, 4]])
        XCTAssertNoThrow(try RLEDecoder.decode(good, rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: 8))
        let cases: [(String, Bytes, Int)] = [
            ("short header", good.prefix(40), 8),
            ("segment count", good, 16),                                // 16-bit needs 2 segments
            ("short segment", Self.rleFrame([[0x01, 1, 2]]), 8),          // 2 of 4 bytes
            ("literal past end", Self.rleFrame([[0x05, 1, 2]]), 8),
            ("first offset", { var b = Array(good); b[4] = 60; return b[...] }(), 8),
            ("offset past end", { var b = Array(good); b[5] = 0x10; return b[...] }(), 8),
        ]
        for (name, frame, bits) in cases {
            XCTAssertThrowsError(try RLEDecoder.decode(frame, rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: bits), name) { error in
                XCTAssert(error is PixelError, "\(name): \(error)")
            }
        }
        XCTAssertThrowsError(try RLEDecoder.decode(good, rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: 1))
    }

    // MARK: color

    func testColorConversions() throws {
        func colorSet(_ pi: String, planar: Int, bits: Int, _ samples: [Int]) throws -> DataSet {
            var ds = DataSet()
            for (tag, v) in [(Tag.samplesPerPixel, 3), (.rows, 1), (.columns, 2), (.bitsAllocated, bits), (.bitsStored, bits),
                             (.highBit, bits - 1), (.pixelRepresentation, 0), (.planarConfiguration, planar)] {
                ds.set(try DataElement(tag: tag, vr: .US, integers: [Int64(v)]))
            }
            ds.set(try DataElement(tag: .photometricInterpretation, vr: .CS, strings: [pi]))
            var px: [UInt8] = []
            for s in samples { if bits == 8 { px.append(UInt8(s)) } else { px.appendLE(UInt16(s)) } }
            if px.count % 2 == 1 { px.append(0) }
            ds.set(DataElement(tag: .pixelData, vr: bits == 8 ? .OB : .OW, bytes: px))
            return ds
        }
        XCTAssertEqual(try render(colorSet("RGB", planar: 0, bits: 8, [1, 2, 3, 4, 5, 6])), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try render(colorSet("RGB", planar: 1, bits: 8, [1, 4, 2, 5, 3, 6])), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try render(colorSet("RGB", planar: 0, bits: 16, [0, 65535, 32896, 257, 514, 65535])), [0, 255, 128, 1, 2, 255])
        // YBR_FULL: Y 128 Cb 128 Cr 255 → R = 128 + 1.402 × 127 = 306 → 255, G = 128 - 0.714136 × 127 = 37.3, B = 128.
        XCTAssertEqual(try render(colorSet("YBR_FULL", planar: 0, bits: 8, [128, 128, 255, 76, 85, 255])), [255, 37, 128, 254, 0, 0])
        // YBR_FULL_422: Y0 Y1 Cb Cr for the pair.
        XCTAssertEqual(try render(colorSet("YBR_FULL_422", planar: 0, bits: 8, [76, 150, 85, 255])), [254, 0, 0, 255, 74, 74])
        XCTAssertThrowsError(try render(colorSet("YBR_ICT", planar: 0, bits: 8, [1, 2, 3, 4, 5, 6]))) {
            XCTAssertEqual($0 as? PixelError, .unsupportedPhotometricInterpretation("YBR_ICT"))
        }
    }

    func testSegmentedPaletteExpansion() throws {
        // discrete [0, 10], linear to 50 over 4, indirect: repeat segment 0 (discrete) → 0, 10.
        let words = [0, 2, 0, 10, 1, 4, 50, 2, 1, 0, 0]
        XCTAssertEqual(try PixelAttributes.expandSegmented(words, tag: Tag(0x0028_1221)), [0, 10, 20, 30, 40, 50, 0, 10])
        XCTAssertThrowsError(try PixelAttributes.expandSegmented([1, 2, 5], tag: Tag(0x0028_1221)))
        XCTAssertThrowsError(try PixelAttributes.expandSegmented([0, 1, 5, 2, 1, 9, 0], tag: Tag(0x0028_1221)))
        XCTAssertThrowsError(try PixelAttributes.expandSegmented([7, 1, 5], tag: Tag(0x0028_1221)))
    }
}
