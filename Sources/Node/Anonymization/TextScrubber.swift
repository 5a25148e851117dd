import Foundation
import Codec

/// The C (clean) action for free text (PS3.15 E.3.5 Clean Descriptors, E.3.4 Clean Structured
/// Content, E.3.3 Clean Graphics): "replace with values of similar meaning known not to contain
/// identifying information". A program cannot understand free text, so cleaning here means taking
/// out what is known to identify: every name, identifier and other text the profile removes or
/// replaces elsewhere in the same object (whole values and their words, e.g. "Doe^John" takes out
/// "Doe", "John", "John Doe"), and, unless dates are kept, anything written like a date. The rest
/// of the descriptor ("CT HEAD W/O CONTRAST") stays. Text naming someone the object does not name
/// elsewhere cannot be recognised and stays too: choose the Basic Profile alone (which removes the
/// descriptors) where that matters.
struct TextScrubber {
    /// Lowercased values to take out as a whole, longest first.
    private(set) var phrases: [String] = []
    /// Lowercased words to take out wherever they stand as a word.
    private(set) var words: Set<String> = []
    var scrubDates: Bool

    init(scrubDates: Bool) { self.scrubDates = scrubDates }

    /// VRs whose values are names, identifiers or text worth learning from.
    static let sourceVRs: Set<VR> = [.PN, .LO, .SH, .LT, .ST, .UT, .UC, .AE]
    /// VRs the scrubber cleans.
    static let cleanableVRs: Set<VR> = [.AE, .CS, .LO, .LT, .PN, .SH, .ST, .UC, .UT]

    /// Learns one identifying value. Person names also by their components in both orders; short
    /// words (single letters, two-letter words of non-names) would take out too much ("CT", "L").
    mutating func learn(_ value: String, vr: VR) {
        let v = value.trimmingCharacters(in: .whitespaces)
        guard !v.isEmpty else { return }
        var variants = [v]
        if vr == .PN {
            for group in v.split(separator: "=", omittingEmptySubsequences: true) {
                let parts = group.split(separator: "^", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
                variants.append(parts.joined(separator: " "))
                variants.append(parts.reversed().joined(separator: " "))
            }
        }
        for variant in variants where variant.count >= 3 {
            let lower = variant.lowercased()
            if !phrases.contains(lower) { phrases.append(lower) }
        }
        phrases.sort { $0.count > $1.count }
        let minimum = vr == .PN ? 2 : 3
        for w in TextScrubber.wordRuns(v) where w.count >= minimum { words.insert(w.lowercased()) }
    }

    /// Learns from every element of `dataSet` (at every depth) that `isIdentifying` names.
    mutating func learn(from dataSet: DataSet, isIdentifying: (DataElement) -> Bool) {
        for e in dataSet.elements {
            if let items = e.items {
                for item in items { learn(from: item, isIdentifying: isIdentifying) }
                continue
            }
            guard TextScrubber.sourceVRs.contains(e.vr), isIdentifying(e) else { continue }
            for v in e.strings(characterSet: dataSet.characterSet) { learn(v, vr: e.vr) }
        }
    }

    /// The text with everything known to identify taken out, spaces tidied.
    func scrub(_ text: String) -> String {
        var t = text
        for p in phrases { t = TextScrubber.removingWhole(p, from: t) }
        if scrubDates {
            for pattern in TextScrubber.datePatterns {
                t = pattern.stringByReplacingMatches(in: t, range: NSRange(t.startIndex..., in: t), withTemplate: " ")
            }
        }
        var out = ""
        var word = ""
        func flush() {
            if !word.isEmpty, !words.contains(word.lowercased()) { out += word }
            word = ""
        }
        for ch in t {
            if ch.isLetter || ch.isNumber { word.append(ch) } else { flush(); out.append(ch) }
        }
        flush()
        // Separators left around what was taken out ("^^", " , ") go with it.
        let collapsed = out.split(whereSeparator: { $0 == " " }).joined(separator: " ")
        return collapsed.trimmingCharacters(in: CharacterSet(charactersIn: " ^,;:-/"))
    }

    /// `text` without the case-insensitive occurrences of `phrase` that stand as whole words
    /// ("Doe John" goes from "seen by Doe John", not from "Doe Johnson").
    static func removingWhole(_ phrase: String, from text: String) -> String {
        var t = text
        var from = t.startIndex
        while let r = t.range(of: phrase, options: [.caseInsensitive], range: from..<t.endIndex) {
            let before = r.lowerBound == t.startIndex ? nil : t[t.index(before: r.lowerBound)]
            let after = r.upperBound == t.endIndex ? nil : t[r.upperBound]
            func isWord(_ c: Character?) -> Bool { c.map { $0.isLetter || $0.isNumber } ?? false }
            if isWord(before) || isWord(after) {
                from = t.index(after: r.lowerBound)
                continue
            }
            t.replaceSubrange(r, with: " ")
            from = t.startIndex
        }
        return t
    }

    static func wordRuns(_ s: String) -> [String] {
        var runs: [String] = [], w = ""
        for ch in s {
            if ch.isLetter || ch.isNumber { w.append(ch) } else if !w.isEmpty { runs.append(w); w = "" }
        }
        if !w.isEmpty { runs.append(w) }
        return runs
    }

    /// Dates as DICOM (20240102), ISO (2024-01-02) and day/month orders (02.01.2024, 1/2/24).
    static let datePatterns: [NSRegularExpression] = [
        #"(?<![0-9])(1[89]|20)[0-9]{2}[-./]?(0[1-9]|1[0-2])[-./]?(0[1-9]|[12][0-9]|3[01])(?![0-9])"#,
        #"(?<![0-9])(0?[1-9]|[12][0-9]|3[01])[-./](0?[1-9]|[12][0-9]|3[01])[-./]((1[89]|20)[0-9]{2}|[0-9]{2})(?![0-9])"#,
    ].map { try! NSRegularExpression(pattern: $0) }
}
