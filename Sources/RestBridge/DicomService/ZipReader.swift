import Foundation
import Codec

/// Reads a ZIP archive held in memory (APPNOTE 6.3.10): the central directory (§4.3.12) is
/// authoritative for names, sizes and offsets (so entries written with data descriptors, §4.3.9,
/// read as well), ZIP64 records (§4.3.14, §4.5.3) are followed, and entries stored (method 0) or
/// deflated (method 8, raw DEFLATE through zlib) are extracted with their CRC-32 checked.
/// Encrypted entries and other methods are reported per entry, not fatal to the archive.
struct ZipReader {
    struct Entry {
        let name: String
        let method: UInt16
        let flags: UInt16
        let crc: UInt32
        let compressedSize: UInt64
        let size: UInt64
        let localHeaderOffset: UInt64
        var isDirectory: Bool { name.hasSuffix("/") }
    }

    struct ZipError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    let bytes: [UInt8]
    let entries: [Entry]

    static func looksLikeZip(_ b: [UInt8]) -> Bool {
        b.count >= 4 && b[0] == 0x50 && b[1] == 0x4B && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6))
    }

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        // End of central directory (§4.3.16): 22 bytes plus a comment of up to 65,535 bytes.
        guard bytes.count >= 22 else { throw ZipError(message: "too short to be a ZIP archive") }
        var eocd = -1
        var i = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while i >= lowest {
            if Self.u32(bytes, i) == 0x0605_4b50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw ZipError(message: "not a ZIP archive (no end of central directory record)") }
        var count = UInt64(Self.u16(bytes, eocd + 10))
        var directorySize = UInt64(Self.u32(bytes, eocd + 12))
        var directoryOffset = UInt64(Self.u32(bytes, eocd + 16))
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64 end of central directory locator (§4.3.15) just before the EOCD.
            let locator = eocd - 20
            guard locator >= 0, Self.u32(bytes, locator) == 0x0706_4b50 else { throw ZipError(message: "ZIP64 locator missing") }
            let record = Self.u64(bytes, locator + 8)
            guard record <= UInt64(bytes.count - 56), Self.u32(bytes, Int(record)) == 0x0606_4b50 else {
                throw ZipError(message: "ZIP64 end of central directory record missing")
            }
            let r = Int(record)
            count = Self.u64(bytes, r + 32)
            directorySize = Self.u64(bytes, r + 40)
            directoryOffset = Self.u64(bytes, r + 48)
        }
        guard directoryOffset <= UInt64(bytes.count), directorySize <= UInt64(bytes.count) - directoryOffset else {
            throw ZipError(message: "the central directory lies outside the archive")
        }
        guard count <= directorySize / 46 else { throw ZipError(message: "the central directory is too small for \(count) entries") }
        var entries: [Entry] = []
        var p = Int(directoryOffset)
        let end = Int(directoryOffset + directorySize)
        for _ in 0..<count {
            guard p + 46 <= end, Self.u32(bytes, p) == 0x0201_4b50 else { throw ZipError(message: "malformed central directory entry at byte \(p)") }
            let flags = Self.u16(bytes, p + 8), method = Self.u16(bytes, p + 10)
            let crc = Self.u32(bytes, p + 16)
            var compressed = UInt64(Self.u32(bytes, p + 20)), size = UInt64(Self.u32(bytes, p + 24))
            let nameLength = Int(Self.u16(bytes, p + 28)), extraLength = Int(Self.u16(bytes, p + 30)), commentLength = Int(Self.u16(bytes, p + 32))
            var offset = UInt64(Self.u32(bytes, p + 42))
            let nameStart = p + 46, extraStart = nameStart + nameLength
            guard extraStart + extraLength + commentLength <= end else { throw ZipError(message: "a central directory entry runs past its end") }
            // Bit 11: UTF-8 names; otherwise IBM 437, of which ASCII is the common part.
            let name = String(decoding: bytes[nameStart..<extraStart], as: UTF8.self)
            // The ZIP64 extra field (§4.5.3) holds, in order, the values that are 0xFFFFFFFF here.
            var e = extraStart
            while e + 4 <= extraStart + extraLength {
                let id = Self.u16(bytes, e), length = Int(Self.u16(bytes, e + 2))
                guard e + 4 + length <= extraStart + extraLength else { break }
                if id == 0x0001 {
                    var q = e + 4
                    func next() -> UInt64? { guard q + 8 <= e + 4 + length else { return nil }; defer { q += 8 }; return Self.u64(bytes, q) }
                    if size == 0xFFFF_FFFF { size = next() ?? size }
                    if compressed == 0xFFFF_FFFF { compressed = next() ?? compressed }
                    if offset == 0xFFFF_FFFF { offset = next() ?? offset }
                }
                e += 4 + length
            }
            entries.append(Entry(name: name, method: method, flags: flags, crc: crc, compressedSize: compressed, size: size, localHeaderOffset: offset))
            p = extraStart + extraLength + commentLength
        }
        self.entries = entries
    }

    /// The content of `entry`, at most `limit` bytes once extracted.
    func extract(_ entry: Entry, limit: Int) throws -> [UInt8] {
        guard entry.flags & 1 == 0 else { throw ZipError(message: "encrypted entries are not supported") }
        guard entry.size <= UInt64(limit) else { throw ZipError(message: "larger than the \(limit)-byte limit once extracted") }
        let h = entry.localHeaderOffset
        guard h <= UInt64(bytes.count - 30), Self.u32(bytes, Int(h)) == 0x0403_4b50 else {
            throw ZipError(message: "the local header is missing")
        }
        let start = Int(h) + 30 + Int(Self.u16(bytes, Int(h) + 26)) + Int(Self.u16(bytes, Int(h) + 28))
        guard start <= bytes.count, entry.compressedSize <= UInt64(bytes.count - start) else {
            throw ZipError(message: "the data runs past the end of the archive")
        }
        let data = bytes[start..<start + Int(entry.compressedSize)]
        let out: [UInt8]
        switch entry.method {
        case 0:
            out = Array(data)
        case 8:
            do {
                out = try data.withUnsafeBytes { try Zlib.inflateRaw($0, maxOutput: Int(entry.size)) }
            } catch {
                throw ZipError(message: "the deflated data is corrupt: \(error)")
            }
        default:
            throw ZipError(message: "compression method \(entry.method) is not supported (stored or deflated only)")
        }
        guard out.count == Int(entry.size) else { throw ZipError(message: "extracted \(out.count) bytes, the directory says \(entry.size)") }
        guard Zlib.crc32(out) == entry.crc else { throw ZipError(message: "CRC-32 mismatch: the entry is corrupt") }
        return out
    }

    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(u16(b, i)) | UInt32(u16(b, i + 2)) << 16 }
    static func u64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(u32(b, i)) | UInt64(u32(b, i + 4)) << 32 }
}
