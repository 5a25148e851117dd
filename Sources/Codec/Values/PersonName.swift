/// A Person Name (PN) value (PS3.5 6.2.1): up to three component groups (alphabetic,
/// ideographic, phonetic) separated by "=", each of up to five components separated by "^".
/// It works on decoded text; decode the bytes first with `SpecificCharacterSet.decode(_:vr: .PN)`,
/// which handles the per-group code extensions (PS3.5 6.1.2.5.3).
public struct PersonName: Sendable, Hashable, CustomStringConvertible {
    public var alphabetic: Group
    public var ideographic: Group
    public var phonetic: Group

    /// Five components in the order of PS3.5 6.2.1.1.
    public struct Group: Sendable, Hashable {
        public var familyName: String
        public var givenName: String
        public var middleName: String
        public var namePrefix: String
        public var nameSuffix: String

        public init(familyName: String = "", givenName: String = "", middleName: String = "",
                    namePrefix: String = "", nameSuffix: String = "") {
            self.familyName = familyName
            self.givenName = givenName
            self.middleName = middleName
            self.namePrefix = namePrefix
            self.nameSuffix = nameSuffix
        }

        /// Parses one component group. Components past the fifth are not defined by PS3.5; they
        /// are kept in `nameSuffix` (joined by "^") so that nothing is lost on a round trip.
        public init(parsing text: Substring) {
            let parts = text.split(separator: "^", omittingEmptySubsequences: false)
            func part(_ i: Int) -> String { i < parts.count ? String(parts[i]) : "" }
            self.init(familyName: part(0), givenName: part(1), middleName: part(2), namePrefix: part(3),
                      nameSuffix: parts.count > 5 ? parts[4...].joined(separator: "^") : part(4))
        }

        public var components: [String] { [familyName, givenName, middleName, namePrefix, nameSuffix] }
        public var isEmpty: Bool { components.allSatisfy(\.isEmpty) }

        /// Components joined by "^" without trailing empty components (PS3.5 6.2.1.1).
        public var formatted: String {
            var c = components
            while let last = c.last, last.isEmpty { c.removeLast() }
            return c.joined(separator: "^")
        }
    }

    public init(alphabetic: Group = Group(), ideographic: Group = Group(), phonetic: Group = Group()) {
        self.alphabetic = alphabetic
        self.ideographic = ideographic
        self.phonetic = phonetic
    }

    /// Parses one PN value (already split on backslash and stripped of padding). Groups past
    /// the third are not defined by PS3.5 6.2.1 and are ignored.
    public init(parsing decoded: String) {
        let groups = decoded.split(separator: "=", maxSplits: 3, omittingEmptySubsequences: false)
        func group(_ i: Int) -> Group { i < groups.count ? Group(parsing: groups[i]) : Group() }
        self.init(alphabetic: group(0), ideographic: group(1), phonetic: group(2))
    }

    public var isEmpty: Bool { alphabetic.isEmpty && ideographic.isEmpty && phonetic.isEmpty }

    /// The DICOM form: groups joined by "=" and components by "^", with trailing empty
    /// components and groups left out (PS3.5 6.2.1.1, 6.2.1.2).
    public var formatted: String {
        var g = [alphabetic.formatted, ideographic.formatted, phonetic.formatted]
        while let last = g.last, last.isEmpty { g.removeLast() }
        return g.joined(separator: "=")
    }

    public var description: String { formatted }
}
