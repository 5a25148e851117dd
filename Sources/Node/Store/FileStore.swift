import Foundation
import Codec
import DicomNet

/// The image files. Layout under `root`:
/// - `images/ab/cd/<key>.dcm`: stored files; the key is 32 random hex digits, so two levels of
///   256 folders keep every folder small (1,000,000 images ≈ 15 files per folder).
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

    public init(root: String, durable: Bool = true) throws {
        self.root = root
        self.durable = durable
        imagesFolder = root + "/images"
        incomingFolder = root + "/incoming"
        for f in [root, imagesFolder, incomingFolder] {
            do { try FileManager.default.createDirectory(atPath: f, withIntermediateDirectories: true) } catch {
                throw NodeError.storage("cannot create \(f): \(error.localizedDescription)")
            }
        }
    }

    public static func newKey() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func isKey(_ s: Substring) -> Bool { s.count == 32 && s.allSatisfy { $0.isHexDigit && !$0.isUppercase } }

    func folder(forKey key: String) -> String {
        imagesFolder + "/" + key.prefix(2) + "/" + key.dropFirst(2).prefix(2)
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
        try IncomingFile(store: self, key: FileStore.newKey())
    }

    /// Moves a committed file to its final place and makes the move durable (fsync of the folder,
    /// PS: rename is only durable once its directory is synced).
    func moveIntoPlace(key: String) throws {
        let folder = folder(forKey: key)
        try ensureFolder(folder)
        guard rename(incomingPath(forKey: key), finalPath(forKey: key)) == 0 else {
            throw NodeError.storage("rename into \(folder) failed: \(String(cString: strerror(errno)))")
        }
        if durable { try syncFolder(folder) }
    }

    /// Creates `images/ab/cd` on first use; a new folder's entry is synced in its parent.
    private func ensureFolder(_ folder: String) throws {
        folderLock.lock(); defer { folderLock.unlock() }
        if knownFolders.contains(folder) { return }
        let parent = String(folder.dropLast(3))
        for (dir, up) in [(parent, imagesFolder), (folder, parent)] {
            if mkdir(dir, 0o755) == 0 {
                if durable { try syncFolder(up) }
            } else if errno != EEXIST {
                throw NodeError.storage("cannot create \(dir): \(String(cString: strerror(errno)))")
            }
        }
        knownFolders.insert(folder)
    }

    func syncFolder(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw NodeError.storage("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw NodeError.storage("fsync \(path): \(String(cString: strerror(errno)))") }
    }

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

/// A file being written into `incoming/`. Bytes are buffered and written in 128 KiB chunks, with
/// writeback started as they go so the final fdatasync only waits for the tail.
public final class IncomingFile {
    public let key: String
    public let path: String
    unowned let store: FileStore
    private let fd: Int32
    private var buffer: [UInt8] = []
    public private(set) var size = 0
    private var closed = false

    init(store: FileStore, key: String) throws {
        self.store = store
        self.key = key
        path = store.incomingPath(forKey: key)
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw NodeError.storage("cannot create \(path): \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(256 * 1024)
    }

    deinit { if !closed { close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 128 * 1024 { try flush() }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw NodeError.storage("write \(path): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
        if store.durable { WriteBack.start(fd: fd, offset: size, length: buffer.count) }
        size += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Everything written and (when durable) on disk; the file is closed.
    public func finishWriting() throws {
        defer { closed = true; close(fd) }
        try flush()
        if store.durable && fdatasync(fd) != 0 {
            throw NodeError.storage("fdatasync \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Drops the file (nothing was acknowledged).
    public func discard() {
        if !closed { closed = true; close(fd) }
        unlink(path)
    }
}
