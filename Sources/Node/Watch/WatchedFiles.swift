import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `lstat` says about a path: symbolic links are seen as links, never followed.
struct FileFacts: Equatable {
    enum Kind { case regular, directory, symlink, other }
    var kind: Kind
    var size: Int64
    /// Modification time in nanoseconds since 1970.
    var mtime: Int64
    var links: Int

    static func of(_ path: String) -> FileFacts? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        let kind: Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        return FileFacts(kind: kind, size: Int64(st.st_size), mtime: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                         links: Int(st.st_nlink))
    }
}

/// The files a watch has dealt with (`directory_watch_files`), by path relative to the watched folder.
struct WatchedFiles {
    enum Outcome: String { case imported, rejected }
    struct Entry: Equatable {
        var size: Int64
        var mtime: Int64
        var outcome: Outcome
    }

    let db: Database
    let watchId: Int64

    func entry(_ path: String) throws -> Entry? {
        try db.read { c in
            try c.query("SELECT size, mtime, outcome FROM directory_watch_files WHERE watch_ref=? AND path=?",
                        [.integer(watchId), .text(path)]).first.map {
                Entry(size: $0[0].int ?? -1, mtime: $0[1].int ?? -1, outcome: Outcome(rawValue: $0[2].string ?? "") ?? .imported)
            }
        }
    }

    /// True when `path` was dealt with as it is now (same size and modification time).
    func isKnown(_ path: String, _ facts: FileFacts) throws -> Bool {
        guard let e = try entry(path) else { return false }
        return e.size == facts.size && e.mtime == facts.mtime
    }

    func save(_ path: String, _ facts: FileFacts, _ outcome: Outcome) throws {
        try db.write { c in
            try c.run("INSERT OR REPLACE INTO directory_watch_files (watch_ref, path, size, mtime, outcome) VALUES (?,?,?,?,?)",
                      [.integer(watchId), .text(path), .integer(facts.size), .integer(facts.mtime), .text(outcome.rawValue)])
        }
    }

    func forget(_ path: String) throws {
        try db.write { try $0.run("DELETE FROM directory_watch_files WHERE watch_ref=? AND path=?", [.integer(watchId), .text(path)]) }
    }

    /// Forgets every file under the folder `path` (moved out of the watch, or deleted).
    func forget(under folder: String) throws {
        let prefix = folder + "/"
        try db.write {
            try $0.run("DELETE FROM directory_watch_files WHERE watch_ref=? AND substr(path, 1, ?)=?",
                       [.integer(watchId), .integer(sqlLength(prefix)), .text(prefix)])
        }
    }

    /// A file renamed inside the watch keeps its entry. Returns false when there was none.
    func rename(_ old: String, to new: String) throws -> Bool {
        try db.write { c in
            try c.run("DELETE FROM directory_watch_files WHERE watch_ref=? AND path=?", [.integer(watchId), .text(new)])
            try c.run("UPDATE directory_watch_files SET path=? WHERE watch_ref=? AND path=?", [.text(new), .integer(watchId), .text(old)])
            return c.changes > 0
        }
    }

    /// A folder renamed inside the watch: its files keep their entries under the new name.
    func rename(folder old: String, to new: String) throws {
        let oldPrefix = old + "/", newPrefix = new + "/"
        try db.write { c in
            try c.run("DELETE FROM directory_watch_files WHERE watch_ref=? AND substr(path, 1, ?)=?",
                      [.integer(watchId), .integer(sqlLength(newPrefix)), .text(newPrefix)])
            try c.run("UPDATE directory_watch_files SET path = ? || substr(path, ?) WHERE watch_ref=? AND substr(path, 1, ?)=?",
                      [.text(newPrefix), .integer(sqlLength(oldPrefix) + 1), .integer(watchId),
                       .integer(sqlLength(oldPrefix)), .text(oldPrefix)])
        }
    }

    /// SQLite's `substr` counts Unicode code points in text.
    private func sqlLength(_ s: String) -> Int64 { Int64(s.unicodeScalars.count) }

    func paths() throws -> [String] {
        try db.read { try $0.query("SELECT path FROM directory_watch_files WHERE watch_ref=?", [.integer(watchId)]).compactMap { $0[0].string } }
    }

    func forget(_ paths: [String]) throws {
        guard !paths.isEmpty else { return }
        try db.write { c in
            for p in paths { try c.run("DELETE FROM directory_watch_files WHERE watch_ref=? AND path=?", [.integer(watchId), .text(p)]) }
        }
    }
}
