import Foundation
import CSQLite

/// A value bound to or read from SQLite. Only these four kinds cross the boundary, so every
/// statement uses bound parameters (never string interpolation of values).
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    public var int: Int64? { if case .integer(let v) = self { return v }; return nil }
    public var string: String? {
        switch self {
        case .text(let s): return s
        case .integer(let v): return String(v)
        case .real(let v): return String(v)
        case .null: return nil
        }
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(_ s: String?) { self = s.map { .text($0) } ?? .null }
    public init(_ i: Int64?) { self = i.map { .integer($0) } ?? .null }
    public init(_ i: Int?) { self = i.map { .integer(Int64($0)) } ?? .null }
}

public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var sql: String?
    public var description: String { "SQLite error \(code): \(message)" + (sql.map { " in \($0.prefix(120))" } ?? "") }
    /// SQLITE_CONSTRAINT: a unique or foreign-key rule refused the change.
    public var isConstraint: Bool { code & 0xFF == SQLITE_CONSTRAINT }
    public var isFull: Bool { code & 0xFF == SQLITE_FULL || code & 0xFF == SQLITE_IOERR }
}

// SQLITE_TRANSIENT: SQLite copies bound text before the call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection. Not thread-safe by itself: `Database` serialises access with a lock.
public final class SQLiteConnection {
    let handle: OpaquePointer
    public let path: String
    private var cache: [String: OpaquePointer] = [:]

    public init(path: String, readOnly: Bool = false) throws {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw SQLiteError(code: rc, message: "\(path): \(message)")
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, 10_000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        for s in cache.values { sqlite3_finalize(s) }
        sqlite3_close_v2(handle)
    }

    private func error(_ rc: Int32, _ sql: String?) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs statements without parameters or results (schema, pragmas).
    public func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw SQLiteError(code: rc, message: text, sql: sql)
        }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let s = cache[sql] { sqlite3_reset(s); sqlite3_clear_bindings(s); return s }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, sql) }
        // Statements built per query (C-FIND, REST filters) vary; cache only a bounded number.
        if cache.count > 256 { for s in cache.values { sqlite3_finalize(s) }; cache.removeAll() }
        cache[sql] = stmt
        return stmt
    }

    private func bind(_ stmt: OpaquePointer, _ parameters: [SQLValue], _ sql: String) throws {
        for (i, p) in parameters.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch p {
            case .null: rc = sqlite3_bind_null(stmt, index)
            case .integer(let v): rc = sqlite3_bind_int64(stmt, index, v)
            case .real(let v): rc = sqlite3_bind_double(stmt, index, v)
            case .text(let s): rc = sqlite3_bind_text(stmt, index, s, -1, transient)
            }
            guard rc == SQLITE_OK else { throw error(rc, sql) }
        }
    }

    /// Runs one statement and returns its rows; each row is its columns in order.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLValue] = []) throws -> [[SQLValue]] {
        let stmt = try prepared(sql)
        defer { sqlite3_reset(stmt) }
        try bind(stmt, parameters, sql)
        var rows: [[SQLValue]] = []
        let columns = sqlite3_column_count(stmt)
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc, sql) }
            var row: [SQLValue] = []
            row.reserveCapacity(Int(columns))
            for c in 0..<columns {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(stmt, c)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(stmt, c)))
                case SQLITE_NULL: row.append(.null)
                default: row.append(.text(String(cString: sqlite3_column_text(stmt, c))))
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// Runs a statement for its effect; returns the rowid of the last insert.
    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLValue] = []) throws -> Int64 {
        try query(sql, parameters)
        return sqlite3_last_insert_rowid(handle)
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The single integer a query like `SELECT count(*)` returns.
    public func scalar(_ sql: String, _ parameters: [SQLValue] = []) throws -> Int64? {
        try query(sql, parameters).first?.first?.int
    }
}

/// A database file with one writer connection and a few reader connections (WAL lets readers run
/// beside the writer and each other: concurrent REST queries do not queue behind one another).
/// Each connection is used by one thread at a time.
public final class Database: @unchecked Sendable {
    public let path: String
    private let writer: SQLiteConnection
    private var idleReaders: [SQLiteConnection]
    private let readersFree: DispatchSemaphore
    private let writeLock = NSLock()
    private let readLock = NSLock()

    /// `synchronous=FULL` in WAL mode: every commit is fsynced before it returns, which is what
    /// lets the node acknowledge an image right after its index transaction commits.
    public init(path: String) throws {
        self.path = path
        writer = try SQLiteConnection(path: path)
        // Checkpoints run on their own connection and thread (`Checkpointer`), not inside the
        // commit that crosses the threshold: in a large index each commit dirties a different
        // leaf of the SOP Instance UID index, so a checkpoint copies ~1,000 scattered pages and
        // fsyncs them, which stalled an acknowledgement every few hundred images.
        try writer.execute("""
            PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
            PRAGMA journal_size_limit=67108864; PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=0;
            """)
        let readers = max(2, min(ProcessInfo.processInfo.activeProcessorCount * 2, 8))
        idleReaders = try (0..<readers).map { _ in
            let reader = try SQLiteConnection(path: path)
            try reader.execute("PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384; PRAGMA query_only=ON;")
            return reader
        }
        readersFree = DispatchSemaphore(value: readers)
        checkpointer = try Checkpointer(path: path)
    }

    private let checkpointer: Checkpointer

    /// Runs `body` in one write transaction (BEGIN IMMEDIATE … COMMIT), rolled back if it throws.
    @discardableResult
    public func write<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        writeLock.lock(); defer { writeLock.unlock() }
        try writer.execute("BEGIN IMMEDIATE")
        do {
            let result = try body(writer)
            try writer.execute("COMMIT")
            return result
        } catch {
            try? writer.execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` on a free reader connection inside one read transaction (a consistent snapshot).
    public func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        readersFree.wait()
        readLock.lock()
        let reader = idleReaders.removeLast()
        readLock.unlock()
        defer {
            readLock.lock()
            idleReaders.append(reader)
            readLock.unlock()
            readersFree.signal()
        }
        try reader.execute("BEGIN")
        defer { try? reader.execute("COMMIT") }
        return try body(reader)
    }

    /// Statements outside a transaction on the writer (schema changes, checkpoints).
    public func withWriter<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        writeLock.lock(); defer { writeLock.unlock() }
        return try body(writer)
    }
}

/// Copies the WAL back into the database in the background (PASSIVE: never waits for, nor
/// blocks, the writer or readers) whenever it has grown past `pages` frames (~40 MB), checked
/// every `interval` seconds. The WAL's commits are already durable; this only bounds its size.
/// A long interval between checkpoints lets the scattered index pages of many commits be
/// written once (at 200,000 instances, 1,000-frame checkpoints cost ingest 11%).
final class Checkpointer: @unchecked Sendable {
    private let connection: SQLiteConnection
    private let timer: DispatchSourceTimer

    init(path: String, pages: Int = 10_000, interval: Double = 0.5) throws {
        connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA wal_autocheckpoint=0;")
        let walPath = path + "-wal"
        let threshold = off_t(pages * 4096)
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "sqlite-checkpoint", qos: .utility))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [connection] in
            var st = stat()
            guard stat(walPath, &st) == 0, st.st_size > threshold else { return }
            _ = try? connection.query("PRAGMA wal_checkpoint(PASSIVE)")
        }
        timer.resume()
    }

    deinit { timer.cancel() }
}
