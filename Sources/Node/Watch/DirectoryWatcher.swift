import Foundation
import DicomNet
#if canImport(Glibc)
import Glibc
#endif

/// One running watch: a thread that watches a folder tree with inotify and imports the files that
/// are complete.
///
/// A file becomes a candidate when it is closed after writing (IN_CLOSE_WRITE), moved in
/// (IN_MOVED_TO), found by a scan, or hard-linked in. It is imported only once its size and
/// modification time have stayed the same for `settle` seconds and nobody has it open (opens and
/// closes seen since the watch started are counted): a writer that closes and reopens (appending
/// in chunks) raises a new event each time and pushes the import back, and one that reopens and
/// then pauses is waited for until it closes. If the file changed while being read it is neither
/// moved nor deleted and becomes a candidate again. Symbolic links are never followed; dot-files
/// (temporary names of rsync and of many copy tools) and DICOMDIR (an index of a medium, not an
/// instance: PS3.10 8.6) are skipped.
final class DirectoryWatcher: @unchecked Sendable {
    let watch: WatchedDirectory
    private let ingest: Ingest
    private let log: NetLogger
    private let files: WatchedFiles
    private let settle: Double
    /// Called on the watch thread when the watched folder went away (deleted, renamed, unmounted).
    private let onGone: @Sendable (DirectoryWatcher) -> Void

    private let lock = NSLock()
    private var stopping = false
    private var scanned = false
    private var pendingCount = 0
    private let finished = DispatchSemaphore(value: 0)

    /// Set once by `start` before the thread runs; closed when the watcher is released.
    private var inotify: Inotify?
    // Owned by the watch thread.
    private var folders: [Int32: String] = [:]   // watch descriptor → folder relative to the root ("" = root)
    private var rootWd: Int32 = -1
    private var pending: [String: Pending] = [:]
    /// Files open now (IN_OPEN minus IN_CLOSE_*), by path: not imported until closed.
    private var openCount: [String: Int] = [:]
    private var rootGone = false

    private struct Pending {
        var size: Int64
        var mtime: Int64
        var due: Date
        /// Storage failures so far (disk full…): the next try waits longer each time.
        var failures = 0
    }

    init(watch: WatchedDirectory, ingest: Ingest, log: NetLogger, settle: Double, onGone: @escaping @Sendable (DirectoryWatcher) -> Void) {
        self.watch = watch
        self.ingest = ingest
        self.log = log
        self.settle = settle
        self.onGone = onGone
        files = WatchedFiles(db: ingest.index.db, watchId: watch.id)
    }

    /// Opens inotify and watches the root (so a missing folder fails here, in the caller), then
    /// scans and watches on the watch's own thread.
    func start() throws {
        let notify = try Inotify()
        switch notify.addWatch(watch.path) {
        case .success(let wd): rootWd = wd
        case .failure(let f): throw NodeError.badRequest(f.message)
        }
        inotify = notify
        folders[rootWd] = ""
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "watch-\(watch.id)"
        thread.start()
    }

    /// Stops the thread and waits for it (an import under way finishes first).
    func stop() {
        lock.lock()
        let wasStopping = stopping
        stopping = true
        lock.unlock()
        guard !wasStopping else { return }
        inotify?.wake()
        finished.wait()
    }

    /// The start-up scan is done and no file waits to settle (tests, status).
    var isIdle: Bool {
        lock.lock(); defer { lock.unlock() }
        return scanned && pendingCount == 0
    }

    private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

    private func absolute(_ relative: String) -> String { relative.isEmpty ? watch.path : watch.path + "/" + relative }
    private func join(_ folder: String, _ name: String) -> String { folder.isEmpty ? name : folder + "/" + name }

    // MARK: the thread

    private func run() {
        scan("")
        pruneVanished()
        lock.lock(); scanned = true; pendingCount = pending.count; lock.unlock()
        while !isStopping && !rootGone {
            let next = pending.values.map(\.due).min()
            let timeout = next.map { max(0, $0.timeIntervalSinceNow) } ?? 3600
            let events = inotify?.next(timeout: timeout) ?? []
            if !events.isEmpty { handle(events) }
            if isStopping { break }
            processDue()
            lock.lock(); pendingCount = pending.count; lock.unlock()
        }
        if rootGone && !isStopping {
            log.log(.warning, "watch", "the watched folder is gone; the watch is inactive until it is back",
                    ["name": watch.name, "path": watch.path])
            onGone(self)
        }
    }

    // MARK: scanning

