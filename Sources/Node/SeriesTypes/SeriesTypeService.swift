import Foundation
import Codec
import DicomNet

/// Series types: their rules, the labels they put on series, and the relabelling that follows a
/// change of rules (seed 003 `/seriestypes…`, `/metadata/series/{id}/seriestypes…`).
///
/// A series is judged by one image, its first stored one (as Slicebox). It is evaluated when an
/// image of it is stored (an `IngestObserver`), and every series is evaluated again, in the
/// background, after any change of rules; `updateStatus()` is running from the change until that
/// pass is complete. A change during a pass restarts it: every change bumps a generation, and
/// labels computed under an older generation are never written. Labels set by hand are kept by
/// evaluation (only labels set by rules are replaced).
public final class SeriesTypeService: IngestObserver, @unchecked Sendable {
    let db: Database
    let index: SQLiteIndex
    let store: FileStore
    let log: NetLogger

    /// Guards the state below; never held across database work, so polling the status never waits.
    private let lock = NSLock()
    /// Held by a change of rules from its commit to its generation bump, and by a write of labels
    /// from its generation check to its commit: labels of an older generation are never written.
    private let applyLock = NSLock()
    /// Bumped (holding `applyLock`, right after its commit) by every change that can change labels.
    private var generation: UInt64 = 0
    private var cached: (generation: UInt64, rules: SeriesTypeRuleSet)?
    /// Series labelled under the current generation: more images of them need no evaluation.
    private var evaluated = Set<Int64>()
    private var running = false
    private var stopped = false
    let worker = DispatchQueue(label: "series-type-update", qos: .utility)
    private let runs = DispatchGroup()
    /// Series per transaction of a relabelling pass.
    var batchSize = 200
    static let evaluatedLimit = 100_000

    public init(index: SQLiteIndex, store: FileStore, log: NetLogger) {
        self.index = index
        db = index.db
        self.store = store
        self.log = log
    }

    /// Resumes a relabelling that a stop or crash cut short.
    public func start() throws {
        let pending = try db.read { try $0.scalar("SELECT pending FROM series_type_update WHERE id = 1") } ?? 0
        guard pending != 0 else { return }
        lock.lock(); startRunnerLocked(); lock.unlock()
        log.log(.info, "seriestypes", "resuming the relabelling of series after a change of rules", [:])
    }

    /// Stops a running relabelling (it resumes at the next start) and waits for it.
    public func stop() {
        lock.lock(); stopped = true; lock.unlock()
        runs.wait()
    }

    // MARK: series types

    public func seriesTypes(startIndex: Int = 0, count: Int = 20) throws -> [SeriesType] {
        try Paging.check(startIndex: startIndex, count: count)
        return try db.read { try $0.query("SELECT id, name FROM series_types ORDER BY id LIMIT ? OFFSET ?",
                                          [.integer(Int64(count)), .integer(Int64(startIndex))]).map(Self.seriesType) }
    }

    public func seriesType(id: Int64) throws -> SeriesType? {
        try db.read { try $0.query("SELECT id, name FROM series_types WHERE id = ?", [.integer(id)]).first.map(Self.seriesType) }
    }

    /// A new type; names are unique.
    public func addSeriesType(name: String) throws -> SeriesType {
        let name = try Self.validName(name)
        return try db.write { c in
            guard try c.scalar("SELECT count(*) FROM series_types WHERE name = ?", [.text(name)]) == 0 else {
                throw NodeError.badRequest("a series type named '\(name)' already exists")
            }
            return SeriesType(id: try c.run("INSERT INTO series_types (name) VALUES (?)", [.text(name)]), name: name)
        }
    }

    /// Renames a type (its rules and labels stay).
    public func updateSeriesType(id: Int64, name: String) throws -> SeriesType {
        let name = try Self.validName(name)
        return try db.write { c in
            guard try c.scalar("SELECT count(*) FROM series_types WHERE id = ?", [.integer(id)]) == 1 else {
                throw NodeError.notFound("series type \(id)")
            }
            guard try c.scalar("SELECT count(*) FROM series_types WHERE name = ? AND id <> ?", [.text(name), .integer(id)]) == 0 else {
                throw NodeError.badRequest("a series type named '\(name)' already exists")
            }
            try c.run("UPDATE series_types SET name = ? WHERE id = ?", [.text(name), .integer(id)])
            return SeriesType(id: id, name: name)
        }
    }

