// Specific Character Set (0008,0005): decoding and encoding of text values
// (PS3.3 C.12.1.1.2, PS3.5 6.1). Table-driven and independent of Foundation's string
// encodings, whose coverage on Linux is partial (no EUC-JP, no JIS X 0212, a GBK that
// only knows GB 2312); the tables come from Python's codecs (scripts/gen_charsets.py),
// so results agree with pydicom's.

/// The character repertoires of a data set, from the values of (0008,0005).
///
/// Decoding is lenient, as DCMTK and pydicom are: unknown terms fall back to the default
/// repertoire, bytes above 0x7F in the default repertoire read as Latin-1, any known ISO 2022
/// escape sequence is honoured even if its term is not declared, and undecodable bytes become
/// U+FFFD. Encoding is strict and throws for characters the declared terms cannot represent.
public struct SpecificCharacterSet: Sendable, Hashable {
    /// The default repertoire, ISO-IR 6 (PS3.5 6.1.2.2).
    public static let `default` = SpecificCharacterSet(terms: [])

    private var storedTerms: [String]
    private var plan: Plan

    /// `terms` are the values of (0008,0005) in order; value 1 may be empty (PS3.3 C.12.1.1.2).
    public init(terms: [String]) {
        storedTerms = terms
        plan = Plan(terms: terms)
    }

    public var terms: [String] {
        get { storedTerms }
        set { storedTerms = newValue; plan = Plan(terms: newValue) }
    }

    /// ISO_IR 192: values are UTF-8 and code extensions do not apply.
    public var isUTF8: Bool { plan.mode == .utf8 }
    /// No term other than the default repertoire (no value, or only "" / ISO_IR 6 / ISO 2022 IR 6).
    public var isDefault: Bool { plan.mode == .iso2022 && plan.initialG1 == nil && plan.extensions.isEmpty && plan.unknownTerms.isEmpty }
    /// Terms we do not recognise (decoded as the default repertoire).
    public var unknownTerms: [String] { plan.unknownTerms }

    // MARK: decoding

    /// Decodes a value of VR `vr`. VRs outside PS3.5 6.1.2.3 (SH, LO, ST, LT, PN, UC, UT) use
    /// the default repertoire. The initial G0/G1 sets come back after control characters, after
    /// backslash (except in LT, ST, UT), and after ^ and = in PN (PS3.5 6.1.2.5.3); while a
    /// 94×94 set such as JIS X 0208 is in G0, those bytes are halves of characters, not delimiters.
    /// ASCII-only values (the common case) take a fast path straight to String.
    public func decode(_ bytes: UnsafeRawBufferPointer, vr: VR) -> String {
        guard vr.usesSpecificCharacterSet else { return Self.decodeDefault(bytes) }
        switch plan.mode {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .gb18030, .gbk:
            if Self.isPlainASCII(bytes) { return String(decoding: bytes, as: UTF8.self) }
            return Self.decodeGB18030(bytes)
        case .iso2022:
            if Self.isPlainASCII(bytes) { return String(decoding: bytes, as: UTF8.self) }
            return decodeISO2022(bytes, vr: vr)
        }
    }

    public func decode(_ bytes: [UInt8], vr: VR) -> String {
        bytes.withUnsafeBytes { decode($0, vr: vr) }
    }

