/// A bidirectional byte connection: plain TCP now, TLS over it later. The association layer
/// only reads and writes through this, so both look the same to it.
public protocol ByteStream: AnyObject, Sendable {
    /// Reads at most `buffer.count` bytes; returns 0 at end of stream. Blocks up to the read timeout.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Writes all bytes or throws.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func close()
    /// "host:port" of the other side, for logs.
    var peerDescription: String { get }
}

extension ByteStream {
    /// Reads exactly `count` bytes into `buffer` starting at `offset`; throws `closedByPeer` on a short stream.
    public func readExactly(_ count: Int, into buffer: inout [UInt8], at offset: Int = 0) throws {
        var done = 0
        while done < count {
            let n = try buffer.withUnsafeMutableBytes { raw in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[(offset + done)..<(offset + count)]))
            }
            if n == 0 { throw TransportError.closedByPeer }
            done += n
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Reads one PDU (PS3.8 9.3.1: type, reserved byte, 4-byte big-endian length, body).
    /// `admit` sees the type and length before the body is read and throws to refuse it, so each
    /// caller keeps its own limit and refusal (A-ABORT reason, log line) and nothing oversized is
    /// allocated.
    func readPDU(admit: (_ type: UInt8, _ length: UInt32) throws -> Void) throws -> (type: UInt8, body: [UInt8]) {
        var header = [UInt8](repeating: 0, count: 6)
        try readExactly(6, into: &header)
        let (type, length) = try header.withUnsafeBytes { try PDU.parseHeader($0) }
        try admit(type, length)
        // A fresh array per PDU, read into directly: PDV slices stay valid after the next read.
        var body = [UInt8](unsafeUninitializedCapacity: Int(length)) { _, n in n = Int(length) }
        try readExactly(Int(length), into: &body)
        return (type, body)
    }
}
