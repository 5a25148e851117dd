import Foundation
import Codec
import Node

/// `/api/images/…`: upload (streamed to disk), fetch, delete, attributes, image information,
/// PNG rendering, modify and export sets (research notes §2 "Images").
extension SliceboxAPI {
    func addImageRoutes(_ api: inout APIRouter) {
        let node = self.node, exports = self.exports

        api.post("/images") { r, user in
            let result = try self.receiveUpload(r, source: Source(type: .user, name: user.name, id: user.id))
            return .json(ImageJSON(try self.image(id: result.outcome.imageId)), status: result.outcome.added ? .created : .ok)
        }
        api.get("/images/{id}") { r, _ in
            let stored = try self.storedImage(r.id())
            return try Self.fileResponse(path: self.path(of: stored), contentType: "application/octet-stream")
        }
        api.delete("/images/{id}") { r, user in
            let id = try r.id()
            if try node.ingest.delete(imageIds: [id]) > 0 { node.log.log(.info, "image", "deleted", ["image": "\(id)", "user": user.name]) }
            return .empty()
        }
        api.post("/images/delete") { r, user in
            let ids = try r.seedBody([Int64].self)
            var deleted = 0
            for batch in stride(from: 0, to: ids.count, by: 1000) {  // Slicebox deletes in batches of 1,000
                deleted += try node.ingest.delete(imageIds: Array(ids[batch..<min(batch + 1000, ids.count)]))
            }
            node.log.log(.info, "image", "deleted", ["images": "\(deleted)", "requested": "\(ids.count)", "user": user.name])
            return .empty()
        }
        api.get("/images/{id}/attributes") { r, _ in
            let file = try self.readImage(r.id(), lazy: true)
            return .json(ImageAttributes.list(file.dataSet))
        }
        api.get("/images/{id}/imageinformation") { r, _ in
            let file = try self.readImage(r.id(), lazy: false)
            return .json(try ImageAttributes.information(file))
        }
        api.get("/images/{id}/png") { r, _ in
            let file = try self.readImage(r.id(), lazy: false)
            guard file.dataSet.contains(.pixelData) || file.dataSet.contains(Tag(0x7FE0_0008)) || file.dataSet.contains(Tag(0x7FE0_0009)) else {
                throw HTTPError(.unprocessableContent, "image \(try r.id()) has no pixel data to render (SOP class \(file.dataSet.string(.sopClassUID) ?? "?"))")
            }
            let frame = try r.query.int("framenumber", default: 1)
            let frames = ImageAttributes.frameCount(file.dataSet)
            guard (1...frames).contains(frame) else { throw HTTPError(.badRequest, "framenumber must be 1–\(frames)") }
            var options = RenderOptions(frame: frame - 1)
            let low = try r.query.int("windowmin", default: 0), high = try r.query.int("windowmax", default: 0)
            // The window applies when min < max (as Slicebox), centred between them (Slicebox
            // computes the centre as (max−min)/2, a bug noted in the research).
            if low < high {
                options.windowCenter = Double(low + high) / 2
                options.windowWidth = Double(high - low)
            }
            let height = try r.query.int("imageheight", default: 0)
            guard height >= 0, height <= 16384 else { throw HTTPError(.badRequest, "imageheight must be 0–16384") }
            do {
                var image = try FrameRenderer.render(file.dataSet, transferSyntax: file.transferSyntax, options: options)
                if height > 0 && height != image.height { image = ImageScaling.scaled(image, height: height) }
                return .bytes(try PNGEncoder.encode(image, level: 3), contentType: "image/png")
            } catch let e as HTTPError {
                throw e
            } catch {
                throw HTTPError(.notImplemented, "this image cannot be rendered: \(error)")
            }
        }
        api.put("/images/{id}/modify") { r, user in
            let id = try r.id()
            let mappings = try r.seedBody([TagValueJSON].self)
            let stored = try self.storedImage(id)
            var file = try self.readImage(id, lazy: false)
            for m in mappings {
                let path = try m.tagPath.tagPath()
                guard !path.hasWildcards else { throw HTTPError(.badRequest, "a modified tag path cannot have wildcards: \(path)") }
                guard path.last.tag.group > 0x0002, path.prefixSteps.allSatisfy({ $0.tag.group > 0x0002 }) else {
                    throw HTTPError(.badRequest, "\(path): groups 0000 (command) and 0002 (file meta) cannot be modified")
                }
                let vr = file.dataSet.element(at: path)?.vr ?? DataDictionary.vr(for: path.last.tag)
                guard vr != .SQ else { throw HTTPError(.badRequest, "\(path) is a sequence; set a value inside one of its items") }
                let element: DataElement
                do {
                    element = try DataElement(tag: path.last.tag, vr: vr, strings: m.value.isEmpty ? [] : m.value.components(separatedBy: "\\"),
                                              characterSet: file.dataSet.characterSet)
                } catch {
                    throw HTTPError(.badRequest, "'\(m.value)' is not a valid \(vr) value for \(path): \(error)")
                }
                do { try file.dataSet.set(element, at: path) } catch {
                    throw HTTPError(.badRequest, "cannot set \(path): \(error)")
                }
            }
            if mappings.contains(where: { (try? $0.tagPath.tagPath())?.last.tag == .sopInstanceUID }) {
                try file.meta.set(.mediaStorageSOPInstanceUID, vr: .UI, string: file.dataSet.string(.sopInstanceUID) ?? "")
            }
            // Stored before the original goes, so a failure loses nothing. The same SOP Instance
            // UID replaces the image in place (it keeps its id, source and series tags); a new
            // one is a new image and the original is deleted (Slicebox `modify` always does that).
            let result = try node.ingest.store(bytes: try file.encoded(), source: stored.source, policy: .replace)
            if result.outcome.imageId != id { _ = try node.ingest.delete(imageIds: [id]) }
            node.log.log(.info, "image", "modified", ["image": "\(id)", "new": "\(result.outcome.imageId)", "user": user.name, "sop": result.sopInstanceUID])
            return .fastJSON(ImageJSON(try self.image(id: result.outcome.imageId)), status: .created)
        }

        api.post("/images/jpeg") { r, user in
            let studyId = try r.query.int64("studyid")
            guard let study = try node.index.studies(.id(studyId)).first else { throw HTTPError(.notFound, "no study with id \(studyId)") }
            guard let patient = try node.index.patients(.id(study.patientId)).first else { throw HTTPError(.notFound, "no patient for study \(studyId)") }
            let jpeg = try r.body.readAll(limit: 256 << 20)
            let dicom = try SecondaryCapture.wrapJPEG(jpeg, patient: patient, study: study, seriesDescription: r.query["description"] ?? "")
            let result = try node.ingest.store(bytes: dicom, source: Source(type: .user, name: user.name, id: user.id))
            node.log.log(.info, "image", "JPEG wrapped as Secondary Capture", ["study": "\(studyId)", "image": "\(result.outcome.imageId)",
                                                                                "sop": result.sopInstanceUID, "user": user.name])
            return .fastJSON(ImageJSON(try self.image(id: result.outcome.imageId)), status: .created)
        }
        api.post("/images/export") { r, _ in
            let ids = try r.seedBody([Int64].self)
            guard !ids.isEmpty else { return .empty() }
            return .json(["value": exports.add(ids)], status: .created)
        }
        api.get("/images/export") { r, _ in
            let setId = try r.query.int64("id")
            guard let ids = exports.ids(setId) else { throw HTTPError(.notFound, "no export set \(setId) (export sets live 6 hours)") }
            return try self.zipResponse(imageIds: ids)
        }
    }