    /// No byte above 0x7F and no ESC: the text is ASCII whatever the character set (the fast path).
    @inline(__always)
    static func isPlainASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes where b >= 0x80 || b == 0x1B { return false }
        return true
    }

    /// The default repertoire, with bytes above 0x7F read as Latin-1 rather than lost.
    static func decodeDefault(_ bytes: UnsafeRawBufferPointer) -> String {
        if !bytes.contains(where: { $0 >= 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        var out = UTF8Output(capacity: bytes.count * 2)
        for b in bytes { out.append(UInt32(b)) }
        return out.string
    }

    private func decodeISO2022(_ bytes: UnsafeRawBufferPointer, vr: VR) -> String {
        let n = bytes.count
        var out = UTF8Output(capacity: n * 2)
        // A missing G1 reads as Latin-1 (the lenient default for bytes above 0x7F).
        let initialG1 = plan.initialG1 ?? .latin1
        var g0 = plan.initialG0, g1 = initialG1
        let splitsOnBackslash = !vr.isSingleValuedText
        let isPN = vr == .PN
        var i = 0
        while i < n {
            let b = bytes[i]
            if b == 0x1B {
                let (length, designation) = Self.parseEscape(bytes, at: i)
                switch designation {
                case let .g0(set)?: g0 = set
                case let .g1(set)?: g1 = set
                case nil: out.append(0xFFFD)   // unknown or truncated: mark the loss, skip it
                }
                i += length
                continue
            }
            if b < 0x20 || b == 0x7F {
                // Control characters end any code extension (PS3.5 6.1.2.5.3).
                out.append(UInt32(b))
                g0 = plan.initialG0; g1 = initialG1
                i += 1
                continue
            }
            if b < 0x80 {
                if g0.isMultiByte {
                    // SPACE is not part of a 94×94 set; other bytes go in pairs.
                    if b == 0x20 { out.append(0x20); i += 1; continue }
                    if i + 1 < n, (0x21...0x7E).contains(bytes[i + 1]) {
                        out.append(g0.scalar(row: b, cell: bytes[i + 1]))
                        i += 2
                    } else {
                        out.append(0xFFFD); i += 1
                    }
                    continue
                }
                out.append(g0.scalar(gl: b))
                // In a single-byte G0 these bytes are the delimiters themselves.
                if g0.isASCIILike && ((b == 0x5C && splitsOnBackslash) || (isPN && (b == 0x5E || b == 0x3D))) {
                    g0 = plan.initialG0; g1 = initialG1
                }
                i += 1
                continue
            }
            // GR (and C1): G1.
            if g1 == .jisKatakana, (0x81...0x9F).contains(b) || (0xE0...0xFC).contains(b) {
                // Shift_JIS double-byte codes: not DICOM, but pydicom (shift_jis) reads them for ISO_IR 13.
                if i + 1 < n, let s = Self.shiftJIS(b, bytes[i + 1]) { out.append(s); i += 2 } else { out.append(0xFFFD); i += 1 }
                continue
            }
            if g1.isMultiByte {
                if b >= 0xA1 && b <= 0xFE && i + 1 < n && bytes[i + 1] >= 0xA1 && bytes[i + 1] <= 0xFE {
                    out.append(g1.scalar(row: b & 0x7F, cell: bytes[i + 1] & 0x7F))
                    i += 2
                } else {
                    out.append(0xFFFD); i += 1
                }
                continue
            }
            out.append(g1.scalar(gr: b))
            i += 1
        }
        return out.string
    }

    /// Shift_JIS double-byte code to JIS X 0208 row/cell (JIS X 0208 Annex 1).
    private static func shiftJIS(_ s1: UInt8, _ s2: UInt8) -> UInt32? {
        guard (0x40...0x7E).contains(s2) || (0x80...0xFC).contains(s2) else { return nil }
        var j1 = (Int(s1) - (s1 <= 0x9F ? 0x70 : 0xB0)) << 1
        let j2: Int
        if s2 < 0x9F { j1 -= 1; j2 = Int(s2) - 0x1F - (s2 >= 0x80 ? 1 : 0) } else { j2 = Int(s2) - 0x7E }
        guard (0x21...0x7E).contains(j1), (0x21...0x7E).contains(j2) else { return nil }
        return GraphicSet.jisX0208.scalar(row: UInt8(j1), cell: UInt8(j2))
    }

    enum Designation { case g0(GraphicSet), g1(GraphicSet) }

    /// Parses the escape sequence at `i` (ESC, intermediates 0x20...0x2F, a final byte; ISO 2022 / ECMA-35)
    /// and returns its length and what it designates (PS3.3 Tables C.12-3 and C.12-4), nil if unknown.
    static func parseEscape(_ bytes: UnsafeRawBufferPointer, at i: Int) -> (Int, Designation?) {
        var j = i + 1
        while j < bytes.count, (0x20...0x2F).contains(bytes[j]) { j += 1 }
        guard j < bytes.count, (0x30...0x7E).contains(bytes[j]) else { return (j - i, nil) }
        let length = j + 1 - i
        let f = bytes[j]
        let intermediates = length == 3 ? UInt16(bytes[i + 1]) : length == 4 ? UInt16(bytes[i + 1]) << 8 | UInt16(bytes[i + 2]) : 0
        let d: Designation?
        switch (intermediates, f) {
        case (0x28, 0x42): d = .g0(.ascii)              // ESC ( B  ISO-IR 6
        case (0x28, 0x4A): d = .g0(.jisRoman)           // ESC ( J  ISO-IR 14
        case (0x28, 0x49): d = .g0(.jisKatakana)        // ESC ( I  (not DICOM; JIS7 usage)
        case (0x29, 0x49): d = .g1(.jisKatakana)        // ESC ) I  ISO-IR 13
        case (0x2D, _):                                  // ESC - F  96-character sets in G1
            guard let set = GraphicSet(escapeFinal96: f) else { return (length, nil) }
            d = .g1(set)
        case (0x24, 0x42), (0x24, 0x40), (0x2428, 0x42), (0x2428, 0x40): d = .g0(.jisX0208)  // ESC $ B  ISO-IR 87
        case (0x2428, 0x44): d = .g0(.jisX0212)         // ESC $ ( D  ISO-IR 159
        case (0x2428, 0x43): d = .g0(.ksX1001)
        case (0x24, 0x41), (0x2428, 0x41): d = .g0(.gb2312)
        case (0x2429, 0x43): d = .g1(.ksX1001)          // ESC $ ) C  ISO-IR 149
        case (0x2429, 0x41): d = .g1(.gb2312)           // ESC $ ) A  ISO-IR 58
        case (0x2429, 0x42): d = .g1(.jisX0208)
        case (0x2429, 0x44): d = .g1(.jisX0212)
        default: d = nil
        }
        return (length, d)
    }

    /// GB 18030 (also read for GBK, its subset): one, two or four bytes per character (GB 18030-2005 6).
    static func decodeGB18030(_ bytes: UnsafeRawBufferPointer) -> String {
        let n = bytes.count
        var out = UTF8Output(capacity: n * 2)
        let two = CodeTables.gb18030TwoByte
        var i = 0
        while i < n {
            let b = bytes[i]
            if b < 0x80 { out.append(UInt32(b)); i += 1; continue }
            guard b != 0x80 && b != 0xFF, i + 1 < n else { out.append(0xFFFD); i += 1; continue }
            let b2 = bytes[i + 1]
            if (0x40...0x7E).contains(b2) || (0x80...0xFE).contains(b2) {
                out.append(UInt32(two[Int(b - 0x81) * 190 + Int(b2) - 0x40 - (b2 > 0x7F ? 1 : 0)]))
                i += 2
                continue
            }
            if (0x30...0x39).contains(b2), i + 3 < n, (0x81...0xFE).contains(bytes[i + 2]), (0x30...0x39).contains(bytes[i + 3]) {
                let index = ((Int(b - 0x81) * 10 + Int(b2 - 0x30)) * 126 + Int(bytes[i + 2] - 0x81)) * 10 + Int(bytes[i + 3] - 0x30)
                out.append(CodeTables.gb18030FourByte(index) ?? 0xFFFD)
                i += 4
                continue
            }
            out.append(0xFFFD); i += 1
        }
        return out.string
    }

    // MARK: encoding

    /// Encodes `string` for a value of VR `vr`: UTF-8 for ISO_IR 192, GB 18030/GBK bytes for those,
    /// otherwise the single-byte set of value 1 with ISO 2022 escape sequences to the other values'
    /// sets where needed (PS3.5 6.1.2.5), returning to the initial sets before delimiters and at
    /// the end. VRs outside PS3.5 6.1.2.3 accept only the default repertoire. Padding is the caller's.
    public func encode(_ string: String, vr: VR) throws -> [UInt8] {
        if !vr.usesSpecificCharacterSet || plan.mode == .iso2022 && plan.initialG1 == nil && plan.extensions.isEmpty {
            guard let bad = string.unicodeScalars.first(where: { !$0.isASCII }) else { return Array(string.utf8) }
            throw CharacterSetError(scalar: bad, terms: storedTerms, vr: vr)
        }
        switch plan.mode {
        case .utf8:
            return Array(string.utf8)
        case .gb18030, .gbk:
            var out: [UInt8] = []
            out.reserveCapacity(string.utf8.count)
            for s in string.unicodeScalars {
                if s.isASCII { out.append(UInt8(s.value)); continue }
                if s.value <= 0xFFFF, let code = CodeTables.gb18030TwoByteReverse[UInt16(s.value)] {
                    out.append(UInt8(code >> 8)); out.append(UInt8(code & 0xFF)); continue
                }
                guard plan.mode == .gb18030, let index = CodeTables.gb18030FourByteIndex(s.value) else {
                    throw CharacterSetError(scalar: s, terms: storedTerms, vr: vr)
                }
                var r = index
                let b4 = r % 10; r /= 10
                let b3 = r % 126; r /= 126
                let b2 = r % 10; r /= 10
                out += [UInt8(0x81 + r), UInt8(0x30 + b2), UInt8(0x81 + b3), UInt8(0x30 + b4)]
            }
            return out
        case .iso2022:
            return try encodeISO2022(string, vr: vr)
        }
    }

    private func encodeISO2022(_ string: String, vr: VR) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count + 8)
        let initialG0 = plan.initialG0, initialG1 = plan.initialG1
        var g0 = initialG0
        var g1 = initialG1
        // The sets a non-ASCII character may come from, in the order of the terms.
        var candidates: [GraphicSet] = []
        if let s = initialG1 { candidates.append(s) }
        for s in plan.extensions where !candidates.contains(s) { candidates.append(s) }
        let splitsOnBackslash = !vr.isSingleValuedText

        // Before a delimiter and at the end, value 1's sets must be in force (PS3.5 6.1.2.5.3).
        func restoreInitial() {
            if g0 != initialG0 { out += initialG0.designation; g0 = initialG0 }
            if g1 != initialG1 {
                if let s = initialG1 { out += s.designation }
                g1 = initialG1   // a decoder forgets a G1 designation at delimiters anyway
            }
        }

        for s in string.unicodeScalars {
            let v = s.value
            if v < 0x80 {
                let isDelimiter = v < 0x20 || v == 0x7F || (v == 0x5C && splitsOnBackslash) || (vr == .PN && (v == 0x5E || v == 0x3D))
                if isDelimiter { restoreInitial() } else if !g0.isASCIILike { out += initialG0.designation; g0 = initialG0 }
                out.append(UInt8(v))
                continue
            }
            // Prefer what is already designated, then the sets of the terms in order.
            if let g1 = g1, let bytes = g1.encodeGR(v) { out += bytes; continue }
            if g0.isMultiByte, let bytes = g0.encodeGL(v) { out += bytes; continue }
            var done = false
            for set in candidates {
                if set.designatesG0 {
                    if let bytes = set.encodeGL(v) { out += set.designation; g0 = set; out += bytes; done = true; break }
                } else if let bytes = set.encodeGR(v) {
                    out += set.designation; g1 = set; out += bytes; done = true; break
                }
            }
            if !done { throw CharacterSetError(scalar: s, terms: storedTerms, vr: vr) }
        }
        restoreInitial()
        return out
    }
}

