// The PS3.6 data dictionary (section 6 registry of data elements, section 7 file meta elements,
// section 8 directory structuring elements, plus the PS3.7 command elements of group 0000) and the
// PS3.6 Annex A UID registry.
//
// The data lives in GeneratedDictionary.swift as tab-separated text (written by
// scripts/gen_dictionary.py from pydicom's tables) and is parsed once, on first use, into
// immutable lookup structures held in `static let`s: Swift initialises those lazily and exactly
// once, thread-safely, so no locks or mutable shared state are needed under strict concurrency.

/// One row of the PS3.6 data dictionary.
public struct DictionaryEntry: Sendable, Hashable {
    /// The tag. For repeating groups (PS3.5 7.6) and other wildcard rows this is the pattern with
    /// the wildcard digits set to 0, e.g. (5000,0005) for (50xx,0005). Entries synthesized for group
    /// lengths and private creators carry the tag that was looked up.
    public let tag: Tag
    /// Allowed VRs; the first is the default used for Implicit VR. "US or SS" → [.US, .SS].
    /// Empty for the item and delimitation tags (FFFE,E000/E00D/E0DD), which have no VR (PS3.5 7.5).
    public let vrs: [VR]
    /// Value multiplicity as PS3.6 writes it: "1", "1-n", "2-2n", ...
    public let vm: String
    /// "Patient's Name"
    public let name: String
    /// "PatientName"; empty for a few retired rows the standard left unnamed.
    public let keyword: String
    public let isRetired: Bool
    /// Bits of a tag that must equal `tag.value` for this entry to apply: 0xFFFFFFFF for exact
    /// tags, 0xFF00FFFF for (50xx,eeee)/(60xx,eeee)/(7Fxx,eeee), 0xFFFF000F for (1000,xxx0), ...
    public let repeatMask: UInt32

    public var vr: VR { vrs.first ?? .UN }

    public init(tag: Tag, vrs: [VR], vm: String, name: String, keyword: String,
                isRetired: Bool, repeatMask: UInt32 = 0xFFFF_FFFF) {
        self.tag = tag
        self.vrs = vrs
        self.vm = vm
        self.name = name
        self.keyword = keyword
        self.isRetired = isRetired
        self.repeatMask = repeatMask
    }

    /// Whether `other` is described by this entry (exact tag or wildcard match).
    public func matches(_ other: Tag) -> Bool {
        other.value & repeatMask == tag.value & repeatMask
    }
}

public enum DataDictionary {
    /// Dictionary entry for a tag: exact PS3.6 rows first, then group lengths (gggg,0000) (PS3.5 7.2),
    /// then private creators (gggg,0010-00FF in odd groups, PS3.5 7.8.1), then repeating groups and
    /// other wildcard rows (50xx, 60xx, 7Fxx, (0020,31xx), (1000,xxxN), ...). Other private tags → nil.
    public static func entry(for tag: Tag) -> DictionaryEntry? {
        if let row = tagIndex.exact.index(of: tag.value) { return entries[row] }
        if tag.isGroupLength {
            // Only (0000,0000) and (0002,0000) are in PS3.6; all other group lengths are retired (PS3.5 7.2).
            return DictionaryEntry(tag: tag, vrs: [.UL], vm: "1", name: "Group Length",
                                   keyword: "GroupLength", isRetired: true)
        }
        if tag.isPrivate {
            guard tag.isPrivateCreator else { return nil }
            return DictionaryEntry(tag: tag, vrs: [.LO], vm: "1", name: "Private Creator",
                                   keyword: "PrivateCreator", isRetired: false)
        }
        if let row = tagIndex.repeatingSlot(tag.value)?.index { return entries[row] }
        return nil
    }

    /// Entry for a PS3.6 keyword such as "PatientName" or "OverlayData". Case-sensitive.
    /// The synthesized "GroupLength" and "PrivateCreator" have no single tag and are not found here.
    public static func entry(forKeyword keyword: String) -> DictionaryEntry? {
        guard let row = keywordIndex[keyword] else { return nil }
        return entries[row]
    }

    /// Default VR of a tag for Implicit VR decoding (PS3.5 A.1): an open-addressing probe on the tag
    /// value, no string work. Unknown and private data elements → .UN, private creators → .LO,
    /// group lengths → .UL, item/delimitation tags → .UN.
    @inline(__always)
    public static func vr(for tag: Tag) -> VR {
        let index = tagIndex
        if let vr = index.exact.vr(of: tag.value) { return vr }
        return index.slowVR(for: tag)
    }

    /// All PS3.6 rows (exact and wildcard), sorted by `tag` (wildcards at their xx = 00 position).
    public static var allEntries: [DictionaryEntry] { entries }

    // MARK: storage (file-private so helper names cannot clash with the rest of the module)
    // Three independent lazy globals, so each use pays only for what it needs: Implicit VR decoding
    // needs just tag → VR (no Strings are created for it); names and keywords come on first use.

    fileprivate static let tagIndex = TagIndex(table: elementTable)

