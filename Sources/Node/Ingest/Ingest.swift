import Foundation
import Codec
import DicomNet

/// The one way into the store. Every door (C-STORE, REST upload, watched folder, box) ends here,
/// so durability, deduplication and indexing are written once:
///
/// 1. bytes → `incoming/<key>.part` as they arrive, checksum computed; the folder entry is synced
///    at creation and the data synced ahead in the background while more arrives (`IncomingFile`);
/// 2. the final fdatasync starts, and meanwhile the structure is checked to the end, the identity
///    checked and the index transaction (SQLite WAL, fsynced at commit) names the key, size and
///    checksum;
/// 3. when the flush, the folder sync and the commit are all done, the caller acknowledges
///    (C-STORE response, HTTP 201);
/// 4. in the background, files are renamed into `images/…` in batches, one folder fsync each.
///
/// Start-up repair keeps the index the truth: a `.part` whose row exists and whose size and checksum
/// match was committed (and maybe acknowledged) and is moved into place; a `.part` without a row,
/// or whose data did not all reach the disk before a crash (checksum mismatch), was never acknowledged
/// and is removed with its row. Running the syncs beside the parsing and the commit, and ahead
/// during the receive, keeps the wait after the last byte short.
public final class Ingest: @unchecked Sendable {
    public let store: FileStore
    public let index: SQLiteIndex
    public let log: NetLogger
    public var duplicatePolicy: DuplicatePolicy
    let mover: FileMover
    let hooks = IngestHooks()