/// A character that the declared Specific Character Set cannot represent.
public struct CharacterSetError: Error, Sendable, Equatable, CustomStringConvertible {
    public let scalar: Unicode.Scalar
    public let terms: [String]
    public let vr: VR
    public var description: String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let name = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        let set = terms.isEmpty ? "the default repertoire" : "Specific Character Set \(terms.joined(separator: "\\"))"
        return "'\(scalar)' (\(name)) cannot be encoded in \(set) for VR \(vr)"
    }
}

// MARK: - Terms and graphic sets

extension SpecificCharacterSet {
    enum Mode: Hashable, Sendable { case iso2022, utf8, gb18030, gbk }

    /// The initial state and the code extensions the terms declare (PS3.3 C.12.1.1.2, PS3.5 6.1.2.5).
    struct Plan: Hashable, Sendable {
        var mode: Mode = .iso2022
        var initialG0: GraphicSet = .ascii
        var initialG1: GraphicSet?
        var extensions: [GraphicSet] = []
        var unknownTerms: [String] = []

        init(terms: [String]) {
            for (k, raw) in terms.enumerated() {
                let term = Term(raw)
                if k == 0 {
                    switch term {
                    case .utf8: mode = .utf8
                    case .gb18030: mode = .gb18030
                    case .gbk: mode = .gbk
                    case .set(.jisKatakana): initialG0 = .jisRoman; initialG1 = .jisKatakana
                    // A multi-byte G0 set as value 1 is not allowed; read it as an extension
                    // (pydicom decodes iso2022_jp from ASCII too).
                    case let .set(s) where s.designatesG0: extensions.append(s)
                    case let .set(s): if s != .ascii { initialG1 = s }
                    case .unknown: unknownTerms.append(raw)
                    }
                    // Stand-alone sets take no code extensions (PS3.5 6.1.2.5.4 d): ignore the rest.
                    if mode != .iso2022 { return }
                } else {
                    switch term {
                    case let .set(s): if s != .ascii && !extensions.contains(s) { extensions.append(s) }
                    case .utf8, .gb18030, .gbk: break   // cannot be code extensions; ignored like pydicom
                    case .unknown: unknownTerms.append(raw)
                    }
                }
            }
        }
    }

