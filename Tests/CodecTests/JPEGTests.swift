import Foundation
import XCTest
import TestPeers
@testable import Codec

/// JPEG encoding and decoding against real peers, run at test time (a missing peer fails):
/// Pillow (libjpeg-turbo) decodes our files and writes files for our decoder, DCMTK's dcmdjpeg and
/// pydicom decode pydicom's JPEG DICOM test files for comparison.
final class JPEGTests: XCTestCase {

    // MARK: encoder

    /// Our quantization tables at each quality and our Huffman tables are libjpeg's, byte for byte:
    /// Pillow writes libjpeg's (jpeg_set_quality, Annex K tables) and the tool reads both files.
    func testTablesEqualLibjpegAtEveryQuality() throws {
        let dir = TestSupport.temporaryDirectory("jpeg-tables")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qualities = [1, 5, 10, 25, 49, 50, 51, 75, 90, 95, 99, 100]
        for q in qualities {
            for channels in [1, 3] {
                let image = Self.photo(16, 16, channels: channels)
                try Data(try JPEGEncoder.encode(image, quality: q)).write(to: URL(fileURLWithPath: "\(dir)/ours-q\(q)-\(channels).jpg"))
            }
        }
        let report = try Self.runTool(dir, ["tables", dir] + qualities.map(String.init))
        var compared = 0
        for q in qualities {
            for channels in [1, 3] {
                guard let ours = report["ours-q\(q)-\(channels).jpg"] as? [String: Any],
                      let theirs = report["pil-q\(q)-\(channels).jpg"] as? [String: Any] else {
                    XCTFail("tables of quality \(q), \(channels) channel(s) missing: \(report.keys.sorted())"); continue
                }
                XCTAssertEqual(ours["dqt"] as? [String: [Int]], theirs["dqt"] as? [String: [Int]], "DQT at quality \(q), \(channels) channel(s)")
                XCTAssertEqual(ours["dht"] as? [String: [Int]], theirs["dht"] as? [String: [Int]], "DHT, \(channels) channel(s)")
                XCTAssertEqual((ours["dqt"] as? [String: [Int]])?.count, channels == 1 ? 1 : 2)
                compared += 1
            }
        }
        XCTAssertEqual(compared, qualities.count * 2)
        // The scaling itself: quality 50 is Annex K, 100 is all ones, 1 clamps to 255.
        XCTAssertEqual(JPEGTables.scaledQuantization(JPEGTables.luminanceQuantization, quality: 50), JPEGTables.luminanceQuantization)
        XCTAssertEqual(Set(JPEGTables.scaledQuantization(JPEGTables.chrominanceQuantization, quality: 100)), [1])
        XCTAssertEqual(JPEGTables.scaledQuantization(JPEGTables.chrominanceQuantization, quality: 1).max(), 255)
    }

