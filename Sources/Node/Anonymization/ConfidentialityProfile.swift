import Foundation
import Codec

/// The action codes of PS3.15 E.1.1 (Table E.1-1 and its option columns).
public enum ProfileAction: String, Sendable, CaseIterable {
    /// X: remove.
    case remove = "X"
    /// Z: replace with a zero length value.
    case zero = "Z"
    /// D: replace with a non-zero length dummy value consistent with the VR.
    case dummy = "D"
    /// K: keep (unchanged for non-sequence attributes, cleaned for sequences).
    case keep = "K"
    /// C: clean, i.e. replace with values of similar meaning known not to identify.
    case clean = "C"
    /// U: replace with a non-zero length UID that is internally consistent within a set of instances.
    case replaceUID = "U"
    /// Z unless D is required for IOD conformance (Type 2 versus Type 1).
    case zeroOrDummy = "Z/D"
    /// X unless Z is required (Type 3 versus Type 2).
    case removeOrZero = "X/Z"
    /// X unless D is required (Type 3 versus Type 1).
    case removeOrDummy = "X/D"
    /// X unless Z or D is required (Type 3 versus Type 2 versus Type 1).
    case removeOrZeroOrDummy = "X/Z/D"
    /// X unless Z or replacement of the contained instance UIDs is required (sequences of references).
    case removeOrZeroOrReplaceUIDs = "X/Z/U*"
}

/// The option columns of Table E.1-1, in the table's order (as the generated rows hold them).
enum ProfileColumn: Int, CaseIterable {
    case retainSafePrivate, retainUIDs, retainDeviceIdentity, retainInstitutionIdentity, retainPatientCharacteristics,
         retainLongitudinalFullDates, retainLongitudinalModifiedDates, cleanDescriptors, cleanStructuredContent, cleanGraphics
}

/// One row of Table E.1-1.
public struct ConfidentialityProfileRow: Sendable {
    /// The tag, with `mask` bits that must match (repeating groups 50xx, 60xx); unused for the private row.
    public let tag: Tag
    public let mask: UInt32
    /// The row "Private Attributes (gggg,eeee) where gggg is odd".
    public let isPrivateAttributes: Bool
    /// "In Std. Comp. IOD": whether the attribute occurs in a standard composite IOD (nil: not given).
    public let inStandardIOD: Bool?
    public let basic: ProfileAction
    let options: [ProfileAction?]
    public let name: String

    public func matches(_ t: Tag) -> Bool {
        isPrivateAttributes ? t.isPrivate : t.value & mask == tag.value & mask
    }

    /// The action of one option column (nil: the option does not change this attribute).
    func action(_ column: ProfileColumn) -> ProfileAction? { options[column.rawValue] }

    /// The action under `profile`: the option of highest rank that names this attribute, else the
    /// Basic Profile's (Slicebox's precedence rule).
    public func action(in profile: AnonymizationProfile) -> ProfileAction {
        for column in profile.columnsByRank { if let a = action(column) { return a } }
        return basic
    }
}

/// A private attribute that Table E.3.10-1 lists as safe to keep (Retain Safe Private Option).
public struct SafePrivateAttribute: Sendable, Hashable {
    public let group: UInt16
    /// The element within its private block: the `ee` of (gggg,xxee).
    public let elementOffset: UInt8
    public let creator: String
    public let vr: String
    public let meaning: String
}

/// PS3.15 Table E.1-1 and Table E.3.10-1 as data (the text is generated into
/// ConfidentialityProfileTable.swift by scripts/gen_confidentiality_profile.py).
public enum ConfidentialityProfileTable {
    public static let rows: [ConfidentialityProfileRow] = attributeRows.split(separator: "\n").map { line in
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        precondition(f.count == 14, "malformed generated row: \(line)")
        func action(_ s: String) -> ProfileAction? { s == "-" ? nil : ProfileAction(rawValue: s)! }
        let isPrivate = f[0] == "PRIVATE"
        var value: UInt32 = 0, mask: UInt32 = 0
        if !isPrivate {
            for c in f[0] {
                value <<= 4; mask <<= 4
                if let d = c.hexDigitValue { value |= UInt32(d); mask |= 0xF }
            }
        }
        return ConfidentialityProfileRow(tag: Tag(value), mask: isPrivate ? 0 : mask, isPrivateAttributes: isPrivate,
                                         inStandardIOD: f[1] == "-" ? nil : f[1] == "Y", basic: action(f[2])!,
                                         options: (3..<13).map { action(f[$0]) }, name: f[13])
    }

    private static let exact: [UInt32: Int] = {
        var d: [UInt32: Int] = [:]
        for (i, r) in rows.enumerated() where !r.isPrivateAttributes && r.mask == 0xFFFF_FFFF { d[r.tag.value] = i }
        return d
    }()
    private static let masked: [ConfidentialityProfileRow] = rows.filter { !$0.isPrivateAttributes && $0.mask != 0xFFFF_FFFF }
    public static let privateAttributes: ConfidentialityProfileRow = rows.first { $0.isPrivateAttributes }!

    /// The row that governs `tag`, or nil for an attribute the table does not list (kept).
    public static func row(for tag: Tag) -> ConfidentialityProfileRow? {
        if tag.isPrivate { return privateAttributes }
        if let i = exact[tag.value] { return rows[i] }
        return masked.first { $0.matches(tag) }
    }

    public static let safePrivate: [SafePrivateAttribute] = safePrivateRows.split(separator: "\n").map { line in
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        precondition(f.count == 5, "malformed generated safe private row: \(line)")
        return SafePrivateAttribute(group: UInt16(f[0], radix: 16)!, elementOffset: UInt8(f[1], radix: 16)!,
                                    creator: f[2], vr: f[3], meaning: f[4])
    }

    private struct SafeKey: Hashable { var group: UInt16; var offset: UInt8; var creator: String }
    private static let safeIndex: Set<SafeKey> = Set(safePrivate.map {
        SafeKey(group: $0.group, offset: $0.elementOffset, creator: $0.creator.trimmingCharacters(in: .whitespaces))
    })

    /// Whether a private data element, reserved by `creator` (PS3.5 7.8.1), is in Table E.3.10-1.
    /// The element's block byte is not part of the match: a block may be reserved at any (gggg,00xx).
    public static func isSafePrivate(_ tag: Tag, creator: String) -> Bool {
        guard tag.isPrivate, tag.element >= 0x1000 else { return false }
        return safeIndex.contains(SafeKey(group: tag.group, offset: UInt8(tag.element & 0xFF),
                                          creator: creator.trimmingCharacters(in: .whitespaces)))
    }
}
