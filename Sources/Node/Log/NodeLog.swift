import Foundation
import DicomNet

/// The node's log: every event as one line on stderr (`level subject message key=value…`) and,
/// from `info` up, a row in the log table (Slicebox `logEntry`). Rows are written by a background
/// flush in batches, so logging never adds a disk sync to an image's acknowledgement.
public final class NodeLog: NetLogger, @unchecked Sendable {
    private let stderr: StderrLogger
    private let lock = NSLock()
    private var queue: [(Int64, LogEntryType, String, String)] = []
    private weak var index: SQLiteIndex?
    private var timer: DispatchSourceTimer?

    /// The table keeps the newest this many entries (one per C-STORE adds up: a million images
    /// must not mean a million log rows forever).
    public let retention: Int

    public init(minimumLevel: NetLogLevel = .info, retention: Int = 100_000) {
        stderr = StderrLogger(minimumLevel: minimumLevel)
        self.retention = retention
    }

    /// Starts persisting to `index` (flushed every `interval` seconds and by `flush()`).
    public func persist(to index: SQLiteIndex, interval: Double = 1) {
        lock.lock()
        self.index = index
        lock.unlock()
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "log-flush"))
        t.schedule(deadline: .now() + interval, repeating: interval)
        t.setEventHandler { [weak self] in self?.flush() }
        t.resume()
        timer = t
    }

    public func log(_ level: NetLogLevel, _ subject: String, _ message: String, _ fields: KeyValuePairs<String, String>) {
        stderr.log(level, subject, message, fields)
        guard level >= .info else { return }
        var text = message
        for (k, v) in fields { text += " \(k)=\(v)" }
        let type: LogEntryType = level == .error ? .ERROR : level == .warning ? .WARN : .INFO
        lock.lock()
        queue.append((Int64(Date().timeIntervalSince1970 * 1000), type, subject, text))
        lock.unlock()
    }

    public func flush() {
        lock.lock()
        let batch = queue
        queue.removeAll()
        let index = self.index
        lock.unlock()
        guard let index, !batch.isEmpty else { return }
        do {
            try index.db.write { c in
                var last: Int64 = 0
                for (created, type, subject, message) in batch {
                    last = try c.run("INSERT INTO log_entries (created, entry_type, subject, message) VALUES (?,?,?,?)",
                                     [.integer(created), .text(type.rawValue), .text(subject), .text(message)])
                }
                try c.run("DELETE FROM log_entries WHERE id <= ?", [.integer(last - Int64(retention))])
            }
        } catch {
            stderr.log(.error, "log", "cannot persist log entries", ["count": "\(batch.count)", "error": "\(error)"])
        }
    }

    public func stop() {
        timer?.cancel()
        flush()
    }
}

extension SQLiteIndex {
    /// Log entries, newest first, optionally of one subject and/or type (seed 003 `GET /log`).
    public func logEntries(startIndex: Int = 0, count: Int = 20, subject: String? = nil, type: LogEntryType? = nil) throws -> [LogEntry] {
        var sql = "SELECT id, created, entry_type, subject, message FROM log_entries WHERE 1=1"
        var parameters: [SQLValue] = []
        if let subject { sql += " AND subject = ?"; parameters.append(.text(subject)) }
        if let type { sql += " AND entry_type = ?"; parameters.append(.text(type.rawValue)) }
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        parameters += [.integer(Int64(count)), .integer(Int64(startIndex))]
        return try db.read { c in
            try c.query(sql, parameters).map {
                LogEntry(id: $0[0].int!, created: $0[1].int ?? 0, entryType: LogEntryType(rawValue: $0[2].string ?? "") ?? .DEFAULT,
                         subject: $0[3].string ?? "", message: $0[4].string ?? "")
            }
        }
    }

    public func deleteLogEntry(id: Int64) throws {
        try db.write { try $0.run("DELETE FROM log_entries WHERE id=?", [.integer(id)]) }
    }

    public func clearLog() throws {
        try db.write { try $0.run("DELETE FROM log_entries") }
    }
}