    /// Our JPEGs open in Pillow as JFIF with the requested sampling, and decode within 35 dB PSNR of
    /// the source at quality 90; our decoder reads them to exactly Pillow's pixels. Lower quality
    /// means smaller files and lower PSNR; restart markers change the bytes, not the pixels.
    func testEncoderOutputDecodesInPillow() throws {
        let dir = TestSupport.temporaryDirectory("jpeg-enc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        struct Case { let name: String; let image: PNGImage; let quality: Int; let sub: JPEGEncoder.ChromaSubsampling; let restart: Int }
        var cases: [Case] = []
        for (w, h) in [(512, 512), (97, 61), (1, 1), (8, 8), (17, 5), (33, 100)] {
            for channels in [1, 3] {
                let image = Self.photo(w, h, channels: channels)
                for sub in channels == 1 ? [JPEGEncoder.ChromaSubsampling.chroma444] : [.chroma444, .chroma420] {
                    for (q, restart) in [(90, 0), (50, 0), (90, 3)] {
                        cases.append(Case(name: "e\(w)x\(h)-\(channels)-\(sub == .chroma444 ? 444 : 420)-q\(q)-r\(restart)",
                                          image: image, quality: q, sub: sub, restart: restart))
                    }
                }
            }
        }
        var files: [String: [UInt8]] = [:]
        for c in cases {
            let jpeg = try JPEGEncoder.encode(c.image, quality: c.quality, subsampling: c.sub, restartInterval: c.restart)
            files[c.name] = jpeg
            try Data(jpeg).write(to: URL(fileURLWithPath: "\(dir)/\(c.name).jpg"))
        }
        let report = try Self.runTool(dir, ["decode", dir] + cases.map(\.name))
        var psnr: [String: Double] = [:]
        for c in cases {
            guard let info = report[c.name] as? [String: Any], info["error"] == nil else {
                XCTFail("Pillow cannot read our \(c.name): \(report[c.name] ?? "nothing")"); continue
            }
            XCTAssertEqual(info["mode"] as? String, c.image.channels == 1 ? "L" : "RGB", c.name)
            XCTAssertEqual(info["size"] as? [Int], [c.image.width, c.image.height], c.name)
            XCTAssertEqual(info["jfif"] as? Bool, true, "\(c.name): no JFIF header")
            if c.image.channels == 3 { XCTAssertEqual(info["subsampling"] as? Int, c.sub == .chroma444 ? 0 : 2, c.name) }
            let pillow = try Self.read("\(dir)/\(c.name).pil")
            XCTAssertEqual(pillow.count, c.image.pixels.count, c.name)
            psnr[c.name] = Self.psnr(pillow, c.image.pixels)
            let ours = try JPEGDecoder.decode(files[c.name]!)
            XCTAssertEqual(ours.pixels, pillow, "\(c.name): our decoder and Pillow disagree on our file")
        }
        for c in cases where c.quality == 90 && c.image.width >= 97 {
            XCTAssertGreaterThan(psnr[c.name] ?? 0, 35, "\(c.name): PSNR \(psnr[c.name] ?? 0) dB")
        }
        for c in cases where c.quality == 50 && c.restart == 0 && c.image.width >= 97 {
            let q90 = c.name.replacingOccurrences(of: "-q50-", with: "-q90-")
            XCTAssertLessThan(psnr[c.name]!, psnr[q90]!, "\(c.name): lower quality must lose detail")
            XCTAssertLessThan(files[c.name]!.count, files[q90]!.count, "\(c.name): lower quality must be smaller")
        }
        for c in cases where c.restart > 0 {
            let plain = c.name.replacingOccurrences(of: "-r\(c.restart)", with: "-r0")
            // One RSTn between each `restart` MCUs, numbered modulo 8 (T.81 E.1.4); none in the plain file.
            let mcu = c.image.channels == 3 && c.sub == .chroma420 ? 16 : 8
            let mcus = ((c.image.width + mcu - 1) / mcu) * ((c.image.height + mcu - 1) / mcu)
            let expected = (0..<((mcus - 1) / c.restart)).map { UInt8(0xD0 + $0 % 8) }
            XCTAssertEqual(Self.restartMarkers(files[c.name]!), expected, c.name)
            XCTAssertEqual(Self.restartMarkers(files[plain]!), [], plain)
            XCTAssertEqual(try JPEGDecoder.decode(files[c.name]!).pixels, try JPEGDecoder.decode(files[plain]!).pixels, c.name)
        }
        // 4:2:0 is smaller than 4:4:4 for the same image and quality.
        XCTAssertLessThan(files["e512x512-3-420-q90-r0"]!.count, files["e512x512-3-444-q90-r0"]!.count)
    }

    func testEncoderRefusesWhatJPEGCannotHold() {
        let cases: [(PNGImage, Int, String)] = [
            (PNGImage(width: 2, height: 2, bitDepth: 16, channels: 1, pixels: [UInt8](repeating: 0, count: 8)), 90, "16-bit"),
            (PNGImage(width: 2, height: 2, bitDepth: 8, channels: 4, pixels: [UInt8](repeating: 0, count: 16)), 90, "alpha"),
            (PNGImage(width: 2, height: 2, bitDepth: 8, channels: 2, pixels: [UInt8](repeating: 0, count: 8)), 90, "alpha"),
            (PNGImage(width: 2, height: 2, bitDepth: 8, channels: 1, pixels: [UInt8](repeating: 0, count: 3)), 90, "bytes of pixels"),
            (PNGImage(width: 0, height: 2, bitDepth: 8, channels: 1, pixels: []), 90, "width and height"),
            (PNGImage(width: 70000, height: 1, bitDepth: 8, channels: 1, pixels: [UInt8](repeating: 0, count: 70000)), 90, "65535"),
            (PNGImage(width: 2, height: 2, bitDepth: 8, channels: 1, pixels: [UInt8](repeating: 0, count: 4)), 0, "quality"),
            (PNGImage(width: 2, height: 2, bitDepth: 8, channels: 1, pixels: [UInt8](repeating: 0, count: 4)), 101, "quality"),
        ]
        for (image, q, words) in cases {
            XCTAssertThrowsError(try JPEGEncoder.encode(image, quality: q)) { error in
                guard case .invalidImage = error as? JPEGError else { return XCTFail("\(error)") }
                XCTAssert("\(error)".contains(words), "\(error) should mention \(words)")
            }
        }
    }

    // MARK: decoder

    /// JPEGs written by Pillow (libjpeg-turbo): gray and color, 4:4:4 / 4:2:2 / 4:2:0 / 4:4:0,
    /// optimized Huffman tables, restart markers, odd sizes, several qualities. Our pixels equal
    /// Pillow's own decoding exactly (same IDCT, upsampling and color conversion as libjpeg).
    func testDecodesPillowJPEGsExactly() throws {
        let dir = TestSupport.temporaryDirectory("jpeg-dec")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = try Self.runTool(dir, ["make", dir])["files"] as! [[String: Any]]
        XCTAssertGreaterThan(manifest.count, 60)
        var decoded = 0, refused = 0, subsamplings = Set<String>()
        for entry in manifest {
            let name = entry["name"] as! String
            let jpeg = try Self.read("\(dir)/\(name).jpg")
            let info = try JPEGInfo.parse(jpeg)
            XCTAssertEqual(info.width, entry["width"] as? Int, name)
            XCTAssertEqual(info.height, entry["height"] as? Int, name)
            XCTAssertEqual(info.precision, 8, name)
            XCTAssertEqual(info.isProgressive, entry["progressive"] as? Bool, name)
            if entry["progressive"] as? Bool == true || entry["mode"] as? String == "CMYK" {
                XCTAssertThrowsError(try JPEGDecoder.decode(jpeg), name) { error in
                    guard case let .unsupported(reason)? = error as? JPEGError else { return XCTFail("\(name): \(error)") }
                    XCTAssert(reason.contains(entry["progressive"] as? Bool == true ? "progressive" : "4 components"), "\(name): \(reason)")
                }
                refused += 1
                continue
            }
            XCTAssert(info.isBaseline, name)
            XCTAssertEqual(info.componentCount, entry["mode"] as? String == "L" ? 1 : 3, name)
            XCTAssertEqual(info.dicomTransferSyntaxUID, "1.2.840.10008.1.2.4.50", name)
            if let s = entry["subsampling"] as? String {
                subsamplings.insert(s)
                XCTAssertEqual(info.dicomPhotometricInterpretation, s == "4:4:4" ? "YBR_FULL" : "YBR_FULL_422", name)
                XCTAssertEqual(info.colorSpace, .ycbcr, name)
            } else {
                XCTAssertEqual(info.dicomPhotometricInterpretation, "MONOCHROME2", name)
            }
            do {
                let image = try JPEGDecoder.decode(jpeg)
                let pillow = try Self.read("\(dir)/\(name).pil")
                XCTAssertEqual(image.components, info.componentCount, name)
                if image.pixels != pillow {
                    let diff = zip(image.pixels, pillow).map { abs(Int($0) - Int($1)) }
                    XCTFail("\(name): \(diff.filter { $0 > 0 }.count) sample(s) differ from Pillow, up to \(diff.max() ?? -1)")
                }
                decoded += 1
            } catch {
                XCTFail("\(name): \(error)")
            }
        }
        XCTAssertEqual(subsamplings, ["4:4:4", "4:2:2", "4:2:0", "4:4:0"])
        XCTAssertGreaterThan(decoded, 60)
        XCTAssertGreaterThanOrEqual(refused, 3)
    }

    /// Every JPEG Baseline / Extended file in pydicom's test data, decoded through the frame path,
    /// equals DCMTK's dcmdjpeg output (native pixels, its default color handling), and, where
    /// pydicom can decode it (8-bit, via Pillow), pydicom's pixel_array.
    func testDicomJPEGFramesMatchDCMTKAndPydicom() throws {
        try PeerTools.requireTool("/usr/bin/dcmdjpeg")
        let dir = TestSupport.temporaryDirectory("jpeg-dcm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let testFiles = try TestSupport.pydicomDataDir() + "/test_files"
        var jpegFiles: [(String, DicomFile)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: testFiles).sorted() where name.hasSuffix(".dcm") {
            guard let file = try? DicomFile.read(path: "\(testFiles)/\(name)") else { continue }
            if file.transferSyntax.uid == "1.2.840.10008.1.2.4.50" || file.transferSyntax.uid == "1.2.840.10008.1.2.4.51" {
                jpegFiles.append((name, file))
            }
        }
        let pydicom = try Self.runTool(dir, ["dicom", dir] + jpegFiles.map { "\(testFiles)/\($0.0)" })
        var againstDCMTK: [String] = [], againstPydicom: [String] = [], failures: [String] = []
        for (name, file) in jpegFiles {
            let ds = file.dataSet
            let frames = try PixelDescription(ds).numberOfFrames
            var ours: [Int] = []
            var outPI = ""
            do {
                for f in 0..<frames {
                    ours += try FrameRenderer.storedValues(ds, transferSyntax: file.transferSyntax, frame: f)
                    outPI = try FrameRenderer.decodedFrame(ds, transferSyntax: file.transferSyntax, frame: f).0.photometricInterpretation
                }
            } catch {
                failures.append("\(name): \(error)")
                continue
            }
            // DCMTK: decompress to a native file and read that (our native path is checked against pydicom elsewhere).
            let out = "\(dir)/\(name).native.dcm"
            let (status, _, err) = try PeerTools.run("/usr/bin/dcmdjpeg", ["\(testFiles)/\(name)", out])
            if status == 0 {
                let native = try DicomFile.read(path: out)
                var theirs: [Int] = []
                for f in 0..<frames { theirs += try FrameRenderer.storedValues(native.dataSet, transferSyntax: native.transferSyntax, frame: f) }
                let nativePI = try PixelDescription(native.dataSet).photometricInterpretation
                if theirs != ours {
                    let n = zip(ours, theirs).filter { $0 != $1 }.count
                    failures.append("\(name): \(n) of \(ours.count) samples differ from dcmdjpeg (\(theirs.count))")
                } else if nativePI != outPI {
                    failures.append("\(name): decoded as \(outPI), dcmdjpeg says \(nativePI)")
                } else {
                    againstDCMTK.append(name)
                }
            } else {
                // DCMTK cannot parse SC_rgb_jpeg.dcm's data set (a broken private element); pydicom can.
                XCTAssertEqual(name, "SC_rgb_jpeg.dcm", "dcmdjpeg failed on \(name): \(err)")
            }
            if let p = pydicom[name] as? [String: Any], p["error"] == nil {
                let raw = try Self.read("\(dir)/\(name).pyd")
                let theirs: [Int] = p["itemsize"] as? Int == 2 ? Self.littleEndian16(raw) : raw.map(Int.init)
                if theirs != ours {
                    failures.append("\(name): \(zip(ours, theirs).filter { $0 != $1 }.count) samples differ from pydicom")
                } else {
                    againstPydicom.append(name)
                }
            }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
        for must in ["JPEG-lossy.dcm", "JPGExtended.dcm", "examples_ybr_color.dcm", "SC_rgb_jpeg_lossy_gdcm.dcm",
                     "SC_rgb_small_odd_jpeg.dcm", "SC_rgb_dcmtk_+eb+cy+s2.dcm", "SC_rgb_dcmtk_+eb+cy+n1.dcm", "SC_jpeg_no_color_transform.dcm"] {
            XCTAssert(againstDCMTK.contains(must), "\(must) was not compared with dcmdjpeg: \(againstDCMTK)")
        }
        XCTAssert(againstPydicom.contains("SC_rgb_jpeg.dcm") && againstPydicom.contains("examples_ybr_color.dcm"), "\(againstPydicom)")
        XCTAssertGreaterThanOrEqual(againstDCMTK.count, 14)
        XCTAssertGreaterThanOrEqual(againstPydicom.count, 13)
    }

    /// A JPEG DICOM renders like its dcmdjpeg-decompressed twin, to PNG, JPEG and GIF.
    func testRenderingJPEGDicom() throws {
        try PeerTools.requireTool("/usr/bin/dcmdjpeg")
        let dir = TestSupport.temporaryDirectory("jpeg-render")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let testFiles = try TestSupport.pydicomDataDir() + "/test_files"
        for (name, frame) in [("examples_ybr_color.dcm", 7), ("JPGExtended.dcm", 0), ("SC_rgb_jpeg_lossy_gdcm.dcm", 0)] {
            let file = try DicomFile.read(path: "\(testFiles)/\(name)")
            let native = "\(dir)/\(name)"
            let (status, _, err) = try PeerTools.run("/usr/bin/dcmdjpeg", ["\(testFiles)/\(name)", native])
            XCTAssertEqual(status, 0, err)
            let twin = try DicomFile.read(path: native)
            let options = RenderOptions(frame: frame)
            let ours = try FrameRenderer.render(file.dataSet, transferSyntax: file.transferSyntax, options: options)
            let reference = try FrameRenderer.render(twin.dataSet, transferSyntax: twin.transferSyntax, options: options)
            XCTAssertEqual([ours.width, ours.height, ours.channels], [reference.width, reference.height, reference.channels], name)
            XCTAssert(ours.pixels == reference.pixels, "\(name): \(zip(ours.pixels, reference.pixels).filter { $0 != $1 }.count) rendered samples differ")
            let png = try PNGDecoder.decode(try FrameRenderer.png(file.dataSet, transferSyntax: file.transferSyntax, options: options))
            XCTAssert(png.pixels == reference.pixels, name)
            let jpeg = try JPEGDecoder.decode(try FrameRenderer.jpeg(file.dataSet, transferSyntax: file.transferSyntax, options: options, quality: 95))
            XCTAssertEqual(jpeg.components, reference.channels)
            XCTAssertGreaterThan(Self.psnr(jpeg.pixels, reference.pixels), 35, name)
            let gif = try FrameRenderer.gif(file.dataSet, transferSyntax: file.transferSyntax, options: options)
            XCTAssertEqual(Array(gif.prefix(6)), Array("GIF89a".utf8))
        }
    }

    /// Streams we do not decode are refused with a reason: progressive (Pillow), lossless (GDCM's
    /// frame in pydicom's SC_rgb_jpeg_gdcm.dcm), arithmetic coding, DNL height, 16-bit, 4 components.
    func testUnsupportedProcessesAreRefusedClearly() throws {
        let testFiles = try TestSupport.pydicomDataDir() + "/test_files"
        let lossless = try DicomFile.read(path: "\(testFiles)/SC_rgb_jpeg_gdcm.dcm")
        let frame = Array(try PixelFrames.frame(0, of: lossless.dataSet, transferSyntax: lossless.transferSyntax))
        let info = try JPEGInfo.parse(frame)
        XCTAssertEqual(info.process, .lossless)
        XCTAssertEqual(info.losslessPredictor, 1)
        XCTAssertEqual(info.dicomTransferSyntaxUID, "1.2.840.10008.1.2.4.70")
        XCTAssertEqual(info.colorSpace, .rgb, "Adobe transform 0")
        XCTAssertEqual(info.dicomPhotometricInterpretation, "RGB")
        XCTAssertThrowsError(try JPEGDecoder.decode(frame)) { XCTAssert("\($0)".contains("lossless, Huffman (SOF3)"), "\($0)") }
        XCTAssertThrowsError(try FrameRenderer.render(lossless.dataSet, transferSyntax: lossless.transferSyntax)) {
            guard case PixelError.unsupportedCompression(let name)? = $0 as? PixelError else { return XCTFail("\($0)") }
            XCTAssert(name.contains("1.2.840.10008.1.2.4.70"), name)
        }

        let baseline = try JPEGEncoder.encode(Self.photo(20, 20, channels: 1))
        let sof = baseline.indices.first { baseline[$0] == 0xFF && baseline[$0 + 1] == 0xC0 }!
        for (marker, words) in [(UInt8(0xC9), "arithmetic"), (0xC5, "hierarchical"), (0xCA, "progressive"), (0xC2, "progressive")] {
            var patched = baseline
            patched[sof + 1] = marker
            XCTAssertThrowsError(try JPEGDecoder.decode(patched)) { error in
                guard case let .unsupported(reason)? = error as? JPEGError else { return XCTFail("\(error)") }
                XCTAssert(reason.contains(words), reason)
            }
        }
        var dnl = baseline
        dnl[sof + 5] = 0; dnl[sof + 6] = 0  // height 0: defined by a DNL marker
        XCTAssertThrowsError(try JPEGDecoder.decode(dnl)) { XCTAssert("\($0)".contains("DNL"), "\($0)") }
        XCTAssertEqual(try JPEGInfo.parse(dnl).height, 0)
        var sixteen = baseline
        sixteen[sof + 1] = 0xC1; sixteen[sof + 4] = 16
        XCTAssertThrowsError(try JPEGDecoder.decode(sixteen)) { XCTAssert("\($0)".contains("16-bit"), "\($0)") }
        var twelveBaseline = baseline
        twelveBaseline[sof + 4] = 12  // 12-bit is allowed only in SOF1
        XCTAssertThrowsError(try JPEGDecoder.decode(twelveBaseline)) { XCTAssert("\($0)".contains("12-bit"), "\($0)") }
    }

    /// The SOF marker decides the JPEG process whatever the transfer syntax says; a JPEG Baseline
    /// DICOM frame must still match Rows, Columns and Samples per Pixel.
    func testDicomFrameMustMatchImagePixelAttributes() throws {
        let testFiles = try TestSupport.pydicomDataDir() + "/test_files"
        let file = try DicomFile.read(path: "\(testFiles)/SC_rgb_jpeg_dcmtk.dcm")
        var ds = file.dataSet
        try ds.set(.rows, vr: .US, integers: [99])
        XCTAssertThrowsError(try FrameRenderer.render(ds, transferSyntax: file.transferSyntax)) { error in
            guard case PixelError.malformedJPEG(let reason)? = error as? PixelError else { return XCTFail("\(error)") }
            XCTAssert(reason.contains("100x100") && reason.contains("100x99"), reason)
        }
    }

    /// Cut anywhere, our decoder throws a JPEGError (never crashes, never returns a partial image);
    /// corrupted entropy data throws or decodes, without crashing; bytes after EOI and a missing
    /// EOI after complete data are accepted, as libjpeg does.
    func testTruncatedAndCorruptStreams() throws {
        let jpeg = try JPEGEncoder.encode(Self.photo(40, 24, channels: 3), quality: 80, subsampling: .chroma420, restartInterval: 2)
        let good = try JPEGDecoder.decode(jpeg)
        for cut in 0..<(jpeg.count - 2) {
            XCTAssertThrowsError(try JPEGDecoder.decode(Array(jpeg.prefix(cut))), "cut at \(cut)") { error in
                XCTAssert(error is JPEGError, "cut at \(cut): \(error)")
            }
        }
        XCTAssertEqual(try JPEGDecoder.decode(Array(jpeg.dropLast(2))), good, "no EOI")
        XCTAssertEqual(try JPEGDecoder.decode(jpeg + [0, 1, 2, 0xFF, 0xD8]), good, "trailing bytes")
        XCTAssertThrowsError(try JPEGDecoder.decode([0x89, 0x50, 0x4E, 0x47])) { XCTAssertEqual($0 as? JPEGError, .notJPEG) }
        XCTAssertThrowsError(try JPEGInfo.parse([])) { XCTAssertEqual($0 as? JPEGError, .notJPEG) }

        let sos = jpeg.indices.first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA }!
        var rng = ZlibTestRNG(seed: 7)
        var threw = 0
        for _ in 0..<300 {
            var bad = jpeg
            for _ in 0..<3 { bad[sos + 14 + Int(rng.next() % UInt64(jpeg.count - sos - 16))] = UInt8(truncatingIfNeeded: rng.next()) }
            do { _ = try JPEGDecoder.decode(bad) } catch { threw += 1; XCTAssert(error is JPEGError, "\(error)") }
        }
        XCTAssertGreaterThan(threw, 0)
        // A header that claims a huge image in a few bytes is refused before allocating it.
        var huge = jpeg
        let sof = jpeg.indices.first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }!
        huge[sof + 5] = 0x3F; huge[sof + 6] = 0xFF; huge[sof + 7] = 0x3F; huge[sof + 8] = 0xFF
        XCTAssertThrowsError(try JPEGDecoder.decode(huge)) { XCTAssert("\($0)".contains("cannot hold"), "\($0)") }
        XCTAssertThrowsError(try JPEGDecoder.decode(huge, maxPixels: 1000)) { XCTAssertEqual($0 as? JPEGError, .imageTooLarge(width: 16383, height: 16383, limit: 1000)) }
    }

    /// `colorTransform`: pydicom's SC_jpeg_no_color_transform.dcm holds RGB in a JPEG with neither
    /// JFIF nor Adobe marker; `.auto` follows libjpeg (YCbCr assumed, as Pillow shows it), `.asStored`
    /// gives the stored RGB, as the DICOM path (Photometric Interpretation RGB) does.
    func testColorTransformChoices() throws {
        let dir = TestSupport.temporaryDirectory("jpeg-color")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let testFiles = try TestSupport.pydicomDataDir() + "/test_files"
        let file = try DicomFile.read(path: "\(testFiles)/SC_jpeg_no_color_transform.dcm")
        let frame = Array(try PixelFrames.frame(0, of: file.dataSet, transferSyntax: file.transferSyntax))
        try Data(frame).write(to: URL(fileURLWithPath: "\(dir)/frame.jpg"))
        _ = try Self.runTool(dir, ["decode", dir, "frame"])
        let pillow = try Self.read("\(dir)/frame.pil")
        let info = try JPEGInfo.parse(frame)
        XCTAssertFalse(info.hasJFIF)
        XCTAssertNil(info.adobeTransform)
        XCTAssertEqual(info.colorSpace, .ycbcr)
        XCTAssertEqual(try JPEGDecoder.decode(frame, colorTransform: .auto).pixels, pillow)
        XCTAssertEqual(try JPEGDecoder.decode(frame, colorTransform: .ycbcr).pixels, pillow)
        let stored = try JPEGDecoder.decode(frame, colorTransform: .asStored)
        XCTAssertNotEqual(stored.pixels, pillow)
        XCTAssertEqual(try FrameRenderer.storedValues(file.dataSet, transferSyntax: file.transferSyntax), stored.pixels.map(Int.init))
    }

    func testTwelveBitImage() throws {
        let testFiles = try TestSupport.pydicomDataDir() + "/test_files"
        let file = try DicomFile.read(path: "\(testFiles)/JPGExtended.dcm")
        let frame = Array(try PixelFrames.frame(0, of: file.dataSet, transferSyntax: file.transferSyntax))
        let info = try JPEGInfo.parse(frame)
        XCTAssertEqual([info.width, info.height, info.precision, info.componentCount], [256, 1024, 12, 1])
        XCTAssertEqual(info.process, .extendedSequential)
        XCTAssertEqual(info.dicomTransferSyntaxUID, "1.2.840.10008.1.2.4.51")
        let image = try JPEGDecoder.decode(frame)
        XCTAssertEqual(image.precision, 12)
        XCTAssertEqual(image.pixels.count, 256 * 1024 * 2)
        let samples = Self.littleEndian16(image.pixels)
        XCTAssertGreaterThan(samples.max()!, 255, "12-bit values")
        XCTAssertLessThanOrEqual(samples.max()!, 4095)
        let png = image.pngImage
        XCTAssertEqual(png.bitDepth, 8)
        XCTAssertEqual(png.pixels.count, 256 * 1024)
    }

    // MARK: helpers

    /// A smooth, photograph-like test image with mild texture (deterministic).
    static func photo(_ w: Int, _ h: Int, channels: Int) -> PNGImage {
        var rng = ZlibTestRNG(seed: UInt64(w * 7919 + h))
        var pixels = [UInt8](repeating: 0, count: w * h * channels)
        for y in 0..<h {
            for x in 0..<w {
                let fx = Double(x), fy = Double(y)
                let noise = Double(Int(rng.next() % 7) - 3)
                let r: Double = 128 + 80 * sin(fx / 40 + fy / 70) + noise
                let wave: Double = cos(fx / 55) * sin(fy / 35)
                let g: Double = 120 + 70 * wave + noise
                let ramp: Double = Double(x + y) / Double(max(w + h - 2, 1))
                let b: Double = 60 + 120 * ramp + noise
                let i = (y * w + x) * channels
                if channels == 1 {
                    let luma: Double = 0.299 * r + 0.587 * g + 0.114 * b
                    pixels[i] = clamp(luma)
                } else {
                    pixels[i] = clamp(r); pixels[i + 1] = clamp(g); pixels[i + 2] = clamp(b)
                }
            }
        }
        return PNGImage(width: w, height: h, bitDepth: 8, channels: channels, pixels: pixels)
    }

    /// The RSTn markers (their second byte) in the entropy-coded data after the first SOS.
    static func restartMarkers(_ jpeg: [UInt8]) -> [UInt8] {
        guard let sos = jpeg.indices.first(where: { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA }) else { return [] }
        return (sos..<(jpeg.count - 1)).filter { jpeg[$0] == 0xFF && (0xD0...0xD7).contains(jpeg[$0 + 1]) }.map { jpeg[$0 + 1] }
    }

    static func littleEndian16(_ b: [UInt8]) -> [Int] {
        (0..<b.count / 2).map { (i: Int) -> Int in Int(b[2 * i]) | Int(b[2 * i + 1]) << 8 }
    }

    static func clamp(_ v: Double) -> UInt8 { UInt8(min(max(v.rounded(), 0), 255)) }

    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        var se = 0.0
        for i in a.indices { let d = Double(a[i]) - Double(b[i]); se += d * d }
        return se == 0 ? 99 : 10 * log10(255 * 255 / (se / Double(a.count)))
    }