    /// Removes a type with its rules and labels; an unknown id is not an error (Slicebox answers 204).
    public func removeSeriesType(id: Int64) throws {
        try changeRules { c in try c.run("DELETE FROM series_types WHERE id = ?", [.integer(id)]) }
    }

    // MARK: rules

    public func rules(seriesTypeId: Int64) throws -> [SeriesTypeRule] {
        try db.read { c in
            guard try c.scalar("SELECT count(*) FROM series_types WHERE id = ?", [.integer(seriesTypeId)]) == 1 else {
                throw NodeError.notFound("series type \(seriesTypeId)")
            }
            return try c.query("SELECT id, series_type_ref FROM series_type_rules WHERE series_type_ref = ? ORDER BY id",
                               [.integer(seriesTypeId)]).map { SeriesTypeRule(id: $0[0].int!, seriesTypeId: $0[1].int!) }
        }
    }

    /// A new rule of a type. Without attributes it matches every series, so series are relabelled.
    public func addRule(seriesTypeId: Int64) throws -> SeriesTypeRule {
        try changeRules { c in
            guard try c.scalar("SELECT count(*) FROM series_types WHERE id = ?", [.integer(seriesTypeId)]) == 1 else {
                throw NodeError.notFound("series type \(seriesTypeId)")
            }
            return SeriesTypeRule(id: try c.run("INSERT INTO series_type_rules (series_type_ref) VALUES (?)", [.integer(seriesTypeId)]),
                                  seriesTypeId: seriesTypeId)
        }
    }

    public func removeRule(id: Int64) throws {
        try changeRules { c in try c.run("DELETE FROM series_type_rules WHERE id = ?", [.integer(id)]) }
    }

    // MARK: rule attributes

    public func attributes(ruleId: Int64) throws -> [SeriesTypeRuleAttribute] {
        try db.read { c in
            guard try c.scalar("SELECT count(*) FROM series_type_rules WHERE id = ?", [.integer(ruleId)]) == 1 else {
                throw NodeError.notFound("series type rule \(ruleId)")
            }
            return try c.query("SELECT id, rule_ref, tag, tag_path, match_values FROM series_type_rule_attributes WHERE rule_ref = ? ORDER BY id",
                               [.integer(ruleId)]).map { r in
                let path = r[3].string.flatMap { try? TagPath(parsing: $0) } ?? TagPath(Tag(UInt32(truncatingIfNeeded: r[2].int ?? 0)))
                return SeriesTypeRuleAttribute(id: r[0].int!, seriesTypeRuleId: r[1].int!, path: path, values: r[4].string ?? "")
            }
        }
    }

    /// Adds a condition to a rule from the fields a client sent (see
    /// `SeriesTypeRuleAttribute.resolvePath`; the seed's `group`/`element` are `tag`, `path` is
    /// `tagPath`, `value` is `values`).
    public func addAttribute(ruleId: Int64, tag: Int?, name: String?, tagPath: String?, namePath: String?,
                             values: String) throws -> SeriesTypeRuleAttribute {
        try addAttribute(ruleId: ruleId, path: try SeriesTypeRuleAttribute.resolvePath(tag: tag, name: name, tagPath: tagPath, namePath: namePath),
                         values: values)
    }

