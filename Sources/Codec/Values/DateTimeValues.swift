import Foundation

// Typed views of the DA, TM, DT, DS, IS and AS value representations (PS3.5 6.2) and of
// range matching keys (PS3.4 C.2.2.2.5). Parsing is strict about values (no month 13, no
// hour 25) but tolerates surrounding spaces and NULs, the padding of PS3.5 6.2.

/// A value that can bound a range: the instants it covers, in microseconds on a scale where
/// ordering is meaningful. A partial TM or DT value covers a span ("2020" is the whole year).
public protocol DicomRangeBound: Sendable {
    init?(_ text: String)
    var matchingSpan: ClosedRange<Int64> { get }
}

// MARK: - DA

/// A date (DA, PS3.5 6.2): YYYYMMDD, or the ACR-NEMA form YYYY.MM.DD that PS3.5 still lists
/// for reading.
public struct DicomDate: Sendable, Hashable, Comparable, CustomStringConvertible, DicomRangeBound {
    public let year: Int
    public let month: Int
    public let day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (0...9999).contains(year), (1...12).contains(month),
              (1...DateText.daysInMonth(year, month)).contains(day) else { return nil }
        self.year = year; self.month = month; self.day = day
    }

    /// The day `days` after 1970-01-01 (proleptic Gregorian); nil outside years 0–9999.
    public init?(daysSince1970 days: Int64) {
        let (y, m, d) = DateText.civilFromDays(days)
        self.init(year: y, month: m, day: d)
    }

    public init?(_ text: String) {
        let u = DateText.trimmed(text)
        let y, m, d: Int?
        switch u.count {
        case 8:
            y = DateText.number(u, 0, 4); m = DateText.number(u, 4, 2); d = DateText.number(u, 6, 2)
        case 10 where u[4] == UInt8(ascii: ".") && u[7] == UInt8(ascii: "."):
            y = DateText.number(u, 0, 4); m = DateText.number(u, 5, 2); d = DateText.number(u, 8, 2)
        default:
            return nil
        }
        guard let y, let m, let d else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// The day `date` falls on in `timeZone`.
    public init(_ date: Date, timeZone: TimeZone = TimeZone(identifier: "UTC")!) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        let c = cal.dateComponents([.year, .month, .day], from: date)
        year = c.year!; month = c.month!; day = c.day!
    }

    public var description: String { DateText.pad(year, 4) + DateText.pad(month, 2) + DateText.pad(day, 2) }

    /// Year, month and day in the Gregorian calendar, time zone UTC.
    public var dateComponents: DateComponents {
        DateComponents(calendar: DateText.utcCalendar, timeZone: TimeZone(identifier: "UTC"), year: year, month: month, day: day)
    }
    /// Midnight UTC at the start of the day.
    public var date: Date? { Date(timeIntervalSince1970: TimeInterval(DateText.daysFromCivil(year, month, day)) * 86_400) }

    public static func < (a: DicomDate, b: DicomDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    public var matchingSpan: ClosedRange<Int64> {
        let start = DateText.daysFromCivil(year, month, day) * DateText.microsPerDay
        return start...(start + DateText.microsPerDay - 1)
    }
}

// MARK: - TM

/// A time (TM, PS3.5 6.2): HH, HHMM, HHMMSS or HHMMSS.F{1-6}, and the ACR-NEMA form
/// HH:MM[:SS[.F]]. Seconds may be 60 (leap second). The precision given is kept.
public struct DicomTime: Sendable, Hashable, Comparable, CustomStringConvertible, DicomRangeBound {
    public let hour: Int
    public let minute: Int?
    public let second: Int?
    /// 0...999999; nonzero only with `fractionDigits` > 0.
    public let microsecond: Int
    /// Digits written after the point (0...6), so that `description` gives the value back.
    public let fractionDigits: Int

