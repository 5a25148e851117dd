/// Routes requests by method and path pattern. Patterns are literal segments and parameters:
/// `/images/{id}/png` captures one segment as `request.parameters["id"]`; a last segment
/// `{path...}` captures the rest of the path. Where several patterns match, the most specific
/// wins (a literal segment beats a parameter, a parameter beats a rest capture).
///
///     var api = Router()
///     api.get("/images/{id}/png") { request in
///         let id = try request.parameters.int64("id")  // 400 unless an integer
///         return .json(["id": id])
///     }
///     var root = Router()
///     root.mount("/api", api)  // everything under /api
///
/// Answers 404 `{"error": ...}` for an unknown path, 405 with `Allow` (RFC 9110 §15.5.6) for a
/// known path with another method. HEAD runs the GET route when there is no HEAD route (the
/// server drops the content, RFC 9110 §9.3.2); OPTIONS answers 204 with `Allow` unless routed.
public struct Router: HTTPHandler {
    public typealias Handler = @Sendable (HTTPRequest) throws -> HTTPResponse

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)
    }

    struct Route: Sendable {
        let method: HTTPMethod
        let pattern: String
        let segments: [Segment]
        let handler: Handler
    }

    struct Mount: Sendable {
        let prefix: [String]
        let handler: any HTTPHandler
    }

    private var routes: [Route] = []
    private var mounts: [Mount] = []
    /// Called instead of the 404 answer (e.g. a single-page app's index.html).
    public var notFound: Handler?

    public init() {}

    // MARK: Building

    /// Adds a route; `pattern` starts with "/". A malformed pattern is a programming error.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping Handler) {
        routes.append(Route(method: method, pattern: pattern, segments: Self.compile(pattern), handler: handler))
    }

    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add(.get, pattern, handler) }
    public mutating func post(_ pattern: String, _ handler: @escaping Handler) { add(.post, pattern, handler) }
    public mutating func put(_ pattern: String, _ handler: @escaping Handler) { add(.put, pattern, handler) }
    public mutating func delete(_ pattern: String, _ handler: @escaping Handler) { add(.delete, pattern, handler) }
    public mutating func patch(_ pattern: String, _ handler: @escaping Handler) { add(.patch, pattern, handler) }

    /// Hands every request under `prefix` (a literal path, e.g. "/api") to `handler`; a mounted
    /// Router matches its patterns against the rest of the path. Routes of this router come first.
    public mutating func mount(_ prefix: String, _ handler: any HTTPHandler) {
        let segments = Self.compile(prefix).map { segment -> String in
            guard case .literal(let s) = segment else { preconditionFailure("a mount prefix is literal: \(prefix)") }
            return s
        }
        mounts.append(Mount(prefix: segments, handler: handler))
        mounts.sort { $0.prefix.count > $1.prefix.count }  // longest prefix first
    }

    static func compile(_ pattern: String) -> [Segment] {
        precondition(pattern.hasPrefix("/"), "a route pattern starts with /: \(pattern)")
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true)
        return parts.enumerated().map { index, part in
            if part.hasPrefix("{") && part.hasSuffix("}") {
                let name = part.dropFirst().dropLast()
                if name.hasSuffix("...") {
                    precondition(index == parts.count - 1, "{name...} must be the last segment: \(pattern)")
                    return .rest(String(name.dropLast(3)))
                }
                precondition(!name.isEmpty, "empty parameter name in \(pattern)")
                return .parameter(String(name))
            }
            return .literal(String(part))
        }
    }

    // MARK: Routing

    public func handle(_ request: HTTPRequest) throws -> HTTPResponse {
        let path = request.pathSegments.dropFirst(request.routeOffset)
        var matches: [(route: Route, parameters: [(String, String)], score: [Int])] = []
        for route in routes {
            if let (params, score) = Self.match(route.segments, path) { matches.append((route, params, score)) }
        }

        let method = request.method
        let candidates = matches.filter { $0.route.method == method }
            + (method == .head && !matches.contains { $0.route.method == .head } ? matches.filter { $0.route.method == .get } : [])
        if let best = candidates.max(by: { $0.score.lexicographicallyPrecedes($1.score) }) {
            var r = request
            for (name, value) in best.parameters { r.parameters.append(name, value) }
            return try best.route.handler(r)
        }

        if !matches.isEmpty {
            var allowed = Set(matches.map(\.route.method.rawValue))
            if allowed.contains("GET") { allowed.insert("HEAD") }
            allowed.insert("OPTIONS")
            let allow = allowed.sorted().joined(separator: ", ")
            if method == .options { return HTTPResponse.empty(.noContent).with("Allow", allow) }
            throw HTTPError(.methodNotAllowed, "\(method) is not allowed for \(request.path); allowed: \(allow)", headers: ["Allow": allow])
        }

        for mount in mounts where path.starts(with: mount.prefix) {
            var r = request
            r.routeOffset += mount.prefix.count
            return try mount.handler.handle(r)
        }

        if let notFound { return try notFound(request) }
        throw HTTPError(.notFound, "no resource at \(request.path)")
    }

    /// Parameters and a specificity score (per segment: literal 3, parameter 2, rest 1) when
    /// `segments` matches `path`.
    static func match(_ segments: [Segment], _ path: ArraySlice<String>) -> ([(String, String)], [Int])? {
        var params: [(String, String)] = []
        var score: [Int] = []
        var i = path.startIndex
        for segment in segments {
            switch segment {
            case .literal(let s):
                guard i < path.endIndex, path[i] == s else { return nil }
                score.append(3)
                i += 1
            case .parameter(let name):
                guard i < path.endIndex, !path[i].isEmpty else { return nil }
                params.append((name, path[i]))
                score.append(2)
                i += 1
            case .rest(let name):
                params.append((name, path[i...].joined(separator: "/")))
                score.append(1)
                i = path.endIndex
            }
        }
        return i == path.endIndex ? (params, score) : nil
    }
}
