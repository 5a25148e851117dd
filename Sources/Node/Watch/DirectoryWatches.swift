import Foundation
import DicomNet
#if canImport(Glibc)
import Glibc
#endif

/// The node's watched folders (seed 003 `/directorywatches`): persisted, each watched by its own
/// thread (`DirectoryWatcher`) that imports every DICOM file dropped in the folder or below it.
///
/// Validation as Slicebox: the path must be an existing folder, neither inside nor around another
/// watched folder; the same name and path again return the existing watch. Unlike Slicebox, which
/// drops a watch whose folder is gone at start-up, a missing folder leaves the watch inactive (one
/// log line) and it starts by itself when the folder is back (a remounted share, a recreated
/// folder) — checked every `retryInterval` seconds. A folder removed while watched is handled the same.
public final class DirectoryWatches: @unchecked Sendable {
    public let ingest: Ingest
    let log: NetLogger
    /// Seconds a file's size and modification time must stay unchanged before it is imported.
    public let settleInterval: Double
    public let retryInterval: Double

    private let lock = NSLock()
    private var running: [Int64: DirectoryWatcher] = [:]
    private var started = false
    private var retryTimer: DispatchSourceTimer?
    private let control = DispatchQueue(label: "directory-watches")

    public init(ingest: Ingest, log: NetLogger, settleInterval: Double = 2, retryInterval: Double = 5) {
        self.ingest = ingest
        self.log = log
        self.settleInterval = settleInterval
        self.retryInterval = retryInterval
    }

    private var db: Database { ingest.index.db }

    // MARK: running

    /// Starts every persisted watch whose folder exists; the others are logged and wait for their folder.
    public func start() throws {
        lock.lock()
        guard !started else { lock.unlock(); return }
        started = true
        lock.unlock()
        for w in try stored() { activate(w, atStartUp: true) }
        let timer = DispatchSource.makeTimerSource(queue: control)
        timer.schedule(deadline: .now() + retryInterval, repeating: retryInterval)
        timer.setEventHandler { [weak self] in self?.retryInactive() }
        timer.resume()
        lock.lock(); retryTimer = timer; lock.unlock()
    }

    /// Stops every watch (an import under way finishes first).
    public func stop() {
        lock.lock()
        started = false
        let watchers = Array(running.values)
        running.removeAll()
        let timer = retryTimer
        retryTimer = nil
        lock.unlock()
        timer?.cancel()
        control.sync {}  // a retry in progress has finished
        for w in watchers { w.stop() }
        lock.lock()
        let late = Array(running.values)  // started by that retry meanwhile
        running.removeAll()
        lock.unlock()
        for w in late { w.stop() }
    }

    /// Starts `watch` when its folder is there (and the service runs). Quiet when `quiet` (retries).
    private func activate(_ watch: WatchedDirectory, atStartUp: Bool = false, quiet: Bool = false) {
        lock.lock()
        guard started, running[watch.id] == nil else { lock.unlock(); return }
        lock.unlock()
        guard FileFacts.of(watch.path)?.kind == .directory else {
            if !quiet {
                log.log(.warning, "watch", "the watched folder is missing; the watch is inactive until it is back",
                        ["name": watch.name, "path": watch.path, "id": "\(watch.id)"])
            }
            return
        }
        let watcher = DirectoryWatcher(watch: watch, ingest: ingest, log: log, settle: settleInterval) { [weak self] gone in
            guard let self else { return }
            lock.lock()
            if running[gone.watch.id] === gone { running[gone.watch.id] = nil }
            lock.unlock()
        }
        do {
            lock.lock()
            guard started, running[watch.id] == nil else { lock.unlock(); return }
            running[watch.id] = watcher
            lock.unlock()
            try watcher.start()
            log.log(.info, "watch", atStartUp ? "watching" : "watching again", ["name": watch.name, "path": watch.path, "id": "\(watch.id)",
                                                                                "after_import": watch.afterImport.rawValue])
        } catch {
            lock.lock(); running[watch.id] = nil; lock.unlock()
            if !quiet { log.log(.error, "watch", "cannot watch the folder: \(error)", ["name": watch.name, "path": watch.path]) }
        }
    }

