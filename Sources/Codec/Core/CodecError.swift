/// Why the codec refused an input or an operation. Reading errors carry the byte offset
/// (from the start of the file or buffer) where the problem was found.
public enum CodecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended while `needed` more bytes were expected at `offset`.
    case truncated(offset: Int, needed: Int, context: String)
    /// A length field that cannot be right: odd where it must be even, or past the end of its container.
    case invalidLength(tag: Tag, offset: Int, length: UInt32, reason: String)
    /// Bytes that are not what the encoding requires at this point.
    case malformed(offset: Int, reason: String)
    /// Not a DICOM file: no DICM prefix and no recognisable data set.
    case notDICOM(reason: String)
    case unsupportedTransferSyntax(String)
    /// Sequences nested deeper than the reader allows (guards the stack against hostile input).
    case nestingTooDeep(offset: Int, limit: Int)
    /// A value or an inflated stream larger than the configured limit.
    case tooLarge(offset: Int, size: UInt64, limit: UInt64)
    case io(path: String, errno: Int32, operation: String)
    /// A value that cannot be encoded as asked (wrong VR, unrepresentable character...).
    case invalidValue(tag: Tag, reason: String)

    public var description: String {
        switch self {
        case let .truncated(offset, needed, context):
            return "truncated input at byte \(offset): \(needed) more byte(s) needed for \(context)"
        case let .invalidLength(tag, offset, length, reason):
            return "invalid length \(length) for \(tag) at byte \(offset): \(reason)"
        case let .malformed(offset, reason):
            return "malformed data at byte \(offset): \(reason)"
        case let .notDICOM(reason):
            return "not a DICOM file: \(reason)"
        case let .unsupportedTransferSyntax(uid):
            return "unsupported transfer syntax \(uid)"
        case let .nestingTooDeep(offset, limit):
            return "sequences nested deeper than \(limit) levels at byte \(offset)"
        case let .tooLarge(offset, size, limit):
            return "value of \(size) bytes at byte \(offset) exceeds the limit of \(limit) bytes"
        case let .io(path, errno, operation):
            return "\(operation) \(path): \(String(cString: strerror(errno)))"
        case let .invalidValue(tag, reason):
            return "invalid value for \(tag): \(reason)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
