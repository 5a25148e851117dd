import Codec

/// Why bytes are not a usable DIMSE command set (PS3.7 6.3.1, 9.3, 10.3). An SCP that gets one
/// answers with a failure status where it can still tell which request it was (e.g.
/// 0xC000-family, 0x0211 Unrecognized Operation), else aborts the association (PS3.7 9.3.1).
public enum DIMSEError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not an Implicit VR Little Endian data set at all (lengths run past the end...).
    case unreadable(reason: String)
    /// A command set holds only group 0000 elements (PS3.7 6.3.1).
    case notACommandElement(Tag)
    /// No (0000,0100) Command Field, so there is no telling what the message is.
    case missingCommandField
    /// (0000,0100) holds a value PS3.7 E.1 does not define.
    case unknownCommandField(UInt16)
    /// An element the command's table in PS3.7 9.3 / 10.3 requires is absent.
    case missingElement(Tag, command: CommandField)
    /// An element is present but its value is not what its VR and PS3.7 E.1 allow.
    case invalidValue(Tag, reason: String)
    /// (0000,0800) says a data set follows where the command never has one, or the reverse.
    case unexpectedDataSetType(command: CommandField, hasDataSet: Bool)

    public var description: String {
        switch self {
        case let .unreadable(reason):
            return "not a DIMSE command set: \(reason)"
        case let .notACommandElement(tag):
            return "not a DIMSE command set: element \(tag) is outside group 0000 (PS3.7 6.3.1)"
        case .missingCommandField:
            return "not a DIMSE command set: no (0000,0100) Command Field"
        case let .unknownCommandField(value):
            return "unknown command field \(DIMSEStatus(value).hexCode) in (0000,0100)"
        case let .missingElement(tag, command):
            return "\(command.name) lacks \(tag) \(DIMSEError.keyword(tag)), which PS3.7 requires"
        case let .invalidValue(tag, reason):
            return "invalid \(tag) \(DIMSEError.keyword(tag)): \(reason)"
        case let .unexpectedDataSetType(command, hasDataSet):
            return hasDataSet
                ? "\(command.name) has no data set, but its (0000,0800) Command Data Set Type says one follows"
                : "\(command.name) needs a data set, but its (0000,0800) Command Data Set Type is 0101H (none)"
        }
    }

    static func keyword(_ tag: Tag) -> String {
        DataDictionary.entry(for: tag)?.keyword ?? "(unknown)"
    }
}
