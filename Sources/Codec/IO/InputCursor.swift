#if canImport(Glibc)
import Glibc
#endif

/// Reads bytes either from one in-memory buffer (the fast path: a whole file read at once, values
/// are slices of it) or from a file through a sliding window (lazy reading: large values are skipped
/// and left in the file). Every read is bounds-checked against what the input really holds,
/// so a hostile length can never make us allocate more than the input's size.
final class InputCursor {
    private(set) var buffer: [UInt8]
    /// Absolute offset of buffer[0] in the input.
    private(set) var bufferStart: Int
    var position: Int                 // index into buffer
    let fd: Int32                     // -1: memory only
    let path: String?
    let inputSize: Int                // total bytes in the input
    /// Window size for lazy reading: a header is usually a few KiB and values longer than the
    /// lazy threshold are skipped, so a small window reads far less than it would skip.
    private let chunk = 64 * 1024

    init(bytes: [UInt8]) {
        buffer = bytes
        bufferStart = 0
        position = 0
        fd = -1
        path = nil
        inputSize = bytes.count
    }

    init(fd: Int32, path: String, size: Int, startingAt offset: Int = 0) {
        buffer = []
        bufferStart = offset
        position = 0
        self.fd = fd
        self.path = path
        inputSize = size
    }

    @inline(__always) var offset: Int { bufferStart + position }
    @inline(__always) var remaining: Int { inputSize - offset }
    @inline(__always) var atEnd: Bool { offset >= inputSize }
    var isStreaming: Bool { fd >= 0 }

    @inline(__always) func ensure(_ n: Int, _ context: @autoclosure () -> String) throws {
        if buffer.count - position >= n { return }
        guard n <= remaining else {
            throw CodecError.truncated(offset: offset, needed: n - max(remaining, 0), context: context())
        }
        try refill(atLeast: n)
    }

    private func refill(atLeast n: Int) throws {
        guard fd >= 0 else { throw CodecError.truncated(offset: offset, needed: n, context: "data") }
        let start = offset
        let want = min(max(n, chunk), inputSize - start)
        // A new array each time: values already sliced from the old window keep their storage.
        // Filled by pread, so it is not zeroed first.
        let fresh = try [UInt8](unsafeUninitializedCapacity: want) { raw, count in
            var done = 0
            while done < want {
                let r = pread(fd, raw.baseAddress! + done, want - done, off_t(start + done))
                if r < 0 {
                    if errno == EINTR { continue }
                    throw CodecError.io(path: path ?? "input", errno: errno, operation: "read")
                }
                if r == 0 { throw CodecError.truncated(offset: start + done, needed: want - done, context: "file shrank while reading") }
                done += r
            }
            count = want
        }
        buffer = fresh
        bufferStart = start
        position = 0
    }

    @inline(__always) func peekUInt16(at delta: Int = 0, littleEndian: Bool = true) -> UInt16 {
        let v = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position + delta, as: UInt16.self) }
        return littleEndian ? UInt16(littleEndian: v) : UInt16(bigEndian: v)
    }
    @inline(__always) func peekUInt32(at delta: Int = 0, littleEndian: Bool = true) -> UInt32 {
        let v = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position + delta, as: UInt32.self) }
        return littleEndian ? UInt32(littleEndian: v) : UInt32(bigEndian: v)
    }
    @inline(__always) func peekByte(at delta: Int) -> UInt8 { buffer[position + delta] }
    /// Bytes available in the window without a refill.
    @inline(__always) var windowAvailable: Int { buffer.count - position }

    /// The next `n` bytes as a slice (sharing the window's storage).
    @inline(__always) func take(_ n: Int, _ context: @autoclosure () -> String) throws -> Bytes {
        try ensure(n, context())
        let s = buffer[position ..< position + n]
        position += n
        return s
    }

    func skip(_ n: Int) throws {
        guard n <= remaining else { throw CodecError.truncated(offset: offset, needed: n - remaining, context: "skipped value") }
        if n <= buffer.count - position {
            position += n
        } else {
            bufferStart = offset + n
            buffer = []
            position = 0
        }
    }

    func seek(to absolute: Int) {
        if absolute >= bufferStart && absolute <= bufferStart + buffer.count {
            position = absolute - bufferStart
        } else {
            bufferStart = absolute
            buffer = []
            position = 0
        }
    }

    /// All bytes from here to the end (used for the deflated stream).
    func rest() throws -> [UInt8] {
        let n = remaining
        try ensure(n, "rest of input")
        let a = Array(buffer[position ..< position + n])
        position += n
        return a
    }
}