    public init?(hour: Int, minute: Int? = nil, second: Int? = nil, microsecond: Int = 0, fractionDigits: Int? = nil) {
        let digits = fractionDigits ?? (microsecond == 0 ? 0 : 6)
        guard (0...23).contains(hour), minute.map({ (0...59).contains($0) }) ?? true,
              second.map({ (0...60).contains($0) }) ?? true, second == nil || minute != nil,
              (0...6).contains(digits), (0...999_999).contains(microsecond),
              digits == 0 || second != nil, microsecond % DateText.pow10(6 - digits) == 0 else { return nil }
        self.hour = hour; self.minute = minute; self.second = second
        self.microsecond = microsecond; self.fractionDigits = digits
    }

    public init?(_ text: String) {
        var u = DateText.trimmed(text)
        // ACR-NEMA HH:MM[:SS[.F]]: colons exactly after the hour and the minute.
        if u.contains(UInt8(ascii: ":")) {
            guard u.count >= 5, u[2] == UInt8(ascii: ":"), u.count == 5 || (u.count >= 8 && u[5] == UInt8(ascii: ":")) else { return nil }
            u.removeAll { $0 == UInt8(ascii: ":") }
            guard u.count >= 4, !u.contains(UInt8(ascii: ":")) else { return nil }
        }
        guard let parsed = DateText.parseTime(u, from: 0) else { return nil }
        self = parsed
    }

    /// The time of day of `date` in `timeZone`, to the microsecond.
    public init(_ date: Date, timeZone: TimeZone = TimeZone(identifier: "UTC")!) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        let c = cal.dateComponents([.hour, .minute, .second], from: date)
        let seconds = date.timeIntervalSince1970
        let micro = Int(((seconds - seconds.rounded(.down)) * 1_000_000).rounded(.down))
        hour = c.hour!; minute = c.minute!; second = c.second!
        microsecond = min(max(micro, 0), 999_999); fractionDigits = 6
    }

    public var description: String {
        var s = DateText.pad(hour, 2)
        if let minute { s += DateText.pad(minute, 2) }
        if let second { s += DateText.pad(second, 2) }
        if fractionDigits > 0 { s += "." + DateText.pad(microsecond / DateText.pow10(6 - fractionDigits), fractionDigits) }
        return s
    }

    /// Microseconds since midnight at the start of the time (missing parts are zero).
    public var microsecondsSinceMidnight: Int64 {
        Int64(hour * 3600 + (minute ?? 0) * 60 + (second ?? 0)) * 1_000_000 + Int64(microsecond)
    }

    /// Hour, minute, second and nanosecond.
    public var dateComponents: DateComponents {
        DateComponents(hour: hour, minute: minute ?? 0, second: second ?? 0, nanosecond: microsecond * 1000)
    }

    /// Ordered by the instant the time starts at; "12" and "1200" start together and compare equal
    /// in `<`, though `==` tells them apart by precision.
    public static func < (a: DicomTime, b: DicomTime) -> Bool { a.microsecondsSinceMidnight < b.microsecondsSinceMidnight }

    /// "12" covers 12:00:00.000000...12:59:59.999999 (PS3.4 C.2.2.2.5.1).
    public var matchingSpan: ClosedRange<Int64> {
        let start = microsecondsSinceMidnight
        let unit: Int64 = second == nil ? (minute == nil ? 3_600_000_000 : 60_000_000) : Int64(DateText.pow10(6 - fractionDigits))
        return start...(start + unit - 1)
    }
}

// MARK: - DT

/// A date-time (DT, PS3.5 6.2): YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]][&ZZXX], where &ZZXX is an
/// offset from UTC between -1200 and +1400.
public struct DicomDateTime: Sendable, Hashable, Comparable, CustomStringConvertible, DicomRangeBound {
    public let year: Int
    public let month: Int?
    public let day: Int?
    public let hour: Int?
    public let minute: Int?
    public let second: Int?
    public let microsecond: Int
    public let fractionDigits: Int
    /// The &ZZXX suffix in minutes east of UTC; nil when absent (then Timezone Offset From UTC
    /// (0008,0201) or local time applies, PS3.5 6.2).
    public let utcOffsetMinutes: Int?

