#if canImport(Glibc)
import Glibc
#endif

extension DicomFile {
    /// The whole file as bytes (Part 10 when it has a preamble or meta group, else the bare data set).
    /// `transferSyntax`: transcode between the native syntaxes; nil keeps the one it has.
    public func encoded(transferSyntax target: TransferSyntax? = nil) throws -> [UInt8] {
        let out = OutputBuffer()
        try write(to: out, target: target)
        return out.bytes
    }

    /// Writes the file to `path` (created or truncated). `durable`: fsync before returning.
    /// (Atomic placement — temporary name, fsync, rename — is the store's job, which knows its layout.)
    public func write(toPath path: String, transferSyntax target: TransferSyntax? = nil, durable: Bool = false) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CodecError.io(path: path, errno: errno, operation: "create") }
        defer { close(fd) }
        let out = OutputBuffer(fd: fd, path: path)
        try write(to: out, target: target)
        try out.flush()
        if durable && fsync(fd) != 0 { throw CodecError.io(path: path, errno: errno, operation: "fsync") }
    }

    func write(to out: OutputBuffer, target: TransferSyntax?) throws {
        if preamble == nil && meta.isEmpty {
            // A bare data set whose bytes 128–131 happen to spell "DICM" would read back as a
            // Part 10 file (found by the reader fuzzer): such a data set gets a Part 10 header.
            let bare = OutputBuffer()
            try writeBody(to: bare, target: target)
            let b = bare.bytes
            if b.count >= 132 && b[128] == 0x44 && b[129] == 0x49 && b[130] == 0x43 && b[131] == 0x4D {
                let ts = target ?? transferSyntax
                var framed = self
                framed.preamble = [UInt8](repeating: 0, count: 128)
                framed.meta = DicomFile.makeMeta(sopClassUID: dataSet.string(.sopClassUID) ?? "", sopInstanceUID: dataSet.string(.sopInstanceUID) ?? "",
                                                 transferSyntax: ts)
                return try framed.writeBody(to: out, target: target)
            }
            return try out.append(contentsOf: b)
        }
        try writeBody(to: out, target: target)
    }

    private func writeBody(to out: OutputBuffer, target: TransferSyntax?) throws {
        let ts = target ?? transferSyntax
        var encoding = ts.encoding
        if ts.uid == transferSyntax.uid {
            encoding = self.encoding  // as read, even if the file lied about it
        } else if ts.isEncapsulated != transferSyntax.isEncapsulated || (ts.isEncapsulated && ts.uid != transferSyntax.uid) {
            throw CodecError.unsupportedTransferSyntax("cannot transcode \(transferSyntax.name) to \(ts.name): that needs an image codec; only native syntaxes transcode")
        }
        if let p = preamble {
            try out.append(contentsOf: p)
            try out.append(contentsOf: [0x44, 0x49, 0x43, 0x4D] as [UInt8])  // "DICM"
        }
        if !meta.isEmpty || preamble != nil {
            var m = meta
            if ts.uid != transferSyntax.uid || m[.transferSyntaxUID] == nil {
                m.set(DataElement(tag: .transferSyntaxUID, vr: .UI, bytes: DicomFile.uidBytes(ts.uid)))
            }
            if m[.fileMetaInformationGroupLength] == nil {
                m.set(DataElement(tag: .fileMetaInformationGroupLength, vr: .UL, bytes: [0, 0, 0, 0]))
            }
            // (0002,0000) is fixed up by the writer like every group length.
            try DataSetWriter(out: out).write(m, encoding: .explicitLittle)
        }
        if ts.isDeflated {
            let inner = OutputBuffer()
            var writer = DataSetWriter(out: inner)
            writer.recomputeGroupLengths = !transferSyntax.isDeflated
            try writer.write(dataSet, encoding: .explicitLittle)
            var deflated = try inner.bytes.withUnsafeBytes { try Zlib.deflateRaw($0) }
            if deflated.count % 2 == 1 { deflated.append(0) }  // PS3.5 A.5: padded to even length
            try out.append(contentsOf: deflated)
        } else {
            var writer = DataSetWriter(out: out)
            writer.recomputeGroupLengths = encoding != self.encoding
            try writer.write(dataSet, encoding: encoding)
        }
    }

    /// A data set alone, as DIMSE sends it (PS3.7 6.3.1): no preamble, no meta group.
    public static func encode(_ dataSet: DataSet, transferSyntax: TransferSyntax) throws -> [UInt8] {
        let out = OutputBuffer()
        if transferSyntax.isDeflated {
            let inner = OutputBuffer()
            try DataSetWriter(out: inner).write(dataSet, encoding: .explicitLittle)
            var deflated = try inner.bytes.withUnsafeBytes { try Zlib.deflateRaw($0) }
            if deflated.count % 2 == 1 { deflated.append(0) }  // PS3.5 A.5: padded to even length
            return deflated
        }
        try DataSetWriter(out: out).write(dataSet, encoding: transferSyntax.encoding)
        return out.bytes
    }

    /// A bare data set from bytes (e.g. a DIMSE command or data set), in a known transfer syntax.
    public static func decode(_ bytes: [UInt8], transferSyntax: TransferSyntax, options: ReadOptions = .default) throws -> DataSet {
        var input = bytes
        if transferSyntax.isDeflated {
            input = try bytes.withUnsafeBytes { try Zlib.inflateRaw($0, maxOutput: options.maxInflatedSize) }
        }
        var reader = DataSetReader(cursor: InputCursor(bytes: input), options: options)
        return try reader.readDataSet(encoding: transferSyntax.isDeflated ? .explicitLittle : transferSyntax.encoding,
                                      end: nil, isUndefinedItem: false, depth: 0, characterSet: .default, topLevel: true)
    }

    /// A UI value: ASCII, NUL-padded to even length (PS3.5 6.2).
    static func uidBytes(_ uid: String) -> [UInt8] {
        var b = Array(uid.utf8)
        if b.count % 2 == 1 { b.append(0) }
        return b
    }

    /// A File Meta group for a new object (PS3.10 7.1).
    public static func makeMeta(sopClassUID: String, sopInstanceUID: String, transferSyntax: TransferSyntax,
                                sourceAET: String? = nil) -> DataSet {
        var m = DataSet()
        m.set(DataElement(tag: .fileMetaInformationGroupLength, vr: .UL, bytes: [0, 0, 0, 0]))
        m.set(DataElement(tag: .fileMetaInformationVersion, vr: .OB, bytes: [0, 1]))
        m.set(DataElement(tag: .mediaStorageSOPClassUID, vr: .UI, bytes: uidBytes(sopClassUID)))
        m.set(DataElement(tag: .mediaStorageSOPInstanceUID, vr: .UI, bytes: uidBytes(sopInstanceUID)))
        m.set(DataElement(tag: .transferSyntaxUID, vr: .UI, bytes: uidBytes(transferSyntax.uid)))
        m.set(DataElement(tag: .implementationClassUID, vr: .UI, bytes: uidBytes(Implementation.classUID)))
        var version = Array(Implementation.versionName.utf8)
        if version.count % 2 == 1 { version.append(0x20) }
        m.set(DataElement(tag: .implementationVersionName, vr: .SH, bytes: version))
        if let aet = sourceAET {
            var a = Array(aet.utf8.prefix(16))
            if a.count % 2 == 1 { a.append(0x20) }
            m.set(DataElement(tag: .sourceApplicationEntityTitle, vr: .AE, bytes: a))
        }
        return m
    }
}

/// Who we are in File Meta and association negotiation (PS3.7 D.3.3.2).
public enum Implementation {
    /// Under the 2.25 UUID-derived root (PS3.5 B.2): no registered org root needed.
    public static let classUID = "2.25.191467262613786208731823402616389474331"
    public static let versionName = "DICOMNODE_01"
}
