import Foundation
import Codec
import DicomNet

/// The image files. Layout under `root`:
/// - `images/YYYY/MMDD/HHMMnnn/<key>.dcm`: stored files, by time of arrival, at most
///   `filesPerFolder` per folder (`nnn` counts folders within a minute), so no folder grows past
///   a few thousand entries at any rate. Files that arrive together share a folder: a hash
///   layout (images/ab/cd) spread them over thousands of folders and ext4 spent 70% of the
///   receive CPU allocating inodes across block groups.
///   The key is `YYYYMMDDHHMMnnn` + 16 random hex digits: the folder is read from the key.
/// - `incoming/<key>.part`: files being received; a `.part` whose key the index knows was
///   committed but not yet moved (finished at start-up), any other `.part` was never acknowledged.
public final class FileStore: @unchecked Sendable {
    public let root: String
    public let imagesFolder: String
    public let incomingFolder: String
    /// fsync files and folders before a store is acknowledged. Off only to measure its cost.
    public let durable: Bool
    private let folderLock = NSLock()
    private var knownFolders = Set<String>()
    /// Syncs of `incoming/` for newly created files, started at creation and shared between files.
    let incomingSync: FolderSync
    /// Where the background syncs of incoming files run (they block on the disk, not the CPU).
    let syncQueue = DispatchQueue(label: "store-sync", attributes: .concurrent)

    public init(root: String, durable: Bool = true) throws {
        self.root = root
        self.durable = durable
        imagesFolder = root + "/images"
        incomingFolder = root + "/incoming"
        incomingSync = FolderSync(path: incomingFolder)
        for f in [root, imagesFolder, incomingFolder] {
            do { try FileManager.default.createDirectory(atPath: f, withIntermediateDirectories: true) } catch {
                throw NodeError.storage("cannot create \(f): \(error.localizedDescription)")
            }
        }
    }

    /// Files per folder before the next one is started.
    static let filesPerFolder = 1000
    private let keyLock = NSLock()
    private var currentMinute = ""
    private var folderNumber = 0
    private var filesInFolder = 0

    public func newKey() -> String {
        var t = time(nil)
        var tm = tm()
        gmtime_r(&t, &tm)
        let minute = (tm.tm_year + 1900).zeroPadded(4) + (tm.tm_mon + 1).zeroPadded(2) + tm.tm_mday.zeroPadded(2)
            + tm.tm_hour.zeroPadded(2) + tm.tm_min.zeroPadded(2)
        keyLock.lock()
        if minute != currentMinute {
            currentMinute = minute; folderNumber = 0; filesInFolder = 0
        } else if filesInFolder >= Self.filesPerFolder {
            folderNumber += 1; filesInFolder = 0
        }
        filesInFolder += 1
        let number = folderNumber
        keyLock.unlock()
        var g = SystemRandomNumberGenerator()
        // Past 999 folders in one minute the number takes more digits: keys stay unique.
        return minute + number.zeroPadded(3) + (g.next() as UInt64).zeroPadded(16, radix: 16)
    }

    static func isKey(_ s: Substring) -> Bool { s.count >= 31 && s.allSatisfy { $0.isHexDigit && !$0.isUppercase } }

    func folder(forKey key: String) -> String {
        let k = key.utf8
        func part(_ from: Int, _ to: Int) -> String { String(decoding: k.dropFirst(from).prefix(to - from), as: UTF8.self) }
        return imagesFolder + "/" + part(0, 4) + "/" + part(4, 8) + "/" + part(8, k.count - 16)
    }
    public func finalPath(forKey key: String) -> String { folder(forKey: key) + "/" + key + ".dcm" }
    public func incomingPath(forKey key: String) -> String { incomingFolder + "/" + key + ".part" }

    /// Where a stored file can be read now: its final place, or `incoming/` in the moment between
    /// the index commit and the rename.
    public func readablePath(forKey key: String) -> String? {
        let p = finalPath(forKey: key)
        if access(p, F_OK) == 0 { return p }
        let i = incomingPath(forKey: key)
        return access(i, F_OK) == 0 ? i : nil
    }

    /// A new file in `incoming/`, written as data arrives.
    public func create() throws -> IncomingFile {
        try IncomingFile(store: self, key: newKey())
    }

