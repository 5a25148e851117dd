import Foundation
import Codec
#if canImport(Glibc)
import Glibc
#endif

/// Where the pathology API keeps its files, under `<dataFolder>/pathology/images/<image_unique_id>/`:
///
/// - `source`: the uploaded image, exactly as received;
/// - `raw/`: everything served under the image's `base_raw_download_url` — the annotation XML
///   `<image_unique_id>_complete_net_prediction.xml`, `tiles/index.json` and `tiles/<column>_<row>.png`,
///   uploaded annotations in `annotations/`;
/// - `work/`: the prediction command's output and other scratch files (never served);
/// - `*.partial`: uploads and results being written; renamed into place when complete.
public struct PathologyFiles: Sendable {
    public let root: String

    public init(dataFolder: String) {
        root = dataFolder + "/pathology"
    }

    var imagesFolder: String { root + "/images" }
    func folder(_ uniqueId: String) -> String { imagesFolder + "/" + uniqueId }
    public func sourcePath(_ uniqueId: String) -> String { folder(uniqueId) + "/source" }
    public func rawFolder(_ uniqueId: String) -> String { folder(uniqueId) + "/raw" }
    func workFolder(_ uniqueId: String) -> String { folder(uniqueId) + "/work" }
    func tilesFolder(_ uniqueId: String) -> String { rawFolder(uniqueId) + "/tiles" }
    func annotationsFolder(_ uniqueId: String) -> String { rawFolder(uniqueId) + "/annotations" }
    public static func predictionXMLName(_ uniqueId: String) -> String { uniqueId + "_complete_net_prediction.xml" }
    func predictionXMLPath(_ uniqueId: String) -> String { rawFolder(uniqueId) + "/" + Self.predictionXMLName(uniqueId) }

    /// 32 lowercase hex digits, the form of every `image_unique_id` (and so safe in a path).
    public static func isUniqueId(_ s: String) -> Bool {
        s.utf8.count == 32 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A new random `image_unique_id` (128 bits from the system's CSPRNG).
    static func newUniqueId() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<16).map { _ -> String in
            let b = UInt8.random(in: 0...255, using: &g)
            return String(b >> 4, radix: 16) + String(b & 0xF, radix: 16)
        }.joined()
    }

    /// The file at `relative` (e.g. `tiles/3_2.png`) inside the image's `raw/` folder, when it
    /// names an existing regular file there: every component must be a plain name of letters,
    /// digits, `.`, `_` and `-` not starting with a dot, so nothing outside `raw/` is reachable.
    func rawFile(_ uniqueId: String, relative: String) -> String? {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= 4, parts.allSatisfy(Self.isPlainName) else { return nil }
        let path = rawFolder(uniqueId) + "/" + parts.joined(separator: "/")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        return path
    }

    /// A name that may be served: plain characters, no leading dot, not a file still being written.
    static func isPlainName<S: StringProtocol>(_ name: S) -> Bool {
        !name.isEmpty && name.utf8.count <= 200 && name.first != "." && !name.hasSuffix(".partial") && name.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
        }
    }

    /// `name` made plain (other characters become `_`), for storing an uploaded file's name.
    static func plainName(_ name: String, fallback: String) -> String {
        let base = (name as NSString).lastPathComponent
        var s = String(base.unicodeScalars.map { c -> Character in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "." || c == "_" || c == "-") ? Character(c) : "_"
        }.prefix(120))
        while s.hasPrefix(".") { s.removeFirst() }
        return s.isEmpty ? fallback : s
    }

    /// Every file under the image's `raw/` folder, as paths relative to it, sorted.
    func rawListing(_ uniqueId: String) -> [(path: String, size: Int64)] {
        let base = rawFolder(uniqueId)
        let fm = FileManager.default
        var out: [(String, Int64)] = []
        for relative in (try? fm.subpathsOfDirectory(atPath: base)) ?? [] where relative.split(separator: "/").allSatisfy(Self.isPlainName) {
            guard let attributes = try? fm.attributesOfItem(atPath: base + "/" + relative),
                  attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            out.append((relative, (attributes[.size] as? NSNumber)?.int64Value ?? 0))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    func create(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw NodeError.storage("cannot create the folder \(path): \(error.localizedDescription)")
        }
    }

    /// Replaces `destination` (a file or folder) with `source` by rename.
    static func replace(_ destination: String, with source: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: destination) { try? fm.removeItem(atPath: destination) }
        guard rename(source, destination) == 0 else {
            throw NodeError.storage("cannot move \(source) to \(destination): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes `bytes` to `path` through a temporary file and a rename (never half a file).
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw NodeError.storage("cannot write \(temporary)")
        }
        try replace(path, with: temporary)
    }
}

/// A file being received (an upload or an annotation): written as it arrives to a `.partial`
/// file, counted, and renamed into place by `commit` only once the caller accepted it; dropped
/// otherwise. Holds at most one 256 KiB buffer.
public final class PathologyUpload: @unchecked Sendable {
    public let path: String
    public private(set) var size: Int64 = 0
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var finished = false
    private let onFinish: (PathologyUpload, Bool) throws -> Void

    init(path: String, onFinish: @escaping (PathologyUpload, Bool) throws -> Void) throws {
        self.path = path
        self.onFinish = onFinish
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw NodeError.storage("cannot create \(path): \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(256 * 1024)
    }

    deinit { if !finished { discard() } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        size += Int64(bytes.count)
        if buffer.count >= 256 * 1024 { try flush() }
    }

    private func flush() throws {
        if let failed = buffer.withUnsafeBytes({ writeFully(fd, $0) }) {
            throw NodeError.storage("cannot write \(path): \(String(cString: strerror(failed)))")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and hands the file to its owner, which moves it into place.
    public func commit() throws {
        guard !finished else { return }
        try flush()
        guard fsync(fd) == 0 else { throw NodeError.storage("cannot sync \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        finished = true
        do { try onFinish(self, true) } catch {
            unlink(path)
            throw error
        }
    }

    /// Drops the file.
    public func discard() {
        guard !finished else { return }
        finished = true
        if fd >= 0 { close(fd); fd = -1 }
        unlink(path)
        try? onFinish(self, false)
    }
}
