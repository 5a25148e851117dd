import Node

extension MetadataQuery {
    /// The series-type and series-tag filters of a query (ORed within, ANDed between).
    mutating func applySeriesFilters(types: [Int64], tags: [Int64]) throws {
        seriesTypeIds = types
        seriesTagIds = tags
    }
}
