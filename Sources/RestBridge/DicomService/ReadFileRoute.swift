import Foundation
import Codec
import Node

/// `POST /api/dicom/read/file/` (seed 004 "DICOM File Upload and Image Retrieval"): a `.dcm` file
/// or a `.zip` of them; answers each file's fields and every frame as an image. A `.dcm` answers
/// one object; a `.zip` an array with one object per entry (with `FileName`, and `error` for an
/// entry that is not DICOM). Each call counts against the developer's monthly quota.
extension DicomServiceAPI {
    func addReadFileRoute(_ router: inout Router) {
        router.post(Self.readEndpoint) { r in
            let account = try self.developer(r, allowKey: true)
            try self.requireProfile(account)
            // Counted before the work, as the seed's 429 body shows (`requests_used` past `quota`).
            let used = try self.developers.countRequest(accountId: account.id, endpoint: Self.readEndpoint)
            let quota = self.settings.monthlyReadQuota
            if used > quota {
                return HTTPResponse.json(["error": "Monthly API request for '\(Self.readEndpoint)' limit exceeded.", "quota": quota, "requests_used": used],
                                         status: .tooManyRequests)
                    .with("Retry-After", "\(Self.secondsToNextMonth(Date()))")
            }
            let parts = try self.form(r)
            guard let file = parts.first(where: { $0.name == "file" }) else { throw HTTPError(.badRequest, "file: the form has no 'file' part") }
            let fields = try Self.requestedFields(parts.first { $0.name == "fields" }?.text)
            var format = ImageOutputFormat.png
            if let f = parts.first(where: { $0.name == "return_format" })?.text.trimmingCharacters(in: .whitespacesAndNewlines), !f.isEmpty {
                guard let chosen = ImageOutputFormat(parameter: f) else {
                    throw HTTPError(.badRequest, "return_format: '\(f)' is not one of gif, png, jpeg")
                }
                format = chosen
            }
            let kind = try Self.uploadKind(file)
            if kind == "zip" {
                let zip: ZipReader
                do { zip = try ZipReader(file.body) } catch { throw HTTPError(.badRequest, "file: not a readable ZIP archive: \(error)") }
                var results: [[String: Any]] = []
                var budget = self.settings.maxUnzippedBytes
                for entry in zip.entries where !entry.isDirectory && !Self.isArchiveClutter(entry.name) {
                    var result: [String: Any] = ["FileName": entry.name]
                    do {
                        let bytes = try zip.extract(entry, limit: budget)
                        budget -= bytes.count
                        result.merge(try Self.read(bytes, fields: fields, format: format)) { _, new in new }
                    } catch let e as ZipReader.ZipError {
                        result["error"] = "cannot extract: \(e)"
                    } catch let e as HTTPError {
                        result["error"] = e.message
                    }
                    results.append(result)
                }
                guard results.contains(where: { $0["error"] == nil }) else {
                    throw HTTPError(.badRequest, "file: the ZIP archive holds no readable DICOM file" +
                                    (results.isEmpty ? "" : " (\(results.compactMap { "\($0["FileName"]!): \($0["error"]!)" }.prefix(3).joined(separator: "; ")))"))
                }
                return .json(results)
            }
            return .json(try Self.read(file.body, fields: fields, format: format))
        }
    }

    /// Until the quota resets: the start of the next calendar month, UTC (RFC 9110 10.2.3).
    static func secondsToNextMonth(_ now: Date) -> Int {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let month = utc.dateInterval(of: .month, for: now)!
        return max(1, Int(month.end.timeIntervalSince(now).rounded(.up)))
    }

    /// One file's answer; 400 when it is not DICOM.
    static func read(_ bytes: [UInt8], fields: [(keyword: String, tag: Tag)]?, format: ImageOutputFormat) throws -> [String: Any] {
        let file: DicomFile
        do { file = try DicomFile.read(bytes: bytes) } catch { throw HTTPError(.badRequest, "not a DICOM file: \(error)") }
        // A bare data set parses from many byte strings; without a Part 10 header, insist on the
        // SOP Common attributes every composite instance has (PS3.3 C.12.1).
        guard file.hasPart10Header || file.dataSet.contains(.sopClassUID) || file.dataSet.contains(.sopInstanceUID) else {
            throw HTTPError(.badRequest, "not a DICOM file: no Part 10 header and no SOP Class or Instance UID")
        }
        var out = fields.map { DicomFieldValues.selected(file.dataSet, $0) } ?? DicomFieldValues.all(file.dataSet)
        let (images, error) = FrameImages.render(file, as: format)
        out["ImageFormat"] = format.label
        out["Images"] = images
        if let error { out["ImageError"] = error }
        return out
    }

    /// `fields`: comma-separated PS3.6 keywords; nil (all fields) when absent or empty.
    static func requestedFields(_ text: String?) throws -> [(keyword: String, tag: Tag)]? {
        guard let text else { return nil }
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { return nil }
        var out: [(keyword: String, tag: Tag)] = []
        var unknown: [String] = []
        for n in names {
            if let e = DataDictionary.entry(forKeyword: n) { out.append((n, e.tag)) } else { unknown.append(n) }
        }
        guard unknown.isEmpty else {
            throw HTTPError(.badRequest, "fields: unknown DICOM keyword\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) (see /api/dicom-format/allowed-fields/)")
        }
        return out
    }

    /// "dcm" or "zip": by the file name's extension (the seed allows `.dcm`, `.DCM`, `.zip`), or
    /// by content when the part has no file name.
    static func uploadKind(_ part: MultipartPart) throws -> String {
        if let name = part.filename, let dot = name.lastIndex(of: ".") {
            let ext = name[name.index(after: dot)...].lowercased()
            if ext == "dcm" || ext == "dicom" { return "dcm" }
            if ext == "zip" { return "zip" }
            throw HTTPError(.badRequest, "file: '\(name)' is neither a .dcm nor a .zip file")
        }
        return ZipReader.looksLikeZip(part.body) ? "zip" : "dcm"
    }

    /// Entries archivers add that are not the user's files (macOS resource forks, Finder data).
    static func isArchiveClutter(_ name: String) -> Bool {
        name.hasPrefix("__MACOSX/") || name.split(separator: "/").last.map { $0.hasPrefix("._") || $0 == ".DS_Store" } ?? false
    }
}
