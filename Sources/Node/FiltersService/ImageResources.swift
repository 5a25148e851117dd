import Foundation
import Codec

/// The filters service's image resources (seed 002 `/images`): 16-bit grayscale PNGs uploaded,
/// or made from an image acquired in a modality session, kept until deleted or until `expires`.
///
/// Metadata lives in the index (`image_resources`), the PNG in `<data>/filters/<id>.png`. A
/// resource is served only while it has not expired and, when made from a modality session,
/// while that session is active; `sweep` (run every `sweepInterval` by `start`) deletes the
/// others with their files.
public final class ImageResources: @unchecked Sendable {
    public struct Settings: Sendable {
        /// Seconds from creation to `expires`.
        public var lifetime: Double
        /// Seconds between sweeps.
        public var sweepInterval: Double
        /// Largest PNG accepted.
        public var maxMediaBytes: Int64
        public init(lifetime: Double = 8 * 3600, sweepInterval: Double = 60, maxMediaBytes: Int64 = 256 << 20) {
            self.lifetime = lifetime
            self.sweepInterval = sweepInterval
            self.maxMediaBytes = maxMediaBytes
        }
    }

    public let settings: Settings
    public let sessions: ModalitySessions
    let index: SQLiteIndex
    let store: FileStore
    let media: ResourceMediaFolder
    let log: NodeLog
    private let sweepQueue = DispatchQueue(label: "image-resource-sweeper", qos: .utility)
    private var timer: DispatchSourceTimer?
    private let lock = NSLock()

    public static let mediaType = "image/png"
    /// Decoding bound: 2^26 pixels (128 MiB of 16-bit samples).
    static let maxPixels = 1 << 26

    public init(index: SQLiteIndex, store: FileStore, sessions: ModalitySessions, settings: Settings, log: NodeLog) throws {
        self.index = index
        self.store = store
        self.sessions = sessions
        self.settings = settings
        self.log = log
        media = try ResourceMediaFolder(root: store.root + "/filters", durable: store.durable)
    }

    // MARK: Life cycle

    /// Repairs what a crash left (temporary uploads, files without rows, rows without files),
    /// sweeps once, then every `settings.sweepInterval` seconds.
    public func start() throws {
        let leftovers = media.removeLeftoverUploads()
        let rows = Set(try index.db.read { try $0.query("SELECT id FROM image_resources").compactMap { $0[0].string } })
        let files = media.storedIds()
        for id in files.subtracting(rows) { media.remove(id: id) }
        let missing = rows.subtracting(files)
        if !missing.isEmpty {
            try index.db.write { c in for id in missing { _ = try c.run("DELETE FROM image_resources WHERE id = ?", [.text(id)]) } }
        }
        if leftovers + missing.count + files.subtracting(rows).count > 0 {
            log.log(.info, "filters", "image resources repaired", ["uploads": "\(leftovers)", "orphanFiles": "\(files.subtracting(rows).count)",
                                                                    "rowsWithoutFile": "\(missing.count)"])
        }
        try sweep()
        let t = DispatchSource.makeTimerSource(queue: sweepQueue)
        t.schedule(deadline: .now() + settings.sweepInterval, repeating: settings.sweepInterval, leeway: .milliseconds(50))
        t.setEventHandler { [weak self] in
            guard let self else { return }
            do { try self.sweep() } catch { self.log.log(.error, "filters", "sweep failed", ["error": "\(error)"]) }
        }
        lock.lock(); timer = t; lock.unlock()
        t.resume()
    }

    /// Stops the sweeper; a sweep under way finishes first.
    public func stop() {
        lock.lock(); let t = timer; timer = nil; lock.unlock()
        t?.cancel()
        sweepQueue.sync {}
    }

    // MARK: Creating

    /// A temporary file to write an upload into; pass it to `create` or `discard()` it.
    public func newUpload() throws -> MediaUpload { try media.newUpload() }

