/// Parses data elements (PS3.5 7) from an `InputCursor` in one encoding.
/// Recursive over sequences with a depth limit; every length is checked against its container.
struct DataSetReader {
    let cursor: InputCursor
    let options: ReadOptions
    var warnings: [String] = []

    init(cursor: InputCursor, options: ReadOptions) {
        self.cursor = cursor
        self.options = options
    }

    private static let undefinedLength: UInt32 = 0xFFFF_FFFF

    /// Reads elements until `end` (absolute offset), an Item Delimitation Item (when `isUndefinedItem`),
    /// or the end of the input. Returns the data set and whether reading stopped at `stopBefore`.
    mutating func readDataSet(encoding: Encoding, end: Int?, isUndefinedItem: Bool, depth: Int,
                              characterSet: SpecificCharacterSet, topLevel: Bool = false,
                              onlyGroup: UInt16? = nil) throws -> DataSet {
        var ds = DataSet(undefinedLength: isUndefinedItem, characterSet: characterSet)
        let le = encoding.littleEndian
        var pixelRepresentation: Int = 0
        var inOrder = true   // while tags ascend, no tag can repeat; after a step back, check each one
        var bitsAllocated: Int = 16
        let limit = end ?? cursor.inputSize
        while true {
            let start = cursor.offset
            if start >= limit {
                if isUndefinedItem && end == nil && !options.allowTruncated {
                    throw CodecError.truncated(offset: start, needed: 8, context: "item delimitation item")
                }
                break
            }
            if options.allowTruncated && limit - start < 8 {
                warnings.append("ignored \(limit - start) byte(s) too short for an element at offset \(start)")
                try cursor.skip(limit - start)
                break
            }
            // Reading the meta group: whatever follows (even a 2-byte deflate stream) is not ours to judge.
            if onlyGroup != nil && limit - start < 8 { break }
            if topLevel && limit - start < 8 {
                // Fewer bytes than an element header: trailing junk after the last element.
                warnings.append("ignored \(limit - start) trailing byte(s) at offset \(start)")
                try cursor.skip(limit - start)
                break
            }
            try cursor.ensure(8, "element header")
            let group = cursor.peekUInt16(at: 0, littleEndian: le)
            let elem = cursor.peekUInt16(at: 2, littleEndian: le)
            let tag = Tag(group: group, element: elem)
            if let g = onlyGroup, group != g { break }
            if group == 0xFFFE {
                let length = cursor.peekUInt32(at: 4, littleEndian: le)
                cursor.position += 8
                if tag == .itemDelimitationItem {
                    if isUndefinedItem { break }
                    warnings.append("stray item delimitation item at offset \(start) ignored")
                    continue
                }
                if tag == .sequenceDelimitationItem && topLevel {
                    warnings.append("stray sequence delimitation item at offset \(start) ignored")
                    continue
                }
                throw CodecError.malformed(offset: start, reason: "unexpected \(tag) (length \(length)) inside a data set")
            }
            if topLevel, let stop = options.stopBefore, tag >= stop { break }

            var vr: VR
            var length: UInt32
            var headerSize = 8
            if encoding.explicitVR {
                if let v = VR(byte0: cursor.peekByte(at: 4), byte1: cursor.peekByte(at: 5)) {
                    vr = v
                    if v.hasLongLength {
                        try cursor.ensure(12, "element header")
                        length = cursor.peekUInt32(at: 8, littleEndian: le)
                        headerSize = 12
                    } else {
                        length = UInt32(cursor.peekUInt16(at: 6, littleEndian: le))
                    }
                } else {
                    // Not a VR: some writers mix implicit elements into explicit data sets. Read this one
                    // as implicit (the four bytes are a 32-bit length) and say so.
                    let b0 = cursor.peekByte(at: 4), b1 = cursor.peekByte(at: 5)
                    vr = DataDictionary.vr(for: tag)
                    length = cursor.peekUInt32(at: 4, littleEndian: le)
                    warnings.append("element \(tag) at offset \(start) has no valid VR (bytes \(b0),\(b1)); read as implicit VR \(vr)")
                }
            } else {
                vr = DataDictionary.vr(for: tag)
                if vr == .UN && tag.isPrivate, let known = privateVR(tag, in: ds) { vr = known }
                length = cursor.peekUInt32(at: 4, littleEndian: le)
                // Resolve the dictionary's "US or SS" / "OB or OW" choices as PS3.5 A.1 and the
                // Image Pixel module imply; the dictionary lists the default first.
                if vr == .US || vr == .OB || vr == .UN {
                    vr = resolveImplicitVR(tag: tag, vr: vr, pixelRepresentation: pixelRepresentation)
                }
            }
            cursor.position += headerSize

            let element: DataElement
            if length == DataSetReader.undefinedLength {
                if tag == .pixelData || vr == .OB || vr == .OW {
                    element = DataElement(tag: tag, vr: vr == .OW && tag != .pixelData ? .OW : (encoding.explicitVR ? vr : .OB),
                                          value: .encapsulated(try readEncapsulated(le: le, depth: depth)), undefinedLength: true)
                } else if vr == .SQ || vr == .UN || !encoding.explicitVR {
                    // UN with undefined length holds a sequence in Implicit VR Little Endian (PS3.5 6.2.2 note, CP-246).
                    let itemEncoding = vr == .UN ? Encoding.implicitLittle : encoding
                    let items = try readSequence(encoding: itemEncoding, end: nil, depth: depth + 1, characterSet: ds.characterSet)
                    element = DataElement(tag: tag, vr: encoding.explicitVR ? vr : .SQ, value: .sequence(items), undefinedLength: true)
                } else {
                    throw CodecError.invalidLength(tag: tag, offset: start, length: length, reason: "undefined length is not allowed for VR \(vr)")
                }
            } else {
                let valueStart = cursor.offset
                let containerEnd = end ?? cursor.inputSize
                if Int(length) > containerEnd - valueStart {
                    let reason = "value runs past the end of its \(end == nil ? "input" : "container") (\(containerEnd - valueStart) byte(s) left)"
                    guard options.allowTruncated else {
                        throw CodecError.invalidLength(tag: tag, offset: start, length: length, reason: reason)
                    }
                    warnings.append("\(tag) at offset \(start): length \(length) \(reason); read the \(containerEnd - valueStart) byte(s) there")
                    length = UInt32(max(0, containerEnd - valueStart))
                }
                var encodedVR: VR? = nil
                if vr == .UN && encoding.explicitVR, let known = knownVR(tag, in: ds, pixelRepresentation: pixelRepresentation) {
                    // An explicit UN whose VR we know: read it as what it is, as pydicom and DCMTK do,
                    // and remember the UN so the element is written back unchanged (PS3.5 6.2.2).
                    encodedVR = .UN
                    vr = known
                }
                if vr == .SQ && encodedVR == .UN {
                    // A defined-length UN that is a sequence holds its items in Implicit VR Little Endian.
                    let items = try readSequence(encoding: .implicitLittle, end: valueStart + Int(length), depth: depth + 1, characterSet: ds.characterSet)
                    var e = DataElement(tag: tag, vr: .SQ, value: .sequence(items), undefinedLength: false)
                    e.encodedVR = .UN
                    element = e
                } else if vr == .SQ {
                    let items = try readSequence(encoding: encoding, end: valueStart + Int(length), depth: depth + 1, characterSet: ds.characterSet)
                    element = DataElement(tag: tag, vr: .SQ, value: .sequence(items), undefinedLength: false)
                } else if let threshold = options.deferValuesLongerThan, cursor.isStreaming, Int(length) > threshold, let path = cursor.path {
                    let unit = le ? 1 : vr.unitSize
                    try cursor.skip(Int(length))
                    element = DataElement(tag: tag, vr: vr,
                                          value: .deferred(DeferredValue(path: path, offset: UInt64(valueStart), length: length, swapUnit: unit)))
                } else {
                    var bytes = try cursor.take(Int(length), "value of \(tag)")
                    if !le && vr.unitSize > 1 { bytes = ByteSwap.swapped(bytes, unit: vr.unitSize)[...] }
                    var e = DataElement(tag: tag, vr: vr, value: .bytes(bytes), undefinedLength: false)
                    e.encodedVR = encodedVR
                    element = e
                }
            }
            switch tag {
            case .specificCharacterSet: ds.characterSet = SpecificCharacterSet(terms: element.rawStrings())
            case .pixelRepresentation: pixelRepresentation = element.integers().first.map(Int.init) ?? 0
            case .bitsAllocated: bitsAllocated = element.integers().first.map(Int.init) ?? 16
            default: break
            }
            _ = bitsAllocated
            if let last = ds.elements.last?.tag, tag <= last { inOrder = false }
            if !inOrder && ds.contains(tag) {
                // A tag twice in one data set breaks every lookup after it; keep the first, as DCMTK does.
                warnings.append("\(tag) appears twice at offset \(start); the second one is ignored")
                continue
            }
            ds.appendRead(element)
        }
        return ds
    }