    /// Adds a condition: the element at `path` has exactly `values` (its values joined with ",").
    public func addAttribute(ruleId: Int64, path: TagPath, values: String) throws -> SeriesTypeRuleAttribute {
        guard path.last.isExact, path.prefixSteps.allSatisfy(\.isExact) else {
            throw NodeError.badRequest("tag path \(path): a rule compares one element; x wildcards in tags are not allowed")
        }
        return try changeRules { c in
            guard try c.scalar("SELECT count(*) FROM series_type_rules WHERE id = ?", [.integer(ruleId)]) == 1 else {
                throw NodeError.notFound("series type rule \(ruleId)")
            }
            let id = try c.run("INSERT INTO series_type_rule_attributes (rule_ref, tag, tag_path, match_values) VALUES (?,?,?,?)",
                               [.integer(ruleId), .integer(Int64(path.last.tag.value)), path.depth == 0 ? .null : .text(path.description),
                                .text(values)])
            return SeriesTypeRuleAttribute(id: id, seriesTypeRuleId: ruleId, path: path, values: values)
        }
    }

    public func removeAttribute(ruleId: Int64, attributeId: Int64) throws {
        try changeRules { c in
            try c.run("DELETE FROM series_type_rule_attributes WHERE id = ? AND rule_ref = ?", [.integer(attributeId), .integer(ruleId)])
        }
    }

    // MARK: relabelling

    /// Seed 003 `seriestypeupdatestatus`.
    public func updateStatus() -> SeriesTypeUpdateStatus {
        lock.lock(); defer { lock.unlock() }
        return SeriesTypeUpdateStatus(running: running)
    }

    /// Relabels every series in the background (seed 003 `PUT /seriestypes/{id}`: all types are
    /// evaluated together, so the id changes nothing).
    public func updateAllSeries() throws {
        try changeRules { _ in }
    }

