import Foundation

/// Group commit: callers that record something at the same time share one write transaction,
/// so one disk flush (SQLite `synchronous=FULL`) covers several of them instead of one each
/// (images arriving on parallel associations, images moving between boxes). The first caller
/// commits what is queued when it gets there; callers arriving meanwhile queue for the next
/// commit. Each call still returns only once its own change is committed, so an image is
/// acknowledged (or counted sent) only after it is durable.
final class GroupCommit<Entry, Result>: @unchecked Sendable {
    private final class Slot {
        let entry: Entry
        var result: Result?
        var error: Error?
        var done = false
        init(_ entry: Entry) { self.entry = entry }
    }

    private let condition = NSCondition()
    private var queue: [Slot] = []
    private var committing = false
    /// The most entries one commit has carried (tests check that commits are shared).
    private(set) var largestBatch = 0
    /// Entries waiting for the next commit (tests hold a commit back until several are waiting).
    var queued: Int { condition.lock(); defer { condition.unlock() }; return queue.count }
    /// Commits every entry in one transaction; returns one result per entry, in order.
    private let commit: ([Entry]) throws -> [Result]

    init(commit: @escaping ([Entry]) throws -> [Result]) { self.commit = commit }

    func run(_ entry: Entry) throws -> Result {
        let slot = Slot(entry)
        condition.lock()
        queue.append(slot)
        while !slot.done {
            guard !committing else { condition.wait(); continue }
            committing = true
            let batch = queue
            largestBatch = max(largestBatch, batch.count)
            queue = []
            condition.unlock()
            var results: [Result] = []
            var failure: Error?
            do { results = try commit(batch.map(\.entry)) } catch { failure = error }
            condition.lock()
            for (i, s) in batch.enumerated() {
                if let failure { s.error = failure } else { s.result = results[i] }
                s.done = true
            }
            committing = false
            condition.broadcast()
        }
        condition.unlock()
        if let e = slot.error { throw e }
        return slot.result!
    }
}
