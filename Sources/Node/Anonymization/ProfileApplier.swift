import Foundation
import Codec

/// What is done to one element once the combined codes are decided.
enum ElementOperation: Equatable {
    case remove, zero, dummy, keep, clean, replaceUID
}

extension ProfileAction {
    /// PS3.15 E.1.1 lets the combined codes depend on the attribute's Type in the IOD at hand, which
    /// a de-identifier of arbitrary objects does not know. An attribute in no standard composite IOD
    /// cannot be required, so it is removed; any other gets the choice that keeps every IOD valid
    /// and still carries nothing of the original: Z for X/Z, D for X/D, X/Z/D and Z/D (a non-empty
    /// dummy satisfies Type 1 and Type 2 alike), and for X/Z/U* the sequence is kept with the
    /// instance UIDs inside replaced (its items are processed like any other, and Referenced SOP
    /// Instance UID is U).
    func operation(inStandardIOD: Bool?) -> ElementOperation {
        let required = inStandardIOD ?? true
        switch self {
        case .remove: return .remove
        case .zero: return .zero
        case .dummy: return .dummy
        case .keep: return .keep
        case .clean: return .clean
        case .replaceUID: return .replaceUID
        case .zeroOrDummy: return required ? .dummy : .zero
        case .removeOrZero: return required ? .zero : .remove
        case .removeOrDummy, .removeOrZeroOrDummy: return required ? .dummy : .remove
        case .removeOrZeroOrReplaceUIDs: return required ? .keep : .remove
        }
    }
}

/// Applies a profile's actions to every element of a data set at every depth of sequences.
///
/// - Attributes the table does not list are kept; sequences are always entered, so an identifying
///   attribute is found in any item.
/// - Private attributes are removed; with Retain Safe Private, those of Table E.3.10-1 stay (matched
///   on group, private creator and element within the block) with their creator elements.
/// - Group lengths (gggg,0000) go: their values would be stale.
/// - An overlay whose Overlay Data (60xx,3000) is removed goes whole: the Overlay Plane Module
///   requires its data (PS3.3 C.9.2).
/// - D values: "ANONYMIZED" for text, 19000101 / 000000 for dates and times, 0 for numbers, a
///   mapped UID for UIDs, zero bytes for binary values, one empty item for a sequence (its items
///   could hold anything, e.g. the whole content of an SR document).
/// - C: dates are shifted by the patient's offset (Retain Longitudinal Temporal Information with
///   Modified Dates, times unchanged), text is scrubbed (`TextScrubber`), a sequence is entered
///   with every text inside scrubbed; where no cleaning applies (binary values), the Basic
///   Profile's action is taken instead.
struct ProfileApplier {
    let profile: AnonymizationProfile
    /// U: the anonymous UID for a real one, the same every time for the same real UID.
    let replaceUID: (String) -> String
    /// Days added to dates under Retain Longitudinal Temporal Information with Modified Dates.
    let dateOffsetDays: Int
    let scrubber: TextScrubber

    static let dummyText = "ANONYMIZED"

    init(profile: AnonymizationProfile, replaceUID: @escaping (String) -> String, dateOffsetDays: Int, original: DataSet) {
        self.profile = profile
        self.replaceUID = replaceUID
        self.dateOffsetDays = dateOffsetDays
        var scrubber = TextScrubber(scrubDates: !profile.contains(.retainLongitudinalTemporalInformation))
        // What identifies: names, IDs, addresses, institutions… that the profile takes away. The
        // table's own descriptors (those Clean Descriptors cleans) are not learned from: a removed
        // study description says nothing about who the patient is.
        scrubber.learn(from: original) { e in
            guard let row = ConfidentialityProfileTable.row(for: e.tag), row.action(.cleanDescriptors) == nil else { return false }
            switch row.action(in: profile).operation(inStandardIOD: row.inStandardIOD) {
            case .keep, .clean: return false
            default: return true
            }
        }
        self.scrubber = scrubber
    }

    func apply(_ dataSet: DataSet) -> DataSet { process(dataSet, cleaning: false) }

    /// The operation on an attribute under the profile, with its row (nil: not in the table, kept).
    func operation(for tag: Tag) -> (ElementOperation, ConfidentialityProfileRow)? {
        guard let row = ConfidentialityProfileTable.row(for: tag) else { return nil }
        return (row.action(in: profile).operation(inStandardIOD: row.inStandardIOD), row)
    }

