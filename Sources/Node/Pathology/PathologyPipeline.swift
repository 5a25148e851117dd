import Foundation
import Codec
import DicomNet

/// One run of an image's analysis, queued or running.
final class PathologyJob: @unchecked Sendable {
    enum StopReason: Equatable { case user, shutdown }
    let imageId: Int64
    let uniqueId: String
    let run: Int64
    private let lock = NSLock()
    private var reason: StopReason?
    private let ended = DispatchSemaphore(value: 0)

    init(imageId: Int64, uniqueId: String, run: Int64) {
        self.imageId = imageId
        self.uniqueId = uniqueId
        self.run = run
    }

    var stopReason: StopReason? { lock.lock(); defer { lock.unlock() }; return reason }
    var isCancelled: Bool { stopReason != nil }

    func stop(_ why: StopReason) {
        lock.lock()
        if reason == nil { reason = why }
        lock.unlock()
    }

    func markEnded() { ended.signal() }

    /// Waits up to `seconds` for the job to end; true when it did.
    func waitUntilEnded(seconds: Double) -> Bool {
        guard ended.wait(timeout: .now() + seconds) == .success else { return false }
        ended.signal()  // later waiters see it ended too
        return true
    }
}

/// The analysis jobs: a queue served by at most `maxConcurrentJobs` worker threads. Each job runs
/// the stages in order — tiling, tissue area, annotation XML, outcome prediction — writing each
/// stage's status (Pending → In Progress → Done / Failed / Stopped / Skipped), its results and
/// a log line per event. Stages already Done when a job is resumed after a restart are not run
/// again. Every write names the job's run, so a stopped or superseded run changes nothing.
final class PathologyPipeline: @unchecked Sendable {
    let store: PathologyStore
    let files: PathologyFiles
    let config: NodeConfig.Pathology
    let log: NetLogger
    private let lock = NSLock()
    private var jobs: [Int64: PathologyJob] = [:]
    private var waiting: [PathologyJob] = []
    private var running = 0
    private var stopped = false
    private let workers = DispatchGroup()

    init(store: PathologyStore, files: PathologyFiles, config: NodeConfig.Pathology, log: NetLogger) {
        self.store = store
        self.files = files
        self.config = config
        self.log = log
    }

    // MARK: Queue

    func job(imageId: Int64) -> PathologyJob? {
        lock.lock(); defer { lock.unlock() }
        return jobs[imageId]
    }

    func enqueue(_ job: PathologyJob) {
        lock.lock()
        jobs[job.imageId] = job
        waiting.append(job)
        startWorkersLocked()
        lock.unlock()
    }

    private func startWorkersLocked() {
        while !stopped && running < config.maxConcurrentJobs && !waiting.isEmpty {
            let job = waiting.removeFirst()
            running += 1
            workers.enter()
            let thread = Thread { [self] in
                execute(job)
                lock.lock()
                if jobs[job.imageId] === job { jobs[job.imageId] = nil }
                running -= 1
                startWorkersLocked()
                lock.unlock()
                job.markEnded()
                workers.leave()
            }
            thread.name = "pathology-job"
            thread.start()
        }
    }

    /// Stops an image's job. A queued job is taken off the queue (and marked Stopped) at once; a
    /// running one stops at its next check (between tiles, stages, or by killing the command).
    func cancel(imageId: Int64, userId: Int64?) -> PathologyJob? {
        lock.lock()
        guard let job = jobs[imageId] else { lock.unlock(); return nil }
        job.stop(.user)
        let wasWaiting = waiting.contains { $0 === job }
        if wasWaiting {
            waiting.removeAll { $0 === job }
            jobs[imageId] = nil
        }
        lock.unlock()
        if wasWaiting {
            _ = try? store.setIfCurrent(id: imageId, run: job.run, [("predict_status", .text(PathologyStageStatus.stopped.rawValue))])
            note(job, "Pipeline", "stopped before it started\(userId.map { " (by user \($0))" } ?? "")")
            job.markEnded()
        }
        return job
    }

    /// Stops every job without changing its state (they resume at the next start) and waits for
    /// the workers.
    func shutdown() {
        lock.lock()
        stopped = true
        waiting.removeAll()
        for job in jobs.values { job.stop(.shutdown) }
        lock.unlock()
        workers.wait()
    }

