import Foundation

/// Runs the real peers the tests talk to (python3 with pydicom/pynetdicom, DCMTK tools) and
/// collects their output. Shared by every test target so there is one way to do it.
public enum PeerProcess {
    /// Runs `executable` to the end; returns its status, stdout and stderr. Both pipes are read
    /// at once so a chatty child cannot block on a full pipe. With a `timeout`, a child still
    /// running after that many seconds is killed (SIGKILL), so a hung peer cannot hang the test.
    @discardableResult
    public static func run(_ executable: String, _ args: [String], environment: [String: String]? = nil,
                           timeout: Double? = nil) throws -> (Int32, Data, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        var watchdog: DispatchWorkItem? = nil
        if let timeout {
            let pid = p.processIdentifier
            let w = DispatchWorkItem { kill(pid, SIGKILL) }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: w)
            watchdog = w
        }
        defer { watchdog?.cancel() }
        let errData = LockedData()
        let t = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        t.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !errData.done { usleep(1000) }
        return (p.terminationStatus, o, String(decoding: errData.data, as: UTF8.self))
    }

    /// This process's environment with `extra` on top.
    public static func environment(adding extra: [String: String]) -> [String: String] {
        var e = ProcessInfo.processInfo.environment
        for (k, v) in extra { e[k] = v }
        return e
    }
}

/// Data handed from one thread to another, with a flag for "it has arrived".
public final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var _data = Data()
    private var _done = false
    public init() {}
    public func set(_ d: Data) { lock.lock(); _data = d; _done = true; lock.unlock() }
    public var done: Bool { lock.lock(); defer { lock.unlock() }; return _done }
    public var data: Data { lock.lock(); defer { lock.unlock() }; return _data }
}
