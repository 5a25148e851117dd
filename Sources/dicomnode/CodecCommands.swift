import Foundation
import Codec

struct DumpCommand: Command {
    let summary = "print DICOM files like dcmdump (folders are walked recursively)"
    let help = """
    usage: dicomnode dump [options] PATH...

    Prints every data element of each file: tag, VR, value, length, VM and keyword.
    Folders are read recursively. Exit status 1 if any file could not be read.

    options:
      --header-only     stop before Pixel Data (does not read it from disk)
      --lazy            leave values over 64 KiB in the file
      --quiet           parse only, print nothing but errors (for timing)
      --allow-truncated read what is there of a damaged file (values or items cut short), with warnings
      --max-length N    cut values longer than N characters (default 64)
    """

    func run(_ args: [String]) -> Int32 {
        let parsed: ParsedArguments
        do { parsed = try ParsedArguments(args, valued: ["--max-length"], switches: ["--header-only", "--lazy", "--quiet", "--allow-truncated"]) } catch {
            complain("\(error)"); return 2
        }
        guard !parsed.positional.isEmpty else { complain("dump: no file given"); return 2 }
        var options = ReadOptions.default
        if parsed.flags.contains("--header-only") { options.stopBefore = .pixelData }
        if parsed.flags.contains("--lazy") { options.deferValuesLongerThan = 64 * 1024 }
        if parsed.flags.contains("--allow-truncated") { options.allowTruncated = true }
        var formatter = DumpFormatter()
        if let m = parsed.options["--max-length"], let n = Int(m) { formatter.maxValueLength = n }
        let quiet = parsed.flags.contains("--quiet")
        let out = StandardOutput()
        var failed = 0
        for path in expandPaths(parsed.positional) {
            do {
                let file = try DicomFile.read(path: path, options: options)
                if !quiet {
                    out.write("\n# \(path)\n")
                    formatter.format(file, into: &out.buffer)
                    out.flushIfLarge()
                }
            } catch {
                out.flush()
                complain("\(path): \(error)")
                failed += 1
            }
        }
        out.flush()
        return failed == 0 ? 0 : 1
    }
}

struct JSONCommand: Command {
    let summary = "print a DICOM file in the DICOM JSON model (PS3.18 F)"
    let help = """
    usage: dicomnode json [--meta] FILE

    Prints the data set as DICOM JSON (PS3.18 Annex F), keys sorted.
      --meta    include the File Meta group (0002,xxxx)
    """

    func run(_ args: [String]) -> Int32 {
        let parsed: ParsedArguments
        do { parsed = try ParsedArguments(args, valued: [], switches: ["--meta"]) } catch { complain("\(error)"); return 2 }
        guard parsed.positional.count == 1 else { complain("json: give exactly one file"); return 2 }
        do {
            let file = try DicomFile.read(path: parsed.positional[0])
            var ds = file.dataSet
            if parsed.flags.contains("--meta") { for e in file.meta.elements { ds.set(e) } }
            let data = try JSONModel.data(ds, pretty: true)
            FileHandle.standardOutput.write(data)
            print()
            return 0
        } catch {
            complain("\(parsed.positional[0]): \(error)")
            return 1
        }
    }
}

struct PNGCommand: Command {
    let summary = "render one frame of a DICOM image to an 8-bit PNG"
    let help = """
    usage: dicomnode png [options] FILE OUT.png

    Applies the Modality LUT (rescale) and VOI windowing: the given window, else the file's
    first Window Center/Width, else the frame's min-max. MONOCHROME1 is inverted; RGB, YBR
    and PALETTE COLOR become RGB. Native, RLE Lossless and JPEG Baseline/Extended pixel data.

    options:
      --frame N           frame index, from 0 (default 0)
      --window C W        window center and width
    """

    func run(_ args: [String]) -> Int32 {
        var args = args
        var window: (Double, Double)? = nil
        if let i = args.firstIndex(of: "--window") {
            guard i + 2 < args.count, let c = Double(args[i + 1]), let w = Double(args[i + 2]) else {
                complain("png: --window needs a center and a width"); return 2
            }
            window = (c, w)
            args.removeSubrange(i...(i + 2))
        }
        let parsed: ParsedArguments
        do { parsed = try ParsedArguments(args, valued: ["--frame"], switches: []) } catch { complain("\(error)"); return 2 }
        guard parsed.positional.count == 2 else { complain("png: give an input file and an output file"); return 2 }
        var options = RenderOptions()
        if let f = parsed.options["--frame"] {
            guard let n = Int(f), n >= 0 else { complain("png: --frame takes a number from 0"); return 2 }
            options.frame = n
        }
        if let (c, w) = window { options.windowCenter = c; options.windowWidth = w }
        do {
            let file = try DicomFile.read(path: parsed.positional[0])
            let png = try FrameRenderer.png(file.dataSet, transferSyntax: file.transferSyntax, options: options)
            guard FileManager.default.createFile(atPath: parsed.positional[1], contents: Data(png)) else {
                complain("png: cannot write \(parsed.positional[1])"); return 1
            }
            return 0
        } catch {
            complain("\(parsed.positional[0]): \(error)")
            return 1
        }
    }
}
