import Foundation

/// The DICOM JSON Model (PS3.18 F.2): `{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "..."}]}}`.
/// Produces Foundation objects for JSONSerialization.
public enum JSONModel {
    /// Values longer than this many bytes are left out (with "BulkDataURI" unset); nil: inline all.
    public static func object(_ ds: DataSet, inlineBinaryLimit: Int? = nil) -> [String: Any] {
        var out: [String: Any] = [:]
        for e in ds.elements {
            out[e.tag.hexString] = attribute(e, ds, inlineBinaryLimit)
        }
        return out
    }

    public static func data(_ ds: DataSet, pretty: Bool = false) throws -> Data {
        var opts: JSONSerialization.WritingOptions = [.sortedKeys]
        if pretty { opts.insert(.prettyPrinted) }
        return try JSONSerialization.data(withJSONObject: object(ds), options: opts)
    }

    static func attribute(_ e: DataElement, _ ds: DataSet, _ limit: Int?) -> [String: Any] {
        var a: [String: Any] = ["vr": e.vr.description]
        switch e.value {
        case .sequence(let items):
            a["vr"] = "SQ"
            if !items.isEmpty { a["Value"] = items.map { object($0, inlineBinaryLimit: limit) } }
            return a
        case .encapsulated(let px):
            // The encapsulated value as it is on the wire: items, without the sequence delimiter.
            var raw: [UInt8] = []
            for frag in [px.offsetTable] + px.fragments {
                raw.appendLE(UInt16(0xFFFE)); raw.appendLE(UInt16(0xE000)); raw.appendLE(UInt32(frag.count))
                raw += frag
            }
            a["InlineBinary"] = Data(raw).base64EncodedString()
            return a
        case .bytes, .deferred:
            break
        }
        if e.isEmpty { return a }
        switch e.vr {
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN:
            if let limit, e.valueLength > limit { return a }
            a["InlineBinary"] = Data(e.bytes).base64EncodedString()
        case .PN:
            let names = e.strings(characterSet: ds.characterSet)
            a["Value"] = names.map { name -> Any in
                if name.isEmpty { return NSNull() }
                let groups = name.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
                var pn: [String: Any] = [:]
                for (key, value) in zip(["Alphabetic", "Ideographic", "Phonetic"], groups) where !value.isEmpty {
                    pn[key] = value
                }
                return pn
            }
        case .AT:
            a["Value"] = e.tagValues().map(\.hexString)
        case .US, .SS, .UL, .SL, .UV, .SV:
            a["Value"] = e.integers().map { e.vr == .UV ? NSNumber(value: UInt64(bitPattern: $0)) : NSNumber(value: $0) }
        case .FL, .FD:
            a["Value"] = e.doubles().map { d -> Any in d.isFinite ? NSNumber(value: d) : String(d) }
        case .IS, .DS:
            a["Value"] = e.strings().map { s -> Any in
                if s.isEmpty { return NSNull() }
                if e.vr == .IS, let i = NumericString.integer(Substring(s)) { return NSNumber(value: i) }
                if let d = NumericString.decimal(Substring(s)) { return NSNumber(value: d) }
                return s
            }
        default:
            a["Value"] = e.strings(characterSet: ds.characterSet).map { s -> Any in s.isEmpty ? NSNull() : s }
        }
        return a
    }
}
