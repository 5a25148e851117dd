import Foundation
import Codec

// Series types as seed 003 names them (`seriestype`, `seriestyperule`, `seriestyperuleattribute`,
// `seriestypeupdatestatus`, `seriesidseriestype`).

public struct SeriesType: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    public init(id: Int64, name: String) { self.id = id; self.name = name }
}

/// A rule labels a series with its type when all of its attributes match (none: always).
public struct SeriesTypeRule: Sendable, Equatable, Codable {
    public var id: Int64
    public var seriesTypeId: Int64
    public init(id: Int64, seriesTypeId: Int64) { self.id = id; self.seriesTypeId = seriesTypeId }
}

/// One condition of a rule: the element at `path` has exactly `values` (its values joined with ",").
/// Fields as Slicebox stores them (`tag`, `name`, `tagPath`, `namePath`, `values`); the seed's older
/// names (`group`, `element`, `path`, `value`) are views of the same data.
public struct SeriesTypeRuleAttribute: Sendable, Equatable {
    public var id: Int64
    public var seriesTypeRuleId: Int64
    /// group << 16 | element of the element compared (the last step of `elementPath`).
    public var tag: Int
    /// Its PS3.6 keyword, or its tag text for private and unknown elements.
    public var name: String
    /// The element's whole path, `(0010,1002)[0].(0010,0020)`, when it lies inside a sequence;
    /// nil for a top-level element. Items are zero-based; `[*]` means any item.
    public var tagPath: String?
    /// `tagPath` with keywords: `OtherPatientIDsSequence[0].PatientID`.
    public var namePath: String?
    public var values: String
    /// Where the compared element is (the seed's `path` string is `tagPath`).
    public var elementPath: TagPath

    public var group: Int { tag >> 16 }
    public var element: Int { tag & 0xFFFF }
    public var value: String { values }

    /// The element a rule attribute names, from whichever fields a client sent:
    /// - `tagPath` in the tag path syntax (`(0010,1002)[0].(0010,0020)`, keywords allowed), the whole
    ///   path to the element; or Slicebox's form, the decimal tags of the enclosing sequences
    ///   separated by commas (`1052674`), each entered at its first item, with `tag` the element;
    /// - else `namePath` in the tag path syntax;
    /// - else `tag` (group << 16 | element) or `name` (a keyword) for a top-level element.
    public static func resolvePath(tag: Int?, name: String?, tagPath: String?, namePath: String?) throws -> TagPath {
        let tagValue = try tag.map { t -> Tag in
            guard t > 0, t <= Int(UInt32.max) else { throw NodeError.badRequest("tag \(t) is not a DICOM tag (group << 16 | element)") }
            return Tag(UInt32(t))
        }
        let named = name.flatMap { $0.isEmpty ? nil : $0 }
        let nameTag = try named.map { n -> Tag in
            guard let t = Tag(parsing: n) else { throw NodeError.badRequest("'\(n)' is not a DICOM keyword or tag") }
            return t
        }
        if let tagValue, let nameTag, tagValue != nameTag {
            throw NodeError.badRequest("tag \(tagValue) and name '\(named!)' name different elements")
        }
        let element = tagValue ?? nameTag
        if let text = tagPath.flatMap({ $0.isEmpty ? nil : $0 }) ?? namePath.flatMap({ $0.isEmpty ? nil : $0 }) {
            if text.allSatisfy({ $0.isASCII && $0.isNumber || $0 == "," || $0 == " " }) {
                // Slicebox: the sequences above `tag`, first item of each (a path in our syntax
                // that reaches into a sequence always has a `[`).
                guard let element else { throw NodeError.badRequest("a tagPath of sequence tags needs the element's tag or name") }
                var sequences: [(Tag, TagPath.ItemSelector)] = []
                for part in text.split(separator: ",") {
                    guard let v = UInt32(part.trimmingCharacters(in: .whitespaces)) else {
                        throw NodeError.badRequest("tagPath '\(text)': '\(part)' is not a decimal tag")
                    }
                    sequences.append((Tag(v), .index(0)))
                }
                return TagPath(sequences: sequences, tag: element)
            }
            let path: TagPath
            do { path = try TagPath(parsing: text) } catch { throw NodeError.badRequest("\(error)") }
            guard path.last.isExact, !path.prefixSteps.contains(where: { !$0.isExact }) else {
                throw NodeError.badRequest("tag path '\(text)': a rule compares one element; x wildcards in tags are not allowed")
            }
            if let element, element != path.last.tag {
                throw NodeError.badRequest("tag path '\(text)' ends in \(path.last.tag), not in the attribute's element \(element)")
            }
            return path
        }
        guard let element else { throw NodeError.badRequest("a rule attribute needs a tag, name, tagPath or namePath") }
        return TagPath(element)
    }

    /// The stored fields of an attribute at `path`.
    init(id: Int64, seriesTypeRuleId: Int64, path: TagPath, values: String) {
        self.id = id
        self.seriesTypeRuleId = seriesTypeRuleId
        elementPath = path
        self.values = values
        tag = Int(path.last.tag.value)
        name = TagPathNames.name(of: path.last.tag)
        tagPath = path.depth == 0 ? nil : path.description
        namePath = path.depth == 0 ? nil : TagPathNames.names(of: path)
    }
}

/// Seed 003 `seriestypeupdatestatus`: whether series are being relabelled after a change of rules.
public struct SeriesTypeUpdateStatus: Sendable, Equatable, Codable {
    public var running: Bool
    public init(running: Bool) { self.running = running }
}

/// Seed 003 `seriesidseriestype`, an item of `seriesidseriestypesresult.seriesidseriestypes`.
public struct SeriesIdSeriesType: Sendable, Equatable, Codable {
    public var seriesid: Int64
    public var seriestype: SeriesType
    public init(seriesid: Int64, seriestype: SeriesType) { self.seriesid = seriesid; self.seriestype = seriestype }
}

/// Keyword spellings of tags and paths (for `name` and `namePath`).
enum TagPathNames {
    static func name(of tag: Tag) -> String {
        if let e = DataDictionary.entry(for: tag), e.tag == tag, !e.keyword.isEmpty, e.keyword != "PrivateCreator" { return e.keyword }
        return tag.description
    }

    /// Keywords where the tags are exact; a path with x wildcards in a tag keeps its tag text.
    static func names(of path: TagPath) -> String {
        guard path.last.isExact, path.prefixSteps.allSatisfy(\.isExact) else { return path.description }
        var s = ""
        for (step, item) in zip(path.prefixSteps, path.items) {
            s += name(of: step.tag)
            switch item { case .index(let n): s += "[\(n)]"; case .any: s += "[*]" }
            s += "."
        }
        return s + name(of: path.last.tag)
    }
}
