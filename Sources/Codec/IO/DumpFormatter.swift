/// Text listing of a data set in the style of DCMTK's dcmdump: one line per element with tag,
/// VR, value (shortened), length, VM and keyword; sequences and items indented.
/// Writes bytes straight into a buffer: dumping thousands of files is bound by this formatting.
public struct DumpFormatter {
    /// Longest value text before it is cut with "...".
    public var maxValueLength = 64
    public init() {}

    public func format(_ file: DicomFile) -> String {
        var out: [UInt8] = []
        format(file, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public func format(_ file: DicomFile, into out: inout [UInt8]) {
        if !file.hasPart10Header && file.meta.isEmpty {
            out += Array("# Dicom-Data-Set (no File Meta Information)\n".utf8)
        } else {
            out += Array("# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n# Used TransferSyntax: Little Endian Explicit\n".utf8)
            format(file.meta, depth: 0, into: &out)
            out += Array("\n# Dicom-Data-Set\n".utf8)
        }
        out += Array("# Used TransferSyntax: \(file.transferSyntax.name)\n".utf8)
        format(file.dataSet, depth: 0, into: &out)
        for w in file.warnings { out += Array("# Warning: \(w)\n".utf8) }
    }

    public func format(_ ds: DataSet, depth: Int, into s: inout [UInt8]) {
        for e in ds.elements {
            let name = DumpFormatter.name(of: e.tag, in: ds)
            switch e.value {
            case .sequence(let items):
                line(&s, depth, e.tag, e.vr == .UN ? "UN" : "SQ",
                     text: "(Sequence with \(e.hasUndefinedLength ? "undefined" : "explicit") length #=\(items.count))",
                     length: e.hasUndefinedLength ? -1 : DataSetWriter.encodedLength(of: e, encoding: .explicitLittle) - 12,
                     vm: items.count, name: name)
                for item in items {
                    line(&s, depth + 1, .item, "na", text: "(Item with \(item.hasUndefinedLength ? "undefined" : "explicit") length #=\(item.count))",
                         length: item.hasUndefinedLength ? -1 : DataSetWriter.encodedLength(of: item, encoding: .explicitLittle), vm: 1, name: "Item")
                    format(item, depth: depth + 2, into: &s)
                    if item.hasUndefinedLength {
                        line(&s, depth + 1, .itemDelimitationItem, "na", text: "(ItemDelimitationItem)", length: 0, vm: 0, name: "ItemDelimitationItem")
                    }
                }
                if e.hasUndefinedLength {
                    line(&s, depth, .sequenceDelimitationItem, "na", text: "(SequenceDelimitationItem)", length: 0, vm: 0, name: "SequenceDelimitationItem")
                }
            case .encapsulated(let px):
                line(&s, depth, e.tag, e.vr.description, text: "(PixelSequence #=\(px.fragments.count + 1))", length: -1, vm: 1, name: name)
                for b in [px.offsetTable] + px.fragments {
                    var v: [UInt8] = []
                    hexBytes(b, into: &v)
                    line(&s, depth + 1, .item, "pi", value: v, length: b.count, vm: 1, name: "Item")
                }
                line(&s, depth, .sequenceDelimitationItem, "na", text: "(SequenceDelimitationItem)", length: 0, vm: 0, name: "SequenceDelimitationItem")
            case .deferred(let d):
                line(&s, depth, e.tag, e.vr.description, text: "(not loaded)", length: Int(d.length), vm: 1, name: name)
            case .bytes(let b):
                var v: [UInt8] = []
                v.reserveCapacity(min(b.count, maxValueLength) + 8)
                valueText(e, b, ds, into: &v)
                line(&s, depth, e.tag, e.vr.description, value: v, length: b.count, vm: e.valueMultiplicity, name: name)
            }
        }
    }

    private func line(_ s: inout [UInt8], _ depth: Int, _ tag: Tag, _ vr: String, text: String, length: Int, vm: Int, name: String) {
        line(&s, depth, tag, vr, value: Array(text.utf8), length: length, vm: vm, name: name)
    }

    private func line(_ s: inout [UInt8], _ depth: Int, _ tag: Tag, _ vr: String, value: [UInt8], length: Int, vm: Int, name: String) {
        let start = s.count
        for _ in 0..<depth { s.append(0x20); s.append(0x20) }
        s.append(0x28)  // (
        hex16(tag.group, into: &s); s.append(0x2C); hex16(tag.element, into: &s)
        s.append(0x29); s.append(0x20)
        s += vr.utf8
        s.append(0x20)
        s += value
        let width = s.count - start
        if width < 52 { s += repeatElement(0x20, count: 52 - width) }
        s += [0x20, 0x23, 0x20]  // " # "
        if length < 0 {
            s += Array(" u/l".utf8)
        } else {
            let digits = decimal(length)
            if digits.count < 4 { s += repeatElement(0x20, count: 4 - digits.count) }
            s += digits
        }
        s += [0x2C, 0x20]
        s += decimal(vm)
        s.append(0x20)
        s += name.utf8
        s.append(0x0A)
    }

    func valueText(_ e: DataElement, _ b: Bytes, _ ds: DataSet, into v: inout [UInt8]) {
        if b.isEmpty { v += Array("(no value available)".utf8); return }
        switch e.vr {
        case .OB, .UN:
            hexBytes(b, into: &v)
        case .OW, .OL, .OF, .OD, .OV:
            hexWords(b, unit: e.vr.unitSize, into: &v)
        case .US, .SS, .UL, .SL, .UV, .SV, .AT:
            let values: [String] = e.vr == .AT ? e.tagValues().map(\.description) : e.integers().map { e.vr == .UV ? String(UInt64(bitPattern: $0)) : String($0) }
            appendCut(Array(values.joined(separator: "\\").utf8), into: &v)
        case .FL, .FD:
            appendCut(Array(e.doubles().map { String($0) }.joined(separator: "\\").utf8), into: &v)
        case .UI:
            var end = b.endIndex
            while end > b.startIndex, b[end - 1] == 0 || b[end - 1] == 0x20 { end -= 1 }
            let uid = b[b.startIndex..<end]
            if uid.count > 10, uid.count < 64, let entry = UIDRegistry.entry(for: String(decoding: uid, as: UTF8.self)) {
                v.append(0x3D)  // =
                v += (entry.keyword.isEmpty ? entry.name : entry.keyword).utf8
            } else {
                v.append(0x5B); appendCut(Array(uid), into: &v); v.append(0x5D)
            }
        default:
            // The raw value less its trailing padding, as dcmdump shows it; text decoded when it is not ASCII.
            var end = b.endIndex
            while end > b.startIndex, b[end - 1] == 0 || b[end - 1] == 0x20 { end -= 1 }
            let raw = b[b.startIndex..<end]
            var text: [UInt8]
            if raw.allSatisfy({ $0 < 0x80 }) || (ds.characterSet.isUTF8 && e.vr.usesSpecificCharacterSet) {
                text = Array(raw)
            } else {
                text = Array(raw.withUnsafeBytes { ds.characterSet.decode($0, vr: e.vr) }.utf8)
            }
            if text.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
                text = text.flatMap { $0 == 0x0D ? [0x5C, 0x72] : $0 == 0x0A ? [0x5C, 0x6E] : [$0] }
            }
            v.append(0x5B); appendCut(text, into: &v); v.append(0x5D)
        }
    }

    private func appendCut(_ text: [UInt8], into v: inout [UInt8]) {
        if text.count <= maxValueLength { v += text; return }
        var n = maxValueLength
        while n > 0 && text[n] & 0xC0 == 0x80 { n -= 1 }  // never cut inside a UTF-8 sequence
        v += text[0..<n]
        v += [0x2E, 0x2E, 0x2E]
    }

    private func hexBytes(_ b: Bytes, into v: inout [UInt8]) {
        let shown = min(b.count, maxValueLength / 3 + 1)
        var i = b.startIndex
        for k in 0..<shown {
            if k > 0 { v.append(0x5C) }
            hex8(b[i], into: &v)
            i += 1
        }
        if b.count > shown { v += [0x2E, 0x2E, 0x2E] }
    }

    private func hexWords(_ b: Bytes, unit: Int, into v: inout [UInt8]) {
        let count = b.count / unit
        let shown = min(count, maxValueLength / (unit * 2 + 1) + 1)
        b.withUnsafeBytes { raw in
            for i in 0..<shown {
                if i > 0 { v.append(0x5C) }
                for j in (0..<unit).reversed() { hex8(raw[i * unit + j], into: &v) }
            }
        }
        if count > shown { v += [0x2E, 0x2E, 0x2E] }
    }

    @inline(__always) private func hex8(_ x: UInt8, into v: inout [UInt8]) {
        v.append(DumpFormatter.hexDigits[Int(x >> 4)])
        v.append(DumpFormatter.hexDigits[Int(x & 15)])
    }
    @inline(__always) private func hex16(_ x: UInt16, into v: inout [UInt8]) {
        hex8(UInt8(x >> 8), into: &v)
        hex8(UInt8(x & 0xFF), into: &v)
    }
    private func decimal(_ n: Int) -> [UInt8] { Array(String(n).utf8) }
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Keyword for a tag; for private data elements "PrivateTag" and the creator that reserved its block.
    static func name(of tag: Tag, in ds: DataSet) -> String {
        if let creatorTag = tag.privateCreatorTag {
            let creator = ds[creatorTag]?.rawStrings().first
            if let creator, let entry = PrivateDictionary.entry(creator: creator, tag: tag) {
                return "\(entry.name) [\(creator)]"
            }
            return creator.map { "PrivateTag [\($0)]" } ?? "PrivateTag"
        }
        if tag.isPrivateCreator { return "PrivateCreator" }
        if tag.isGroupLength { return tag.group == 0x0002 ? "FileMetaInformationGroupLength" : "GroupLength" }
        if let entry = DataDictionary.entry(for: tag) { return entry.keyword.isEmpty ? entry.name : entry.keyword }
        return tag.isPrivate ? "PrivateTag" : "UnknownTagAndData"
    }
}
