/// A path to an element, possibly inside sequence items: `(0008,1115)[0].(0020,000E)`, or with
/// keywords `ReferencedSeriesSequence[0].SeriesInstanceUID`. Item indices are zero-based as in
/// DCMTK's dcmodify. Wildcards: `[*]` for every item, `x` for any hex digit in a tag (`(60xx,3000)`,
/// `(0029,xxxx)`), as filters and modify routes need them.
public struct TagPath: Hashable, Sendable, CustomStringConvertible {
    public enum ItemSelector: Hashable, Sendable {
        case index(Int)
        case any
    }
    public struct Step: Hashable, Sendable {
        public var tag: Tag
        /// Bits of the tag that must match: 0xFFFFFFFF for an exact tag.
        public var mask: UInt32
        public init(tag: Tag, mask: UInt32 = 0xFFFF_FFFF) { self.tag = tag; self.mask = mask }
        public func matches(_ t: Tag) -> Bool { t.value & mask == tag.value & mask }
        public var isExact: Bool { mask == 0xFFFF_FFFF }
    }

    /// The sequences to descend through, each with the items to enter.
    public var sequences: [(step: Step, item: ItemSelector)] {
        get { zip(prefixSteps, items).map { ($0, $1) } }
    }
    public private(set) var prefixSteps: [Step]
    public private(set) var items: [ItemSelector]
    /// The element at the end of the path.
    public var last: Step

    public init(_ tag: Tag) {
        prefixSteps = []
        items = []
        last = Step(tag: tag)
    }
    public init(sequences: [(Tag, ItemSelector)], tag: Tag) {
        prefixSteps = sequences.map { Step(tag: $0.0) }
        items = sequences.map(\.1)
        last = Step(tag: tag)
    }

    public static func == (a: TagPath, b: TagPath) -> Bool {
        a.prefixSteps == b.prefixSteps && a.items == b.items && a.last == b.last
    }
    public func hash(into h: inout Hasher) { h.combine(prefixSteps); h.combine(items); h.combine(last) }

    public var depth: Int { prefixSteps.count }
    public var hasWildcards: Bool { !last.isExact || prefixSteps.contains { !$0.isExact } || items.contains(.any) }

    /// The path into item `item` of the sequence this path names.
    public func appending(item: ItemSelector, tag: Tag) -> TagPath {
        var p = self
        p.prefixSteps.append(last)
        p.items.append(item)
        p.last = Step(tag: tag)
        return p
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(String, reason: String)
        public var description: String {
            if case let .invalid(s, reason) = self { return "invalid tag path '\(s)': \(reason)" }
            return ""
        }
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.isEmpty else { throw ParseError.invalid(text, reason: "empty") }
        var steps: [Step] = []
        var items: [ItemSelector] = []
        for (i, raw) in parts.enumerated() {
            var part = raw.trimmingCharacters(in: .whitespaces)[...]
            var item: ItemSelector? = nil
            if part.hasSuffix("]"), let open = part.lastIndex(of: "[") {
                let inner = part[part.index(after: open)..<part.index(before: part.endIndex)]
                if inner == "*" { item = .any }
                else if let n = Int(inner), n >= 0 { item = .index(n) }
                else { throw ParseError.invalid(text, reason: "item selector [\(inner)] is neither a number nor *") }
                part = part[..<open]
            }
            let isLast = i == parts.count - 1
            if !isLast && item == nil { throw ParseError.invalid(text, reason: "'\(part)' is followed by a step but names no item ([n] or [*])") }
            if isLast && item != nil { throw ParseError.invalid(text, reason: "the path ends in an item selector; name an element after it") }
            guard let step = TagPath.parseStep(String(part)) else {
                throw ParseError.invalid(text, reason: "'\(part)' is not a tag like (0010,0010), 00100010 or a keyword")
            }
            steps.append(step)
            if let item { items.append(item) }
        }
        last = steps.removeLast()
        prefixSteps = steps
        self.items = items
    }

    static func parseStep(_ s: String) -> Step? {
        var t = Substring(s)
        if t.hasPrefix("("), t.hasSuffix(")") { t = t.dropFirst().dropLast() }
        let hex = t.replacingOccurrences(of: ",", with: "")
        if hex.count == 8, hex.allSatisfy({ $0.isHexDigit || $0 == "x" || $0 == "X" }) {
            var value: UInt32 = 0, mask: UInt32 = 0
            for c in hex {
                value <<= 4; mask <<= 4
                if let d = c.hexDigitValue { value |= UInt32(d); mask |= 0xF }
            }
            return Step(tag: Tag(value), mask: mask)
        }
        if let e = DataDictionary.entry(forKeyword: String(t)) { return Step(tag: e.tag, mask: e.repeatMask) }
        return nil
    }

    public var description: String {
        var s = ""
        for (step, item) in zip(prefixSteps, items) {
            s += TagPath.format(step)
            switch item { case .index(let n): s += "[\(n)]"; case .any: s += "[*]" }
            s += "."
        }
        return s + TagPath.format(last)
    }

    static func format(_ step: Step) -> String {
        let digits = Array(String(format: "%08X", step.tag.value))
        var out = "("
        for i in 0..<8 {
            if i == 4 { out += "," }
            let nibbleMask = (step.mask >> UInt32((7 - i) * 4)) & 0xF
            out.append(nibbleMask == 0 ? "x" : digits[i])
        }
        return out + ")"
    }

