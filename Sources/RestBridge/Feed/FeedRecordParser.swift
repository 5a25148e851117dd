import Foundation
import Node

/// Checks a `POST /feed/api/images` body (seed 000) value by value and turns it into patches.
/// The first bad value answers 400 naming it (`[1].mri_image.whole_tumor`); unknown fields are
/// refused too, so a misspelt name is not silently dropped. `null` means "not given": it leaves
/// the stored value as it is (the seed's example sends `"scanning_date": null` beside known data).
enum FeedRecordParser {
    static let recordFields: Set<String> = ["id", "donor_id", "scanning_date", "scanning_day", "mri_image", "analysis"]
    static let analysisFields: Set<String> = ["id", "type", "parameters", "features"]
    static let maxText = 256
    static let maxValueText = 65_536

    static func parse(_ body: JSONValue) throws -> [FeedImagePatch] {
        guard let records = body.array else {
            throw FeedFieldError(field: "", message: "the body must be a JSON array of image records, not \(body.kind)")
        }
        return try records.enumerated().map { try record($1, at: "[\($0)]") }
    }

    static func record(_ value: JSONValue, at path: String) throws -> FeedImagePatch {
        guard let o = value.object else { throw FeedFieldError(field: path, message: "an image record must be an object, not \(value.kind)") }
        try checkKeys(o, recordFields, at: path)
        var patch = FeedImagePatch(id: try identifier(o["id"], at: path + ".id"))
        patch.donorId = try optionalText(o["donor_id"], at: path + ".donor_id")
        if let date = try optionalText(o["scanning_date"], at: path + ".scanning_date") {
            guard isISODate(date) else {
                throw FeedFieldError(field: path + ".scanning_date", message: "'\(date)' is not an ISO 8601 date (YYYY-MM-DD, optionally with a time)")
            }
            patch.scanningDate = date
        }
        switch o["scanning_day"] {
        case nil, .null?: break
        case .integer(let d)?: patch.scanningDay = d
        case let other?: throw FeedFieldError(field: path + ".scanning_day", message: "must be an integer (days), not \(describe(other))")
        }
        switch o["mri_image"] {
        case nil, .null?: break
        case .object(let m)?:
            try checkKeys(m, Set(FeedMRI.fields), at: path + ".mri_image")
            for (name, v) in m {
                switch v {
                case .null: continue
                case .integer(let i): patch.mri[name] = Double(i)
                case .number(let d) where d.isFinite: patch.mri[name] = d
                default: throw FeedFieldError(field: path + ".mri_image." + name, message: "must be a number, not \(describe(v))")
                }
            }
        case let other?: throw FeedFieldError(field: path + ".mri_image", message: "must be an object of measurements, not \(other.kind)")
        }
        switch o["analysis"] {
        case nil, .null?: break
        case .object(let a)?: patch.analysis = try analysis(a, at: path + ".analysis")
        case let other?: throw FeedFieldError(field: path + ".analysis", message: "must be an object, not \(other.kind)")
        }
        return patch
    }

    static func analysis(_ a: [String: JSONValue], at path: String) throws -> FeedAnalysisPatch {
        try checkKeys(a, analysisFields, at: path)
        var patch = FeedAnalysisPatch(id: try identifier(a["id"], at: path + ".id"))
        patch.type = try optionalText(a["type"], at: path + ".type")
        patch.parameters = try map(a["parameters"], at: path + ".parameters")
        patch.features = try map(a["features"], at: path + ".features")
        return patch
    }

    /// A free key/value map: strings, numbers or booleans; null entries are skipped.
    static func map(_ value: JSONValue?, at path: String) throws -> [String: FeedValue] {
        switch value {
        case nil, .null?: return [:]
        case .object(let o)?:
            var out: [String: FeedValue] = [:]
            for (key, v) in o {
                let field = path + "." + key
                guard !key.isEmpty, key.utf8.count <= maxText else { throw FeedFieldError(field: field, message: "keys must be 1–\(maxText) bytes") }
                switch v {
                case .null: continue
                case .string(let s):
                    guard s.utf8.count <= maxValueText else { throw FeedFieldError(field: field, message: "longer than \(maxValueText) bytes") }
                    out[key] = .string(s)
                case .integer(let i): out[key] = .integer(i)
                case .number(let d) where d.isFinite: out[key] = .number(d)
                case .bool(let b): out[key] = .bool(b)
                default: throw FeedFieldError(field: field, message: "must be a string, number or boolean, not \(v.kind)")
                }
            }
            return out
        case let other?:
            throw FeedFieldError(field: path, message: "must be an object of key/value pairs, not \(other.kind)")
        }
    }

    static func identifier(_ value: JSONValue?, at path: String) throws -> String {
        guard let value, !value.isNull else { throw FeedFieldError(field: path, message: "is required") }
        guard let s = value.string else { throw FeedFieldError(field: path, message: "must be a string, not \(value.kind)") }
        try checkText(s, at: path)
        return s
    }

    static func optionalText(_ value: JSONValue?, at path: String) throws -> String? {
        guard let value, !value.isNull else { return nil }
        guard let s = value.string else { throw FeedFieldError(field: path, message: "must be a string, not \(value.kind)") }
        try checkText(s, at: path)
        return s
    }

    static func checkText(_ s: String, at path: String) throws {
        guard !s.trimmingCharacters(in: .whitespaces).isEmpty, s.utf8.count <= maxText else {
            throw FeedFieldError(field: path, message: "must be 1–\(maxText) bytes and not blank")
        }
        guard !s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw FeedFieldError(field: path, message: "must not contain control characters")
        }
    }

    static func checkKeys(_ o: [String: JSONValue], _ allowed: Set<String>, at path: String) throws {
        if let unknown = o.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw FeedFieldError(field: path + "." + unknown, message: "unknown field (expected one of \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .number(let d): return "\(d)"
        case .string(let s): return "the string \"\(s.prefix(40))\""
        default: return v.kind
        }
    }

    /// `YYYY-MM-DD`, optionally followed by `THH:MM[:SS[.fff]]` and `Z` or an offset (ISO 8601 /
    /// RFC 3339), with a real calendar date.
    static func isISODate(_ s: String) -> Bool {
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})([T ](\d{2}):(\d{2})(:(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$"#
        guard let re = try? NSRegularExpression(pattern: pattern),
              let m = re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) else { return false }
        func group(_ i: Int) -> Int? {
            guard let r = Range(m.range(at: i), in: s) else { return nil }
            return Int(s[r])
        }
        guard let y = group(1), let mo = group(2), let d = group(3), (1...12).contains(mo), d >= 1 else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
        guard d <= days else { return false }
        if let h = group(5), let mi = group(6) {
            guard h < 24, mi < 60 else { return false }
            if let sec = group(8), sec > 60 { return false }
        }
        return true
    }
}
