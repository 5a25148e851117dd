// The private data dictionary: VR, VM and name of private data elements known by their Private
// Creator (PS3.5 7.8.1), as pydicom knows them (pydicom/_private_dict.py, itself from GDCM).
//
// A private data element (gggg,bbee) belongs to the block bb reserved by the Private Creator
// element (gggg,00bb); its meaning is given by the creator's value and the low byte ee, whatever
// block the creator happened to get. The data lives in GeneratedPrivateDictionary.swift as
// tab-separated text (written by scripts/gen_private_dictionary.py) and is parsed once, on first
// use, into an immutable index held in a `static let`: Swift initialises it lazily, exactly once and
// thread-safely, so no locks or mutable shared state are needed under strict concurrency.

public enum PrivateDictionary {
    /// The entry for a private data element (gggg,xxee) reserved by `creator` (trailing spaces/NULs
    /// of the creator value ignored, as pydicom does; otherwise compared byte for byte, case-sensitive).
    ///
    /// `tag` is the actual element tag, e.g. (0019,1010) with the creator at (0019,0010). The
    /// lookup is pydicom's (`datadict.get_private_entry`): first a row for exactly that tag, then a
    /// row (gggg,xxee) for any block, then (ggxx,xxee) for any group with the same high byte
    /// (60xx/70xx rows). The entry's `tag` is the row's pattern with wildcards set to 0, e.g.
    /// (0009,0001) for (0009,xx01), and `repeatMask` says which bits matter (0xFFFF00FF for
    /// (gggg,xxee), 0xFF0000FF for (ggxx,xxee), 0xFFFFFFFF for exact rows). `keyword` is empty.
    ///
    /// No check is made that `tag` is private: a few rows of pydicom's table are in even groups.
    /// Readers should only ask for (gggg,bbee) with bb ≥ 0x10, i.e. tags with a `privateCreatorTag`.
    public static func entry(creator: String, tag: Tag) -> DictionaryEntry? {
        let index = self.index
        guard let slot = index.find(creator: creator, tag: tag) else { return nil }
        return index.entry(atLine: slot.line)
    }

    /// The VR of a private data element for Implicit VR decoding: the first VR of `entry(creator:tag:)`
    /// (for the rows with a choice, "US or SS" → US, "OB_OW" → OB). Hash probes on the creator's UTF-8
    /// bytes and the tag; no String is created, nothing is allocated for native Swift strings.
    /// nil if the creator or the element is not in the dictionary (pydicom then uses UN).
    public static func vr(creator: String, tag: Tag) -> VR? {
        index.find(creator: creator, tag: tag)?.vr
    }

    /// All Private Creator values the dictionary knows, sorted by their UTF-8 bytes.
    public static var creators: [String] { index.creators }

    fileprivate static let index = PrivateIndex(table: table)
}

/// Creator → block-agnostic element rows, built from `PrivateDictionary.table` without creating a
/// String per row; names and VMs are read back from the table text when an entry is asked for.
private final class PrivateIndex: Sendable {
    /// The table text; its UTF-8 offsets are what `ElementSlot.line` refers to.
    let text: String
    let creators: [String]
    /// UTF-8 bytes of all creators, back to back (each slot of `creatorSlots` says where).
    let creatorBytes: [UInt8]
    /// Which pattern kinds (bit 1 << kind) creator i has rows of, so lookups skip useless probes.
    let creatorKinds: [UInt8]
    /// Open addressing on `hash(_:)` of the creator bytes.
    let creatorSlots: [CreatorSlot]
    let creatorShift: UInt32
    /// Open addressing on (creator, kind, tag & mask of kind).
    let elementSlots: [ElementSlot]
    let elementShift: UInt64

    struct CreatorSlot: Sendable {
        var hash: UInt32
        var start: UInt32    // offset of the creator's bytes in `creatorBytes`
        var count: UInt16
        var creator: UInt16  // index in `creators`; `UInt16.max` = free
    }

    struct ElementSlot: Sendable {
        var key: UInt64
        var line: UInt32   // UTF-8 offset of the row in `text`; `UInt32.max` = free
        var vr: VR
    }

    static let free = UInt32.max

    /// Pattern kinds in pydicom's order of preference (0, 1, 2), with the tag bits each one compares:
    /// 'ggggbbee', 'ggggxxee', 'ggxxxxee'.
    @inline(__always)
    static func kindMask(_ kind: Int) -> UInt32 {
        kind == 0 ? 0xFFFF_FFFF : kind == 1 ? 0xFFFF_00FF : 0xFF00_00FF
    }