    static func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Runs the Python tool (Pillow, numpy, pydicom) and returns its JSON report.
    static func runTool(_ dir: String, _ args: [String]) throws -> [String: Any] {
        let tool = dir + "/jpeg_tool.py"
        try pythonTool.write(toFile: tool, atomically: true, encoding: .utf8)
        let (status, out, err) = try TestSupport.run("python3", [tool] + args)
        guard status == 0 else { throw XCTSkipFailure("python3 with Pillow, numpy and pydicom is required (scripts/install-test-peers.sh): \(err)") }
        return try JSONSerialization.jsonObject(with: out) as! [String: Any]
    }

    static let pythonTool = #"""
    import io, json, os, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    from PIL import Image, JpegImagePlugin

    def segments(data):
        """Marker segments before the first SOS: (marker, payload)."""
        i, out = 2, []
        while i + 4 <= len(data):
            assert data[i] == 0xFF, "marker expected at %d" % i
            m = data[i + 1]
            n = data[i + 2] << 8 | data[i + 3]
            out.append((m, data[i + 4:i + 2 + n]))
            if m == 0xDA:
                break
            i += 2 + n
        return out

    def tables(data):
        dqt, dht = {}, {}
        for m, p in segments(data):
            j = 0
            while m == 0xDB and j < len(p):
                pq, tq = p[j] >> 4, p[j] & 15
                size = 64 * (pq + 1)
                vals = p[j + 1:j + 1 + size]
                dqt[str(tq)] = list(vals) if pq == 0 else [vals[2 * k] << 8 | vals[2 * k + 1] for k in range(64)]
                j += 1 + size
            while m == 0xC4 and j < len(p):
                counts = list(p[j + 1:j + 17])
                n = sum(counts)
                dht["%d-%d" % (p[j] >> 4, p[j] & 15)] = counts + list(p[j + 17:j + 17 + n])
                j += 17 + n
        return {"dqt": dqt, "dht": dht}