    /// Watches `folder` and every folder below it, and makes candidates of the files found.
    /// The watch is added before the folder is listed, so a file arriving meanwhile is not missed.
    private func scan(_ folder: String) {
        guard let inotify else { return }
        if !folder.isEmpty {
            switch inotify.addWatch(absolute(folder)) {
            case .success(let wd): folders[wd] = folder
            case .failure(let f):
                log.log(.warning, "watch", "a subfolder cannot be watched; files added to it later are not seen",
                        ["name": watch.name, "folder": absolute(folder), "error": f.message])
            }
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: absolute(folder)) else { return }
        for name in names.sorted() {
            if isStopping { return }
            let relative = join(folder, name)
            guard let facts = FileFacts.of(absolute(relative)) else { continue }
            switch facts.kind {
            case .directory: scan(relative)
            case .regular: candidate(relative, facts)
            case .symlink, .other: continue
            }
        }
    }

    /// Forgets entries of files no longer there (deleted or moved away while the node was down).
    private func pruneVanished() {
        do {
            let gone = try files.paths().filter { FileFacts.of(absolute($0)) == nil }
            try files.forget(gone)
        } catch {
            log.log(.error, "watch", "cannot read the watch's file list", ["name": watch.name, "error": "\(error)"])
        }
    }

    // MARK: events

    private func handle(_ events: [Inotify.Event]) {
        // IN_MOVED_FROM / IN_MOVED_TO pairs of one rename share a cookie (inotify(7)).
        var movedFrom: [UInt32: (path: String, isDirectory: Bool, open: Int)] = [:]
        for e in events {
            if e.has(IN_Q_OVERFLOW) {
                // Events were lost: look at the whole tree again (known files are skipped).
                log.log(.warning, "watch", "too many changes at once; rescanning the folder", ["name": watch.name])
                openCount.removeAll()
                scan("")
                continue
            }
            guard let folder = folders[e.wd] else { continue }
            if e.has(IN_IGNORED) {
                folders[e.wd] = nil
                if e.wd == rootWd { rootGone = true }
                continue
            }
            if e.has(IN_DELETE_SELF) || e.has(IN_MOVE_SELF) || e.has(IN_UNMOUNT) {
                if e.wd == rootWd { rootGone = true }
                continue
            }
            let path = join(folder, e.name)
            if e.isDirectory {
                if e.has(IN_CREATE) {
                    scan(path)
                } else if e.has(IN_MOVED_TO) {
                    if let old = movedFrom.removeValue(forKey: e.cookie), old.isDirectory { rename(folder: old.path, to: path) }
                    scan(path)
                } else if e.has(IN_MOVED_FROM) {
                    unwatch(folder: path)
                    movedFrom[e.cookie] = (path, true, 0)
                } else if e.has(IN_DELETE) {
                    forget(under: path)
                }
                continue  // IN_OPEN / IN_CLOSE_NOWRITE of folders (listing them) say nothing
            }
            if e.has(IN_OPEN) { openCount[path, default: 0] += 1 }
            if e.has(IN_CLOSE_WRITE) || e.has(IN_CLOSE_NOWRITE) {
                // Opened before the watch saw it: never below zero.
                let left = (openCount[path] ?? 0) - 1
                openCount[path] = left > 0 ? left : nil
            }
            if e.has(IN_MOVED_FROM) {
                pending[path] = nil
                movedFrom[e.cookie] = (path, false, openCount.removeValue(forKey: path) ?? 0)
            } else if e.has(IN_DELETE) {
                pending[path] = nil
                openCount[path] = nil
                try? files.forget(path)
            } else if e.has(IN_CLOSE_WRITE) || e.has(IN_MOVED_TO) || e.has(IN_CREATE),
                      let facts = FileFacts.of(absolute(path)), facts.kind == .regular {
                if e.has(IN_MOVED_TO), let old = movedFrom.removeValue(forKey: e.cookie), !old.isDirectory {
                    // A rename inside the watch keeps what was known of the file (same size and mtime).
                    _ = try? files.rename(old.path, to: path)
                    if old.open > 0 { openCount[path] = old.open }
                }
                if e.has(IN_CLOSE_WRITE) || e.has(IN_MOVED_TO) || facts.links > 1 {
                    candidate(path, facts)
                }
            }
        }
        // Moved out of the watch: nothing is known of them any more.
        for (_, moved) in movedFrom {
            if moved.isDirectory { forget(under: moved.path) } else { try? files.forget(moved.path) }
        }
    }

    private func unwatch(folder: String) {
        let prefix = folder + "/"
        for (wd, f) in folders where f == folder || f.hasPrefix(prefix) {
            inotify?.removeWatch(wd)
            folders[wd] = nil
        }
    }

    private func forget(under folder: String) {
        let prefix = folder + "/"
        for p in pending.keys where p.hasPrefix(prefix) { pending[p] = nil }
        for p in openCount.keys where p.hasPrefix(prefix) { openCount[p] = nil }
        try? files.forget(under: folder)
    }

    private func rename(folder old: String, to new: String) {
        let prefix = old + "/"
        for (p, n) in openCount where p.hasPrefix(prefix) {
            openCount[p] = nil
            openCount[new + "/" + p.dropFirst(prefix.count)] = n
        }
        for p in pending.keys where p.hasPrefix(prefix) { pending[p] = nil }  // found again by the scan of the new name
        do { try files.rename(folder: old, to: new) } catch {
            log.log(.error, "watch", "cannot record a renamed folder", ["name": watch.name, "folder": new, "error": "\(error)"])
        }
    }