    init(table: String) {
        var text = table
        var creators: [String] = []
        var creatorBytes: [UInt8] = []
        var creatorStart: [Int32] = [0]
        var creatorKinds: [UInt8] = []
        var rows: [(key: UInt64, line: UInt32, vr: VR)] = []
        rows.reserveCapacity(10_600)
        text.withUTF8 { buf in
            precondition(buf.count < Int(UInt32.max), "GeneratedPrivateDictionary.swift too large")
            var lineStart = 0
            while lineStart < buf.count {
                var lineEnd = lineStart
                while lineEnd < buf.count && buf[lineEnd] != 10 { lineEnd += 1 }
                var end = lineEnd
                if end > lineStart && buf[end - 1] == 13 { end -= 1 }
                if end > lineStart {
                    if buf[lineStart] != 9 {
                        // creator line
                        let bytes = UnsafeBufferPointer(rebasing: buf[lineStart..<end])
                        creators.append(String(decoding: bytes, as: UTF8.self))
                        creatorBytes.append(contentsOf: bytes)
                        creatorStart.append(Int32(creatorBytes.count))
                        creatorKinds.append(0)
                    } else {
                        // element line: \t pattern \t VRs \t ...
                        precondition(!creators.isEmpty && end - lineStart >= 12 && buf[lineStart + 9] == 9,
                                     "GeneratedPrivateDictionary.swift: bad element row")
                        let (value, mask) = Self.hexPattern(buf, at: lineStart + 1)
                        guard let kind = (0..<3).first(where: { Self.kindMask($0) == mask }) else {
                            preconditionFailure("GeneratedPrivateDictionary.swift: unsupported tag pattern")
                        }
                        guard let vr = VR(byte0: buf[lineStart + 10], byte1: buf[lineStart + 11]) else {
                            preconditionFailure("GeneratedPrivateDictionary.swift: unknown VR")
                        }
                        let creator = creators.count - 1
                        creatorKinds[creator] |= 1 << kind
                        rows.append((Self.elementKey(creator: creator, kind: kind, value: value),
                                     UInt32(lineStart), vr))
                    }
                }
                lineStart = lineEnd + 1
            }
        }
        precondition(creators.count < Int(UInt16.max), "too many private creators")

        // Creator table, load ≤ 25 %.
        var cbits: UInt32 = 4
        while (1 << cbits) < creators.count * 4 { cbits += 1 }
        var cslots = [CreatorSlot](repeating: CreatorSlot(hash: 0, start: 0, count: 0, creator: .max),
                                   count: 1 << cbits)
        creatorBytes.withUnsafeBufferPointer { all in
            for i in creators.indices {
                let start = Int(creatorStart[i]), count = Int(creatorStart[i + 1]) - start
                precondition(count > 0 && count < Int(UInt16.max), "bad private creator")
                let bytes = UnsafeBufferPointer(rebasing: all[start..<(start + count)])
                let h = Self.hash(bytes)
                var s = Int(h >> (32 - cbits))
                while cslots[s].creator != .max {
                    let other = cslots[s]
                    precondition(other.hash != h || Int(other.count) != count
                                 || !Self.equal(all, start: Int(other.start), bytes), "duplicate private creator")
                    s = (s + 1) & (cslots.count - 1)
                }
                cslots[s] = CreatorSlot(hash: h, start: UInt32(start), count: UInt16(count), creator: UInt16(i))
            }
        }

        // Element table, load ≤ 33 %.
        var ebits: UInt64 = 4
        while (1 << ebits) < rows.count * 3 { ebits += 1 }
        var eslots = [ElementSlot](repeating: ElementSlot(key: 0, line: Self.free, vr: .UN), count: 1 << ebits)
        for row in rows {
            var s = Int(Self.mix(row.key) >> (64 - ebits))
            while eslots[s].line != Self.free {
                precondition(eslots[s].key != row.key, "duplicate private dictionary row")
                s = (s + 1) & (eslots.count - 1)
            }
            eslots[s] = ElementSlot(key: row.key, line: row.line, vr: row.vr)
        }

        self.text = text
        self.creators = creators
        self.creatorBytes = creatorBytes
        self.creatorKinds = creatorKinds
        self.creatorSlots = cslots
        self.creatorShift = 32 - cbits
        self.elementSlots = eslots
        self.elementShift = 64 - ebits
    }

    // MARK: lookup

    @inline(__always)
    func find(creator: String, tag: Tag) -> ElementSlot? {
        if let found = creator.utf8.withContiguousStorageIfAvailable({ find(creator: $0, tag: tag) }) {
            return found
        }
        return Array(creator.utf8).withUnsafeBufferPointer { find(creator: $0, tag: tag) }
    }