    enum Term: Equatable {
        case set(GraphicSet), utf8, gb18030, gbk, unknown

        /// Recognises the defined terms of PS3.3 Tables C.12-2 to C.12-5, tolerating case and
        /// spacing slips ("ISO IR 100", "iso_ir_100", "ISO-2022-IR-87") and a few common aliases.
        init(_ raw: String) {
            var key = ""
            for c in raw.uppercased() where c.isLetter || c.isNumber { key.append(c) }
            var number: Substring?
            if key.hasPrefix("ISO2022IR") { number = key.dropFirst(9) } else if key.hasPrefix("ISOIR") { number = key.dropFirst(5) }
            if let number {
                switch number {
                case "6": self = .set(.ascii)
                case "13": self = .set(.jisKatakana)
                case "100": self = .set(.latin1)
                case "101": self = .set(.latin2)
                case "109": self = .set(.latin3)
                case "110": self = .set(.latin4)
                case "144": self = .set(.cyrillic)
                case "127": self = .set(.arabic)
                case "126": self = .set(.greek)
                case "138": self = .set(.hebrew)
                case "148": self = .set(.latin5)
                case "203": self = .set(.latin9)
                case "166": self = .set(.thai)
                case "87": self = .set(.jisX0208)
                case "159": self = .set(.jisX0212)
                case "149": self = .set(.ksX1001)
                case "58": self = .set(.gb2312)
                case "192": self = .utf8
                default: self = .unknown
                }
                return
            }
            switch key {
            case "": self = .set(.ascii)
            case "GB18030": self = .gb18030
            case "GBK", "ISO2022GBK": self = .gbk
            case "ISO202258": self = .set(.gb2312)
            case "UTF8": self = .utf8
            default: self = .unknown
            }
        }
    }
}