    private func retryInactive() {
        guard let all = try? stored() else { return }
        lock.lock()
        let inactive = all.filter { running[$0.id] == nil }
        lock.unlock()
        for w in inactive where FileFacts.of(w.path)?.kind == .directory { activate(w, quiet: true) }
    }

    /// True when the watch runs, has scanned its folder and has no file waiting to settle.
    func isIdle(id: Int64) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return running[id]?.isIdle ?? false
    }

    // MARK: the REST resource

    /// The watches in id order (seed 003 `GET /directorywatches`), each with whether it runs now.
    public func list(startIndex: Int = 0, count: Int = 20) throws -> [WatchedDirectory] {
        guard startIndex >= 0, count >= 0 else { throw NodeError.badRequest("startindex and count must not be negative") }
        let rows = try db.read { c in
            try c.query("SELECT id, name, path, after_import, move_to FROM directory_watches ORDER BY id LIMIT ? OFFSET ?",
                        [.integer(Int64(count)), .integer(Int64(startIndex))])
        }
        return withActive(rows.map(Self.watch))
    }

    public func watch(id: Int64) throws -> WatchedDirectory {
        let row = try db.read { c in
            try c.query("SELECT id, name, path, after_import, move_to FROM directory_watches WHERE id=?", [.integer(id)]).first
        }
        guard let row else { throw NodeError.notFound("directory watch \(id)") }
        return withActive([Self.watch(row)])[0]
    }

    private func stored() throws -> [WatchedDirectory] {
        try db.read { try $0.query("SELECT id, name, path, after_import, move_to FROM directory_watches ORDER BY id").map(Self.watch) }
    }

    private static func watch(_ r: [SQLValue]) -> WatchedDirectory {
        WatchedDirectory(id: r[0].int!, name: r[1].string ?? "", path: r[2].string ?? "",
                         afterImport: AfterImport(rawValue: r[3].string ?? "") ?? .leave, moveTo: r[4].string)
    }

    private func withActive(_ watches: [WatchedDirectory]) -> [WatchedDirectory] {
        lock.lock(); defer { lock.unlock() }
        return watches.map { var w = $0; w.active = running[w.id] != nil; return w }
    }

    /// Adds a watch and starts it (seed 003 `POST /directorywatches`). The same name and path
    /// (and settings) again return the existing watch.
    ///
    /// - Parameters:
    ///   - path: an existing folder; stored absolute with symbolic links resolved.
    ///   - afterImport: leave, move (to `moveTo`, created if missing) or delete imported files.
    public func add(name: String, path: String, afterImport: AfterImport = .leave, moveTo: String? = nil) throws -> WatchedDirectory {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw NodeError.badRequest("a directory watch needs a name") }
        let folder = try Self.existingFolder(path)
        let moveTo = moveTo.flatMap { $0.isEmpty ? nil : $0 }
        var target: String? = nil
        switch (afterImport, moveTo) {
        case (.move, nil): throw NodeError.badRequest("moving imported files needs a folder to move them to (moveTo)")
        case (.move, let m?): target = Self.resolved(m)
        case (_, let m?): throw NodeError.badRequest("moveTo ('\(m)') is only used when imported files are moved (afterImport 'move')")
        case (_, nil): break
        }

        let existing = try stored()
        if let same = existing.first(where: { $0.name == name && $0.path == folder }) {
            guard same.afterImport == afterImport, same.moveTo == target else {
                throw NodeError.badRequest("the directory watch '\(name)' of '\(folder)' exists with other settings; remove it first")
            }
            return withActive([same])[0]
        }
        if let other = existing.first(where: { $0.name == name }) {
            throw NodeError.badRequest("a directory watch named '\(name)' already exists (for '\(other.path)')")
        }
        for other in existing {
            if other.path == folder { throw NodeError.badRequest("'\(folder)' is already watched (watch '\(other.name)')") }
            if Self.isInside(folder, other.path) {
                throw NodeError.badRequest("'\(folder)' is inside the watched folder '\(other.path)' (watch '\(other.name)')")
            }
            if Self.isInside(other.path, folder) {
                throw NodeError.badRequest("'\(folder)' contains the watched folder '\(other.path)' (watch '\(other.name)')")
            }
            if let m = other.moveTo, m == folder || Self.isInside(m, folder) {
                throw NodeError.badRequest("'\(folder)' holds '\(m)', where watch '\(other.name)' moves its imported files")
            }
            if let target, target == other.path || Self.isInside(target, other.path) {
                throw NodeError.badRequest("imported files cannot be moved to '\(target)': it is watched by '\(other.name)'")
            }
        }
        if let target, target == folder || Self.isInside(target, folder) {
            throw NodeError.badRequest("imported files cannot be moved to '\(target)': it is inside the watched folder")
        }
        // The node's own data folder would import its own store.
        let data = (try? Self.existingFolder(ingest.store.root)) ?? ingest.store.root
        if folder == data || Self.isInside(folder, data) || Self.isInside(data, folder) {
            throw NodeError.badRequest("'\(folder)' overlaps the node's data folder '\(data)'")
        }

        if let target {
            do { try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true) } catch {
                throw NodeError.badRequest("cannot create the folder '\(target)' for imported files: \(error.localizedDescription)")
            }
            guard try Self.existingFolder(target) == target else {
                throw NodeError.badRequest("the folder for imported files '\(target)' changed while it was created")
            }
        }
        let id: Int64
        do {
            id = try db.write { try $0.run("INSERT INTO directory_watches (name, path, after_import, move_to) VALUES (?,?,?,?)",
                                           [.text(name), .text(folder), .text(afterImport.rawValue), SQLValue(target)]) }
        } catch let e as SQLiteError where e.isConstraint {
            throw NodeError.badRequest("a directory watch named '\(name)' or for '\(folder)' was just added")
        }
        let watch = WatchedDirectory(id: id, name: name, path: folder, afterImport: afterImport, moveTo: target)
        log.log(.info, "watch", "added", ["name": name, "path": folder, "id": "\(id)", "after_import": afterImport.rawValue])
        activate(watch)
        return withActive([watch])[0]
    }

    /// Stops and removes a watch with what it knew of its files (seed 003 `DELETE /directorywatches/{id}`;
    /// an unknown id is not an error, as Slicebox). Imported images stay in the store.
    public func remove(id: Int64) throws {
        // On the retry queue, so a retry cannot start the watch again between the stop and the delete.
        let removed = try control.sync { () throws -> Bool in
            lock.lock()
            let watcher = running.removeValue(forKey: id)
            lock.unlock()
            watcher?.stop()
            return try db.write { c -> Bool in
                try c.run("DELETE FROM directory_watches WHERE id=?", [.integer(id)])
                return c.changes > 0
            }
        }
        if removed { log.log(.info, "watch", "removed", ["id": "\(id)"]) }
    }

    // MARK: paths

    /// `path` made absolute with symbolic links resolved; throws unless it is a readable folder.
    static func existingFolder(_ path: String) throws -> String {
        guard !path.trimmingCharacters(in: .whitespaces).isEmpty else { throw NodeError.badRequest("the folder path is empty") }
        guard let resolved = realpath(path, nil) else {
            throw NodeError.badRequest("'\(path)' does not exist or cannot be reached (\(String(cString: strerror(errno))))")
        }
        defer { free(resolved) }
        let folder = String(cString: resolved)
        guard FileFacts.of(folder)?.kind == .directory else { throw NodeError.badRequest("'\(path)' is not a folder") }
        guard access(folder, R_OK | X_OK) == 0 else { throw NodeError.badRequest("the folder '\(path)' cannot be read by the node") }
        return folder
    }

    /// `path` made absolute, with the symbolic links of its longest existing part resolved (a folder
    /// that is created later: compared with watched folders before it exists).
    static func resolved(_ path: String) -> String {
        var head = URL(fileURLWithPath: path).standardizedFileURL.path
        var tail: [String] = []
        while head != "/" && !head.isEmpty {
            if let r = realpath(head, nil) {
                defer { free(r) }
                return ([String(cString: r)] + tail.reversed()).joined(separator: "/").replacingOccurrences(of: "//", with: "/")
            }
            tail.append((head as NSString).lastPathComponent)
            head = (head as NSString).deletingLastPathComponent
        }
        return "/" + tail.reversed().joined(separator: "/")
    }

    /// True when `path` is strictly below `folder` (whole path components: /a/bc is not inside /a/b).
    static func isInside(_ path: String, _ folder: String) -> Bool {
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        return path.hasPrefix(base) && path.count > base.count
    }
}
