import COpenSSL

/// Why a TLS context could not be set up or a TLS connection could not be established.
/// Failures on an established TLS stream surface as `TransportError` (like plain TCP), so the
/// association layer handles both transports alike.
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The configuration is inconsistent (e.g. a server without a certificate).
    case configuration(String)
    /// A certificate, key or trust file could not be loaded; `reason` is OpenSSL's.
    case file(path: String, what: String, reason: String)
    /// The TLS handshake failed; `reason` is OpenSSL's (plus the certificate verification result).
    case handshake(peer: String, reason: String)

    /// OpenSSL's reason alone (for logs that name the peer or file already).
    public var reason: String {
        switch self {
        case .configuration(let s): return s
        case .file(_, _, let reason), .handshake(_, let reason): return reason
        }
    }

    public var description: String {
        switch self {
        case .configuration(let s): return "TLS configuration: \(s)"
        case let .file(path, what, reason): return "cannot load \(what) from \(path): \(reason)"
        case let .handshake(peer, reason): return "TLS handshake with \(peer) failed: \(reason)"
        }
    }
}

enum OpenSSLErrors {
    /// Empties this thread's OpenSSL error queue into one line, oldest first
    /// ("error:0A000086:SSL routines::certificate verify failed; ...").
    static func drain() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            let text = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if !parts.contains(text) { parts.append(text) }
        }
        return parts.joined(separator: "; ")
    }
}
