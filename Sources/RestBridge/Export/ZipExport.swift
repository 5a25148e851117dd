import Foundation
import Node

extension SliceboxAPI {
    /// `slicebox-export.zip`: `{pid}_{Name}-{PatientID}/{stid}_{StudyDate}/{seid}_{SeriesDate}_{Modality}/{imageId}.dcm`
    /// (Slicebox's layout, `/` and `\` replaced by `-`), streamed.
    func zipResponse(imageIds: [Int64]) throws -> HTTPResponse {
        node.ingest.settle()
        var entries: [(path: String, name: String)] = []
        var missing = 0
        var folders: [Int64: FlatSeries] = [:]
        for batch in stride(from: 0, to: imageIds.count, by: 500) {
            let ids = Array(imageIds[batch..<min(batch + 500, imageIds.count)])
            for stored in try node.index.storedImages(ids: ids) {
                let seriesId = stored.image.seriesId
                if folders[seriesId] == nil { folders[seriesId] = try node.index.flatSeries(.id(seriesId)).first }
                guard let path = node.store.readablePath(forKey: stored.storageKey), let flat = folders[seriesId] else { missing += 1; continue }
                func clean(_ s: String) -> String { s.replacingOccurrences(of: "/", with: "-").replacingOccurrences(of: "\\", with: "-") }
                let p = flat.patient, st = flat.study, se = flat.series
                let name = clean("\(p.id)_\(p.patientName)-\(p.patientID)") + "/" + clean("\(st.id)_\(st.studyDate)") + "/"
                    + clean("\(se.id)_\(se.seriesDate)_\(se.modality)") + "/\(stored.image.id).dcm"
                entries.append((path, name))
            }
        }
        guard !entries.isEmpty else { throw HTTPError(.notFound, "none of the \(imageIds.count) images of this export set is stored any more") }
        let log = node.log
        return HTTPResponse.stream(contentType: "application/zip") { out in
            let zip = ZipWriter(out)
            for e in entries { try zip.addFile(path: e.path, name: e.name) }
            try zip.finish()
            log.log(.info, "export", "zip sent", ["images": "\(entries.count)", "missing": "\(missing)"])
        }.with("Content-Disposition", "attachment; filename=\"slicebox-export.zip\"")
    }

    /// A stored file as the response body, streamed.
    static func fileResponse(path: String, contentType: String) throws -> HTTPResponse {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? NSNumber else {
            throw HTTPError(.internalServerError, "cannot read \(path)")
        }
        return .stream(contentType: contentType, length: size.int64Value) { out in
            guard let h = FileHandle(forReadingAtPath: path) else { throw HTTPError(.internalServerError, "cannot read \(path)") }
            defer { try? h.close() }
            while let chunk = try h.read(upToCount: 256 * 1024), !chunk.isEmpty { try out.write(chunk) }
        }
    }
}