    /// Moves committed files to their final places and makes the moves durable: each folder is
    /// fsynced once for the batch (a rename is durable only once its directory is synced).
    func moveIntoPlace(keys: [String]) throws {
        var folders = Set<String>()
        for key in keys {
            let folder = folder(forKey: key)
            try ensureFolder(folder)
            guard rename(incomingPath(forKey: key), finalPath(forKey: key)) == 0 else {
                throw NodeError.storage("rename into \(folder) failed: \(String(cString: strerror(errno)))")
            }
            folders.insert(folder)
        }
        if durable { for f in folders.sorted() { try syncFolder(f) } }
    }

    /// Creates `images/YYYY/MMDD/HHMMnnn` on first use; each new folder's entry is synced in its parent.
    private func ensureFolder(_ folder: String) throws {
        folderLock.lock(); defer { folderLock.unlock() }
        if knownFolders.contains(folder) { return }
        var chain: [String] = []
        var f = folder
        while f.count > imagesFolder.count {
            chain.insert(f, at: 0)
            f = (f as NSString).deletingLastPathComponent
        }
        for dir in chain {
            if mkdir(dir, 0o755) == 0 {
                if durable { try syncFolder((dir as NSString).deletingLastPathComponent) }
            } else if errno != EEXIST {
                throw NodeError.storage("cannot create \(dir): \(String(cString: strerror(errno)))")
            }
        }
        knownFolders.insert(folder)
    }

    func syncFolder(_ path: String) throws { try FolderSync.sync(path) }

    /// Removes a stored file (already gone is fine).
    public func remove(key: String) {
        for p in [finalPath(forKey: key), incomingPath(forKey: key)] { unlink(p) }
    }

    /// Keys of the `.part` files left in `incoming/` (start-up repair).
    func incomingKeys() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: incomingFolder)) ?? []
        return names.compactMap { name in
            guard name.hasSuffix(".part") else { return nil }
            let key = name.dropLast(5)
            return FileStore.isKey(key) ? String(key) : nil
        }
    }
}

/// A file being written into `incoming/`. Bytes are buffered and written in 128 KiB chunks with
/// writeback started as they go; when the store is durable, the file's folder entry is synced as
/// soon as it is created and its data is synced ahead while more arrives (one background
/// fdatasync at a time), so the acknowledgement waits only for the last chunk's flush: on a
/// virtual disk a flush costs about as much as writing the data, and this overlaps it with
/// the receive instead of adding it after.
public final class IncomingFile: @unchecked Sendable {
    public let key: String
    public let path: String
    unowned let store: FileStore
    private let fd: Int32
    private var buffer: [UInt8] = []
    public private(set) var size = 0
    /// `Checksum` of everything written so far.
    private var running = Checksum()
    public var checksum: UInt64 { running.value }
    private var closed = false
    /// The `incoming/` sync that covers this file's folder entry.
    private let folderTicket: UInt64
    /// Background fdatasyncs of this file (ahead and final); `close` waits for them (the fd
    /// must not be reused under them).
    private let syncs = DispatchGroup()
    private let syncLock = NSLock()
    private var syncAheadRunning = false
    private var finalSyncStarted = false
    /// The first failed sync: fdatasync reports a write-back error once, so it is kept.
    private var syncFailure: NodeError?

