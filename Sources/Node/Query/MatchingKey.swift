// PLACEHOLDER until the PS3.4 C.2.2.2 matcher lands (being written in parallel); replaced wholesale.
import Codec
public struct MatchingKey: Sendable {
    let values: [String]
    public init(element: DataElement, in dataSet: DataSet) { values = dataSet.strings(element.tag) ?? [] }
    public func matches(_ candidate: [String]) -> Bool { values.filter { !$0.isEmpty }.isEmpty || values.contains { candidate.contains($0) } }
    public func sqlCondition(column: String) -> (sql: String, parameters: [String])? { nil }
}