    private func resolveImplicitVR(tag: Tag, vr: VR, pixelRepresentation: Int) -> VR {
        guard let entry = DataDictionary.entry(for: tag), entry.vrs.count > 1 else { return vr }
        let vrs = entry.vrs
        if vrs.contains(.OW) && (vrs.contains(.OB) || tag == .pixelData) { return .OW } // PS3.5 A.1: implicit VR pixel data is OW
        if vrs.contains(.SS) && vrs.contains(.US) {
            // LUT Descriptor's first and third values are always US (PS3.3 C.11.1.1); the rest follow Pixel Representation.
            return pixelRepresentation == 1 && !isLUTDescriptor(tag) ? .SS : .US
        }
        return vr
    }

    /// The VR an element really has when the input said UN: dictionary, private dictionary, or LO for creators.
    private func knownVR(_ tag: Tag, in ds: DataSet, pixelRepresentation: Int) -> VR? {
        if tag.isPrivateCreator { return .LO }
        if tag.isPrivate { return privateVR(tag, in: ds) }
        if tag.isGroupLength { return .UL }
        let v = DataDictionary.vr(for: tag)
        guard v != .UN else { return nil }
        return resolveImplicitVR(tag: tag, vr: v, pixelRepresentation: pixelRepresentation)
    }

