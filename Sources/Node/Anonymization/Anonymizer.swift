import Foundation
import Codec

/// What anonymizing one object gave.
public struct AnonymizationResult: Sendable {
    public var file: DicomFile
    /// The key recorded for it; nil when the data set was already anonymous and passed unchanged.
    public var key: AnonymizationKey?
    /// The level at which an earlier key of the same patient, study, series or image matched
    /// (its anonymous values were reused at and above that level); nil when none did.
    public var matchedLevel: Level?
}

/// The anonymization flow of Slicebox (research notes §3), on PS3.15 Annex E:
///
/// 1. Already anonymous data (Patient Identity Removed = YES) passes unchanged unless forced;
///    forced, the old markers are dropped first.
/// 2. The profile's actions at every depth (`ProfileApplier`). U attributes get the anonymous UID
///    recorded for the real one, or a new `2.25.<uuid>` UID that is recorded: every instance refers
///    to the same anonymous study, series, frame of reference and instances.
/// 3. Pseudonyms: Patient Name and Patient ID become the patient's pseudonym (a new UID the first
///    time, as Slicebox).
/// 4. Harmonization: the newest key matching the real identity (IMAGE, SERIES, STUDY, then PATIENT)
///    gives its anonymous values to the key attributes at and above the matched level, so the same
///    patient keeps the same pseudonym, the same study the same anonymous study attributes, and so
///    on. Attributes the profile keeps, or removes this time, are not touched.
/// 5. Markers (PS3.15 E.1.1): Patient Identity Removed YES, De-identification Method, the CID 7050
///    codes in De-identification Method Code Sequence, and Longitudinal Temporal Information
///    Modified (REMOVED, MODIFIED or UNMODIFIED, E.2 and E.3.6).
/// 6. Forced values (`tagValues`) last, at any tag path.
/// 7. One key per image records real ↔ anonymous identity and the key attributes.
/// 8. The File Meta Information is replaced by this node's (E.1.1), its Media Storage SOP Instance
///    UID the new SOP Instance UID.
///
/// One anonymization runs at a time (match, UID mapping and key insert must not interleave, as in
/// Slicebox's key actor).
public final class Anonymizer: @unchecked Sendable {
    public let keys: AnonymizationKeyStore
    public let settings: AnonymizationSettings
    private let lock = NSLock()

    public init(keys: AnonymizationKeyStore, settings: AnonymizationSettings = AnonymizationSettings()) {
        self.keys = keys
        self.settings = settings
    }

    public static func isAnonymous(_ ds: DataSet) -> Bool {
        ds.string(.patientIdentityRemoved)?.uppercased() == "YES"
    }

