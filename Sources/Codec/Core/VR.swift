/// Value representations, PS3.5 6.2 Table 6.2-1.
public enum VR: UInt16, CaseIterable, Sendable, CustomStringConvertible {
    // Raw value: the two ASCII bytes as they appear on the wire, first byte high.
    case AE = 0x4145, AS = 0x4153, AT = 0x4154, CS = 0x4353, DA = 0x4441, DS = 0x4453
    case DT = 0x4454, FD = 0x4644, FL = 0x464C, IS = 0x4953, LO = 0x4C4F, LT = 0x4C54
    case OB = 0x4F42, OD = 0x4F44, OF = 0x4F46, OL = 0x4F4C, OV = 0x4F56, OW = 0x4F57
    case PN = 0x504E, SH = 0x5348, SL = 0x534C, SQ = 0x5351, SS = 0x5353, ST = 0x5354
    case SV = 0x5356, TM = 0x544D, UC = 0x5543, UI = 0x5549, UL = 0x554C, UN = 0x554E
    case UR = 0x5552, US = 0x5553, UT = 0x5554, UV = 0x5556

    @inlinable public init?(byte0: UInt8, byte1: UInt8) {
        self.init(rawValue: UInt16(byte0) << 8 | UInt16(byte1))
    }
    public init?(string: String) {
        let u = Array(string.utf8)
        guard u.count == 2 else { return nil }
        self.init(byte0: u[0], byte1: u[1])
    }

    public var description: String {
        String(decoding: [UInt8(rawValue >> 8), UInt8(rawValue & 0xFF)], as: UTF8.self)
    }
    public var bytes: (UInt8, UInt8) { (UInt8(rawValue >> 8), UInt8(rawValue & 0xFF)) }

    /// Explicit VR encodings with a 2-byte reserved field and a 32-bit length (PS3.5 7.1.2).
    @inlinable public var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .UC, .UN, .UR, .UT, .SV, .UV: return true
        default: return false
        }
    }

    /// Size of one binary value, used for byte swapping (big endian) and value multiplicity.
    @inlinable public var unitSize: Int {
        switch self {
        case .AT, .US, .SS, .OW: return 2   // AT swaps as two 16-bit halves
        case .UL, .SL, .FL, .OF, .OL: return 4
        case .FD, .OD, .SV, .UV, .OV: return 8
        default: return 1
        }
    }

    /// Character string VRs whose values are text, possibly backslash-separated (PS3.5 6.2).
    public var isString: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT: return true
        default: return false
        }
    }
    /// String VRs affected by Specific Character Set (PS3.5 6.1.2.3).
    public var usesSpecificCharacterSet: Bool {
        switch self {
        case .SH, .LO, .ST, .LT, .PN, .UC, .UT: return true
        default: return false
        }
    }
    /// VRs whose value is a single text that is never split on backslash (PS3.5 6.2).
    public var isSingleValuedText: Bool {
        switch self {
        case .LT, .ST, .UT, .UR: return true
        default: return false
        }
    }
    /// UI is padded with NUL, other strings with a space (PS3.5 6.2).
    public var paddingByte: UInt8 { self == .UI ? 0 : (isString ? 0x20 : 0) }
}
