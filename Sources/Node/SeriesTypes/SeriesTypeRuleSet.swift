import Foundation
import Codec

/// Every type's rules, loaded once per change of rules and evaluated against one data set of a
/// series. A type applies when ANY of its rules matches; a rule matches when ALL of its attributes
/// do (a rule without attributes matches every series), as Slicebox.
struct SeriesTypeRuleSet: Sendable {
    struct Condition: Sendable {
        var path: TagPath
        var values: String

        /// The element's values joined with "," equal `values` exactly; with `[*]` in the path,
        /// any item may hold it. An absent element matches nothing.
        func matches(_ ds: DataSet) -> Bool {
            ds.elements(at: path).contains { $0.element.strings(characterSet: ds.characterSet).joined(separator: ",") == values }
        }
    }

    struct TypeRules: Sendable {
        var typeId: Int64
        var rules: [[Condition]]
    }

    var types: [TypeRules]

    /// No rule at all: every label set by rules goes, and no image needs reading.
    var isEmpty: Bool { types.allSatisfy { $0.rules.isEmpty } }

    /// The elements the rules read, at the top level: a file is read only up to the last of them.
    var highestTopLevelTag: Tag? {
        types.flatMap { $0.rules.flatMap { $0.map { $0.path.prefixSteps.first?.tag ?? $0.path.last.tag } } }.max()
    }

    func matchingTypeIds(_ ds: DataSet) -> [Int64] {
        types.filter { t in t.rules.contains { rule in rule.allSatisfy { $0.matches(ds) } } }.map(\.typeId)
    }

    /// Loads every type's rules and their attributes.
    static func load(_ c: SQLiteConnection) throws -> SeriesTypeRuleSet {
        let rows = try c.query("""
            SELECT r.series_type_ref, r.id, a.tag, a.tag_path, a.match_values FROM series_type_rules r
            LEFT JOIN series_type_rule_attributes a ON a.rule_ref = r.id ORDER BY r.series_type_ref, r.id, a.id
            """)
        var types: [TypeRules] = []
        var lastRule: Int64 = -1
        for r in rows {
            guard let typeId = r[0].int, let ruleId = r[1].int else { continue }
            if types.last?.typeId != typeId { types.append(TypeRules(typeId: typeId, rules: [])) }
            if ruleId != lastRule { types[types.count - 1].rules.append([]); lastRule = ruleId }
            guard let tag = r[2].int else { continue }  // a rule without attributes
            // Stored paths were parsed when added; one that no longer parses matches nothing.
            let path = r[3].string.map { (try? TagPath(parsing: $0)) ?? TagPath(Tag(0xFFFF_FFFF)) } ?? TagPath(Tag(UInt32(truncatingIfNeeded: tag)))
            let t = types.count - 1
            types[t].rules[types[t].rules.count - 1].append(Condition(path: path, values: r[4].string ?? ""))
        }
        return SeriesTypeRuleSet(types: types)
    }
}
