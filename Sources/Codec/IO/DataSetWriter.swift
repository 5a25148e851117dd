/// Encodes data sets (PS3.5 7) in one encoding, keeping each element's length form
/// (defined/undefined) as it was read so untouched files round-trip byte for byte.
struct DataSetWriter {
    let out: OutputBuffer
    /// Rewrite (gggg,0000) values from the elements that follow. The meta group's always is; other
    /// group lengths are retired (PS3.5 7.2) and often wrong in the wild, so a plain rewrite keeps
    /// them as read (byte-exact), while transcoding, which changes every length, recomputes them.
    var recomputeGroupLengths = true

    private static let undefined: UInt32 = 0xFFFF_FFFF

    func write(_ ds: DataSet, encoding: Encoding) throws {
        let elements = ds.elements
        for (i, e) in elements.enumerated() {
            if recomputeGroupLengths && e.tag.isGroupLength && e.vr == .UL && e.valueLength == 4 && e.tag.group != 0 {
                // Group lengths are recomputed so they stay true after edits or transcoding (PS3.5 7.2).
                var total = 0
                var j = i + 1
                while j < elements.count && elements[j].tag.group == e.tag.group {
                    total += DataSetWriter.encodedLength(of: elements[j], encoding: encoding)
                    j += 1
                }
                var fixed = e
                fixed.value = .bytes(withUnsafeBytes(of: UInt32(total).littleEndian) { Array($0) }[...])
                try write(fixed, encoding: encoding)
            } else {
                try write(e, encoding: encoding)
            }
        }
    }

    /// The VR actually written: values too long for a 16-bit length go out as UN (PS3.5 6.2.2).
    @inline(__always) static func writtenVR(_ e: DataElement) -> VR {
        if let original = e.encodedVR { return original }
        if !e.vr.hasLongLength && e.valueLength > 0xFFFF { return .UN }
        if case .sequence = e.value, e.vr != .UN { return .SQ }
        return e.vr
    }

    private func header(_ tag: Tag, vr: VR, length: UInt32, encoding: Encoding) {
        let le = encoding.littleEndian
        out.u16(tag.group, le)
        out.u16(tag.element, le)
        if encoding.explicitVR {
            let (a, b) = vr.bytes
            out.append(a); out.append(b)
            if vr.hasLongLength {
                out.append(0); out.append(0)
                out.u32(length, le)
            } else {
                out.u16(UInt16(length), le)
            }
        } else {
            out.u32(length, le)
        }
    }

    func write(_ e: DataElement, encoding: Encoding) throws {
        let le = encoding.littleEndian
        let vr = DataSetWriter.writtenVR(e)
        switch e.value {
        case .bytes, .deferred:
            let value = e.value
            var b: Bytes
            if case .bytes(let x) = value { b = x } else if case .deferred(let d) = value { b = try d.load() } else { b = [] }
            header(e.tag, vr: vr, length: UInt32(b.count), encoding: encoding)
            // Swap by the element's own VR: a known VR written as UN keeps its original byte order.
            if !le && e.vr.unitSize > 1 && (vr == e.vr || e.encodedVR != nil) { b = ByteSwap.swapped(b, unit: e.vr.unitSize)[...] }
            try out.append(contentsOf: b)
        case .sequence(let items):
            // UN sequences keep their items in Implicit VR Little Endian (PS3.5 6.2.2).
            let itemEncoding = (vr == .UN && encoding.explicitVR) ? Encoding.implicitLittle : encoding
            let length = e.hasUndefinedLength ? DataSetWriter.undefined
                : UInt32(items.reduce(0) { $0 + DataSetWriter.encodedLength(ofItem: $1, encoding: itemEncoding) })
            header(e.tag, vr: vr, length: length, encoding: encoding)
            for item in items {
                out.u16(0xFFFE, itemEncoding.littleEndian); out.u16(0xE000, itemEncoding.littleEndian)
                if item.hasUndefinedLength {
                    out.u32(DataSetWriter.undefined, itemEncoding.littleEndian)
                    try write(item, encoding: itemEncoding)
                    out.u16(0xFFFE, itemEncoding.littleEndian); out.u16(0xE00D, itemEncoding.littleEndian); out.u32(0, itemEncoding.littleEndian)
                } else {
                    out.u32(UInt32(DataSetWriter.encodedLength(of: item, encoding: itemEncoding)), itemEncoding.littleEndian)
                    try write(item, encoding: itemEncoding)
                }
            }
            if e.hasUndefinedLength {
                out.u16(0xFFFE, le); out.u16(0xE0DD, le); out.u32(0, le)
            }
        case .encapsulated(let px):
            header(e.tag, vr: vr, length: DataSetWriter.undefined, encoding: encoding)
            for (i, frag) in ([px.offsetTable] + px.fragments).enumerated() {
                _ = i
                out.u16(0xFFFE, le); out.u16(0xE000, le); out.u32(UInt32(frag.count), le)
                try out.append(contentsOf: frag)
            }
            out.u16(0xFFFE, le); out.u16(0xE0DD, le); out.u32(0, le)
        }
    }

    // MARK: lengths without encoding

    static func headerLength(_ vr: VR, _ encoding: Encoding) -> Int {
        encoding.explicitVR && !vr.hasLongLength ? 8 : (encoding.explicitVR ? 12 : 8)
    }

    static func encodedLength(of e: DataElement, encoding: Encoding) -> Int {
        let vr = writtenVR(e)
        let h = headerLength(vr, encoding)
        switch e.value {
        case .bytes, .deferred:
            return h + e.valueLength
        case .sequence(let items):
            let itemEncoding = (vr == .UN && encoding.explicitVR) ? Encoding.implicitLittle : encoding
            let body = items.reduce(0) { $0 + encodedLength(ofItem: $1, encoding: itemEncoding) }
            return h + body + (e.hasUndefinedLength ? 8 : 0)
        case .encapsulated(let px):
            return h + 8 + px.offsetTable.count + px.fragments.reduce(0) { $0 + 8 + $1.count } + 8
        }
    }

    static func encodedLength(of ds: DataSet, encoding: Encoding) -> Int {
        ds.elements.reduce(0) { $0 + encodedLength(of: $1, encoding: encoding) }
    }

    static func encodedLength(ofItem item: DataSet, encoding: Encoding) -> Int {
        8 + encodedLength(of: item, encoding: encoding) + (item.hasUndefinedLength ? 8 : 0)
    }
}