/// A graphic character set that ISO 2022 designates to G0 or G1 (PS3.3 Tables C.12-3, C.12-4).
enum GraphicSet: UInt8, Hashable, Sendable {
    case ascii          // ISO-IR 6
    case jisRoman       // ISO-IR 14; read as ASCII (¥ and ‾ at 0x5C/0x7E would hide the delimiter), like pydicom and DCMTK
    case jisKatakana    // ISO-IR 13, half-width katakana
    case latin1, latin2, latin3, latin4, cyrillic, arabic, greek, hebrew, latin5, latin9, thai   // 96-character sets
    case jisX0208, jisX0212, ksX1001, gb2312   // 94×94 sets

    init?(escapeFinal96 f: UInt8) {
        switch f {
        case 0x41: self = .latin1     // ESC - A  ISO-IR 100
        case 0x42: self = .latin2     // ESC - B  ISO-IR 101
        case 0x43: self = .latin3     // ESC - C  ISO-IR 109
        case 0x44: self = .latin4     // ESC - D  ISO-IR 110
        case 0x46: self = .greek      // ESC - F  ISO-IR 126
        case 0x47: self = .arabic     // ESC - G  ISO-IR 127
        case 0x48: self = .hebrew     // ESC - H  ISO-IR 138
        case 0x4C: self = .cyrillic   // ESC - L  ISO-IR 144
        case 0x4D: self = .latin5     // ESC - M  ISO-IR 148
        case 0x54: self = .thai       // ESC - T  ISO-IR 166
        case 0x62: self = .latin9     // ESC - b  ISO-IR 203
        default: return nil
        }
    }

    var isMultiByte: Bool { rawValue >= GraphicSet.jisX0208.rawValue }
    var isASCIILike: Bool { self == .ascii || self == .jisRoman }
    /// JIS X 0208/0212 go to G0 in DICOM; everything else (but ASCII/romaji) to G1.
    var designatesG0: Bool { self == .ascii || self == .jisRoman || self == .jisX0208 || self == .jisX0212 }

