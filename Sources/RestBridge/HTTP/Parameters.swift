/// Decoded name/value pairs: a route's path parameters (`/api/images/{id}`) or the query string.
/// Typed accessors answer 400 with a message naming the parameter when a value does not convert.
public struct Parameters: Sendable, Sequence, CustomStringConvertible {
    public private(set) var items: [(name: String, value: String)]
    /// "path parameter" or "query parameter", for error messages.
    let kind: String

    public init(_ items: [(String, String)] = [], kind: String = "parameter") {
        self.items = items.map { (name: $0.0, value: $0.1) }
        self.kind = kind
    }

    public var isEmpty: Bool { items.isEmpty }
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { items.makeIterator() }
    public var description: String { items.map { "\($0.name)=\($0.value)" }.joined(separator: "&") }

    /// The first value of `name` (names are case-sensitive).
    public subscript(name: String) -> String? { items.first { $0.name == name }?.value }

    /// Every value of `name`, in order (`?ids=1&ids=2`).
    public func values(_ name: String) -> [String] { items.filter { $0.name == name }.map(\.value) }

    mutating func append(_ name: String, _ value: String) { items.append((name, value)) }

    /// The value of `name`; 400 when absent.
    public func require(_ name: String) throws -> String {
        guard let v = self[name] else { throw HTTPError(.badRequest, "missing \(kind) \(name)") }
        return v
    }

    /// `name` as an Int64; 400 when absent or not an integer.
    public func int64(_ name: String) throws -> Int64 {
        try convert(try require(name), name, "an integer") { Int64($0) }
    }

    /// `name` as an Int64, `defaultValue` when absent; 400 when present but not an integer.
    public func int64(_ name: String, default defaultValue: Int64) throws -> Int64 {
        guard let v = self[name] else { return defaultValue }
        return try convert(v, name, "an integer") { Int64($0) }
    }

    public func int(_ name: String) throws -> Int {
        try convert(try require(name), name, "an integer") { Int($0) }
    }

    public func int(_ name: String, default defaultValue: Int) throws -> Int {
        guard let v = self[name] else { return defaultValue }
        return try convert(v, name, "an integer") { Int($0) }
    }

    /// true/false (also 1/0, yes/no), `defaultValue` when absent.
    public func bool(_ name: String, default defaultValue: Bool) throws -> Bool {
        guard let v = self[name] else { return defaultValue }
        return try convert(v, name, "true or false") {
            switch $0.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: return nil
            }
        }
    }

    private func convert<T>(_ value: String, _ name: String, _ what: String, _ f: (String) -> T?) throws -> T {
        guard let v = f(value) else { throw HTTPError(.badRequest, "\(kind) \(name) must be \(what), not \"\(value)\"") }
        return v
    }

    /// Parses `a=1&b=x+y&c` (form encoding: `+` is a space); nil for broken percent-escapes.
    static func parseQuery(_ query: Substring) -> Parameters? {
        var p = Parameters(kind: "query parameter")
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let (rawName, rawValue): (Substring, Substring)
            if let eq = pair.firstIndex(of: "=") {
                rawName = pair[..<eq]
                rawValue = pair[pair.index(after: eq)...]
            } else {
                rawName = pair
                rawValue = ""
            }
            guard let name = PercentEncoding.decode(rawName, plusAsSpace: true),
                  let value = PercentEncoding.decode(rawValue, plusAsSpace: true) else { return nil }
            p.append(name, value)
        }
        return p
    }
}
