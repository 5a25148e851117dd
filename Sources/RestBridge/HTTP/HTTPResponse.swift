import Foundation

/// A response: status, header fields, and content either as bytes or written by a callback
/// while the response is sent (large files, exports) without holding it in memory.
///
/// Framing is the server's job: it adds Content-Length for bytes and for streams of known
/// length, chunked coding otherwise (RFC 9112 §6), and leaves the content out for HEAD.
/// Content-Length, Transfer-Encoding and Connection set here are replaced; `Connection: close`
/// is honoured (the connection ends after this response).
public struct HTTPResponse {
    public enum Body {
        case bytes([UInt8])
        /// `length` nil: unknown in advance (sent chunked). The callback is not called for HEAD.
        case stream(length: Int64?, write: (BodyWriter) throws -> Void)
    }

    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = .bytes(body)
    }

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), length: Int64? = nil,
                stream: @escaping (BodyWriter) throws -> Void) {
        self.status = status
        self.headers = headers
        self.body = .stream(length: length, write: stream)
    }

    /// A copy with one more header field.
    public func with(_ name: String, _ value: String) -> HTTPResponse {
        var r = self
        r.headers.add(name, value)
        return r
    }

    // MARK: Helpers

    /// Encodes `value` with JSONEncoder (keys sorted, slashes unescaped). An encoding failure is a
    /// bug in the handler and becomes a 500.
    public static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok, encoder: JSONEncoder? = nil) -> HTTPResponse {
        let e = encoder ?? defaultEncoder()
        do {
            return json(try e.encode(value), status: status)
        } catch {
            return .error(.internalServerError, "cannot encode the response: \(error)")
        }
    }

    /// Foundation objects (`[String: Any]`, `[Any]`, strings, numbers, NSNull) via JSONSerialization.
    public static func json(_ object: [String: Any], status: HTTPStatus = .ok) -> HTTPResponse {
        jsonObject(object, status: status)
    }

    public static func json(_ array: [Any], status: HTTPStatus = .ok) -> HTTPResponse {
        jsonObject(array, status: status)
    }

    /// Bytes that are already JSON.
    public static func json(_ data: Data, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: [UInt8](data))
    }

    /// `{"error": message}` with `status` (DESIGN.md's error shape).
    public static func error(_ status: HTTPStatus, _ message: String) -> HTTPResponse {
        jsonObject(["error": message], status: status)
    }

    public static func text(_ text: String, status: HTTPStatus = .ok, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: Array(text.utf8))
    }

    public static func bytes(_ bytes: [UInt8], contentType: String = "application/octet-stream", status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: bytes)
    }

    /// Content written by `write` while the response is sent; `length` when known in advance.
    public static func stream(contentType: String = "application/octet-stream", length: Int64? = nil, status: HTTPStatus = .ok,
                              write: @escaping (BodyWriter) throws -> Void) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], length: length, stream: write)
    }

    /// A response without content (204 by default).
    public static func empty(_ status: HTTPStatus = .noContent) -> HTTPResponse { HTTPResponse(status: status) }

    static func jsonObject(_ object: Any, status: HTTPStatus) -> HTTPResponse {
        guard JSONSerialization.isValidJSONObject(object) || object is String || object is NSNumber || object is NSNull,
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]) else {
            return error(.internalServerError, "the response is not representable as JSON")
        }
        return json(data, status: status)
    }

    static func defaultEncoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
