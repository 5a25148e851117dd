/// Seed 003 listing parameters (`startindex`, `count`): negative values are refused (Slicebox: 400).
enum Paging {
    static func check(startIndex: Int, count: Int) throws {
        guard startIndex >= 0, count >= 0 else { throw NodeError.badRequest("startIndex and count must not be negative") }
    }
}
