import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One inotify instance (inotify(7)) and a pipe that wakes its reader for stopping. Used by one
/// thread at a time.
final class Inotify {
    struct Event {
        var wd: Int32
        var mask: UInt32
        var cookie: UInt32
        var name: String

        func has(_ flag: Int32) -> Bool { mask & UInt32(flag) != 0 }
        var isDirectory: Bool { has(IN_ISDIR) }
    }

    /// What a folder watch reports: files complete (closed after writing, or moved in), files
    /// opened and closed (to know which are still open), files and folders created, moved out or
    /// deleted, and the folder itself going away. IN_MODIFY is left out on purpose: a large copy
    /// would raise one event per write.
    static let folderMask = UInt32(IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
                                   | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

    let fd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init() throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            throw NodeError.storage("cannot watch folders: inotify_init1 failed (\(String(cString: strerror(errno))))")
        }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw NodeError.storage("cannot watch folders: pipe failed (\(String(cString: strerror(e))))")
        }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = ends[0]
        wakeWrite = ends[1]
    }

    deinit {
        Glibc.close(fd)
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    /// Watches one folder (not following a symbolic link). Returns the watch descriptor, or the
    /// errno text (ENOSPC: the user's `max_user_watches` limit is reached).
    func addWatch(_ path: String) -> Result<Int32, WatchFailure> {
        let wd = inotify_add_watch(fd, path, Self.folderMask)
        if wd >= 0 { return .success(wd) }
        let e = errno
        let hint = e == ENOSPC ? " (raise fs.inotify.max_user_watches)" : ""
        return .failure(WatchFailure(message: "cannot watch \(path): \(String(cString: strerror(e)))\(hint)"))
    }

    func removeWatch(_ wd: Int32) { _ = inotify_rm_watch(fd, wd) }

    /// Makes a waiting `next` return at once (from any thread).
    func wake() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)
    }

    /// Waits up to `timeout` seconds for events; returns those read (empty on timeout or wake-up).
    func next(timeout: Double) -> [Event] {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        let ms = Int32(max(0, min(timeout, 3600)) * 1000)
        guard poll(&fds, 2, ms) > 0 else { return [] }
        if fds[1].revents != 0 {
            var sink = [UInt8](repeating: 0, count: 64)
            while read(wakeRead, &sink, sink.count) > 0 {}
        }
        guard fds[0].revents != 0 else { return [] }
        var events: [Event] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            buffer.withUnsafeBytes { raw in
                // struct inotify_event: wd, mask, cookie, len, then `len` bytes of NUL-padded name.
                var offset = 0
                while offset + 16 <= n {
                    let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let cookie = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
                    let len = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = raw[(offset + 16)..<min(n, offset + 16 + len)].prefix { $0 != 0 }
                    events.append(Event(wd: wd, mask: mask, cookie: cookie, name: String(decoding: nameBytes, as: UTF8.self)))
                    offset += 16 + len
                }
            }
        }
        return events
    }
}

struct WatchFailure: Error {
    var message: String
}
