import Foundation
import Codec
#if canImport(Glibc)
import Glibc
#endif

/// The anonymized copy of each outgoing image, gzip-compressed, in `<data>/boxes/outgoing/<id>.gz`:
/// made once, the first time the image is pushed or fetched, and removed once it was sent.
///
/// Why a file rather than anonymizing on every attempt: a resend after a crash or a lost answer
/// is then byte for byte what was sent before (same anonymous UIDs even where anonymization draws
/// random ones), so the receiver recognises it; the image is anonymized (and its key recorded)
/// once, not once per attempt (a crash between the key's commit and the rename makes the next
/// start anonymize it again, and harmonization gives it the same identity); and the HTTP body has
/// a known length and streams from disk.
///
/// What is held in memory: one image while it is anonymized (the anonymizer parses the whole data
/// set); its compressed copy is written and sent in 64 KiB pieces. The file is renamed into place
/// whole (a crash leaves a `.tmp` that start-up removes) but not fsynced: a copy damaged by a power
/// cut fails the receiver's gzip check, and a retry of the transaction makes it again.
final class BoxSpool: @unchecked Sendable {
    let folder: String
    private let condition = NSCondition()
    private var busy = Set<Int64>()

    init(root: String) throws {
        folder = root + "/boxes/outgoing"
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw NodeError.storage("cannot create \(folder): \(error)")
        }
    }

    func path(_ id: Int64) -> String { folder + "/\(id).gz" }

    func size(_ id: Int64) -> Int64? {
        var st = stat()
        return stat(path(id), &st) == 0 ? Int64(st.st_size) : nil
    }

    /// The spool file of outgoing image `id`, made from `make` (the anonymized Part 10 bytes) the
    /// first time. Two callers asking for the same image at once make it once.
    func file(_ id: Int64, make: () throws -> [UInt8]) throws -> (path: String, size: Int64) {
        condition.lock()
        while busy.contains(id) { condition.wait() }
        if let size = size(id) {
            condition.unlock()
            return (path(id), size)
        }
        busy.insert(id)
        condition.unlock()
        defer {
            condition.lock()
            busy.remove(id)
            condition.broadcast()
            condition.unlock()
        }
        let bytes = try make()
        let final = path(id), tmp = final + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw NodeError.storage("cannot create \(tmp): \(String(cString: strerror(errno)))") }
        do {
            defer { close(fd) }
            let gzip = try DeflateStream(level: 6, format: .gzip)
            let sink: (UnsafeRawBufferPointer) throws -> Void = { piece in
                if let failed = writeFully(fd, piece) {
                    throw NodeError.storage("cannot write \(tmp): \(String(cString: strerror(failed)))")
                }
            }
            try gzip.write(bytes, to: sink)
            try gzip.finish(to: sink)
        } catch {
            unlink(tmp)
            throw (error as? NodeError) ?? NodeError.storage("cannot compress the anonymized image: \(error)")
        }
        guard rename(tmp, final) == 0 else {
            unlink(tmp)
            throw NodeError.storage("cannot rename \(tmp): \(String(cString: strerror(errno)))")
        }
        return (final, size(id) ?? 0)
    }

    func remove(_ ids: [Int64]) {
        for id in ids { unlink(path(id)) }
    }

    /// Start-up: removes partial files and the copies of images that are no longer pending.
    func sweep(keep: Set<Int64>) -> Int {
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let id = name.hasSuffix(".gz") ? Int64(name.dropLast(3)) : nil
            if id.map({ keep.contains($0) }) == true { continue }
            unlink(folder + "/" + name)
            removed += 1
        }
        return removed
    }

    /// The spool file as a zlib stream (RFC 1950) for a peer that did not ask for gzip (Slicebox
    /// inflates box bodies as zlib): inflated and deflated again piece by piece.
    static func zlib(fromGzip path: String, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw NodeError.notFound("the anonymized copy \(path) is gone") }
        defer { try? handle.close() }
        let inflate = try InflateStream(format: .gzip)
        let deflate = try DeflateStream(level: 6, format: .zlib)
        while let piece = try handle.read(upToCount: 64 * 1024), !piece.isEmpty {
            try [UInt8](piece).withUnsafeBytes { bytes in
                try inflate.write(bytes) { try deflate.write($0, to: sink) }
            }
        }
        try inflate.finish()
        try deflate.finish(to: sink)
    }
}
