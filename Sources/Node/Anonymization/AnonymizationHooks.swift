import Foundation
import Codec
import DicomNet

/// SOP Instance UIDs of anonymized copies the node is storing itself: they must reach the store
/// anonymous, not be turned back by reverse anonymization on the way in.
final class OwnAnonymizedWrites: @unchecked Sendable {
    private let lock = NSLock()
    private var uids: [String: Int] = [:]
    func begin(_ uid: String) { lock.lock(); uids[uid, default: 0] += 1; lock.unlock() }
    func end(_ uid: String) {
        lock.lock(); defer { lock.unlock() }
        if let n = uids[uid], n > 1 { uids[uid] = n - 1 } else { uids[uid] = nil }
    }
    func contains(_ uid: String) -> Bool { lock.lock(); defer { lock.unlock() }; return uids[uid] != nil }
}

/// Reverse anonymization (Slicebox, research notes §3): an incoming data set marked Patient
/// Identity Removed = YES whose anonymous identity matches a key (newest first, IMAGE, SERIES,
/// STUDY, then PATIENT) gets the real values recorded at and above the matched level back, in the
/// root data set only. Identity restored, the markers that claim it removed go too, unless the
/// original's own values were recorded (an image-level match restores them).
final class ReverseAnonymization: IngestTransform, @unchecked Sendable {
    let keys: AnonymizationKeyStore
    let own: OwnAnonymizedWrites

    init(keys: AnonymizationKeyStore, own: OwnAnonymizedWrites) {
        self.keys = keys
        self.own = own
    }

    /// Every source, as Slicebox, but only while keys exist: without one nothing can be restored,
    /// and incoming files are then not read a second time.
    func applies(to source: Source) -> Bool { !keys.isEmpty }

    func transform(_ file: DicomFile, source: Source) throws -> DicomFile? {
        var ds = file.dataSet
        guard Anonymizer.isAnonymous(ds), !own.contains(ds.string(.sopInstanceUID) ?? "") else { return nil }
        guard let match = try keys.newestMatch(ImageIdentity(ds), anonymous: true) else { return nil }
        var real: [Tag: (Level, String)] = [:]
        for v in match.values where v.tagPath.depth == 0 { real[v.tagPath.last.tag] = (v.level, v.value) }
        real[.patientName] = (.patient, match.key.patientName)
        real[.patientID] = (.patient, match.key.patientID)
        real[.studyInstanceUID] = (.study, match.key.studyInstanceUID)
        real[.seriesInstanceUID] = (.series, match.key.seriesInstanceUID)
        real[.sopInstanceUID] = (.image, match.key.sopInstanceUID)
        var restoredMarkers = false
        for (tag, (level, value)) in real.sorted(by: { $0.key < $1.key }) where level <= match.level {
            if tag == .patientIdentityRemoved || tag == .deidentificationMethod {
                restoredMarkers = true
                if value.isEmpty { ds.remove(tag); continue }
            }
            guard ds[tag] != nil || !value.isEmpty else { continue }
            let vr = ds[tag]?.vr ?? DataDictionary.vr(for: tag)
            // A recorded value that no longer fits its VR is left as received rather than refusing the image.
            if let e = try? DataElement(tag: tag, vr: vr, strings: value.isEmpty ? [] : value.components(separatedBy: "\\"),
                                        characterSet: ds.characterSet) { ds.set(e) }
        }
        if !restoredMarkers {
            ds.remove(.patientIdentityRemoved)
            ds.remove(.deidentificationMethod)
        }
        ds.remove(.deidentificationMethodCodeSequence)
        var out = file
        out.dataSet = ds
        if !out.meta.isEmpty, let sop = ds.string(.sopInstanceUID), sop != out.meta.string(.mediaStorageSOPInstanceUID) {
            try out.meta.set(.mediaStorageSOPInstanceUID, vr: .UI, string: sop)
        }
        return out
    }
}

/// Deletes the keys of deleted images (Slicebox `purge-empty-keys`), on the ingest's event queue.
final class AnonymizationKeyPurge: IngestObserver, @unchecked Sendable {
    let keys: AnonymizationKeyStore
    let log: NetLogger

    init(keys: AnonymizationKeyStore, log: NetLogger) {
        self.keys = keys
        self.log = log
    }

    func ingest(_ event: IngestEvent) {
        guard case .imagesDeleted(let ids) = event else { return }
        do {
            let n = try keys.deleteKeys(imageIds: ids)
            if n > 0 { log.log(.info, "anonymization", "keys purged", ["images": "\(ids.count)", "keys": "\(n)"]) }
        } catch {
            log.log(.error, "anonymization", "cannot purge keys of deleted images", ["images": "\(ids.count)", "error": "\(error)"])
        }
    }
}
