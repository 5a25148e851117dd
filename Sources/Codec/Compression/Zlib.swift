import CZlib

/// Why zlib refused to compress or decompress. Every case names the operation that failed
/// (e.g. "inflating a raw DEFLATE stream") so the message makes sense without a stack trace.
public enum ZlibError: Error, Equatable, Sendable, CustomStringConvertible {
    /// zlib could not set up a stream (invalid level, out of memory, library version mismatch).
    case initFailed(operation: String, code: Int32, message: String)
    /// The input is not a valid stream (RFC 1951 DEFLATE, or RFC 1950 header / Adler-32 for zlib).
    /// `inputOffset` is how far zlib had read when it noticed.
    case corrupt(operation: String, code: Int32, message: String, inputOffset: Int)
    /// The input ended before the stream's last block (and, for zlib streams, its Adler-32 trailer).
    case truncated(operation: String, inputSize: Int, outputSoFar: Int)
    /// The inflated data would be longer than the caller's limit.
    case outputLimitExceeded(operation: String, limit: Int)
    /// Any other failure: out of memory mid-stream, a stream used after `finish`, a sink that threw earlier.
    case failed(operation: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case let .initFailed(op, code, msg):
            return "\(op): zlib could not start (\(Self.codeName(code))\(msg.isEmpty ? "" : ": " + msg))"
        case let .corrupt(op, code, msg, offset):
            return "\(op): corrupt compressed data near input byte \(offset) (\(Self.codeName(code))\(msg.isEmpty ? "" : ": " + msg))"
        case let .truncated(op, size, out):
            return "\(op): the compressed stream ends early (all \(size) input bytes used, \(out) bytes produced, no end-of-stream marker)"
        case let .outputLimitExceeded(op, limit):
            return "\(op): the decompressed data exceeds the limit of \(limit) bytes"
        case let .failed(op, code, msg):
            return "\(op): zlib failed (\(Self.codeName(code))\(msg.isEmpty ? "" : ": " + msg))"
        }
    }

    static func codeName(_ code: Int32) -> String {
        switch code {
        case Z_OK: return "Z_OK"
        case Z_STREAM_END: return "Z_STREAM_END"
        case Z_NEED_DICT: return "Z_NEED_DICT"
        case Z_ERRNO: return "Z_ERRNO"
        case Z_STREAM_ERROR: return "Z_STREAM_ERROR"
        case Z_DATA_ERROR: return "Z_DATA_ERROR"
        case Z_MEM_ERROR: return "Z_MEM_ERROR"
        case Z_BUF_ERROR: return "Z_BUF_ERROR"
        case Z_VERSION_ERROR: return "Z_VERSION_ERROR"
        default: return "zlib code \(code)"
        }
    }
}

/// One-shot compression and decompression through the system zlib.
///
/// Two framings: raw DEFLATE (RFC 1951; windowBits -15), which the Deflated Explicit VR Little
/// Endian transfer syntax uses (PS3.5 A.5), and the zlib format (RFC 1950: 2-byte header, DEFLATE
/// data, Adler-32 trailer), which PNG uses for IDAT (PNG spec 10).
public enum Zlib {
    public enum Format: Sendable {
        /// RFC 1951 DEFLATE with no header or checksum.
        case raw
        /// RFC 1950: header, DEFLATE data, Adler-32 of the uncompressed data.
        case zlib
        /// RFC 1952: gzip header, DEFLATE data, CRC-32 and length (HTTP `Content-Encoding: gzip`).
        case gzip

        // zlib's windowBits: negative for raw, +16 for a gzip wrapper (zlib.h, deflateInit2).
        var windowBits: Int32 {
            switch self {
            case .raw: return -MAX_WBITS
            case .zlib: return MAX_WBITS
            case .gzip: return MAX_WBITS + 16
            }
        }
        var name: String {
            switch self {
            case .raw: return "a raw DEFLATE stream"
            case .zlib: return "a zlib stream"
            case .gzip: return "a gzip stream"
            }
        }
    }

    // MARK: Raw DEFLATE (DICOM Deflated transfer syntax)