    /// True when `concrete` (no wildcards) is one of the places this path names.
    public func matches(_ concrete: TagPath) -> Bool {
        guard concrete.depth == depth, last.matches(concrete.last.tag) else { return false }
        for i in 0..<depth {
            guard prefixSteps[i].matches(concrete.prefixSteps[i].tag) else { return false }
            if case .index(let n) = items[i], concrete.items[i] != .index(n) { return false }
        }
        return true
    }

    /// True when this path names `concrete` or an element inside it (for filters on whole sequences).
    public func covers(_ concrete: TagPath) -> Bool {
        if matches(concrete) { return true }
        guard concrete.depth > depth else { return false }
        guard last.matches(concrete.prefixSteps[depth].tag) else { return false }
        for i in 0..<depth {
            guard prefixSteps[i].matches(concrete.prefixSteps[i].tag) else { return false }
            if case .index(let n) = items[i], concrete.items[i] != .index(n) { return false }
        }
        return true
    }
}

extension DataSet {
    /// Every element the path names, with its concrete path (wildcards expanded), in data set order.
    public func elements(at path: TagPath) -> [(path: TagPath, element: DataElement)] {
        var out: [(TagPath, DataElement)] = []
        collect(path, level: 0, prefix: [], into: &out)
        return out
    }

    private func collect(_ path: TagPath, level: Int, prefix: [(Tag, TagPath.ItemSelector)], into out: inout [(TagPath, DataElement)]) {
        if level == path.depth {
            for e in elements where path.last.matches(e.tag) {
                out.append((TagPath(sequences: prefix, tag: e.tag), e))
            }
            return
        }
        let step = path.prefixSteps[level]
        for e in elements where step.matches(e.tag) {
            guard let items = e.items else { continue }
            switch path.items[level] {
            case .index(let n):
                if n < items.count { items[n].collect(path, level: level + 1, prefix: prefix + [(e.tag, .index(n))], into: &out) }
            case .any:
                for (n, item) in items.enumerated() {
                    item.collect(path, level: level + 1, prefix: prefix + [(e.tag, .index(n))], into: &out)
                }
            }
        }
    }

    public func element(at path: TagPath) -> DataElement? { elements(at: path).first?.element }

    /// Sets the element at a concrete path. Missing sequences and items on the way are created
    /// when `createMissing` is true; otherwise a missing step is an error.
    public mutating func set(_ element: DataElement, at path: TagPath, createMissing: Bool = true) throws {
        guard !path.hasWildcards else { throw CodecError.invalidValue(tag: path.last.tag, reason: "cannot set through a wildcard path \(path)") }
        var e = element
        e.tag = path.last.tag
        try update(path, level: 0, createMissing: createMissing) { $0.set(e) }
    }

    /// Removes every element the path names (wildcards allowed). Returns how many were removed.
    @discardableResult
    public mutating func remove(at path: TagPath) -> Int {
        if path.depth == 0 {
            let before = elements.count
            removeAll { path.last.matches($0.tag) }
            return before - elements.count
        }
        var removed = 0
        let step = path.prefixSteps[0]
        var rest = path
        rest.dropFirstStep()
        for i in elements.indices where step.matches(elements[i].tag) {
            guard var items = elements[i].items else { continue }
            for n in items.indices {
                if case .index(let k) = path.items[0], k != n { continue }
                removed += items[n].remove(at: rest)
            }
            var e = elements[i]
            e.value = .sequence(items)
            replaceElement(at: i, with: e)
        }
        return removed
    }

    private mutating func update(_ path: TagPath, level: Int, createMissing: Bool, _ body: (inout DataSet) throws -> Void) throws {
        if level == path.depth { try body(&self); return }
        let tag = path.prefixSteps[level].tag
        guard case .index(let n) = path.items[level] else { return }
        var seq = self[tag]
        if seq == nil {
            guard createMissing else { throw CodecError.invalidValue(tag: tag, reason: "no sequence \(tag) on the path \(path)") }
            seq = DataElement(tag: tag, vr: .SQ, value: .sequence([]))
        }
        guard var items = seq!.items else { throw CodecError.invalidValue(tag: tag, reason: "\(tag) on the path \(path) is not a sequence") }
        if n >= items.count {
            guard createMissing else { throw CodecError.invalidValue(tag: tag, reason: "sequence \(tag) has \(items.count) item(s); item \(n) does not exist") }
            while items.count <= n { items.append(DataSet(characterSet: characterSet)) }
        }
        try items[n].update(path, level: level + 1, createMissing: createMissing, body)
        seq!.value = .sequence(items)
        set(seq!)
    }

    /// Every concrete path in the data set, depth first (for filters and attribute listings).
    public func allPaths() -> [TagPath] {
        var out: [TagPath] = []
        func walk(_ ds: DataSet, _ prefix: [(Tag, TagPath.ItemSelector)]) {
            for e in ds.elements {
                out.append(TagPath(sequences: prefix, tag: e.tag))
                if let items = e.items {
                    for (n, item) in items.enumerated() { walk(item, prefix + [(e.tag, .index(n))]) }
                }
            }
        }
        walk(self, [])
        return out
    }
}

extension TagPath {
    mutating func dropFirstStep() {
        prefixSteps.removeFirst()
        items.removeFirst()
    }
}

import Foundation
