import Foundation

/// New UIDs under the 2.25 root: "2.25." followed by a random UUID as one decimal integer
/// (PS3.5 B.2), so no organisation root is needed and two nodes never collide.
public enum UIDGenerator {
    public static func newUID() -> String {
        let u = UUID().uuid
        let bytes = [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15]
        let value = bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        return "2.25." + String(value)
    }
}