    /// A private data element's VR from the private dictionary, by the creator that reserved its block (PS3.5 7.8.1).
    private func privateVR(_ tag: Tag, in ds: DataSet) -> VR? {
        if tag.isPrivateCreator { return .LO }
        guard let creatorTag = tag.privateCreatorTag, let creator = ds[creatorTag]?.rawStrings().first else { return nil }
        guard let v = PrivateDictionary.vr(creator: creator, tag: tag), v != .UN else { return nil }
        return v
    }

    private func isLUTDescriptor(_ tag: Tag) -> Bool {
        tag.value == 0x0028_3002 || (tag.group == 0x0028 && (0x1101...0x1103).contains(tag.element))
    }

    /// Items of a sequence (PS3.5 7.5): until `end`, or a Sequence Delimitation Item when undefined.
    mutating func readSequence(encoding: Encoding, end: Int?, depth: Int, characterSet: SpecificCharacterSet) throws -> [DataSet] {
        guard depth <= options.maxNestingDepth else {
            throw CodecError.nestingTooDeep(offset: cursor.offset, limit: options.maxNestingDepth)
        }
        let le = encoding.littleEndian
        var items: [DataSet] = []
        while true {
            let start = cursor.offset
            if let end, start >= end { break }
            if options.allowTruncated && cursor.remaining < 8 {
                warnings.append("sequence cut short at offset \(start)")
                try cursor.skip(cursor.remaining)
                break
            }
            try cursor.ensure(8, end == nil ? "sequence delimitation item" : "item header")
            let tag = Tag(group: cursor.peekUInt16(at: 0, littleEndian: le), element: cursor.peekUInt16(at: 2, littleEndian: le))
            let length = cursor.peekUInt32(at: 4, littleEndian: le)
            cursor.position += 8
            if tag == .sequenceDelimitationItem {
                if end == nil { break }
                warnings.append("sequence delimitation item inside a defined-length sequence at offset \(start) ignored")
                continue
            }
            guard tag == .item else {
                throw CodecError.malformed(offset: start, reason: "expected an item (FFFE,E000) in a sequence, found \(tag)")
            }
            if length == DataSetReader.undefinedLength {
                items.append(try readDataSet(encoding: encoding, end: nil, isUndefinedItem: true, depth: depth, characterSet: characterSet))
            } else {
                var itemEnd = cursor.offset + Int(length)
                let containerEnd = end ?? cursor.inputSize
                if itemEnd > containerEnd {
                    guard options.allowTruncated else {
                        throw CodecError.invalidLength(tag: .item, offset: start, length: length, reason: "item runs past the end of its sequence")
                    }
                    warnings.append("item at offset \(start) runs past the end of its sequence; read up to the end")
                    itemEnd = containerEnd
                }
                let item = try readDataSet(encoding: encoding, end: itemEnd, isUndefinedItem: false, depth: depth, characterSet: characterSet)
                if cursor.offset != itemEnd { cursor.seek(to: itemEnd) }
                items.append(item)
            }
        }
        return items
    }

    /// Encapsulated pixel data (PS3.5 A.4): offset table item, fragment items, sequence delimiter.
    mutating func readEncapsulated(le: Bool, depth: Int) throws -> EncapsulatedPixelData {
        var table: Bytes? = nil
        var fragments: [Bytes] = []
        while true {
            let start = cursor.offset
            if options.allowTruncated && cursor.remaining < 8 {
                warnings.append("encapsulated pixel data cut short at offset \(start)")
                try cursor.skip(cursor.remaining)
                break
            }
            try cursor.ensure(8, "encapsulated pixel data item")
            let tag = Tag(group: cursor.peekUInt16(at: 0, littleEndian: le), element: cursor.peekUInt16(at: 2, littleEndian: le))
            let length = cursor.peekUInt32(at: 4, littleEndian: le)
            cursor.position += 8
            if tag == .sequenceDelimitationItem { break }
            guard tag == .item else {
                throw CodecError.malformed(offset: start, reason: "expected a fragment item (FFFE,E000) in encapsulated pixel data, found \(tag)")
            }
            var n = Int(length)
            if length == DataSetReader.undefinedLength || n > cursor.remaining {
                guard options.allowTruncated else {
                    throw CodecError.invalidLength(tag: .item, offset: start, length: length, reason: "fragment runs past the end of the input")
                }
                warnings.append("pixel data fragment at offset \(start) cut short")
                n = cursor.remaining
            }
            let value = try cursor.take(n, "pixel data fragment")
            if n < Int(length) || length == DataSetReader.undefinedLength {
                if table == nil { table = value } else { fragments.append(value) }
                break
            }
            if table == nil { table = value } else { fragments.append(value) }
        }
        return EncapsulatedPixelData(offsetTable: table ?? [], fragments: fragments)
    }
}