    init(store: FileStore, key: String) throws {
        self.store = store
        self.key = key
        path = store.incomingPath(forKey: key)
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw NodeError.storage("cannot create \(path): \(String(cString: strerror(errno)))") }
        folderTicket = store.durable ? store.incomingSync.request(on: store.syncQueue) : 0
        buffer.reserveCapacity(256 * 1024)
    }

    deinit { close() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 128 * 1024 { try flush() }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        if let failed = buffer.withUnsafeBytes({ writeFully(fd, $0) }) {
            throw NodeError.storage("write \(path): \(String(cString: strerror(failed)))")
        }
        if store.durable {
            WriteBack.start(fd: fd, offset: size, length: buffer.count)
            syncAhead()
        }
        buffer.withUnsafeBytes { running.update($0) }
        size += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Starts a background fdatasync of what is written so far, unless one is still running.
    private func syncAhead() {
        syncLock.lock()
        guard !syncAheadRunning && !finalSyncStarted else { syncLock.unlock(); return }
        syncAheadRunning = true
        syncLock.unlock()
        store.syncQueue.async(group: syncs) { [self] in
            let failure = fdatasync(fd) == 0 ? nil : errno
            syncLock.lock()
            syncAheadRunning = false
            noteSyncFailure(failure)
            syncLock.unlock()
        }
    }

    /// Keeps the first fdatasync failure (the kernel reports a write-back error only once), under
    /// `syncLock`.
    private func noteSyncFailure(_ failure: Int32?) {
        if let failure, syncFailure == nil { syncFailure = .storage("fdatasync \(path): \(String(cString: strerror(failure)))") }
    }

    /// Everything handed to the kernel (not yet synced); `size` and `checksum` are final.
    public func completeWrites() throws {
        try flush()
    }

    /// Starts the final sync in the background (after `completeWrites`), so the caller can
    /// parse and index meanwhile; `syncData` waits for it.
    public func beginSync() {
        guard store.durable else { return }
        syncLock.lock()
        guard !finalSyncStarted else { syncLock.unlock(); return }
        finalSyncStarted = true
        syncLock.unlock()
        store.syncQueue.async(group: syncs) { [self] in
            if fdatasync(fd) != 0 {
                let failure = errno
                syncLock.lock()
                noteSyncFailure(failure)
                syncLock.unlock()
            }
        }
    }

    /// The data and the folder entry on disk, when the store is durable: starts the final sync
    /// if `beginSync` has not, and waits for it and for the `incoming/` sync.
    public func syncData() throws {
        guard store.durable else { return }
        beginSync()
        syncs.wait()
        syncLock.lock()
        let failure = syncFailure
        syncLock.unlock()
        if let failure { throw failure }
        try store.incomingSync.wait(for: folderTicket)
    }

    public func close() {
        if !closed {
            closed = true
            syncs.wait()
            Glibc.close(fd)
        }
    }

    /// Everything written and (when durable) on disk; the file is closed.
    public func finishWriting() throws {
        defer { close() }
        try completeWrites()
        try syncData()
    }

    /// Drops the file (nothing was acknowledged).
    public func discard() {
        close()
        unlink(path)
    }
}

/// Moves committed files from `incoming/` into place in the background, in batches (one fsync
/// per folder per batch), so the acknowledgement waits for neither renames nor folder syncs.
/// Until moved, a file is read from `incoming/` (`FileStore.readablePath`).
final class FileMover: @unchecked Sendable {
    private let store: FileStore
    private let log: NetLogger
    private let condition = NSCondition()
    private var pending: [(key: String, replaced: String?)] = []
    private var busy = false
    private var stopped = false
    /// Readers waiting in `settle`: move now instead of gathering a batch.
    private var hurry = 0
    /// A batch gathers for up to this long (or `batchSize` files): fewer folder syncs, which
    /// would otherwise compete with the acknowledgements' own syncs for the disk.
    private let gatherSeconds = 0.1
    private let batchSize = 64
    /// Called with the replaced files removed, to clear their deletion journal rows.
    var onRemoved: (@Sendable ([String]) -> Void)?

    init(store: FileStore, log: NetLogger) {
        self.store = store
        self.log = log
        let t = Thread { [self] in run() }
        t.name = "file-mover"
        t.start()
    }

    func enqueue(key: String, replaced: String?) {
        condition.lock()
        pending.append((key, replaced))
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until every file enqueued so far is in place.
    func settle() {
        condition.lock()
        hurry += 1
        condition.broadcast()
        while !pending.isEmpty || busy { condition.wait() }
        hurry -= 1
        condition.unlock()
    }

    func stop() {
        settle()
        condition.lock(); stopped = true; condition.broadcast(); condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if stopped { condition.unlock(); return }
            let deadline = Date().addingTimeInterval(gatherSeconds)
            while pending.count < batchSize && hurry == 0 && !stopped && Date() < deadline { _ = condition.wait(until: deadline) }
            let batch = pending
            pending.removeAll()
            busy = true
            condition.unlock()
            do {
                try store.moveIntoPlace(keys: batch.map(\.key))
            } catch {
                // The files stay in incoming/ (still readable); start-up repair moves them.
                log.log(.error, "store", "cannot move files into place; start-up repair will retry", ["count": "\(batch.count)", "error": "\(error)"])
            }
            let replaced = batch.compactMap(\.replaced)
            for key in replaced { store.remove(key: key) }
            if !replaced.isEmpty { onRemoved?(replaced) }
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }
}