    /// Inflates the raw DEFLATE stream at the start of `input`. Bytes after the end of the stream are
    /// ignored: PS3.5 A.5 pads an odd-length stream with one NUL, and some writers leave more.
    /// Throws `ZlibError.outputLimitExceeded` as soon as the output would pass `maxOutput`, so a
    /// hostile "zip bomb" costs at most about `maxOutput` bytes of memory.
    public static func inflateRaw(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> [UInt8] {
        try inflatePrefix(input, format: .raw, maxOutput: maxOutput).output
    }

    /// Like `inflateRaw`, also telling how many input bytes the stream occupied (`consumed < input.count`
    /// when trailing bytes follow it).
    public static func inflateRawPrefix(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> (output: [UInt8], consumed: Int) {
        try inflatePrefix(input, format: .raw, maxOutput: maxOutput)
    }

    public static func deflateRaw(_ input: UnsafeRawBufferPointer, level: Int32 = 6) throws -> [UInt8] {
        try deflate(input, format: .raw, level: level)
    }

    // MARK: zlib format (PNG)

    /// Inflates the zlib stream (RFC 1950) at the start of `input`, checking its Adler-32.
    /// Trailing bytes are ignored; `maxOutput` as for `inflateRaw`.
    public static func inflate(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> [UInt8] {
        try inflatePrefix(input, format: .zlib, maxOutput: maxOutput).output
    }

    public static func inflatePrefix(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> (output: [UInt8], consumed: Int) {
        try inflatePrefix(input, format: .zlib, maxOutput: maxOutput)
    }

    public static func deflate(_ input: UnsafeRawBufferPointer, level: Int32 = 6) throws -> [UInt8] {
        try deflate(input, format: .zlib, level: level)
    }

    /// CRC-32 (ISO 3309 / ITU-T V.42, as PNG chunks use: PNG spec 5.3). Pass a previous result as
    /// `initial` to continue over several buffers.
    public static func crc32(_ input: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = input.baseAddress?.assumingMemoryBound(to: Bytef.self) else { return initial }
        var crc = uLong(initial)
        var offset = 0
        while offset < input.count {
            let n = min(input.count - offset, maxChunk)
            crc = CZlib.crc32(crc, base + offset, uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    // MARK: [UInt8] conveniences

    public static func inflateRaw(_ input: [UInt8], maxOutput: Int) throws -> [UInt8] {
        try input.withUnsafeBytes { try inflateRaw($0, maxOutput: maxOutput) }
    }
    public static func inflateRawPrefix(_ input: [UInt8], maxOutput: Int) throws -> (output: [UInt8], consumed: Int) {
        try input.withUnsafeBytes { try inflateRawPrefix($0, maxOutput: maxOutput) }
    }
    public static func deflateRaw(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        try input.withUnsafeBytes { try deflateRaw($0, level: level) }
    }
    public static func inflate(_ input: [UInt8], maxOutput: Int) throws -> [UInt8] {
        try input.withUnsafeBytes { try inflate($0, maxOutput: maxOutput) }
    }
    public static func inflatePrefix(_ input: [UInt8], maxOutput: Int) throws -> (output: [UInt8], consumed: Int) {
        try input.withUnsafeBytes { try inflatePrefix($0, maxOutput: maxOutput) }
    }
    public static func deflate(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        try input.withUnsafeBytes { try deflate($0, level: level) }
    }
    public static func crc32(_ input: [UInt8], initial: UInt32 = 0) -> UInt32 {
        input.withUnsafeBytes { crc32($0, initial: initial) }
    }

    // MARK: Engine

    /// z_stream counts bytes in `uInt` (32 bits): larger buffers go through in slices of this size.
    static let maxChunk = 1 << 30

    static func inflatePrefix(_ input: UnsafeRawBufferPointer, format: Format, maxOutput: Int) throws -> (output: [UInt8], consumed: Int) {
        let operation = "inflating " + format.name
        let z = try ZStream(inflateWindowBits: format.windowBits, operation: operation)
        let s = z.stream
        let limit = max(0, maxOutput)
        // One byte beyond the limit is enough to prove the output would exceed it.
        let cap = limit == Int.max ? limit : limit + 1
        let base = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        var fed = 0        // input bytes handed to zlib so far
        var produced = 0   // output bytes written into `buffer`
        // First guess: DICOM data sets and image rows typically deflate 2-5x; the buffer doubles as needed.
        // A raw buffer rather than a growing [UInt8]: zero-filling on growth is slow in debug builds.
        var capacity = min(cap, max(16 << 10, min(input.count, Int.max / 4) * 4))
        var buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        while true {
            if s.pointee.avail_in == 0 && fed < input.count {
                let n = min(input.count - fed, maxChunk)
                s.pointee.next_in = base! + fed
                s.pointee.avail_in = uInt(n)
                fed += n
            }
            if produced == capacity {
                guard capacity < cap else { throw ZlibError.outputLimitExceeded(operation: operation, limit: limit) }
                capacity = capacity > cap / 2 ? cap : capacity * 2
                let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
                grown.update(from: buffer, count: produced)
                buffer.deallocate()
                buffer = grown
            }
            let room = min(capacity - produced, maxChunk)
            s.pointee.next_out = buffer + produced
            s.pointee.avail_out = uInt(room)
            let rc = CZlib.inflate(s, Z_NO_FLUSH)
            produced += room - Int(s.pointee.avail_out)
            if produced > limit { throw ZlibError.outputLimitExceeded(operation: operation, limit: limit) }
            switch rc {
            case Z_STREAM_END:
                let output = [UInt8](unsafeUninitializedCapacity: produced) { out, count in
                    if produced > 0 { out.baseAddress!.update(from: buffer, count: produced) }
                    count = produced
                }
                return (output, fed - Int(s.pointee.avail_in))
            case Z_OK:
                continue
            case Z_BUF_ERROR where s.pointee.avail_out == 0:
                continue  // out of room: the buffer grows on the next turn
            case Z_BUF_ERROR:
                // Room to write but nothing left to read: the stream stops before its end.
                throw ZlibError.truncated(operation: operation, inputSize: input.count, outputSoFar: produced)
            case Z_DATA_ERROR, Z_NEED_DICT:
                // Z_NEED_DICT: an RFC 1950 preset dictionary (FDICT), which neither DICOM nor PNG allows.
                throw ZlibError.corrupt(operation: operation, code: rc,
                                        message: rc == Z_NEED_DICT ? "stream requires a preset dictionary" : z.message,
                                        inputOffset: fed - Int(s.pointee.avail_in))
            default:
                throw ZlibError.failed(operation: operation, code: rc, message: z.message)
            }
        }
    }

    static func deflate(_ input: UnsafeRawBufferPointer, format: Format, level: Int32,
                        strategy: Int32 = Z_DEFAULT_STRATEGY) throws -> [UInt8] {
        let stream = try DeflateStream(level: level, format: format, strategy: strategy)
        // Grows geometrically: reserving deflateBound (~ the input size) would leave a well-compressed
        // result holding that much capacity for its lifetime.
        var out = [UInt8]()
        let sink: (UnsafeRawBufferPointer) -> Void = { out.append(contentsOf: $0) }
        try stream.write(input, to: sink)
        try stream.finish(to: sink)
        return out
    }
}

/// Incremental DEFLATE: feed a large data set piece by piece and hand each compressed piece to a
/// sink (e.g. a file), so neither the input nor the output has to be held whole.
/// Not thread-safe: one stream belongs to one task at a time.
public final class DeflateStream {
    public let format: Zlib.Format
    /// Uncompressed bytes written so far, and compressed bytes handed to sinks so far.
    public private(set) var totalIn = 0
    public private(set) var totalOut = 0

    let z: ZStream
    private let buffer: UnsafeMutablePointer<UInt8>
    private let bufferSize: Int
    private enum State { case open, finished, failed }
    private var state = State.open
    private let operation: String

    /// `level` 0 (store) to 9 (smallest), or -1 for zlib's default (6). `bufferSize` is the largest
    /// piece given to a sink.
    public convenience init(level: Int32 = 6, format: Zlib.Format = .raw, bufferSize: Int = 64 << 10) throws {
        try self.init(level: level, format: format, strategy: Z_DEFAULT_STRATEGY, bufferSize: bufferSize)
    }

    init(level: Int32, format: Zlib.Format, strategy: Int32, bufferSize: Int = 64 << 10) throws {
        self.format = format
        operation = "deflating " + format.name
        z = try ZStream(deflateLevel: level, windowBits: format.windowBits, strategy: strategy, operation: operation)
        self.bufferSize = min(max(bufferSize, 1 << 10), Zlib.maxChunk)
        buffer = .allocate(capacity: self.bufferSize)
    }

    deinit { buffer.deallocate() }

    /// Compresses `bytes`; zlib keeps some of it back until later writes or `finish`.
    public func write(_ bytes: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !bytes.isEmpty else { return }
        let base = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: Bytef.self))
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Zlib.maxChunk)
            try pump(base + offset, n, flush: Z_NO_FLUSH, sink)
            offset += n
        }
        totalIn += bytes.count
    }

    public func write(_ bytes: [UInt8], to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { try write($0, to: sink) }
    }

    /// Ends the stream (final block; Adler-32 trailer for `.zlib`). The stream takes no more writes.
    public func finish(to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try pump(nil, 0, flush: Z_FINISH, sink)
        state = .finished
    }

    private func pump(_ input: UnsafeMutablePointer<Bytef>?, _ count: Int, flush: Int32,
                      _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch state {
        case .open: break
        case .finished: throw ZlibError.failed(operation: operation, code: Z_STREAM_ERROR, message: "stream already finished")
        case .failed: throw ZlibError.failed(operation: operation, code: Z_STREAM_ERROR, message: "stream unusable after an earlier error")
        }
        // If zlib or the sink fails part-way, output has been lost: refuse later use.
        state = .failed
        let s = z.stream
        s.pointee.next_in = input
        s.pointee.avail_in = uInt(count)
        while true {
            s.pointee.next_out = buffer
            s.pointee.avail_out = uInt(bufferSize)
            let rc = CZlib.deflate(s, flush)
            // Z_BUF_ERROR only means no progress was possible (nothing to do): not an error here.
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                throw ZlibError.failed(operation: operation, code: rc, message: z.message)
            }
            let n = bufferSize - Int(s.pointee.avail_out)
            if n > 0 {
                try sink(UnsafeRawBufferPointer(start: buffer, count: n))
                totalOut += n
            }
            if flush == Z_FINISH ? rc == Z_STREAM_END : (s.pointee.avail_in == 0 && s.pointee.avail_out != 0) { break }
        }
        s.pointee.next_in = nil
        state = .open
    }
}

/// Owns a heap-allocated z_stream: zlib's state keeps a pointer back to its z_stream and checks
/// it on every call, so the struct must never move (a Swift `var` passed with `&` may).
final class ZStream {
    let stream: UnsafeMutablePointer<z_stream>
    private let isInflate: Bool

    init(inflateWindowBits windowBits: Int32, operation: String) throws {
        // Set up before storing anything: a throw after full initialization would run deinit.
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())  // zalloc/zfree/opaque nil: zlib's allocator
        let rc = inflateInit2_(s, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            let message = Self.message(s)
            s.deallocate()
            throw ZlibError.initFailed(operation: operation, code: rc, message: message)
        }
        stream = s
        isInflate = true
    }

    init(deflateLevel level: Int32, windowBits: Int32, strategy: Int32, operation: String) throws {
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        // memLevel 8 is zlib's default (deflateInit uses it); Z_DEFLATED is the only method (RFC 1950 CM=8).
        let rc = deflateInit2_(s, level, Z_DEFLATED, windowBits, 8, strategy,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            let message = rc == Z_STREAM_ERROR ? "invalid compression level \(level)" : Self.message(s)
            s.deallocate()
            throw ZlibError.initFailed(operation: operation, code: rc, message: message)
        }
        stream = s
        isInflate = false
    }

    deinit {
        if isInflate { inflateEnd(stream) } else { deflateEnd(stream) }
        stream.deallocate()
    }

    var message: String { Self.message(stream) }

    private static func message(_ s: UnsafeMutablePointer<z_stream>) -> String {
        s.pointee.msg.map { String(cString: $0) } ?? ""
    }
}
