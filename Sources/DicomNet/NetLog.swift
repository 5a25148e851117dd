import Foundation

/// One line per event: `level subject message key=value ...` (AE titles, association id, UIDs).
/// Node plugs in its own sink (stderr plus the Log table); DicomNet alone writes to stderr.
public protocol NetLogger: Sendable {
    func log(_ level: NetLogLevel, _ subject: String, _ message: String, _ fields: KeyValuePairs<String, String>)
}

public enum NetLogLevel: String, Sendable, Comparable {
    case debug, info, warning, error
    var rank: Int { switch self { case .debug: 0; case .info: 1; case .warning: 2; case .error: 3 } }
    public static func < (a: NetLogLevel, b: NetLogLevel) -> Bool { a.rank < b.rank }
}

/// Writes each event as one line to stderr, from any thread (one write(2) per line).
public struct StderrLogger: NetLogger {
    public var minimumLevel: NetLogLevel
    public init(minimumLevel: NetLogLevel = .info) { self.minimumLevel = minimumLevel }

    public func log(_ level: NetLogLevel, _ subject: String, _ message: String, _ fields: KeyValuePairs<String, String>) {
        guard level >= minimumLevel else { return }
        var line = "\(StderrLogger.timestamp()) \(level.rawValue) \(subject) \(message)"
        for (k, v) in fields { line += " \(k)=\(v.contains(" ") ? "\"\(v)\"" : v)" }
        line += "\n"
        line.utf8CString.withUnsafeBufferPointer { p in _ = Glibc.write(2, p.baseAddress, p.count - 1) }
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = tv.tv_sec
        var tm = tm()
        gmtime_r(&t, &tm)
        return (tm.tm_year + 1900).zeroPadded(4) + "-" + (tm.tm_mon + 1).zeroPadded(2) + "-" + tm.tm_mday.zeroPadded(2) + "T"
            + tm.tm_hour.zeroPadded(2) + ":" + tm.tm_min.zeroPadded(2) + ":" + tm.tm_sec.zeroPadded(2) + "." + Int(tv.tv_usec / 1000).zeroPadded(3) + "Z"
    }
}