    // MARK: Running

    private func note(_ job: PathologyJob, _ type: String, _ message: String, level: NetLogLevel = .info) {
        _ = try? store.addLog(imageId: job.imageId, type: type, message: message, userId: nil)
        log.log(level, "pathology", message, ["image": job.uniqueId, "stage": type, "run": "\(job.run)"])
    }

    /// Writes while the job's run is current; false when superseded (the job then just ends).
    private func set(_ job: PathologyJob, _ assignments: [(String, SQLValue)]) -> Bool {
        (try? store.setIfCurrent(id: job.imageId, run: job.run, assignments)) ?? false
    }

    private func set(_ job: PathologyJob, _ stage: PathologyStage, _ status: PathologyStageStatus, _ more: [(String, SQLValue)] = []) -> Bool {
        set(job, [(stage.column, .text(status.rawValue))] + more)
    }

    /// What a run works with: the decoded image and the tissue map, made when a stage first needs them.
    private final class Context {
        var raster: (image: PNGImage, format: SlideDecoder.Format)?
        var tissue: TissueMap?
    }

    func execute(_ job: PathologyJob) {
        guard let image = try? store.image(id: job.imageId), image.predictRun == job.run else { return }
        switch job.stopReason {
        case .shutdown?: return
        case .user?: markStopped(job, during: nil); return
        case nil: break
        }
        guard set(job, [("predict_status", .text(PathologyStageStatus.inProgress.rawValue))]) else { return }
        let started = Date()
        note(job, "Pipeline", "analysis started (run \(job.run); tile size \(config.tileSize) px)")
        let context = Context()
        for (index, stage) in PathologyStage.allCases.enumerated() {
            if image.status(of: stage) == .done { continue }  // resumed: done before the restart
            if job.stopReason == .shutdown { return }
            if job.stopReason == .user { markStopped(job, during: nil); return }
            guard set(job, stage, .inProgress) else { return }
            note(job, stage.rawValue, "\(stage.rawValue) started")
            let stageStarted = Date()
            do {
                let (results, message) = try runStage(stage, job, context)
                guard set(job, [(stage.column, .text(message == nil ? PathologyStageStatus.skipped.rawValue : PathologyStageStatus.done.rawValue))] + results) else { return }
                let seconds = String(format: "%.1f", Date().timeIntervalSince(stageStarted))
                note(job, stage.rawValue, message.map { "\(stage.rawValue) done in \(seconds) s: \($0)" } ?? "\(stage.rawValue) skipped: no prediction command is configured (pathology.predictCommand)")
            } catch is SlideTiler.Cancelled {
                if job.stopReason == .shutdown { return }
                markStopped(job, during: stage)
                return
            } catch OutcomeCommand.Failure.cancelled {
                if job.stopReason == .shutdown { return }
                markStopped(job, during: stage)
                return
            } catch {
                let why: String
                if case OutcomeCommand.Failure.failed(let m) = error { why = m } else { why = "\(error)" }
                _ = set(job, stage, .failed)
                note(job, stage.rawValue, "\(stage.rawValue) failed: \(why)", level: .warning)
                for later in PathologyStage.allCases.dropFirst(index + 1) {
                    _ = set(job, later, .skipped)
                    note(job, later.rawValue, "\(later.rawValue) not run: \(stage.rawValue) failed")
                }
                _ = set(job, [("predict_status", .text(PathologyStageStatus.failed.rawValue))])
                note(job, "Pipeline", "analysis failed after \(String(format: "%.1f", Date().timeIntervalSince(started))) s", level: .warning)
                return
            }
        }
        if job.stopReason == .shutdown { return }
        if job.stopReason == .user { markStopped(job, during: nil); return }
        if set(job, [("predict_status", .text(PathologyStageStatus.done.rawValue))]) {
            note(job, "Pipeline", "analysis finished in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }

    private func markStopped(_ job: PathologyJob, during stage: PathologyStage?) {
        if let stage { _ = set(job, stage, .stopped) }
        _ = set(job, [("predict_status", .text(PathologyStageStatus.stopped.rawValue))])
        note(job, stage?.rawValue ?? "Pipeline", "stopped by the user\(stage.map { " during \($0.rawValue)" } ?? "")")
    }

    private func raster(_ job: PathologyJob, _ context: Context) throws -> (image: PNGImage, format: SlideDecoder.Format) {
        if let r = context.raster { return r }
        let r = try SlideDecoder.decode(path: files.sourcePath(job.uniqueId), maxPixels: config.maxPixels)
        context.raster = r
        if job.isCancelled { throw SlideTiler.Cancelled() }
        return r
    }

    private func tissue(_ job: PathologyJob, _ context: Context) throws -> TissueMap {
        if let t = context.tissue { return t }
        let t = TissueDetector.detect(try raster(job, context).image, maxSide: config.analysisMaxSide,
                                      minimumRegionPercent: config.minimumRegionPercent)
        context.tissue = t
        return t
    }

    /// Runs one stage: the columns it sets and what to log (nil: skipped).
    private func runStage(_ stage: PathologyStage, _ job: PathologyJob, _ context: Context) throws -> ([(String, SQLValue)], String?) {
        let uid = job.uniqueId
        switch stage {
        case .tiling:
            let (image, format) = try raster(job, context)
            let partial = files.tilesFolder(uid) + ".partial"
            try? FileManager.default.removeItem(atPath: partial)
            try files.create(partial)
            let index: TileIndex
            do {
                index = try SlideTiler.write(image, format: format.rawValue, uniqueId: uid, size: config.tileSize, into: partial,
                                             isCancelled: { job.isCancelled })
            } catch {
                try? FileManager.default.removeItem(atPath: partial)
                throw error
            }
            try PathologyFiles.replace(files.tilesFolder(uid), with: partial)
            return ([("tile_count", .integer(Int64(index.tiles.count))), ("width", .integer(Int64(image.width))), ("height", .integer(Int64(image.height)))],
                    "\(index.tiles.count) tiles (\(index.columns)x\(index.rows) of \(config.tileSize) px) from a \(image.width)x\(image.height) \(format.rawValue) image, \(image.channels) channel(s), \(image.bitDepth)-bit")
        case .tissueArea:
            let map = try tissue(job, context)
            // The tile index learns how much tissue each tile holds (for the prediction command).
            let indexPath = files.tilesFolder(uid) + "/index.json"
            if var index = try? SlideTiler.readIndex(indexPath) {
                for i in index.tiles.indices {
                    let t = index.tiles[i]
                    index.tiles[i].tissue_fraction = (map.fraction(x: t.x, y: t.y, w: t.width, h: t.height) * 10_000).rounded() / 10_000
                }
                try SlideTiler.writeIndex(index, to: indexPath)
            }
            return ([("tissue_area", .integer(map.areaPixels)), ("tissue_area_percent", .real((map.percent * 100).rounded() / 100))],
                    "tissue area \(map.areaPixels) px (\(String(format: "%.2f", map.percent)) %) in \(map.regions.count) region(s); \(AnnotationXML.method(map))")
        case .annotation:
            let map = try tissue(job, context)
            let xml = AnnotationXML.tissue(map, imageUniqueId: uid)
            try files.create(files.rawFolder(uid))
            try PathologyFiles.writeAtomically(Array(xml.utf8), to: files.predictionXMLPath(uid))
            return ([], "\(map.regions.count) tissue outline(s) (\(map.regions.reduce(0) { $0 + $1.outline.count }) vertices) in \(PathologyFiles.predictionXMLName(uid))")
        case .outcomePrediction:
            guard !config.predictCommand.isEmpty else { return ([], nil) }
            let tiles = files.tilesFolder(uid)
            guard FileManager.default.fileExists(atPath: tiles + "/index.json") else { throw NodeError.conflict("the tiles are missing: run the analysis again") }
            try files.create(files.workFolder(uid))
            let command = OutcomeCommand(arguments: config.predictCommand, timeout: Double(config.predictTimeoutSeconds))
            let result = try command.run(uniqueId: uid, source: files.sourcePath(uid), tiles: tiles, work: files.workFolder(uid),
                                         isCancelled: { job.isCancelled })
            return ([("outcome_prediction", .text(result.output)), ("metric", SQLValue(result.metric))],
                    "\(config.predictCommand[0]) gave \(result.output.count) characters in \(String(format: "%.1f", result.seconds)) s")
        }
    }
}
