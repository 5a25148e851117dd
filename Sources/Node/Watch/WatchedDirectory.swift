import Foundation

/// What becomes of a file once its image is in the store.
public enum AfterImport: String, Sendable, CaseIterable {
    /// The file stays; the watch remembers it (path, size, mtime) so a restart does not import it again.
    case leave
    /// The file is moved under `moveTo`, keeping its path relative to the watched folder.
    case move
    /// The file is deleted (Slicebox `directory-watch.delete-on-import`).
    case delete
}

/// A watched folder (seed 003 `watchedDirectory`: `id`, `path`; `name` as Slicebox keeps it), with
/// what to do with imported files and whether the watch runs now.
public struct WatchedDirectory: Sendable, Equatable {
    public var id: Int64
    public var name: String
    /// Absolute, with symbolic links resolved (so parent/child checks compare real folders).
    public var path: String
    public var afterImport: AfterImport
    /// The folder imported files are moved to when `afterImport` is `.move`, else nil.
    public var moveTo: String?
    /// False while the folder is missing (gone at start-up or removed while watched): the watch is
    /// kept and starts again by itself when the folder is back.
    public var active: Bool

    public init(id: Int64, name: String, path: String, afterImport: AfterImport = .leave, moveTo: String? = nil, active: Bool = false) {
        self.id = id
        self.name = name
        self.path = path
        self.afterImport = afterImport
        self.moveTo = moveTo
        self.active = active
    }

    /// Where images imported from this folder come from (seed 003 `source`).
    public var source: Source { Source(type: .directory, name: name, id: id) }
}
