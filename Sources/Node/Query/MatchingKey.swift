import Codec

/// One matching key of a C-FIND identifier, classified by the attribute matching rules of
/// PS3.4 C.2.2.2, and the test of a stored attribute against it. Pure: it knows nothing of the
/// store. `sqlCondition(column:)` gives a database prefilter; `matches` is the exact test.
///
/// Choices where PS3.4 leaves room (they belong in the conformance statement):
/// - PN (C.2.2.2.1, C.2.2.2.4 leave PN matching to the implementation): case-insensitive for
///   ASCII letters only (as SQLite's LIKE, and Orthanc's default CaseSensitivePN=false); names
///   compare whole (groups and components), trailing empty components and groups ignored
///   (`Doe^John^^^` is `Doe^John`, PS3.5 6.2.1.1); a key without "=" is also tried against the
///   stored alphabetic group alone, so `Yamada^Tarou` finds `Yamada^Tarou=山田^太郎`.
/// - Other strings compare exactly, Unicode scalar by scalar (no normalisation); "?" is one scalar.
/// - A stored attribute that is absent or empty matches only universal keys (as DCMTK; PS3.4
///   K.2.2.1.1.1 says so for worklists). A key of only "*" is universal (C.2.2.2.4 note).
/// - A single DA, TM or DT value matches the same instant (`1015` = `101500` = `101500.000`, as
///   DCMTK); a range contains a stored value when the value starts within it, and an upper bound
///   includes its whole precision (`-1015` includes 10:15:59). DT without offset is taken as UTC.
///   Timezone Offset From UTC (0008,0201) is not applied.
/// - Several values in a non-UI key (C.2.2.2.8 leaves them undefined without extended
///   negotiation) match when any of them matches (`CT\MR`), each by the rules of its VR.
/// - Multi-valued stored attributes match when any value matches (C.2.2.3).
public struct MatchingKey: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Zero-length value, only "*", or a sequence without items or item keys (C.2.2.2.3, C.2.2.2.6).
        case universal
        /// Single Value Matching (C.2.2.2.1). PN holds the name without trailing empty components.
        case single(String)
        /// Wild Card Matching (C.2.2.2.4): AE, CS, LO, LT, PN, SH, ST, UC, UR, UT with "*" or "?".
        case wildcard(String)
        /// List of UID Matching (C.2.2.2.2): a UI key with several values.
        case uidList([String])
        /// Several values in a key of another VR: any of them (see the type's notes).
        case list([String])
        /// Range Matching (C.2.2.2.5) of DA, TM, DT; bounds in their PS3.5 form.
        case range(lower: String?, upper: String?)
        /// Sequence Matching (C.2.2.2.6): the key item (the first, if the key has several).
        case sequence(DataSet)
    }

    public let tag: Tag
    public let vr: VR
    public let kind: Kind

    /// DA, TM, DT single values and ranges: the instants (µs, `matchingSpan`) a stored value's
    /// start must lie between. Nil for other kinds, and for date/time keys that did not parse
    /// (those compare as plain strings).
    private let instants: ClosedRange<Int64>?
    /// `.list`: one key per value. `.sequence`: the non-universal keys of the key item.
    private let subkeys: [MatchingKey]

    /// The key `element` of a C-FIND identifier; `dataSet` (the identifier, or the item holding
    /// the element) gives the Specific Character Set its text is decoded with.
    public init(element: DataElement, in dataSet: DataSet) {
        var element = element
        if element.vr == .UN, DataDictionary.entry(for: element.tag) != nil {
            element.vr = DataDictionary.vr(for: element.tag)   // implicit VR input with a known tag
        }
        if element.vr == .SQ {
            self.init(tag: element.tag, sequenceItem: element.items?.first)
        } else {
            self.init(tag: element.tag, vr: element.vr, values: element.strings(characterSet: dataSet.characterSet))
        }
    }

    /// A key from decoded values, padding already trimmed (e.g. from a QIDO-RS query).
    public init(tag: Tag, vr: VR, values: [String]) {
        self.tag = tag
        self.vr = vr
        let present = values.filter { !$0.isEmpty }
        if present.count > 1 {
            instants = nil
            if vr == .UI {
                kind = .uidList(present); subkeys = []
            } else {
                let keys = present.map { MatchingKey(tag: tag, vr: vr, values: [$0]) }
                if keys.contains(where: { $0.kind == .universal }) {
                    kind = .universal; subkeys = []
                } else {
                    kind = .list(present); subkeys = keys
                }
            }
            return
        }
        subkeys = []
        let value = present.first ?? ""
        switch vr {
        case .DA: (kind, instants) = Self.classify(value, as: DicomDate.self)
        case .TM: (kind, instants) = Self.classify(value, as: DicomTime.self)
        case .DT: (kind, instants) = Self.classify(value, as: DicomDateTime.self)
        default:
            instants = nil
            let text = vr == .PN ? Self.trimmedName(value) : value
            if text.isEmpty || text.unicodeScalars.allSatisfy({ $0 == "*" }) {
                kind = .universal
            } else if Self.wildcardVRs.contains(vr), text.contains(where: { $0 == "*" || $0 == "?" }) {
                kind = .wildcard(text)
            } else {
                kind = .single(text)
            }
        }
    }

    /// A sequence key (C.2.2.2.6): universal unless `item` holds a non-universal key.
    public init(tag: Tag, sequenceItem item: DataSet?) {
        self.tag = tag
        self.vr = .SQ
        instants = nil
        let keys = (item?.elements ?? [])
            .filter { $0.tag != .specificCharacterSet && !$0.tag.isGroupLength }
            .map { MatchingKey(element: $0, in: item!) }
            .filter { $0.kind != .universal }
        subkeys = keys
        kind = keys.isEmpty ? .universal : .sequence(item!)
    }

    private static let wildcardVRs: Set<VR> = [.AE, .CS, .LO, .LT, .PN, .SH, .ST, .UC, .UR, .UT]

    private static func classify<T: DicomRangeBound & CustomStringConvertible>(
        _ value: String, as: T.Type
    ) -> (Kind, ClosedRange<Int64>?) {
        if value.isEmpty { return (.universal, nil) }
        if let v = T(value) {
            let start = v.matchingSpan.lowerBound
            return (.single(value), start...start)
        }
        if let r = DicomRange<T>(value) {
            let lower = r.lower?.matchingSpan.lowerBound ?? .min, upper = r.upper?.matchingSpan.upperBound ?? .max
            return (.range(lower: r.lower?.description, upper: r.upper?.description), lower <= upper ? lower...upper : nil)
        }
        return (.single(value), nil)   // not a date/time: compared as a string, matches nothing valid
    }

    // MARK: matching

    /// Whether a stored attribute with `values` (decoded, padding trimmed; empty when the attribute
    /// is absent or empty) matches. Sequence keys match nothing here: use `matches(sequenceItems:)`
    /// or `matches(in:)`.
    public func matches(_ values: [String]) -> Bool {
        switch kind {
        case .universal: return true
        case .sequence: return false
        case .list: return subkeys.contains { $0.matches(values) }
        default: return values.contains { !$0.isEmpty && matchesValue($0) }
        }
    }

    /// Sequence Matching (C.2.2.2.6): some stored item matches every key of the key item.
    public func matches(sequenceItems: [DataSet]) -> Bool {
        switch kind {
        case .universal: return true
        case .sequence: return sequenceItems.contains { item in subkeys.allSatisfy { $0.matches(in: item) } }
        default: return false
        }
    }

    /// Whether the attribute `tag` of a stored data set (or sequence item) matches.
    public func matches(in dataSet: DataSet) -> Bool {
        if case .sequence = kind { return matches(sequenceItems: dataSet.sequence(tag) ?? []) }
        return matches(dataSet.strings(tag) ?? [])
    }

    private func matchesValue(_ value: String) -> Bool {
        switch kind {
        case .single where instants != nil:
            return Self.start(of: value, vr: vr).map { instants!.contains($0) } ?? false
        case .range:
            guard let instants else { return false }   // a range whose lower bound is after its upper
            return Self.start(of: value, vr: vr).map { instants.contains($0) } ?? false
        case .single(let key) where vr == .PN, .wildcard(let key) where vr == .PN:
            let name = Self.trimmedName(value)
            var wild = false
            if case .wildcard = kind { wild = true }
            if Self.glob(key, name, wildcards: wild, foldCase: true) { return true }
            // A key without "=" also against the alphabetic group alone.
            guard !key.contains("="), let eq = name.firstIndex(of: "=") else { return false }
            return Self.glob(key, String(name[..<eq]), wildcards: wild, foldCase: true)
        case .single(let key):
            return key.unicodeScalars.elementsEqual(value.unicodeScalars)
        case .wildcard(let key):
            return Self.glob(key, value, wildcards: true, foldCase: false)
        case .uidList(let uids):
            return uids.contains { $0.unicodeScalars.elementsEqual(value.unicodeScalars) }
        case .universal, .list, .sequence:
            return false
        }
    }

    private static func start(of value: String, vr: VR) -> Int64? {
        switch vr {
        case .DA: return DicomDate(value)?.matchingSpan.lowerBound
        case .TM: return DicomTime(value)?.matchingSpan.lowerBound
        case .DT: return DicomDateTime(value)?.matchingSpan.lowerBound
        default: return nil
        }
    }

    /// PN without trailing empty components in each group, nor trailing empty groups (PS3.5 6.2.1).
    private static func trimmedName(_ name: String) -> String {
        var groups = name.split(separator: "=", omittingEmptySubsequences: false).map { group in
            var g = group
            while g.hasSuffix("^") { g = g.dropLast() }
            return g
        }
        while let last = groups.last, last.isEmpty { groups.removeLast() }
        return groups.joined(separator: "=")
    }

    /// `*` any run of scalars (also none), `?` exactly one (C.2.2.2.4); literal compare otherwise.
    /// `foldCase` ignores the case of ASCII letters only.
    private static func glob(_ pattern: String, _ value: String, wildcards: Bool, foldCase: Bool) -> Bool {
        func fold(_ s: Unicode.Scalar) -> UInt32 {
            foldCase && s.value >= 0x41 && s.value <= 0x5A ? s.value + 0x20 : s.value
        }
        let p = pattern.unicodeScalars.map { $0 }, v = value.unicodeScalars.map(fold)
        if !wildcards { return p.map(fold) == v }
        var i = 0, j = 0, star = -1, resume = 0
        while j < v.count {
            if i < p.count, p[i] == "*" {
                star = i; resume = j; i += 1
            } else if i < p.count, p[i] == "?" || fold(p[i]) == v[j] {
                i += 1; j += 1
            } else if star >= 0 {
                i = star + 1; resume += 1; j = resume
            } else {
                return false
            }
        }
        while i < p.count, p[i] == "*" { i += 1 }
        return i == p.count
    }

    // MARK: SQL prefilter

    /// A condition on a text column holding the attribute (values joined with a backslash, as the
    /// index stores them), with `?` placeholders for `parameters`. It selects a superset of the
    /// matching rows, never fewer, so callers must still call `matches` on what it returns. Nil
    /// when no safe prefilter exists (universal and sequence keys, ranges on multi-valued columns).
    ///
    /// `column` is an SQL identifier from the caller, inserted as is. `multiValued` says whether
    /// the column may hold several values; by default the data dictionary's VM decides (unknown
    /// tags count as multi-valued). Assumptions: values in their PS3.5 form (a legacy
    /// `YYYY.MM.DD` or `HH:MM` is matched by `matches` but may be missed here), and LIKE
    /// ignoring ASCII case (SQLite's default), which PN relies on.
    public func sqlCondition(column: String, multiValued: Bool? = nil) -> (sql: String, parameters: [String])? {
        let multi = multiValued ?? (DataDictionary.entry(for: tag).map { $0.vm != "1" } ?? true)
        func like(_ pattern: String) -> (sql: String, parameters: [String]) {
            multi ? (#"('\' || \#(column) || '\') LIKE ? ESCAPE '\'"#, [#"%\\"# + pattern + #"\\%"#])
                  : ("\(column) LIKE ? ESCAPE '\\'", [pattern])
        }
        switch kind {
        case .universal, .sequence:
            return nil
        case .list:
            let parts = subkeys.map { $0.sqlCondition(column: column, multiValued: multi) }
            guard parts.allSatisfy({ $0 != nil }) else { return nil }
            return ("(" + parts.map { $0!.sql }.joined(separator: " OR ") + ")", parts.flatMap { $0!.parameters })
        case .uidList(let uids):
            if multi {
                let parts = uids.map { like(Self.likePattern($0, wildcards: false)) }
                return ("(" + parts.map(\.sql).joined(separator: " OR ") + ")", parts.flatMap(\.parameters))
            }
            return ("\(column) IN (" + Array(repeating: "?", count: uids.count).joined(separator: ", ") + ")", uids)
        case .single(let key) where vr == .PN, .wildcard(let key) where vr == .PN:
            return like(Self.namePattern(key))
        case .wildcard(let key):
            return like(Self.likePattern(key, wildcards: true))
        case .single(let key) where instants == nil:
            return multi ? like(Self.likePattern(key, wildcards: false)) : ("\(column) = ?", [key])
        case .single, .range:
            guard !multi, instants != nil else { return nil }
            let bounds = dateTimeBounds()
            if bounds.count == 2, bounds[0].op == ">=", bounds[1].op == "<=" {
                return ("\(column) BETWEEN ? AND ?", bounds.map(\.value))
            }
            guard !bounds.isEmpty else { return nil }
            return (bounds.map { "\(column) \($0.op) ?" }.joined(separator: " AND "), bounds.map(\.value))
        }
    }

    /// Text comparisons for a DA, TM or DT key that every stored value (in PS3.5 form) within
    /// the key's range passes.
    private func dateTimeBounds() -> [(op: String, value: String)] {
        let (lowerText, upperText): (String?, String?)
        switch kind {
        case .single(let v): (lowerText, upperText) = (v, v)
        case .range(let l, let u): (lowerText, upperText) = (l, u)
        default: return []
        }
        var out: [(op: String, value: String)] = []
        switch vr {
        case .DA:
            // YYYYMMDD sorts as text.
            if case .single(let v) = kind { return [("=", DicomDate(v)!.description)] }
            if let l = lowerText { out.append((">=", l)) }
            if let u = upperText { out.append(("<=", u)) }
        case .TM:
            // A stored value sorts before the longer times it is a prefix of ("10" < "1000"), so
            // the lower bound drops trailing zeros ("100000" → "1"); the upper bound is the last
            // instant it covers, written in full ("1015" → "101559.999999").
            if let t = lowerText.flatMap(DicomTime.init) {
                var s = Self.timeText(t.hour, t.minute ?? 0, t.second ?? 0, t.microsecond)
                while s.hasSuffix("0") || s.hasSuffix(".") { s.removeLast() }
                if !s.isEmpty { out.append((">=", s)) }
            }
            if let t = upperText.flatMap(DicomTime.init) {
                let end = t.minute == nil ? Self.timeText(t.hour, 59, 59, 999_999)
                    : t.second == nil ? Self.timeText(t.hour, t.minute!, 59, 999_999)
                    : Self.timeText(t.hour, t.minute!, t.second!, t.microsecond + Self.pow10(6 - t.fractionDigits) - 1)
                out.append(("<=", end))
            }
        case .DT:
            // Stored values may carry any offset from -12:00 to +14:00, or none (UTC): compare
            // dates only, widened by a day (and the offsets) on each side. A shorter value sorts
            // before the dates it starts on ("2020" < "20200101"); a value at or after the day
            // after the widened upper bound starts too late whatever its offset.
            let day: Int64 = 86_400_000_000, hour: Int64 = 3_600_000_000
            if instants!.lowerBound != .min, let l = Self.dateText(instants!.lowerBound - day) {
                out.append((">=", l))
            }
            if instants!.upperBound != .max, let u = Self.dateText(instants!.upperBound + 14 * hour + day) {
                out.append(("<", u))
            }
        default:
            break
        }
        return out
    }

    private static func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }
    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    private static func timeText(_ h: Int, _ m: Int, _ s: Int, _ micro: Int) -> String {
        pad(h, 2) + pad(m, 2) + pad(s, 2) + "." + pad(micro, 6)
    }
    /// YYYYMMDD of the UTC day holding `micros` since 1970 (proleptic Gregorian).
    private static func dateText(_ micros: Int64) -> String? {
        let perDay: Int64 = 86_400_000_000
        let days = micros >= 0 ? micros / perDay : (micros + 1) / perDay - 1
        guard let date = DicomDate(daysSince1970: days) else { return nil }
        return pad(date.year, 4) + pad(date.month, 2) + pad(date.day, 2)
    }
    /// LIKE pattern for a literal or wildcard value: `%`, `_` and `\` escaped with `\`.
    private static func likePattern(_ value: String, wildcards: Bool) -> String {
        var out = ""
        for c in value.unicodeScalars {
            switch c {
            case "*" where wildcards: out += "%"
            case "?" where wildcards: out += "_"
            case "%", "_", "\\": out += "\\" + String(c)
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// LIKE pattern for a PN key. Stored names may keep trailing empty components that the key's
    /// normalised form lacks ("Doe^John^^=…"), so every "=" and "?" may be preceded by anything
    /// and the pattern ends with "%". LIKE ignores ASCII case, as PN matching does here.
    private static func namePattern(_ key: String) -> String {
        var out = ""
        for c in key.unicodeScalars {
            switch c {
            case "*": out += "%"
            case "?": out += "%_"
            case "=": out += "%="
            case "%", "_", "\\": out += "\\" + String(c)
            default: out.unicodeScalars.append(c)
            }
        }
        return out.hasSuffix("%") && !out.hasSuffix("\\%") ? out : out + "%"
    }
}