    public init?(_ text: String) {
        var u = DateText.trimmed(text)
        var offset: Int?
        if u.count >= 9, u[u.count - 5] == UInt8(ascii: "+") || u[u.count - 5] == UInt8(ascii: "-") {
            guard let hh = DateText.number(u, u.count - 4, 2), let mm = DateText.number(u, u.count - 2, 2), mm < 60 else { return nil }
            let minutes = (hh * 60 + mm) * (u[u.count - 5] == UInt8(ascii: "-") ? -1 : 1)
            guard (-720...840).contains(minutes) else { return nil }
            offset = minutes
            u.removeLast(5)
        }
        guard u.count >= 4, let year = DateText.number(u, 0, 4) else { return nil }
        var month: Int?, day: Int?
        var time: DicomTime?
        switch u.count {
        case 4: break
        case 6: month = DateText.number(u, 4, 2); guard month != nil else { return nil }
        case 8...:
            month = DateText.number(u, 4, 2); day = DateText.number(u, 6, 2)
            guard month != nil, day != nil else { return nil }
            if u.count > 8 {
                // The time part follows TM's grammar, except that a fraction needs full seconds.
                guard let t = DateText.parseTime(u, from: 8) else { return nil }
                time = t
            }
        default: return nil
        }
        self.init(year: year, month: month, day: day, hour: time?.hour, minute: time?.minute, second: time?.second,
                  microsecond: time?.microsecond ?? 0, fractionDigits: time?.fractionDigits ?? 0, utcOffsetMinutes: offset)
    }

    public init?(year: Int, month: Int? = nil, day: Int? = nil, hour: Int? = nil, minute: Int? = nil, second: Int? = nil,
                 microsecond: Int = 0, fractionDigits: Int? = nil, utcOffsetMinutes: Int? = nil) {
        let digits = fractionDigits ?? (microsecond == 0 ? 0 : 6)
        // Each component needs the ones before it (PS3.5 6.2, DT).
        guard (0...9999).contains(year),
              month.map({ (1...12).contains($0) }) ?? true,
              day == nil || (month != nil && (1...DateText.daysInMonth(year, month!)).contains(day!)),
              hour == nil || (day != nil && (0...23).contains(hour!)),
              minute == nil || (hour != nil && (0...59).contains(minute!)),
              second == nil || (minute != nil && (0...60).contains(second!)),
              (0...6).contains(digits), digits == 0 || second != nil,
              (0...999_999).contains(microsecond), microsecond % DateText.pow10(6 - digits) == 0,
              utcOffsetMinutes.map({ (-720...840).contains($0) }) ?? true else { return nil }
        self.year = year; self.month = month; self.day = day
        self.hour = hour; self.minute = minute; self.second = second
        self.microsecond = microsecond; self.fractionDigits = digits
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    /// `date` as seen at `utcOffsetMinutes` east of UTC, to the microsecond, with the offset written.
    public init(_ date: Date, utcOffsetMinutes: Int = 0) {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down)) + Int64(utcOffsetMinutes) * 60_000_000
        let days = micros >= 0 ? micros / DateText.microsPerDay : (micros - DateText.microsPerDay + 1) / DateText.microsPerDay
        let rest = Int(micros - days * DateText.microsPerDay)
        let (y, m, d) = DateText.civilFromDays(days)
        year = y; month = m; day = d
        hour = rest / 3_600_000_000; minute = rest / 60_000_000 % 60; second = rest / 1_000_000 % 60
        microsecond = rest % 1_000_000; fractionDigits = 6
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    public var description: String {
        var s = DateText.pad(year, 4)
        for part in [month, day, hour, minute, second] {
            guard let part else { break }
            s += DateText.pad(part, 2)
        }
        if fractionDigits > 0 { s += "." + DateText.pad(microsecond / DateText.pow10(6 - fractionDigits), fractionDigits) }
        if let o = utcOffsetMinutes { s += (o < 0 ? "-" : "+") + DateText.pad(abs(o) / 60, 2) + DateText.pad(abs(o) % 60, 2) }
        return s
    }

    /// The components given; `timeZone` is set only when the value has an offset.
    public var dateComponents: DateComponents {
        DateComponents(calendar: DateText.utcCalendar, timeZone: utcOffsetMinutes.flatMap { TimeZone(secondsFromGMT: $0 * 60) },
                       year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                       nanosecond: fractionDigits > 0 ? microsecond * 1000 : nil)
    }

