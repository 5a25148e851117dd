import Foundation
import Codec

/// The files of image resources: `<data>/filters/<id>.png`, written first as
/// `<data>/filters/incoming/<uuid>.part`, fsynced, then renamed into place (and the folder
/// fsynced), so a resource's file is either whole or absent after a crash.
final class ResourceMediaFolder: @unchecked Sendable {
    let root: String
    let incoming: String
    let durable: Bool

    init(root: String, durable: Bool) throws {
        self.root = root
        self.incoming = root + "/incoming"
        self.durable = durable
        for f in [root, incoming] {
            do { try FileManager.default.createDirectory(atPath: f, withIntermediateDirectories: true) } catch {
                throw NodeError.storage("cannot create \(f): \(error.localizedDescription)")
            }
        }
    }

    func path(id: String) -> String { root + "/" + id + ".png" }

    /// A new temporary file for an upload.
    func newUpload() throws -> MediaUpload {
        let path = incoming + "/" + UUID().uuidString.lowercased() + ".part"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw NodeError.storage("cannot create \(path): \(String(cString: strerror(errno)))") }
        return MediaUpload(path: path, fd: fd)
    }

    /// Makes the upload durable and moves it to the resource's place.
    func commit(_ upload: MediaUpload, id: String) throws {
        try upload.finish(sync: durable)
        let target = path(id: id)
        guard rename(upload.path, target) == 0 else {
            throw NodeError.storage("cannot move the image media to \(target): \(String(cString: strerror(errno)))")
        }
        if durable { try syncFolder(root) }
    }

    func remove(id: String) { unlink(path(id: id)) }

    /// Ids of the files in place, for start-up repair.
    func storedIds() -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return Set(names.filter { $0.hasSuffix(".png") }.map { String($0.dropLast(4)) })
    }

    /// Removes temporary files left by uploads a crash interrupted; returns how many.
    func removeLeftoverUploads() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: incoming)) ?? []
        for n in names { unlink(incoming + "/" + n) }
        return names.count
    }

    private func syncFolder(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw NodeError.storage("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw NodeError.storage("fsync \(path): \(String(cString: strerror(errno)))") }
    }
}

/// An uploaded image being written. `discard()` when it is not kept; after `commit` it is gone
/// from `incoming/`.
public final class MediaUpload: @unchecked Sendable {
    public let path: String
    private var fd: Int32
    public private(set) var size: Int64 = 0

    init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { if fd >= 0 { close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw NodeError.storage("the upload file is closed") }
        if let failed = writeFully(fd, bytes) {
            throw NodeError.storage("cannot write \(path): \(String(cString: strerror(failed)))")
        }
        size += Int64(bytes.count)
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// The whole file, once written (the PNG check needs it in memory).
    func contents() throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw NodeError.storage("cannot read \(path)") }
        return [UInt8](data)
    }

    func finish(sync: Bool) throws {
        guard fd >= 0 else { return }
        defer { close(fd); fd = -1 }
        if sync, fsync(fd) != 0 { throw NodeError.storage("fsync \(path): \(String(cString: strerror(errno)))") }
    }

    /// Drops the file (an upload refused or failed).
    public func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(path)
    }
}
