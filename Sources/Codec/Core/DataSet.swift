/// An ordered collection of data elements (PS3.5 7): a whole object, a File Meta group, or a sequence item.
/// Elements are kept in the order they were read; new elements are inserted in tag order.
public struct DataSet: Sendable, Hashable {
    public private(set) var elements: [DataElement]
    /// As a sequence item: written with undefined length and an Item Delimitation Item (PS3.5 7.5.1).
    public var hasUndefinedLength: Bool
    /// The character set values are decoded with: this data set's own (0008,0005), else the one
    /// it inherits from the enclosing data set (PS3.5 7.5.3), else the default repertoire.
    public var characterSet: SpecificCharacterSet

    public init(elements: [DataElement] = [], undefinedLength: Bool = true,
                characterSet: SpecificCharacterSet = .default) {
        self.elements = elements
        self.hasUndefinedLength = undefinedLength
        self.characterSet = characterSet
    }

    public var count: Int { elements.count }
    public var isEmpty: Bool { elements.isEmpty }
    public var tags: [Tag] { elements.map(\.tag) }

    // MARK: lookup

    /// Index of `tag`: binary search when the elements are in ascending order (the normal case), else a scan.
    public func index(of tag: Tag) -> Int? {
        var lo = 0, hi = elements.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            let t = elements[mid].tag
            if t == tag { return mid }
            if t < tag { lo = mid + 1 } else { hi = mid - 1 }
        }
        // Out-of-order input (seen in the wild) defeats the search: fall back to a scan.
        return elements.firstIndex { $0.tag == tag }
    }

    public subscript(tag: Tag) -> DataElement? {
        get { index(of: tag).map { elements[$0] } }
        set {
            if let e = newValue { set(e) } else { remove(tag) }
        }
    }
    public func contains(_ tag: Tag) -> Bool { index(of: tag) != nil }

    // MARK: mutation

    /// Inserts or replaces `element` at its place in tag order.
    public mutating func set(_ element: DataElement) {
        if let i = index(of: element.tag) {
            elements[i] = element
        } else {
            let i = elements.firstIndex { $0.tag > element.tag } ?? elements.count
            elements.insert(element, at: i)
        }
        if element.tag == .specificCharacterSet {
            characterSet = SpecificCharacterSet(terms: element.rawStrings())
        }
    }
    @discardableResult
    public mutating func remove(_ tag: Tag) -> DataElement? {
        guard let i = index(of: tag) else { return nil }
        return elements.remove(at: i)
    }
    public mutating func removeAll(where predicate: (DataElement) -> Bool) {
        elements.removeAll(where: predicate)
    }
    /// Appends without ordering checks; the reader's fast path.
    @inline(__always) mutating func appendRead(_ element: DataElement) { elements.append(element) }
    mutating func replaceElements(_ new: [DataElement]) { elements = new }
    mutating func replaceElement(at i: Int, with e: DataElement) { elements[i] = e }

    // MARK: typed reads

    /// The first value of a string element, trimmed of padding; for binary VRs its text form.
    public func string(_ tag: Tag) -> String? { strings(tag)?.first }
    /// All values of a string element (split on backslash unless the VR is single-valued text).
    public func strings(_ tag: Tag) -> [String]? {
        guard let e = self[tag] else { return nil }
        return e.strings(characterSet: characterSet)
    }
    public func int(_ tag: Tag) -> Int? { ints(tag)?.first }
    public func ints(_ tag: Tag) -> [Int]? { self[tag].map { $0.integers().map { Int($0) } } }
    public func double(_ tag: Tag) -> Double? { doubles(tag)?.first }
    public func doubles(_ tag: Tag) -> [Double]? { self[tag]?.doubles() }
    public func sequence(_ tag: Tag) -> [DataSet]? { self[tag]?.items }
    public func personName(_ tag: Tag) -> PersonName? { string(tag).map { PersonName(parsing: $0) } }
    /// DA, TM and DT values (PS3.5 6.2); nil when absent, empty or not a valid value.
    public func date(_ tag: Tag) -> DicomDate? { string(tag).flatMap { DicomDate($0) } }
    public func time(_ tag: Tag) -> DicomTime? { string(tag).flatMap { DicomTime($0) } }
    public func dateTime(_ tag: Tag) -> DicomDateTime? { string(tag).flatMap { DicomDateTime($0) } }
    public func tagValues(_ tag: Tag) -> [Tag]? { self[tag]?.tagValues() }

    // MARK: typed writes

    /// Sets string values, encoded with this data set's character set and padded to even length.
    public mutating func set(_ tag: Tag, vr: VR? = nil, strings: [String]) throws {
        let vr = vr ?? DataDictionary.vr(for: tag)
        set(try DataElement(tag: tag, vr: vr, strings: strings, characterSet: characterSet))
    }
    public mutating func set(_ tag: Tag, vr: VR? = nil, string: String) throws {
        try set(tag, vr: vr, strings: [string])
    }
    /// Sets numbers; the VR decides the binary or text encoding.
    public mutating func set(_ tag: Tag, vr: VR? = nil, integers: [Int]) throws {
        let vr = vr ?? DataDictionary.vr(for: tag)
        set(try DataElement(tag: tag, vr: vr, integers: integers.map { Int64($0) }))
    }
    public mutating func set(_ tag: Tag, vr: VR? = nil, doubles: [Double]) throws {
        let vr = vr ?? DataDictionary.vr(for: tag)
        set(try DataElement(tag: tag, vr: vr, doubles: doubles))
    }
    public mutating func set(_ tag: Tag, items: [DataSet]) {
        var items = items
        for i in items.indices where !items[i].contains(.specificCharacterSet) {
            items[i].characterSet = characterSet
        }
        set(DataElement(tag: tag, vr: .SQ, value: .sequence(items)))
    }
}