    /// The instant the value starts at; without an offset in the value, `defaultOffsetMinutes`
    /// east of UTC is assumed (e.g. from (0008,0201)).
    public func date(defaultOffsetMinutes: Int = 0) -> Date? {
        Date(timeIntervalSince1970: TimeInterval(startMicroseconds(defaultOffsetMinutes: defaultOffsetMinutes)) / 1_000_000)
    }
    /// The instant the value starts at, taking a value without offset as UTC.
    public var date: Date? { date(defaultOffsetMinutes: 0) }

    /// Microseconds since 1970-01-01T00:00Z at the start of the value.
    func startMicroseconds(defaultOffsetMinutes: Int = 0) -> Int64 {
        let days = DateText.daysFromCivil(year, month ?? 1, day ?? 1)
        let local = days * DateText.microsPerDay
            + Int64((hour ?? 0) * 3600 + (minute ?? 0) * 60 + (second ?? 0)) * 1_000_000 + Int64(microsecond)
        return local - Int64(utcOffsetMinutes ?? defaultOffsetMinutes) * 60_000_000
    }

    /// Ordered by the instant each value starts at.
    public static func < (a: DicomDateTime, b: DicomDateTime) -> Bool { a.startMicroseconds() < b.startMicroseconds() }

    /// "2020" covers the whole year 2020, "202002" all of February (PS3.4 C.2.2.2.5.1).
    public var matchingSpan: ClosedRange<Int64> {
        let start = startMicroseconds()
        let end: Int64
        if month == nil {
            end = DateText.daysFromCivil(year + 1, 1, 1) * DateText.microsPerDay - Int64(utcOffsetMinutes ?? 0) * 60_000_000
        } else if day == nil {
            let (y, m) = month! == 12 ? (year + 1, 1) : (year, month! + 1)
            end = DateText.daysFromCivil(y, m, 1) * DateText.microsPerDay - Int64(utcOffsetMinutes ?? 0) * 60_000_000
        } else if hour == nil {
            end = start + DateText.microsPerDay
        } else if minute == nil {
            end = start + 3_600_000_000
        } else if second == nil {
            end = start + 60_000_000
        } else {
            end = start + Int64(DateText.pow10(6 - fractionDigits))
        }
        return start...(end - 1)
    }
}

// MARK: - Ranges

/// A range of dates, times or date-times for query matching (PS3.4 C.2.2.2.5): "lower-upper",
/// "-upper" or "lower-". Either bound may be absent, not both.
public struct DicomRange<T> {
    public var lower: T?
    public var upper: T?
    public init(lower: T?, upper: T?) {
        self.lower = lower
        self.upper = upper
    }
}

extension DicomRange: Sendable where T: Sendable {}
extension DicomRange: Equatable where T: Equatable {}
extension DicomRange: Hashable where T: Hashable {}

extension DicomRange: CustomStringConvertible where T: CustomStringConvertible {
    /// The query form; a range whose bounds are equal prints as the single value.
    public var description: String {
        if let l = lower, let u = upper, l.description == u.description { return l.description }
        return (lower?.description ?? "") + "-" + (upper?.description ?? "")
    }
}

extension DicomRange where T: DicomRangeBound {
    /// Parses a range. A text without a usable "-" is one value, taken as both bounds (so "2020"
    /// as DT matches the whole year). A DT offset such as "-0500" is told apart from the range
    /// hyphen by trying the whole text as one value first, then each "-" in turn.
    public init?(_ text: String) {
        let t = String(decoding: DateText.trimmed(text), as: UTF8.self)
        if let v = T(t) { self.init(lower: v, upper: v); return }
        var i = t.startIndex
        while let dash = t[i...].firstIndex(of: "-") {
            let left = String(t[..<dash]), right = String(t[t.index(after: dash)...])
            let l = left.isEmpty ? nil : T(left), u = right.isEmpty ? nil : T(right)
            if (left.isEmpty || l != nil) && (right.isEmpty || u != nil) && (l != nil || u != nil) {
                self.init(lower: l, upper: u)
                return
            }
            i = t.index(after: dash)
        }
        return nil
    }

