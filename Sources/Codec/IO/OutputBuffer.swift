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
            var a = Array(c)
            try a.withUnsafeMutableBytes { try writeAll(UnsafeRawBufferPointer($0)) }
            written += a.count
            a = []
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
        try bytes.withUnsafeBytes { try writeAll($0) }
        bytes.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < raw.count {
            let r = write(fd, raw.baseAddress! + done, raw.count - done)
            if r < 0 {
                if errno == EINTR { continue }
                throw CodecError.io(path: path, errno: errno, operation: "write")
            }
            done += r
        }
    }
}
