import Foundation
import Codec
import DicomNet

/// The one way into the store. Every door (C-STORE, REST upload, watched folder, box) ends here,
/// so durability, deduplication and indexing are written once:
///
/// 1. bytes → `incoming/<key>.part`, fdatasync;
/// 2. structure checked to the end, identity checked;
/// 3. index transaction committed (WAL, fsynced) — the row names the key;
/// 4. rename into `images/…`, fsync of the folder;
/// 5. only then the caller acknowledges (C-STORE response, HTTP 201).
///
/// A crash between 3 and 4 leaves a `.part` the index knows: start-up finishes the move. A crash
/// before 3 leaves a `.part` the index does not know: it was never acknowledged, start-up removes it.
public final class Ingest: @unchecked Sendable {
    public let store: FileStore
    public let index: SQLiteIndex
    public let log: NetLogger
    public var duplicatePolicy: DuplicatePolicy

    public init(store: FileStore, index: SQLiteIndex, log: NetLogger, duplicatePolicy: DuplicatePolicy = .replace) {
        self.store = store
        self.index = index
        self.log = log
        self.duplicatePolicy = duplicatePolicy
    }

    /// The identity a network request announced, checked against the data set (PS3.4 B.2.3).
    public struct Expected: Sendable {
        public var sopClassUID: String
        public var sopInstanceUID: String
        public init(sopClassUID: String, sopInstanceUID: String) {
            self.sopClassUID = sopClassUID
            self.sopInstanceUID = sopInstanceUID
        }
    }

    public struct Result: Sendable {
        public var outcome: IndexOutcome
        public var sopInstanceUID: String
        public var sopClassUID: String
    }

    /// Steps 1 (end) to 4 for a file written into `incoming/`. On any error the file is gone and
    /// nothing was indexed.
    public func commit(_ file: IncomingFile, source: Source, expected: Expected? = nil) throws -> Result {
        do {
            try file.finishWriting()
            let parsed: DicomFile
            // The whole structure is walked (large values skipped, every length checked), so a
            // truncated or malformed data set is refused rather than stored (PS3.4 B.2.3 Cxxx).
            do { parsed = try DicomFile.read(path: file.path, options: .lazy) } catch {
                throw NodeError.invalidData("\(error)")
            }
            let ds = parsed.dataSet
            let sopInstance = ds.string(.sopInstanceUID) ?? parsed.meta.string(.mediaStorageSOPInstanceUID) ?? ""
            let sopClass = ds.string(.sopClassUID) ?? parsed.meta.string(.mediaStorageSOPClassUID) ?? ""
            guard !sopInstance.isEmpty else { throw NodeError.invalidData("the data set has no SOP Instance UID (0008,0018)") }
            guard !sopClass.isEmpty else { throw NodeError.invalidData("the data set has no SOP Class UID (0008,0016)") }
            if let expected {
                guard expected.sopInstanceUID == sopInstance else {
                    throw NodeError.invalidData("data set does not match the request: SOP Instance UID \(sopInstance) ≠ \(expected.sopInstanceUID)")
                }
                guard expected.sopClassUID == sopClass else {
                    throw NodeError.invalidData("data set does not match the request: SOP Class UID \(sopClass) ≠ \(expected.sopClassUID)")
                }
            }
            var values: [String: String] = [:]
            for a in IndexedAttribute.all { values[a.column] = a.value(in: ds) }
            values["sop_instance_uid"] = sopInstance
            values["sop_class_uid"] = sopClass
            let record = IndexRecord(values: values, transferSyntaxUID: parsed.transferSyntax.uid, storageKey: file.key,
                                     fileSize: Int64(file.size), source: source)
            let outcome: IndexOutcome
            do { outcome = try index.add(record, policy: duplicatePolicy) } catch let e as NodeError { throw e } catch {
                throw NodeError.storage("index: \(error)")
            }
            guard outcome.stored else {
                file.discard()
                return Result(outcome: outcome, sopInstanceUID: sopInstance, sopClassUID: sopClass)
            }
            // Committed: from here the image is the index's. A failed move is finished at start-up.
            try store.moveIntoPlace(key: file.key)
            if let old = outcome.replacedStorageKey {
                store.remove(key: old)
                try? index.fileDeletionsDone([old])
            }
            return Result(outcome: outcome, sopInstanceUID: sopInstance, sopClassUID: sopClass)
        } catch let e as NodeError {
            if case .storage = e, (try? index.hasImage(storageKey: file.key)) == true {
                // Indexed but not moved: the row stays and start-up completes the move.
                throw e
            }
            file.discard()
            throw e
        } catch {
            file.discard()
            throw NodeError.storage("\(error)")
        }
    }

    /// A whole Part 10 file (REST upload, watched folder, box): copied into `incoming/` as is and
    /// committed. Data without a File Meta group gets one built from the data set.
    public func store(bytes: [UInt8], source: Source) throws -> Result {
        let file = try store.create()
        do {
            let parsed: DicomFile
            do { parsed = try DicomFile.read(bytes: bytes, options: .headerOnly) } catch { throw NodeError.invalidData("\(error)") }
            if parsed.hasPart10Header {
                try file.write(bytes)
            } else {
                let full = try DicomFile.read(bytes: bytes)
                let sopClass = full.dataSet.string(.sopClassUID) ?? ""
                let sopInstance = full.dataSet.string(.sopInstanceUID) ?? ""
                let meta = DicomFile.makeMeta(sopClassUID: sopClass, sopInstanceUID: sopInstance, transferSyntax: full.transferSyntax,
                                              sourceAET: nil)
                try file.write(try DicomFile(meta: meta, dataSet: full.dataSet, transferSyntax: full.transferSyntax).encoded())
            }
        } catch {
            file.discard()
            throw (error as? NodeError) ?? NodeError.invalidData("\(error)")
        }
        return try commit(file, source: source)
    }

    public func store(path: String, source: Source) throws -> Result {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NodeError.notFound("cannot read \(path)")
        }
        return try store(bytes: [UInt8](data), source: source)
    }

    /// Start-up repair (the index is the truth): finishes moves that were committed, removes
    /// `.part` files that never were, and unlinks files of deleted rows. One log line per fix.
    public func repair() throws -> (completed: Int, removed: Int, deleted: Int) {
        var completed = 0, removed = 0, deleted = 0
        for key in store.incomingKeys() {
            if try index.hasImage(storageKey: key) {
                try store.moveIntoPlace(key: key)
                completed += 1
                log.log(.warning, "store", "repair: finished moving a committed image into place", ["key": key])
            } else {
                store.remove(key: key)
                removed += 1
                log.log(.warning, "store", "repair: removed an incomplete, never acknowledged file", ["key": key])
            }
        }
        let pending = try index.pendingFileDeletions()
        for key in pending where try !index.hasImage(storageKey: key) {
            store.remove(key: key)
            deleted += 1
            log.log(.warning, "store", "repair: removed the file of a deleted image", ["key": key])
        }
        try index.fileDeletionsDone(pending)
        return (completed, removed, deleted)
    }

    /// Deletes images: rows first (journalled), then files.
    public func delete(imageIds: [Int64]) throws -> Int {
        let keys = try index.deleteImages(ids: imageIds)
        for k in keys { store.remove(key: k) }
        try index.fileDeletionsDone(keys)
        return keys.count
    }
}
