/// A fast 64-bit checksum of a file's bytes (four multiply–rotate lanes, in the manner of
/// xxHash64; not cryptographic). It only has to tell, at start-up repair, a file whose data all
/// reached the disk from one torn by a crash (zeros or stale blocks), and it runs over every
/// received byte, so it must cost far less than the copy itself: zlib's CRC-32 took 11% of the
/// node's CPU while receiving.
public struct Checksum: Sendable {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private var lanes: (UInt64, UInt64, UInt64, UInt64) = (p1 &+ p2, p2, 0, 0 &- p1)
    private var tail: [UInt8] = []
    private var length: UInt64 = 0

    public init() {}

    @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        let a = acc &+ input &* p2
        return ((a << 31) | (a >> 33)) &* p1
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        length &+= UInt64(bytes.count)
        var offset = 0
        // Finish a partial 32-byte block left by the previous call.
        if !tail.isEmpty {
            let take = min(32 - tail.count, bytes.count)
            tail.append(contentsOf: UnsafeRawBufferPointer(start: base, count: take))
            offset = take
            guard tail.count == 32 else { return }
            tail.withUnsafeBytes { block(UnsafeRawPointer($0.baseAddress!)) }
            tail.removeAll(keepingCapacity: true)
        }
        while bytes.count - offset >= 32 {
            block(base + offset)
            offset += 32
        }
        if offset < bytes.count { tail.append(contentsOf: UnsafeRawBufferPointer(start: base + offset, count: bytes.count - offset)) }
    }

    @inline(__always) private mutating func block(_ p: UnsafeRawPointer) {
        lanes.0 = Self.round(lanes.0, p.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        lanes.1 = Self.round(lanes.1, p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        lanes.2 = Self.round(lanes.2, p.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        lanes.3 = Self.round(lanes.3, p.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    public var value: UInt64 {
        func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
        var h = rotl(lanes.0, 1) &+ rotl(lanes.1, 7) &+ rotl(lanes.2, 12) &+ rotl(lanes.3, 18)
        h = (h ^ Self.round(0, lanes.0)) &* Self.p1 &+ Self.p3
        h = (h ^ Self.round(0, lanes.1)) &* Self.p1 &+ Self.p3
        h = (h ^ Self.round(0, lanes.2)) &* Self.p1 &+ Self.p3
        h = (h ^ Self.round(0, lanes.3)) &* Self.p1 &+ Self.p3
        h &+= length
        for b in tail { h = rotl(h ^ (UInt64(b) &* Self.p3), 11) &* Self.p1 }
        h ^= h >> 33; h &*= Self.p2; h ^= h >> 29; h &*= Self.p3; h ^= h >> 32
        return h
    }

    public static func of(_ bytes: [UInt8]) -> UInt64 {
        var c = Checksum()
        bytes.withUnsafeBytes { c.update($0) }
        return c.value
    }
}