    /// Whether `value` starts within the range, bounds inclusive to their full precision
    /// (an upper bound "20201231" includes the whole day).
    public func contains(_ value: T) -> Bool {
        let v = value.matchingSpan.lowerBound
        if let lower, v < lower.matchingSpan.lowerBound { return false }
        if let upper, v > upper.matchingSpan.upperBound { return false }
        return true
    }
}

// MARK: - DS, IS

/// Decimal (DS) and integer (IS) strings (PS3.5 6.2).
public enum NumericString {
    /// A DS value: optional leading/trailing spaces, [+-] digits [. digits] [(e|E) [+-] digits],
    /// with at least one mantissa digit. The 16-byte limit is not enforced on reading.
    public static func decimal(_ s: Substring) -> Double? {
        let u = trimmedSpaces(s.utf8)
        var i = u.startIndex
        if i < u.endIndex, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") { i = u.index(after: i) }
        var mantissaDigits = 0
        while i < u.endIndex, isDigit(u[i]) { mantissaDigits += 1; i = u.index(after: i) }
        if i < u.endIndex, u[i] == UInt8(ascii: ".") {
            i = u.index(after: i)
            while i < u.endIndex, isDigit(u[i]) { mantissaDigits += 1; i = u.index(after: i) }
        }
        guard mantissaDigits > 0 else { return nil }
        if i < u.endIndex, u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") {
            i = u.index(after: i)
            if i < u.endIndex, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") { i = u.index(after: i) }
            var exponentDigits = 0
            while i < u.endIndex, isDigit(u[i]) { exponentDigits += 1; i = u.index(after: i) }
            guard exponentDigits > 0 else { return nil }
        }
        guard i == u.endIndex, let d = Double(Substring(u)), d.isFinite else { return nil }
        return d
    }

    /// An IS value: optional spaces, [+-] digits, within -2^31...2^31-1.
    public static func integer(_ s: Substring) -> Int64? {
        let u = trimmedSpaces(s.utf8)
        var i = u.startIndex
        var negative = false
        if i < u.endIndex, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            negative = u[i] == UInt8(ascii: "-"); i = u.index(after: i)
        }
        guard i < u.endIndex else { return nil }
        var v: Int64 = 0
        while i < u.endIndex {
            let c = u[i]
            guard isDigit(c) else { return nil }
            v = v * 10 + Int64(c - 0x30)
            guard v <= 2_147_483_648 else { return nil }   // stop before overflow on long inputs
            i = u.index(after: i)
        }
        if negative { v = -v }
        return (-2_147_483_648...2_147_483_647).contains(v) ? v : nil
    }

    /// The closest DS text of at most 16 characters (PS3.5 6.2): the shortest round-trip form
    /// when it fits, else the most significant digits that fit, in fixed or exponent notation.
    /// Non-finite values have no DS form and give "" (an empty value).
    public static func formatDecimal(_ v: Double) -> String {
        guard v.isFinite else { return "" }
        if v == 0 { return "0" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        let shortest = compactExponent("\(v)")
        if shortest.utf8.count <= 16 { return shortest }
        for p in stride(from: 16, through: 1, by: -1) {
            let candidates = [compactExponent(String(format: "%.\(p)g", v)), compactExponent(String(format: "%.\(max(p - 1, 0))e", v))]
            // Rounding can overflow near the largest Double ("1.8e308"): keep only what reads back.
            if let best = candidates.filter({ $0.utf8.count <= 16 && decimal(Substring($0)) != nil })
                .min(by: { $0.utf8.count < $1.utf8.count }) { return best }
        }
        return String(format: "%.0e", v)   // unreachable: "-1e-308" fits
    }

    /// "1.5e+20" → "1.5e20", "1e-05" → "1e-5", "2.50000e3" → "2.5e3", "1.0" → "1".
    private static func compactExponent(_ s: String) -> String {
        var mantissa = Substring(s), exponent: Substring = ""
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = s[..<e]
            var x = s[s.index(after: e)...]
            var sign = ""
            if x.first == "+" { x = x.dropFirst() } else if x.first == "-" { sign = "-"; x = x.dropFirst() }
            while x.count > 1, x.first == "0" { x = x.dropFirst() }
            exponent = Substring("e" + sign + x)
        }
        if mantissa.contains(".") {
            while mantissa.last == "0" { mantissa = mantissa.dropLast() }
            if mantissa.last == "." { mantissa = mantissa.dropLast() }
        }
        return String(mantissa) + exponent
    }

    @inline(__always) private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func trimmedSpaces(_ u: Substring.UTF8View) -> Substring.UTF8View {
        var u = u
        while let f = u.first, f == 0x20 { u = u.dropFirst() }
        while let l = u.last, l == 0x20 || l == 0 { u = u.dropLast() }
        return u
    }
}

