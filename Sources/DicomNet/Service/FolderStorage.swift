import Foundation
import Codec

/// Stores each received instance as a Part 10 file `<folder>/<SOPInstanceUID>.dcm`: written to a
/// temporary name, fsynced, renamed, and the folder fsynced, before the success response.
/// The data set bytes are written exactly as received (no re-encoding), behind a File Meta group.
public struct FolderStorage: StorageHandler {
    public let folder: String
    /// fsync file and folder before answering (default). Off only to measure what durability costs.
    public let durable: Bool
    public init(folder: String, durable: Bool = true) throws {
        self.folder = folder
        self.durable = durable
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    public func begin(_ request: StoreRequest) throws -> StoreOperation {
        try FolderStoreOperation(folder: folder, request: request, durable: durable)
    }
}

final class FolderStoreOperation: StoreOperation {
    let folder: String
    let request: StoreRequest
    let temporaryPath: String
    let finalPath: String
    let fd: Int32
    private var buffer: [UInt8] = []
    private var written = 0

    let durable: Bool

    init(folder: String, request: StoreRequest, durable: Bool) throws {
        self.folder = folder
        self.durable = durable
        self.request = request
        let safeName = FolderStoreOperation.fileName(for: request.sopInstanceUID)
        finalPath = folder + "/" + safeName
        temporaryPath = folder + "/." + safeName + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CodecError.io(path: temporaryPath, errno: errno, operation: "create") }
        var meta = DicomFile.makeMeta(sopClassUID: request.sopClassUID, sopInstanceUID: request.sopInstanceUID,
                                      transferSyntax: request.transferSyntax, sourceAET: request.callingAETitle)
        meta.hasUndefinedLength = false
        let header = try DicomFile(meta: meta, dataSet: DataSet(), transferSyntax: .explicitVRLittleEndian).encoded()
        buffer.reserveCapacity(1 << 20)
        buffer += header
    }

    /// UIDs are digits and dots; anything else is replaced so a hostile UID cannot name another path.
    static func fileName(for uid: String) -> String {
        let cleaned = String(uid.map { $0.isNumber || $0 == "." ? $0 : "_" })
        return (cleaned.isEmpty || cleaned.hasPrefix(".") ? "_" + cleaned : cleaned) + ".dcm"
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 128 * 1024 { try flush() }
    }

    private func flush() throws {
        if let failed = buffer.withUnsafeBytes({ writeFully(fd, $0) }) {
            throw CodecError.io(path: temporaryPath, errno: failed, operation: "write")
        }
        // Start writeback of what we just wrote while the rest is still arriving, so the fdatasync
        // before the response waits only for the tail (durability overlapped with the network).
        if durable { WriteBack.start(fd: fd, offset: written, length: buffer.count) }
        written += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    func finish() -> StoreResult {
        defer { close(fd) }
        do {
            try flush()
            guard !durable || fdatasync(fd) == 0 else { throw CodecError.io(path: temporaryPath, errno: errno, operation: "fsync") }
            guard rename(temporaryPath, finalPath) == 0 else { throw CodecError.io(path: finalPath, errno: errno, operation: "rename") }
            if durable {
                let dirfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if dirfd >= 0 { fsync(dirfd); close(dirfd) }
            }
            return .success
        } catch {
            unlink(temporaryPath)
            // PS3.4 B.2.3: 0xA7xx out of resources for storage failures (disk full, I/O).
            return StoreResult(status: .refusedOutOfResources, errorComment: String("\(error)".prefix(64)))
        }
    }

    func cancel() {
        close(fd)
        unlink(temporaryPath)
    }
}

/// sync_file_range(SYNC_FILE_RANGE_WRITE): asynchronous writeback of a range (Linux). Glibc's
/// declaration is not imported into Swift, so it is looked up once; absent, nothing is started early.
public enum WriteBack {
    typealias Function = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    static let function: Function? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
    }()

    public static func start(fd: Int32, offset: Int, length: Int) {
        _ = function?(fd, Int64(offset), Int64(length), 2 /* SYNC_FILE_RANGE_WRITE */)
    }
}
