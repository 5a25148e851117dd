import Foundation
import Node

/// `/pathology/S3/…` and `/pathology/Annotations/upload`: the node as the seed's upload
/// endpoint (a multipart form with a signed policy, streamed to disk), downloads of the image and
/// of its results (`base_download_url`, `base_raw_download_url`), and annotation uploads.
extension PathologyAPI {
    func addPathologyFileRoutes(_ api: inout APIRouter) {
        let service = self.service, signer = self.signer, maxUploadBytes = self.maxUploadBytes

        // Authorised by the signed policy alone, as an S3 POST upload is (no account needed).
        api.publicRoute(.post, "/S3/upload") { r in
            let parser = try MultipartParser(contentType: r.headers["Content-Type"])
            var fields: [String: String] = [:]
            var field: (name: String, value: [UInt8])?
            var upload: PathologyUpload?
            var grant: UploadSigner.Grant?
            var image: PathologyImage?
            func closeField() {
                if let f = field { fields[f.name] = String(decoding: f.value, as: UTF8.self) }
                field = nil
            }
            do {
                try parser.parse(r.body) { head in
                    closeField()
                    if head.name == "file" {
                        guard upload == nil else { throw HTTPError(.badRequest, "upload refused: more than one 'file' part") }
                        // Everything is checked before the first byte of the file is kept.
                        let g = try signer.verify(fields)
                        guard PathologyFiles.isUniqueId(g.key), let target = try service.image(uniqueId: g.key) else {
                            throw HTTPError(.notFound, "upload refused: no image with the key '\(g.key)'")
                        }
                        let limit = min(g.maxBytes, maxUploadBytes)
                        let receiving = try service.beginUpload(target)
                        (grant, image, upload) = (g, target, receiving)
                        return { piece in
                            try receiving.write(piece)
                            if receiving.size > limit {
                                throw HTTPError(.badRequest, "upload refused: the file is larger than the policy's content-length-range allows (\(limit) bytes)")
                            }
                        }
                    }
                    // After the file S3 ignores form fields; so does this endpoint.
                    guard upload == nil, let name = head.name else { return { _ in } }
                    guard fields.count < 64 else { throw HTTPError(.badRequest, "upload refused: too many form fields") }
                    field = (name, [])
                    return { piece in
                        field?.value.append(contentsOf: piece)
                        if (field?.value.count ?? 0) > 64 * 1024 { throw HTTPError(.badRequest, "upload refused: form field '\(name)' is too long") }
                    }
                }
                closeField()
                guard let upload, let grant, let image else { throw HTTPError(.badRequest, "upload refused: the form has no 'file' part") }
                guard upload.size >= grant.minBytes else {
                    throw HTTPError(.badRequest, "upload refused: the file has \(upload.size) bytes, fewer than the policy's content-length-range allows (\(grant.minBytes))")
                }
                try upload.commit()
                return .json(["success": true, "key": image.imageUniqueId, "size": upload.size, "bucket": signer.bucket], status: .created)
            } catch {
                upload?.discard()
                throw error
            }
        }

        api.get("/S3/file/{ref}") { r, user in
            let image = try self.image(try r.parameters.require("ref"), user)
            guard let path = service.sourcePath(image) else { throw HTTPError(.notFound, "image \(image.imageUniqueId) has no uploaded file yet") }
            let name = image.filename.replacingOccurrences(of: "\"", with: "_").filter { $0.isASCII && !$0.isNewline }
            return try Self.fileResponse(path: path, contentType: Self.contentType(path: path))
                .with("Content-Disposition", "attachment; filename=\"\(name.isEmpty ? image.imageUniqueId : name)\"")
        }

        // The image's results: a file below base_raw_download_url, or (the URL itself) what it holds.
        // One route for both: a rest capture also matches an empty rest, and wins as the longer pattern.
        api.get("/S3/raw/{ref}/{path...}") { r, user in
            let image = try self.image(try r.parameters.require("ref"), user)
            let relative = try r.parameters.require("path")
            if relative.isEmpty {
                let base = self.base(r) + "/S3/raw/" + image.imageUniqueId
                return .json(["image_unique_id": image.imageUniqueId,
                              "files": service.rawListing(image).map { ["path": $0.path, "size": $0.size, "url": base + "/" + $0.path] as [String: Any] }])
            }
            guard let path = service.rawFile(image, relative: relative) else {
                throw HTTPError(.notFound, "image \(image.imageUniqueId) has no result file '\(relative)'")
            }
            return try Self.fileResponse(path: path, contentType: Self.contentType(path: path))
        }

        // {upload_file: file, imageid: <id>, userid: <id>, fileid: <image_unique_id>}
        api.post("/Annotations/upload") { r, user in
            let parser = try MultipartParser(contentType: r.headers["Content-Type"])
            var fields: [String: String] = [:]
            var field: (name: String, value: [UInt8])?
            var upload: PathologyUpload?
            var target: PathologyImage?
            var filePending: (name: String?, data: [UInt8])?
            func closeField() {
                if let f = field { fields[f.name] = String(decoding: f.value, as: UTF8.self) }
                field = nil
            }
            /// The image the form names (fileid, else imageid), checked against both when both are given.
            func resolve() throws -> PathologyImage {
                guard let reference = fields["fileid"] ?? fields["imageid"] else {
                    throw HTTPError(.badRequest, "the form needs 'fileid' (the image_unique_id) before 'upload_file'")
                }
                let image = try self.image(reference, user)
                if let id = fields["imageid"], fields["fileid"] != nil, id != String(image.id), id != image.imageUniqueId {
                    throw HTTPError(.badRequest, "imageid \(id) and fileid \(image.imageUniqueId) name different images")
                }
                if let u = fields["userid"], u != String(user.id), !user.role.includes(.administrator) {
                    throw HTTPError(.forbidden, "userid \(u) is not the user '\(user.name)' (\(user.id)) who uploads")
                }
                return image
            }
            do {
                try parser.parse(r.body) { head in
                    closeField()
                    if head.name == "upload_file" || head.name == "file" {
                        guard upload == nil && filePending == nil else { throw HTTPError(.badRequest, "more than one annotation file in the form") }
                        if fields["fileid"] != nil || fields["imageid"] != nil {
                            let image = try resolve()
                            let receiving = try service.beginAnnotation(image, filename: head.filename, userId: user.id)
                            (target, upload) = (image, receiving)
                            return { piece in
                                try receiving.write(piece)
                                if receiving.size > 256 << 20 { throw HTTPError(.contentTooLarge, "an annotation file may have at most 256 MiB") }
                            }
                        }
                        // The ids come after the file: keep it (bounded) until they are known.
                        filePending = (head.filename, [])
                        return { piece in
                            filePending?.data.append(contentsOf: piece)
                            if (filePending?.data.count ?? 0) > 16 << 20 {
                                throw HTTPError(.contentTooLarge, "send 'fileid' before 'upload_file' for annotation files over 16 MiB")
                            }
                        }
                    }
                    guard let name = head.name else { return { _ in } }
                    field = (name, [])
                    return { piece in
                        field?.value.append(contentsOf: piece)
                        if (field?.value.count ?? 0) > 64 * 1024 { throw HTTPError(.badRequest, "form field '\(name)' is too long") }
                    }
                }
                closeField()
                if let pending = filePending {
                    let image = try resolve()
                    let receiving = try service.beginAnnotation(image, filename: pending.name, userId: user.id)
                    (target, upload) = (image, receiving)
                    try pending.data.withUnsafeBytes { try receiving.write($0) }
                }
                guard let upload, let target else { throw HTTPError(.badRequest, "the form has no 'upload_file' part") }
                let stored = PathologyService.annotationRelativePath(upload)
                try upload.commit()
                let base = self.base(r) + "/S3/raw/" + target.imageUniqueId
                return .json(["success": true, "msg": "annotation stored", "size": upload.size,
                              "url": base + "/" + PathologyFiles.predictionXMLName(target.imageUniqueId), "stored": base + "/" + stored],
                             status: .created)
            } catch {
                upload?.discard()
                throw error
            }
        }
    }

    /// The media type from the file's first bytes (uploads) or its extension (results).
    static func contentType(path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "png": return "image/png"
        case "json": return "application/json"
        case "xml": return "application/xml"
        default: break
        }
        guard let h = FileHandle(forReadingAtPath: path), let head = try? h.read(upToCount: 8) else { return "application/octet-stream" }
        try? h.close()
        let b = [UInt8](head)
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if b.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if b.starts(with: [0x49, 0x49, 42, 0]) || b.starts(with: [0x4D, 0x4D, 0, 42]) { return "image/tiff" }
        return "application/octet-stream"
    }

    /// A file as the response body, streamed from disk.
    static func fileResponse(path: String, contentType: String) throws -> HTTPResponse {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? NSNumber else {
            throw HTTPError(.notFound, "the file is gone")
        }
        return .stream(contentType: contentType, length: size.int64Value) { out in
            guard let h = FileHandle(forReadingAtPath: path) else { throw HTTPError(.internalServerError, "cannot read \(path)") }
            defer { try? h.close() }
            while let chunk = try h.read(upToCount: 256 * 1024), !chunk.isEmpty { try out.write(chunk) }
        }
    }
}