    def photo(w, h, mode, seed):
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:h, 0:w].astype(float)
        base = 128 + 70 * np.sin(x / 9 + y / 23) * np.cos(y / 13) + rng.normal(0, 6, (h, w))
        if mode == "L":
            return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        a = np.stack([base, 255 * x / max(w - 1, 1), 128 + 100 * np.cos(x / 17) * np.sin(y / 29)], -1)
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        return im.convert("CMYK") if mode == "CMYK" else im

    def decode(path):
        im = Image.open(path)
        im.load()
        info = {"mode": im.mode, "size": list(im.size), "jfif": "jfif" in im.info,
                "progressive": bool(im.info.get("progressive", 0))}
        if im.mode in ("RGB", "YCbCr"):
            info["subsampling"] = JpegImagePlugin.get_sampling(im)
        return im, info

    cmd, out = sys.argv[1], sys.argv[2]
    report = {}
    if cmd == "tables":
        for q in sys.argv[3:]:
            for channels in (1, 3):
                b = io.BytesIO()
                photo(16, 16, "L" if channels == 1 else "RGB", 1).save(b, "JPEG", quality=int(q), subsampling=0)
                with open(os.path.join(out, "pil-q%s-%d.jpg" % (q, channels)), "wb") as f:
                    f.write(b.getvalue())
        for name in sorted(os.listdir(out)):
            if name.endswith(".jpg"):
                with open(os.path.join(out, name), "rb") as f:
                    report[name] = tables(f.read())
    elif cmd == "decode":
        for name in sys.argv[3:]:
            try:
                im, info = decode(os.path.join(out, name + ".jpg"))
                np.asarray(im).tofile(os.path.join(out, name + ".pil"))
                report[name] = info
            except Exception as e:
                report[name] = {"error": str(e)}
    elif cmd == "make":
        files = []
        sampling = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
        seed = 0
        for (w, h) in [(1, 1), (7, 3), (16, 16), (97, 61), (33, 100), (250, 130)]:
            for mode in ("L", "RGB"):
                variants = [dict(quality=75), dict(quality=95), dict(quality=30), dict(quality=85, optimize=True),
                            dict(quality=80, restart_marker_blocks=2), dict(quality=80, restart_marker_rows=1)]
                if mode == "RGB":
                    variants += [dict(quality=90, subsampling=s) for s in (0, 1, 2)]
                    variants += [dict(quality=90, subsampling=0, qtables="keep")]
                for kw in variants:
                    seed += 1
                    name = "p%d-%dx%d-%s" % (seed, w, h, mode)
                    kw = {k: v for k, v in kw.items() if k != "qtables"}
                    b = io.BytesIO()
                    photo(w, h, mode, seed).save(b, "JPEG", **kw)
                    files.append({"name": name, "width": w, "height": h, "mode": mode, "progressive": False,
                                  "subsampling": sampling[kw.get("subsampling", 2)] if mode == "RGB" else None, "data": b.getvalue()})
        # 4:4:0 (vertical only): Pillow has no option; patch a 4:4:4 file's luma to 1x2 and let
        # libjpeg decode the result (the same coefficients, read with other sampling factors).
        for (w, h) in [(16, 16), (45, 37)]:
            b = io.BytesIO()
            photo(w, h, "RGB", 99).save(b, "JPEG", quality=90, subsampling=0)
            d = bytearray(b.getvalue())
            i = d.index(b"\xff\xc0")
            assert d[i + 11] == 0x11
            d[i + 11] = 0x12
            files.append({"name": "p440-%dx%d" % (w, h), "width": w, "height": h, "mode": "RGB", "progressive": False,
                          "subsampling": "4:4:0", "data": bytes(d)})
        for (w, h) in [(16, 16), (61, 33)]:
            for mode in ("L", "RGB", "CMYK"):
                b = io.BytesIO()
                photo(w, h, mode, 7).save(b, "JPEG", quality=85, progressive=(mode != "CMYK"))
                files.append({"name": "prog-%dx%d-%s" % (w, h, mode), "width": w, "height": h, "mode": mode,
                              "progressive": mode != "CMYK", "subsampling": None, "data": b.getvalue()})
        manifest = []
        for f in files:
            path = os.path.join(out, f["name"] + ".jpg")
            with open(path, "wb") as fh:
                fh.write(f.pop("data"))
            im, info = decode(path)
            np.asarray(im).tofile(os.path.join(out, f["name"] + ".pil"))
            if f["mode"] == "RGB" and f["subsampling"] not in (None, "4:4:0"):
                assert sampling[info["subsampling"]] == f["subsampling"], (f, info)
            manifest.append(f)
        report["files"] = manifest
    elif cmd == "dicom":
        import pydicom
        for path in sys.argv[3:]:
            name = os.path.basename(path)
            try:
                a = pydicom.dcmread(path).pixel_array  # YBR converted to RGB, as pydicom does by default
                a.astype(a.dtype.newbyteorder("<")).tofile(os.path.join(out, name + ".pyd"))
                report[name] = {"itemsize": a.dtype.itemsize, "shape": list(a.shape)}
            except Exception as e:
                report[name] = {"error": str(e)}
    json.dump(report, sys.stdout)
    """#
}
