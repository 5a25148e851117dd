import Foundation
import Codec

/// Checks a text value against its VR's rules (PS3.5 6.2, Table 6.2-1: character repertoire,
/// length, format) before it goes into a generated file, so the file reads without warnings
/// (pydicom validates the same rules). Returns why a value is refused, or nil.
enum DicomValueRules {
    static func problem(_ value: String, vr: VR) -> String? {
        let values = vr.isSingleValuedText ? [value] : value.components(separatedBy: "\\")
        for v in values {
            if let p = problem(single: v, vr: vr) { return values.count > 1 ? "'\(v)': \(p)" : p }
        }
        return nil
    }

    static func problem(single v: String, vr: VR) -> String? {
        func maxLength(_ n: Int) -> String? { v.count > n ? "longer than \(n) characters (VR \(vr))" : nil }
        func matches(_ pattern: String) -> Bool { v.range(of: pattern, options: .regularExpression) != nil }
        let control = v.unicodeScalars.contains { $0.value < 0x20 && $0.value != 0x1B && !(vr.isSingleValuedText && [0x0A, 0x0C, 0x0D, 0x09].contains($0.value)) }
        if control { return "control characters are not allowed (VR \(vr))" }
        if v.isEmpty { return nil }
        switch vr {
        case .AE: return maxLength(16) ?? (v.unicodeScalars.allSatisfy { $0.isASCII } ? nil : "only ASCII is allowed (VR AE)")
        case .AS: return matches(#"^[0-9]{3}[DWMY]$"#) ? nil : "an age is nnnD, nnnW, nnnM or nnnY (VR AS)"
        case .CS: return maxLength(16) ?? (matches(#"^[A-Z0-9 _]*$"#) ? nil : "only uppercase letters, digits, space and underscore are allowed (VR CS)")
        case .DA: return isDate(v) ? nil : "a date is YYYYMMDD (VR DA)"
        case .DS: return maxLength(16) ?? (matches(#"^ *[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)? *$"#) ? nil : "not a decimal number (VR DS)")
        case .IS:
            guard v.count <= 12, let n = Int64(v.trimmingCharacters(in: .whitespaces)), n >= -2_147_483_648, n <= 2_147_483_647 else {
                return "not an integer of at most 12 characters in the 32-bit range (VR IS)"
            }
            return nil
        case .DT:
            return maxLength(26) ?? (matches(#"^[0-9]{4}([0-9]{2}([0-9]{2}([0-9]{2}([0-9]{2}([0-9]{2}(\.[0-9]{1,6})?)?)?)?)?)?([+-][0-9]{4})?$"#)
                                     ? nil : "a date-time is YYYYMMDDHHMMSS.FFFFFF&ZZXX (VR DT)")
        case .TM: return isTime(v) ? nil : "a time is HHMMSS.FFFFFF (VR TM)"
        case .UI:
            guard v.utf8.count <= 64, matches(#"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$"#) else {
                return "a UID is at most 64 digits and dots, without leading zeros in a component (PS3.5 9.1)"
            }
            return nil
        case .LO: return maxLength(64)
        case .SH: return maxLength(16)
        case .ST: return maxLength(1024)
        case .LT: return maxLength(10240)
        case .PN:
            let groups = v.components(separatedBy: "=")
            guard groups.count <= 3 else { return "a person name has at most 3 component groups (VR PN)" }
            for g in groups {
                guard g.count <= 64 else { return "a person name component group is at most 64 characters (VR PN)" }
                guard g.components(separatedBy: "^").count <= 5 else { return "a person name has at most 5 components (VR PN)" }
            }
            return nil
        default:
            return nil
        }
    }

    static func isDate(_ v: String) -> Bool {
        guard v.utf8.count == 8, v.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let y = Int(v.prefix(4)), let m = Int(v.dropFirst(4).prefix(2)), let d = Int(v.suffix(2)), (1...12).contains(m), d >= 1 else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        return d <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    }

    static func isTime(_ v: String) -> Bool {
        guard v.range(of: #"^[0-9]{2}([0-9]{2}([0-9]{2}(\.[0-9]{1,6})?)?)?$"#, options: .regularExpression) != nil else { return false }
        let digits = Array(v.utf8.prefix(6)).map { Int($0) - 0x30 }
        if digits[0] * 10 + digits[1] > 23 { return false }
        if digits.count >= 4, digits[2] * 10 + digits[3] > 59 { return false }
        if digits.count >= 6, digits[4] * 10 + digits[5] > 60 { return false }
        return true
    }
}
