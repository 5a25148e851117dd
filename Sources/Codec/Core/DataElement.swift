/// Bytes of one value. A slice of the buffer the file was read into, so reading copies nothing.
/// Binary values are always held little endian: big-endian input is swapped on read and back on write.
public typealias Bytes = ArraySlice<UInt8>

/// Encapsulated pixel data (PS3.5 A.4): the Basic Offset Table item and the fragment items, as read.
public struct EncapsulatedPixelData: Sendable, Hashable {
    /// The value of the first item: empty, or 32-bit offsets of each frame's first fragment.
    public var offsetTable: Bytes
    public var fragments: [Bytes]
    public init(offsetTable: Bytes = [], fragments: [Bytes]) {
        self.offsetTable = offsetTable
        self.fragments = fragments
    }
    public var offsets: [UInt32] {
        offsetTable.withUnsafeBytes { raw in
            (0..<raw.count / 4).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        }
    }
}

/// A value left in its file (lazy reading): where it is and how to turn it into `Bytes`.
public struct DeferredValue: Sendable, Hashable {
    public let path: String
    public let offset: UInt64
    public let length: UInt32
    /// 2, 4 or 8 when the file is big endian and the value must be swapped on load; 1 otherwise.
    public let swapUnit: Int

    /// Reads the value from its file now.
    public func load() throws -> Bytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CodecError.io(path: path, errno: errno, operation: "open") }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: Int(length))
        var done = 0
        while done < Int(length) {
            let n = out.withUnsafeMutableBytes { buf in
                pread(fd, buf.baseAddress! + done, Int(length) - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw CodecError.io(path: path, errno: errno, operation: "read")
            }
            if n == 0 { throw CodecError.truncated(offset: Int(offset) + done, needed: Int(length) - done, context: "deferred value") }
            done += n
        }
        if swapUnit > 1 { ByteSwap.inPlace(&out, unit: swapUnit) }
        return out[...]
    }
}

public enum ElementValue: Sendable, Hashable {
    case bytes(Bytes)
    case sequence([DataSet])
    case encapsulated(EncapsulatedPixelData)
    case deferred(DeferredValue)
}

/// One data element (PS3.5 7.1): tag, VR and value, plus how its length was encoded
/// so a file can be written back exactly as it was read.
public struct DataElement: Sendable, Hashable {
    public var tag: Tag
    public var vr: VR
    public var value: ElementValue
    /// Written with the undefined length 0xFFFFFFFF (sequences, encapsulated pixel data, UN sequences).
    public var hasUndefinedLength: Bool
    /// The VR the input used when it differs from `vr`: an explicit UN for an element whose VR we know
    /// (PS3.5 6.2.2). Kept so an untouched file is written back as it came; nil for new elements.
    public var encodedVR: VR?

    public init(tag: Tag, vr: VR, value: ElementValue, undefinedLength: Bool? = nil) {
        self.tag = tag
        self.vr = vr
        self.value = value
        self.encodedVR = nil
        switch value {
        case .bytes, .deferred: hasUndefinedLength = undefinedLength ?? false
        case .sequence, .encapsulated: hasUndefinedLength = undefinedLength ?? true
        }
    }
    public init(tag: Tag, vr: VR, bytes: [UInt8]) {
        self.init(tag: tag, vr: vr, value: .bytes(bytes[...]))
    }

    /// The in-memory value bytes; empty for sequences and encapsulated data. Loads deferred values.
    public var bytes: Bytes {
        switch value {
        case .bytes(let b): return b
        case .deferred(let d): return (try? d.load()) ?? []
        case .sequence, .encapsulated: return []
        }
    }
    public var items: [DataSet]? {
        if case .sequence(let s) = value { return s }
        return nil
    }
    public var encapsulated: EncapsulatedPixelData? {
        if case .encapsulated(let e) = value { return e }
        return nil
    }
    /// Length of the value as it would be written with a defined length (deferred: without loading).
    public var valueLength: Int {
        switch value {
        case .bytes(let b): return b.count
        case .deferred(let d): return Int(d.length)
        case .sequence, .encapsulated: return -1
        }
    }
    public var isEmpty: Bool {
        switch value {
        case .bytes(let b): return b.isEmpty
        case .deferred(let d): return d.length == 0
        case .sequence(let s): return s.isEmpty
        case .encapsulated(let e): return e.fragments.isEmpty && e.offsetTable.isEmpty
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
