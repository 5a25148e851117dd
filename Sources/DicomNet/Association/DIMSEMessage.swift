import Codec

/// A received DIMSE message: its command and, when it has one, its data set
/// (in memory, or already handed to a `DataSetSink` and then nil here).
public struct DIMSEMessage: Sendable {
    public var command: Command
    public var context: AcceptedPresentationContext
    public var dataSet: [UInt8]?
}

/// Takes a data set's bytes as its PDVs arrive, so a C-STORE is written to disk while it
/// is received and never held whole in memory (PS3.7 9.1.1: data set fragments in order).
public protocol DataSetSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Collects a data set in memory (small ones: C-FIND identifiers, C-MOVE requests).
public final class MemorySink: DataSetSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ b: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: b) }
}
