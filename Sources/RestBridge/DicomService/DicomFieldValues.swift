import Foundation
import Codec

/// The fields of a data set as `read/file` answers them (seed 004's example): keyword → the value
/// as pydicom prints it (`str(value)`): one value as itself, several as a list
/// (`"[20, 53, 77]"`, `"['ORIGINAL', 'PRIMARY']"`), tags as `(gggg,eeee)`. Sequences become
/// arrays of objects of the same shape, binary values (OB, OW, UN, …) base64. Elements without a
/// keyword of their own (private ones, repeating groups beyond the first such as 6002) are keyed by their tag. Group lengths are left out, as is the file meta
/// group (pydicom keeps it apart in `file_meta`).
enum DicomFieldValues {
    /// Every element except the pixel data (whose frames come as images).
    static func all(_ ds: DataSet) -> [String: Any] {
        var out: [String: Any] = [:]
        for e in ds.elements where !e.tag.isGroupLength && e.tag.group != 0x0002 && !isPixelData(e.tag) {
            out[key(e.tag)] = value(e, ds.characterSet)
        }
        return out
    }

    /// The requested fields (PS3.6 keywords); a field the data set lacks is null.
    static func selected(_ ds: DataSet, _ fields: [(keyword: String, tag: Tag)]) -> [String: Any] {
        var out: [String: Any] = [:]
        for f in fields { out[f.keyword] = ds[f.tag].map { value($0, ds.characterSet) } ?? NSNull() }
        return out
    }

    static func isPixelData(_ t: Tag) -> Bool { t == .pixelData || t == Tag(0x7FE0_0008) || t == Tag(0x7FE0_0009) }

    static func key(_ tag: Tag) -> String {
        if let e = DataDictionary.entry(for: tag), !e.keyword.isEmpty, e.keyword != "PrivateCreator", e.keyword != "GroupLength", e.tag == tag {
            return e.keyword
        }
        return tag.description
    }

    static func value(_ e: DataElement, _ cs: SpecificCharacterSet) -> Any {
        switch e.value {
        case .sequence(let items):
            return items.map { item -> [String: Any] in
                var o: [String: Any] = [:]
                for x in item.elements where !x.tag.isGroupLength { o[key(x.tag)] = value(x, item.characterSet) }
                return o
            }
        case .encapsulated(let pixels):
            return pixels.fragments.map { Data($0).base64EncodedString() }
        case .bytes, .deferred:
            break
        }
        switch e.vr {
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN:
            return Data(e.bytes).base64EncodedString()
        default:
            let values = e.strings(characterSet: cs)
            if values.count == 1 { return values[0] }
            if values.isEmpty { return "" }
            let quoted = ![.US, .SS, .UL, .SL, .UV, .SV, .FL, .FD, .IS, .DS, .AT].contains(e.vr)
            return "[" + values.map { quoted ? "'" + $0.replacingOccurrences(of: "'", with: "\\'") + "'" : $0 }.joined(separator: ", ") + "]"
        }
    }
}