    func find(creator raw: UnsafeBufferPointer<UInt8>, tag: Tag) -> ElementSlot? {
        // pydicom strips trailing spaces and NULs from the creator value (values.convert_text).
        var n = raw.count
        while n > 0 && (raw[n - 1] == 0x20 || raw[n - 1] == 0) { n -= 1 }
        guard n > 0, let creator = creatorIndex(UnsafeBufferPointer(rebasing: raw[..<n])) else { return nil }
        let kinds = creatorKinds[creator]
        for kind in 0..<3 where kinds & (1 << kind) != 0 {
            let key = Self.elementKey(creator: creator, kind: kind, value: tag.value & Self.kindMask(kind))
            if let slot = elementSlot(key) { return slot }
        }
        return nil
    }

    private func creatorIndex(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let h = Self.hash(bytes)
        return creatorSlots.withUnsafeBufferPointer { slots in
            creatorBytes.withUnsafeBufferPointer { all in
                var s = Int(h >> creatorShift)
                while true {
                    let slot = slots[s]
                    if slot.creator == .max { return nil }
                    if slot.hash == h && Int(slot.count) == bytes.count
                        && Self.equal(all, start: Int(slot.start), bytes) {
                        return Int(slot.creator)
                    }
                    s = (s + 1) & (slots.count - 1)
                }
            }
        }
    }

    @inline(__always)
    private func elementSlot(_ key: UInt64) -> ElementSlot? {
        elementSlots.withUnsafeBufferPointer { slots in
            var s = Int(Self.mix(key) >> elementShift)
            while true {
                let slot = slots[s]
                if slot.line == Self.free { return nil }
                if slot.key == key { return slot }
                s = (s + 1) & (slots.count - 1)
            }
        }
    }

    // MARK: entries

    /// Builds the entry of the row starting at UTF-8 offset `line` of `text`.
    func entry(atLine line: UInt32) -> DictionaryEntry {
        var text = self.text
        return text.withUTF8 { buf in
            // columns: (empty), pattern, VRs, VM, retired, name
            var fields: [Range<Int>] = []
            var start = Int(line)
            var i = start
            while true {
                let c: UInt8 = i < buf.count ? buf[i] : 10
                if c == 9 || c == 10 || c == 13 {
                    fields.append(start..<i)
                    start = i + 1
                    if c != 9 { break }
                }
                i += 1
            }
            func string(_ k: Int) -> String {
                k < fields.count ? String(decoding: UnsafeBufferPointer(rebasing: buf[fields[k]]), as: UTF8.self) : ""
            }
            let (value, mask) = Self.hexPattern(buf, at: fields[1].lowerBound)
            let vrs = string(2).split(separator: "|").map { part -> VR in
                guard let vr = VR(string: String(part)) else {
                    preconditionFailure("GeneratedPrivateDictionary.swift: unknown VR \(part)")
                }
                return vr
            }
            return DictionaryEntry(tag: Tag(value), vrs: vrs, vm: string(3), name: string(5), keyword: "",
                                   isRetired: fields.count > 4 && !fields[4].isEmpty, repeatMask: mask)
        }
    }

    // MARK: helpers

    /// (creator index, pattern kind, masked tag) → one 64-bit key.
    @inline(__always)
    static func elementKey(creator: Int, kind: Int, value: UInt32) -> UInt64 {
        UInt64(creator) << 34 | UInt64(kind) << 32 | UInt64(value)
    }

    @inline(__always)
    static func mix(_ key: UInt64) -> UInt64 {
        (key ^ (key >> 29)) &* 0x9E37_79B9_7F4A_7C15
    }

    /// Hash of a byte string, 8 bytes at a time (FNV-1a byte by byte was most of a lookup's time).
    /// Native byte order: the table is built and probed on the same machine.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let n = bytes.count
        var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        guard n > 0, let base = bytes.baseAddress else { return UInt32(truncatingIfNeeded: h >> 32) }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
            i += 8
        }
        if i < n {
            var w: UInt64 = 0, shift: UInt64 = 0
            while i < n { w |= UInt64(base[i]) << shift; shift += 8; i += 1 }
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
        }
        h = h &* 0xC4CE_B9FE_1A85_EC53
        return UInt32(truncatingIfNeeded: h >> 32)
    }

    /// Whether `all[start..<start+count]` equals `bytes` (same count checked by the caller).
    @inline(__always)
    static func equal(_ all: UnsafeBufferPointer<UInt8>, start: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let a = all.baseAddress, let b = bytes.baseAddress else { return bytes.isEmpty }
        let pa = UnsafeRawPointer(a + start), pb = UnsafeRawPointer(b)
        let n = bytes.count
        var i = 0
        while i + 8 <= n {
            if pa.loadUnaligned(fromByteOffset: i, as: UInt64.self) != pb.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < n {
            if pa.load(fromByteOffset: i, as: UInt8.self) != pb.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    static func hexPattern(_ buf: UnsafeBufferPointer<UInt8>, at: Int) -> (value: UInt32, mask: UInt32) {
        parseTagPattern(buf, at: at, table: "GeneratedPrivateDictionary.swift")
    }
}