    // MARK: Helpers shared by the image routes

    func storedImage(_ id: Int64) throws -> StoredImage {
        guard let s = try node.index.storedImage(id: id) else { throw HTTPError(.notFound, "no image with id \(id)") }
        return s
    }

    func image(id: Int64) throws -> Image { try storedImage(id).image }

    func path(of stored: StoredImage) throws -> String {
        guard let p = node.store.readablePath(forKey: stored.storageKey) else {
            throw HTTPError(.internalServerError, "the file of image \(stored.image.id) is missing from the store")
        }
        return p
    }

    func readImage(_ id: Int64, lazy: Bool) throws -> DicomFile {
        let stored = try storedImage(id)
        do { return try DicomFile.read(path: try path(of: stored), options: lazy ? .lazy : ReadOptions()) } catch let e as HTTPError { throw e } catch {
            throw HTTPError(.internalServerError, "image \(id) cannot be read: \(error)")
        }
    }

    /// An upload: the raw body, or the `file`/`dataset` part (else the first file part) of a
    /// multipart body, streamed into the store as it arrives.
    func receiveUpload(_ r: HTTPRequest, source: Source) throws -> Ingest.Result {
        try node.ingest.store(writing: Self.uploadWriter(r), source: source)
    }

    /// Writes an upload's file into `incoming/` as it arrives (see `receiveUpload`).
    static func uploadWriter(_ r: HTTPRequest) -> (IncomingFile) throws -> Void {
        { file in
            guard r.contentType?.lowercased() == "multipart/form-data" else {
                try r.body.forEachChunk { try file.write($0) }
                return
            }
            var found = false
            try MultipartParser(contentType: r.headers["Content-Type"]).parse(r.body) { head in
                guard !found, head.name == "file" || head.name == "dataset" || head.filename != nil else { return { _ in } }
                found = true
                return { try file.write($0) }
            }
            guard found else { throw HTTPError(.badRequest, "the multipart body has no 'file' (or 'dataset') part") }
        }
    }
}
