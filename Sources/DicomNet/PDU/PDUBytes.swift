// Big-endian field reading and writing shared by all PDUs (PS3.8 9.3.1: every PDU field is
// big endian, whatever the transfer syntax of the data inside).

/// A bounds-checked cursor over part of a PDU body. Every length read from the wire is checked
/// against what is left before it is used, and nothing is allocated from a declared length.
struct PDUReader {
    let bytes: ArraySlice<UInt8>
    private(set) var index: Int
    let end: Int
    /// Where the PDU body starts in `bytes`; offsets in errors count from the PDU's first byte.
    let origin: Int

    init(body: ArraySlice<UInt8>) {
        bytes = body
        index = body.startIndex
        end = body.endIndex
        origin = body.startIndex
    }

    private init(bytes: ArraySlice<UInt8>, index: Int, end: Int, origin: Int) {
        self.bytes = bytes
        self.index = index
        self.end = end
        self.origin = origin
    }

    var remaining: Int { end - index }
    var isAtEnd: Bool { index >= end }
    /// Offset of the cursor from the first byte of the PDU (header included).
    var offset: Int { index - origin + PDU.headerLength }

    /// An error at the cursor, or at `index` (an index into `bytes`) when given.
    func error(_ reason: String, at index: Int? = nil, _ abort: Abort = .invalidPDUParameterValue) -> PDUError {
        PDUError(offset: (index ?? self.index) - origin + PDU.headerLength, reason: reason, abort: abort)
    }

    private func need(_ n: Int, _ what: String) throws {
        guard n <= remaining else { throw error("\(what): needs \(n) bytes, only \(remaining) left") }
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try need(1, what)
        defer { index += 1 }
        return bytes[index]
    }

    mutating func u16(_ what: String) throws -> UInt16 {
        try need(2, what)
        defer { index += 2 }
        return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        try need(4, what)
        defer { index += 4 }
        return UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16
            | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
    }

    /// The next `n` bytes as a slice of the input (no copy).
    mutating func take(_ n: Int, _ what: String) throws -> ArraySlice<UInt8> {
        try need(n, what)
        defer { index += n }
        return bytes[index..<index + n]
    }

    mutating func skip(_ n: Int, _ what: String) throws {
        try need(n, what)
        index += n
    }

    /// A reader over the next `n` bytes (an item's value), which it consumes from this one.
    mutating func sub(_ n: Int, _ what: String) throws -> PDUReader {
        try need(n, what)
        defer { index += n }
        return PDUReader(bytes: bytes, index: index, end: index + n, origin: origin)
    }

    /// The rest of this reader's range.
    mutating func rest() -> ArraySlice<UInt8> {
        defer { index = end }
        return bytes[index..<end]
    }

    /// Reads an item header — type, one reserved (or version) byte, 16-bit length (PS3.8 9.3.2.x,
    /// Annex D) — and returns a reader over the item's value.
    mutating func item(in container: String) throws -> (type: UInt8, value: PDUReader) {
        let start = index
        let type = try u8("\(container): item type")
        try skip(1, "\(container): item 0x\(hex(type)) reserved byte")
        let length = Int(try u16("\(container): item 0x\(hex(type)) length"))
        guard length <= remaining else {
            throw error("\(container): item 0x\(hex(type)) length \(length) runs past the end (\(remaining) bytes left)", at: start)
        }
        return (type, try sub(length, "item 0x\(hex(type))"))
    }

    /// A 16-bit length followed by that many bytes (UID fields inside user information sub-items).
    mutating func field16(_ what: String) throws -> ArraySlice<UInt8> {
        let start = index
        let n = Int(try u16("\(what) length"))
        guard n <= remaining else { throw error("\(what) length \(n) runs past the end of its item (\(remaining) bytes left)", at: start) }
        return try take(n, what)
    }

    /// Fails unless the item was consumed exactly: fixed layouts have no slack (PS3.7 Annex D.3.3).
    func expectEnd(_ what: String) throws {
        guard isAtEnd else { throw error("\(what): \(remaining) bytes left over after its last field") }
    }
}

func hex(_ b: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}

