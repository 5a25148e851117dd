import Foundation
import Codec
import Node

/// `POST /api/dicom/generate/` (seed 004 "DICOM File Generation and Download"): `file_name`, an
/// `image` (PNG or JPEG) and any PS3.6 keyword as a field → a Secondary Capture file to download.
extension DicomServiceAPI {
    func addGenerateRoute(_ router: inout Router) {
        router.post("/api/dicom/generate/") { r in
            let account = try self.developer(r, allowKey: true)
            try self.requireProfile(account)
            let parts = try self.form(r)
            guard let nameField = parts.first(where: { $0.name == "file_name" }) else { throw HTTPError(.badRequest, "file_name: required") }
            let fileName = try Self.safeFileName(nameField.text)
            guard let image = parts.first(where: { $0.name == "image" }) else { throw HTTPError(.badRequest, "image: required (a PNG or JPEG file)") }
            guard !image.body.isEmpty else { throw HTTPError(.badRequest, "image: the file is empty") }
            var fields: [(tag: Tag, vr: VR, value: String)] = []
            var seen = Set<String>()
            for part in parts where part.name != "file_name" && part.name != "image" {
                guard let name = part.name, !name.isEmpty else { throw HTTPError(.badRequest, "a form part has no name") }
                guard seen.insert(name).inserted else { throw HTTPError(.badRequest, "\(name): given twice") }
                fields.append(try Self.metadataField(name, part.text))
            }
            let pixels: GeneratedImage.Pixels
            do {
                if image.body.starts(with: [0xFF, 0xD8, 0xFF]) {
                    pixels = try GeneratedImage.fromJPEG(image.body)
                } else if image.body.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
                    pixels = try GeneratedImage.fromPNG(image.body)
                } else {
                    throw HTTPError(.unsupportedMediaType, "image: only PNG and JPEG images are supported")
                }
            } catch let e as GeneratedImage.Unsupported {
                throw HTTPError(.unsupportedMediaType, "image: \(e.message)")
            } catch let e as GeneratedImage.Corrupt {
                throw HTTPError(.badRequest, "image: \(e.message)")
            } catch let e as PNGError {
                throw HTTPError(.badRequest, "image: \(e)")
            }
            let file: DicomFile
            do { file = try GeneratedImage.build(pixels, fields: fields) } catch let e as CodecError {
                throw HTTPError(.badRequest, "a metadata field cannot be encoded: \(e)")
            }
            let bytes = try file.encoded()
            self.node.log.log(.info, "developer", "DICOM generated", ["account": "\(account.id)", "bytes": "\(bytes.count)",
                                                                      "syntax": file.transferSyntax.uid])
            return HTTPResponse.bytes(bytes, contentType: "application/dicom")
                .with("Content-Disposition", "attachment; filename=\"\(fileName).dcm\"")
        }
    }

    /// A form field naming a PS3.6 keyword, checked against its VR; 400 saying what is wrong.
    static func metadataField(_ keyword: String, _ raw: String) throws -> (tag: Tag, vr: VR, value: String) {
        guard let entry = DataDictionary.entry(forKeyword: keyword) else {
            throw HTTPError(.badRequest, "\(keyword): not a DICOM keyword (see /api/dicom-format/allowed-fields/)")
        }
        guard entry.repeatMask == 0xFFFF_FFFF else { throw HTTPError(.badRequest, "\(keyword): repeating-group attributes cannot be given") }
        guard !GeneratedImage.isReserved(entry.tag) else {
            throw HTTPError(.badRequest, "\(keyword): set by the service from the image (\(entry.tag)); it cannot be given")
        }
        let vr = entry.vr
        guard vr.isString || [.US, .SS, .UL, .SL, .UV, .SV, .FL, .FD, .AT].contains(vr) else {
            throw HTTPError(.badRequest, "\(keyword): a \(vr == .SQ ? "sequence" : "binary (\(vr))") attribute cannot be given as text")
        }
        let value = raw.trimmingCharacters(in: vr.isSingleValuedText ? .newlines : .whitespacesAndNewlines)
        if value.isEmpty && GeneratedImage.required.contains(entry.tag) { throw HTTPError(.badRequest, "\(keyword): must not be empty (Type 1)") }
        if let problem = DicomValueRules.problem(value, vr: vr) { throw HTTPError(.badRequest, "\(keyword): \(problem)") }
        do {
            _ = try DataElement(tag: entry.tag, vr: vr, strings: value.isEmpty ? [] : (vr.isSingleValuedText ? [value] : value.components(separatedBy: "\\")),
                                characterSet: SpecificCharacterSet(terms: ["ISO_IR 192"]))
        } catch {
            throw HTTPError(.badRequest, "\(keyword): '\(value)' is not a valid \(vr) value: \(error)")
        }
        return (entry.tag, vr, value)
    }

    /// The download's name: the last path component, letters, digits, `.`, `-`, `_` and spaces
    /// kept, others replaced by `_` (it goes into a header), 1–100 characters.
    static func safeFileName(_ raw: String) throws -> String {
        var name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if let slash = name.lastIndex(where: { $0 == "/" || $0 == "\\" }) { name = String(name[name.index(after: slash)...]) }
        if name.lowercased().hasSuffix(".dcm") { name = String(name.dropLast(4)) }
        let cleaned = String(name.unicodeScalars.map { s -> Character in
            s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || "._- ".unicodeScalars.contains(s)) ? Character(s) : "_"
        })
        guard !cleaned.isEmpty, cleaned.count <= 100, cleaned.contains(where: { $0 != "." && $0 != " " }) else {
            throw HTTPError(.badRequest, "file_name: give a name of 1 to 100 characters (without extension)")
        }
        return cleaned
    }
}