    // MARK: importing

    private func candidate(_ path: String, _ facts: FileFacts) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard !name.hasPrefix("."), name != "DICOMDIR" else { return }
        if (try? files.isKnown(path, facts)) == true { pending[path] = nil; return }
        pending[path] = Pending(size: facts.size, mtime: facts.mtime, due: Date().addingTimeInterval(settle))
    }

    private func processDue() {
        let now = Date()
        var imported = 0, rejected = 0
        for (path, p) in pending.sorted(by: { $0.key < $1.key }) where p.due <= now {
            if isStopping { return }
            guard let facts = FileFacts.of(absolute(path)), facts.kind == .regular else { pending[path] = nil; continue }
            if facts.size != p.size || facts.mtime != p.mtime || openCount[path, default: 0] > 0 {
                pending[path] = Pending(size: facts.size, mtime: facts.mtime, due: now.addingTimeInterval(settle))  // still being written
                continue
            }
            pending[path] = nil
            if (try? files.isKnown(path, facts)) == true { continue }
            switch importFile(path, facts, failures: p.failures) {
            case .imported: imported += 1
            case .rejected: rejected += 1
            case .later: break
            }
        }
        if imported + rejected > 0 {
            log.log(.info, "watch", "imported files", ["name": watch.name, "imported": "\(imported)", "rejected": "\(rejected)"])
        }
    }

    private enum Outcome { case imported, rejected, later }

    private func importFile(_ path: String, _ facts: FileFacts, failures: Int) -> Outcome {
        let full = absolute(path)
        let result: Result<Ingest.Result, NodeError>
        do { result = .success(try ingest.store(path: full, source: watch.source)) } catch {
            result = .failure((error as? NodeError) ?? .storage("\(error)"))
        }
        // Changed while it was read: whatever was read may be a part; look again once it settles.
        guard FileFacts.of(full) == facts else {
            if let now = FileFacts.of(full), now.kind == .regular {
                pending[path] = Pending(size: now.size, mtime: now.mtime, due: Date().addingTimeInterval(settle))
            }
            return .later
        }
        switch result {
        case .success:
            afterImport(path, facts)
            return .imported
        case .failure(.storage(let message)):
            // Not the file's fault (disk full, index error): try again later, waiting longer each time.
            let delay = min(600, 30 * pow(2, Double(min(failures, 5))))
            pending[path] = Pending(size: facts.size, mtime: facts.mtime, due: Date().addingTimeInterval(delay), failures: failures + 1)
            log.log(.error, "watch", "cannot store a file; will try again", ["name": watch.name, "file": full, "retry_s": "\(Int(delay))",
                                                                             "error": message])
            return .later
        case .failure(let error):
            // Not DICOM, broken or refused: said once, and tried again only if the file changes.
            log.log(.warning, "watch", "file not imported: \(error)", ["name": watch.name, "file": full, "size": "\(facts.size)"])
            remember(path, facts, .rejected)
            return .rejected
        }
    }

    private func afterImport(_ path: String, _ facts: FileFacts) {
        let full = absolute(path)
        switch watch.afterImport {
        case .leave:
            remember(path, facts, .imported)
        case .delete:
            if unlink(full) != 0 {
                log.log(.warning, "watch", "imported, but cannot delete the file; it stays",
                        ["name": watch.name, "file": full, "error": String(cString: strerror(errno))])
                remember(path, facts, .imported)
            }
        case .move:
            guard let folder = watch.moveTo else { remember(path, facts, .imported); return }
            let target = uniqueTarget(folder + "/" + path)
            do {
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try FileManager.default.moveItem(atPath: full, toPath: target)
            } catch {
                log.log(.warning, "watch", "imported, but cannot move the file; it stays",
                        ["name": watch.name, "file": full, "to": target, "error": "\(error)"])
                remember(path, facts, .imported)
            }
        }
    }

    /// `path`, or `path` with `-2`, `-3`… before its extension when a file of that name is there already.
    private func uniqueTarget(_ path: String) -> String {
        guard FileFacts.of(path) != nil else { return path }
        let ns = path as NSString
        let ext = ns.pathExtension
        let stem = ext.isEmpty ? path : ns.deletingPathExtension
        var n = 2
        while true {
            let candidate = stem + "-\(n)" + (ext.isEmpty ? "" : "." + ext)
            if FileFacts.of(candidate) == nil { return candidate }
            n += 1
        }
    }

    private func remember(_ path: String, _ facts: FileFacts, _ outcome: WatchedFiles.Outcome) {
        do { try files.save(path, facts, outcome) } catch {
            log.log(.error, "watch", "cannot record a file as done; it may be imported again after a restart",
                    ["name": watch.name, "file": absolute(path), "error": "\(error)"])
        }
    }
}
