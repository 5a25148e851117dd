import Foundation
import DicomNet

/// The pathology image service of seed 001, over the node's users and index database: image
/// records with their owners and shares, uploads into the data folder, logs, and the analysis
/// jobs. Visibility (who may see or change what) is decided here (`access`); the REST side turns
/// it into 404 (not visible) and 403 (visible, but not theirs to change).
public final class PathologyService: @unchecked Sendable {
    public let config: NodeConfig.Pathology
    public let files: PathologyFiles
    let store: PathologyStore
    let pipeline: PathologyPipeline
    let log: NetLogger
    private let lock = NSLock()
    /// Images receiving a file right now: no second upload, no analysis, no deletion meanwhile.
    private var uploading = Set<Int64>()

    public init(index: SQLiteIndex, dataFolder: String, config: NodeConfig.Pathology, log: NetLogger) throws {
        self.config = try config.validated()
        files = PathologyFiles(dataFolder: dataFolder)
        store = PathologyStore(db: index.db)
        self.log = log
        pipeline = PathologyPipeline(store: store, files: files, config: self.config, log: log)
        try files.create(files.imagesFolder)
    }

    /// Removes what a crash left half-written, then resumes (or, with `resumeJobs` false, fails)
    /// the jobs that were queued or running when the node stopped.
    public func start() throws {
        let known = try store.allUniqueIds()
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: files.imagesFolder)) ?? [] {
            let folder = files.imagesFolder + "/" + name
            guard known.contains(name) else {
                // A record deleted before its folder was: the folder goes too.
                try? fm.removeItem(atPath: folder)
                continue
            }
            // Uploads, tiles and results cut short: written as `.partial`, never renamed into place.
            for leftover in ((try? fm.subpathsOfDirectory(atPath: folder)) ?? []).sorted().reversed() where leftover.hasSuffix(".partial") {
                try? fm.removeItem(atPath: folder + "/" + leftover)
            }
        }
        for (id, run) in try store.unfinishedJobs() {
            guard let image = try store.image(id: id) else { continue }
            var assignments: [(String, SQLValue)] = []
            let cut = config.resumeJobs ? PathologyStageStatus.pending : .failed
            for stage in PathologyStage.allCases where image.status(of: stage) == .inProgress {
                assignments.append((stage.column, .text(cut.rawValue)))
            }
            assignments.append(("predict_status", .text(config.resumeJobs ? PathologyStageStatus.queued.rawValue : PathologyStageStatus.failed.rawValue)))
            try store.setIfCurrent(id: id, run: run, assignments)
            let message = config.resumeJobs ? "resumed after a restart of the node" : "failed: interrupted by a restart of the node (pathology.resumeJobs is off)"
            try store.addLog(imageId: id, type: "Pipeline", message: message, userId: nil)
            log.log(.info, "pathology", "analysis \(message)", ["image": image.imageUniqueId, "run": "\(run)"])
            if config.resumeJobs { pipeline.enqueue(PathologyJob(imageId: id, uniqueId: image.imageUniqueId, run: run)) }
        }
    }

    /// Stops the running jobs where they are (they resume at the next start).
    public func stop() { pipeline.shutdown() }

    // MARK: Records

    public func image(id: Int64) throws -> PathologyImage? { try store.image(id: id) }

    public func image(uniqueId: String) throws -> PathologyImage? {
        guard PathologyFiles.isUniqueId(uniqueId) else { return nil }
        return try store.image(uniqueId: uniqueId)
    }

    public func access(_ image: PathologyImage, for viewer: PathologyViewer) -> PathologyAccess {
        if viewer.isAdministrator || image.ownerId == viewer.userId { return .manage }
        return image.shared.contains(viewer.userId) ? .read : .none
    }

    /// Records owned by or shared with `userId` (what `GET /Images/userid/<id>` lists).
    public func images(ownedOrSharedWith userId: Int64) throws -> [PathologyImage] { try store.images(ownedOrSharedWith: userId) }

    public func allImages() throws -> [PathologyImage] { try store.images(where: "1 = 1") }

    /// The ids of every user account.
    public func userIds() throws -> [Int64] { try store.userIds() }

    public func create(ownerId: Int64, fields: PathologyImageFields) throws -> PathologyImage {
        guard try store.unknownUsers([ownerId]).isEmpty else { throw NodeError.badRequest("user \(ownerId) does not exist") }
        var f = fields
        f.filename = try Self.checkedFilename(fields.filename ?? "")
        let image = try store.insert(uniqueId: PathologyFiles.newUniqueId(), ownerId: ownerId, fields: f)
        try files.create(files.folder(image.imageUniqueId))
        log.log(.info, "pathology", "image record created", ["image": image.imageUniqueId, "owner": "\(ownerId)", "filename": image.filename])
        return image
    }

    public func update(id: Int64, fields: PathologyImageFields) throws -> PathologyImage {
        var f = fields
        if let name = fields.filename { f.filename = try Self.checkedFilename(name) }
        if let status = fields.status, status.isEmpty || status.count > 64 { throw NodeError.badRequest("status must be 1–64 characters") }
        try store.update(id: id, fields: f)
        guard let image = try store.image(id: id) else { throw NodeError.notFound("image \(id)") }
        return image
    }

    static func checkedFilename(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 255 else { throw NodeError.badRequest("filename must be 1–255 characters") }
        return trimmed
    }

    /// Deletes the record, its logs, shares and files; a running analysis is stopped first.
    public func delete(_ image: PathologyImage) throws {
        lock.lock()
        let busy = uploading.contains(image.id)
        lock.unlock()
        if busy { throw NodeError.conflict("a file is being uploaded to image \(image.imageUniqueId); delete it afterwards") }
        if let job = pipeline.cancel(imageId: image.id, userId: nil) { _ = job.waitUntilEnded(seconds: 60) }
        try store.delete(id: image.id)
        try? FileManager.default.removeItem(atPath: files.folder(image.imageUniqueId))
        log.log(.info, "pathology", "image deleted", ["image": image.imageUniqueId])
    }

    // MARK: Sharing

    public enum ShareChange: String, Sendable { case add, remove, replace }

    /// Changes who an image is shared with. The owner always keeps it: removing the owner is refused.
    public func share(_ image: PathologyImage, _ change: ShareChange, users: [Int64]) throws -> PathologyImage {
        let unknown = try store.unknownUsers(users)
        guard unknown.isEmpty else { throw NodeError.badRequest("no user with id \(unknown.map(String.init).joined(separator: ", "))") }
        let current = Set(image.shared.dropFirst())
        var next: Set<Int64>
        switch change {
        case .add: next = current.union(users)
        case .remove:
            guard !users.contains(image.ownerId) else { throw NodeError.badRequest("user \(image.ownerId) owns the image and cannot be removed from it") }
            next = current.subtracting(users)
        case .replace: next = Set(users)
        }
        next.remove(image.ownerId)
        try store.setShares(id: image.id, ownerId: image.ownerId, users: Array(next))
        guard let updated = try store.image(id: image.id) else { throw NodeError.notFound("image \(image.imageUniqueId)") }
        log.log(.info, "pathology", "sharing changed", ["image": image.imageUniqueId, "shared": updated.shared.map(String.init).joined(separator: ",")])
        return updated
    }

    // MARK: Logs

    public func addLog(_ image: PathologyImage, type: String, message: String, userId: Int64?) throws -> PathologyLogEntry {
        let t = type.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.count <= 64 else { throw NodeError.badRequest("type must be 1–64 characters") }
        guard message.utf8.count <= 64 * 1024 else { throw NodeError.badRequest("message must be at most 64 KiB") }
        return try store.addLog(imageId: image.id, type: t, message: message, userId: userId)
    }

    /// Log entries after `since` in the order written: of one image, or (image nil) of every
    /// image `viewer` may see.
    public func logs(of image: PathologyImage?, viewer: PathologyViewer, since: Int64 = 0, limit: Int = 10_000) throws -> [PathologyLogEntry] {
        try store.logs(imageId: image?.id, viewer: image == nil ? viewer : nil, since: since, limit: limit)
    }

    // MARK: Files

    /// Starts receiving the image's file. Refused while another upload or the analysis runs.
    /// `commit()` puts it in place (earlier results are dropped: they belong to the old file).
    public func beginUpload(_ image: PathologyImage) throws -> PathologyUpload {
        lock.lock()
        defer { lock.unlock() }
        guard !uploading.contains(image.id) else { throw NodeError.conflict("another upload to image \(image.imageUniqueId) is in progress") }
        guard pipeline.job(imageId: image.id) == nil else {
            throw NodeError.conflict("the analysis of image \(image.imageUniqueId) is running; stop it before uploading another file")
        }
        try files.create(files.folder(image.imageUniqueId))
        let path = files.folder(image.imageUniqueId) + "/upload-\(PathologyFiles.newUniqueId().prefix(12)).partial"
        let upload = try PathologyUpload(path: path) { [self] upload, accepted in
            defer { lock.lock(); uploading.remove(image.id); lock.unlock() }
            guard accepted else { return }
            try PathologyFiles.replace(files.sourcePath(image.imageUniqueId), with: upload.path)
            try? FileManager.default.removeItem(atPath: files.tilesFolder(image.imageUniqueId))
            try? FileManager.default.removeItem(atPath: files.predictionXMLPath(image.imageUniqueId))
            try store.uploaded(id: image.id, size: upload.size)
            try store.addLog(imageId: image.id, type: "Upload", message: "file received: \(upload.size) bytes", userId: nil)
            log.log(.info, "pathology", "file uploaded", ["image": image.imageUniqueId, "bytes": "\(upload.size)"])
        }
        uploading.insert(image.id)
        return upload
    }

    /// The uploaded file, when there is one.
    public func sourcePath(_ image: PathologyImage) -> String? {
        let path = files.sourcePath(image.imageUniqueId)
        return image.hasFile && FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// A result file below the image's raw download URL (`tiles/index.json`, the XML, …); nil
    /// when there is no such file or the name reaches outside.
    public func rawFile(_ image: PathologyImage, relative: String) -> String? {
        files.rawFile(image.imageUniqueId, relative: relative)
    }

    public func rawListing(_ image: PathologyImage) -> [(path: String, size: Int64)] { files.rawListing(image.imageUniqueId) }

    /// Receives an annotation file (`POST /Annotations/upload`): on `commit()` it is checked to be
    /// well-formed XML (refused otherwise), kept in `annotations/`, and copied to
    /// `<image_unique_id>_complete_net_prediction.xml`, the file clients download.
    public func beginAnnotation(_ image: PathologyImage, filename: String?, userId: Int64?) throws -> PathologyUpload {
        let folder = files.annotationsFolder(image.imageUniqueId)
        try files.create(folder)
        let stamp = PathologyClock.now().filter { $0.isNumber }
        let name = "\(stamp)-\(PathologyFiles.plainName(filename ?? "", fallback: "annotation.xml"))"
        return try PathologyUpload(path: folder + "/" + name + ".partial") { [self] upload, accepted in
            guard accepted else { return }
            if let problem = AnnotationXML.wellFormednessProblem(path: upload.path) {
                unlink(upload.path)
                throw NodeError.badRequest("the annotation file is refused: \(problem)")
            }
            let final = folder + "/" + name
            try PathologyFiles.replace(final, with: upload.path)
            let current = files.predictionXMLPath(image.imageUniqueId)
            let copy = current + ".partial"
            try? FileManager.default.removeItem(atPath: copy)
            do { try FileManager.default.copyItem(atPath: final, toPath: copy) } catch {
                throw NodeError.storage("cannot copy the annotation: \(error.localizedDescription)")
            }
            try PathologyFiles.replace(current, with: copy)
            try store.addLog(imageId: image.id, type: "Annotation", message: "annotation uploaded: annotations/\(name) (\(upload.size) bytes)", userId: userId)
        }
    }

    /// The relative path an annotation upload is stored under.
    public static func annotationRelativePath(_ upload: PathologyUpload) -> String {
        "annotations/" + ((upload.path as NSString).lastPathComponent as String).replacingOccurrences(of: ".partial", with: "")
    }

    // MARK: Analysis

    /// Starts a new run of the analysis (queued when all workers are busy).
    public func startAnalysis(_ image: PathologyImage, userId: Int64?) throws -> PathologyImage {
        lock.lock()
        defer { lock.unlock() }
        guard !uploading.contains(image.id) else { throw NodeError.conflict("a file is being uploaded to image \(image.imageUniqueId)") }
        guard sourcePath(image) != nil else { throw NodeError.conflict("image \(image.imageUniqueId) has no uploaded file yet") }
        guard pipeline.job(imageId: image.id) == nil else { throw NodeError.conflict("the analysis of image \(image.imageUniqueId) is already running") }
        let run = try store.beginRun(id: image.id)
        // The results of an earlier run go: a stopped or failed run must not leave them looking current.
        try? FileManager.default.removeItem(atPath: files.tilesFolder(image.imageUniqueId))
        try? FileManager.default.removeItem(atPath: files.predictionXMLPath(image.imageUniqueId))
        try store.addLog(imageId: image.id, type: "Pipeline", message: "analysis queued (run \(run))\(userId.map { " by user \($0)" } ?? "")", userId: userId)
        pipeline.enqueue(PathologyJob(imageId: image.id, uniqueId: image.imageUniqueId, run: run))
        guard let queued = try store.image(id: image.id) else { throw NodeError.notFound("image \(image.imageUniqueId)") }
        return queued
    }

    /// Stops the image's analysis and waits up to `wait` seconds for it to end. Returns the
    /// record, and whether it had ended by then.
    public func stopAnalysis(_ image: PathologyImage, userId: Int64?, wait: Double = 30) throws -> (image: PathologyImage, ended: Bool) {
        guard let job = pipeline.cancel(imageId: image.id, userId: userId) else {
            throw NodeError.conflict("the analysis of image \(image.imageUniqueId) is not running")
        }
        let ended = job.waitUntilEnded(seconds: wait)
        guard let current = try store.image(id: image.id) else { throw NodeError.notFound("image \(image.imageUniqueId)") }
        return (current, ended)
    }

    public func isAnalysisRunning(_ image: PathologyImage) -> Bool { pipeline.job(imageId: image.id) != nil }
}