    private struct Block: Hashable { var group: UInt16; var block: UInt16 }

    private func process(_ ds: DataSet, cleaning: Bool) -> DataSet {
        // Private creators (gggg,0010-00FF) reserve blocks (gggg,xx00-xxFF), PS3.5 7.8.1.
        var creators: [Block: String] = [:]
        for e in ds.elements where e.tag.isPrivateCreator {
            creators[Block(group: e.tag.group, block: e.tag.element)] = e.strings(characterSet: ds.characterSet).first ?? ""
        }
        var keptBlocks = Set<Block>()
        var kept: [DataElement] = []
        for e in ds.elements {
            if e.tag.isGroupLength { continue }
            if e.tag.isPrivate {
                if e.tag.isPrivateCreator { kept.append(e); continue }  // decided below
                guard e.tag.element >= 0x1000 else { continue }  // not in any block: not valid private data
                let block = Block(group: e.tag.group, block: e.tag.element >> 8)
                let row = ConfidentialityProfileTable.privateAttributes
                let keep: Bool
                switch row.action(in: profile) {
                case .clean: keep = ConfidentialityProfileTable.isSafePrivate(e.tag, creator: creators[block] ?? "")
                case .keep: keep = true
                default: keep = false
                }
                guard keep else { continue }
                keptBlocks.insert(block)
                kept.append(entered(e, cleaning: cleaning))
                continue
            }
            guard let (op, row) = operation(for: e.tag) else {
                kept.append(unlisted(e, cleaning: cleaning, characterSet: ds.characterSet))
                continue
            }
            if let out = perform(op, on: e, row: row, cleaning: cleaning, characterSet: ds.characterSet) { kept.append(out) }
        }
        kept.removeAll { $0.tag.isPrivateCreator && !keptBlocks.contains(Block(group: $0.tag.group, block: $0.tag.element)) }
        // Overlay planes whose data went: the rest of the group goes too.
        let lostOverlays = Set(ds.elements.filter { $0.tag.element == 0x3000 && (0x6000...0x601E).contains($0.tag.group) && $0.tag.group % 2 == 0 }
            .map(\.tag.group)).subtracting(kept.filter { $0.tag.element == 0x3000 }.map(\.tag.group))
        if !lostOverlays.isEmpty { kept.removeAll { lostOverlays.contains($0.tag.group) } }
        return DataSet(elements: kept, undefinedLength: ds.hasUndefinedLength, characterSet: ds.characterSet)
    }

    /// A kept element: a sequence has its items processed.
    private func entered(_ e: DataElement, cleaning: Bool) -> DataElement {
        guard let items = e.items else { return e }
        var out = e
        out.value = .sequence(items.map { process($0, cleaning: cleaning) })
        return out
    }

    /// An attribute the table does not list: kept, except free text inside a cleaned sequence.
    private func unlisted(_ e: DataElement, cleaning: Bool, characterSet: SpecificCharacterSet) -> DataElement {
        if e.items != nil { return entered(e, cleaning: cleaning) }
        if cleaning, TextScrubber.cleanableVRs.contains(e.vr), e.vr != .CS, e.vr != .AE {
            return scrubbed(e, characterSet: characterSet) ?? e
        }
        return e
    }

    private func perform(_ op: ElementOperation, on e: DataElement, row: ConfidentialityProfileRow, cleaning: Bool,
                         characterSet: SpecificCharacterSet) -> DataElement? {
        switch op {
        case .remove:
            return nil
        case .keep:
            return entered(e, cleaning: cleaning)
        case .zero:
            return e.vr == .SQ ? DataElement(tag: e.tag, vr: .SQ, value: .sequence([])) : DataElement(tag: e.tag, vr: e.vr, bytes: [])
        case .dummy:
            return dummy(e, characterSet: characterSet)
        case .replaceUID:
            guard e.vr == .UI else { return dummy(e, characterSet: characterSet) }
            return replacedUIDs(e)
        case .clean:
            if let items = e.items {
                var out = e
                out.value = .sequence(items.map { process($0, cleaning: true) })
                return out
            }
            if let cleaned = cleaned(e, characterSet: characterSet) { return cleaned }
            // Nothing to clean with (binary values, unreadable dates): the Basic Profile's action.
            let fallback = row.basic.operation(inStandardIOD: row.inStandardIOD)
            return fallback == .clean ? nil : perform(fallback, on: e, row: row, cleaning: cleaning, characterSet: characterSet)
        }
    }

