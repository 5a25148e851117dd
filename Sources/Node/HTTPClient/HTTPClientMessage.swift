import Foundation

/// An absolute `http` or `https` URL split the way a request needs it (RFC 9112 §3.2: the
/// origin-form target, the Host field from the authority).
public struct HTTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var isSecure: Bool
    public var host: String
    public var port: UInt16
    /// Path and query as sent on the request line, still percent-encoded (`/api/x?y=1`).
    public var target: String

    /// Throws `NodeError.badRequest` for anything but an absolute http(s) URL with a host.
    public init(_ url: String) throws {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw NodeError.badRequest("'\(url)' is not an http:// or https:// URL")
        }
        guard let host = c.host, !host.isEmpty else { throw NodeError.badRequest("the URL '\(url)' has no host") }
        guard c.user == nil, c.password == nil else { throw NodeError.badRequest("the URL '\(url)' must not carry credentials") }
        isSecure = scheme == "https"
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let p = c.port {
            guard (1...65535).contains(p) else { throw NodeError.badRequest("the URL '\(url)' has port \(p), not 1–65535") }
            port = UInt16(p)
        } else {
            port = isSecure ? 443 : 80
        }
        let path = c.percentEncodedPath.isEmpty ? "/" : c.percentEncodedPath
        target = path + (c.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// This endpoint's path with `/component` appended and `query` (encoded here) in place of its query.
    public func appending(_ component: String, query: [(String, String)] = []) -> HTTPEndpoint {
        var e = self
        var path = String(target.prefix { $0 != "?" })
        if !path.hasSuffix("/") { path += "/" }
        path += component
        if !query.isEmpty {
            path += "?" + query.map { Self.encode($0.0) + "=" + Self.encode($0.1) }.joined(separator: "&")
        }
        e.target = path
        return e
    }

    /// The Host field (RFC 9110 §7.2): the port only when it is not the scheme's default.
    var hostField: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (isSecure ? 443 : 80) ? h : "\(h):\(port)"
    }

    /// Connections are pooled per origin.
    var origin: String { (isSecure ? "https://" : "http://") + hostField }

    public var description: String { origin + target }

    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}

/// A request of the client. Bodies are sent with Content-Length when their size is known (bytes,
/// a file, read as it goes) and with chunked transfer coding when written by a callback (RFC 9112 §7.1).
public struct HTTPClientRequest {
    public enum Body {
        case none
        case bytes([UInt8])
        /// A file streamed in 64 KiB pieces, never held whole.
        case file(path: String)
        /// Content written by the callback as it is produced; sent chunked.
        case stream((HTTPBodySink) throws -> Void)
    }

    public var method: String
    public var endpoint: HTTPEndpoint
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(_ method: String, _ endpoint: HTTPEndpoint, headers: [(name: String, value: String)] = [], body: Body = .none) {
        self.method = method
        self.endpoint = endpoint
        self.headers = headers
        self.body = body
    }
}

/// A response head, and its body when the caller collected it.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: [(name: String, value: String)]
    /// The content as received (content codings are the caller's: see `ContentDecoder`).
    public var body: [UInt8] = []

    /// The first field of that name (names compare without case).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The body as text, for messages (`{"error": …}` bodies show their message).
    public var text: String {
        let s = String(decoding: body.prefix(2000), as: UTF8.self)
        if let o = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let e = o["error"] as? String { return e }
        return s.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Why a request did not get a usable answer. Transport failures keep DicomNet's own text.
public enum HTTPClientError: Error, CustomStringConvertible, Sendable {
    case transport(String, reused: Bool)
    case malformedResponse(String)
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .transport(let m, _): return m
        case .malformedResponse(let m): return "malformed HTTP response: \(m)"
        case .tooLarge(let limit): return "the response body is larger than \(limit) bytes"
        }
    }
}
