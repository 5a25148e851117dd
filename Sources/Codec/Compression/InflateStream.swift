import CZlib

/// Incremental inflation: compressed bytes go in piece by piece as they arrive (an HTTP body, a
/// file) and each decompressed piece goes to a sink, so neither side is held whole. The mirror of
/// `DeflateStream`; HTTP bodies use it with `Content-Encoding: gzip` (RFC 1952) or `deflate`
/// (RFC 1950; RFC 9110 §8.4.1.2).
///
/// The stream must end exactly where the input ends: bytes after its end are refused (an HTTP
/// body carries one stream), and `finish` refuses an input that stopped before the end.
/// Not thread-safe: one stream belongs to one task at a time.
public final class InflateStream {
    /// Compressed bytes consumed so far, and decompressed bytes handed to sinks so far.
    public private(set) var totalIn = 0
    public private(set) var totalOut = 0
    /// True once the end of the compressed stream (and its checksum trailer) has been read.
    public private(set) var isComplete = false

    let z: ZStream
    private let buffer: UnsafeMutablePointer<UInt8>
    private let bufferSize: Int
    private let maxOutput: Int
    private let operation: String
    private var broken = false

    /// A stream of one format. `maxOutput` bounds the decompressed size (a "zip bomb" costs at
    /// most that much); `bufferSize` is the largest piece given to a sink.
    public convenience init(format: Zlib.Format, maxOutput: Int = .max, bufferSize: Int = 64 << 10) throws {
        try self.init(windowBits: format.windowBits, operation: "inflating " + format.name, maxOutput: maxOutput, bufferSize: bufferSize)
    }

    /// A zlib (RFC 1950) or gzip (RFC 1952) stream, whichever its header says (zlib.h: windowBits + 32).
    public convenience init(zlibOrGzip maxOutput: Int = .max, bufferSize: Int = 64 << 10) throws {
        try self.init(windowBits: MAX_WBITS + 32, operation: "inflating a zlib or gzip stream", maxOutput: maxOutput, bufferSize: bufferSize)
    }

    init(windowBits: Int32, operation: String, maxOutput: Int, bufferSize: Int) throws {
        self.operation = operation
        z = try ZStream(inflateWindowBits: windowBits, operation: operation)
        self.maxOutput = max(0, maxOutput)
        self.bufferSize = min(max(bufferSize, 1 << 10), Zlib.maxChunk)
        buffer = .allocate(capacity: self.bufferSize)
    }

    deinit { buffer.deallocate() }

    /// Inflates `bytes`, handing the output to `sink` as it comes.
    public func write(_ bytes: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !bytes.isEmpty else { return }
        guard !broken else { throw ZlibError.failed(operation: operation, code: Z_STREAM_ERROR, message: "stream unusable after an earlier error") }
        if isComplete { throw trailing() }
        // A failure part-way (zlib or the sink) loses output: the stream refuses later use.
        broken = true
        let s = z.stream
        let base = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: Bytef.self))
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Zlib.maxChunk)
            s.pointee.next_in = base + offset
            s.pointee.avail_in = uInt(n)
            repeat {
                s.pointee.next_out = buffer
                s.pointee.avail_out = uInt(bufferSize)
                let rc = CZlib.inflate(s, Z_NO_FLUSH)
                let produced = bufferSize - Int(s.pointee.avail_out)
                if produced > 0 {
                    totalOut += produced
                    if totalOut > maxOutput { throw ZlibError.outputLimitExceeded(operation: operation, limit: maxOutput) }
                    try sink(UnsafeRawBufferPointer(start: buffer, count: produced))
                }
                switch rc {
                case Z_STREAM_END: isComplete = true
                case Z_OK, Z_BUF_ERROR: break  // Z_BUF_ERROR: no progress possible until more input comes
                case Z_DATA_ERROR, Z_NEED_DICT:
                    throw ZlibError.corrupt(operation: operation, code: rc,
                                            message: rc == Z_NEED_DICT ? "stream requires a preset dictionary" : z.message,
                                            inputOffset: totalIn + offset + n - Int(s.pointee.avail_in))
                default:
                    throw ZlibError.failed(operation: operation, code: rc, message: z.message)
                }
            } while !isComplete && (s.pointee.avail_in > 0 || s.pointee.avail_out == 0)
            let left = Int(s.pointee.avail_in)
            offset += n - left
            if isComplete && (left > 0 || offset < bytes.count) {
                totalIn += offset
                throw trailing()
            }
        }
        totalIn += bytes.count
        s.pointee.next_in = nil
        broken = false
    }

    public func write(_ bytes: [UInt8], to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { try write($0, to: sink) }
    }

    /// Checks that the input held the whole stream, up to its end and checksum.
    public func finish() throws {
        guard !broken else { throw ZlibError.failed(operation: operation, code: Z_STREAM_ERROR, message: "stream unusable after an earlier error") }
        guard isComplete else { throw ZlibError.truncated(operation: operation, inputSize: totalIn, outputSoFar: totalOut) }
    }

    private func trailing() -> ZlibError {
        broken = true
        return ZlibError.corrupt(operation: operation, code: Z_DATA_ERROR, message: "data follows the end of the compressed stream", inputOffset: totalIn)
    }
}