    /// The escape sequence DICOM uses to designate this set (PS3.3 Tables C.12-3, C.12-4).
    var designation: [UInt8] {
        switch self {
        case .ascii: return [0x1B, 0x28, 0x42]
        case .jisRoman: return [0x1B, 0x28, 0x4A]
        case .jisKatakana: return [0x1B, 0x29, 0x49]
        case .latin1: return [0x1B, 0x2D, 0x41]
        case .latin2: return [0x1B, 0x2D, 0x42]
        case .latin3: return [0x1B, 0x2D, 0x43]
        case .latin4: return [0x1B, 0x2D, 0x44]
        case .greek: return [0x1B, 0x2D, 0x46]
        case .arabic: return [0x1B, 0x2D, 0x47]
        case .hebrew: return [0x1B, 0x2D, 0x48]
        case .cyrillic: return [0x1B, 0x2D, 0x4C]
        case .latin5: return [0x1B, 0x2D, 0x4D]
        case .thai: return [0x1B, 0x2D, 0x54]
        case .latin9: return [0x1B, 0x2D, 0x62]
        case .jisX0208: return [0x1B, 0x24, 0x42]
        case .jisX0212: return [0x1B, 0x24, 0x28, 0x44]
        case .ksX1001: return [0x1B, 0x24, 0x29, 0x43]
        case .gb2312: return [0x1B, 0x24, 0x29, 0x41]
        }
    }

    /// 0x80...0xFF of a single-byte G1 set (C1 controls included).
    private var upperHalf: [UInt16]? {
        switch self {
        case .latin2: return CodeTables.latin2
        case .latin3: return CodeTables.latin3
        case .latin4: return CodeTables.latin4
        case .cyrillic: return CodeTables.cyrillic
        case .arabic: return CodeTables.arabic
        case .greek: return CodeTables.greek
        case .hebrew: return CodeTables.hebrew
        case .latin5: return CodeTables.latin5
        case .latin9: return CodeTables.latin9
        case .thai: return CodeTables.thai
        default: return nil
        }
    }

    private var table94x94: [UInt16] {
        switch self {
        case .jisX0208: return CodeTables.jisX0208
        case .jisX0212: return CodeTables.jisX0212
        case .ksX1001: return CodeTables.ksX1001
        default: return CodeTables.gb2312
        }
    }

    /// A byte 0x21...0x7E of a single-byte set invoked in GL (G0).
    @inline(__always)
    func scalar(gl b: UInt8) -> UInt32 {
        switch self {
        case .jisKatakana: return b <= 0x5F ? 0xFF61 + UInt32(b - 0x21) : 0xFFFD
        case .ascii, .jisRoman: return UInt32(b)
        default: return scalar(gr: b | 0x80)   // not reachable through DICOM escapes
        }
    }

    /// A byte 0x80...0xFF of a single-byte set invoked in GR (G1).
    @inline(__always)
    func scalar(gr b: UInt8) -> UInt32 {
        if b < 0xA0 { return UInt32(b) }   // C1 controls, as Python's codecs give them
        switch self {
        case .latin1: return UInt32(b)
        case .jisKatakana: return b >= 0xA1 && b <= 0xDF ? 0xFF61 + UInt32(b - 0xA1) : 0xFFFD
        case .ascii, .jisRoman: return UInt32(b)   // lenient: Latin-1
        default: return UInt32(upperHalf?[Int(b) - 0x80] ?? 0xFFFD)
        }
    }

    /// A 94×94 set's character at row and cell 0x21...0x7E.
    @inline(__always)
    func scalar(row: UInt8, cell: UInt8) -> UInt32 {
        UInt32(table94x94[Int(row - 0x21) * 94 + Int(cell - 0x21)])
    }

    /// The bytes for `v` with this set in G0 (GL), nil if it is not in the set.
    func encodeGL(_ v: UInt32) -> [UInt8]? {
        guard isMultiByte, v <= 0xFFFF, let code = CodeTables.reverse94x94(self)[UInt16(v)] else { return nil }
        return [UInt8(code >> 8), UInt8(code & 0xFF)]
    }

    /// The bytes for `v` with this set in G1 (GR), nil if it is not in the set.
    func encodeGR(_ v: UInt32) -> [UInt8]? {
        switch self {
        case .ascii, .jisRoman: return nil
        case .latin1: return v >= 0xA0 && v <= 0xFF ? [UInt8(v)] : nil
        case .jisKatakana: return v >= 0xFF61 && v <= 0xFF9F ? [UInt8(v - 0xFF61 + 0xA1)] : nil
        case .jisX0208, .jisX0212, .ksX1001, .gb2312:
            return encodeGL(v).map { $0.map { $0 | 0x80 } }
        default:
            guard v <= 0xFFFF, let b = CodeTables.reverseUpperHalf(self)[UInt16(v)], b >= 0xA0 else { return nil }
            return [b]
        }
    }
}