    /// Rows of `elementTable` in order; row numbers are shared with `tagIndex`.
    fileprivate static let entries: [DictionaryEntry] = {
        var entries: [DictionaryEntry] = []
        entries.reserveCapacity(5300)
        var vrCache: [String: [VR]] = [:]   // ~15 distinct VR columns: share one array each
        forEachTSVRow(in: elementTable) { row in
            // columns: tag, VRs, VM, retired, keyword, name
            let (value, mask) = row.hexPattern(0)
            let vrText = row.string(1)
            let vrs: [VR]
            if let cached = vrCache[vrText] {
                vrs = cached
            } else {
                vrs = vrText.split(separator: "|").map { part in
                    guard let vr = VR(string: String(part)) else {
                        preconditionFailure("GeneratedDictionary.swift: unknown VR \(part)")
                    }
                    return vr
                }
                vrCache[vrText] = vrs
            }
            entries.append(DictionaryEntry(
                tag: Tag(value), vrs: vrs, vm: row.string(2), name: row.string(5),
                keyword: row.string(4), isRetired: row.isNonEmpty(3), repeatMask: mask))
        }
        return entries
    }()

    fileprivate static let keywordIndex: [String: Int] = {
        var index = [String: Int](minimumCapacity: entries.count)
        for (row, e) in entries.enumerated() where !e.keyword.isEmpty {
            index[e.keyword] = row
        }
        return index
    }()
}

/// Tag → (row of `elementTable`, default VR), parsed from the tag and VR columns only.
private final class TagIndex: Sendable {
    /// Exact tags.
    let exact: TagTable
    /// One table per distinct wildcard mask, keyed by `tag & mask`, most specific mask
    /// (most bits set) first.
    let repeating: [RepeatGroup]

    struct RepeatGroup: Sendable {
        let mask: UInt32
        let table: TagTable
    }

    init(table: String) {
        var exactKeys: [(UInt32, Int, VR)] = []
        exactKeys.reserveCapacity(5300)
        var groups: [UInt32: [(UInt32, Int, VR)]] = [:]
        var rowNumber = 0
        forEachTSVRow(in: table) { row in
            let (value, mask) = row.hexPattern(0)
            let vr = row.firstVR(1)
            if mask == 0xFFFF_FFFF {
                exactKeys.append((value, rowNumber, vr))
            } else {
                groups[mask, default: []].append((value, rowNumber, vr))
            }
            rowNumber += 1
        }
        exact = TagTable(exactKeys)
        repeating = groups.keys
            .sorted { ($0.nonzeroBitCount, $0) > ($1.nonzeroBitCount, $1) }
            .map { RepeatGroup(mask: $0, table: TagTable(groups[$0]!)) }
    }

    func repeatingSlot(_ value: UInt32) -> TagTable.Slot? {
        for group in repeating {
            if let slot = group.table.slot(of: value & group.mask) { return slot }
        }
        return nil
    }

    /// Everything after an exact miss; kept out of line so `vr(for:)` inlines to one probe.
    @inline(never)
    func slowVR(for tag: Tag) -> VR {
        if tag.isGroupLength { return .UL }
        if tag.isPrivate { return tag.isPrivateCreator ? .LO : .UN }
        return repeatingSlot(tag.value)?.vr ?? .UN
    }
}

/// Open-addressing hash table from tag value to (entry index, default VR), linear probing with
/// Fibonacci hashing. A fixed ≤ 31 % load keeps probe sequences short; built once, never mutated.
private struct TagTable: Sendable {
    struct Slot: Sendable {
        var key: UInt32
        var row: UInt16     // `empty` marks a free slot (key 0 is a real tag: CommandGroupLength)
        var vr: VR
        var index: Int { Int(row) }
    }
    static let empty = UInt16.max
    private let slots: [Slot]
    private let shift: UInt32
    private let mask: Int

    init(_ items: [(UInt32, Int, VR)]) {
        var bits: UInt32 = 4
        while (1 << bits) < items.count * 3 + 1 { bits += 1 }
        var slots = [Slot](repeating: Slot(key: 0, row: Self.empty, vr: .UN), count: 1 << bits)
        let mask = slots.count - 1
        for (key, index, vr) in items {
            precondition(index < Int(Self.empty), "dictionary too large for TagTable")
            var s = Self.hash(key, shift: 32 - bits)
            while slots[s].row != Self.empty {
                precondition(slots[s].key != key, "duplicate tag in dictionary")
                s = (s + 1) & mask
            }
            slots[s] = Slot(key: key, row: UInt16(index), vr: vr)
        }
        self.slots = slots
        self.shift = 32 - bits
        self.mask = mask
    }

    @inline(__always) static func hash(_ key: UInt32, shift: UInt32) -> Int {
        Int((key &* 0x9E37_79B1) >> shift)
    }

    @inline(__always) func slot(of key: UInt32) -> Slot? {
        var s = Self.hash(key, shift: shift)
        return slots.withUnsafeBufferPointer { buf in
            while true {
                let slot = buf[s]
                if slot.row == Self.empty { return nil }
                if slot.key == key { return slot }
                s = (s + 1) & mask
            }
        }
    }

