import Foundation

/// A named upload session (seed 003 `importSession`): the counters say how many files were
/// uploaded to it, how many of those were new to the store, and how many were refused.
public struct ImportSession: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var userId: Int64
    public var user: String
    /// Files stored through the session, new or already stored.
    public var filesImported: Int
    /// Files whose instance was new to the store.
    public var filesAdded: Int
    /// Files refused (not DICOM, broken, or the store failed).
    public var filesRejected: Int
    /// Milliseconds since 1970, as Slicebox.
    public var created: Int64
    public var lastUpdated: Int64

    /// Where images uploaded through this session come from (seed 003 `source`).
    public var source: Source { Source(type: .import, name: name, id: id) }
}

/// What one upload to a session did (seed 003 `POST /import/sessions/{id}/images`).
public enum ImportOutcome: Sendable {
    /// A new instance: HTTP 201 with the image.
    case added(Image)
    /// The instance was stored already (kept or replaced per the duplicate policy): HTTP 200 with the image.
    case alreadyStored(Image)
    /// Refused, with why: HTTP 400 for data the node cannot take (`invalidData`, `duplicate`),
    /// 500 for a storage failure (`storage`), as Slicebox.
    case rejected(NodeError)

    public var image: Image? {
        switch self {
        case .added(let i), .alreadyStored(let i): return i
        case .rejected: return nil
        }
    }
}
