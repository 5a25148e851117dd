import Node

extension MetadataQuery {
    /// The series-type and series-tag filters of a query (ORed within, ANDed between).
    mutating func applySeriesFilters(types: [Int64], tags: [Int64]) throws {
        guard types.isEmpty, tags.isEmpty else { throw HTTPError(.badRequest, "series type and series tag filters are not wired yet") }
    }
}
