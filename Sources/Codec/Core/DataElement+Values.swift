// Typed views of element values (PS3.5 6.2) and constructors from typed values.

extension DataElement {
    /// String values decoded with `characterSet`, split on backslash (except LT, ST, UT, UR) and
    /// trimmed of padding: trailing spaces and NULs always, leading spaces where insignificant.
    /// Binary VRs give their numbers as text; AT gives `(gggg,eeee)`.
    public func strings(characterSet: SpecificCharacterSet = .default) -> [String] {
        switch vr {
        case .SQ: return []
        case .AT: return tagValues().map(\.description)
        case .US, .SS, .UL, .SL, .UV, .SV: return integers().map { String($0) }
        case .FL, .FD: return doubles().map { String($0) }
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN: return []
        default: break
        }
        let b = bytes
        guard !b.isEmpty else { return [] }
        let text = b.withUnsafeBytes { characterSet.decode($0, vr: vr) }
        // Split on the byte: a backslash (0x5C) never occurs inside a multi-byte UTF-8 sequence,
        // and byte splitting is several times cheaper than splitting on Characters.
        let parts: [Substring] = vr.isSingleValuedText ? [Substring(text)]
            : text.utf8.split(separator: 0x5C, omittingEmptySubsequences: false).map { Substring($0) }
        let keepLeading = vr == .LT || vr == .ST || vr == .UT
        return parts.map { DataElement.trim($0, leading: !keepLeading) }
    }

    /// Values of a string element decoded as ASCII/Latin-1 without a character set (for (0008,0005) itself).
    public func rawStrings() -> [String] {
        let b = bytes
        guard !b.isEmpty else { return [] }
        let text = String(decoding: b, as: UTF8.self)
        return text.split(separator: "\\", omittingEmptySubsequences: false).map { DataElement.trim($0, leading: true) }
    }

    static func trim(_ s: Substring, leading: Bool) -> String {
        var u = s.utf8[...]
        while let last = u.last, last == 0x20 || last == 0 { u = u.dropLast() }
        if leading { while let first = u.first, first == 0x20 { u = u.dropFirst() } }
        return String(Substring(u))
    }

