/// An error a handler throws (or the server raises) that becomes a response
/// `{"error": message}` with `status`. DESIGN.md: typed errors map to an HTTP status at the edge.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String
    /// Extra response fields, e.g. `Allow` with a 405.
    public var headers: HTTPHeaders
    /// The request stream cannot be resynchronised after this (framing lost, timeout in the
    /// middle of a message): the response says `Connection: close` and the connection ends.
    public var closesConnection: Bool

    public init(_ status: HTTPStatus, _ message: String, headers: HTTPHeaders = HTTPHeaders(), closesConnection: Bool = false) {
        self.status = status
        self.message = message
        self.headers = headers
        self.closesConnection = closesConnection
    }

    public var description: String { "\(status.code) \(message)" }

    /// The JSON error response for this error.
    public var response: HTTPResponse {
        var r = HTTPResponse.error(status, message)
        for (name, value) in headers { r.headers.add(name, value) }
        if closesConnection { r.headers["Connection"] = "close" }
        return r
    }

    static func badRequest(_ message: String, close: Bool = false) -> HTTPError {
        HTTPError(.badRequest, message, closesConnection: close)
    }
}

/// For errors of other modules that know their HTTP status: a handler may throw them directly.
public protocol HTTPStatusConvertible: Error {
    var httpStatus: HTTPStatus { get }
    var httpMessage: String { get }
}
