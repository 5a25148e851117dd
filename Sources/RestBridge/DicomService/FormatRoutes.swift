import Foundation
import Codec

/// `/api/dicom-format/…` (seed 004 "Endpoints that do not require authentication"): the field
/// names of our data dictionary (PS3.6 keywords) and the Python type pydicom gives each value.
extension DicomServiceAPI {
    /// The DICOM standard is "DICOM 3.0"; the dictionary itself is the PS3.6 edition pydicom 3.0 ships.
    static let dicomVersion = "3.0"

    func addFormatRoutes(_ router: inout Router) {
        router.get("/api/dicom-format/allowed-fields/") { r in
            let filter = try KeywordFilter(r.query)
            let fields = Self.allowedEntries.map(\.keyword).filter(filter.matches)
            return .json(["allowedFields": fields, "dicomVersion": Self.dicomVersion])
        }
        router.get("/api/dicom-format/required-field-type/") { r in
            let filter = try KeywordFilter(r.query)
            var types: [String: String] = [:]
            for e in DataDictionary.allEntries where !e.keyword.isEmpty && filter.matches(e.keyword) { types[e.keyword] = Self.pythonType(e.vrs) }
            return .json(["requiredFieldTypes": types, "dicomVersion": Self.dicomVersion])
        }
    }

    /// Keywords usable in a data set: not the command (0000), file meta (0002) or item (FFFE)
    /// groups, which the service sets itself.
    static let allowedEntries: [DictionaryEntry] = DataDictionary.allEntries.filter {
        !$0.keyword.isEmpty && ![0x0000, 0x0002, 0xFFFE].contains($0.tag.group)
    }

    /// The type of a value as pydicom returns it (pydicom.valuerep: IS → int, DS → float, PN →
    /// PersonName, SQ → Sequence, binary VRs → bytes); "" for entries without a VR (items).
    static func pythonType(_ vrs: [VR]) -> String {
        var names: [String] = []
        for vr in vrs {
            let n: String
            switch vr {
            case .US, .SS, .UL, .SL, .UV, .SV, .IS, .AT: n = "int"
            case .FL, .FD, .DS: n = "float"
            case .PN: n = "PersonName"
            case .SQ: n = "Sequence"
            case .OB, .OD, .OF, .OL, .OV, .OW, .UN: n = "bytes"
            default: n = "str"
            }
            if !names.contains(n) { names.append(n) }
        }
        return names.joined(separator: " or ")
    }
}

/// `fields__contains`, `fields__startswith`, `fields__endswith`, `fields__regex` (Django lookups:
/// case-sensitive; the regex is searched, not anchored). Several filters must all match.
struct KeywordFilter {
    var contains: String?
    var prefix: String?
    var suffix: String?
    var regex: NSRegularExpression?

    init(_ query: Parameters) throws {
        contains = query["fields__contains"]
        prefix = query["fields__startswith"]
        suffix = query["fields__endswith"]
        if let pattern = query["fields__regex"] {
            guard pattern.utf8.count <= 200 else { throw HTTPError(.badRequest, "fields__regex: at most 200 characters") }
            do { regex = try NSRegularExpression(pattern: pattern) } catch {
                throw HTTPError(.badRequest, "fields__regex: '\(pattern)' is not a valid regular expression")
            }
        }
        let known: Set<String> = ["fields__contains", "fields__startswith", "fields__endswith", "fields__regex"]
        if let unknown = query.items.first(where: { !known.contains($0.name) }) {
            throw HTTPError(.badRequest, "unknown query parameter '\(unknown.name)' (use \(known.sorted().joined(separator: ", ")))")
        }
    }

    func matches(_ keyword: String) -> Bool {
        if let contains, !contains.isEmpty, !keyword.contains(contains) { return false }
        if let prefix, !keyword.hasPrefix(prefix) { return false }
        if let suffix, !keyword.hasSuffix(suffix) { return false }
        if let regex, regex.firstMatch(in: keyword, range: NSRange(keyword.startIndex..., in: keyword)) == nil { return false }
        return true
    }
}
