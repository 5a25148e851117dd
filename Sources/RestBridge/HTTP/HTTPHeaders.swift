/// Header (or trailer) fields in the order received; names compare case-insensitively
/// (RFC 9110 §5.1). Repeated fields stay separate lines; `values(for:)` returns them all.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) { for (n, v) in fields { add(n, v) } }
    public init(dictionaryLiteral elements: (String, String)...) { for (n, v) in elements { add(n, v) } }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
    public var description: String { fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n") }

    /// The first value of `name`; setting replaces every field of that name (nil removes them).
    public subscript(name: String) -> String? {
        get { fields.first { Self.same($0.name, name) }?.value }
        set {
            remove(name)
            if let newValue { add(name, newValue) }
        }
    }

    public func values(for name: String) -> [String] {
        fields.filter { Self.same($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { fields.contains { Self.same($0.name, name) } }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    public mutating func remove(_ name: String) { fields.removeAll { Self.same($0.name, name) } }

    /// The comma-separated list elements of every `name` field, lowercased, empty elements
    /// dropped (RFC 9110 §5.6.1): for Connection, Transfer-Encoding, Expect.
    public func tokens(_ name: String) -> [String] {
        values(for: name).flatMap { $0.split(separator: ",") }
            .map { lowercasedASCII(trimOWS($0)) }
            .filter { !$0.isEmpty }
    }

    /// ASCII case-insensitive equality, without Foundation's locale machinery.
    static func same(_ a: String, _ b: String) -> Bool {
        var i = a.utf8.makeIterator(), j = b.utf8.makeIterator()
        while true {
            switch (i.next(), j.next()) {
            case (nil, nil): return true
            case let (x?, y?): if lowerASCII(x) != lowerASCII(y) { return false }
            default: return false
            }
        }
    }
}

@inline(__always) func lowerASCII(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

func lowercasedASCII<S: StringProtocol>(_ s: S) -> String {
    String(decoding: s.utf8.map(lowerASCII), as: UTF8.self)
}

/// Drops optional whitespace (SP / HTAB, RFC 9110 §5.6.3) at both ends.
func trimOWS<S: StringProtocol>(_ s: S) -> String {
    var sub = Substring(s)
    while let f = sub.first, f == " " || f == "\t" { sub.removeFirst() }
    while let l = sub.last, l == " " || l == "\t" { sub.removeLast() }
    return String(sub)
}

/// A field value with parameters, like `multipart/form-data; boundary="x"` or
/// `form-data; name="file"; filename="a.dcm"` (RFC 9110 §5.6.6; quoted-string §5.6.4).
public struct HeaderValue: Sendable, Equatable {
    /// The part before the first `;`, lowercased (media types and dispositions are case-insensitive).
    public var value: String
    /// Parameter names lowercased; values unquoted.
    public var parameters: [String: String]

    public init(parsing field: String) {
        var items: [String] = []
        var current = ""
        var inQuotes = false, escaped = false
        for ch in field {
            if escaped { current.append(ch); escaped = false; continue }
            if inQuotes && ch == "\\" { current.append(ch); escaped = true; continue }
            if ch == "\"" { inQuotes.toggle() }
            if ch == ";" && !inQuotes { items.append(current); current = ""; continue }
            current.append(ch)
        }
        items.append(current)
        value = lowercasedASCII(trimOWS(items[0]))
        parameters = [:]
        for item in items.dropFirst() {
            guard let eq = item.firstIndex(of: "=") else { continue }
            let name = lowercasedASCII(trimOWS(item[..<eq]))
            var raw = trimOWS(item[item.index(after: eq)...])
            if raw.count >= 2, raw.first == "\"", raw.last == "\"" {
                raw = Self.unquote(raw.dropFirst().dropLast())
            }
            if !name.isEmpty && parameters[name] == nil { parameters[name] = raw }
        }
    }

    /// Removes quoted-pair backslashes (RFC 9110 §5.6.4).
    static func unquote(_ s: Substring) -> String {
        var out = "", escaped = false
        for ch in s {
            if escaped { out.append(ch); escaped = false } else if ch == "\\" { escaped = true } else { out.append(ch) }
        }
        return out
    }
}
