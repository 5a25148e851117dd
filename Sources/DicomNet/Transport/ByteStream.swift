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
}