    /// A resource from an uploaded PNG. Throws `NodeError.badRequest` for an invalid `info`,
    /// `NodeError.invalidData` when the media is not a 16-bit grayscale PNG (the REST edge answers
    /// 415). The upload is consumed either way.
    public func create(info: ImageInfo, upload: MediaUpload) throws -> ImageResource {
        do {
            try info.validate()
            guard upload.size <= settings.maxMediaBytes else {
                throw NodeError.invalidData("the image media is larger than \(settings.maxMediaBytes) bytes")
            }
            let (width, height) = try Self.checkGrayscale16(try upload.contents())
            return try insert(upload: upload, width: width, height: height, info: info, session: nil)
        } catch {
            upload.discard()
            throw error
        }
    }

    /// A resource from an image acquired in an active modality session (`imageId` is the node's
    /// image id). `NodeError.notFound` when the session is unknown or ended, or the image was not
    /// acquired in it; `invalidData` when the image cannot be a 16-bit grayscale PNG.
    public func create(sessionId: String, imageId: String) throws -> ImageResource {
        guard let session = try sessions.session(id: sessionId), session.active else {
            throw NodeError.notFound("no active modality session \(sessionId)")
        }
        guard let id = Int64(imageId.trimmingCharacters(in: .whitespaces)),
              let image = try sessions.acquiredImage(sessionId: session.id, imageId: id) else {
            throw NodeError.notFound("image \(imageId) was not acquired in modality session \(sessionId)")
        }
        guard let path = store.readablePath(forKey: image.storageKey) else { throw NodeError.notFound("image \(imageId) (its file is gone)") }
        let made = try ModalityImagePNG.make(path: path, imageId: id)
        let upload = try media.newUpload()
        do {
            try upload.write(made.png)
            return try insert(upload: upload, width: made.width, height: made.height, info: made.info,
                              session: ModalitySessionReference(sessionId: session.id, imageId: imageId))
        } catch {
            upload.discard()
            throw error
        }
    }

    /// Width and height of a PNG that is 16-bit grayscale (PNG color type 0, bit depth 16: PNG
    /// spec 11.2.2); `invalidData` saying what it is otherwise.
    public static func checkGrayscale16(_ bytes: [UInt8]) throws -> (width: Int, height: Int) {
        let image: PNGImage
        do { image = try PNGDecoder.decode(bytes, maxPixels: maxPixels) } catch {
            throw NodeError.invalidData("the image media is not a readable PNG: \(error)")
        }
        guard image.channels == 1, image.bitDepth == 16 else {
            let kind = [1: "grayscale", 2: "grayscale with alpha", 3: "RGB", 4: "RGBA"][image.channels] ?? "\(image.channels)-channel"
            throw NodeError.invalidData("the image media must be a 16-bit grayscale PNG, not \(image.bitDepth)-bit \(kind)")
        }
        return (image.width, image.height)
    }

    private func insert(upload: MediaUpload, width: Int, height: Int, info: ImageInfo, session: ModalitySessionReference?) throws -> ImageResource {
        let now = ModalitySessions.now()
        let r = ImageResource(id: UUID().uuidString.lowercased(), mediaType: Self.mediaType, mediaSize: upload.size, width: width, height: height,
                              createdOn: now, expires: now + Int64(settings.lifetime * 1000), imageInfo: info, modalitySession: session)
        try media.commit(upload, id: r.id)
        do {
            let l = info.lutInfo
            try index.db.write { c in
                if let session {
                    // The session may have ended while the PNG was made.
                    guard try c.scalar("SELECT count(*) FROM modality_sessions WHERE id = ? AND ended IS NULL", [.text(session.sessionId)]) == 1 else {
                        throw NodeError.notFound("no active modality session \(session.sessionId)")
                    }
                }
                _ = try c.run("""
                    INSERT INTO image_resources (id, media_type, media_size, width, height, created, expires, binning, gamma, slope,
                        lut_offset, total_grays, minimum_gray, maximum_gray, session_id, session_image_id)
                    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                    """, [.text(r.id), .text(r.mediaType), .integer(r.mediaSize), .integer(Int64(width)), .integer(Int64(height)),
                          .integer(r.createdOn), .integer(r.expires), .text(info.acquisitionInfo.binning), .real(l.gamma), .real(l.slope),
                          .real(l.offset), .integer(Int64(l.totalGrays)), .integer(Int64(l.minimumGray)), .integer(Int64(l.maximumGray)),
                          SQLValue(session?.sessionId), SQLValue(session?.imageId)])
            }
        } catch {
            media.remove(id: r.id)
            throw error
        }
        log.log(.info, "filters", "image resource created", ["id": r.id, "size": "\(r.mediaSize)", "width": "\(width)", "height": "\(height)",
                                                              "session": session?.sessionId ?? ""])
        return r
    }