// MARK: - Tables

/// The generated tables as arrays, built once on first use (`static let` is lazy and thread-safe,
/// so there is no mutable global state).
enum CodeTables {
    static func load(_ literal: String, count: Int) -> [UInt16] {
        var a: [UInt16] = []
        a.reserveCapacity(count)
        for s in literal.unicodeScalars where s != "\n" { a.append(UInt16(truncatingIfNeeded: s.value)) }
        precondition(a.count == count, "generated table has \(a.count) entries, expected \(count)")
        return a
    }

    static let latin2 = load(GeneratedCodePages.iso8859_2, count: 128)
    static let latin3 = load(GeneratedCodePages.iso8859_3, count: 128)
    static let latin4 = load(GeneratedCodePages.iso8859_4, count: 128)
    static let cyrillic = load(GeneratedCodePages.iso8859_5, count: 128)
    static let arabic = load(GeneratedCodePages.iso8859_6, count: 128)
    static let greek = load(GeneratedCodePages.iso8859_7, count: 128)
    static let hebrew = load(GeneratedCodePages.iso8859_8, count: 128)
    static let latin5 = load(GeneratedCodePages.iso8859_9, count: 128)
    static let latin9 = load(GeneratedCodePages.iso8859_15, count: 128)
    static let thai = load(GeneratedCodePages.tis620, count: 128)

    static let jisX0208 = load(GeneratedCodePages.jisX0208, count: 94 * 94)
    static let jisX0212 = load(GeneratedCodePages.jisX0212, count: 94 * 94)
    static let ksX1001 = load(GeneratedCodePages.ksX1001, count: 94 * 94)
    static let gb18030TwoByte = load(GeneratedCodePages.gb18030TwoByte, count: 126 * 190)
    /// GB 2312 in 94×94 form for decoding: GB 18030's GR cells with Python gb2312's two
    /// differences. Cells GB 2312 leaves empty read as GB 18030 (lenient: GBK writers fill them).
    static let gb2312: [UInt16] = {
        var t = [UInt16](repeating: 0xFFFD, count: 94 * 94)
        for r in 0..<94 {
            for c in 0..<94 {
                t[r * 94 + c] = gb18030TwoByte[(r + 0xA1 - 0x81) * 190 + (c + 0xA1 - 0x41)]
            }
        }
        for (r, c, s) in GeneratedCodePages.gb2312Overrides { t[Int(r - 0xA1) * 94 + Int(c - 0xA1)] = UInt16(s) }
        return t
    }()

    /// BMP scalar of a four-byte GB 18030 code's linear index (0...39419), or a supplementary
    /// scalar from index 189000 (0x90308130) on (GB 18030-2005 6.3.3).
    static func gb18030FourByte(_ index: Int) -> UInt32? {
        if index >= 189_000 {
            let v = index - 189_000 + 0x10000
            return v <= 0x10FFFF ? UInt32(v) : nil
        }
        guard index <= 39419 else { return nil }
        let runs = GeneratedCodePages.gb18030FourByteRuns
        var lo = 0, hi = runs.count / 2 - 1
        while lo < hi {   // last run starting at or before index
            let mid = (lo + hi + 1) / 2
            if Int(runs[mid * 2]) <= index { lo = mid } else { hi = mid - 1 }
        }
        return runs[lo * 2 + 1] + UInt32(index - Int(runs[lo * 2]))
    }

    /// The linear four-byte index of a scalar not in the two-byte table.
    static func gb18030FourByteIndex(_ v: UInt32) -> Int? {
        if v >= 0x10000 { return v <= 0x10FFFF ? Int(v) - 0x10000 + 189_000 : nil }
        if (0xD800...0xDFFF).contains(v) { return nil }
        let runs = GeneratedCodePages.gb18030FourByteRuns
        let count = runs.count / 2
        var lo = 0, hi = count - 1
        guard v >= runs[1] else { return nil }
        while lo < hi {   // last run whose first scalar is at or below v (scalars ascend with the index)
            let mid = (lo + hi + 1) / 2
            if runs[mid * 2 + 1] <= v { lo = mid } else { hi = mid - 1 }
        }
        let index = Int(runs[lo * 2]) + Int(v - runs[lo * 2 + 1])
        let end = lo + 1 < count ? Int(runs[lo * 2 + 2]) : 39420
        return index < end ? index : nil
    }

