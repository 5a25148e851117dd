#if canImport(Glibc)
import Glibc
#endif

/// Where encoded bytes go: memory, or a file through a 1 MiB buffer.
final class OutputBuffer {
    private(set) var bytes: [UInt8] = []
    private let fd: Int32
    private let path: String
    private let flushAt = 1 << 20
    private(set) var written = 0

    init() { fd = -1; path = "" }
    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        bytes.reserveCapacity(flushAt + 64 * 1024)
    }

    @inline(__always) func append(_ b: UInt8) { bytes.append(b); written += 1 }
    @inline(__always) func append<C: Collection>(contentsOf c: C) throws where C.Element == UInt8 {
        if fd >= 0 && c.count >= flushAt {
            try flush()
            let a = Array(c)
            try writeAll(a)
            written += a.count
            return
        }
        bytes.append(contentsOf: c)
        written += c.count
        if fd >= 0 && bytes.count >= flushAt { try flush() }
    }
    @inline(__always) func u16(_ v: UInt16, _ le: Bool) {
        let x = le ? v.littleEndian : v.bigEndian
        withUnsafeBytes(of: x) { bytes.append(contentsOf: $0) }
        written += 2
    }
    @inline(__always) func u32(_ v: UInt32, _ le: Bool) {
        let x = le ? v.littleEndian : v.bigEndian
        withUnsafeBytes(of: x) { bytes.append(contentsOf: $0) }
        written += 4
    }

    func flush() throws {
        guard fd >= 0, !bytes.isEmpty else { return }
        try writeAll(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ a: [UInt8]) throws {
        if let failed = a.withUnsafeBytes({ writeFully(fd, $0) }) {
            throw CodecError.io(path: path, errno: failed, operation: "write")
        }
    }
}
