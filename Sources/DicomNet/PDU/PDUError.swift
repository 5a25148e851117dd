/// A PDU that cannot be decoded. `abort` is what to send the peer (an A-ABORT with source
/// service-provider and the reason of PS3.8 9.3.8, Table 9-26); the state machine answers an
/// invalid PDU with A-ABORT (PS3.8 9.2, event 19 / action AA-8).
public struct PDUError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset from the first byte of the PDU (the PDU-type byte) where decoding failed.
    public var offset: Int
    public var reason: String
    public var abort: Abort

    public init(offset: Int, reason: String, abort: Abort = .invalidPDUParameterValue) {
        self.offset = offset
        self.reason = reason
        self.abort = abort
    }

    public var description: String { "invalid PDU at byte \(offset): \(reason) (A-ABORT: \(abort.description))" }
}