    static func reverse(_ table: [UInt16], code: (Int) -> UInt16) -> [UInt16: UInt16] {
        var d: [UInt16: UInt16] = [:]
        d.reserveCapacity(table.count)
        for (i, s) in table.enumerated() where s != 0xFFFD && d[s] == nil { d[s] = code(i) }
        return d
    }
    private static func gl94(_ i: Int) -> UInt16 { UInt16(0x21 + i / 94) << 8 | UInt16(0x21 + i % 94) }

    static let jisX0208Reverse = reverse(jisX0208, code: gl94)
    static let jisX0212Reverse = reverse(jisX0212, code: gl94)
    static let ksX1001Reverse = reverse(ksX1001, code: gl94)
    /// Encoding stays within the cells GB 2312 defines.
    static let gb2312Reverse: [UInt16: UInt16] = {
        var strict = [UInt16](repeating: 0xFFFD, count: 94 * 94)
        for (r, first, last) in GeneratedCodePages.gb2312Cells {
            for c in first...last {
                let i = Int(r - 0xA1) * 94 + Int(c - 0xA1)
                strict[i] = gb2312[i]
            }
        }
        return reverse(strict, code: gl94)
    }()
    static let gb18030TwoByteReverse = reverse(gb18030TwoByte) { i in
        let t = i % 190
        return UInt16(0x81 + i / 190) << 8 | UInt16(0x40 + t + (t >= 0x3F ? 1 : 0))
    }

    static func reverse94x94(_ set: GraphicSet) -> [UInt16: UInt16] {
        switch set {
        case .jisX0208: return jisX0208Reverse
        case .jisX0212: return jisX0212Reverse
        case .ksX1001: return ksX1001Reverse
        default: return gb2312Reverse
        }
    }

    private static func reverseHalf(_ t: [UInt16]) -> [UInt16: UInt8] {
        var d: [UInt16: UInt8] = [:]
        for (i, s) in t.enumerated() where s != 0xFFFD { d[s] = UInt8(0x80 + i) }
        return d
    }
    static let latin2Reverse = reverseHalf(latin2), latin3Reverse = reverseHalf(latin3), latin4Reverse = reverseHalf(latin4)
    static let cyrillicReverse = reverseHalf(cyrillic), arabicReverse = reverseHalf(arabic), greekReverse = reverseHalf(greek)
    static let hebrewReverse = reverseHalf(hebrew), latin5Reverse = reverseHalf(latin5), latin9Reverse = reverseHalf(latin9)
    static let thaiReverse = reverseHalf(thai)

    static func reverseUpperHalf(_ set: GraphicSet) -> [UInt16: UInt8] {
        switch set {
        case .latin2: return latin2Reverse
        case .latin3: return latin3Reverse
        case .latin4: return latin4Reverse
        case .cyrillic: return cyrillicReverse
        case .arabic: return arabicReverse
        case .greek: return greekReverse
        case .hebrew: return hebrewReverse
        case .latin5: return latin5Reverse
        case .latin9: return latin9Reverse
        case .thai: return thaiReverse
        default: return [:]
        }
    }
}

/// A UTF-8 byte buffer that becomes a String once, cheaper than appending scalars to a String.
struct UTF8Output {
    private var bytes: [UInt8] = []
    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    @inline(__always)
    mutating func append(_ v: UInt32) {
        switch v {
        case 0..<0x80:
            bytes.append(UInt8(v))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | v >> 6)); bytes.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            // Lone surrogates cannot be in a String; they never come from the tables anyway.
            if (0xD800...0xDFFF).contains(v) { append(0xFFFD); return }
            bytes.append(UInt8(0xE0 | v >> 12)); bytes.append(UInt8(0x80 | (v >> 6) & 0x3F)); bytes.append(UInt8(0x80 | v & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | v >> 18)); bytes.append(UInt8(0x80 | (v >> 12) & 0x3F))
            bytes.append(UInt8(0x80 | (v >> 6) & 0x3F)); bytes.append(UInt8(0x80 | v & 0x3F))
        }
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}
