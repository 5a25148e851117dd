import Foundation
import DicomNet

/// What went wrong in the node, in words a user can act on. The edges map these to a DIMSE
/// status (PS3.4 B.2.3), an HTTP status with `{"error": …}`, or a log line.
public enum NodeError: Error, CustomStringConvertible, Sendable {
    /// The input is not something the node can store (not DICOM, no SOP Instance UID, …).
    case invalidData(String)
    /// The instance is already stored and the duplicate policy refuses it.
    case duplicate(String)
    /// Disk or index failure while storing: nothing was kept.
    case storage(String)
    case notFound(String)
    case conflict(String)
    case badRequest(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalidData(let m): return "invalid DICOM data: \(m)"
        case .duplicate(let m): return "duplicate: \(m)"
        case .storage(let m): return "storage failure: \(m)"
        case .notFound(let m): return "not found: \(m)"
        case .conflict(let m): return "conflict: \(m)"
        case .badRequest(let m): return m
        case .unsupported(let m): return "unsupported: \(m)"
        }
    }

    /// The C-STORE status for this failure (PS3.4 B.2.3): A7xx out of resources for storage
    /// failures, A9xx data set does not match SOP class, Cxxx cannot understand.
    public var storeStatus: DIMSEStatus {
        switch self {
        case .storage: return .refusedOutOfResources
        case .invalidData(let m) where m.contains("does not match"): return DIMSEStatus(rawValue: 0xA900)
        default: return DIMSEStatus(rawValue: 0xC000)
        }
    }
}
