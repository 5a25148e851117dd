import Foundation

/// What happens when an instance arrives whose SOP Instance UID is already stored.
public enum DuplicatePolicy: String, Sendable, CaseIterable {
    /// Store the new copy and keep the image id (Slicebox: 201 first, 200 after).
    case replace
    /// Keep the stored copy, discard the new one, and answer success.
    case keep
    /// Refuse the new copy with a failure status.
    case reject
}

/// One instance as the index records it.
public struct IndexRecord: Sendable {
    /// Column → value for every `IndexedAttribute` (see `IndexedAttribute.value(in:)`).
    public var values: [String: String]
    public var transferSyntaxUID: String
    public var storageKey: String
    public var fileSize: Int64
    /// `Checksum` of the whole file: start-up repair tells a complete file from one whose data
    /// never reached the disk.
    public var checksum: UInt64
    public var source: Source

    public var sopInstanceUID: String { values["sop_instance_uid"] ?? "" }

    public init(values: [String: String], transferSyntaxUID: String, storageKey: String, fileSize: Int64, checksum: UInt64, source: Source) {
        self.values = values
        self.transferSyntaxUID = transferSyntaxUID
        self.storageKey = storageKey
        self.fileSize = fileSize
        self.checksum = checksum
        self.source = source
    }
}

/// What `MetadataIndex.add` did.
public struct IndexOutcome: Sendable, Equatable {
    public var imageId: Int64
    public var seriesId: Int64
    /// False when the SOP Instance UID was already stored.
    public var added: Bool
    /// False when the policy kept the stored copy: the new file is not referenced.
    public var stored: Bool
    /// The replaced copy's file, to remove once the transaction committed.
    public var replacedStorageKey: String?
}

/// The metadata index: patients → studies → series → images, their sources, and the node's
/// own records (log, SCPs, SCUs). A protocol so another engine (e.g. PostgreSQL) can stand in.
public protocol MetadataIndex: Sendable {
    func add(_ record: IndexRecord, policy: DuplicatePolicy) throws -> IndexOutcome
    func storedImage(id: Int64) throws -> StoredImage?
    func storedImage(sopInstanceUID: String) throws -> StoredImage?
    /// Removes the rows (and parents left empty); returns the storage keys now journalled for removal.
    func deleteImages(ids: [Int64]) throws -> [String]
    func pendingFileDeletions() throws -> [String]
    func fileDeletionsDone(_ keys: [String]) throws
    func hasImage(storageKey: String) throws -> Bool
    func storedImage(storageKey: String) throws -> StoredImage?
    func counts() throws -> (patients: Int, studies: Int, series: Int, images: Int)
}
