import XCTest
import Foundation
import Codec
import TestPeers
@testable import Node

/// Checks an anonymized data set against its original attribute by attribute, at every depth,
/// against the generated Table E.1-1 under a profile: each X attribute absent, each Z empty, each D
/// replaced by a non-empty value other than the original, each U a new 2.25 UID mapped the same
/// way everywhere, each K unchanged, each combined code one of its choices, unlisted attributes
/// unchanged, no private attribute left (outside the safe list when it is retained).
struct ProfileConformance {
    let profile: AnonymizationProfile
    /// Real UID → anonymous UID over everything checked with this value (consistency across files).
    var uids: [String: String] = [:]
    var failures: [String] = []
    /// How many attributes were checked per action, to see the check covered something.
    var checked: [ProfileAction: Int] = [:]

    init(profile: AnonymizationProfile) { self.profile = profile }

    static let markers: Set<Tag> = [.patientIdentityRemoved, .deidentificationMethod, .deidentificationMethodCodeSequence,
                                    .longitudinalTemporalInformationModified]

    mutating func fail(_ path: String, _ e: DataElement, _ why: String) {
        let name = DataDictionary.entry(for: e.tag)?.keyword ?? ""
        failures.append("\(path)\(e.tag) \(name): \(why)")
    }

    static func text(_ e: DataElement?, _ cs: SpecificCharacterSet = .default) -> String? {
        guard let e else { return nil }
        if e.vr.isString { return e.strings(characterSet: cs).joined(separator: "\\") }
        return e.bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// `cleaning`: inside a sequence the profile cleans (C), where free text may be scrubbed.
    mutating func check(original: DataSet, anonymized: DataSet, path: String = "", root: Bool = true, cleaning: Bool = false) {
        for e in original.elements {
            if e.tag.isGroupLength { continue }
            if e.tag.isPrivate { continue }  // checked by `privateLeft`
            if root && ProfileConformance.markers.contains(e.tag) { continue }
            let a = anonymized[e.tag]
            if root && (e.tag == .patientName || e.tag == .patientID) {
                // Pseudonyms replace the Z and Z/D of the table (Slicebox's fill-in).
                guard let v = ProfileConformance.text(a, anonymized.characterSet), v.hasPrefix("2.25.") else {
                    fail(path, e, "expected a 2.25 pseudonym, found \(String(describing: ProfileConformance.text(a)))"); continue
                }
                checked[.zero, default: 0] += 1
                continue
            }
            guard let row = ConfidentialityProfileTable.row(for: e.tag) else {
                if (0x6000...0x601E).contains(e.tag.group), original[Tag(group: e.tag.group, element: 0x3000)] != nil,
                   anonymized[Tag(group: e.tag.group, element: 0x3000)] == nil {
                    if a != nil { fail(path, e, "overlay group whose data went is still there") }
                    continue
                }
                guard let a else { fail(path, e, "unlisted attribute removed"); continue }
                if let items = e.items {
                    guard let out = a.items, out.count == items.count else { fail(path, e, "unlisted sequence lost items"); continue }
                    for (i, item) in items.enumerated() { check(original: item, anonymized: out[i], path: path + "\(e.tag)[\(i)].", root: false, cleaning: cleaning) }
                } else if a.bytes != e.bytes && !(cleaning && [.LO, .LT, .PN, .SH, .ST, .UC, .UT].contains(e.vr)) {
                    fail(path, e, "unlisted attribute changed")
                }
                continue
            }
            let action = row.action(in: profile)
            checked[action, default: 0] += 1
            let before = ProfileConformance.text(e, original.characterSet)
            let after = ProfileConformance.text(a, anonymized.characterSet)
            let changed = after != before || (before ?? "").isEmpty
            func dummyOK() -> Bool {
                guard let a else { return false }
                if e.vr == .SQ { return a.items?.count == 1 && a.items?.first?.isEmpty == true }
                return !a.isEmpty && changed
            }
            func zeroOK() -> Bool { a != nil && a!.isEmpty }
            switch action {
            case .remove:
                if a != nil { fail(path, e, "X but still present: \(after ?? "")") }
            case .zero:
                if !zeroOK() { fail(path, e, "Z but not empty: \(String(describing: after))") }
            case .dummy:
                if !dummyOK() { fail(path, e, "D but not a dummy: \(String(describing: after)) (was \(before ?? ""))") }
                if e.vr == .UI { checkUIDs(e, a, path) }
            case .replaceUID:
                checkUIDs(e, a, path)
            case .keep:
                guard let a else { fail(path, e, "K but removed"); continue }
                if let items = e.items {
                    guard let out = a.items, out.count == items.count else { fail(path, e, "K sequence lost items"); continue }
                    for (i, item) in items.enumerated() { check(original: item, anonymized: out[i], path: path + "\(e.tag)[\(i)].", root: false, cleaning: cleaning) }
                } else if a.bytes != e.bytes {
                    fail(path, e, "K but changed: \(before ?? "") → \(after ?? "")")
                }
            case .clean:
                if let items = e.items, let out = a?.items, out.count == items.count {
                    for (i, item) in items.enumerated() { check(original: item, anonymized: out[i], path: path + "\(e.tag)[\(i)].", root: false, cleaning: true) }
                }
                // The value itself is checked by the leak test (nothing identifying left).
            case .zeroOrDummy:
                if !(zeroOK() || dummyOK()) { fail(path, e, "Z/D but \(String(describing: after))") }
            case .removeOrZero:
                if !(a == nil || zeroOK()) { fail(path, e, "X/Z but \(String(describing: after))") }
            case .removeOrDummy:
                if !(a == nil || dummyOK()) { fail(path, e, "X/D but \(String(describing: after))") }
            case .removeOrZeroOrDummy:
                if !(a == nil || zeroOK() || dummyOK()) { fail(path, e, "X/Z/D but \(String(describing: after))") }
            case .removeOrZeroOrReplaceUIDs:
                guard let a, !a.isEmpty else { continue }
                guard let items = e.items, let out = a.items, out.count == items.count else { fail(path, e, "X/Z/U* kept without its items"); continue }
                for (i, item) in items.enumerated() { check(original: item, anonymized: out[i], path: path + "\(e.tag)[\(i)].", root: false, cleaning: cleaning) }
            }
        }
    }

    /// Every value a new 2.25 UID, never the original, the same real UID always the same new one,
    /// two real UIDs never the same new one.
    mutating func checkUIDs(_ e: DataElement, _ a: DataElement?, _ path: String) {
        guard let a else { fail(path, e, "U but removed"); return }
        let before = e.strings(), after = a.strings()
        guard before.count == after.count || before.isEmpty else { fail(path, e, "U changed the number of values"); return }
        for (b, n) in zip(before, after) {
            if !n.hasPrefix("2.25.") || n == b { fail(path, e, "U value \(b) became \(n)") }
            if let earlier = uids[b], earlier != n { fail(path, e, "UID \(b) became \(n) here but \(earlier) elsewhere") }
            if let other = uids.first(where: { $0.value == n && $0.key != b }) { fail(path, e, "UIDs \(b) and \(other.key) both became \(n)") }
            uids[b] = n
        }
    }

    /// Private attributes left anywhere (those of Table E.3.10-1 allowed when `safeAllowed`).
    static func privateLeft(_ ds: DataSet, safeAllowed: Bool, path: String = "") -> [String] {
        var out: [String] = []
        var creators: [UInt32: String] = [:]
        for e in ds.elements where e.tag.isPrivateCreator { creators[UInt32(e.tag.group) << 16 | UInt32(e.tag.element)] = e.strings(characterSet: ds.characterSet).first ?? "" }
        for e in ds.elements {
            if e.tag.isPrivate && !e.tag.isPrivateCreator {
                let creator = creators[UInt32(e.tag.group) << 16 | UInt32(e.tag.element >> 8)] ?? ""
                if !(safeAllowed && ConfidentialityProfileTable.isSafePrivate(e.tag, creator: creator)) { out.append("\(path)\(e.tag) (\(creator))") }
            }
            if e.tag.isPrivateCreator && !safeAllowed { out.append("\(path)\(e.tag) creator") }
            for (i, item) in (e.items ?? []).enumerated() { out += privateLeft(item, safeAllowed: safeAllowed, path: path + "\(e.tag)[\(i)].") }
        }
        return out
    }

    /// Text values of the original that the profile does not keep (names, IDs, descriptions,
    /// UIDs…), at every depth: none of them may appear in any value of the anonymized object.
    /// Values that also occur in what the profile keeps (a Manufacturer "TOSHIBA_MEC" beside an
    /// Institution Name "TOSHIBA") are not counted: the standard keeps them.
    static func identifyingValues(_ ds: DataSet, profile: AnonymizationProfile) -> Set<String> {
        let kept = keptValues(ds, profile: profile)
        return candidateValues(ds, profile: profile).filter { s in !kept.contains { $0.contains(s) } }
    }

    static func keptValues(_ ds: DataSet, profile: AnonymizationProfile) -> [String] {
        var out: [String] = []
        for e in ds.elements {
            for item in e.items ?? [] { out += keptValues(item, profile: profile) }
            guard e.items == nil, e.vr.isString, !e.tag.isPrivate else { continue }
            if let row = ConfidentialityProfileTable.row(for: e.tag), row.action(in: profile) != .keep { continue }
            out += e.strings(characterSet: ds.characterSet)
        }
        return out
    }

    static func candidateValues(_ ds: DataSet, profile: AnonymizationProfile) -> Set<String> {
        var out = Set<String>()
        for e in ds.elements {
            for item in e.items ?? [] { out.formUnion(candidateValues(item, profile: profile)) }
            guard e.items == nil, e.vr.isString, e.vr != .DA, e.vr != .TM, e.vr != .DT, e.vr != .IS, e.vr != .DS, e.vr != .CS, e.vr != .AS,
                  let row = ConfidentialityProfileTable.row(for: e.tag) else { continue }
            let action = row.action(in: profile)
            guard action != .keep else { continue }
            for v in e.strings(characterSet: ds.characterSet) where v.count >= 4 && v != ProfileApplier.dummyText { out.insert(v) }
        }
        return out
    }

    /// Every string value of a data set (and nested items), with its path.
    static func allValues(_ ds: DataSet, path: String = "") -> [(String, String)] {
        var out: [(String, String)] = []
        for e in ds.elements {
            for (i, item) in (e.items ?? []).enumerated() { out += allValues(item, path: path + "\(e.tag)[\(i)].") }
            if e.vr.isString { for v in e.strings(characterSet: ds.characterSet) { out.append((path + e.tag.description, v)) } }
        }
        return out
    }
}

/// A data set holding every attribute of Table E.1-1 that has a tag of its own (not the repeating
/// groups, not the command and file meta groups), each with a value of its dictionary VR that
/// looks identifying, plus a sequence item holding all of them again (an unlisted sequence, so
/// the profile must find them inside), plus private attributes, an overlay and a curve.
func makeEveryProfileAttribute(depth: Int = 0) throws -> DataSet {
    var ds = DataSet()
    var n = 0
    for row in ConfidentialityProfileTable.rows where !row.isPrivateAttributes && row.mask == 0xFFFF_FFFF {
        let g = row.tag.group
        if g == 0x0000 || g == 0x0002 || g == 0x0004 || g >= 0xFFFA { continue }
        n += 1
        ds.set(try profileTestElement(row.tag, n: n, depth: depth))
    }
    if depth == 0 {
        // An unlisted sequence (Modality LUT Sequence) with everything again inside.
        ds.set(Tag(0x0028_3000), items: [try makeEveryProfileAttribute(depth: 1)])
        // Private data with its creator, a safe one (Table E.3.10-1: Philips PET SUV factor) and an unsafe one.
        try ds.set(Tag(0x7053_0010), vr: .LO, string: "Philips PET Private Group")
        try ds.set(Tag(0x7053_1000), vr: .DS, string: "1.25")
        try ds.set(Tag(0x0029_0010), vr: .LO, string: "SECRET CREATOR")
        try ds.set(Tag(0x0029_1001), vr: .LO, string: "Private Secret Name")
        // An overlay plane and a curve.
        try ds.set(Tag(0x6000_0010), vr: .US, integers: [2])
        try ds.set(Tag(0x6000_0011), vr: .US, integers: [8])
        ds.set(DataElement(tag: Tag(0x6000_3000), vr: .OW, bytes: [UInt8](repeating: 0xFF, count: 2)))
        try ds.set(Tag(0x5000_2500), vr: .LO, string: "Curve of Secret^Person")
    }
    return ds
}

func profileTestElement(_ tag: Tag, n: Int, depth: Int) throws -> DataElement {
    let vr = DataDictionary.vr(for: tag)
    let uid = "1.2.826.0.1.3680043.10.\(depth).\(n)"
    switch vr {
    case .SQ:
        var item = DataSet()
        try item.set(Tag(0x0040_A123), vr: .PN, string: "Nested^Secret\(n)")
        try item.set(Tag(0x0008_1155), vr: .UI, string: uid + ".9")
        try item.set(Tag(0x0008_0100), vr: .SH, string: "CODE\(n)")
        return DataElement(tag: tag, vr: .SQ, value: .sequence([item]))
    case .PN: return try DataElement(tag: tag, vr: vr, strings: ["Secret^Person\(n)"])
    case .UI: return try DataElement(tag: tag, vr: vr, strings: [uid])
    case .DA: return try DataElement(tag: tag, vr: vr, strings: ["20240102"])
    case .TM: return try DataElement(tag: tag, vr: vr, strings: ["101010"])
    case .DT: return try DataElement(tag: tag, vr: vr, strings: ["20240102101010"])
    case .AS: return try DataElement(tag: tag, vr: vr, strings: ["045Y"])
    case .CS: return try DataElement(tag: tag, vr: vr, strings: ["SECRET\(n)"])
    case .AE: return try DataElement(tag: tag, vr: vr, strings: ["SECRETAE\(n)"])
    case .IS: return try DataElement(tag: tag, vr: vr, strings: ["\(40 + n)"])
    case .DS: return try DataElement(tag: tag, vr: vr, strings: ["\(n).5"])
    case .UR: return try DataElement(tag: tag, vr: vr, strings: ["http://secret.example/\(n)"])
    case .SH: return try DataElement(tag: tag, vr: vr, strings: ["Secret\(n)"])
    case .LO, .LT, .ST, .UC, .UT: return try DataElement(tag: tag, vr: vr, strings: ["Secret text \(n)"])
    case .AT: return DataElement(tag: tag, vr: .AT, bytes: [0x10, 0x00, 0x10, 0x00])
    case .US, .SS: return DataElement(tag: tag, vr: vr, bytes: [UInt8(n & 0xFF), 1])
    case .UL, .SL, .FL: return DataElement(tag: tag, vr: vr, bytes: [UInt8(n & 0xFF), 1, 0, 0])
    case .FD, .SV, .UV: return DataElement(tag: tag, vr: vr, bytes: [UInt8(n & 0xFF), 1, 0, 0, 0, 0, 0, 0])
    case .OB, .OW, .UN, .OF, .OL, .OD, .OV: return DataElement(tag: tag, vr: vr, bytes: [UInt8(n & 0xFF), 2, 3, 4, 5, 6, 7, 8])
    }
}

/// pydicom's test files used by the anonymization tests (their folder asked of Python once).
func pydicomFile(_ name: String) throws -> DicomFile {
    try DicomFile.read(path: try pydicomFolder.get() + "/" + name)
}
private let pydicomFolder = Result { try PeerTools.pydicomTestFiles() }

/// A store with an anonymization service on a fresh folder, for the tests of stored images.
class StoredAnonymizationCase: XCTestCase {
    var folder = ""
    var ingest: Ingest!
    var service: AnonymizationService!

    override func setUpWithError() throws {
        folder = makeTemporaryFolder("anonstore")
        ingest = try makeIngest(folder)
        service = AnonymizationService(ingest: ingest)
    }

    override func tearDown() {
        ingest?.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The stored file of an image, once it is in its place.
    func storedFile(_ imageId: Int64) throws -> DicomFile {
        ingest.settle()
        let stored = try XCTUnwrap(try ingest.index.storedImage(id: imageId))
        return try DicomFile.read(path: try XCTUnwrap(ingest.store.readablePath(forKey: stored.storageKey)))
    }
}
