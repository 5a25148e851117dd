import Foundation
import Codec
import DicomNet

/// The PUSH boxes' workers: for each, a push loop (this node's outgoing images to the other
/// node's `POST image`) and a poll loop (the other node's outgoing images for us: `GET
/// outgoing/poll`, `GET outgoing`, `POST outgoing/done|failed`), each at most once at a time, on
/// timers (`pushIntervalSeconds`, `pollIntervalSeconds`). A batch that moved images is followed by
/// the next at once; a failed one waits for the next tick. Images of a batch move
/// `parallelism` at a time over the client's pooled connections.
final class BoxTransfers: @unchecked Sendable {
    unowned let service: BoxService
    let client: HTTPClient
    private let lock = NSLock()
    private var running = false
    private var timer: DispatchSourceTimer?
    private var state: [Int64: BoxState] = [:]
    /// Outgoing transactions deleted while their images may be in flight.
    private var cancelled = Set<Int64>()
    private let queue = DispatchQueue(label: "boxes")
    private let workers = DispatchGroup()
    private var lastUpkeep = Date.distantPast
    private var stopping = false

    struct BoxState {
        var pushing = false, polling = false
        var nextPush = Date.distantPast, nextPoll = Date.distantPast
        /// Set while the other node cannot be reached: logged once, not at every tick.
        var failing = false
        let abort = Abort()
    }