extension Array where Element == UInt8 {
    mutating func appendU16(_ v: UInt16) {
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v))
    }

    mutating func appendU32(_ v: UInt32) {
        append(UInt8(truncatingIfNeeded: v >> 24))
        append(UInt8(truncatingIfNeeded: v >> 16))
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v))
    }

    mutating func setU16(_ v: UInt16, at i: Int) {
        self[i] = UInt8(truncatingIfNeeded: v >> 8)
        self[i + 1] = UInt8(truncatingIfNeeded: v)
    }

    mutating func setU32(_ v: UInt32, at i: Int) {
        self[i] = UInt8(truncatingIfNeeded: v >> 24)
        self[i + 1] = UInt8(truncatingIfNeeded: v >> 16)
        self[i + 2] = UInt8(truncatingIfNeeded: v >> 8)
        self[i + 3] = UInt8(truncatingIfNeeded: v)
    }
}

enum PDUWriter {
    /// Appends an item with a 16-bit length (type, reserved/version byte, length, value). An item
    /// whose value does not fit 16 bits, or that would push its container past `limit` (the
    /// largest allowed `out.count`), cannot be represented and is left out: the caller's input
    /// was out of range, and a dropped optional item is better than a corrupt PDU.
    @discardableResult
    static func item(_ type: UInt8, byte1: UInt8 = 0, into out: inout [UInt8], limit: Int = .max,
                     _ value: (inout [UInt8]) -> Void) -> Bool {
        let start = out.count
        out.append(type)
        out.append(byte1)
        out.appendU16(0)
        value(&out)
        let length = out.count - start - 4
        guard length <= 0xFFFF, out.count <= limit else {
            out.removeSubrange(start...)
            return false
        }
        out.setU16(UInt16(length), at: start + 2)
        return true
    }

    /// A 16-bit length followed by `text` (UID fields in user information sub-items). A longer
    /// text makes the enclosing item too long, which `item` then drops.
    static func field16(_ text: String, into out: inout [UInt8]) {
        let start = out.count
        out.appendU16(0)
        PDUText.append(text, to: &out)
        out.setU16(UInt16(truncatingIfNeeded: out.count - start - 2), at: start)
    }

    static func field16(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.appendU16(UInt16(truncatingIfNeeded: bytes.count))
        out.append(contentsOf: bytes)
    }
}

/// Text fields of the upper layer: AE titles, UIDs and the implementation version name are
/// ISO 646 (PS3.8 9.3.2, Annex F). Bytes map 1:1 to Latin-1 scalars so that any received value,
/// even a non-ASCII one, survives decode → encode unchanged.
enum PDUText {
    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        for b in bytes { scalars.append(Unicode.Scalar(b)) }
        return String(scalars)
    }

    static func append(_ text: String, to out: inout [UInt8], maxLength: Int = .max) {
        var n = 0
        for s in text.unicodeScalars {
            guard n < maxLength else { break }
            out.append(s.value < 0x100 ? UInt8(s.value) : UInt8(ascii: "?"))
            n += 1
        }
    }

    /// A UID as received: some peers pad to even length with NUL (PS3.5 9.1) or space; neither
    /// belongs to the UID. PS3.8 Annex F: no padding when sent.
    static func uid(_ bytes: ArraySlice<UInt8>) -> String {
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[end - 1] == 0 || bytes[end - 1] == 0x20 { end -= 1 }
        return string(bytes[bytes.startIndex..<end])
    }

    /// PS3.8 Table 9-11: leading and trailing spaces of an AE title are not significant.
    /// Trailing NULs (some peers pad with them) are dropped too.
    static func aeTitle(_ bytes: ArraySlice<UInt8>) -> String {
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[end - 1] == 0 || bytes[end - 1] == 0x20 { end -= 1 }
        var start = bytes.startIndex
        while start < end, bytes[start] == 0x20 { start += 1 }
        return string(bytes[start..<end])
    }

    /// AE titles are always 16 bytes on the wire, space padded; longer ones are cut.
    static func appendAETitle(_ title: String, to out: inout [UInt8]) {
        let start = out.count
        append(title, to: &out, maxLength: 16)
        out.append(contentsOf: repeatElement(0x20, count: 16 - (out.count - start)))
    }
}
