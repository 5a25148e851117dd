import Foundation
import Codec

/// A ZIP archive written to a stream entry by entry (APPNOTE 6.3.10), files stored uncompressed
/// (DICOM pixel data hardly deflates, and stored entries keep exports at disk speed). Each file is
/// read twice — once for its CRC-32, once to copy — so nothing is held whole in memory and no data
/// descriptors are needed. ZIP64 records are written when sizes or offsets pass 4 GiB (§4.5.3).
final class ZipWriter {
    private let out: BodyWriter
    private var offset: UInt64 = 0
    private var central: [UInt8] = []
    private var entries: UInt64 = 0

    init(_ out: BodyWriter) { self.out = out }

    private func emit(_ bytes: [UInt8]) throws { try out.write(bytes); offset += UInt64(bytes.count) }

    /// Adds the file at `path` as `name` (forward slashes, UTF-8).
    func addFile(path: String, name: String, modified: Date = Date()) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw HTTPError(.internalServerError, "cannot read \(path)") }
        defer { try? handle.close() }
        var crc: UInt32 = 0
        var size: UInt64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            crc = chunk.withUnsafeBytes { Zlib.crc32($0, initial: crc) }
            size += UInt64(chunk.count)
        }
        try handle.seek(toOffset: 0)
        let nameBytes = Array(name.utf8)
        let (time, date) = Self.dosTime(modified)
        let zip64 = size >= 0xFFFF_FFFF || offset >= 0xFFFF_FFFF
        let headerOffset = offset

        var local: [UInt8] = []
        local.le32(0x0403_4b50)
        local.le16(zip64 ? 45 : 20)          // version needed
        local.le16(0x0800)                   // UTF-8 names
        local.le16(0)                        // stored
        local.le16(time); local.le16(date)
        local.le32(crc)
        local.le32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        local.le32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        local.le16(UInt16(nameBytes.count))
        local.le16(zip64 ? 20 : 0)
        local += nameBytes
        if zip64 { local.le16(1); local.le16(16); local.le64(size); local.le64(size) }
        try emit(local)
        var copied: UInt64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            try out.write(chunk)
            copied += UInt64(chunk.count)
        }
        guard copied == size else { throw HTTPError(.internalServerError, "\(path) changed while it was exported") }
        offset += size

        central.le32(0x0201_4b50)
        central.le16(0x031E)                 // made by: Unix, 3.0
        central.le16(zip64 ? 45 : 20)
        central.le16(0x0800)
        central.le16(0)
        central.le16(time); central.le16(date)
        central.le32(crc)
        central.le32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        central.le32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        central.le16(UInt16(nameBytes.count))
        central.le16(zip64 ? 28 : 0)
        central.le16(0); central.le16(0); central.le16(0)
        central.le32(0o100644 << 16)         // external attributes: a regular file, rw-r--r--
        central.le32(zip64 ? 0xFFFF_FFFF : UInt32(headerOffset))
        central += nameBytes
        if zip64 { central.le16(1); central.le16(24); central.le64(size); central.le64(size); central.le64(headerOffset) }
        entries += 1
    }

    /// The central directory and end records.
    func finish() throws {
        let centralOffset = offset
        let centralSize = UInt64(central.count)
        try emit(central)
        if entries >= 0xFFFF || centralOffset >= 0xFFFF_FFFF || centralSize >= 0xFFFF_FFFF {
            let zip64End = offset
            var e: [UInt8] = []
            e.le32(0x0606_4b50); e.le64(44); e.le16(45); e.le16(45); e.le32(0); e.le32(0)
            e.le64(entries); e.le64(entries); e.le64(centralSize); e.le64(centralOffset)
            e.le32(0x0706_4b50); e.le32(0); e.le64(zip64End); e.le32(1)
            try emit(e)
        }
        var end: [UInt8] = []
        end.le32(0x0605_4b50); end.le16(0); end.le16(0)
        end.le16(UInt16(min(entries, 0xFFFF))); end.le16(UInt16(min(entries, 0xFFFF)))
        end.le32(UInt32(min(centralSize, 0xFFFF_FFFF))); end.le32(UInt32(min(centralOffset, 0xFFFF_FFFF)))
        end.le16(0)
        try emit(end)
    }

    static func dosTime(_ date: Date) -> (UInt16, UInt16) {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        let time = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        let day = UInt16(max((c.year ?? 1980) - 1980, 0) << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
        return (time, day)
    }
}

private extension Array where Element == UInt8 {
    mutating func le16(_ v: UInt16) { append(UInt8(v & 0xFF)); append(UInt8(v >> 8)) }
    mutating func le32(_ v: UInt32) { for i in 0..<4 { append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
    mutating func le64(_ v: UInt64) { for i in 0..<8 { append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
}