    /// A change of rules: committed, marked pending in the same transaction, then the generation
    /// is bumped and the relabelling (re)started.
    @discardableResult
    private func changeRules<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        applyLock.lock(); defer { applyLock.unlock() }
        let result = try db.write { c in
            let r = try body(c)
            try c.run("UPDATE series_type_update SET pending = 1 WHERE id = 1")
            return r
        }
        lock.lock(); defer { lock.unlock() }
        generation &+= 1
        cached = nil
        evaluated.removeAll()
        startRunnerLocked()
        return result
    }

    private func startRunnerLocked() {
        guard !running, !stopped else { return }
        running = true
        runs.enter()
        worker.async { [self] in
            run()
            runs.leave()
        }
    }

    /// Passes over all series until one completes under the generation it started with.
    private func run() {
        let started = Date()
        var passes = 0
        while true {
            lock.lock()
            let g = generation
            if stopped { running = false; lock.unlock(); return }
            lock.unlock()
            passes += 1
            let complete: Bool
            do { complete = try relabelAll(generation: g) } catch {
                lock.lock(); running = false; lock.unlock()
                log.log(.error, "seriestypes", "relabelling series failed; it is retried at the next change of rules or start", ["error": "\(error)"])
                return
            }
            lock.lock()
            if complete && generation == g {
                running = false
                lock.unlock()
                log.log(.info, "seriestypes", "series relabelled", ["passes": "\(passes)", "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
                return
            }
            lock.unlock()
        }
    }

    /// One pass in batches of series; false when the generation moved (or a stop came) meanwhile.
    private func relabelAll(generation g: UInt64) throws -> Bool {
        let rules = try ruleSet(generation: g)
        if rules.isEmpty { return try apply([], generation: g, clearAll: true, finish: true) }
        var after: Int64 = 0
        while true {
            let batch = try db.read { c in
                try c.query("""
                    SELECT se.id, (SELECT im.storage_key FROM images im WHERE im.series_ref = se.id ORDER BY im.id LIMIT 1)
                    FROM series se WHERE se.id > ? ORDER BY se.id LIMIT ?
                    """, [.integer(after), .integer(Int64(batchSize))])
            }
            var labels: [(Int64, [Int64])] = []
            for row in batch {
                guard let id = row[0].int, let key = row[1].string, let types = evaluate(storageKey: key, rules: rules) else { continue }
                labels.append((id, types))
            }
            let last = batch.count < batchSize
            guard try apply(labels, generation: g, clearAll: false, finish: last) else { return false }
            if last { return true }
            after = batch.last![0].int!
        }
    }

    /// Writes rule labels computed under generation `g`, unless the rules changed since.
    private func apply(_ labels: [(seriesId: Int64, typeIds: [Int64])], generation g: UInt64, clearAll: Bool, finish: Bool) throws -> Bool {
        applyLock.lock(); defer { applyLock.unlock() }
        lock.lock()
        let current = generation == g && !stopped
        lock.unlock()
        guard current else { return false }
        try db.write { c in
            if clearAll { try c.run("DELETE FROM series_series_types WHERE by_rule = 1") }
            for (series, types) in labels {
                try c.run("DELETE FROM series_series_types WHERE series_ref = ? AND by_rule = 1", [.integer(series)])
                for t in types {
                    // The series may have gone since it was read; a label set by hand stays as it is.
                    try c.run("""
                        INSERT OR IGNORE INTO series_series_types (series_ref, series_type_ref, by_rule)
                        SELECT ?, ?, 1 WHERE EXISTS (SELECT 1 FROM series WHERE id = ?)
                        """, [.integer(series), .integer(t), .integer(series)])
                }
            }
            if finish { try c.run("UPDATE series_type_update SET pending = 0 WHERE id = 1") }
        }
        markEvaluated(labels.map(\.seriesId), generation: g)
        return true
    }

    /// Remembers series labelled under generation `g` (a bounded set: forgetting only costs a re-read).
    private func markEvaluated(_ ids: [Int64], generation g: UInt64) {
        lock.lock(); defer { lock.unlock() }
        guard generation == g else { return }
        if evaluated.count + ids.count > Self.evaluatedLimit { evaluated.removeAll() }
        evaluated.formUnion(ids)
    }

    private func ruleSet(generation g: UInt64) throws -> SeriesTypeRuleSet {
        lock.lock()
        if let c = cached, c.generation == g { lock.unlock(); return c.rules }
        lock.unlock()
        let rules = try db.read { try SeriesTypeRuleSet.load($0) }
        lock.lock()
        if generation == g { cached = (g, rules) }
        lock.unlock()
        return rules
    }

    /// The types whose rules the stored file matches; nil when it cannot be read (gone meanwhile).
    private func evaluate(storageKey: String, rules: SeriesTypeRuleSet) -> [Int64]? {
        var options = ReadOptions(deferValuesLongerThan: 4096)
        if let top = rules.highestTopLevelTag, top.value < 0xFFFF_FFFF {
            options.stopBefore = Tag(max(top.value, Tag.specificCharacterSet.value) + 1)
        }
        // Twice: the file may move from incoming/ to its final place between lookup and open.
        for attempt in 0..<2 {
            guard let path = store.readablePath(forKey: storageKey) else { break }
            do { return rules.matchingTypeIds(try DicomFile.read(path: path, options: options).dataSet) } catch {
                if attempt == 1 {
                    log.log(.warning, "seriestypes", "cannot read an image to label its series", ["key": storageKey, "error": "\(error)"])
                }
            }
        }
        return nil
    }

    // MARK: IngestObserver

    /// A stored image: its series is evaluated unless it already was under the current rules
    /// (a replaced copy is evaluated again: it may be the image the series is judged by).
    public func ingest(_ event: IngestEvent) {
        switch event {
        case .imagesDeleted:
            // The image a series is judged by may be gone: evaluate again at its next image.
            lock.lock(); evaluated.removeAll(); lock.unlock()
        case .imageAdded(_, let seriesId, _, let added):
            lock.lock()
            let g = generation
            let skip = stopped || (added && evaluated.contains(seriesId))
            lock.unlock()
            if skip { return }
            do {
                let rules = try ruleSet(generation: g)
                if rules.isEmpty {
                    markEvaluated([seriesId], generation: g)
                    return
                }
                let (key, current) = try db.read { c in
                    (try c.query("SELECT storage_key FROM images WHERE series_ref = ? ORDER BY id LIMIT 1", [.integer(seriesId)]).first?[0].string,
                     Set(try c.query("SELECT series_type_ref FROM series_series_types WHERE series_ref = ? AND by_rule = 1",
                                     [.integer(seriesId)]).compactMap { $0[0].int }))
                }
                guard let key, let types = evaluate(storageKey: key, rules: rules) else { return }
                if Set(types) == current {
                    markEvaluated([seriesId], generation: g)
                    return
                }
                // Not written when the rules changed meanwhile: the pass that follows covers this series.
                _ = try apply([(seriesId, types)], generation: g, clearAll: false, finish: false)
            } catch {
                log.log(.error, "seriestypes", "cannot label a series", ["series": "\(seriesId)", "error": "\(error)"])
            }
        }
    }

    // MARK: labels of series

    /// The types a series carries (seed 003 `GET /metadata/series/{id}/seriestypes`).
    public func seriesTypes(seriesId: Int64) throws -> [SeriesType] {
        try db.read { c in
            try Self.requireSeries(seriesId, c)
            return try c.query("""
                SELECT t.id, t.name FROM series_series_types sst JOIN series_types t ON t.id = sst.series_type_ref
                WHERE sst.series_ref = ? ORDER BY t.id
                """, [.integer(seriesId)]).map(Self.seriesType)
        }
    }

    /// Labels a series by hand; evaluation keeps such a label.
    public func addSeriesTypeToSeries(seriesTypeId: Int64, seriesId: Int64) throws {
        try db.write { c in
            try Self.requireSeries(seriesId, c)
            guard try c.scalar("SELECT count(*) FROM series_types WHERE id = ?", [.integer(seriesTypeId)]) == 1 else {
                throw NodeError.notFound("series type \(seriesTypeId)")
            }
            try c.run("""
                INSERT INTO series_series_types (series_ref, series_type_ref, by_rule) VALUES (?, ?, 0)
                ON CONFLICT (series_ref, series_type_ref) DO UPDATE SET by_rule = 0
                """, [.integer(seriesId), .integer(seriesTypeId)])
        }
    }

    /// Removes one label, whether set by hand or by a rule (a rule sets it again at the next evaluation).
    public func removeSeriesTypeFromSeries(seriesTypeId: Int64, seriesId: Int64) throws {
        try db.write { try $0.run("DELETE FROM series_series_types WHERE series_ref = ? AND series_type_ref = ?",
                                  [.integer(seriesId), .integer(seriesTypeId)]) }
    }

    public func removeAllSeriesTypes(seriesId: Int64) throws {
        try db.write { try $0.run("DELETE FROM series_series_types WHERE series_ref = ?", [.integer(seriesId)]) }
    }

    /// The types of each of these series (seed 003 `POST /seriestypes/series/query`, `idsquery` →
    /// `seriesidseriestypesresult.seriesidseriestypes`).
    public func seriesTypes(seriesIds: [Int64]) throws -> [SeriesIdSeriesType] {
        let unique = Array(Set(seriesIds)).sorted()
        return try db.read { c in
            var out: [SeriesIdSeriesType] = []
            for start in stride(from: 0, to: unique.count, by: 500) {
                let chunk = unique[start..<min(start + 500, unique.count)]
                let marks = chunk.map { _ in "?" }.joined(separator: ",")
                out += try c.query("""
                    SELECT sst.series_ref, t.id, t.name FROM series_series_types sst JOIN series_types t ON t.id = sst.series_type_ref
                    WHERE sst.series_ref IN (\(marks)) ORDER BY sst.series_ref, t.id
                    """, chunk.map { .integer($0) }).map { SeriesIdSeriesType(seriesid: $0[0].int!, seriestype: Self.seriesType($0[1...])) }
            }
            return out
        }
    }

    // MARK: helpers

    static func seriesType<C: Collection<SQLValue>>(_ r: C) -> SeriesType where C.Index == Int {
        SeriesType(id: r[r.startIndex].int!, name: r[r.startIndex + 1].string ?? "")
    }

    static func validName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw NodeError.badRequest("a series type needs a name") }
        return trimmed
    }

    static func requireSeries(_ id: Int64, _ c: SQLiteConnection) throws {
        guard try c.scalar("SELECT count(*) FROM series WHERE id = ?", [.integer(id)]) == 1 else {
            throw NodeError.notFound("series \(id)")
        }
    }
}
