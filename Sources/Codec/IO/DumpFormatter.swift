/// Text listing of a data set in the style of DCMTK's dcmdump: one line per element with tag,
/// VR, value (shortened), length, VM and keyword; sequences and items indented.
public struct DumpFormatter {
    /// Longest value text before it is cut with "...".
    public var maxValueLength = 64
    public init() {}

    public func format(_ file: DicomFile) -> String {
        var s = "# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n# Used TransferSyntax: Little Endian Explicit\n"
        if !file.hasPart10Header && file.meta.isEmpty {
            s = "# Dicom-Data-Set (no File Meta Information)\n"
        } else {
            format(file.meta, depth: 0, into: &s)
            s += "\n# Dicom-Data-Set\n"
        }
        s += "# Used TransferSyntax: \(file.transferSyntax.name)\n"
        format(file.dataSet, depth: 0, into: &s)
        for w in file.warnings { s += "# Warning: \(w)\n" }
        return s
    }

    public func format(_ ds: DataSet, depth: Int, into s: inout String) {
        let indent = String(repeating: "  ", count: depth)
        for e in ds.elements {
            let (name, privateCreator) = DumpFormatter.name(of: e.tag, in: ds)
            let keyword = privateCreator.map { "\(name) [\($0)]" } ?? name
            switch e.value {
            case .sequence(let items):
                line(&s, indent, e.tag, e.vr == .UN ? "UN" : "SQ",
                     "(Sequence with \(e.hasUndefinedLength ? "undefined" : "explicit") length #=\(items.count))",
                     e.hasUndefinedLength ? "u/l" : "\(DataSetWriter.encodedLength(of: e, encoding: .explicitLittle) - 12)",
                     items.count, keyword)
                for item in items {
                    line(&s, indent + "  ", .item, "na", "(Item with \(item.hasUndefinedLength ? "undefined" : "explicit") length #=\(item.count))",
                         item.hasUndefinedLength ? "u/l" : "\(DataSetWriter.encodedLength(of: item, encoding: .explicitLittle))", 1, "Item")
                    format(item, depth: depth + 2, into: &s)
                    if item.hasUndefinedLength {
                        line(&s, indent + "  ", .itemDelimitationItem, "na", "(ItemDelimitationItem)", "0", 0, "ItemDelimitationItem")
                    }
                }
                if e.hasUndefinedLength {
                    line(&s, indent, .sequenceDelimitationItem, "na", "(SequenceDelimitationItem)", "0", 0, "SequenceDelimitationItem")
                }
            case .encapsulated(let px):
                line(&s, indent, e.tag, e.vr.description, "(PixelSequence #=\(px.fragments.count + 1))", "u/l", 1, keyword)
                for b in [px.offsetTable] + px.fragments {
                    line(&s, indent + "  ", .item, "pi", hexPreview(b), "\(b.count)", 1, "Item")
                }
                line(&s, indent, .sequenceDelimitationItem, "na", "(SequenceDelimitationItem)", "0", 0, "SequenceDelimitationItem")
            case .deferred(let d):
                line(&s, indent, e.tag, e.vr.description, "(not loaded)", "\(d.length)", 1, keyword)
            case .bytes:
                line(&s, indent, e.tag, e.vr.description, valueText(e, ds), "\(e.valueLength)", e.valueMultiplicity, keyword)
            }
        }
    }

    private func line(_ s: inout String, _ indent: String, _ tag: Tag, _ vr: String, _ value: String, _ length: String, _ vm: Int, _ name: String) {
        var head = indent + tag.description.lowercased() + " " + vr + " " + value
        if head.count < 52 { head += String(repeating: " ", count: 52 - head.count) }
        let len = length.count < 4 ? String(repeating: " ", count: 4 - length.count) + length : length
        s += head + " # " + len + ", " + String(vm) + " " + name + "\n"
    }

    func valueText(_ e: DataElement, _ ds: DataSet) -> String {
        if e.isEmpty { return "(no value available)" }
        switch e.vr {
        case .OB, .UN:
            return hexPreview(e.bytes)
        case .OW, .OL, .OF, .OD, .OV, .US, .SS, .UL, .SL, .FL, .FD, .UV, .SV, .AT:
            if [.OW, .OL, .OF, .OD, .OV].contains(e.vr) { return wordPreview(e) }
            let values = e.strings()
            return cut(values.joined(separator: "\\"))
        case .UI:
            let uid = e.strings().first ?? ""
            if let entry = UIDRegistry.entry(for: uid) { return "=" + (entry.keyword.isEmpty ? entry.name : entry.keyword) }
            return "[" + cut(uid) + "]"
        default:
            let text = e.strings(characterSet: ds.characterSet).joined(separator: "\\")
            return "[" + cut(text.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")) + "]"
        }
    }

    private func cut(_ s: String) -> String {
        s.count > maxValueLength ? String(s.prefix(maxValueLength)) + "..." : s
    }

    private func hexPreview(_ b: Bytes) -> String {
        var out = ""
        for (i, byte) in b.prefix(maxValueLength / 3 + 1).enumerated() {
            if i > 0 { out += "\\" }
            out += hex2(byte)
        }
        return b.count > maxValueLength / 3 + 1 ? out + "..." : out
    }

    private func wordPreview(_ e: DataElement) -> String {
        let unit = e.vr.unitSize
        let b = e.bytes
        let shown = min(b.count / unit, maxValueLength / (unit * 2 + 1) + 1)
        var out = ""
        b.withUnsafeBytes { raw in
            for i in 0..<shown {
                if i > 0 { out += "\\" }
                for j in (0..<unit).reversed() { out += hex2(raw[i * unit + j]) }
            }
        }
        return b.count / unit > shown ? out + "..." : out
    }

    private func hex2(_ v: UInt8) -> String {
        let d: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        return String([d[Int(v >> 4)], d[Int(v & 15)]])
    }

    /// Keyword for a tag; for private data elements "PrivateTag" and the creator that reserved its block.
    static func name(of tag: Tag, in ds: DataSet) -> (String, String?) {
        if let creatorTag = tag.privateCreatorTag {
            let creator = ds[creatorTag]?.rawStrings().first
            return ("PrivateTag", creator)
        }
        if tag.isGroupLength { return (tag.group == 0x0002 ? "FileMetaInformationGroupLength" : "GroupLength", nil) }
        if let entry = DataDictionary.entry(for: tag) { return (entry.keyword.isEmpty ? entry.name : entry.keyword, nil) }
        return (tag.isPrivate ? "PrivateTag" : "Unknown Tag & Data", nil)
    }
}
