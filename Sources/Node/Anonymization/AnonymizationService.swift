import Foundation
import Codec
import DicomNet

/// Anonymization as the REST routes of seed 003 need it (`/images/{id}/anonymize`,
/// `/images/{id}/anonymized`, `/anonymization/anonymize`, `/anonymization/keys…`,
/// `/anonymization/options`). Creating it registers reverse anonymization on the ingest and, when
/// configured, the purge of keys of deleted images.
public final class AnonymizationService: @unchecked Sendable {
    public let ingest: Ingest
    public let settings: AnonymizationSettings
    public let keys: AnonymizationKeyStore
    public let anonymizer: Anonymizer
    let own = OwnAnonymizedWrites()

    public init(ingest: Ingest, settings: AnonymizationSettings = AnonymizationSettings()) {
        self.ingest = ingest
        self.settings = settings
        keys = AnonymizationKeyStore(db: ingest.index.db)
        anonymizer = Anonymizer(keys: keys, settings: settings)
        if settings.reverseAnonymization { ingest.add(transform: ReverseAnonymization(keys: keys, own: own)) }
        if settings.purgeKeysOfDeletedImages { ingest.add(observer: AnonymizationKeyPurge(keys: keys, log: ingest.log)) }
    }

    /// The options a profile may name (seed `GET /anonymization/options`: all but the Basic Profile).
    public var options: [ConfidentialityOption] { ConfidentialityOption.selectable }

    /// Replaces a stored image with its anonymized version (seed `PUT /images/{id}/anonymize`):
    /// anonymized even if already marked anonymous, stored with the original's source, then the
    /// original is deleted (unless the anonymized copy kept its SOP Instance UID and so replaced it
    /// in place). The key then describes the new image. Returns the new image.
    public func anonymize(imageId: Int64, profile: AnonymizationProfile, tagValues: [TagValue] = []) throws -> Image {
        let stored = try storedImage(imageId)
        let result = try anonymizer.anonymize(try read(stored), profile: profile, tagValues: tagValues, imageId: imageId, force: true)
        let anonymousSOP = result.file.dataSet.string(.sopInstanceUID) ?? ""
        let bytes = try result.file.encoded()
        own.begin(anonymousSOP)
        defer { own.end(anonymousSOP) }
        // Stored before the original goes, so a failure loses nothing.
        let stored2 = try ingest.store(writing: { try $0.write(bytes) }, source: stored.source, policy: .replace)
        let newId = stored2.outcome.imageId
        if let key = result.key, newId != imageId { try keys.setImageId(keyId: key.id, imageId: newId) }
        if newId != imageId { _ = try ingest.delete(imageIds: [imageId]) }
        ingest.log.log(.info, "anonymization", "image anonymized", ["image": "\(imageId)", "new": "\(newId)",
                                                                     "key": "\(result.key?.id ?? -1)", "profile": profile.options.map(\.name).joined(separator: ",")])
        guard let image = try ingest.index.storedImage(id: newId)?.image else { throw NodeError.notFound("image \(newId)") }
        return image
    }

    /// An anonymized copy of a stored image as Part 10 bytes, not stored (seed
    /// `POST /images/{id}/anonymized`). Data already marked anonymous comes back unchanged; the key
    /// of a new anonymization describes the original image.
    public func anonymizedCopy(imageId: Int64, profile: AnonymizationProfile, tagValues: [TagValue] = []) throws -> [UInt8] {
        let stored = try storedImage(imageId)
        let file = try read(stored)
        let result = try anonymizer.anonymize(file, profile: profile, tagValues: tagValues, imageId: imageId, force: false)
        return try result.file.encoded()
    }

    /// Anonymizes many stored images in place (seed `POST /anonymization/anonymize`); unknown ids
    /// are skipped. Returns the new images in the order given.
    public func anonymize(images: [ImageTagValues], profile: AnonymizationProfile) throws -> [Image] {
        var out: [Image] = []
        for i in images {
            do { out.append(try anonymize(imageId: i.imageId, profile: profile, tagValues: i.tagValues)) } catch NodeError.notFound {
                continue
            }
        }
        return out
    }

    // MARK: keys (seed `/anonymization/keys`)

    /// Listing (GET: `startIndex`, `count`, `orderBy`, `ascending`, `filter`) and query (POST:
    /// `properties` on the `anonymizationKey` names) in one.
    public func keys(_ query: MetadataQuery) throws -> [AnonymizationKey] { try keys.keys(query) }
    public func key(id: Int64) throws -> AnonymizationKey? { try keys.key(id: id) }
    /// nil when there is no key `keyId`.
    public func keyValues(keyId: Int64) throws -> [AnonymizationKeyValue]? { try keys.keyValues(keyId: keyId) }
    public func deleteKey(id: Int64) throws { try keys.deleteKey(id: id) }
    /// Every key as semicolon-separated text (seed `GET /anonymization/keys/export/csv`).
    public func exportCSV() throws -> String { try keys.csv() }

    // MARK: helpers

    private func storedImage(_ id: Int64) throws -> StoredImage {
        guard let s = try ingest.index.storedImage(id: id) else { throw NodeError.notFound("image \(id)") }
        return s
    }

    private func read(_ stored: StoredImage) throws -> DicomFile {
        guard let path = ingest.store.readablePath(forKey: stored.storageKey) else {
            throw NodeError.storage("the file of image \(stored.image.id) is missing from the store")
        }
        do { return try DicomFile.read(path: path) } catch { throw NodeError.invalidData("image \(stored.image.id) cannot be read: \(error)") }
    }
}
