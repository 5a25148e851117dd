#if canImport(Glibc)
import Glibc
#endif

/// A DICOM object as stored: Part 10 file (PS3.10 7.1: preamble, "DICM", File Meta group) or a bare data set.
public struct DicomFile: Sendable {
    /// The 128-byte preamble, kept for byte-exact rewriting; nil when the input had none.
    public var preamble: [UInt8]?
    /// The File Meta Information group (0002,xxxx), always Explicit VR Little Endian. Empty if absent.
    public var meta: DataSet
    public var dataSet: DataSet
    /// From (0002,0010), or detected from the bytes when the meta group is absent or lacks it.
    public var transferSyntax: TransferSyntax
    /// How the data set was actually encoded (differs from the transfer syntax in broken files).
    public var encoding: Encoding
    /// Deviations from the standard that the reader tolerated, one line each with the offset.
    public var warnings: [String]
    /// Where the data set starts in the input (after preamble and meta group): a sender can pass
    /// the stored bytes on unchanged from here instead of re-encoding them.
    public var dataSetOffset: Int?

    public init(meta: DataSet = DataSet(), dataSet: DataSet, transferSyntax: TransferSyntax,
                preamble: [UInt8]? = [UInt8](repeating: 0, count: 128)) {
        self.preamble = preamble
        self.meta = meta
        self.dataSet = dataSet
        self.transferSyntax = transferSyntax
        self.encoding = transferSyntax.encoding
        self.warnings = []
        self.dataSetOffset = nil
    }

    public var hasPart10Header: Bool { preamble != nil }

    // MARK: reading