    @inline(__always) func index(of key: UInt32) -> Int? { slot(of: key)?.index }
    @inline(__always) func vr(of key: UInt32) -> VR? { slot(of: key)?.vr }
}

// MARK: - UID registry

/// One row of the PS3.6 Annex A UID registry.
public struct UIDEntry: Sendable, Hashable {
    public let uid: String
    /// "Explicit VR Little Endian"
    public let name: String
    /// As pydicom spells it: "Transfer Syntax", "SOP Class", "Meta SOP Class", "Well-known SOP Instance",
    /// "Well-known frame of reference", "Coding Scheme", "LDAP OID", "Application Context Name", ...
    public let type: String
    /// Extra text from the registry, e.g. "Default Transfer Syntax for DICOM"; usually empty.
    public let info: String
    public let isRetired: Bool
    /// "ExplicitVRLittleEndian"
    public let keyword: String

    public init(uid: String, name: String, type: String, info: String, isRetired: Bool, keyword: String) {
        self.uid = uid
        self.name = name
        self.type = type
        self.info = info
        self.isRetired = isRetired
        self.keyword = keyword
    }
}

public enum UIDRegistry {
    public static func entry(for uid: String) -> UIDEntry? {
        guard let i = store.byUID[uid] else { return nil }
        return store.entries[i]
    }

    /// Entries whose `type` equals `type` exactly, in registry order.
    public static func entries(ofType type: String) -> [UIDEntry] {
        store.entries.filter { $0.type == type }
    }

    /// All registry rows, sorted by UID component values.
    public static var allEntries: [UIDEntry] { store.entries }

    /// Storage SOP Classes of the Storage and Non-Patient Object Storage Service Classes
    /// (PS3.4 Annex B and GG), current and retired: SOP Classes named "... Storage ...", plus those
    /// in pynetdicom's storage list; not Storage Commitment and not Media Storage Directory (DICOMDIR).
    /// The generator decides and marks them; see scripts/gen_dictionary.py.
    public static var storageSOPClasses: [UIDEntry] { store.storage }

    fileprivate static let store = UIDStore(table: uidTable)
}

private final class UIDStore: Sendable {
    let entries: [UIDEntry]
    let byUID: [String: Int]
    let storage: [UIDEntry]

    init(table: String) {
        var entries: [UIDEntry] = []
        var storage: [UIDEntry] = []
        forEachTSVRow(in: table) { row in
            // columns: uid, type, retired, storage, keyword, name, info
            let e = UIDEntry(uid: row.string(0), name: row.string(5), type: row.string(1),
                             info: row.string(6), isRetired: row.isNonEmpty(2), keyword: row.string(4))
            entries.append(e)
            if row.isNonEmpty(3) { storage.append(e) }
        }
        var byUID = [String: Int](minimumCapacity: entries.count)
        for (i, e) in entries.enumerated() { byUID[e.uid] = i }
        self.entries = entries
        self.byUID = byUID
        self.storage = storage
    }
}

// MARK: - tab-separated table reader

/// Fields of one line of a generated table. Missing trailing fields read as empty, so the tables
/// survive an editor stripping trailing tabs.
private struct TSVRow {
    let bytes: UnsafeBufferPointer<UInt8>
    var fields: [Range<Int>]

    func string(_ i: Int) -> String {
        guard i < fields.count else { return "" }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[fields[i]]), as: UTF8.self)
    }

    func isNonEmpty(_ i: Int) -> Bool { i < fields.count && !fields[i].isEmpty }

    /// First VR of a "US|SS" column without creating a String; .UN when the column is empty.
    func firstVR(_ i: Int) -> VR {
        guard i < fields.count, fields[i].count >= 2 else { return .UN }
        let p = fields[i].lowerBound
        guard let vr = VR(byte0: bytes[p], byte1: bytes[p + 1]) else {
            preconditionFailure("GeneratedDictionary.swift: unknown VR")
        }
        return vr
    }

    func hexPattern(_ i: Int) -> (value: UInt32, mask: UInt32) {
        precondition(fields[i].count == 8, "GeneratedDictionary.swift: bad tag field")
        return parseTagPattern(bytes, at: fields[i].lowerBound, table: "GeneratedDictionary.swift")
    }
}

/// Calls `body` for every non-empty line of `text`, split on tabs.
private func forEachTSVRow(in text: String, _ body: (TSVRow) -> Void) {
    var text = text
    text.withUTF8 { buf in
        var row = TSVRow(bytes: buf, fields: [])
        row.fields.reserveCapacity(8)
        var lineStart = 0, fieldStart = 0
        for i in 0...buf.count {
            let c: UInt8 = i < buf.count ? buf[i] : 10
            if c == 9 {
                row.fields.append(fieldStart..<i)
                fieldStart = i + 1
            } else if c == 10 || c == 13 {
                if i > lineStart {
                    row.fields.append(fieldStart..<i)
                    body(row)
                }
                row.fields.removeAll(keepingCapacity: true)
                lineStart = i + 1
                fieldStart = i + 1
            }
        }
    }
}