    // MARK: Reading and deleting

    /// Served: not expired, and its modality session (if any) still active.
    static let visible = "r.expires > ? AND (r.session_id IS NULL OR EXISTS (SELECT 1 FROM modality_sessions s WHERE s.id = r.session_id AND s.ended IS NULL))"

    /// The resource, or nil when unknown, expired (even before the sweep) or its session ended.
    public func resource(id: String) throws -> ImageResource? {
        let rows = try index.db.read {
            try $0.query("""
                SELECT r.id, r.media_type, r.media_size, r.width, r.height, r.created, r.expires, r.binning, r.gamma, r.slope, r.lut_offset,
                       r.total_grays, r.minimum_gray, r.maximum_gray, r.session_id, r.session_image_id
                FROM image_resources r WHERE r.id = ? AND \(Self.visible)
                """, [.text(id), .integer(ModalitySessions.now())])
        }
        guard let r = rows.first else { return nil }
        func real(_ v: SQLValue) -> Double {
            switch v { case .real(let d): return d; case .integer(let i): return Double(i); default: return 0 }
        }
        let info = ImageInfo(acquisitionInfo: .init(binning: r[7].string ?? ""),
                             lutInfo: .init(gamma: real(r[8]), slope: real(r[9]), offset: real(r[10]), totalGrays: Int(r[11].int ?? 0),
                                            minimumGray: Int(r[12].int ?? 0), maximumGray: Int(r[13].int ?? 0)))
        let session = r[14].string.map { ModalitySessionReference(sessionId: $0, imageId: r[15].string ?? "") }
        return ImageResource(id: r[0].string ?? "", mediaType: r[1].string ?? Self.mediaType, mediaSize: r[2].int ?? 0,
                             width: Int(r[3].int ?? 0), height: Int(r[4].int ?? 0), createdOn: r[5].int ?? 0, expires: r[6].int ?? 0,
                             imageInfo: info, modalitySession: session)
    }

    /// The resource's PNG file, opened for reading (nil as for `resource(id:)`). Reading an open
    /// file goes on even if the resource is deleted meanwhile.
    public func openMedia(id: String) throws -> (resource: ImageResource, file: FileHandle)? {
        guard let r = try resource(id: id), let h = FileHandle(forReadingAtPath: media.path(id: id)) else { return nil }
        return (r, h)
    }

    /// Deletes the resource and its file; false when there was no served resource (an expired
    /// one not yet swept is removed all the same).
    @discardableResult
    public func delete(id: String) throws -> Bool {
        let wasVisible = try resource(id: id) != nil
        let removed = try index.db.write { c -> Bool in
            _ = try c.run("DELETE FROM image_resources WHERE id = ?", [.text(id)])
            return c.changes > 0
        }
        if removed {
            media.remove(id: id)
            log.log(.info, "filters", "image resource deleted", ["id": id])
        }
        return wasVisible
    }

    /// Deletes every resource no longer served (expired, or of an ended session) with its file;
    /// returns how many.
    @discardableResult
    public func sweep() throws -> Int {
        let ids = try index.db.write { c -> [String] in
            let ids = try c.query("SELECT r.id FROM image_resources r WHERE NOT (\(Self.visible))", [.integer(ModalitySessions.now())])
                .compactMap { $0[0].string }
            for id in ids { _ = try c.run("DELETE FROM image_resources WHERE id = ?", [.text(id)]) }
            return ids
        }
        for id in ids { media.remove(id: id) }
        if !ids.isEmpty { log.log(.info, "filters", "image resources swept", ["count": "\(ids.count)"]) }
        return ids.count
    }

    /// Where a resource's file is (tests, diagnostics).
    public func mediaPath(id: String) -> String { media.path(id: id) }
}