    private func cleaned(_ e: DataElement, characterSet: SpecificCharacterSet) -> DataElement? {
        switch e.vr {
        case .DA, .DT:
            let values = e.strings(characterSet: characterSet)
            var shifted: [String] = []
            for v in values {
                if v.isEmpty { shifted.append(v); continue }
                guard let s = e.vr == .DA ? DateShift.date(v, days: dateOffsetDays) : DateShift.dateTime(v, days: dateOffsetDays) else { return nil }
                shifted.append(s)
            }
            return try? DataElement(tag: e.tag, vr: e.vr, strings: shifted, characterSet: characterSet)
        case .TM:
            return e  // shifting by whole days leaves a time of day as it is
        default:
            guard TextScrubber.cleanableVRs.contains(e.vr) else { return nil }
            return scrubbed(e, characterSet: characterSet)
        }
    }

    private func scrubbed(_ e: DataElement, characterSet: SpecificCharacterSet) -> DataElement? {
        let values = e.vr.isSingleValuedText ? [e.strings(characterSet: characterSet).joined()] : e.strings(characterSet: characterSet)
        let clean = values.map { scrubber.scrub($0) }
        if clean.allSatisfy(\.isEmpty) { return DataElement(tag: e.tag, vr: e.vr, bytes: []) }
        return try? DataElement(tag: e.tag, vr: e.vr, strings: clean, characterSet: characterSet)
    }

    private func replacedUIDs(_ e: DataElement) -> DataElement {
        let values = e.strings().map { $0.isEmpty ? $0 : replaceUID($0) }
        let uids = values.isEmpty ? [UIDGenerator.newUID()] : values
        return (try? DataElement(tag: e.tag, vr: .UI, strings: uids)) ?? DataElement(tag: e.tag, vr: .UI, bytes: [])
    }

    /// PS3.15 E.1.1 D: "a non-zero length value that may be a dummy value and consistent with the VR".
    func dummy(_ e: DataElement, characterSet: SpecificCharacterSet) -> DataElement {
        func text(_ s: String) -> DataElement { (try? DataElement(tag: e.tag, vr: e.vr, strings: [s], characterSet: characterSet)) ?? DataElement(tag: e.tag, vr: e.vr, bytes: []) }
        switch e.vr {
        case .SQ: return DataElement(tag: e.tag, vr: .SQ, value: .sequence([DataSet(characterSet: characterSet)]))
        case .UI: return replacedUIDs(e)
        case .AE, .CS, .LO, .LT, .PN, .SH, .ST, .UC, .UT, .UR: return text(ProfileApplier.dummyText)
        case .AS: return text("000Y")
        case .DA: return text("19000101")
        case .DT: return text("19000101000000")
        case .TM: return text("000000")
        case .DS, .IS: return text("0")
        case .AT: return DataElement(tag: e.tag, vr: .AT, bytes: [0, 0, 0, 0])
        case .US, .SS, .UL, .SL, .UV, .SV, .FL, .FD:
            return DataElement(tag: e.tag, vr: e.vr, bytes: [UInt8](repeating: 0, count: e.vr.unitSize))
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN:
            return DataElement(tag: e.tag, vr: e.vr, bytes: [UInt8](repeating: 0, count: max(e.vr.unitSize, 2)))
        }
    }
}

/// Date shifting for Retain Longitudinal Temporal Information with Modified Dates (PS3.15 E.3.6):
/// every date of a patient moves by the same number of days, so intervals stay true.
enum DateShift {
    static func date(_ text: String, days: Int) -> String? {
        guard let d = DicomDate(text), let when = d.date else { return nil }
        let since1970 = Int64((when.timeIntervalSince1970 / 86_400).rounded(.down))
        return DicomDate(daysSince1970: since1970 + Int64(days))?.description
    }

    /// DT: the date part (first 8 characters) moves; time, fraction and UTC offset stay. A DT with
    /// less than a full date cannot be shifted by days.
    static func dateTime(_ text: String, days: Int) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.count >= 8, let shifted = date(String(t.prefix(8)), days: days) else { return nil }
        return shifted + t.dropFirst(8)
    }
}