    public static func read(path: String, options: ReadOptions = .default) throws -> DicomFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CodecError.io(path: path, errno: errno, operation: "open") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CodecError.io(path: path, errno: errno, operation: "stat") }
        let size = Int(st.st_size)
        if options.deferValuesLongerThan != nil || options.stopBefore != nil {
            // Lazy: read through a window, skipping large values; memory stays bounded by the window
            // and the values actually kept.
            return try read(cursor: InputCursor(fd: fd, path: path, size: size), options: options)
        }
        let bytes = try readWhole(fd: fd, size: size, path: path)
        return try read(cursor: InputCursor(bytes: bytes), options: options)
    }

    public static func read(bytes: [UInt8], options: ReadOptions = .default) throws -> DicomFile {
        try read(cursor: InputCursor(bytes: bytes), options: options)
    }

    static func readWhole(fd: Int32, size: Int, path: String) throws -> [UInt8] {
        var done = 0
        let bytes = try [UInt8](unsafeUninitializedCapacity: size) { buf, count in
            while done < size {
                let r = Glibc.read(fd, buf.baseAddress! + done, size - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    throw CodecError.io(path: path, errno: errno, operation: "read")
                }
                if r == 0 { break }
                done += r
            }
            count = done
        }
        return bytes
    }

    static func read(cursor: InputCursor, options: ReadOptions) throws -> DicomFile {
        var preamble: [UInt8]? = nil
        var warnings: [String] = []
        // PS3.10 7.1: 128-byte preamble then "DICM".
        if cursor.remaining >= 132 {
            try cursor.ensure(132, "preamble")
            if cursor.peekByte(at: 128) == 0x44, cursor.peekByte(at: 129) == 0x49,
               cursor.peekByte(at: 130) == 0x43, cursor.peekByte(at: 131) == 0x4D {
                preamble = Array(try cursor.take(128, "preamble"))
                try cursor.skip(4)
            }
        }
        if preamble == nil, cursor.remaining >= 4 {
            try cursor.ensure(4, "prefix")
            if cursor.peekByte(at: 0) == 0x44, cursor.peekByte(at: 1) == 0x49, cursor.peekByte(at: 2) == 0x43, cursor.peekByte(at: 3) == 0x4D {
                warnings.append("file starts with DICM without the 128-byte preamble")
                preamble = []
                try cursor.skip(4)
            }
        }

        var reader = DataSetReader(cursor: cursor, options: options)
        var meta = DataSet()
        // The meta group: read while the group is 0002 (its group length is often wrong or missing).
        if cursor.remaining >= 8 {
            try cursor.ensure(8, "file meta")
            if cursor.peekUInt16() == 0x0002 {
                let metaEncoding: Encoding = looksExplicit(cursor, littleEndian: true) ? .explicitLittle : .implicitLittle
                if !metaEncoding.explicitVR { warnings.append("file meta group is not Explicit VR Little Endian (PS3.10 7.1); read as implicit") }
                meta = try reader.readDataSet(encoding: metaEncoding, end: nil, isUndefinedItem: false, depth: 0,
                                              characterSet: .default, topLevel: true, onlyGroup: 0x0002)
            }
        }
        if preamble != nil && meta.isEmpty {
            throw CodecError.notDICOM(reason: "DICM prefix present but no File Meta group (0002,xxxx) follows")
        }

        guard cursor.remaining >= 0 else { throw CodecError.notDICOM(reason: "empty input") }
        var transferSyntax: TransferSyntax
        var encoding: Encoding
        let tsUID = meta[.transferSyntaxUID]?.rawStrings().first ?? ""
        if !tsUID.isEmpty {
            transferSyntax = TransferSyntax(uid: tsUID)
            encoding = transferSyntax.encoding
        } else {
            if !meta.isEmpty { warnings.append("file meta group has no Transfer Syntax UID (0002,0010); encoding detected from the data") }
            guard let detected = try detectEncoding(cursor) else {
                throw CodecError.notDICOM(reason: "no DICM prefix and the first bytes are not a DICOM data element")
            }
            encoding = detected
            transferSyntax = detected.explicitVR
                ? (detected.littleEndian ? .explicitVRLittleEndian : .explicitVRBigEndian)
                : .implicitVRLittleEndian
        }

        let dataSetOffset = cursor.offset
        let dataSet: DataSet
        if transferSyntax.isDeflated {
            // PS3.5 A.5: everything after the meta group is one raw DEFLATE stream of Explicit VR LE.
            let deflateStart = cursor.offset
            let compressed = try cursor.rest()
            let inflated: [UInt8]
            do {
                inflated = try compressed.withUnsafeBytes { try Zlib.inflateRaw($0, maxOutput: options.maxInflatedSize) }
            } catch ZlibError.outputLimitExceeded(_, let limit) {
                throw CodecError.tooLarge(offset: deflateStart, size: UInt64(limit) + 1, limit: UInt64(limit))
            } catch {
                throw CodecError.malformed(offset: deflateStart, reason: "deflated data set (PS3.5 A.5) does not inflate: \(error)")
            }
            var inner = DataSetReader(cursor: InputCursor(bytes: inflated), options: options)
            dataSet = try inner.readDataSet(encoding: .explicitLittle, end: nil, isUndefinedItem: false, depth: 0,
                                            characterSet: .default, topLevel: true)
            warnings += reader.warnings + inner.warnings.map { $0 + " (in the inflated stream)" }
        } else {
            if cursor.remaining >= 8 {
                try cursor.ensure(8, "first element")
                // Broken files claim one VR encoding and use the other; trust the bytes (as pydicom does).
                let explicit = looksExplicit(cursor, littleEndian: encoding.littleEndian)
                if explicit != encoding.explicitVR {
                    let g = cursor.peekUInt16(littleEndian: encoding.littleEndian)
                    let e = cursor.peekUInt16(at: 2, littleEndian: encoding.littleEndian)
                    let dictVR = DataDictionary.vr(for: Tag(group: g, element: e))
                    // Implicit→explicit only when the "VR" bytes agree with the dictionary: a length can look like letters.
                    if !encoding.explicitVR, explicit, let v = VR(byte0: cursor.peekByte(at: 4), byte1: cursor.peekByte(at: 5)), v == dictVR || dictVR == .UN {
                        warnings.append("transfer syntax says Implicit VR but the data set is Explicit VR; read as explicit")
                        encoding.explicitVR = true
                    } else if encoding.explicitVR && !explicit {
                        warnings.append("transfer syntax says Explicit VR but the data set is Implicit VR; read as implicit")
                        encoding.explicitVR = false
                    }
                }
            }
            dataSet = try reader.readDataSet(encoding: encoding, end: nil, isUndefinedItem: false, depth: 0,
                                             characterSet: .default, topLevel: true)
            warnings += reader.warnings
        }
        if preamble == nil && meta.isEmpty && dataSet.isEmpty {
            throw CodecError.notDICOM(reason: "no data elements found")
        }
        var file = DicomFile(meta: meta, dataSet: dataSet, transferSyntax: transferSyntax, preamble: preamble)
        file.encoding = encoding
        file.warnings = warnings
        file.dataSetOffset = dataSetOffset
        return file
    }

    /// Bytes 4-5 of the element at the cursor form a VR: explicit VR.
    static func looksExplicit(_ c: InputCursor, littleEndian: Bool) -> Bool {
        guard c.windowAvailable >= 6 else { return false }
        return VR(byte0: c.peekByte(at: 4), byte1: c.peekByte(at: 5)) != nil
    }

    /// A bare data set (no meta group): guess byte order from the first group number and VR presence.
    static func detectEncoding(_ c: InputCursor) throws -> Encoding? {
        guard c.remaining >= 8 else { return nil }
        try c.ensure(8, "first element")
        let le = c.peekUInt16(littleEndian: true)
        let be = c.peekUInt16(littleEndian: false)
        // Data sets start with a low group (0002..0028 usually); the byte order that gives the smaller
        // group is the right one.
        let littleEndian = le <= be
        let group = littleEndian ? le : be
        if group > 0x7FE0 && group != 0xFFFE { return nil }
        let explicit = looksExplicit(c, littleEndian: littleEndian)
        if !explicit && !littleEndian { return nil } // Implicit VR Big Endian does not exist
        return Encoding(explicitVR: explicit, littleEndian: littleEndian)
    }
}
