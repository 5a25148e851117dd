import Foundation
import Codec

/// Removes a body's content coding while it streams (RFC 9110 §8.4): `gzip` (RFC 1952), `deflate`
/// (the zlib format RFC 9110 §8.4.1.2 names, or raw DEFLATE as some servers send it) and `identity`.
/// Without a Content-Encoding field, `sniff` recognises a gzip or zlib header in the first bytes
/// and inflates: Slicebox sends box images zlib-deflated under plain `application/octet-stream`.
/// A DICOM body never starts like one (a Part 10 preamble, or a group number's low byte).
public final class ContentDecoder {
    private enum Mode { case undecided(deflateHint: Bool), identity, inflate(InflateStream) }
    private var mode: Mode
    private var head: [UInt8] = []
    private let maxOutput: Int
    public private(set) var bytesOut: Int64 = 0

    /// Throws `NodeError.unsupported` for a coding other than gzip, deflate or identity (a server
    /// answers 415, RFC 9110 §15.5.16).
    public init(contentEncoding: String?, sniff: Bool, maxOutput: Int = .max) throws {
        self.maxOutput = maxOutput
        let codings = (contentEncoding ?? "").lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && $0 != "identity" }
        guard codings.count <= 1 else { throw NodeError.unsupported("content codings '\(contentEncoding ?? "")' (one of gzip, deflate at most)") }
        switch codings.first {
        case nil: mode = sniff ? .undecided(deflateHint: false) : .identity
        case "gzip", "x-gzip": mode = .inflate(try InflateStream(format: .gzip, maxOutput: maxOutput))
        case "deflate": mode = .undecided(deflateHint: true)
        case let other?: throw NodeError.unsupported("content coding '\(other)' (gzip and deflate are)")
        }
    }

    /// Decodes `bytes` and hands the content to `sink`.
    public func write(_ bytes: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !bytes.isEmpty else { return }
        if case .undecided = mode {
            head.append(contentsOf: bytes)
            guard head.count >= 2 else { return }
            try decide()
            let buffered = head
            head = []
            try buffered.withUnsafeBytes { try pass($0, sink) }
            return
        }
        try pass(bytes, sink)
    }

    public func write(_ bytes: [UInt8], to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { try write($0, to: sink) }
    }

    /// Flushes a body shorter than two bytes and checks a compressed one ended with its stream.
    public func finish(to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        if case .undecided = mode {
            mode = .identity
            let buffered = head
            head = []
            try buffered.withUnsafeBytes { try pass($0, sink) }
        }
        if case .inflate(let s) = mode {
            do { try s.finish() } catch { throw NodeError.invalidData("the body's compression is damaged: \(error)") }
        }
    }

    private func decide() throws {
        guard case .undecided(let deflateHint) = mode else { return }
        if head[0] == 0x1F && head[1] == 0x8B {
            mode = .inflate(try InflateStream(format: .gzip, maxOutput: maxOutput))
        } else if Self.isZlibHeader(head[0], head[1]) {
            mode = .inflate(try InflateStream(format: .zlib, maxOutput: maxOutput))
        } else if deflateHint {
            mode = .inflate(try InflateStream(format: .raw, maxOutput: maxOutput))
        } else {
            mode = .identity
        }
    }

    private func pass(_ bytes: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch mode {
        case .identity:
            bytesOut += Int64(bytes.count)
            if bytesOut > Int64(maxOutput) { throw NodeError.invalidData("the body is larger than \(maxOutput) bytes") }
            try sink(bytes)
        case .inflate(let s):
            do {
                try s.write(bytes) { piece in
                    bytesOut += Int64(piece.count)
                    try sink(piece)
                }
            } catch let e as ZlibError {
                throw NodeError.invalidData("the body's compression is damaged: \(e)")
            }
        case .undecided:
            break
        }
    }

    /// RFC 1950 §2.2: CM 8 (deflate), CINFO ≤ 7, and CMF·256 + FLG a multiple of 31.
    static func isZlibHeader(_ cmf: UInt8, _ flg: UInt8) -> Bool {
        cmf & 0x0F == 8 && cmf >> 4 <= 7 && (UInt16(cmf) << 8 | UInt16(flg)) % 31 == 0
    }
}
