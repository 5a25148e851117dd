/// (0000,0700) Priority of a C-STORE, C-FIND, C-GET or C-MOVE request (PS3.7 E.1 Table E.1-1).
/// The raw values are the standard's, which are not in order of urgency: MEDIUM is 0.
public enum Priority: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    case medium = 0x0000, high = 0x0001, low = 0x0002

    public var description: String {
        switch self {
        case .medium: return "MEDIUM"
        case .high: return "HIGH"
        case .low: return "LOW"
        }
    }
}