    /// Integer values: binary integer VRs, IS, and whole-number DS.
    public func integers() -> [Int64] {
        let b = bytes
        return b.withUnsafeBytes { raw -> [Int64] in
            func load<T: FixedWidthInteger>(_: T.Type) -> [Int64] {
                let size = MemoryLayout<T>.size
                return (0..<raw.count / size).map { Int64(truncatingIfNeeded: T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self))) }
            }
            switch vr {
            case .US, .OW: return load(UInt16.self)
            case .SS: return load(Int16.self)
            case .UL, .OL: return load(UInt32.self)
            case .SL: return load(Int32.self)
            case .UV, .OV: return load(UInt64.self)
            case .SV: return load(Int64.self)
            case .OB, .UN: return raw.map { Int64($0) }
            case .IS, .DS:
                return strings().compactMap { s in
                    if let i = NumericString.integer(Substring(s)) { return i }
                    if let d = NumericString.decimal(Substring(s)), d.rounded() == d, abs(d) < 9.2e18 { return Int64(d) }
                    return nil
                }
            default: return []
            }
        }
    }

    /// Floating-point values: FL, FD, OF, OD, DS, IS, and the integer VRs converted.
    public func doubles() -> [Double] {
        switch vr {
        case .FL, .OF:
            return bytes.withUnsafeBytes { raw in
                (0..<raw.count / 4).map { Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))) }
            }
        case .FD, .OD:
            return bytes.withUnsafeBytes { raw in
                (0..<raw.count / 8).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
            }
        case .DS, .IS:
            return strings().compactMap { NumericString.decimal(Substring($0)) }
        case .UV:
            return integers().map { Double(UInt64(bitPattern: $0)) }
        default:
            return integers().map { Double($0) }
        }
    }

    /// AT values (PS3.5 6.2: group then element, each 16-bit).
    public func tagValues() -> [Tag] {
        bytes.withUnsafeBytes { raw in
            (0..<raw.count / 4).map {
                Tag(group: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt16.self)),
                    element: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4 + 2, as: UInt16.self)))
            }
        }
    }

    /// Value multiplicity as stored (PS3.5 6.4).
    public var valueMultiplicity: Int {
        switch vr {
        case .SQ: return items?.count ?? 0
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN: return isEmpty ? 0 : 1
        case .LT, .ST, .UT, .UR: return isEmpty ? 0 : 1
        case .AT, .US, .SS, .UL, .SL, .UV, .SV, .FL, .FD:
            return max(valueLength, 0) / vr.unitSize / (vr == .AT ? 2 : 1)
        default:
            let b = bytes
            if b.isEmpty { return 0 }
            return b.reduce(1) { $1 == 0x5C ? $0 + 1 : $0 }
        }
    }

    // MARK: constructors from typed values

    public init(tag: Tag, vr: VR, strings: [String], characterSet: SpecificCharacterSet = .default) throws {
        guard vr.isString else {
            switch vr {
            case .US, .SS, .UL, .SL, .UV, .SV:
                let ints = try strings.map { s -> Int64 in
                    guard let i = Int64(s.trimmingCharacters(in: .whitespaces)) else { throw CodecError.invalidValue(tag: tag, reason: "'\(s)' is not an integer for VR \(vr)") }
                    return i
                }
                try self.init(tag: tag, vr: vr, integers: ints)
                return
            case .FL, .FD:
                let ds = try strings.map { s -> Double in
                    guard let d = Double(s.trimmingCharacters(in: .whitespaces)) else { throw CodecError.invalidValue(tag: tag, reason: "'\(s)' is not a number for VR \(vr)") }
                    return d
                }
                try self.init(tag: tag, vr: vr, doubles: ds)
                return
            case .AT:
                let ts = try strings.map { s -> Tag in
                    guard let t = Tag(parsing: s) else { throw CodecError.invalidValue(tag: tag, reason: "'\(s)' is not a tag") }
                    return t
                }
                var out: [UInt8] = []
                for t in ts { out.appendLE(t.group); out.appendLE(t.element) }
                self.init(tag: tag, vr: vr, bytes: out)
                return
            default:
                throw CodecError.invalidValue(tag: tag, reason: "VR \(vr) does not hold text")
            }
        }
        var out: [UInt8] = []
        for (i, s) in strings.enumerated() {
            if i > 0 { out.append(0x5C) }
            if vr.usesSpecificCharacterSet {
                out += try characterSet.encode(s, vr: vr)
            } else {
                guard s.utf8.allSatisfy({ $0 < 0x80 }) else {
                    throw CodecError.invalidValue(tag: tag, reason: "VR \(vr) allows only the default repertoire (ASCII)")
                }
                out += Array(s.utf8)
            }
        }
        if out.count % 2 == 1 { out.append(vr.paddingByte) }
        self.init(tag: tag, vr: vr, bytes: out)
    }

    public init(tag: Tag, vr: VR, integers: [Int64]) throws {
        var out: [UInt8] = []
        func check(_ v: Int64, _ lo: Int64, _ hi: Int64) throws {
            guard v >= lo && v <= hi else { throw CodecError.invalidValue(tag: tag, reason: "\(v) is out of range for VR \(vr)") }
        }
        for v in integers {
            switch vr {
            case .US, .OW: try check(v, 0, 65535); out.appendLE(UInt16(v))
            case .SS: try check(v, -32768, 32767); out.appendLE(UInt16(bitPattern: Int16(v)))
            case .UL, .OL: try check(v, 0, 4_294_967_295); out.appendLE(UInt32(v))
            case .SL: try check(v, -2_147_483_648, 2_147_483_647); out.appendLE(UInt32(bitPattern: Int32(v)))
            case .UV, .OV: out.appendLE(UInt64(bitPattern: v))
            case .SV: out.appendLE(UInt64(bitPattern: v))
            case .FL, .FD, .DS, .OF, .OD:
                try self.init(tag: tag, vr: vr, doubles: integers.map(Double.init)); return
            case .IS:
                try check(v, -2_147_483_648, 2_147_483_647)
            case .OB, .UN: try check(v, 0, 255); out.append(UInt8(v))
            default:
                throw CodecError.invalidValue(tag: tag, reason: "VR \(vr) does not hold integers")
            }
        }
        if vr == .IS {
            try self.init(tag: tag, vr: vr, strings: integers.map { String($0) })
            return
        }
        if (vr == .OB || vr == .UN), out.count % 2 == 1 { out.append(0) }
        self.init(tag: tag, vr: vr, bytes: out)
    }

    public init(tag: Tag, vr: VR, doubles: [Double]) throws {
        var out: [UInt8] = []
        switch vr {
        case .FL, .OF: for d in doubles { out.appendLE(Float(d).bitPattern) }
        case .FD, .OD: for d in doubles { out.appendLE(d.bitPattern) }
        case .DS:
            try self.init(tag: tag, vr: vr, strings: doubles.map { NumericString.formatDecimal($0) }); return
        case .IS, .US, .SS, .UL, .SL, .UV, .SV:
            let ints = try doubles.map { d -> Int64 in
                guard d.rounded() == d, abs(d) < 9.2e18 else { throw CodecError.invalidValue(tag: tag, reason: "\(d) is not an integer for VR \(vr)") }
                return Int64(d)
            }
            try self.init(tag: tag, vr: vr, integers: ints); return
        default:
            throw CodecError.invalidValue(tag: tag, reason: "VR \(vr) does not hold numbers")
        }
        self.init(tag: tag, vr: vr, bytes: out)
    }
}

extension Array where Element == UInt8 {
    @inlinable mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }
}

import Foundation
