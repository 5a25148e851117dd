import Foundation

/// Export sets (`POST /images/export` → id, `GET /images/export?id=`): lists of image ids kept
/// 6 hours in memory, as Slicebox does.
final class ExportSets: @unchecked Sendable {
    private let lock = NSLock()
    private var sets: [Int64: (ids: [Int64], created: Date)] = [:]
    private var next: Int64 = 1
    let lifetime: TimeInterval = 6 * 3600

    func add(_ ids: [Int64]) -> Int64 {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        sets = sets.filter { now.timeIntervalSince($0.value.created) < lifetime }
        let id = next
        next += 1
        sets[id] = (ids, now)
        return id
    }

    func ids(_ id: Int64) -> [Int64]? {
        lock.lock(); defer { lock.unlock() }
        guard let s = sets[id], Date().timeIntervalSince(s.created) < lifetime else { return nil }
        return s.ids
    }
}