    public init(store: FileStore, index: SQLiteIndex, log: NetLogger, duplicatePolicy: DuplicatePolicy = .replace) {
        self.store = store
        self.index = index
        self.log = log
        self.duplicatePolicy = duplicatePolicy
        mover = FileMover(store: store, log: log)
        mover.onRemoved = { [index] keys in try? index.fileDeletionsDone(keys) }
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

    /// The index record of a written file: its whole structure is walked (large values skipped,
    /// every length checked), so a truncated or malformed data set is refused rather than stored
    /// (PS3.4 B.2.3 Cxxx), and its UIDs are checked against what the request announced.
    func makeRecord(path: String, key: String, size: Int64, checksum: UInt64, source: Source,
                    expected: Expected?) throws -> (IndexRecord, String) {
        let parsed: DicomFile
        do { parsed = try DicomFile.read(path: path, options: .lazy) } catch {
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
        return (IndexRecord(values: values, transferSyntaxUID: parsed.transferSyntax.uid, storageKey: key,
                            fileSize: size, checksum: checksum, source: source), sopClass)
    }

    /// Registers a change applied to incoming data sets (see `IngestTransform`).
    public func add(transform: IngestTransform) { hooks.add(transform) }
    /// Registers a listener for stored and deleted images (see `IngestEvent`).
    public func add(observer: IngestObserver) { hooks.add(observer) }
    /// Waits until observers have been told of everything stored or deleted so far.
    public func drainEvents() { hooks.drain() }

    /// Applies the transforms that concern `source`: the file is read whole, changed, and written
    /// to a new `incoming/` file that replaces the received one. Nil when nothing changed.
    private func transformed(_ file: IncomingFile, source: Source, expected: Expected?) throws -> IncomingFile? {
        let transforms = hooks.transforms(for: source)
        guard !transforms.isEmpty else { return nil }
        var current: DicomFile
        do { current = try DicomFile.read(path: file.path) } catch { throw NodeError.invalidData("\(error)") }
        var changed = false
        for t in transforms {
            if let next = try t.transform(current, source: source) { current = next; changed = true }
        }
        guard changed else { return nil }
        let replacement = try store.create()
        do {
            try replacement.write(try current.encoded())
            try replacement.completeWrites()
        } catch {
            replacement.discard()
            throw (error as? NodeError) ?? NodeError.storage("\(error)")
        }
        return replacement
    }

    /// Steps 1 (end) to 3 for a file written into `incoming/`. On any error nothing new is
    /// indexed and the file is gone.
    public func commit(_ received: IncomingFile, source: Source, expected: Expected? = nil, policy: DuplicatePolicy? = nil) throws -> Result {
        let duplicatePolicy = policy ?? self.duplicatePolicy
        var file = received
        defer { file.close() }
        let record: IndexRecord
        let sopClass: String
        do {
            try file.completeWrites()
            if let replacement = try transformed(file, source: source, expected: expected) {
                // The identity is checked on what was received; the stored copy is the changed one.
                if let expected {
                    _ = try makeRecord(path: file.path, key: file.key, size: Int64(file.size), checksum: file.checksum,
                                       source: source, expected: expected)
                }
                file.discard()
                file.close()
                file = replacement
            }
            // Step 2: the final flush runs while the file is parsed and indexed.
            file.beginSync()
            (record, sopClass) = try makeRecord(path: file.path, key: file.key, size: Int64(file.size), checksum: file.checksum,
                                                source: source, expected: file === received ? expected : nil)
        } catch {
            file.discard()
            throw (error as? NodeError) ?? NodeError.storage("\(error)")
        }

        // A replacement's new copy is on disk before the row moves to it: repair drops a row whose
        // file was torn, and that must never cost the copy acknowledged before (re-sends only).
        if duplicatePolicy == .replace, (try? index.storedImage(sopInstanceUID: record.sopInstanceUID)) != nil {
            do { try file.syncData() } catch {
                file.discard()
                throw (error as? NodeError) ?? NodeError.storage("\(error)")
            }
        }

        let outcome: IndexOutcome
        do {
            outcome = try index.add(record, policy: duplicatePolicy)
        } catch {
            file.discard()
            if let e = error as? NodeError { throw e }
            throw NodeError.storage("index: \(error)")
        }
        guard outcome.stored else {
            file.discard()
            return Result(outcome: outcome, sopInstanceUID: record.sopInstanceUID, sopClassUID: sopClass)
        }
        do { try file.syncData() } catch {
            // Not on disk: never acknowledged. A new row is taken back; a replaced one keeps
            // pointing at this copy, which the kernel still holds (and start-up repair checks).
            if outcome.added {
                _ = try? index.deleteImages(ids: [outcome.imageId])
                file.discard()
            }
            throw NodeError.storage("\(error)")
        }
        mover.enqueue(key: file.key, replaced: outcome.replacedStorageKey)
        hooks.publish(.imageAdded(imageId: outcome.imageId, seriesId: outcome.seriesId, source: source, added: outcome.added))
        return Result(outcome: outcome, sopInstanceUID: record.sopInstanceUID, sopClassUID: sopClass)
    }

    /// Waits until every acknowledged file is in its final place (before reading many files,
    /// in tests, at shutdown).
    public func settle() { mover.settle() }

    public func stop() { mover.stop() }

    /// A whole Part 10 file (REST upload, watched folder, box): copied into `incoming/` as is and
    /// committed. Data without a File Meta group gets one built from the data set.
    public func store(bytes: [UInt8], source: Source, policy: DuplicatePolicy? = nil) throws -> Result {
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
        return try commit(file, source: source, policy: policy)
    }

    /// A file written by `write` as it arrives (an HTTP upload streamed to disk, never held whole).
    public func store(writing write: (IncomingFile) throws -> Void, source: Source, policy: DuplicatePolicy? = nil) throws -> Result {
        let file = try store.create()
        do { try write(file) } catch { file.discard(); throw error }
        return try commitWritten(file, source: source, policy: policy)
    }

    /// A whole file already written into `incoming/` by an upload: a Part 10 file is committed as
    /// written; anything else goes through `store(bytes:)` so it gets a File Meta group or a clear refusal.
    public func commitWritten(_ file: IncomingFile, source: Source, policy: DuplicatePolicy? = nil) throws -> Result {
        do { try file.completeWrites() } catch { file.discard(); throw error }
        if Self.isPart10(path: file.path) { return try commit(file, source: source, policy: policy) }
        defer { file.discard() }
        guard let data = FileManager.default.contents(atPath: file.path), !data.isEmpty else {
            throw NodeError.invalidData("the upload is empty")
        }
        return try store(bytes: [UInt8](data), source: source, policy: policy)
    }

    /// "DICM" after the 128-byte preamble (PS3.10 7.1).
    static func isPart10(path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        guard let head = try? h.read(upToCount: 132), head.count == 132 else { return false }
        return head.suffix(4).elementsEqual("DICM".utf8)
    }

    public func store(path: String, source: Source) throws -> Result {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NodeError.notFound("cannot read \(path)")
        }
        return try store(bytes: [UInt8](data), source: source)
    }

    /// Start-up repair (the index is the truth): finishes moves of committed files, removes
    /// files that were never acknowledged, and unlinks files of deleted rows. One log line per fix.
    public func repair() throws -> (completed: Int, removed: Int, deleted: Int) {
        var completed: [String] = []
        var removed = 0, deleted = 0
        let replaced = Set(try index.pendingFileDeletions())
        // Replaced copies last: a torn re-send may index its replaced copy again, and a replaced copy
        // still in incoming/ is then moved like any committed file.
        let incoming = store.incomingKeys().sorted { a, b in !replaced.contains(a) && replaced.contains(b) }
        for key in incoming {
            let path = store.incomingPath(forKey: key)
            if let image = try index.storedImage(storageKey: key) {
                if let bytes = FileManager.default.contents(atPath: path), Int64(bytes.count) == image.fileSize,
                   Checksum.of([UInt8](bytes)) == image.checksum {
                    completed.append(key)
                    log.log(.warning, "store", "repair: moving a committed image into place", ["key": key, "image": "\(image.image.id)",
                                                                                               "sop": image.image.sopInstanceUID])
                } else if let previous = try previousCopy(of: image) {
                    // A torn re-send: the copy acknowledged before is still there; index it again.
                    _ = try index.add(previous, policy: .replace)
                    try index.fileDeletionsDone([previous.storageKey])
                    store.remove(key: key)
                    try index.fileDeletionsDone([key])
                    removed += 1
                    log.log(.warning, "store", "repair: a re-sent copy did not reach the disk before a crash; the copy acknowledged before is indexed again",
                            ["key": key, "previous": previous.storageKey, "sop": image.image.sopInstanceUID])
                } else {
                    // Its data never all reached the disk, so its store was never acknowledged.
                    _ = try index.deleteImages(ids: [image.image.id])
                    store.remove(key: key)
                    try index.fileDeletionsDone([key])
                    removed += 1
                    log.log(.warning, "store", "repair: removed an image whose data did not reach the disk before a crash (never acknowledged)",
                            ["key": key, "sop": image.image.sopInstanceUID])
                }
            } else if replaced.contains(key) {
                continue  // a replaced copy: re-indexed above if it was needed, else removed below
            } else {
                store.remove(key: key)
                removed += 1
                log.log(.warning, "store", "repair: removed an incomplete, never acknowledged file", ["key": key])
            }
        }
        try store.moveIntoPlace(keys: completed)
        let pending = try index.pendingFileDeletions()
        for key in pending where try !index.hasImage(storageKey: key) {
            store.remove(key: key)
            deleted += 1
            log.log(.warning, "store", "repair: removed the file of a deleted image", ["key": key])
        }
        try index.fileDeletionsDone(pending)
        return (completed.count, removed, deleted)
    }

    /// The replaced copy of `image` still waiting for deletion (whole, same SOP Instance UID).
    private func previousCopy(of image: StoredImage) throws -> IndexRecord? {
        for key in try index.pendingFileDeletions() {
            guard let path = store.readablePath(forKey: key), let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            guard let (record, _) = try? makeRecord(path: path, key: key, size: Int64(bytes.count), checksum: Checksum.of(bytes),
                                                     source: image.source, expected: nil),
                  record.sopInstanceUID == image.image.sopInstanceUID else { continue }
            return record
        }
        return nil
    }

    /// Deletes images: rows first (journalled), then files.
    public func delete(imageIds: [Int64]) throws -> Int {
        settle()
        let keys = try index.deleteImages(ids: imageIds)
        for k in keys { store.remove(key: k) }
        try index.fileDeletionsDone(keys)
        hooks.publish(.imagesDeleted(imageIds: imageIds))
        return keys.count
    }
}