    /// Ends a batch between two images (box removed, node stopping).
    final class Abort: @unchecked Sendable {
        private let lock = NSLock()
        private var set = false
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }
        func fire() { lock.lock(); set = true; lock.unlock() }
    }

    init(service: BoxService) {
        self.service = service
        var s = HTTPClient.Settings()
        let b = service.settings
        s.connectTimeout = b.connectTimeoutSeconds
        s.ioTimeout = b.requestTimeoutSeconds
        s.maxIdlePerOrigin = max(8, b.parallelism * 2)
        client = HTTPClient(settings: s, trustedCertificates: b.trustedCertificates.isEmpty ? nil : b.trustedCertificates, verifyServer: b.verifyServer)
    }

    var log: NetLogger { service.log }
    var store: BoxStore { service.store }

    // MARK: running

    func start() {
        lock.lock()
        guard !running else { lock.unlock(); return }
        running = true
        stopping = false
        state = [:]  // fresh abort flags after a stop
        let s = service.settings
        let t = DispatchSource.makeTimerSource(queue: queue)
        let period = max(0.02, min(1, min(s.pushIntervalSeconds, s.pollIntervalSeconds) / 4))
        t.schedule(deadline: .now(), repeating: period)
        t.setEventHandler { [weak self] in self?.tick() }
        timer = t
        lock.unlock()
        t.resume()
    }

    func stop(waitSeconds: Double) {
        lock.lock()
        guard running else { lock.unlock(); return }
        running = false
        stopping = true
        timer?.cancel()
        timer = nil
        for s in state.values { s.abort.fire() }
        lock.unlock()
        queue.sync {}
        if workers.wait(timeout: .now() + max(0, waitSeconds)) == .timedOut {
            log.log(.warning, "box", "stopped with transfers still under way; they resume at the next start", [:])
        }
        client.closeIdle()
    }

    /// Looks for work now (a send was queued, a box connected, a transaction retried).
    func kick() {
        lock.lock()
        for k in state.keys { state[k]?.nextPush = .distantPast }
        lock.unlock()
        queue.async { self.tick() }
    }

    func cancel(transactionId: Int64) {
        lock.lock(); cancelled.insert(transactionId); lock.unlock()
    }

    private func isCancelled(_ transactionId: Int64) -> Bool {
        lock.lock(); defer { lock.unlock() }; return cancelled.contains(transactionId)
    }

    /// A removed box: its batches end after the images in flight.
    func forget(boxId: Int64) {
        lock.lock()
        state[boxId]?.abort.fire()
        state[boxId] = nil
        lock.unlock()
    }

    private func tick() {
        lock.lock()
        guard running else { lock.unlock(); return }
        lock.unlock()
        let now = Date()
        if now.timeIntervalSince(lastUpkeep) >= 1 {
            lastUpkeep = now
            do { try store.idle(now: BoxStore.now()) } catch { log.log(.error, "box", "cannot update idle transactions", ["error": "\(error)"]) }
        }
        let boxes: [Box]
        do { boxes = try store.boxes().filter { $0.sendMethod == .PUSH } } catch {
            log.log(.error, "box", "cannot read the boxes", ["error": "\(error)"])
            return
        }
        let s = service.settings
        for box in boxes {
            lock.lock()
            var st = state[box.id] ?? BoxState()
            let push = !st.pushing && now >= st.nextPush
            let poll = !st.polling && now >= st.nextPoll
            if push { st.pushing = true }
            if poll { st.polling = true }
            state[box.id] = st
            let abort = st.abort
            lock.unlock()
            if push {
                run { [self] in
                    let moved = pushBatch(box, abort: abort, settings: s)
                    finish(box.id, push: true, again: moved, interval: s.pushIntervalSeconds)
                }
            }
            if poll {
                run { [self] in
                    let moved = pollBatch(box, abort: abort, settings: s)
                    finish(box.id, push: false, again: moved, interval: s.pollIntervalSeconds)
                }
            }
        }
    }

    private func run(_ work: @escaping @Sendable () -> Void) {
        workers.enter()
        DispatchQueue.global().async {
            work()
            self.workers.leave()
        }
    }

    private func finish(_ boxId: Int64, push: Bool, again: Bool, interval: Double) {
        lock.lock()
        if var st = state[boxId] {
            let next = again ? Date.distantPast : Date().addingTimeInterval(interval)
            if push { st.pushing = false; st.nextPush = next } else { st.polling = false; st.nextPoll = next }
            state[boxId] = st
        }
        let go = again && running
        lock.unlock()
        if go { queue.async { self.tick() } }
    }

    /// Logs the first failure of a box and its recovery, not every tick.
    private func reachable(_ box: Box, error: Error?) {
        lock.lock()
        let was = state[box.id]?.failing ?? false
        state[box.id]?.failing = error != nil
        let stopping = self.stopping
        lock.unlock()
        do { try store.contact(boxId: box.id, error: error.map { "\($0)" }) } catch {}
        if let error, !was, !stopping {
            log.log(.warning, "box", "transfer failed; will retry", ["box": box.name, "url": box.baseUrl, "error": "\(error)"])
        } else if error == nil && was {
            log.log(.info, "box", "the other node answers again", ["box": box.name])
        }
    }

    // MARK: push

    /// Pushes up to `batchSize` pending images; true when images moved (or were refused).
    private func pushBatch(_ box: Box, abort: Abort, settings s: BoxSettings) -> Bool {
        let endpoint: HTTPEndpoint
        do { endpoint = try HTTPEndpoint(box.baseUrl) } catch { reachable(box, error: error); return false }
        let pending: [BoxStore.Pending]
        do {
            pending = try store.pending(boxId: box.id, limit: s.batchSize)
            if pending.isEmpty {
                tell(box, endpoint)
                return false
            }
            try store.processing(transactionIds: Set(pending.map(\.transactionImage.transaction.id)))
        } catch {
            log.log(.error, "box", "cannot read outgoing images", ["box": box.name, "error": "\(error)"])
            return false
        }
        let failure = FirstError()
        let moved = Counter()
        parallel(pending.count, width: s.parallelism) { i in
            guard !abort.isSet, failure.error == nil else { return }
            let p = pending[i]
            let ti = p.transactionImage
            guard !isCancelled(ti.transaction.id) else { return }
            do {
                let file: (path: String, size: Int64)
                do { file = try service.spoolFile(p) } catch let e as NodeError where BoxService.isFinal(e) {
                    // The stored image is gone, unreadable or cannot be anonymized: refused for good.
                    try service.record(ti.image.id, sent: false, message: "cannot anonymize image \(ti.image.imageId): \(e)")
                    moved.increment()
                    return
                }
                let target = endpoint.appending("image", query: [
                    ("transactionid", "\(ti.transaction.id)"), ("sequencenumber", "\(ti.image.sequenceNumber)"),
                    ("totalimagecount", "\(ti.transaction.totalImageCount)"),
                ])
                let path = file.path
                let request = s.pushEncoding == "zlib"
                    ? HTTPClientRequest("POST", target, headers: [("Content-Type", "application/octet-stream")],
                                        body: .stream({ sink in try BoxSpool.zlib(fromGzip: path) { try sink.write($0) } }))
                    : HTTPClientRequest("POST", target, headers: [("Content-Type", "application/octet-stream"), ("Content-Encoding", "gzip")],
                                        body: .file(path: path))
                let response = try client.send(request, limit: 64 * 1024)
                switch response.status {
                case 200..<300:
                    try service.record(ti.image.id, sent: true)
                case 400, 404, 413, 415, 422:
                    // Refused for good by the other node (Slicebox counts 400 and 404 as done).
                    try service.record(ti.image.id, sent: false, message: "\(box.name) refused it (\(response.status)): \(response.text)")
                default:
                    throw BoxTransferError("\(box.name) answered \(response.status) \(response.reason): \(response.text)")
                }
                moved.increment()
            } catch {
                failure.set(error)
            }
        }
        reachable(box, error: failure.error)
        if failure.error == nil { tell(box, endpoint) }
        return moved.value > 0 && failure.error == nil
    }

    /// Tells the other node the final status of transactions that have nothing left to send
    /// (`PUT status`), so it can close the ones whose last images were refused here. Any answer
    /// counts as told (Slicebox answers 400 to a JSON string); a transport failure is retried later.
    private func tell(_ box: Box, _ endpoint: HTTPEndpoint) {
        guard let untold = try? store.untold(boxId: box.id) else { return }
        for (id, status) in untold {
            let request = HTTPClientRequest("PUT", endpoint.appending("status", query: [("transactionid", "\(id)")]),
                                            headers: [("Content-Type", "application/json")], body: .bytes(Array("\"\(status.rawValue)\"".utf8)))
            do {
                _ = try client.send(request, limit: 64 * 1024)
                try store.told(transactionId: id, status: status)
            } catch {
                return
            }
        }
    }

    // MARK: poll

    /// Polls the other node and fetches what it has for us; true when it had images.
    private func pollBatch(_ box: Box, abort: Abort, settings s: BoxSettings) -> Bool {
        let endpoint: HTTPEndpoint
        do { endpoint = try HTTPEndpoint(box.baseUrl) } catch { reachable(box, error: error); return false }
        let items: [OutgoingTransactionImage]
        do {
            let response = try client.send(HTTPClientRequest("GET", endpoint.appending("outgoing/poll", query: [("n", "\(s.batchSize)")]),
                                                             headers: [("Accept", "application/json")]), limit: 64 << 20)
            switch response.status {
            case 404:
                reachable(box, error: nil)
                return false
            case 200:
                items = try Self.decodePoll(response.body)
            default:
                throw BoxTransferError("\(box.name) answered the poll with \(response.status) \(response.reason): \(response.text)")
            }
        } catch {
            reachable(box, error: error)
            return false
        }
        reachable(box, error: nil)
        let failure = FirstError()
        parallel(items.count, width: s.parallelism) { i in
            guard !abort.isSet, failure.error == nil else { return }
            do { try fetch(items[i], from: box, endpoint) } catch { failure.set(error) }
        }
        if let e = failure.error { reachable(box, error: e) }
        return !items.isEmpty && failure.error == nil
    }

    /// A poll answer: a list (the seed), or one object (Slicebox answers `n=1` so).
    static func decodePoll(_ body: [UInt8]) throws -> [OutgoingTransactionImage] {
        let d = JSONDecoder()
        if let list = try? d.decode([OutgoingTransactionImage].self, from: Data(body)) { return list }
        do { return [try d.decode(OutgoingTransactionImage.self, from: Data(body))] } catch {
            throw BoxTransferError("the poll answer is not a list of outgoingTransactionImage: \(error)")
        }
    }

    /// Fetches, stores and acknowledges one image the other node has for us. An image received
    /// before (its `done` got lost) is only acknowledged again.
    private func fetch(_ item: OutgoingTransactionImage, from box: Box, _ endpoint: HTTPEndpoint) throws {
        let t = item.transaction, image = item.image
        if try !store.received(boxId: box.id, outgoingTransactionId: t.id, sequenceNumber: image.sequenceNumber) {
            let request = HTTPClientRequest("GET", endpoint.appending("outgoing", query: [("transactionid", "\(t.id)"), ("imageid", "\(image.id)")]),
                                            headers: [("Accept-Encoding", "gzip, deflate")])
            let stored: Bool = try client.send(request) { head, body in
                switch head.status {
                case 200:
                    do {
                        _ = try service.storeReceived(box: box, outgoingTransactionId: t.id, sequenceNumber: image.sequenceNumber,
                                                      totalImageCount: t.totalImageCount, contentEncoding: head.header("Content-Encoding")) { sink in
                            try body.forEachChunk(sink)
                        }
                        return true
                    } catch let e as NodeError {
                        guard case .invalidData = e else { throw e }
                        try post("outgoing/failed", FailedOutgoingTransactionImage(transactionImage: item, message: "\(e)"), endpoint)
                        return false
                    }
                case 404:
                    return false  // removed on the other side since the poll
                default:
                    let text = String(decoding: (try? body.readAll(limit: 4096)) ?? [], as: UTF8.self)
                    throw BoxTransferError("\(box.name) answered \(head.status) \(head.reason) for image \(image.id) of transaction \(t.id): \(text)")
                }
            }
            guard stored else { return }
        } else {
            log.log(.info, "box", "image offered again (its done was lost); acknowledged, not fetched again",
                    ["box": box.name, "transaction": "\(t.id)", "sequence": "\(image.sequenceNumber)"])
        }
        try post("outgoing/done", item, endpoint)
    }

    private func post<T: Encodable>(_ path: String, _ value: T, _ endpoint: HTTPEndpoint) throws {
        let response = try client.send(HTTPClientRequest("POST", endpoint.appending(path), headers: [("Content-Type", "application/json")],
                                                         body: .bytes([UInt8](try JSONEncoder().encode(value)))), limit: 64 * 1024)
        guard response.isSuccess else { throw BoxTransferError("POST \(path) answered \(response.status): \(response.text)") }
    }

    // MARK: helpers

    /// Runs `body(0..<count)` on `width` threads, each taking the next index.
    private func parallel(_ count: Int, width: Int, _ body: @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let next = Counter()
        DispatchQueue.concurrentPerform(iterations: min(width, count)) { _ in
            while true {
                let i = next.increment() - 1
                if i >= count { return }
                body(i)
            }
        }
    }
}

/// A failure of a box exchange, in words (logged and kept as the box's `lastError`).
struct BoxTransferError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A count shared by a batch's threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
    @discardableResult
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
}

/// The first error of a parallel batch.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Error?
    var error: Error? { lock.lock(); defer { lock.unlock() }; return first }
    func set(_ e: Error) { lock.lock(); if first == nil { first = e }; lock.unlock() }
}
