import Foundation

/// fsyncs of one folder shared by everyone who created an entry in it: a file created now needs
/// *a* sync that started after its creation, not one of its own. Requests are numbered; one
/// sync at a time runs in the background and covers every request made before it started
/// (group commit for folder entries, PS3.4 B.2.3's "stored" needs the name durable too).
final class FolderSync: @unchecked Sendable {
    let path: String
    private let condition = NSCondition()
    private var requested: UInt64 = 0
    private var synced: UInt64 = 0
    private var running = false
    /// Requests up to this number were covered by a sync that failed.
    private var failedThrough: UInt64 = 0
    private var failure: NodeError?

    init(path: String) { self.path = path }

    /// Notes a new entry and makes sure a sync covering it will run; the ticket is for `wait`.
    func request(on queue: DispatchQueue) -> UInt64 {
        condition.lock()
        requested += 1
        let ticket = requested
        let start = !running
        running = true
        condition.unlock()
        if start { queue.async { self.run() } }
        return ticket
    }

    private func run() {
        while true {
            condition.lock()
            let target = requested
            condition.unlock()
            var failed: NodeError?
            do { try Self.sync(path) } catch { failed = error as? NodeError ?? .storage("\(error)") }
            condition.lock()
            if let failed {
                failedThrough = target
                failure = failed
            } else {
                synced = max(synced, target)
            }
            condition.broadcast()
            if requested == target {
                running = false
                condition.unlock()
                return
            }
            condition.unlock()
        }
    }

    /// Returns once a sync that started after request `ticket` has succeeded; throws if the
    /// sync that covered it failed and none after it succeeded.
    func wait(for ticket: UInt64) throws {
        condition.lock()
        defer { condition.unlock() }
        while synced < ticket {
            if !running, failedThrough >= ticket, let failure { throw failure }
            condition.wait()
        }
    }

    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw NodeError.storage("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw NodeError.storage("fsync \(path): \(String(cString: strerror(errno)))") }
    }
}
