#if canImport(Glibc)
import Glibc
#endif

/// Why a connection could not be made or used.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    case resolve(host: String, reason: String)
    case connect(host: String, port: UInt16, errno: Int32)
    case listen(host: String, port: UInt16, errno: Int32)
    /// Nothing arrived (or could be sent) within the configured time.
    case timeout(operation: String, seconds: Double)
    case closedByPeer
    case io(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case let .resolve(host, reason): return "cannot resolve \(host): \(reason)"
        case let .connect(host, port, e): return "cannot connect to \(host):\(port): \(String(cString: strerror(e)))"
        case let .listen(host, port, e): return "cannot listen on \(host):\(port): \(String(cString: strerror(e)))"
        case let .timeout(op, s): return "\(op) timed out after \(s) s"
        case .closedByPeer: return "connection closed by peer"
        case let .io(op, e): return "\(op) failed: \(String(cString: strerror(e)))"
        }
    }
}