// MARK: - AS

/// Age strings (AS, PS3.5 6.2): three digits and D, W, M or Y, e.g. "045Y".
public enum AgeString {
    public enum Unit: Character, Sendable, Hashable, CaseIterable {
        case days = "D", weeks = "W", months = "M", years = "Y"
    }

    public static func parse(_ text: Substring) -> (value: Int, unit: Unit)? {
        let u = Array(text.utf8.drop(while: { $0 == 0x20 }).reversed().drop(while: { $0 == 0x20 || $0 == 0 }).reversed())
        guard u.count == 4, let value = DateText.number(u, 0, 3),
              let unit = Unit(rawValue: Character(Unicode.Scalar(u[3]))) else { return nil }
        return (value, unit)
    }
    public static func parse(_ text: String) -> (value: Int, unit: Unit)? { parse(Substring(text)) }

    /// "045Y" from (45, .years); nil outside 0...999.
    public static func format(_ value: Int, _ unit: Unit) -> String? {
        guard (0...999).contains(value) else { return nil }
        return DateText.pad(value, 3) + String(unit.rawValue)
    }
}

// MARK: - Helpers

enum DateText {
    static let microsPerDay: Int64 = 86_400_000_000
    static let utcCalendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    /// The ASCII bytes of `text` without surrounding spaces and trailing NULs.
    static func trimmed(_ text: String) -> [UInt8] {
        var u = Substring(text).utf8[...]
        while let f = u.first, f == 0x20 { u = u.dropFirst() }
        while let l = u.last, l == 0x20 || l == 0 { u = u.dropLast() }
        return Array(u)
    }

    /// `count` decimal digits at `offset`, nil if any is not a digit.
    static func number(_ u: [UInt8], _ offset: Int, _ count: Int) -> Int? {
        guard offset >= 0, offset + count <= u.count else { return nil }
        var v = 0
        for k in offset..<(offset + count) {
            let c = u[k]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// HH[MM[SS[.F{1-6}]]] from `start` to the end of `u`.
    static func parseTime(_ u: [UInt8], from start: Int) -> DicomTime? {
        let dot = u[start...].firstIndex(of: UInt8(ascii: "."))
        let digitsEnd = dot ?? u.count
        let n = digitsEnd - start
        guard n == 2 || n == 4 || n == 6 else { return nil }
        guard let hh = number(u, start, 2) else { return nil }
        var mm: Int?, ss: Int?
        if n >= 4 { guard let m = number(u, start + 2, 2) else { return nil }; mm = m }
        if n == 6 { guard let s = number(u, start + 4, 2) else { return nil }; ss = s }
        var micro = 0, digits = 0
        if let dot {
            digits = u.count - dot - 1
            guard n == 6, (1...6).contains(digits), let f = number(u, dot + 1, digits) else { return nil }
            micro = f * pow10(6 - digits)
        }
        return DicomTime(hour: hh, minute: mm, second: ss, microsecond: micro, fractionDigits: digits)
    }

    static func pow10(_ n: Int) -> Int {
        var v = 1
        for _ in 0..<n { v *= 10 }
        return v
    }

    static func pad(_ v: Int, _ width: Int) -> String { v.zeroPadded(width) }

    static func isLeapYear(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return isLeapYear(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `daysFromCivil`.
    static func civilFromDays(_ days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }
}