    public func anonymize(_ file: DicomFile, profile: AnonymizationProfile, tagValues: [TagValue] = [], imageId: Int64 = -1,
                          force: Bool = false) throws -> AnonymizationResult {
        var original = file.dataSet
        if Self.isAnonymous(original) && !force { return AnonymizationResult(file: file, key: nil, matchedLevel: nil) }
        for t in [Tag.patientIdentityRemoved, .deidentificationMethod, .deidentificationMethodCodeSequence] { original.remove(t) }
        for tv in tagValues where tv.tagPath.hasWildcards {
            throw NodeError.badRequest("a forced value's tag path cannot have wildcards: \(tv.tagPath)")
        }

        lock.lock(); defer { lock.unlock() }
        let real = ImageIdentity(original)
        let match = try keys.newestMatch(real, anonymous: false)
        let uids = UIDMapper(keys: keys)
        // A patient's date shift is chosen once, with the pseudonym, whether or not this profile
        // uses it, so a later anonymization with modified dates shifts by the same days.
        let offset = match.map(\.dateOffsetDays).flatMap { $0 == 0 ? nil : $0 } ?? -Int.random(in: 365...3652)
        let applier = ProfileApplier(profile: profile, replaceUID: uids.anonymous, dateOffsetDays: offset, original: original)
        var ds = applier.apply(original)

        let cs = ds.characterSet
        func set(_ tag: Tag, _ value: String) throws {
            let vr = ds[tag]?.vr ?? DataDictionary.vr(for: tag)
            ds.set(try DataElement(tag: tag, vr: vr, strings: value.isEmpty ? [] : value.components(separatedBy: "\\"), characterSet: cs))
        }
        func value(_ d: DataSet, _ tag: Tag) -> String? { d[tag].map { $0.strings(characterSet: d.characterSet).joined(separator: "\\") } }

        // 3. Pseudonyms.
        try set(.patientName, UIDGenerator.newUID())
        try set(.patientID, UIDGenerator.newUID())
        for t in [Tag.studyInstanceUID, .seriesInstanceUID, .sopInstanceUID] where (ds.string(t) ?? "").isEmpty {
            try set(t, UIDGenerator.newUID())
        }

        // 4. Harmonization with the newest matching key.
        let attributes = settings.recordedAttributes
        let markers: Set<Tag> = [.patientIdentityRemoved, .deidentificationMethod]
        if let match {
            let earlier = Self.anonymousValues(of: match)
            for a in attributes where a.level <= match.level && !markers.contains(a.tag) && ds[a.tag] != nil {
                if let (op, _) = applier.operation(for: a.tag), op == .keep { continue }
                // A value an earlier profile kept (Retain UIDs, …) is the real one: not reused by a
                // profile that replaces it.
                guard let v = earlier[a.tag], v != value(original, a.tag) else { continue }
                try set(a.tag, v)
            }
        }

        // 5. Markers.
        try set(.patientIdentityRemoved, "YES")
        try set(.deidentificationMethod, profile.methodDescriptions.joined(separator: "\\"))
        ds.set(Tag.deidentificationMethodCodeSequence, items: try profile.options.compactMap(\.methodCode).map { code in
            var item = DataSet(characterSet: cs)
            try item.set(Tag(0x0008_0100), vr: .SH, string: code.value)
            try item.set(Tag(0x0008_0102), vr: .SH, string: "DCM")
            try item.set(Tag(0x0008_0104), vr: .LO, string: code.meaning)
            return item
        })
        let temporal = profile.contains(.retainLongitudinalTemporalInformationModifiedDates) ? "MODIFIED"
            : profile.contains(.retainLongitudinalTemporalInformation) ? "UNMODIFIED" : "REMOVED"
        try set(.longitudinalTemporalInformationModified, temporal)

        // 6. Forced values.
        for tv in tagValues {
            let vr = ds.element(at: tv.tagPath)?.vr ?? DataDictionary.vr(for: tv.tagPath.last.tag)
            guard vr != .SQ else { throw NodeError.badRequest("\(tv.tagPath) is a sequence; force a value inside one of its items") }
            let element: DataElement
            do {
                element = try DataElement(tag: tv.tagPath.last.tag, vr: vr == .UN ? .LO : vr,
                                          strings: tv.value.isEmpty ? [] : tv.value.components(separatedBy: "\\"), characterSet: cs)
            } catch {
                throw NodeError.badRequest("'\(tv.value)' is not a valid \(vr) value for \(tv.tagPath): \(error)")
            }
            try ds.set(element, at: tv.tagPath)
        }

        // 7. The key.
        let anonymous = ImageIdentity(ds)
        var recorded: [(KeyAttribute, real: String, anonymous: String)] = []
        for a in attributes {
            let realValue = value(original, a.tag)
            guard realValue != nil || KeyAttribute.identity.contains(a) else { continue }
            recorded.append((a, realValue ?? "", value(ds, a.tag) ?? ""))
        }
        let key = try keys.insert(imageId: imageId, real: real, anonymous: anonymous, dateOffsetDays: offset,
                                  values: recorded, newUIDs: uids.created)

        // 8. New File Meta Information.
        let sopClass = ds.string(.sopClassUID) ?? file.meta.string(.mediaStorageSOPClassUID) ?? ""
        var out = DicomFile(meta: DicomFile.makeMeta(sopClassUID: sopClass, sopInstanceUID: anonymous.sopInstanceUID,
                                                     transferSyntax: file.transferSyntax),
                            dataSet: ds, transferSyntax: file.transferSyntax)
        out.encoding = file.encoding
        return AnonymizationResult(file: out, key: key, matchedLevel: match?.level)
    }

    /// The anonymous value of every attribute a key recorded (the identity from its columns).
    static func anonymousValues(of match: KeyMatch) -> [Tag: String] {
        var out: [Tag: String] = [:]
        for v in match.values where v.tagPath.depth == 0 { out[v.tagPath.last.tag] = v.anonymizedValue }
        out[.patientName] = match.key.anonPatientName
        out[.patientID] = match.key.anonPatientID
        out[.studyInstanceUID] = match.key.anonStudyInstanceUID
        out[.seriesInstanceUID] = match.key.anonSeriesInstanceUID
        out[.sopInstanceUID] = match.key.anonSOPInstanceUID
        return out
    }
}

/// U for one anonymization: the recorded anonymous UID of a real one, or a new one remembered
/// (and recorded with the key).
final class UIDMapper: @unchecked Sendable {
    let keys: AnonymizationKeyStore
    private var known: [String: String] = [:]
    private(set) var created: [String: String] = [:]

    init(keys: AnonymizationKeyStore) { self.keys = keys }

    func anonymous(_ uid: String) -> String {
        if let a = known[uid] { return a }
        let a: String
        if let recorded = try? keys.anonymousUID(for: uid) {
            a = recorded
        } else {
            a = UIDGenerator.newUID()
            created[uid] = a
        }
        known[uid] = a
        return a
    }
}
