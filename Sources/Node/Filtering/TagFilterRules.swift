import Foundation
import Codec

/// The filters of one source, merged as Slicebox applies them: the union of its blacklists is
/// removed first; then, if it has any whitelist, only the union of its whitelists is kept. A path
/// naming a sequence covers everything inside it; a path into a sequence keeps the sequence and,
/// in each item it admits, only what it names (other items stay, empty, so item numbers hold).
///
/// The File Meta group is never filtered (it describes the encoding, PS3.10 7.1), and some
/// attributes always survive, because without them the image cannot be stored or filed:
/// - Specific Character Set (0008,0005): how every kept text value is decoded (PS3.5 6.1.2.3);
/// - SOP Class UID (0008,0016) and SOP Instance UID (0008,0018): the object's identity, which
///   storage requires (PS3.4 B.2.3) and the File Meta group repeats (PS3.10 7.1);
/// - Patient ID (0010,0020), Study Instance UID (0020,000D), Series Instance UID (0020,000E):
///   the unique keys of the Patient Root query/retrieve model (PS3.4 C.6.1.1.2–4) by which the
///   index files the image; without them images of different patients, studies and series
///   would merge into one.
/// Patient Name is not among them: it is not a unique key, and a whitelist leaving it out is
/// most likely meant to drop it. When a whitelist keeps Pixel Data, the Image Pixel module's
/// description of it (PS3.3 C.7.6.3: rows, columns, bits, photometric interpretation, palette…)
/// and Number of Frames (PS3.3 C.7.6.6) stay too, or the pixels could not be decoded; and a kept
/// private element keeps the Private Creator that reserves its block (PS3.5 7.8.1).
struct TagFilterRules: Sendable {
    var blacklist: [TagPath]
    /// Nil when the source has no whitelist.
    var whitelist: [TagPath]?

    static let identity: Set<Tag> = [.specificCharacterSet, .sopClassUID, .sopInstanceUID, .patientID, .studyInstanceUID, .seriesInstanceUID]
    static let pixelData: [Tag] = [.pixelData, .floatPixelData, .doubleFloatPixelData]
    static let pixelDescription: Set<Tag> = [
        .samplesPerPixel, .photometricInterpretation, .planarConfiguration, .numberOfFrames, .rows, .columns,
        .bitsAllocated, .bitsStored, .highBit, .pixelRepresentation,
        Tag(0x0028_1101), Tag(0x0028_1102), Tag(0x0028_1103),  // palette colour lookup table descriptors
        Tag(0x0028_1201), Tag(0x0028_1202), Tag(0x0028_1203),  // palette colour lookup table data
    ]

    /// The filtered data set, or nil when nothing was removed.
    func apply(to ds: DataSet) -> DataSet? {
        var changed = false
        var protected = Self.identity
        if let whitelist, Self.pixelData.contains(where: { t in
            ds.contains(t) && !blacklist.contains { $0.covers(TagPath(t)) } && whitelist.contains { $0.covers(TagPath(t)) }
        }) {
            protected.formUnion(Self.pixelDescription)
        }
        let out = filter(ds, prefix: [], whitelisted: whitelist == nil, protected: protected, changed: &changed)
        return changed ? out : nil
    }

    private enum Decision { case keep(DataElement), drop, creatorIfNeeded(DataElement) }

    /// `whitelisted`: everything here is kept unless blacklisted (no whitelist, or one covers it).
    private func filter(_ ds: DataSet, prefix: [(Tag, TagPath.ItemSelector)], whitelisted: Bool, protected: Set<Tag>,
                        changed: inout Bool) -> DataSet {
        var decisions: [Decision] = []
        decisions.reserveCapacity(ds.count)
        var creatorsNeeded = Set<Tag>()
        for e in ds.elements {
            if prefix.isEmpty, Self.identity.contains(e.tag) { decisions.append(.keep(e)); continue }
            let path = TagPath(sequences: prefix, tag: e.tag)
            if blacklist.contains(where: { $0.covers(path) }) { decisions.append(.drop); changed = true; continue }
            let covered = whitelisted || whitelist!.contains { $0.covers(path) } || (prefix.isEmpty && protected.contains(e.tag))
            // Into a sequence: for what the blacklist removes inside it, or, when the whitelist
            // does not cover it whole, for what the whitelist keeps inside it.
            let list = covered ? blacklist : whitelist ?? []
            var kept: DataElement? = nil
            if let items = e.items, list.contains(where: { Self.leads($0, into: path) }) {
                var copy = e
                copy.value = .sequence(items.enumerated().map { n, item in
                    filter(item, prefix: prefix + [(e.tag, .index(n))], whitelisted: covered, protected: [], changed: &changed)
                })
                kept = copy
            } else if covered {
                kept = e
            }
            if let kept {
                decisions.append(.keep(kept))
                if let creator = e.tag.privateCreatorTag { creatorsNeeded.insert(creator) }
            } else if e.tag.isPrivateCreator {
                decisions.append(.creatorIfNeeded(e))
            } else {
                decisions.append(.drop)
                changed = true
            }
        }
        var elements: [DataElement] = []
        elements.reserveCapacity(decisions.count)
        for d in decisions {
            switch d {
            case .keep(let e): elements.append(e)
            case .drop: break
            case .creatorIfNeeded(let e):
                if creatorsNeeded.contains(e.tag) { elements.append(e) } else { changed = true }
            }
        }
        return DataSet(elements: elements, undefinedLength: ds.hasUndefinedLength, characterSet: ds.characterSet)
    }

    /// True when `p` names something inside the sequence at the concrete path `c`.
    static func leads(_ p: TagPath, into c: TagPath) -> Bool {
        let d = c.depth
        guard p.depth > d, p.prefixSteps[d].matches(c.last.tag) else { return false }
        for i in 0..<d {
            guard p.prefixSteps[i].matches(c.prefixSteps[i].tag) else { return false }
            if case .index(let n) = p.items[i], c.items[i] != .index(n) { return false }
        }
        return true
    }
}
